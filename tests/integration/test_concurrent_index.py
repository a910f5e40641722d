"""CREATE/DROP INDEX CONCURRENTLY of a no-transaction file, retried after a lock timeout or resumed
after pgshift was killed: no INVALID leftovers, no second index, no "already exists"."""
from __future__ import annotations

import threading
import time

import psycopg

from conftest import ledger_rows, query, scalar, up, up_fails

TABLE = "20250101000001_t.sql"
VERSION = "20250101000002"
RETRIES_3 = "[pgshift]\n[env.dev]\nlock_retries = 3\nlock_retry_max_delay = \"200ms\"\n"
ONE_ATTEMPT = "[pgshift]\n[env.dev]\nlock_retries = 1\n"


def _indexes(url: str, table: str = "t"):
    return query(url, "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                      "WHERE i.indrelid = to_regclass(%s) ORDER BY 1", (table,))


def _writer(url: str, table: str = "t", seconds: float | None = None):
    """A session with an open writing transaction on *table*: what a concurrent build waits for.
    With *seconds*, it commits after that long (in a thread); else the caller ends it."""
    conn = psycopg.connect(url, application_name="open-writer")
    conn.execute(f"INSERT INTO {table} VALUES (1)")
    if seconds is None:
        return conn
    thread = threading.Thread(target=lambda: (time.sleep(seconds), conn.commit(), conn.close()), daemon=True)
    thread.start()
    return thread


def _up(root, url):
    """`up --lock-timeout 100ms`: (result, reporter)."""
    return up(root, url, lock_timeout=0.1)


def _behind_a_writer(project, url, statement: str):
    """`up` of a file with *statement* on t while a writing transaction stays open on t for 3 s."""
    root = project({TABLE: "CREATE TABLE t (id int);\n", f"{VERSION}_idx.sql": statement + "\n"})
    up(root, url, target="20250101000001")
    writer = _writer(url, seconds=3.0)
    _, events = _up(root, url)
    writer.join(10)
    return events


def test_retried_unnamed_build_leaves_one_valid_index_and_no_invalid_ones(project, pgshift_database_url):
    url = pgshift_database_url
    events = _behind_a_writer(project, url, "CREATE INDEX CONCURRENTLY ON t ((id + 7));")
    assert "retry 1 of 7" in events.text
    assert [valid for _, valid in _indexes(url)] == [True], _indexes(url)   # one index, VALID
    assert ledger_rows(url)[-1][2] == "completed"


def test_retried_named_build_drops_its_invalid_index_even_when_the_drop_times_out(project, pgshift_database_url):
    url = pgshift_database_url
    events = _behind_a_writer(project, url, "CREATE INDEX CONCURRENTLY t_id2_idx ON t ((id + 1));")
    assert "index t_id2_idx is INVALID" in events.text
    assert "retry 2 of 7" in events.text   # the drop behind the writer timed out too, and was retried
    assert _indexes(url) == [("t_id2_idx", True)]
    assert scalar(url, "SELECT (details->>'lock_retries')::int >= 2 FROM pgshift.migration_log "
                       "WHERE version = %s AND status = 'completed'", (VERSION,))


def test_retries_run_out_and_the_leftover_is_named_with_its_drop(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({TABLE: "CREATE TABLE t (id int);\n",
                    f"{VERSION}_idx.sql": "CREATE INDEX CONCURRENTLY ON t ((id + 7));\n"}, RETRIES_3)
    up(root, url, target="20250101000001")
    with _writer(url) as writer:
        failed, _ = up_fails(1, root, url, lock_timeout=0.1)
        writer.rollback()
    assert "after 3 attempt(s)" in failed.hint
    # every attempt after the first was spent on dropping the first one's leftover: one left, and named
    leftovers = [name for name, valid in _indexes(url) if not valid]
    assert len(leftovers) == 1 and _indexes(url) == [(leftovers[0], False)]
    assert f"DROP INDEX CONCURRENTLY {leftovers[0]};" in failed.hint
    assert ledger_rows(url)[-1][2] == "failed"
    query(url, f"DROP INDEX CONCURRENTLY {leftovers[0]}")
    _up(root, url)
    assert [valid for _, valid in _indexes(url)] == [True]


BIG = "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 20000) g;\n"
BUILD = "CREATE INDEX CONCURRENTLY big_named_idx ON big (id);\n"


def _interrupted(project, url, second: str, first: str = BIG):
    """A project whose second file (*second*, its first statement concurrent) is left as a kill -9
    during that statement leaves it: the event `running` with no statement done. Got by a real run
    that fails on the statement's lock timeout, its event then put back to what a killed run leaves."""
    root = project({TABLE: first, f"{VERSION}_idx.sql": second}, ONE_ATTEMPT)
    up(root, url, target="20250101000001")
    with _writer(url, "big") as writer:
        failed, _ = up_fails(1, root, url, lock_timeout=0.1)
        writer.rollback()
    assert "lock timeout" in failed.message
    query(url, "UPDATE pgshift.migration_log SET status = 'running', completed_at = NULL, error = NULL, "
               "execution_ms = NULL WHERE version = %s", (VERSION,))
    assert ledger_rows(url)[-1][1:4] == ("migrate", "running", 0)
    return root


def test_a_resumed_named_build_the_server_finished_is_skipped(project, pgshift_database_url):
    url = pgshift_database_url
    root = _interrupted(project, url, BUILD + "CREATE TABLE after_idx (id int);\n")
    # the server finished the build after the client was gone
    query(url, "DROP INDEX big_named_idx")
    query(url, BUILD)
    _, again = up(root, url)
    assert "index big_named_idx exists and is VALID: built by the interrupted run; statement 1 skipped" in again.text
    assert _indexes(url, "big") == [("big_named_idx", True)]
    assert scalar(url, "SELECT to_regclass('after_idx')::text") == "after_idx"
    assert ledger_rows(url)[-1][2:4] == ("completed", 2)


def test_a_resumed_named_build_left_invalid_is_built_again(project, pgshift_database_url):
    url = pgshift_database_url
    root = _interrupted(project, url, BUILD)
    assert _indexes(url, "big") == [("big_named_idx", False)]
    _, again = up(root, url)
    assert "dropping it before building it again" in again.text and "skipped" not in again.text
    assert _indexes(url, "big") == [("big_named_idx", True)]


def test_a_resumed_drop_of_an_index_already_gone_is_skipped(project, pgshift_database_url):
    url = pgshift_database_url
    root = _interrupted(project, url, "-- pgshift:no-transaction\nDROP INDEX CONCURRENTLY big_named_idx;\n"
                                      "CREATE TABLE after_drop (id int);\n",
                        first="CREATE TABLE big (id int);\nCREATE INDEX big_named_idx ON big (id);\n")
    query(url, "DROP INDEX big_named_idx")   # the server finished the drop after the client was gone
    _, again = up(root, url)
    assert "index big_named_idx no longer exists: dropped by the interrupted run; statement 1 skipped" \
        in again.text
    assert scalar(url, "SELECT to_regclass('after_drop')::text") == "after_drop"
    assert ledger_rows(url)[-1][2:4] == ("completed", 2)


def test_a_finished_build_of_an_earlier_text_is_refused_after_an_edit(project, pgshift_database_url):
    url = pgshift_database_url
    root = _interrupted(project, url, BUILD + "CREATE TABLE after_idx (id int);\n")
    query(url, "DROP INDEX big_named_idx")
    query(url, BUILD)                                   # the server finished the build of the old text
    path = root / "migrations" / f"{VERSION}_idx.sql"
    path.write_text(BUILD.replace("(id)", "(id DESC)") + "CREATE TABLE after_idx (id int);\n")
    failed, _ = up_fails(1, root, url)
    assert failed.message.startswith("index big_named_idx was built by an interrupted run of an earlier text of "
                                     "this file, and differs from what statement 1 now builds: it is `CREATE "
                                     "INDEX big_named_idx ON public.big USING btree (id)`")
    assert failed.hint.startswith("drop it (DROP INDEX CONCURRENTLY big_named_idx;)")
    assert scalar(url, "SELECT to_regclass('after_idx')") is None
    assert ledger_rows(url)[-1][2] == "running"                # nothing recorded as done
    # an edit that keeps the definition (a comment) resumes, skipping the finished build
    path.write_text("-- reviewed\n" + BUILD + "CREATE TABLE after_idx (id int);\n")
    _, again = up(root, url)
    assert "index big_named_idx exists and is VALID: built by the interrupted run" in again.text
    assert _indexes(url, "big") == [("big_named_idx", True)]
    assert ledger_rows(url)[-1][2] == "completed"


def test_an_unnamed_build_killed_mid_way_leaves_no_invalid_index_after_the_rerun(project, pgshift_database_url):
    from conftest import UpInThread

    url = pgshift_database_url
    root = project({TABLE: BIG, f"{VERSION}_idx.sql": "CREATE INDEX CONCURRENTLY ON big (id);\n"}, ONE_ATTEMPT)
    up(root, url, target="20250101000001")
    writer = _writer(url, "big")                      # the build waits for this transaction
    run = UpInThread(root, url)
    deadline = time.monotonic() + 20
    while not query(url, "SELECT 1 FROM pg_index WHERE indrelid = 'big'::regclass AND NOT indisvalid"):
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgshift' "
               "AND query LIKE 'CREATE INDEX CONCURRENTLY%'")
    run.failure(30)
    writer.rollback()
    writer.close()
    assert _indexes(url, "big") == [("big_id_idx", False)]   # the crash's leftover
    _, again = up(root, url)
    assert "index big_id_idx is INVALID" in again.text
    assert _indexes(url, "big") == [("big_id_idx", True)]    # one index, valid: not a second one beside it
    assert ledger_rows(url)[-1][2] == "completed"
