"""Protected environments as a process: the check table and its --json, and Ctrl-C in the middle
of a backup. Their behaviour is tested in-process in tests/integration/test_safety.py."""
from __future__ import annotations

import json
import subprocess
import time

from conftest import fake_pg_dump, run_cli, scalar

V1 = "20250101000001"
FILES = {f"{V1}_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"}


def prod_config(extra: str = "") -> str:
    return ("[pgshift]\n\n[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\nbackup_dir = \"backups\"\n"
            + extra)


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_check_command_and_its_json(project, pgshift_database_url):
    root = project(FILES, prod_config())
    result = run_cli("--env", "prod", "check", "--project", str(root), env={"PROD_URL": pgshift_database_url})
    assert result.code == 0, result.all
    for name in ("connection", "active_connections", "disk_usage", "long_transactions", "invalid_indexes",
                 "prepared_transactions", "replica_lag", "backup_tool"):
        assert name in result.out
    as_json = run_cli("--json", "--env", "prod", "check", "--project", str(root),
                      env={"PROD_URL": pgshift_database_url})
    report = json.loads(as_json.out)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is True
    assert checks["active_connections"]["threshold"] == 10
    # the test server runs on this machine: its disk can be measured
    assert checks["disk_usage"]["status"] == "ok" and checks["disk_usage"]["threshold"] == 80
    assert 0 < checks["disk_usage"]["figure"] < 100
    assert checks["long_transactions"]["threshold"] == 300
    assert checks["backup_tool"]["details"]["pg_dump_version"].startswith("18")


def test_an_interrupted_backup_leaves_no_file(project, pgshift_database_url, tmp_path):
    import os
    import signal
    import sys

    bindir = fake_pg_dump(tmp_path / "bin", "head -c 4096 /dev/zero\nexec sleep 30\n")
    root = project(FILES, prod_config())
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGSHIFT_DATABASE_URL")}
    env.update(PROD_URL=pgshift_database_url, PGSHIFT_PG_BINDIR=str(bindir))
    proc = subprocess.Popen([sys.executable, "-m", "pgshift", "--env", "prod", "up", "--yes", "--project", str(root)],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while not any((root / "backups").glob(".*partial*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any((root / "backups").glob(".*partial*")), "the backup never started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)                    # Ctrl-C in the middle of pg_dump
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert files_in(root / "backups") == []
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None
