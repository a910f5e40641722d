"""A killed process, a second runner, a held lock: the ledger stays true. The killed runs and
the two runners are `pgshift up` processes; the rest runs through the library in-process."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import psycopg

from conftest import UpInThread, clean_environ, fails, ledger_rows, query, scalar, states, up
from pgshift import api


def _start(root, url):
    """`pgshift up` as a process: to be killed, or to race another."""
    return subprocess.Popen([sys.executable, "-m", "pgshift", "up", "--project", str(root), "--database-url", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_environ())


def _wait_for_sleep(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgshift' "
                       "AND query LIKE '%pg_sleep%' AND state = 'active'"):
            return
        time.sleep(0.05)
    raise AssertionError("the migration never reached its pg_sleep")


SLEEP = "SELECT pg_sleep(CASE WHEN to_regclass('go_on') IS NULL THEN 60 ELSE 0 END);"


def test_sigkill_in_a_transactional_migration_leaves_nothing(project, pgshift_database_url):
    root = project({"20250101000001_first.sql": "CREATE TABLE first (id int);\n",
                    "20250101000002_slow.sql": f"CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);\n{SLEEP}\n"})
    proc = _start(root, pgshift_database_url)
    _wait_for_sleep(pgshift_database_url)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    # the orphaned backend notices its client is gone and rolls back
    deadline = time.monotonic() + 15
    while scalar(pgshift_database_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgshift'") \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scalar(pgshift_database_url, "SELECT to_regclass('slow')") is None
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[2]) for r in rows] == [("20250101000001", "completed")]   # no event at all for the killed one
    query(pgshift_database_url, "CREATE TABLE go_on ()")
    up(root, pgshift_database_url)
    assert scalar(pgshift_database_url, "SELECT count(*) FROM slow") == 1
    assert [(r[0], r[2]) for r in ledger_rows(pgshift_database_url)] == [
        ("20250101000001", "completed"), ("20250101000002", "completed")]


def test_sigkill_in_a_no_transaction_migration_resumes(project, pgshift_database_url):
    root = project({"20250101000001_steps.sql": f"-- pgshift:no-transaction\nCREATE TABLE a (id int);\n{SLEEP}\n"
                                                "CREATE TABLE b (id int);\n"})
    proc = _start(root, pgshift_database_url)
    _wait_for_sleep(pgshift_database_url)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    rows = ledger_rows(pgshift_database_url)
    assert len(rows) == 1 and rows[0][2:4] == ("running", 1)   # never "completed" without running
    assert states(root, pgshift_database_url) == {"20250101000001": "running"}
    query(pgshift_database_url, "CREATE TABLE go_on ()")
    _, again = up(root, pgshift_database_url)
    assert "after statement 1 of 3" in again.text
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is not None
    assert [r[2] for r in ledger_rows(pgshift_database_url)] == ["running", "completed"]


def test_two_runners_apply_each_migration_once(project, pgshift_database_url):
    files = {f"2025010100000{i}_m{i}.sql": f"CREATE TABLE m{i} (id int);\nSELECT pg_sleep(0.3);\n" for i in range(1, 5)}
    root = project(files)
    first, second = _start(root, pgshift_database_url), _start(root, pgshift_database_url)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    counts = query(pgshift_database_url, "SELECT version, count(*) FROM pgshift.migration_log "
                                         "WHERE status = 'completed' GROUP BY version ORDER BY version")
    assert counts == [(v[:14], 1) for v in sorted(files)]
    assert "waiting for the migration lock" in err1 + err2


def test_a_held_lock_is_exit_3_naming_the_holder(project, pgshift_database_url):
    from pgshift.db import lock_key

    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    with psycopg.connect(pgshift_database_url, autocommit=True, application_name="deploy-job-42") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("pgshift.migration_log"),))
        pid = holder.info.backend_pid
        started = time.monotonic()
        err, _ = fails(3, api.up, root, pgshift_database_url, api.UpOptions(lock_wait=1.0))
        assert time.monotonic() - started < 15
    assert f"pid {pid}" in err.message and "deploy-job-42" in err.message
    assert scalar(pgshift_database_url, "SELECT to_regclass('a')") is None


def test_a_dropped_connection_fails_cleanly_and_the_next_run_applies(project, pgshift_database_url):
    root = project({"20250101000001_first.sql": "CREATE TABLE first (id int);\n",
                    "20250101000002_slow.sql": f"CREATE TABLE slow (id int);\n{SLEEP}\n"})
    run = UpInThread(root, pgshift_database_url)
    _wait_for_sleep(pgshift_database_url)
    query(pgshift_database_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = 'pgshift' AND query LIKE '%pg_sleep%'")
    failed = run.failure(30)
    assert failed.exit_code == 1
    err = f"{failed}\n{failed.hint}"
    assert str(failed).startswith("migrations/20250101000002_slow.sql:2:1"), err
    assert "terminat" in err or "server closed the connection" in err, err
    assert scalar(pgshift_database_url, "SELECT to_regclass('slow')") is None
    query(pgshift_database_url, "CREATE TABLE go_on ()")
    up(root, pgshift_database_url)
    assert [(r[0], r[2]) for r in ledger_rows(pgshift_database_url)] == [
        ("20250101000001", "completed"), ("20250101000002", "completed")]


def test_a_migration_stuck_behind_a_lock_is_never_silent(project, pgshift_database_url):
    """No lock timeout (a dev environment) and no --monitor: after a few seconds the monitor
    starts anyway and names the session the migration waits for."""
    query(pgshift_database_url, "CREATE TABLE t (id int)")
    root = project({"20250101000001_add.sql": "ALTER TABLE t ADD COLUMN c int;\n"})
    with psycopg.connect(pgshift_database_url, application_name="long-report") as holder:
        holder.execute("SELECT * FROM t").fetchall()
        pid = holder.info.backend_pid
        run = UpInThread(root, pgshift_database_url)
        time.sleep(8)
    run.finish(60)
    err = run.events.text
    assert f"pid {pid}" in err and "long-report" in err, err
