"""Protected environments: preflight checks, backups, confirmation, restore, the promotion
path. Against the real server, through the library in-process; the check table and Ctrl-C
during a backup are in tests/e2e/test_cli_safety.py."""
from __future__ import annotations

import hashlib
import stat
import subprocess
import time

import psycopg
import pytest

from conftest import call, fails, fake_pg_dump, ledger_rows, open_project, query, raises, scalar, up, up_fails
from pgshift import api, embedded
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


def prod(url: str) -> dict:
    """The environment of a prod run (for `environ=`): PROD_URL."""
    return {"PROD_URL": url}


# --- confirmation and the backup -------------------------------------------------------------

def test_protected_up_without_yes_and_no_terminal_refuses_before_any_backup(project, pgshift_database_url):
    root = project(FILES, prod_config())
    err, events = up_fails(3, root, env="prod", environ=prod(pgshift_database_url))   # no --yes, no confirm callback
    assert "without confirmation" in err.message and "--yes" in err.hint
    assert "no backup was taken" in err.hint
    # the checks ran and are visible; nothing was applied; no backup, whole or partial
    assert "preflight" in events.text and "active_connections" in events.text
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None
    # "nothing was changed": not even the ledger's schema was created
    assert scalar(pgshift_database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgshift'") == 0
    assert files_in(root / "backups") == []


def test_a_refused_protected_run_creates_no_ledger(project, pgshift_database_url):
    root = project(FILES, prod_config("checks = { active_connections = -1 }\n"))   # always fails
    env = prod(pgshift_database_url)
    stopped, _ = up_fails(3, root, env="prod", environ=env, yes=True)
    assert "active_connections" in stopped.message and "nothing was changed" in stopped.hint
    assert scalar(pgshift_database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgshift'") == 0
    # once the checks pass, the run creates the ledger and records its work
    (root / "pgshift.toml").write_text(prod_config())
    up(root, env="prod", environ=env, yes=True, no_backup=True)
    assert [r[:3] for r in ledger_rows(pgshift_database_url)] == [(V1, "migrate", "completed"),
                                                                   (V2, "migrate", "completed")]


def test_protected_up_with_yes_takes_a_private_verified_backup_first(project, pgshift_database_url):
    root = project(FILES, prod_config())
    env = prod(pgshift_database_url)
    # a first version, applied without a backup, so the backup of the second has something in it
    _, first = up(root, env="prod", environ=env, target=V1, yes=True, no_backup=True)
    assert "no pre-migration backup: --no-backup" in first.text
    assert files_in(root / "backups") == []

    _, events = up(root, env="prod", environ=env, yes=True)
    err = events.text
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
    env = prod(pgshift_database_url)
    up(root, env="prod", environ=env, yes=True, no_backup=True)

    fails(3, api.rollback, root, None, V2, env="prod", environ=env)
    assert files_in(root / "backups") == []
    assert scalar(pgshift_database_url, "SELECT to_regclass('notes')") is not None

    _, events = call(api.rollback, root, None, V2, api.RollbackOptions(yes=True), env="prod", environ=env)
    err = events.text
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
    err, _ = up_fails(3, root, env="prod", environ=prod(pgshift_database_url), yes=True)
    assert "preflight check failed" in err.message and "active_connections" in err.message
    error = err.to_dict()
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
        err, _ = up_fails(3, root, env="prod", environ=prod(pgshift_database_url), yes=True)
        report, _ = call(api.check, root, env="prod", environ=prod(pgshift_database_url))
    assert "long_transactions" in err.message
    assert f"pid {pid} (report-job, idle in transaction" in err.message
    assert "holds locks on busy" in err.message and "SELECT count(*) FROM busy" in err.message
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None
    assert report.ok is False and [c.name for c in report.failed] == ["long_transactions"]


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
    err = raises(2, call, api.check, root, env="prod", environ=prod(pgshift_database_url))
    assert "unknown key 'active_conections'" in err.message
    root2 = project(FILES, prod_config("checks = { invalid_indexes = false }\n"), name="p2")
    ok, _ = call(api.check, root2, env="prod", environ=prod(pgshift_database_url))
    assert {c.name: c.status for c in ok.checks}["invalid_indexes"] == "skip"


# --- restore, checksum, retention ------------------------------------------------------------------

def test_restore_of_the_pre_migration_backup_gives_the_same_schema(project, pgshift_database_url,
                                                                    second_database):
    from pgshift.rehearsal import diff as snapshot_diff
    from pgshift.rehearsal import snapshot

    root = project(FILES, prod_config())
    env = prod(pgshift_database_url)
    up(root, env="prod", environ=env, target=V1, yes=True, no_backup=True)
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        before = snapshot.take(conn)
    up(root, env="prod", environ=env, yes=True)
    dump = next((root / "backups").glob("*.dump"))

    target = second_database()
    api.restore(dump, target, project=open_project(root, target)[0])
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
    up(root, pgshift_database_url)
    out = tmp_path / "manual.dump"
    made, _ = call(api.backup, root, pgshift_database_url, out=out)
    info = made.to_dict()
    assert info["path"] == str(out) and info["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again, _ = fails(2, api.backup, root, pgshift_database_url, out=out)
    assert "does not overwrite" in again.message

    target = second_database()
    api.restore(out, target)
    with psycopg.connect(pgshift_database_url, autocommit=True) as a, psycopg.connect(target, autocommit=True) as b:
        assert snapshot_diff.diff(snapshot.take(a), snapshot.take(b)) == []

    # a damaged backup is refused before anything is restored
    data = bytearray(out.read_bytes())
    data[-10] ^= 0xFF
    out.write_bytes(bytes(data))
    other = second_database()
    refused = raises(1, api.restore, out, other)
    assert "does not match its checksum" in refused.message
    assert scalar(other, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace") == 0


def test_retention_keeps_the_newest_per_environment(project, pgshift_database_url):
    from pgshift import api
    from pgshift.commands import safety as commands
    from pgshift.safety import backup as backup_mod

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


def test_a_failed_backup_stops_the_run_and_leaves_no_file(project, pgshift_database_url, tmp_path, monkeypatch):
    bindir = fake_pg_dump(tmp_path / "bin", "head -c 4096 /dev/zero\necho 'pg_dump: error: disk on fire' >&2\n"
                                            "exit 1\n")
    root = project(FILES, prod_config())
    monkeypatch.setenv("PGSHIFT_PG_BINDIR", str(bindir))
    err, _ = up_fails(1, root, env="prod", environ=prod(pgshift_database_url), yes=True)
    assert "pre-migration backup failed: pg_dump exited with 1: pg_dump: error: disk on fire" in err.message
    assert files_in(root / "backups") == []          # not even the hidden partial file
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

def test_require_applied_in_refuses_a_version_staging_lacks(project, pgshift_database_url, second_database,
                                                            monkeypatch):
    staging = pgshift_database_url
    prod_url = second_database()
    config = ("[pgshift]\n\n[env.staging]\nurl = \"${STAGING_URL}\"\n\n"
              "[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\nrequire_applied_in = \"staging\"\n")
    root = project(FILES, config)
    monkeypatch.setenv("STAGING_URL", staging)   # require_applied_in reads os.environ for staging's url
    monkeypatch.setenv("PROD_URL", prod_url)
    up(root, env="staging", target=V1)

    refused, _ = up_fails(3, root, env="prod", yes=True, no_backup=True)
    assert "not applied in 'staging'" in refused.message and V2 in refused.message
    assert V1 not in refused.message.split("requires first:")[1].split("\n")[0]
    assert scalar(prod_url, "SELECT to_regclass('accounts')") is None

    # what staging has is allowed
    up(root, env="prod", target=V1, yes=True, no_backup=True)
    up(root, env="staging")
    up(root, env="prod", yes=True, no_backup=True)
    assert [r[0] for r in ledger_rows(prod_url)] == [V1, V2]


def _prod_run(root, monkeypatch, environ: dict, database_url: str | None = None, **options):
    """A prod run in-process with *environ* as the process environment would be: set in
    os.environ (where require_applied_in reads it) and handed to open_project."""
    for key in ("DATABASE_URL", "PGSHIFT_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    project = api.open_project(root, "prod", database_url)    # environ: os.environ itself
    return api.up(project, api.UpOptions(yes=True, no_backup=True, **options))


def test_require_applied_in_reads_the_named_environments_own_url(project, pgshift_database_url, second_database,
                                                                 monkeypatch):
    """PGSHIFT_DATABASE_URL, DATABASE_URL and --database-url name the environment being deployed;
    the environment checked is read through its own configured url."""
    staging = pgshift_database_url
    prod_url = second_database()
    config = ("[pgshift]\n\n[env.staging]\nurl = \"${STAGING_URL}\"\n\n"
              "[env.prod]\nprotected = true\nrequire_applied_in = \"staging\"\n")
    root = project(FILES, config)
    up(root, env="staging", environ={"STAGING_URL": staging}, target=V1)

    for env in ({"STAGING_URL": staging, "PGSHIFT_DATABASE_URL": prod_url},
                {"STAGING_URL": staging, "DATABASE_URL": prod_url}):
        with monkeypatch.context() as m:
            refused = raises(3, _prod_run, root, m, env)
        assert f"not applied in 'staging', which 'prod' requires first: {V2}" in refused.message
    with monkeypatch.context() as m:
        _prod_run(root, m, {"STAGING_URL": staging, "PGSHIFT_DATABASE_URL": prod_url}, target=V1)
    with monkeypatch.context() as m:
        flag = raises(3, _prod_run, root, m, {"STAGING_URL": staging}, database_url=prod_url)
    assert f"requires first: {V2}" in flag.message
    assert [r[0] for r in ledger_rows(prod_url)] == [V1]
    assert [r[0] for r in ledger_rows(staging)] == [V1]


def test_require_applied_in_an_environment_without_a_url_is_a_config_error(project, pgshift_database_url,
                                                                          monkeypatch):
    def config(staging: str) -> str:
        return (f"[pgshift]\n\n[env.staging]\n{staging}\n"
                "[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\nrequire_applied_in = \"staging\"\n")

    root = project(FILES, config(""))
    # the deployed environment's DATABASE_URL is not where staging's ledger is
    with monkeypatch.context() as m:
        result = raises(2, _prod_run, root, m, {"PROD_URL": pgshift_database_url, "DATABASE_URL": pgshift_database_url})
    assert "require_applied_in names 'staging', which has no url of its own" in result.message
    assert "set url in [env.staging]" in result.hint

    (root / "pgshift.toml").write_text(config('url = "${STAGING_URL}"\n'))
    monkeypatch.delenv("STAGING_URL", raising=False)
    with monkeypatch.context() as m:
        unset = raises(2, _prod_run, root, m, {"PROD_URL": pgshift_database_url})
    assert "environment variable STAGING_URL is not set" in unset.message
    assert "require_applied_in" in unset.hint and "--database-url" not in f"{unset}\n{unset.hint}"
    assert scalar(pgshift_database_url, "SELECT to_regclass('accounts')") is None

# --- the library: a confirm callback, and the safety steps in the result (needs api to pass can_confirm) ---

def test_library_caller_confirms_with_a_callback_and_gets_the_safety_steps(project, pgshift_database_url):
    from pgshift.errors import SafetyRefusal

    root = project(FILES, prod_config())
    proj, rec = open_project(root, pgshift_database_url, "prod")
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
    err, _ = up_fails(1, root, env="prod", environ=prod(pgshift_database_url), yes=True)
    dump = next((root / "backups").glob("*.dump"))
    assert f"the backup taken before this run: {dump}" in err.hint
    assert err.details["backup"] == str(dump)


def test_the_monitor_does_not_count_the_migrations_own_session(project, pgshift_database_url):
    root = project({f"{V1}_slow.sql": "CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n"})
    _, events = up(root, pgshift_database_url, monitor=True)
    reports = [line for line in events.text.splitlines() if "monitor: " in line]
    assert reports, events.text
    # nothing else is connected: neither the migration's backend nor the monitor's is "other"
    assert all("monitor: 0 other active connection(s)" in line for line in reports), reports


PLAIN_DUMP = ("CREATE TABLE t (id int, note text);\nCOPY t (id, note) FROM stdin;\n"
              + "".join(f"{i}\tnote {i}\n" for i in range(2000)) + "\\.\n")


def test_a_gzipped_plain_backup_restores_and_a_broken_one_leaves_the_target_as_it_was(second_database, tmp_path):
    import gzip

    good = tmp_path / "good.sql.gz"
    good.write_bytes(gzip.compress(PLAIN_DUMP.encode()))
    target = second_database()
    result = api.restore(good, target)
    assert result.format == "plain.gz" and scalar(target, "SELECT count(*) FROM t") == 2000

    broken = tmp_path / "broken.sql.gz"
    broken.write_bytes(gzip.compress((PLAIN_DUMP + "CREATE TABLE other (;\n").encode()))
    other = second_database()
    err = raises(1, api.restore, broken, other)
    assert "syntax error" in err.message and "the target database is as it was" in err.hint
    assert scalar(other, "SELECT to_regclass('t')") is None
