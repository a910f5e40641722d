"""Lock safety against the real server, through the library in-process: a migration behind a
long transaction retries under lock_timeout instead of queueing production traffic behind it;
the monitor names who blocks it and shows a concurrent index build's progress."""
from __future__ import annotations

import threading
import time

import psycopg

from conftest import UpInThread, open_project, query, scalar, up, up_fails, write_project
from pgshift.events import INDEX_PROGRESS, MONITOR
from pgshift.safety import monitor as monitor_mod

VERSION = "20250101000001"
PROD = "[pgshift]\n[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\n"


class Reader(threading.Thread):
    """Production traffic: a query on the table every 100 ms, each one timed."""

    def __init__(self, url: str, sql: str):
        super().__init__(daemon=True)
        self.url, self.sql = url, sql
        self.waits: list[float] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True, application_name="app-reader") as conn:
            while not self.halt.is_set():
                started = time.monotonic()
                try:
                    conn.execute(self.sql).fetchall()
                except psycopg.Error as exc:  # pragma: no cover - would fail the test below
                    self.errors.append(str(exc))
                self.waits.append(time.monotonic() - started)
                self.halt.wait(0.1)


def test_lock_timeout_retries_while_traffic_flows(project, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE t (id int PRIMARY KEY, v text); "
               "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g")
    root = project({f"{VERSION}_add_note.sql": "ALTER TABLE t ADD COLUMN note text;\n"})
    reader = Reader(url, "SELECT count(*) FROM t WHERE id % 7 = 0")
    with psycopg.connect(url, application_name="long-report") as holder:
        holder.execute("SELECT count(*) FROM t").fetchone()      # an open transaction holds ACCESS SHARE on t
        reader.start()
        run = UpInThread(root, url, lock_timeout=0.2)
        time.sleep(3.0)
        assert run.is_alive(), run.error                         # still retrying, not failed, not done
        assert scalar(url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass "
                           "AND attname = 'note'") == 0
        holder.commit()                                          # the long transaction ends
        released = time.monotonic()
        result = run.finish(90)
    finished = time.monotonic()
    time.sleep(0.3)
    reader.halt.set()
    reader.join(5)

    assert len(result.run.steps) == 1
    retry_lines = [line for line in run.events.text.splitlines() if "lock timeout" in line and "retry" in line]
    assert retry_lines, run.events.text
    assert "canceling statement due to lock timeout" in retry_lines[0]
    assert "retry 1 of 7" in retry_lines[0]
    retries = scalar(url, "SELECT (details->>'lock_retries')::int FROM pgshift.migration_log "
                          "WHERE version = %s AND status = 'completed'", (VERSION,))
    assert retries == len(retry_lines) >= 2
    assert scalar(url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'note'") == 1
    # the traffic never queued behind the waiting ALTER for longer than the lock timeout (plus noise)
    assert not reader.errors
    assert len(reader.waits) > 25
    assert max(reader.waits) < 1.0, sorted(reader.waits)[-5:]
    assert finished - released < 20   # the next retry after the commit succeeded


def test_protected_default_lock_timeout_is_2s(project, pgshift_database_url):
    root = project({f"{VERSION}_probe.sql": "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS lt, "
                                            "current_setting('application_name') AS app;\n"}, PROD)
    up(root, env="prod", environ={"PROD_URL": pgshift_database_url}, yes=True, no_backup=True)
    assert query(pgshift_database_url, "SELECT lt, app FROM probe") == [("2s", "pgshift")]


def test_lock_timeout_flag_and_file_directive_override_the_default(project, pgshift_database_url):
    root = project({
        "20250101000001_flag.sql": "CREATE TABLE by_flag AS SELECT current_setting('lock_timeout') AS lt;\n",
        "20250101000002_directive.sql": "-- pgshift:lock-timeout 500ms\n"
                                        "CREATE TABLE by_directive AS SELECT current_setting('lock_timeout') AS lt;\n",
    }, PROD)
    up(root, env="prod", environ={"PROD_URL": pgshift_database_url}, yes=True, no_backup=True, lock_timeout=1.0)
    assert scalar(pgshift_database_url, "SELECT lt FROM by_flag") == "1s"
    assert scalar(pgshift_database_url, "SELECT lt FROM by_directive") == "500ms"


def test_no_transaction_file_retries_the_statement_not_the_file(project, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE a (id int); CREATE TABLE b (id int); INSERT INTO a SELECT generate_series(1, 100)")
    root = project({f"{VERSION}_mixed.sql": "CREATE INDEX CONCURRENTLY a_id_idx ON a (id);\n"
                                            "INSERT INTO b VALUES (1);\n"
                                            "ALTER TABLE a ADD COLUMN flag boolean;\n"})
    with psycopg.connect(url) as holder:
        holder.execute("SELECT count(*) FROM a").fetchone()
        run = UpInThread(root, url, lock_timeout=0.2)
        time.sleep(2.0)
        holder.commit()
        run.finish(90)
    assert "retry 1 of 7" in run.events.text
    # the statements before the one that waited ran once
    assert scalar(url, "SELECT count(*) FROM b") == 1
    assert scalar(url, "SELECT (details->>'lock_retries')::int >= 1 FROM pgshift.migration_log "
                       "WHERE version = %s AND status = 'completed'", (VERSION,))


def _wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def test_monitor_names_the_session_blocking_the_migration(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE t (id int)")
    project, rec = open_project(write_project(tmp_path / "p", {}), url)
    holder = psycopg.connect(url, application_name="nightly-export")
    holder.execute("SELECT * FROM t").fetchall()
    holder_pid = holder.info.backend_pid
    migration = psycopg.connect(url, autocommit=True, application_name="pgshift")
    migration_pid = migration.info.backend_pid
    alter = threading.Thread(target=lambda: migration.execute("ALTER TABLE t ADD COLUMN c int"), daemon=True)
    queued = psycopg.connect(url, autocommit=True, application_name="app")
    behind = threading.Thread(target=lambda: queued.execute("SELECT * FROM t").fetchall(), daemon=True)
    m = None
    try:
        alter.start()
        _wait_for(lambda: scalar(url, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                                 (migration_pid,)))
        behind.start()   # an application query now queues behind the waiting ALTER
        m = monitor_mod.start(project, migration_pid, url, interval=0.5)

        def seen():
            return [e for e in rec.events if e.kind == MONITOR and e.data.get("queued_behind_migration")
                    and any(b["pid"] == holder_pid for b in e.data["blockers"])]

        events = _wait_for(seen)
        assert events, rec.messages()
        event = events[0]
        assert event.level == "warning"
        assert f"pid {holder_pid} (nightly-export, idle in transaction, transaction open" in event.message
        assert "SELECT * FROM t" in event.message
        assert "1 session(s) queued behind the migration" in event.message
        blocker = next(b for b in event.data["blockers"] if b["pid"] == holder_pid)
        assert blocker["application_name"] == "nightly-export" and blocker["transaction_seconds"] >= 0
        assert event.data["migration"]["wait_event_type"] == "Lock"
        # the monitor's own session is named as such
        assert scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgshift-monitor'") == 1
    finally:
        holder.commit()
        alter.join(10)
        behind.join(10)
        stopped_at = time.monotonic()
        assert m is not None and m.stop()
        assert time.monotonic() - stopped_at < 2
        for c in (holder, migration, queued):
            c.close()
    assert not m.alive
    assert _wait_for(lambda: scalar(url, "SELECT count(*) = 0 FROM pg_stat_activity "
                                         "WHERE application_name = 'pgshift-monitor'"), 5)


def test_monitor_shows_a_concurrent_index_build_progress(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1000000) g")
    project, rec = open_project(write_project(tmp_path / "p", {}), url)
    with psycopg.connect(url, autocommit=True) as builder:
        builder.execute("SET maintenance_work_mem = '1MB'")      # an external sort: a build of a few seconds
        builder.execute("SET max_parallel_maintenance_workers = 0")
        m = monitor_mod.start(project, builder.info.backend_pid, url, interval=0.3, poll=0.1)
        try:
            started = time.monotonic()
            builder.execute("CREATE INDEX CONCURRENTLY big_h_idx ON big (h)")
            took = time.monotonic() - started
        finally:
            assert m.stop()
    progress = [e for e in rec.events if e.kind == INDEX_PROGRESS]
    assert progress, (took, rec.messages())
    phases = {e.data["phase"] for e in progress}
    assert any(p.startswith("building index") for p in phases), phases
    percents = [e.data["percent"] for e in progress if e.data["percent"] is not None]
    assert percents and all(0 <= p <= 100 for p in percents)
    sample = next(e for e in progress if e.data["percent"] is not None)
    assert "CREATE INDEX CONCURRENTLY big_h_idx on big: [" in sample.message and "%" in sample.message
    assert sample.data["table"] == "big" and sample.data["index"] == "big_h_idx"


def test_monitor_stops_even_when_its_query_hangs(tmp_path, pgshift_database_url):
    """stop() must return, and the thread end, even while the monitor's connection is stuck."""
    url = pgshift_database_url
    project, _ = open_project(write_project(tmp_path / "p", {}), url)
    m = monitor_mod.start(project, 0, url, interval=60)
    assert _wait_for(lambda: m._conn is not None and m.samples >= 1)

    original = m.sample

    def stuck(conn):   # the next sample blocks on the server for a long time
        conn.execute("SELECT pg_sleep(30)")
        return original(conn)

    m.sample = stuck
    assert _wait_for(lambda: scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                         "'pgshift-monitor' AND query LIKE '%%pg_sleep(30)%%' AND state = 'active'"),
                     5)
    started = time.monotonic()
    assert m.stop(timeout=0.5)
    assert time.monotonic() - started < 4
    assert not m.alive


def test_retries_run_out_and_the_failure_says_why(project, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE t (id int)")
    root = project({f"{VERSION}_add.sql": "ALTER TABLE t ADD COLUMN c int;\n"},
                   "[pgshift]\n[env.dev]\nlock_retries = 3\nlock_retry_max_delay = \"200ms\"\n")
    with psycopg.connect(url, application_name="never-ends") as holder:
        holder.execute("SELECT * FROM t").fetchall()
        err, events = up_fails(1, root, url, lock_timeout=0.1)
    assert events.text.count("lock timeout (canceling statement due to lock timeout); retry") == 2
    assert "retry 2 of 2" in events.text
    assert "[SQLSTATE 55P03]" in err.message and "after 3 attempt(s)" in err.hint
    row = query(url, "SELECT status, (details->>'lock_retries')::int FROM pgshift.migration_log WHERE version = %s",
                (VERSION,))
    assert row == [("failed", 2)]
    assert scalar(url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'") == 0


def test_a_retry_waits_for_the_blocker_by_name_and_goes_as_soon_as_it_leaves(project, pgshift_database_url):
    """The backoff is capped at 30 s, but no retry waits long after the blocker has gone, and none
    queues behind a blocker that is still there: the migration commits right after the release."""
    url = pgshift_database_url
    query(url, "CREATE TABLE t (id int)")
    root = project({f"{VERSION}_add.sql": "ALTER TABLE t ADD COLUMN c int;\n"})
    with psycopg.connect(url, application_name="nightly-report") as holder:
        holder.execute("SELECT * FROM t").fetchall()
        pid = holder.info.backend_pid
        run = UpInThread(root, url, lock_timeout=0.1)
        time.sleep(3.5)
        released = time.monotonic()
    run.finish(60)
    finished = time.monotonic()
    err = run.events.text
    assert f"as soon as pid {pid} (nightly-report" in err
    assert finished - released < 2.0, f"committed {finished - released:.1f}s after the blocker left"
    attempts = err.count("lock timeout (canceling statement due to lock timeout)")
    assert 1 <= attempts <= 4, err   # it waited for the blocker instead of queueing behind it again and again
