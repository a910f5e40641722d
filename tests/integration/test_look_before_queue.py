"""Look before you queue, against the real server: while a long reader holds a table, the
migration waits for it by name instead of entering the lock queue (a third connection samples
pg_locks and never sees the migration waiting), then takes its lock with a short timeout right
after the reader ends. The wait has its own deadline, which ends like a spent retry budget."""
from __future__ import annotations

import re
import threading
import time

import psycopg
import pytest

from conftest import ledger_rows, open_project, query, run_cli, scalar, up, up_fails, write_project
from pgshift import api
from pgshift.errors import MigrationFailed
from pgshift.events import LOCK_WAIT, RETRY, WARNING

V1 = "20250101000001"
PROTECTED_LIKE = {"lock_timeout": 2.0, "blocker_wait": 30.0}   # the protected defaults' timeout, a look


class LongReader(threading.Thread):
    """A report: BEGIN; SELECT ... FROM the table; held *hold* seconds (or until ``release``)."""

    def __init__(self, url: str, sql: str = "SELECT count(*) FROM t", hold: float | None = 3.0,
                 name: str = "long-reader"):
        super().__init__(daemon=True)
        self.url, self.sql, self.hold, self.app = url, sql, hold, name
        self.opened = threading.Event()
        self.release = threading.Event()
        self.pid: int | None = None
        self.ended_at: float | None = None

    def run(self) -> None:
        with psycopg.connect(self.url, application_name=self.app) as conn:
            conn.execute(self.sql)                   # the transaction stays open, holding its lock
            self.pid = conn.info.backend_pid
            self.opened.set()
            self.release.wait(self.hold)
            conn.commit()
            self.ended_at = time.monotonic()

    def start_and_wait(self, settle: float = 0.3) -> LongReader:
        self.start()
        assert self.opened.wait(10)
        time.sleep(settle)                           # an old transaction by now, not the app's short ones
        return self


class LockSampler(threading.Thread):
    """A third connection: every 50 ms, who waits (NOT granted) for a lock on the table."""

    def __init__(self, url: str, table: str = "t"):
        super().__init__(daemon=True)
        self.url, self.table = url, table
        self.samples = 0
        self.waiting: list[tuple[int, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True, application_name="lock-sampler") as conn:
            oid = conn.execute("SELECT to_regclass(%s)::oid", (self.table,)).fetchone()[0]
            while not self.halt.is_set():
                rows = conn.execute(
                    "SELECT l.pid, coalesce(a.application_name, '') FROM pg_locks l "
                    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'relation' AND l.relation = %s AND NOT l.granted", (oid,)).fetchall()
                self.samples += 1
                self.waiting.extend(rows)
                self.halt.wait(0.05)

    def stop(self) -> LockSampler:
        self.halt.set()
        self.join(5)
        return self


def _table(url: str) -> None:
    query(url, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g")


def _in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target():
        try:
            out["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc
        out["finished"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def _has_column(url: str, name: str) -> bool:
    return bool(scalar(url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = %s",
                       (name,)))


FILES = {
    "transaction": "ALTER TABLE t ADD COLUMN note text;\n",
    "no-transaction": "-- pgshift:no-transaction\nALTER TABLE t ADD COLUMN note text;\n"
                      "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS lt;\n",
    "own-transaction": "BEGIN;\nALTER TABLE t ADD COLUMN note text;\nCOMMIT;\n"
                       "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS lt;\n",
}


@pytest.mark.parametrize("shape", list(FILES))
def test_the_migration_never_queues_behind_a_long_reader(tmp_path, pgshift_database_url, shape):
    url = pgshift_database_url
    _table(url)
    root = write_project(tmp_path / "p", {f"{V1}_note.sql": FILES[shape]})
    project, rec = open_project(root, url)
    reader = LongReader(url, hold=3.0).start_and_wait()
    sampler = LockSampler(url)
    sampler.start()
    thread, out = _in_thread(api.up, project, api.UpOptions(**PROTECTED_LIKE))
    thread.join(60)
    reader.join(10)
    sampler.stop()

    assert "error" not in out, out.get("error")
    assert out["result"].run.steps[0].mode == shape
    # the migration never waited in the lock queue, over dozens of samples taken while the reader ran
    assert sampler.samples >= 30, sampler.samples
    assert sampler.waiting == [], sampler.waiting
    # it named the reader, as the monitor names a blocker
    waits = [e for e in rec.of(LOCK_WAIT) if e.data.get("blockers")]
    assert waits, rec.text
    assert f"pid {reader.pid} (long-reader, idle in transaction, transaction open" in waits[0].message
    assert "SELECT count(*) FROM t" in waits[0].message and 'AccessExclusiveLock on "t"' in waits[0].message
    assert waits[0].data["blockers"][0]["pid"] == reader.pid
    assert any("the way is clear" in m for m in rec.messages(LOCK_WAIT)), rec.text
    # no attempt timed out: it went once, after the reader, and soon after
    assert not rec.of(RETRY), rec.text
    assert out["result"].run.steps[0].retries == 0
    assert out["finished"] > reader.ended_at
    assert out["finished"] - reader.ended_at < 1.0, out["finished"] - reader.ended_at
    assert _has_column(url, "note")
    if shape != "transaction":   # the short clear-path timeout was the attempt's alone
        assert scalar(url, "SELECT lt FROM probe") == "2s"


def test_without_the_look_the_sampler_sees_the_migration_wait(tmp_path, pgshift_database_url):
    """The control: the same reader, blocker_wait 0 (attempt at once): the sampler catches the
    migration in the queue, so its silence above is not blindness."""
    url = pgshift_database_url
    _table(url)
    root = write_project(tmp_path / "p", {f"{V1}_note.sql": FILES["transaction"]})
    project, rec = open_project(root, url)
    reader = LongReader(url, hold=2.0).start_and_wait()
    sampler = LockSampler(url)
    sampler.start()
    thread, out = _in_thread(api.up, project, api.UpOptions(lock_timeout=1.0, blocker_wait=0))
    thread.join(60)
    reader.join(10)
    sampler.stop()
    assert "error" not in out, out.get("error")
    assert sampler.waiting, sampler.samples
    assert not rec.of(LOCK_WAIT)


def test_no_visible_blocker_goes_straight_through(tmp_path, pgshift_database_url):
    """Busy but short application transactions are no blockers: the attempt is made at once."""
    url = pgshift_database_url
    _table(url)
    root = write_project(tmp_path / "p", {f"{V1}_note.sql": FILES["transaction"]})
    halt = threading.Event()

    def app():
        with psycopg.connect(url, application_name="app") as conn:
            while not halt.is_set():
                conn.execute("UPDATE t SET v = 'y' WHERE id = 7")
                conn.commit()

    clients = [threading.Thread(target=app, daemon=True) for _ in range(3)]
    for c in clients:
        c.start()
    time.sleep(0.3)
    try:
        started = time.monotonic()
        result, rec = up(root, url, **PROTECTED_LIKE)
        took = time.monotonic() - started
    finally:
        halt.set()
        for c in clients:
            c.join(5)
    assert not rec.of(LOCK_WAIT) and not rec.of(RETRY), rec.text
    assert result.run.steps[0].retries == 0
    assert took < 5, took
    assert _has_column(url, "note")


def test_the_blocker_wait_runs_out_like_a_retry_budget(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    _table(url)
    files = {f"{V1}_note.sql": "-- a comment first\nALTER TABLE t ADD COLUMN note text;\n"}
    waited_root = write_project(tmp_path / "waited", files)
    budget_root = write_project(tmp_path / "budget", files, "[pgshift]\n[env.dev]\nlock_retries = 2\n"
                                                          "lock_retry_max_delay = \"100ms\"\n")
    reader = LongReader(url, hold=None).start_and_wait()
    sampler = LockSampler(url)
    sampler.start()
    try:
        started = time.monotonic()
        waited, waited_rec = up_fails(1, waited_root, url, lock_timeout=2.0, blocker_wait=1.0)
        took = time.monotonic() - started
        sampler.stop()
        budget, _ = up_fails(1, budget_root, url, lock_timeout=0.1, blocker_wait=0)
        cli = run_cli("up", "--lock-timeout", "2s", "--blocker-wait", "500ms", "--project", str(waited_root),
                      "--database-url", url)
    finally:
        reader.release.set()
        reader.join(10)

    # the same error, exit code and shape as a retry budget that runs out
    assert type(waited) is type(budget) is MigrationFailed
    shape = r"statement 1 of 1 failed: .+ \[SQLSTATE 55P03\]"
    assert re.fullmatch(shape, waited.message), waited.message
    assert re.fullmatch(shape, budget.message), budget.message
    assert str(waited.location) == str(budget.location) == f"migrations/{V1}_note.sql:2:1"
    assert waited.details["sqlstate"] == budget.details["sqlstate"] == "55P03"
    assert waited.hint.splitlines()[-1] == budget.hint.splitlines()[-1] == \
        "the file's transaction was rolled back: nothing of it was applied"
    # ... that says what it waited for, and what to do
    assert f"gave up waiting 1s (blocker_wait) to take AccessExclusiveLock on \"t\": pid {reader.pid} " \
           "(long-reader, idle in transaction" in waited.message
    assert f"SELECT pg_terminate_backend({reader.pid})" in waited.hint and "--blocker-wait" in waited.hint
    assert waited.details["blocker_wait"]["blockers"][0]["pid"] == reader.pid
    assert 1.0 <= took < 10, took
    assert sampler.waiting == []                      # it never queued while it waited
    assert waited_rec.of(LOCK_WAIT)
    assert [row[2] for row in ledger_rows(url)] == ["failed", "failed", "failed"]
    assert not _has_column(url, "note")
    # the command line: exit 1, the same message
    assert cli.code == 1, cli.all
    assert "gave up waiting 500ms (blocker_wait)" in cli.err and "[SQLSTATE 55P03]" in cli.err
    assert f"pid {reader.pid} (long-reader" in cli.err


def test_a_blocker_the_look_cannot_see_escalates_the_timeout_and_says_so(tmp_path, pgshift_database_url):
    """DROP ... CASCADE reaches a table its text does not name: the look sees the way clear, the
    attempts at the short timeout fail, and only then do the timeouts grow (never past 2 s)."""
    url = pgshift_database_url
    query(url, "CREATE TABLE u (id int PRIMARY KEY); CREATE TABLE t (id int PRIMARY KEY, u_id int REFERENCES u)")
    root = write_project(tmp_path / "p", {f"{V1}_drop_u.sql": "DROP TABLE u CASCADE;\n"})
    project, rec = open_project(root, url)
    reader = LongReader(url, hold=3.0).start_and_wait()
    thread, out = _in_thread(api.up, project, api.UpOptions(**PROTECTED_LIKE))
    thread.join(60)
    reader.join(10)
    assert "error" not in out, out.get("error")
    retries = [e.message for e in rec.of(RETRY)]
    assert len(retries) >= 3, rec.text
    escalations = [e for e in rec.of(WARNING) if e.data.get("escalated")]
    assert escalations, rec.text
    first = escalations[0]
    assert first.data["attempt"] == 4 and first.data["lock_timeout"] == pytest.approx(0.4)
    assert "3 attempt(s) timed out although no blocker was visible" in first.message
    assert "escalating: attempt 4 runs with lock_timeout 400ms" in first.message
    assert "the configured lock_timeout 2s is the limit" in first.message
    assert all(e.data["lock_timeout"] <= 2.0 for e in escalations)
    assert scalar(url, "SELECT to_regclass('u')") is None


def test_a_batch_waits_for_a_visible_ddl_instead_of_spending_its_retries(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE items (id int PRIMARY KEY, done boolean NOT NULL DEFAULT false); "
               "INSERT INTO items SELECT g FROM generate_series(1, 2000) g")
    root = write_project(tmp_path / "p", {
        f"{V1}_backfill.sql": "-- pgshift:batch size=500\nUPDATE items SET done = true;\n"})
    project, rec = open_project(root, url)
    holder = LongReader(url, "LOCK TABLE items IN SHARE MODE", hold=2.0, name="index-build").start_and_wait()
    thread, out = _in_thread(api.up, project, api.UpOptions(lock_timeout=0.3, blocker_wait=30))
    thread.join(60)
    holder.join(10)
    assert "error" not in out, out.get("error")
    waits = [e for e in rec.of(LOCK_WAIT) if e.data.get("blockers")]
    assert waits and f"pid {holder.pid} (index-build" in waits[0].message, rec.text
    assert "RowExclusiveLock on \"items\"" in waits[0].message and "holding ShareLock" in waits[0].message
    assert not rec.of(RETRY), rec.text
    assert scalar(url, "SELECT count(*) FROM items WHERE NOT done") == 0


def test_blocker_wait_is_a_setting_with_the_duration_checks(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", {f"{V1}_a.sql": "SELECT 1;\n"},
                         "[pgshift]\n[env.dev]\nblocker_wait = \"soon\"\n")
    bad = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert bad.code == 2 and "blocker_wait" in bad.err and "not a duration" in bad.err, bad.all
    flag = run_cli("up", "--blocker-wait", "soon", "--project", str(tmp_path), "--database-url",
                   pgshift_database_url)
    lock_wait = run_cli("up", "--lock-wait", "soon", "--project", str(tmp_path), "--database-url",
                        pgshift_database_url)
    assert flag.code == lock_wait.code == 2, flag.all
    assert "not a duration: 'soon'" in flag.err and flag.err == lock_wait.err   # as every duration flag
