"""Behind PgBouncer in transaction mode (and cloud "pooled" URLs) the run lock and session
settings do not hold: pgshift refuses before its first change and leaves no setting behind.
A real PgBouncer (Debian's package; `.ci/run` installs it) in front of the session's server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from conftest import run_cli, scalar, write_project
from pgshift import api, db
from pgshift.errors import SafetyRefusal

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
FILES = {f"2025010100000{i}_t{i}.sql": f"CREATE TABLE t{i} (id int);\nINSERT INTO t{i} VALUES (1);\n"
         for i in range(1, 5)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["transaction", "session"])
def pooled(request, pgshift_database_url):
    """(pool mode, the database's URL through a PgBouncer of that mode)."""
    assert os.path.exists(PGBOUNCER), "PgBouncer is not installed (apt-get install pgbouncer; .ci/run does)"
    direct = conninfo_to_dict(pgshift_database_url)
    folder = Path(tempfile.mkdtemp(prefix="pgshift-pgbouncer-"))
    os.chmod(folder, 0o777)
    port = _free_port()
    (folder / "users.txt").write_text(f'"{direct.get("user", "postgres")}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{direct['dbname']} = host={direct['host']} port={direct.get('port', 5432)} "
        f"dbname={direct['dbname']}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder}/users.txt\npool_mode = {request.param}\n"
        "default_pool_size = 3\nmax_client_conn = 50\nignore_startup_parameters = extra_float_digits\n"
        f"logfile = {folder}/pgbouncer.log\npidfile = {folder}/pgbouncer.pid\n")
    for f in folder.iterdir():
        os.chmod(f, 0o666)
    proc = subprocess.Popen([PGBOUNCER, "-u", "embedded_postgres", str(folder / "pgbouncer.ini")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = make_conninfo(host="127.0.0.1", port=port, dbname=direct["dbname"], user=direct.get("user", "postgres"))
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                log = (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() else ""
                pytest.fail(f"PgBouncer did not start: {proc.stdout.read() if proc.poll() is not None else ''}"
                            f"{log[-2000:]}")
            time.sleep(0.1)
    yield request.param, url
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


def _settings_seen_by_another_client(url: str) -> tuple:
    with psycopg.connect(url, autocommit=True) as other:
        return tuple(other.execute(f"SHOW {name}").fetchone()[0]
                     for name in ("lock_timeout", "statement_timeout", "client_connection_check_interval"))


def test_through_a_transaction_pooler_the_run_is_refused_and_leaves_no_setting(pooled, tmp_path,
                                                                               pgshift_database_url):
    mode, url = pooled
    root = write_project(tmp_path / "proj", FILES)
    project = api.open_project(root, database_url=url)
    clean = _settings_seen_by_another_client(url)
    if mode == "session":     # one server session per client: the lock and the settings hold
        assert [s.version for s in api.up(project, api.UpOptions(lock_timeout=1.5)).run.steps] == sorted(
            n[:14] for n in FILES)
        assert scalar(pgshift_database_url, "SELECT count(*) FROM pgshift.migration_log") == 4
        return
    with pytest.raises(SafetyRefusal) as err:
        api.up(project, api.UpOptions(lock_timeout=1.5, statement_timeout=30))
    assert "goes through a connection pooler in transaction or statement mode" in err.value.message
    assert err.value.hint.startswith("connect pgshift to the database server directly")
    assert scalar(pgshift_database_url, "SELECT to_regclass('pgshift.migration_log')") is None
    assert scalar(pgshift_database_url, "SELECT to_regclass('t1')") is None
    cli = run_cli("up", "--project", str(root), "--database-url", url, "--lock-timeout", "1500ms")
    assert cli.code == 3 and "connection pooler" in cli.err, cli.all
    for _ in range(5):      # whichever server session the pooler hands out: pgshift's settings are not there
        assert _settings_seen_by_another_client(url) == clean


def test_four_runners_through_a_transaction_pooler_apply_nothing_twice(pooled, tmp_path, pgshift_database_url):
    mode, url = pooled
    root = write_project(tmp_path / "proj", FILES)

    def run(_):
        return run_cli("up", "--project", str(root), "--database-url", url, "--lock-wait", "30s", timeout=120)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    codes = sorted(r.code for r in results)
    if mode == "transaction":
        assert codes == [3, 3, 3, 3], [r.all for r in results]
        assert scalar(pgshift_database_url, "SELECT to_regclass('pgshift.migration_log')") is None
    else:
        assert codes == [0, 0, 0, 0], [r.all for r in results]
        # every migration exactly once: one completed event each, one row in each table
        assert scalar(pgshift_database_url, "SELECT count(*) FROM pgshift.migration_log "
                                            "WHERE status = 'completed'") == 4
        for i in range(1, 5):
            assert scalar(pgshift_database_url, f"SELECT count(*) FROM t{i}") == 1


def test_a_long_run_through_a_session_pool_is_watched_by_its_server_session(pooled, tmp_path,
                                                                            pgshift_database_url):
    """Behind a pooler the connection's cancel key is the pooler's, not a server pid: the watchdog
    and the monitor must watch the server session itself, or they take it for ended and cut the run."""
    mode, url = pooled
    if mode != "session":
        pytest.skip("refused before anything runs (the test above)")
    root = write_project(tmp_path / "proj", {"20250101000001_slow.sql": "CREATE TABLE slow (id int);\n"
                                                                         "SELECT pg_sleep(3);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", url, "--monitor")
    assert result.code == 0, result.all
    assert scalar(pgshift_database_url, "SELECT count(*) FROM pgshift.migration_log WHERE status = 'completed'") == 1


def test_many_clients_at_once_each_tell_the_pool_mode(pooled):
    """The check of each client, run by six clients at once (the pool of three is full, sessions
    come and go): a transaction pool is refused every time, a session pool never."""
    mode, url = pooled
    rounds = 5 if mode == "transaction" else 1

    def one(_):
        verdicts = []
        for _ in range(rounds):
            with db.connect(url) as conn:
                try:
                    db.refuse_pooler(conn, url)
                    verdicts.append("passed")
                except SafetyRefusal as exc:
                    assert "goes through a connection pooler in transaction or statement mode" in exc.message
                    verdicts.append("refused")
        return verdicts

    with ThreadPoolExecutor(6) as pool:
        verdicts = [v for chunk in pool.map(one, range(6)) for v in chunk]
    assert set(verdicts) == ({"refused"} if mode == "transaction" else {"passed"}), verdicts
