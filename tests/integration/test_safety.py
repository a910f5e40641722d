"""Protected environments end to end: preflight checks, backups, confirmation, restore,
the promotion path. Against the real server, through the CLI as a user runs it."""
from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import time
import uuid

import psycopg
import pytest
from conftest import ledger_rows, query, run_cli, scalar

from pgshift import embedded
from pgshift.errors import OperationError

V1 = "20250101000001"
V2 = "20250101000002"
FILES = {
    f"{V1}_create_accounts.sql": """
        CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
        CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_idx ON accounts (email);
    """,
    f"{V2}_create_notes.sql": """
        CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint, body text);
    """,
    f"rollbacks/{V1}_rollback_create_accounts.sql": "DROP TABLE accounts;\n",
    f"rollbacks/{V2}_rollback_create_notes.sql": "DROP TABLE notes;\n",
}
# CREATE INDEX CONCURRENTLY puts V1 in no-transaction mode; keep V1 simple instead:
FILES[f"{V1}_create_accounts.sql"] = """
    CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
    INSERT INTO accounts (email) VALUES ('a@example.com'), ('b@example.com');
"""


def prod_config(extra: str = "") -> str:
    return ("[pgshift]\n\n[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\nbackup_dir = \"backups\"\n"
            + extra)


@pytest.fixture
def second_database(pgshift_new_database):
    return pgshift_new_database


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- confirmation and the backup -------------------------------------------------------------

def test_protected_up_without_yes_and_no_terminal_refuses_before_any_backup(project, pgshift_database_url):
    root = project(FILES, prod_config())
    result = run_cli("--env", "prod", "up", "--project", str(root), env={"PROD_URL": pgshift_database_url})
    assert result.code == 3, result.all
    assert "without confirmation" in result.err and "--yes" in result.err
    assert "no backup was taken" in result.err
    # the checks ran and are visible; nothing was applied; no backup, whole or partial
    assert "preflight" in result.err and "active_connections" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None
    # "nothing was changed": not even the ledger's schema was created
    assert scalar(pgshift_database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgshift'") == 0
    assert files_in(root / "backups") == []


def test_a_refused_protected_run_creates_no_ledger(project, pgshift_database_url):
    root = project(FILES, prod_config("checks = { active_connections = -1 }\n"))   # always fails
    env = {"PROD_URL": pgshift_database_url}
    stopped = run_cli("--env", "prod", "up", "--yes", "--project", str(root), env=env)
    assert stopped.code == 3, stopped.all
    assert "active_connections" in stopped.err and "nothing was changed" in stopped.err
    assert scalar(pgshift_database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgshift'") == 0
    # once the checks pass, the run creates the ledger and records its work
    (root / "pgshift.toml").write_text(prod_config())
    applied = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root), env=env)
    assert applied.code == 0, applied.all
    assert [r[:3] for r in ledger_rows(pgshift_database_url)] == [(V1, "migrate", "completed"),
                                                                   (V2, "migrate", "completed")]


def test_protected_up_with_yes_takes_a_private_verified_backup_first(project, pgshift_database_url):
    root = project(FILES, prod_config())
    env = {"PROD_URL": pgshift_database_url}
    # a first version, applied without a backup, so the backup of the second has something in it
    first = run_cli("--env", "prod", "up", "--target", V1, "--yes", "--no-backup", "--project", str(root), env=env)
    assert first.code == 0, first.all
    assert "no pre-migration backup: --no-backup" in first.err
    assert files_in(root / "backups") == []

    result = run_cli("--env", "prod", "up", "--yes", "--project", str(root), env=env)
    assert result.code == 0, result.all
    err = result.err
    # in order: checks, backup, confirmation, the work
    order = [err.index("preflight checks"), err.index("backup written"), err.index("confirmed by --yes"),
             err.index("migrate migrations/20250101000002_create_notes.sql")]
    assert order == sorted(order), err
    names = files_in(root / "backups")
    assert len(names) == 2, names
    dump = root / "backups" / next(n for n in names if n.endswith(".dump"))
    assert dump.name.startswith("prod_") and dump.name.endswith("_pre_migration.dump")
    assert (root / "backups" / f"{dump.name}.sha256").exists()
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "backups" / f"{dump.name}.sha256").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "backups").stat().st_mode) == 0o700
    digest = (root / "backups" / f"{dump.name}.sha256").read_text().split()
    assert digest == [hashlib.sha256(dump.read_bytes()).hexdigest(), dump.name]
    assert dump.read_bytes()[:5] == b"PGDMP"   # custom format
    listing = subprocess.run([embedded.tool("pg_restore"), "--list", str(dump)], capture_output=True, text=True)
    assert listing.returncode == 0 and "TABLE public accounts" in listing.stdout
    assert "notes" not in listing.stdout  # taken before the migration ran
    assert scalar(pgshift_database_url, "SELECT to_regclass('notes')") is not None


def test_protected_rollback_takes_an_emergency_backup_first(project, pgshift_database_url):
    root = project(FILES, prod_config())
    env = {"PROD_URL": pgshift_database_url}
    assert run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root), env=env).code == 0

    refused = run_cli("--env", "prod", "rollback", V2, "--project", str(root), env=env)
    assert refused.code == 3, refused.all
    assert files_in(root / "backups") == []
    assert scalar(pgshift_database_url, "SELECT to_regclass('notes')") is not None

    result = run_cli("--env", "prod", "rollback", V2, "--yes", "--project", str(root), env=env)
    assert result.code == 0, result.all
    err = result.err
    order = [err.index("preflight checks"), err.index("emergency backup written"), err.index("confirmed by --yes")]
    assert order == sorted(order), err
    dumps = list((root / "backups").glob("*.dump"))
    assert [d.name.split("_", 3)[3] for d in dumps] == [f"emergency_rollback_{V2}.dump"]
    assert stat.S_IMODE(dumps[0].stat().st_mode) == 0o600
    listing = subprocess.run([embedded.tool("pg_restore"), "--list", str(dumps[0])], capture_output=True, text=True)
    assert "TABLE public notes" in listing.stdout      # taken before the rollback dropped it
    assert scalar(pgshift_database_url, "SELECT to_regclass('notes')") is None


def test_failed_preflight_check_stops_with_exit_3_and_its_name(project, pgshift_database_url):
    root = project(FILES, prod_config("checks = { active_connections = -1 }\n"))
    result = run_cli("--json", "--env", "prod", "up", "--yes", "--project", str(root),
                     env={"PROD_URL": pgshift_database_url})
    assert result.code == 3, result.all
    assert "preflight check failed" in result.err and "active_connections" in result.err
    error = json.loads(result.out)
    assert error["exit_code"] == 3 and error["details"]["failed"] == ["active_connections"]
    assert {c["name"]: c["status"] for c in error["details"]["checks"]}["connection"] == "ok"
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None
    assert files_in(root / "backups") == []


def test_a_long_transaction_fails_the_check_naming_its_pid(project, pgshift_database_url):
    query(pgshift_database_url, "CREATE TABLE busy (id int)")
    root = project(FILES, prod_config("checks = { long_transaction_seconds = 0.5 }\n"))
    with psycopg.connect(pgshift_database_url, application_name="report-job") as holder:
        holder.execute("SELECT count(*) FROM busy")   # a transaction stays open, holding a lock on busy
        time.sleep(1.0)
        pid = holder.info.backend_pid
        result = run_cli("--env", "prod", "up", "--yes", "--project", str(root),
                         env={"PROD_URL": pgshift_database_url})
        check = run_cli("--json", "--env", "prod", "check", "--project", str(root),
                        env={"PROD_URL": pgshift_database_url})
    assert result.code == 3, result.all
    assert "long_transactions" in result.err
    assert f"pid {pid} (report-job, idle in transaction" in result.err
    assert "holds locks on busy" in result.err and "SELECT count(*) FROM busy" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None
    assert check.code == 3, check.all
    report = json.loads(check.out)
    assert report["ok"] is False and report["failed"] == ["long_transactions"]


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


def test_invalid_index_and_prepared_checks(project, pgshift_database_url):
    from pgshift import api
    from pgshift.commands import safety as commands

    query(pgshift_database_url, "CREATE TABLE t (v int); INSERT INTO t VALUES (1), (1)")
    with pytest.raises(psycopg.Error):
        query(pgshift_database_url, "CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)")
    root = project({}, prod_config())
    report = commands.check(api.open_project(root, "prod", pgshift_database_url))
    checks = {c.name: c for c in report.checks}
    assert not report.ok and [c.name for c in report.failed] == ["invalid_indexes"]
    assert "t_v_key on t" in checks["invalid_indexes"].message
    assert "DROP INDEX CONCURRENTLY t_v_key" in checks["invalid_indexes"].message
    assert checks["prepared_transactions"].status == "ok"


def test_disk_of_a_remote_server_is_not_measured_and_says_so(project, pgshift_database_url):
    from pgshift.safety import preflight

    class Env:
        name = "prod"
        checks: dict = {}

    class FakeInfo:
        host = "db.example.com"

    class Conn:   # only conn.info.host is read before it decides it cannot measure
        info = FakeInfo()

    result = preflight.check_disk_usage(Conn(), Env())
    assert result.status == "warn"
    assert "cannot be measured: the server is not on this machine (host db.example.com)" in result.message


def test_checks_can_be_turned_off_and_bad_keys_are_config_errors(project, pgshift_database_url):
    root = project(FILES, prod_config("checks = { invalid_indexes = false, active_conections = 3 }\n"))
    result = run_cli("--env", "prod", "check", "--project", str(root), env={"PROD_URL": pgshift_database_url})
    assert result.code == 2, result.all
    assert "unknown key 'active_conections'" in result.err
    root2 = project(FILES, prod_config("checks = { invalid_indexes = false }\n"), name="p2")
    ok = run_cli("--json", "--env", "prod", "check", "--project", str(root2), env={"PROD_URL": pgshift_database_url})
    assert {c["name"]: c["status"] for c in json.loads(ok.out)["checks"]}["invalid_indexes"] == "skip"


# --- restore, checksum, retention ------------------------------------------------------------------

def test_restore_of_the_pre_migration_backup_gives_the_same_schema(project, pgshift_database_url,
                                                                    second_database):
    from pgshift.rehearsal import diff as snapshot_diff
    from pgshift.rehearsal import snapshot

    root = project(FILES, prod_config())
    env = {"PROD_URL": pgshift_database_url}
    assert run_cli("--env", "prod", "up", "--target", V1, "--yes", "--no-backup", "--project", str(root),
                   env=env).code == 0
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        before = snapshot.take(conn)
    result = run_cli("--env", "prod", "up", "--yes", "--project", str(root), env=env)
    assert result.code == 0, result.all
    dump = next((root / "backups").glob("*.dump"))

    target = second_database()
    restored = run_cli("restore", str(dump), "--database-url", target, "--project", str(root))
    assert restored.code == 0, restored.all
    with psycopg.connect(target, autocommit=True) as conn:
        after = snapshot.take(conn)
    assert snapshot_diff.diff(before, after) == []
    assert scalar(target, "SELECT count(*) FROM accounts") == 2
    assert scalar(target, "SELECT to_regclass('notes')") is None
    # the ledger came back too: the restored database knows V1 is applied and V2 is not
    assert [r[0] for r in ledger_rows(target)] == [V1]


def test_backup_and_restore_commands_round_trip(project, pgshift_database_url, second_database, tmp_path):
    from pgshift.rehearsal import diff as snapshot_diff
    from pgshift.rehearsal import snapshot

    root = project(FILES)
    assert run_cli("up", "--project", str(root), "--database-url", pgshift_database_url).code == 0
    out = tmp_path / "manual.dump"
    made = run_cli("--json", "backup", "--out", str(out), "--project", str(root), "--database-url",
                   pgshift_database_url)
    assert made.code == 0, made.all
    info = json.loads(made.out)
    assert info["path"] == str(out) and info["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = run_cli("backup", "--out", str(out), "--project", str(root), "--database-url", pgshift_database_url)
    assert again.code == 2 and "does not overwrite" in again.err

    target = second_database()
    restored = run_cli("restore", str(out), "--database-url", target)
    assert restored.code == 0, restored.all
    with psycopg.connect(pgshift_database_url, autocommit=True) as a, psycopg.connect(target, autocommit=True) as b:
        assert snapshot_diff.diff(snapshot.take(a), snapshot.take(b)) == []

    # a damaged backup is refused before anything is restored
    data = bytearray(out.read_bytes())
    data[-10] ^= 0xFF
    out.write_bytes(bytes(data))
    other = second_database()
    refused = run_cli("restore", str(out), "--database-url", other)
    assert refused.code == 1
    assert "does not match its checksum" in refused.err
    assert scalar(other, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace") == 0


def test_retention_keeps_the_newest_per_environment(project, pgshift_database_url):
    from pgshift import api
    from pgshift.safety import backup as backup_mod
    from pgshift.commands import safety as commands

    root = project(FILES, prod_config("backup_retention = 2\n"))
    folder = root / "backups"
    folder.mkdir()
    # another environment's backup and a file of the user's are never touched
    (folder / "staging_20200101_000000_pre_migration.dump").write_text("x")
    (folder / "notes.txt").write_text("x")
    proj = api.open_project(root, "prod", pgshift_database_url)
    made = [commands.backup(proj).path for _ in range(3)]
    kept = backup_mod.existing_backups(folder, "prod")
    assert [str(p) for p in kept] == made[:0:-1]   # the two newest, newest first
    assert (folder / "staging_20200101_000000_pre_migration.dump").exists() and (folder / "notes.txt").exists()
    assert not any(folder.glob(".*partial*"))
    assert sorted(p.name for p in folder.glob("prod_*.sha256")) == sorted(f"{p.name}.sha256" for p in kept)


def fake_pg_dump(folder, body: str):
    """A pg_dump that claims to be new (so it is chosen) and misbehaves as *body* says."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "pg_dump"
    script.write_text("#!/bin/sh\n"
                      "if [ \"$1\" = \"--version\" ]; then echo 'pg_dump (PostgreSQL) 99.0'; exit 0; fi\n"
                      + body)
    script.chmod(0o755)
    return folder


def test_a_failed_backup_stops_the_run_and_leaves_no_file(project, pgshift_database_url, tmp_path):
    bindir = fake_pg_dump(tmp_path / "bin", "head -c 4096 /dev/zero\necho 'pg_dump: error: disk on fire' >&2\n"
                                            "exit 1\n")
    root = project(FILES, prod_config())
    result = run_cli("--env", "prod", "up", "--yes", "--project", str(root),
                     env={"PROD_URL": pgshift_database_url, "PGSHIFT_PG_BINDIR": str(bindir)})
    assert result.code == 1, result.all
    assert "pre-migration backup failed: pg_dump exited with 1: pg_dump: error: disk on fire" in result.err
    assert files_in(root / "backups") == []          # not even the hidden partial file
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None


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


def test_pg_dump_too_old_for_the_server_is_explained():
    from pgshift.safety import backup as backup_mod

    with pytest.raises(OperationError) as info:
        backup_mod.find_tool("pg_dump", 99)
    assert "must be at least as new as the server" in info.value.message
    assert "is 18." in info.value.message            # it names what it found
    assert "PGSHIFT_PG_BINDIR" in info.value.hint
    assert backup_mod.find_tool("pg_dump", 18).major >= 18


def test_the_password_travels_in_the_environment_only():
    from pgshift.safety import backup as backup_mod

    env, args = backup_mod.child_env("postgresql://app:s3cret%21@db.example.com:6543/shop?sslmode=require"
                                     "&keepalives=1")
    assert env["PGPASSWORD"] == "s3cret!" and env["PGHOST"] == "db.example.com" and env["PGPORT"] == "6543"
    assert env["PGUSER"] == "app" and env["PGDATABASE"] == "shop" and env["PGSSLMODE"] == "require"
    assert args and all("s3cret" not in a for a in args)   # keepalives has no variable: a --dbname conninfo
    assert "keepalives=1" in args[0]


# --- the promotion path ----------------------------------------------------------------------------------

def test_require_applied_in_refuses_a_version_staging_lacks(project, pgshift_database_url, second_database):
    staging = pgshift_database_url
    prod = second_database()
    config = ("[pgshift]\n\n[env.staging]\nurl = \"${STAGING_URL}\"\n\n"
              "[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\nrequire_applied_in = \"staging\"\n")
    root = project(FILES, config)
    env = {"STAGING_URL": staging, "PROD_URL": prod}
    assert run_cli("--env", "staging", "up", "--target", V1, "--project", str(root), env=env).code == 0

    refused = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root), env=env)
    assert refused.code == 3, refused.all
    assert "not applied in 'staging'" in refused.err and V2 in refused.err
    assert V1 not in refused.err.split("requires first:")[1].split("\n")[0]
    assert scalar(prod, "SELECT to_regclass('accounts')") is None

    # what staging has is allowed
    assert run_cli("--env", "prod", "up", "--target", V1, "--yes", "--no-backup", "--project", str(root),
                   env=env).code == 0
    assert run_cli("--env", "staging", "up", "--project", str(root), env=env).code == 0
    ok = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root), env=env)
    assert ok.code == 0, ok.all
    assert [r[0] for r in ledger_rows(prod)] == [V1, V2]


def test_require_applied_in_reads_the_named_environments_own_url(project, pgshift_database_url, second_database):
    """PGSHIFT_DATABASE_URL, DATABASE_URL and --database-url name the environment being deployed;
    the environment checked is read through its own configured url."""
    staging = pgshift_database_url
    prod = second_database()
    config = ("[pgshift]\n\n[env.staging]\nurl = \"${STAGING_URL}\"\n\n"
              "[env.prod]\nprotected = true\nrequire_applied_in = \"staging\"\n")
    root = project(FILES, config)
    assert run_cli("--env", "staging", "up", "--target", V1, "--project", str(root),
                   env={"STAGING_URL": staging}).code == 0

    for env in ({"STAGING_URL": staging, "PGSHIFT_DATABASE_URL": prod}, {"STAGING_URL": staging, "DATABASE_URL": prod}):
        refused = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root), env=env)
        assert refused.code == 3, refused.all
        assert f"not applied in 'staging', which 'prod' requires first: {V2}" in refused.err
    ok = run_cli("--env", "prod", "up", "--target", V1, "--yes", "--no-backup", "--project", str(root),
                 env={"STAGING_URL": staging, "PGSHIFT_DATABASE_URL": prod})
    assert ok.code == 0, ok.all
    flag = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root), "--database-url", prod,
                   env={"STAGING_URL": staging})
    assert flag.code == 3 and f"requires first: {V2}" in flag.err, flag.all
    assert [r[0] for r in ledger_rows(prod)] == [V1]
    assert [r[0] for r in ledger_rows(staging)] == [V1]


def test_require_applied_in_an_environment_without_a_url_is_a_config_error(project, pgshift_database_url):
    def config(staging: str) -> str:
        return (f"[pgshift]\n\n[env.staging]\n{staging}\n"
                "[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\nrequire_applied_in = \"staging\"\n")

    root = project(FILES, config(""))
    # the deployed environment's DATABASE_URL is not where staging's ledger is
    result = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root),
                     env={"PROD_URL": pgshift_database_url, "DATABASE_URL": pgshift_database_url})
    assert result.code == 2, result.all
    assert "require_applied_in names 'staging', which has no url of its own" in result.err
    assert "set url in [env.staging]" in result.err

    (root / "pgshift.toml").write_text(config('url = "${STAGING_URL}"\n'))
    unset = run_cli("--env", "prod", "up", "--yes", "--no-backup", "--project", str(root),
                    env={"PROD_URL": pgshift_database_url})
    assert unset.code == 2, unset.all
    assert "environment variable STAGING_URL is not set" in unset.err
    assert "require_applied_in" in unset.err and "--database-url" not in unset.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None

# --- the library: a confirm callback, and the safety steps in the result (needs api to pass can_confirm) ---

def test_library_caller_confirms_with_a_callback_and_gets_the_safety_steps(project, pgshift_database_url):
    from pgshift import api
    from pgshift.errors import SafetyRefusal
    from pgshift.events import RecordingReporter

    root = project(FILES, prod_config())
    rec = RecordingReporter()
    proj = api.open_project(root, "prod", pgshift_database_url, reporter=rec)
    asked = []

    def decline(prompt, word):
        asked.append((prompt, word))
        return False

    with pytest.raises(SafetyRefusal):
        api.up(proj, api.UpOptions(), confirm=decline)
    assert asked and asked[0][1] == "prod"
    # declined after the backup: the backup is whole (checksum beside it), nothing applied
    assert len(files_in(root / "backups")) == 2
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None

    result = api.up(proj, api.UpOptions(), confirm=lambda prompt, word: word == "prod")
    assert [s.version for s in result.run.steps] == [V1, V2]
    data = result.to_dict()
    assert [c["name"] for c in data["safety"]["checks"]][:2] == ["connection", "active_connections"]
    assert data["safety"]["backup"]["path"].endswith("_pre_migration.dump")
    kinds = rec.kinds()
    assert kinds.index("check") < kinds.index("backup") < kinds.index("confirm") < kinds.index("file_started")


def test_a_failed_migration_names_the_backup_taken_before_it(project, pgshift_database_url):
    files = dict(FILES)
    files[f"{V2}_create_notes.sql"] = "CREATE TABLE notes (id int);\nSELECT no_such_column FROM notes;\n"
    root = project(files, prod_config())
    result = run_cli("--json", "--env", "prod", "up", "--yes", "--project", str(root),
                     env={"PROD_URL": pgshift_database_url})
    assert result.code == 1, result.all
    dump = next((root / "backups").glob("*.dump"))
    assert f"the backup taken before this run: {dump}" in result.err
    assert json.loads(result.out)["details"]["backup"] == str(dump)


def test_the_monitor_does_not_count_the_migrations_own_session(project, pgshift_database_url):
    root = project({f"{V1}_slow.sql": "CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n"})
    result = run_cli("up", "--monitor", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    reports = [line for line in result.err.splitlines() if "monitor: " in line]
    assert reports, result.err
    # nothing else is connected: neither the migration's backend nor the monitor's is "other"
    assert all("monitor: 0 other active connection(s)" in line for line in reports), reports
