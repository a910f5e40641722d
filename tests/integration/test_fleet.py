"""Fleets against real servers (issue 15): 200 databases over two embedded servers with per-host
caps, the canary and the failure budget, two workers and a SIGKILL, 100 tenant schemas, and
``--only-failed`` after the cause is fixed."""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from conftest import clean_environ, query, scalar, write_project
from pgshift import api, db, embedded
from pgshift.errors import ExitCode
from pgshift.fleet import control as control_tables

V1, V2, V3 = "20250101000001", "20250101000002", "20250101000003"
THREE = {
    f"{V1}_a.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
    f"{V2}_b.sql": "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);\nSELECT pg_sleep(0.03);\n",
    f"{V3}_c.sql": "ALTER TABLE a ADD COLUMN note text;\n",
}


@pytest.fixture(scope="module")
def two_hosts() -> Iterator[tuple[str, str]]:
    """Two embedded PostgreSQL servers of this module's own: two "hosts", thrown away whole at the end
    (dropping 200 databases one by one would cost a checkpoint each)."""
    base = Path(tempfile.mkdtemp(prefix="pgshift-fleet-"))
    os.chmod(base, 0o755)
    urls = [embedded.start(base / "host_a"), embedded.start(base / "host_b")]
    for url in urls:   # throwaway servers: no fsync (their stop skips a long checkpoint)
        query(url, "ALTER SYSTEM SET fsync = off")
        query(url, "SELECT pg_reload_conf()")
    try:
        yield urls[0], urls[1]
    finally:
        for name in ("host_a", "host_b"):
            embedded.stop(base / name)
        shutil.rmtree(base, ignore_errors=True)


def _databases(server_url: str, prefix: str, n: int) -> list[str]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        for i in range(n):   # FILE_COPY: a tiny database is copied faster than WAL-logged
            conn.execute(f"CREATE DATABASE {prefix}_{i:03d} STRATEGY FILE_COPY")
    return [db.with_dbname(server_url, f"{prefix}_{i:03d}") for i in range(n)]


def _drop(server_url: str, prefix: str, n: int) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: db.drop_database(server_url, f"{prefix}_{i:03d}"), range(n)))


def _targets(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def control(pgshift_server_url):
    name = f"fleetctl_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    url = db.create_database(pgshift_server_url, name)
    yield url
    db.drop_database(pgshift_server_url, name)


class Sampler:
    """Counts, every few milliseconds, the target databases (``prefix``) with a pgshift session on a
    server. ``peak`` is the most seen in two samples in a row: a server process stays in
    pg_stat_activity for a moment after its client closed the connection, while the worker that
    closed it may already have opened the next target's, and a single sample can catch both."""

    def __init__(self, server_url: str, prefix: str):
        self.url, self.prefix, self.peak, self.samples = server_url, prefix, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        previous = 0
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.01):
                n = conn.execute("SELECT count(DISTINCT datname) FROM pg_stat_activity "
                                 "WHERE application_name LIKE 'pgshift%%' AND datname LIKE %s",
                                 (self.prefix + "\\_%",)).fetchone()[0]
                self.peak, self.samples = max(self.peak, min(n, previous)), self.samples + 1
                previous = n

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_200_databases_on_two_hosts_with_per_host_caps(tmp_path, two_hosts, control):
    host_a, host_b = two_hosts
    root = write_project(tmp_path / "p", THREE)
    urls = _databases(host_a, "fla", 100) + _databases(host_b, "flb", 100)
    if True:   # the servers go whole at the end of the module
        targets = _targets(tmp_path / "targets.txt", urls)
        project = api.open_project(root)
        with Sampler(host_a, "fla") as a, Sampler(host_b, "flb") as b:
            result = api.fleet_up(project, api.FleetOptions(targets=targets, control_url=control, parallel=8,
                                                            per_host=3))
        assert result.ok and len(result.applied) == 200, result.to_dict()
        assert result.status.converged and result.status.versions == {V3: 200}
        assert a.samples > 20 and b.samples > 20
        assert 2 <= a.peak <= 3 and 2 <= b.peak <= 3, (a.peak, b.peak)   # the cap, and work in parallel
        for url in (urls[0], urls[150]):
            assert [r[0] for r in query(url, "SELECT version FROM pgshift.migration_log WHERE status = 'completed' "
                                             "ORDER BY id")] == [V1, V2, V3]
        # nothing pending: one fingerprint query per target, no planning
        started = time.monotonic()
        again = api.fleet_up(project, api.FleetOptions(targets=targets, control_url=control, parallel=8,
                                                       rollout="again"))
        assert len(again.up_to_date) == 200 and not again.applied and again.status.converged
        assert time.monotonic() - started < 15
        assert scalar(urls[0], "SELECT count(*) FROM pgshift.migration_log") == 3


def _broken(url: str) -> None:
    """A target where the first migration fails: its table is there already."""
    query(url, "CREATE TABLE a (id int)")


def _fix(url: str) -> None:
    query(url, "DROP TABLE a")


def test_canary_failure_stops_before_the_next_stage_then_only_failed(tmp_path, pgshift_server_url, control):
    root = write_project(tmp_path / "p", THREE)
    urls = _databases(pgshift_server_url, "flc", 6)
    try:
        _broken(urls[0])
        lines = [f"{urls[0]} tier=canary"] + urls[1:]
        targets = _targets(tmp_path / "targets.txt", lines)
        cli = [sys.executable, "-m", "pgshift", "--project", str(root), "fleet", "up", "--targets", targets,
               "--control-url", control, "--stage", "tier=canary", "--rollout", "canary"]
        done = subprocess.run(cli, capture_output=True, text=True, env=clean_environ(), timeout=120)
        assert done.returncode == ExitCode.FAILED, done.stderr
        assert "rollout canary: stopped" in done.stdout
        status = api.fleet_status(api.open_project(root), control, "canary")
        assert status.state == "stopped" and not status.converged
        assert status.counts == {"pending": 5, "running": 0, "done": 0, "failed": 1}
        assert status.failed[0]["name"].endswith("flc_000") and "already exists" in status.failed[0]["error"]
        for url in urls[1:]:   # the next stage never started
            assert scalar(url, "SELECT to_regclass('pgshift.migration_log')") is None
        st = subprocess.run([sys.executable, "-m", "pgshift", "--project", str(root), "--json", "fleet", "status",
                             "--control-url", control], capture_output=True, text=True, env=clean_environ())
        assert st.returncode == ExitCode.FAILED and '"converged": false' in st.stdout
        # fixed: --only-failed finishes the parked canary; then the rest of the rollout
        _fix(urls[0])
        retried = subprocess.run(cli + ["--only-failed"], capture_output=True, text=True, env=clean_environ())
        assert retried.returncode == ExitCode.OK, retried.stdout + retried.stderr
        status = api.fleet_status(api.open_project(root), control, "canary")
        assert status.counts["failed"] == 0 and status.counts["done"] == 1 and status.counts["pending"] == 5
        rest = subprocess.run(cli, capture_output=True, text=True, env=clean_environ())
        assert rest.returncode == ExitCode.OK, rest.stdout + rest.stderr
        # through a pipe the progress ends on the last target, and the rollout says it is finished
        assert re.findall(r"^\d\d:\d\d:\d\d fleet: (\d)/5 targets, 0 failed$", rest.stderr, re.M)[-1] == "5", rest.stderr
        assert "rollout canary: finished" in rest.stdout, rest.stdout
        st = subprocess.run(st.args, capture_output=True, text=True, env=clean_environ())
        assert st.returncode == ExitCode.OK and '"converged": true' in st.stdout
    finally:
        _drop(pgshift_server_url, "flc", 6)


def test_a_budget_of_two_stops_at_the_third_failure(tmp_path, pgshift_server_url, control):
    root = write_project(tmp_path / "p", THREE)
    urls = _databases(pgshift_server_url, "fld", 8)
    try:
        for url in urls[:5]:
            _broken(url)
        targets = _targets(tmp_path / "targets.txt", urls)
        project = api.open_project(root)
        result = api.fleet_up(project, api.FleetOptions(targets=targets, control_url=control, parallel=1,
                                                        max_failures=2, rollout="budget"))
        assert len(result.failed) == 3 and not result.applied
        assert result.stopped and "over the failure budget of 2" in result.stopped
        assert result.status.counts == {"pending": 5, "running": 0, "done": 0, "failed": 3}
        # --continue-on-error parks the failures and migrates the rest
        more = api.fleet_up(project, api.FleetOptions(targets=targets, control_url=control, parallel=2,
                                                      continue_on_error=True, rollout="budget"))
        assert len(more.failed) == 2 and len(more.applied) == 3 and more.stopped is None
        assert more.status.counts["failed"] == 5 and more.status.counts["done"] == 3
        # a budget in percent of a stage: the stage runs, then the rollout stops (5 of 8 failed > 50%)
        rate = api.fleet_up(project, api.FleetOptions(targets=targets, control_url=control, parallel=2,
                                                      max_failures=100, max_failure_rate=50, rollout="rate"))
        assert len(rate.up_to_date) == 3 and len(rate.failed) == 5
        assert rate.stopped == "stage 1: 5 of 8 targets failed, over the budget of 50%"
    finally:
        _drop(pgshift_server_url, "fld", 8)


def test_two_workers_share_a_rollout_and_one_is_killed(tmp_path, pgshift_server_url, control):
    slow = {**THREE, f"{V2}_b.sql": "CREATE TABLE b (id int);\nSELECT pg_sleep(0.25);\n"}
    root = write_project(tmp_path / "p", slow)
    n = 30
    urls = _databases(pgshift_server_url, "fle", n)
    workers: list[subprocess.Popen] = []
    try:
        targets = _targets(tmp_path / "targets.txt", urls)
        cli = [sys.executable, "-m", "pgshift", "-q", "--project", str(root), "fleet", "up", "--targets", targets,
               "--control-url", control, "--rollout", "shared", "--parallel", "2", "--lease", "2s"]
        control_tables.open_control(control).close()   # the tables, for the polling below
        first = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_environ())
        second = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_environ())
        workers.extend((first, second))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:   # the first worker holds a target, and each has finished some
            rows = dict(query(control, "SELECT split_part(worker, ':', 2), count(*) FILTER (WHERE state = 'done') "
                                       "FROM pgshift_fleet.targets WHERE rollout = 'shared' AND worker IS NOT NULL "
                                       "GROUP BY 1"))
            holding = scalar(control, "SELECT count(*) FROM pgshift_fleet.targets WHERE rollout = 'shared' AND "
                                      "state = 'running' AND split_part(worker, ':', 2) = %s", (str(first.pid),))
            if holding and rows.get(str(first.pid), 0) >= 2 and rows.get(str(second.pid), 0) >= 2:
                break
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        out, err = second.communicate(timeout=90)
        assert second.returncode == 0, out.decode() + err.decode()
        rows = query(control, "SELECT split_part(worker, ':', 2), state, attempts FROM pgshift_fleet.targets "
                              "WHERE rollout = 'shared'")
        assert len(rows) == n and all(r[1] == "done" for r in rows)
        assert any(r[2] == 2 and r[0] == str(second.pid) for r in rows), rows   # taken over from the dead worker
        assert {r[0] for r in rows} == {str(first.pid), str(second.pid)}        # both did work: disjoint claims
        for url in urls:   # every target migrated exactly once
            done = query(url, "SELECT version, count(*) FROM pgshift.migration_log WHERE status = 'completed' "
                              "AND migration_type = 'migrate' GROUP BY version ORDER BY version")
            assert done == [(V1, 1), (V2, 1), (V3, 1)], (url, done)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        _drop(pgshift_server_url, "fle", n)


def test_one_hundred_tenant_schemas_in_one_database(tmp_path, pgshift_database, control):
    files = {f"{V1}_items.sql": "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n",
             f"{V2}_seed.sql": "INSERT INTO items VALUES (1, current_schema());\n"}
    root = write_project(tmp_path / "p", files)
    with pgshift_database.connect(autocommit=True) as conn:
        for i in range(100):
            conn.execute(f"CREATE SCHEMA tenant_{i:03d}")
    targets = _targets(tmp_path / "targets.txt",
                       [f"{pgshift_database.url} schema=tenant_{i:03d}" for i in range(100)])
    result = api.fleet_up(api.open_project(root), api.FleetOptions(targets=targets, control_url=control, parallel=6))
    assert result.ok and len(result.applied) == 100 and result.status.converged, result.to_dict()
    url = pgshift_database.url
    assert scalar(url, "SELECT to_regclass('public.items')") is None          # nothing outside the tenants
    assert scalar(url, "SELECT to_regclass('pgshift.migration_log')") is None
    for i in (0, 57, 99):
        schema = f"tenant_{i:03d}"
        assert query(url, f"SELECT id, name FROM {schema}.items") == [(1, schema)]   # its own rows only
        assert [r[0] for r in query(url, f"SELECT version FROM {schema}.migration_log WHERE status = 'completed' "
                                         "ORDER BY id")] == [V1, V2]
    # isolated: a change in one tenant is seen by no other
    query(url, "INSERT INTO tenant_001.items VALUES (2, 'x')")
    assert scalar(url, "SELECT count(*) FROM tenant_002.items") == 1


def test_sql_inventory_event_stream_and_a_protected_rollout(tmp_path, pgshift_server_url, control):
    """Targets from a query against a directory database; the JSON event stream; a protected
    environment confirmed once for the whole rollout, no backups by default."""
    config = '[pgshift]\n\n[env.prod]\nurl = "postgresql://nowhere.invalid/x"\nprotected = true\nbackup_dir = "bk"\n'
    root = write_project(tmp_path / "p", THREE, config)
    urls = _databases(pgshift_server_url, "flf", 3)
    try:
        query(control, "CREATE TABLE directory (url text, tier text)")
        for i, url in enumerate(urls):
            query(control, "INSERT INTO directory VALUES (%s, %s)", (url, "canary" if i == 0 else "rest"))
        cli = [sys.executable, "-m", "pgshift", "--project", str(root), "--env", "prod", "fleet", "up",
               "--targets-sql", "SELECT url, json_build_object('tier', tier) AS labels FROM directory",
               "--directory-url", control, "--control-url", control, "--stage", "tier=canary"]
        refused = subprocess.run(cli, capture_output=True, text=True, env=clean_environ())
        assert refused.returncode == ExitCode.REFUSED and "without confirmation" in refused.stderr
        assert all(scalar(url, "SELECT to_regclass('pgshift.migration_log')") is None for url in urls)
        events = tmp_path / "events.jsonl"
        done = subprocess.run(cli + ["--yes", "--events", str(events)], capture_output=True, text=True,
                              env=clean_environ())
        assert done.returncode == ExitCode.OK, done.stdout + done.stderr
        assert all(scalar(url, "SELECT count(*) FROM pgshift.migration_log") == 3 for url in urls)
        assert not (root / "bk").exists()   # no per-target backup unless --backup
        lines = [json.loads(line) for line in events.read_text().splitlines()]
        kinds = [e["kind"] for e in lines]
        assert kinds[0] == "info" or "fleet_started" in kinds
        finished = [e for e in lines if e["kind"] == "fleet_target_done"]
        assert len(finished) == 3 and {e["version"] for e in finished} == {V3}
        assert all(e["target"] and e["applied"] == 3 and e["duration_ms"] >= 0 for e in finished)
        assert [e["stage"] for e in lines if e["kind"] == "fleet_stage"] == [0, 1]
    finally:
        _drop(pgshift_server_url, "flf", 3)


def test_fleet_status_with_drift_names_a_drifted_target_and_is_not_converged(tmp_path, pgshift_server_url,
                                                                             control):
    root = write_project(tmp_path / "p", THREE)
    urls = _databases(pgshift_server_url, "fldr", 3)
    try:
        targets = _targets(tmp_path / "targets.txt", [f"{url} name=t{i}" for i, url in enumerate(urls)])
        project = api.open_project(root)
        api.fleet_up(project, api.FleetOptions(targets=targets, control_url=control, parallel=2, rollout="drift"))
        clean = api.fleet_status(project, control, "drift", drift=True)
        assert clean.converged and clean.drift_checked and clean.drifted == ()
        query(urls[1], "ALTER TABLE b ADD COLUMN by_hand int")        # a hand-made change on one target
        status = api.fleet_status(project, control, "drift", drift=True)
        assert [d["name"] for d in status.drifted] == ["t1"]
        assert not status.converged
        assert api.fleet_status(project, control, "drift").converged   # without --drift: the ledgers alone
        from conftest import run_cli

        cli = run_cli("--json", "fleet", "status", "--drift", "--control-url", control, "--rollout", "drift",
                      "--project", str(root))
        assert cli.code == 1 and json.loads(cli.out)["drifted"][0]["name"] == "t1", cli.all
    finally:
        _drop(pgshift_server_url, "fldr", 3)


def _on_a_terminal(args: list[str], columns: int = 120, timeout: float = 120) -> tuple[int, str]:
    """Run *args* with stdin, stdout and stderr on a pseudo-terminal of *columns* columns, as a user's
    shell would: (exit code, everything the terminal received, escape sequences included)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env=clean_environ({"TERM": "xterm-256color"}))
    os.close(slave)
    received = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # EIO: the child closed the terminal
            break
        if not chunk:
            break
        received.append(chunk)
    os.close(master)
    return proc.wait(timeout), b"".join(received).decode("utf-8", "replace")


def _visible(raw: str) -> list[str]:
    """What the terminal drew, line by line and redraw by redraw (``\\r``), colours and cursor moves removed."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    return [piece.rstrip() for line in plain.split("\n") for piece in line.split("\r") if piece.strip()]


def test_fleet_up_on_a_terminal_shows_the_targets_done_and_failed_as_they_finish(tmp_path, pgshift_server_url,
                                                                                 control):
    root = write_project(tmp_path / "p", THREE)
    urls = _databases(pgshift_server_url, "fltty", 3)
    try:
        _broken(urls[1])
        targets = _targets(tmp_path / "targets.txt", [f"{url} name=t{i}" for i, url in enumerate(urls)])
        code, raw = _on_a_terminal([sys.executable, "-m", "pgshift", "--project", str(root), "fleet", "up",
                                    "--targets", targets, "--control-url", control, "--continue-on-error",
                                    "--rollout", "tty"])
        lines = _visible(raw)
        assert code == ExitCode.FAILED, lines
        bars = [line for line in lines if line.startswith("targets ")]
        assert "━" in raw and bars, lines                      # a live bar was drawn
        progress = [(re.search(r"\((\d+) failed\)", bar), re.search(r" (\d+)/3 ", bar)) for bar in bars]
        assert all(done for _, done in progress), bars
        counts = [(int(failed.group(1)) if failed else 0, int(done.group(1))) for failed, done in progress]
        assert counts[0] == (0, 0) and counts[-1] == (1, 3), bars   # from none done to all, one of them failed
        assert counts == sorted(counts), bars                        # it only moves forward
        failure = lines.index('t1: failed: statement 1 of 1 failed: relation "a" already exists [SQLSTATE 42P07]')
        assert lines.index(bars[-1]) > failure                       # the failure is printed above the bar
        summary = lines[lines.index("rollout tty: this worker applied 2, up to date 0, failed 1"):]
        assert summary[1:3] == ["rollout tty: finished", "targets: 0 pending, 0 running, 2 done, 1 failed"]
        assert summary[-1] == "not converged: 1 target(s) not at 20250101000003"
        assert "━" not in raw[raw.index("rollout tty: this worker"):]   # the bar is gone before the summary
        # the same rollout in a pipe (CI): no bar, a plain progress line on stderr
        _fix(urls[1])
        piped = subprocess.run([sys.executable, "-m", "pgshift", "--project", str(root), "fleet", "up",
                                "--targets", targets, "--control-url", control, "--only-failed",
                                "--rollout", "tty"], capture_output=True, text=True, env=clean_environ(),
                               timeout=120)
        assert piped.returncode == ExitCode.OK, piped.stdout + piped.stderr
        assert "━" not in piped.stderr + piped.stdout
        assert re.search(r"^\d\d:\d\d:\d\d fleet: 1/1 targets, 0 failed$", piped.stderr, re.M), piped.stderr
        assert "converged: every target is at 20250101000003" in piped.stdout
    finally:
        _drop(pgshift_server_url, "fltty", 3)


def _protected_note_rollout(tmp_path, server_url: str, control: str, prefix: str, rollout: str, settings: str):
    """Three targets (t0..t2, databases *prefix*_000..002, each with a table accounts) and a project
    whose protected environment (with *settings*) adds a column to it: (root, urls, the fleet up line)."""
    files = {f"{V1}_note.sql": "ALTER TABLE accounts ADD COLUMN note text;\n"}
    config = '[pgshift]\n\n[env.prod]\nurl = "postgresql://nowhere.invalid/x"\nprotected = true\n' + settings
    root = write_project(tmp_path / "p", files, config)
    urls = _databases(server_url, prefix, 3)
    for url in urls:
        query(url, "CREATE TABLE accounts (id int PRIMARY KEY)")
    targets = _targets(tmp_path / "targets.txt", [f"{url} name=t{i}" for i, url in enumerate(urls)])
    cli = [sys.executable, "-m", "pgshift", "--project", str(root), "--env", "prod", "fleet", "up",
           "--targets", targets, "--control-url", control, "--continue-on-error", "--rollout", rollout, "--yes"]
    return root, urls, cli


def _has_note(url: str) -> bool:
    return scalar(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' "
                       "AND column_name = 'note'") == 1


def test_a_protected_rollout_applies_the_environments_lock_timeout_on_each_target(tmp_path, pgshift_server_url,
                                                                                  control):
    """Per target, a protected environment's lock_timeout holds: the target whose table another
    session holds fails within it, SQLSTATE 55P03 named, and parks; the others are migrated."""
    try:
        root, urls, cli = _protected_note_rollout(
            tmp_path, pgshift_server_url, control, "fllk", "locked",
            'lock_timeout = "500ms"\n'     # not the protected default (2 s), nor none
            'lock_retries = 1\nblocker_wait = "0s"\n')   # one attempt, at once: the timeout alone decides
        with psycopg.connect(urls[1]) as holder:       # an application's open transaction on t1's table
            holder.execute("LOCK TABLE accounts IN ACCESS SHARE MODE")
            done = subprocess.run(cli, capture_output=True, text=True, env=clean_environ(), timeout=120)
            still_held = scalar(urls[1], "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                         "WHERE c.relname = 'accounts' AND l.granted AND l.pid = %s",
                                (holder.info.backend_pid,))
        assert still_held == 1                          # the lock was there all along: only the timeout ended the wait
        assert done.returncode == ExitCode.FAILED, done.stdout + done.stderr
        assert ("failed t1 (stage 1, attempt 1): statement 1 of 1 failed: canceling statement due to lock timeout "
                "[SQLSTATE 55P03]") in done.stdout
        assert "targets: 0 pending, 0 running, 2 done, 1 failed" in done.stdout
        assert "ERROR t1: failed:" in done.stderr and "SQLSTATE 55P03" in done.stderr
        rows = {i: query(url, "SELECT version, status, error, extract(epoch FROM completed_at - started_at) "
                              "FROM pgshift.migration_log") for i, url in enumerate(urls)}
        assert [r[:3] for r in rows[0]] == [r[:3] for r in rows[2]] == [(V1, "completed", None)]
        ((version, state, error, waited),) = rows[1]
        assert (version, state) == (V1, "failed") and "[SQLSTATE 55P03]" in error
        assert 0.45 <= float(waited) < 1.9, waited     # the environment's 500 ms, not the protected default of 2 s
        assert not _has_note(urls[1])
        assert all(_has_note(urls[i]) for i in (0, 2))
        status = api.fleet_status(api.open_project(root, env="prod"), control, "locked")
        assert [(f["name"], "55P03" in f["error"]) for f in status.failed] == [("t1", True)]
    finally:
        _drop(pgshift_server_url, "fllk", 3)


def test_a_protected_rollout_runs_the_preflight_checks_on_each_target(tmp_path, pgshift_server_url, control):
    """Per target, a protected environment's preflight holds: the target with a transaction older than
    the threshold is refused before anything of it changes, and parks; the others are migrated."""
    try:
        root, urls, cli = _protected_note_rollout(tmp_path, pgshift_server_url, control, "flpf", "checked",
                                                  "checks = { long_transaction_seconds = 1 }\n")
        with psycopg.connect(urls[2], application_name="old-report") as old:   # an open transaction on t2
            old.execute("SELECT count(*) FROM accounts")
            time.sleep(1.5)
            done = subprocess.run(cli, capture_output=True, text=True, env=clean_environ(), timeout=120)
        assert done.returncode == ExitCode.FAILED, done.stdout + done.stderr
        assert "targets: 0 pending, 0 running, 2 done, 1 failed" in done.stdout
        status = api.fleet_status(api.open_project(root, env="prod"), control, "checked")
        (failed,) = status.failed
        assert failed["name"] == "t2" and "preflight check failed in protected environment 'prod'" in failed["error"]
        assert "old-report" in failed["error"], failed["error"]
        assert scalar(urls[2], "SELECT to_regclass('pgshift.migration_log')") is None or \
            scalar(urls[2], "SELECT count(*) FROM pgshift.migration_log") == 0     # nothing of it ran
        assert not _has_note(urls[2])
        assert all(_has_note(urls[i]) for i in (0, 1))
    finally:
        _drop(pgshift_server_url, "flpf", 3)
