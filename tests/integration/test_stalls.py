"""A network that stalls (neither answers nor closes) or drops: pgshift gives up within the stall
timeout, the server session's locks are released, and the error says what really happened,
read from the ledger on a new connection. Faults come from a TCP proxy (tests/faults.py)."""
from __future__ import annotations

import threading
import time

import pytest

from conftest import query, scalar, write_project
from faults import Proxy
from pgshift import api
from pgshift.errors import PgshiftError

STALL = 3.0
BOUND = STALL + 8.0      # the watchdog polls every second; a slow, shared machine gets the rest
CONFIG = f'[pgshift]\n[env.dev]\nstall_timeout = "{STALL:g}s"\n'
V1, V2 = "20250101000001", "20250101000002"


@pytest.fixture
def proxy(pgshift_database_url):
    p = Proxy(pgshift_database_url).start()
    yield p
    p.stop()


def _run(tmp_path, url, files):
    """`up` through the faulty link, in a thread: a run that hangs fails the test instead of hanging it."""
    root = write_project(tmp_path / "proj", files, CONFIG)
    project = api.open_project(root, database_url=url)
    return _in_thread(lambda: api.up(project), "pgshift up")


def _in_thread(call, what: str):
    """(the PgshiftError *call* raised, seconds it took), *call* run in a thread: one that hangs
    fails the test instead of hanging it."""
    outcome: list = []

    def run():
        try:
            outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(BOUND + 30)
    took = time.monotonic() - started
    assert not worker.is_alive(), f"{what} still waits after {took:.0f}s on a stalled connection"
    assert isinstance(outcome[0], PgshiftError), outcome
    return outcome[0], took


def _pgshift_locks(url):
    """Locks held by pgshift's own sessions (the test's own connection excluded)."""
    return query(url, "SELECT a.pid, l.locktype, l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                      "WHERE a.application_name = 'pgshift' AND a.pid <> pg_backend_pid()")


def test_a_stall_inside_a_files_own_transaction_ends_in_time_and_frees_the_table(tmp_path, proxy,
                                                                                  pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE app (id int)")
    proxy.stall_after(b"stall-own")
    error, took = _run(tmp_path, proxy.url(), {
        f"{V1}_own.sql": "BEGIN;\nALTER TABLE app ADD COLUMN note text;\nSELECT 'stall-own';\nCOMMIT;\n"})
    assert proxy.fired.is_set()
    assert took < BOUND, took
    assert error.exit_code == 1
    assert "the connection to the server stalled" in error.hint and f"after {STALL:g}s" in error.hint
    assert not _pgshift_locks(url)
    query(url, "BEGIN; LOCK TABLE app IN ROW EXCLUSIVE MODE NOWAIT; COMMIT")     # the application writes again
    assert scalar(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'app' "
                       "AND column_name = 'note'") == 0
    assert scalar(url, f"SELECT status FROM pgshift.migration_log WHERE version = '{V1}'") in ("running", "failed")
    assert f"{V1} own: migrate" in error.hint


def test_a_stall_at_the_run_lock_releases_the_lock_server_side(tmp_path, proxy, pgshift_database_url):
    url = pgshift_database_url
    proxy.stall_after(b"pg_try_advisory_lock")
    error, took = _run(tmp_path, proxy.url(), {f"{V1}_a.sql": "CREATE TABLE a (id int);\n"})
    assert proxy.fired.is_set() and took < BOUND, took
    assert error.exit_code == 1 and "stalled" in (error.hint or "") + error.message
    assert not _pgshift_locks(url)
    # the next run, direct, takes the lock at once and applies
    project = api.open_project(tmp_path / "proj", database_url=url)
    assert [s.version for s in api.up(project, api.UpOptions(lock_wait=1)).run.steps] == [V1]


def test_a_stall_after_a_no_transaction_statement_ends_in_time(tmp_path, proxy, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE app (id int)")
    proxy.stall_after(b"stall-notx")
    error, took = _run(tmp_path, proxy.url(), {
        f"{V1}_index.sql": "CREATE INDEX CONCURRENTLY app_id ON app (id);\nSELECT 'stall-notx';\n"})
    assert proxy.fired.is_set() and took < BOUND, took
    assert error.exit_code == 1
    assert not _pgshift_locks(url)
    assert scalar(url, f"SELECT status FROM pgshift.migration_log WHERE version = '{V1}'") in ("running", "failed")


def test_a_lost_commit_reply_is_reported_as_applied_because_it_was(tmp_path, proxy, pgshift_database_url):
    url = pgshift_database_url
    proxy.cut_after_reply(b"stall-tx")
    error, took = _run(tmp_path, proxy.url(), {
        f"{V1}_first.sql": "CREATE TABLE first (id int);\nSELECT 'stall-tx';\n",
        f"{V2}_second.sql": "CREATE TABLE second (id int);\n"})
    assert proxy.fired.is_set()
    assert error.exit_code == 1
    # the server committed the file with its event before the reply was lost: pgshift says so
    assert scalar(url, "SELECT to_regclass('first') IS NOT NULL") is True
    assert scalar(url, f"SELECT status FROM pgshift.migration_log WHERE version = '{V1}'") == "completed"
    assert f"{V1} first: migrate completed" in error.hint
    assert "nothing of it was applied" not in error.hint
    assert {"version": V1, "type": "migrate", "status": "completed"} in error.details["events"]
    project = api.open_project(tmp_path / "proj", database_url=url)
    assert [s.version for s in api.up(project).run.steps] == [V2]     # and the rerun goes on after it


def test_a_no_transaction_files_statement_runs_exactly_once_across_a_lost_reply(tmp_path, proxy,
                                                                                 pgshift_database_url):
    """A statement that may run in a transaction runs in one with its progress record: cut right
    after the server answered it, and both are undone together, so the rerun runs it once."""
    url = pgshift_database_url
    query(url, "CREATE TABLE app (id int); CREATE TABLE effects (what text)")
    proxy.cut_after_reply(b"INSERT INTO effects")
    error, _ = _run(tmp_path, proxy.url(), {
        f"{V1}_mixed.sql": "CREATE INDEX CONCURRENTLY app_id ON app (id);\nINSERT INTO effects VALUES ('once');\n"})
    assert proxy.fired.is_set() and error.exit_code == 1
    project = api.open_project(tmp_path / "proj", database_url=url)
    api.up(project)
    assert scalar(url, "SELECT count(*) FROM effects") == 1
    assert scalar(url, f"SELECT status FROM pgshift.migration_log WHERE version = '{V1}' ORDER BY id DESC "
                       "LIMIT 1") == "completed"


def test_a_stall_while_the_ledger_is_created_ends_in_time_and_leaves_no_half_ledger(tmp_path, proxy,
                                                                                   pgshift_database_url):
    url = pgshift_database_url
    proxy.stall_after(b'CREATE TABLE "pgshift"."migration_log"')
    error, took = _run(tmp_path, proxy.url(), {f"{V1}_a.sql": "CREATE TABLE a (id int);\n"})
    assert proxy.fired.is_set() and took < BOUND, took
    assert error.exit_code == 1 and "stalled" in f"{error.message}\n{error.hint}"
    assert scalar(url, "SELECT to_regclass('pgshift.migration_log')") is None    # its transaction was undone
    assert scalar(url, "SELECT to_regclass('a')") is None
    assert not _pgshift_locks(url)


def test_a_stall_inside_a_transactional_file_ends_in_time_and_tells_the_truth(tmp_path, proxy,
                                                                             pgshift_database_url):
    url = pgshift_database_url
    proxy.stall_after(b"stall-file")
    error, took = _run(tmp_path, proxy.url(), {f"{V1}_t.sql": "CREATE TABLE t (id int);\nSELECT 'stall-file';\n"})
    assert proxy.fired.is_set() and took < BOUND, took
    assert not _pgshift_locks(url)
    applied = scalar(url, "SELECT to_regclass('t') IS NOT NULL")
    recorded = scalar(url, f"SELECT status FROM pgshift.migration_log WHERE version = '{V1}'")
    # the file and its event went together, and the error says which way
    assert (recorded == "completed") is applied
    assert (f"{V1} t: migrate completed" in error.hint) is applied


def test_a_stall_under_a_read_only_command_ends_in_time(tmp_path, proxy, pgshift_database_url):
    root = write_project(tmp_path / "proj", {f"{V1}_a.sql": "CREATE TABLE a (id int);\n"}, CONFIG)
    api.up(api.open_project(root, database_url=pgshift_database_url))
    proxy.stall_after(b'FROM "pgshift"."migration_log" ORDER BY')
    project = api.open_project(root, database_url=proxy.url())
    started = time.monotonic()
    with pytest.raises(PgshiftError) as err:
        api.status(project)
    assert proxy.fired.is_set() and time.monotonic() - started < BOUND
    assert err.value.exit_code == 1
    assert err.value.message.startswith("the connection to the server stalled (")


def test_a_cut_after_a_files_own_commit_leaves_a_true_ledger_and_runs_nothing_twice(tmp_path, proxy,
                                                                                     pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE effects (what text)")
    # the INSERT, the progress record pgshift writes inside the file's transaction, then its COMMIT
    proxy.cut_after_reply(b"INSERT INTO effects VALUES ('own')", replies=3)
    error, _ = _run(tmp_path, proxy.url(), {
        f"{V1}_own.sql": "BEGIN;\nINSERT INTO effects VALUES ('own');\nCOMMIT;\nINSERT INTO effects VALUES ('after');\n"})
    assert proxy.fired.is_set() and error.exit_code == 1
    assert query(url, "SELECT what FROM effects") == [("own",)]          # the COMMIT happened
    assert scalar(url, f"SELECT statements_done FROM pgshift.migration_log WHERE version = '{V1}'") == 3
    assert f"{V1} own: migrate running" in error.hint                     # what the ledger says, truly
    project = api.open_project(tmp_path / "proj", database_url=url)
    assert [s.resumed_from for s in api.up(project).run.steps] == [3]
    assert sorted(query(url, "SELECT what FROM effects")) == [("after",), ("own",)]


def test_a_cut_after_a_batchs_commit_leaves_a_true_ledger_and_changes_no_row_twice(tmp_path, proxy,
                                                                                   pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0); "
               "INSERT INTO items (id) SELECT g FROM generate_series(1, 3000) g")
    # the first batch's UPDATE, its progress record, its COMMIT
    proxy.cut_after_reply(b"UPDATE items", replies=3)
    error, _ = _run(tmp_path, proxy.url(), {
        f"{V1}_backfill.sql": "-- pgshift:batch size=1000\nUPDATE items SET n = n + 1;\n"})
    assert proxy.fired.is_set() and error.exit_code == 1
    assert scalar(url, "SELECT count(*) FROM items WHERE n = 1") == 1000    # one batch, committed
    project = api.open_project(tmp_path / "proj", database_url=url)
    api.up(project)
    assert query(url, "SELECT n, count(*) FROM items GROUP BY n") == [(1, 3000)]   # every row once


def test_a_stalled_pre_migration_backup_ends_in_time_and_applies_nothing(tmp_path, proxy, pgshift_database_url):
    """pg_dump, run by a protected `up` for its backup, stalls in the middle of its COPY: it is
    stopped within the bound, its server session ended, no backup file is left, nothing applied."""
    config = (f'[pgshift]\n[env.prod]\nurl = "{proxy.url()}"\nprotected = true\nbackup_dir = "backups"\n'
              f'stall_timeout = "{STALL:g}s"\n')
    root = write_project(tmp_path / "proj", {f"{V1}_t.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n",
                                             f"{V2}_u.sql": "CREATE TABLE u (id int);\n"}, config)
    api.up(api.open_project(root, env="prod"), api.UpOptions(target=V1, yes=True, no_backup=True))
    proxy.stall_after(b"COPY ")
    outcome: list = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: outcome.append(_attempt(root)), daemon=True)
    worker.start()
    worker.join(BOUND + 30)
    took = time.monotonic() - started
    assert not worker.is_alive(), f"pgshift up still waits after {took:.0f}s on a stalled pg_dump"
    error = outcome[0]
    assert isinstance(error, PgshiftError), outcome
    assert proxy.fired.is_set() and took < BOUND, took
    assert "pre-migration backup failed: pg_dump exited with -9: pg_dump stalled and was stopped" in error.message
    assert scalar(pgshift_database_url, "SELECT to_regclass('u')") is None
    assert list((root / "backups").iterdir()) == []
    assert scalar(pgshift_database_url, "SELECT count(*) FROM pg_stat_activity "
                                        "WHERE application_name LIKE 'pgshift-backup-%'") == 0


def _attempt(root):
    try:
        return api.up(api.open_project(root, env="prod"), api.UpOptions(yes=True))
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        return exc


def test_a_slow_pg_dump_that_still_moves_is_not_taken_for_a_stalled_one(tmp_path, proxy, pgshift_database_url):
    """A backup behind a slow link (or a slow disk): the server waits on pg_dump, one COPY, for far
    longer than the stall timeout, but its data keeps moving, so the backup is let finish."""
    url = pgshift_database_url
    query(url, "CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 12000) g")
    proxy.throttle(250_000)           # 2.5 MB of COPY data: about 10 s, over three times STALL
    root = write_project(tmp_path / "proj", {f"{V1}_t.sql": "SELECT 1;\n"},
                         f'[pgshift]\n[env.dev]\nurl = "{proxy.url()}"\nstall_timeout = "{STALL:g}s"\n')
    started = time.monotonic()
    result = api.backup(api.open_project(root), tmp_path / "big.dump")
    took = time.monotonic() - started
    assert took > 2 * STALL, f"the link was not slow enough to test anything ({took:.1f}s)"
    assert result.entries and (tmp_path / "big.dump").stat().st_size > 0


def test_a_restore_whose_connection_stalls_is_stopped_and_leaves_the_target_as_it_was(
        tmp_path, proxy, pgshift_database_url, pgshift_new_database):
    from psycopg.conninfo import conninfo_to_dict

    url = pgshift_database_url
    query(url, "CREATE TABLE big AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 5000) g")
    root = write_project(tmp_path / "proj", {f"{V1}_t.sql": "SELECT 1;\n"}, CONFIG)
    dump = tmp_path / "big.dump"
    api.backup(api.open_project(root, database_url=url), dump)
    target = pgshift_new_database()
    through = proxy.url(conninfo_to_dict(target)["dbname"])
    proxy.stall_after(b"COPY ")          # pg_restore's data never reaches the server
    error, took = _in_thread(lambda: api.restore(dump, through, project=api.open_project(root, database_url=through)),
                             "the restore")
    assert proxy.fired.is_set() and took < BOUND, took
    assert "pg_restore stalled and was stopped" in error.message, error.message
    assert "the target database is as it was" in (error.hint or "")
    assert scalar(target, "SELECT to_regclass('big')") is None
    assert scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgshift-restore-%'") == 0


def test_a_gzipped_plain_restore_whose_connection_stalls_is_stopped_too(tmp_path, proxy, pgshift_new_database):
    import gzip

    from psycopg.conninfo import conninfo_to_dict

    dump = tmp_path / "plain.sql.gz"
    dump.write_bytes(gzip.compress(("CREATE TABLE t (id int);\nCOPY t (id) FROM stdin;\n"
                                    + "".join(f"{i}\n" for i in range(50_000)) + "\\.\n").encode()))
    target = pgshift_new_database()
    through = proxy.url(conninfo_to_dict(target)["dbname"])
    root = write_project(tmp_path / "proj", {f"{V1}_t.sql": "SELECT 1;\n"}, CONFIG)
    proxy.stall_after(b"COPY ")
    error, took = _in_thread(lambda: api.restore(dump, through, project=api.open_project(root, database_url=through)),
                             "the restore")
    assert proxy.fired.is_set() and took < BOUND, took
    assert "psql stalled and was stopped" in error.message, error.message
    assert scalar(target, "SELECT to_regclass('t')") is None
