"""The ledger never lies and is never someone else's table: a foreign table is refused untouched,
an unknown status is an error naming its row, `verify` says "unverifiable" where no checksum was
recorded, and `repair` sets things straight with an audit row for each change."""
from __future__ import annotations

import hashlib
import json

import pytest

from conftest import query, run_cli, scalar, write_project
from pgshift import api
from pgshift.errors import ConfigError, InputError, MigrationFailed, PlanError, SafetyRefusal
from pgshift.events import RecordingReporter

V1, V2, V3 = "20250101000001", "20250101000002", "20250101000003"
FILES = {
    f"{V1}_one.sql": "CREATE TABLE one (id int);\n",
    f"{V2}_two.sql": "CREATE TABLE two (id int);\n",
}


def _project(tmp_path, url, files=FILES, config=None, env=None):
    root = write_project(tmp_path / "proj", files, config)
    return root, api.open_project(root, env=env, database_url=url)


def test_a_business_table_named_as_the_ledger_is_refused_and_left_untouched(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE public.orders (id int PRIMARY KEY, status text, total numeric);"
               "INSERT INTO public.orders VALUES (1, 'paid', 10), (2, 'open', 20)")
    before = query(url, "SELECT attname FROM pg_attribute WHERE attrelid = 'public.orders'::regclass "
                        "AND attnum > 0 ORDER BY attnum"), query(url, "SELECT * FROM public.orders ORDER BY id")
    _, project = _project(tmp_path, url, config='[pgshift]\nledger = "public.orders"\n[env.dev]\n')
    for verb in (api.up, api.status):
        with pytest.raises(ConfigError) as err:
            verb(project)
        assert "public.orders, which is not a migration ledger: it has no version column" in err.value.message
        assert err.value.exit_code == 2
    after = query(url, "SELECT attname FROM pg_attribute WHERE attrelid = 'public.orders'::regclass "
                       "AND attnum > 0 ORDER BY attnum"), query(url, "SELECT * FROM public.orders ORDER BY id")
    assert after == before
    assert scalar(url, "SELECT to_regclass('one')") is None


def test_a_table_with_a_version_and_foreign_columns_is_refused_too(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE public.releases (version text, customer_id int)")
    _, project = _project(tmp_path, url, config='[pgshift]\nledger = "public.releases"\n[env.dev]\n')
    with pytest.raises(ConfigError) as err:
        api.up(project)
    assert "it has column(s) customer_id that no migration ledger has" in err.value.message
    assert scalar(url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.releases'::regclass "
                       "AND attnum > 0") == 2


def test_an_unknown_status_is_an_error_naming_the_row_and_nothing_runs_again(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    _, project = _project(tmp_path, url)
    api.up(project)
    query(url, f"UPDATE pgshift.migration_log SET status = 'done-ish' WHERE version = '{V1}'")
    row = scalar(url, f"SELECT id FROM pgshift.migration_log WHERE version = '{V1}'")
    with pytest.raises(PlanError) as err:
        api.up(project)
    assert err.value.message.startswith(f"ledger row {row} (version {V1}) has the status 'done-ish'")
    assert err.value.details["ledger_row"] == row
    assert scalar(url, "SELECT count(*) FROM pgshift.migration_log") == 2   # nothing ran, nothing recorded


def test_verify_calls_a_version_without_a_checksum_unverifiable(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    root, project = _project(tmp_path, url)
    api.up(project)
    query(url, f"UPDATE pgshift.migration_log SET checksum = NULL WHERE version = '{V1}'")
    result = api.verify(project)
    assert [s.version for s in result.unverifiable] == [V1]
    assert result.checked == 1 and not result.changed
    cli = run_cli("verify", "--project", str(root), "--database-url", url)
    assert f"migrations/{V1}_one.sql: unverifiable: the ledger recorded no checksum for it" in cli.out
    assert "1 applied migration(s) checked: all match" in cli.out
    assert json.loads(run_cli("--json", "verify", "--project", str(root), "--database-url", url).out)[
        "unverifiable"][0]["version"] == V1


def _repair_rows(url):
    return query(url, "SELECT version, details -> 'repair' ->> 'action' FROM pgshift.migration_log "
                      "WHERE migration_type = 'repair' ORDER BY id")


def test_repair_records_checksums_with_an_audit_row_and_verify_is_clean(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    root, project = _project(tmp_path, url)
    api.up(project)
    query(url, f"UPDATE pgshift.migration_log SET checksum = NULL WHERE version = '{V1}'")
    (root / "migrations" / f"{V2}_two.sql").write_text("CREATE TABLE two (id int);  -- reviewed\n")
    assert [s.version for s in api.verify(project).changed] == [V2]
    dry = api.repair(project, api.RepairOptions(record_checksums=True, dry_run=True))
    assert [a["version"] for a in dry.actions] == [V1, V2] and _repair_rows(url) == []
    done = api.repair(project, api.RepairOptions(record_checksums=True))
    assert [a["action"] for a in done.actions] == ["record-checksum", "record-checksum"]
    result = api.verify(project)
    assert result.ok and not result.unverifiable and result.checked == 2
    assert _repair_rows(url) == [(V1, "record-checksum"), (V2, "record-checksum")]
    new = hashlib.sha256(b"CREATE TABLE two (id int);  -- reviewed\n").hexdigest()
    assert query(url, "SELECT details -> 'repair' ->> 'new_checksum' FROM pgshift.migration_log "
                      f"WHERE migration_type = 'repair' AND version = '{V2}'") == [(new,)]
    assert [s.state for s in api.status(project).states] == ["applied", "applied"]   # audit rows decide nothing


def test_repair_marks_versions_applied_or_pending(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    files = dict(FILES, **{f"{V3}_three.sql": "CREATE TABLE three (id int);\n"})
    _, project = _project(tmp_path, url, files)
    api.up(project, api.UpOptions(target=V1))
    api.repair(project, api.RepairOptions(mark_applied=(V2,)))
    assert {s.version: s.state for s in api.status(project).states} == {V1: "applied", V2: "applied",
                                                                        V3: "pending"}
    assert scalar(url, "SELECT to_regclass('two')") is None       # recorded, never run
    api.repair(project, api.RepairOptions(mark_pending=(V1,)))
    assert {s.version: s.state for s in api.status(project).states}[V1] == "rolled_back"
    query(url, "DROP TABLE one")                                   # the operator undid it by hand
    result = api.up(project, api.UpOptions(out_of_order=True))
    assert sorted(s.version for s in result.run.steps) == [V1, V3]
    assert scalar(url, "SELECT to_regclass('one') IS NOT NULL") is True
    with pytest.raises(InputError, match="it is applied already"):
        api.repair(project, api.RepairOptions(mark_applied=(V2,)))
    assert _repair_rows(url) == [(V2, "mark-applied"), (V1, "mark-pending")]


def test_repair_removes_failed_events_of_files_that_are_gone(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    files = dict(FILES, **{f"{V3}_broken.sql": "CREATE TABLE three (id int);\nSELECT no_such_column;\n"})
    root, project = _project(tmp_path, url, files)
    with pytest.raises(MigrationFailed):
        api.up(project)
    (root / "migrations" / f"{V3}_broken.sql").unlink()
    assert scalar(url, f"SELECT count(*) FROM pgshift.migration_log WHERE version = '{V3}'") == 1
    result = api.repair(project, api.RepairOptions(remove_failed=True))
    assert [a["action"] for a in result.actions] == ["remove-failed"]
    assert query(url, f"SELECT migration_type FROM pgshift.migration_log WHERE version = '{V3}'") == [("repair",)]
    assert [s.version for s in api.status(project).states] == [V1, V2]


def test_repair_in_a_protected_environment_needs_confirmation(tmp_path, pgshift_database_url, monkeypatch):
    url = pgshift_database_url
    config = '[pgshift]\n[env.prod]\nurl = "${PROD_URL}"\nprotected = true\n'
    monkeypatch.setenv("PROD_URL", url)
    root, project = _project(tmp_path, url, config=config, env="prod")
    query(url, "CREATE SCHEMA pgshift")
    api.baseline(project, V2)
    query(url, "UPDATE pgshift.migration_log SET checksum = NULL")
    with pytest.raises(SafetyRefusal):
        api.repair(project, api.RepairOptions(record_checksums=True))
    assert scalar(url, "SELECT count(*) FROM pgshift.migration_log WHERE checksum IS NOT NULL") == 0
    cli = run_cli("--env", "prod", "repair", "--record-checksums", "--project", str(root), env={"PROD_URL": url})
    assert cli.code == 3, cli.all
    ok = run_cli("--env", "prod", "repair", "--record-checksums", "--yes", "--project", str(root),
                 env={"PROD_URL": url})
    assert ok.code == 0, ok.all
    assert "made 2 change(s)" in ok.out
    assert api.verify(project).ok and not api.verify(project).unverifiable


def test_a_migration_that_links_out_of_the_project_is_refused_unread(tmp_path, pgshift_database_url):
    secret = tmp_path / "credentials.sql"
    secret.write_text("-- password: hunter2\nSELECT 1;\n")
    root = write_project(tmp_path / "proj", dict(FILES))
    (root / "migrations" / f"{V3}_linked.sql").symlink_to(secret)
    (root / "shared.sql").write_text("CREATE TABLE inside (id int);\n")
    (root / "migrations" / "20250101000004_inside.sql").symlink_to(root / "shared.sql")
    project = api.open_project(root, database_url=pgshift_database_url)
    from pgshift.errors import DiscoveryError

    with pytest.raises(DiscoveryError) as err:
        api.up(project, api.UpOptions(dry_run=True))
    assert (f"migrations/{V3}_linked.sql is a symbolic link to a file outside the project: pgshift does not "
            "follow it") in str(err.value.to_dict())
    assert "hunter2" not in json.dumps(err.value.to_dict())
    dry = run_cli("up", "--dry-run", "--project", str(root), "--database-url", pgshift_database_url)
    assert dry.code == 2 and "hunter2" not in dry.all and "outside the project" in dry.err
    (root / "migrations" / f"{V3}_linked.sql").unlink()      # a link inside the project is followed
    assert [s.version for s in api.up(project).run.steps] == [V1, V2, "20250101000004"]


@pytest.fixture
def weak_role(pgshift_database_url):
    """A role with LOGIN only (trust authentication lets the tests connect as it)."""
    import uuid

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"weak_{uuid.uuid4().hex[:8]}"
    query(pgshift_database_url, f'CREATE ROLE "{name}" LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC; '
                                f"REVOKE CREATE ON DATABASE {conninfo_to_dict(pgshift_database_url)['dbname']} "
                                "FROM PUBLIC")
    params = conninfo_to_dict(pgshift_database_url)
    params["user"] = name
    yield name, make_conninfo(**params)
    query(pgshift_database_url, f'DROP OWNED BY "{name}"; DROP ROLE "{name}"')


def test_a_role_without_rights_is_told_the_grant_that_fixes_it(tmp_path, pgshift_database_url, weak_role):
    name, weak_url = weak_role
    root, project = _project(tmp_path, weak_url)
    with pytest.raises(Exception) as err:
        api.up(project)
    assert err.value.exit_code == 1
    assert err.value.message.startswith(f"role {name} may not create the schema pgshift of the ledger")
    assert 'GRANT CREATE ON DATABASE' in err.value.hint and f'TO "{name}"' in err.value.hint
    cli = run_cli("--json", "up", "--project", str(root), "--database-url", weak_url)
    assert cli.code == 1 and "Traceback" not in cli.all
    assert json.loads(cli.out)["hint"].startswith("GRANT CREATE ON DATABASE")
    # the schema exists but is not the role's: reading the ledger names that GRANT
    query(pgshift_database_url, "CREATE SCHEMA pgshift; CREATE TABLE pgshift.migration_log (version text)")
    with pytest.raises(Exception) as err:
        api.status(project)
    assert err.value.message.startswith(f"role {name} may not read the ledger pgshift.migration_log")
    assert "GRANT USAGE ON SCHEMA \"pgshift\"" in err.value.hint
    with pytest.raises(Exception) as err:      # pgshift test needs CREATEDB for its throwaway database
        api.test(project)
    assert err.value.message.startswith(f"role {name} may not create database pgshift_test_")
    assert f'ALTER ROLE "{name}" CREATEDB' in err.value.hint


def test_a_database_a_protected_environment_deployed_to_refuses_runs_under_another_name(
        tmp_path, pgshift_database_url, monkeypatch):
    url = pgshift_database_url
    config = '[pgshift]\n[env.dev]\n[env.prod]\nurl = "${PROD_URL}"\nprotected = true\n'
    monkeypatch.setenv("PROD_URL", url)
    root = write_project(tmp_path / "proj", dict(FILES), config)
    prod = api.open_project(root, env="prod")
    api.up(prod, api.UpOptions(target=V1, yes=True, no_backup=True))
    assert query(url, "SELECT environment, database FROM pgshift.pgshift_environment") == [
        ("prod", scalar(url, "SELECT current_database()"))]
    # a plain `pgshift up` with DATABASE_URL pointing at production: refused before anything runs
    reporter = RecordingReporter()
    dev = api.open_project(root, database_url=url, reporter=reporter)
    with pytest.raises(SafetyRefusal) as err:
        api.up(dev)
    assert err.value.message.startswith("this database is environment 'prod' (")
    assert "but this run is environment 'dev' (URL from --database-url); nothing was changed" in err.value.message
    assert err.value.hint.startswith("run it as that environment: pgshift --env prod")
    assert any("environment dev:" in m and "(URL from --database-url)" in m for m in reporter.messages())
    assert scalar(url, "SELECT to_regclass('two')") is None
    for verb in (lambda: api.down(dev, steps=1, options=api.RollbackOptions(yes=True)),
                 lambda: api.repair(dev, api.RepairOptions(record_checksums=True)),
                 lambda: api.baseline(dev, V2)):
        with pytest.raises(SafetyRefusal):
            verb()
    cli = run_cli("up", "--project", str(root), env={"DATABASE_URL": url})
    assert cli.code == 3 and "(URL from DATABASE_URL)" in cli.err
    # the same project as prod goes on; another database of the same server is not prod's
    assert [s.version for s in api.up(prod, api.UpOptions(yes=True, no_backup=True)).run.steps] == [V2]
    assert api.status(dev).states   # read-only commands still show the truth


def test_a_copy_of_a_protected_database_under_another_name_is_not_that_environment(
        tmp_path, pgshift_database_url, pgshift_server_url, monkeypatch):
    from pgshift import db

    url = pgshift_database_url
    monkeypatch.setenv("PROD_URL", url)
    root = write_project(tmp_path / "proj", dict(FILES),
                         '[pgshift]\n[env.dev]\n[env.prod]\nurl = "${PROD_URL}"\nprotected = true\n')
    api.up(api.open_project(root, env="prod"), api.UpOptions(target=V1, yes=True, no_backup=True))
    name = f"copy_{scalar(url, 'SELECT current_database()')}"
    copy = db.create_database(pgshift_server_url, name, template=scalar(url, "SELECT current_database()"))
    try:
        result = api.up(api.open_project(root, database_url=copy))
        assert [s.version for s in result.run.steps] == [V2]
    finally:
        db.drop_database(pgshift_server_url, name)


def test_a_backup_folder_that_cannot_be_written_is_named_with_the_fix(tmp_path, pgshift_database_url, monkeypatch):
    from pgshift.errors import OperationError

    url = pgshift_database_url
    monkeypatch.setenv("PROD_URL", url)
    (tmp_path / "afile").write_text("")
    root = write_project(tmp_path / "proj", dict(FILES), '[pgshift]\n[env.prod]\nurl = "${PROD_URL}"\n'
                         f'protected = true\nbackup_dir = "{tmp_path}/afile/sub"\n')
    with pytest.raises(OperationError) as err:
        api.up(api.open_project(root, env="prod"), api.UpOptions(yes=True))
    assert err.value.message == f"pre-migration backup failed: cannot write to {tmp_path}/afile/sub: Not a directory"
    assert err.value.hint.startswith(f"make {tmp_path}/afile/sub a folder the user running pgshift can write to")
    assert scalar(url, "SELECT to_regclass('one')") is None
    cli = run_cli("--json", "--env", "prod", "up", "--yes", "--project", str(root), env={"PROD_URL": url})
    assert cli.code == 1 and json.loads(cli.out)["error"] == "OperationError" and "Traceback" not in cli.all


def test_a_ledger_locked_by_another_session_ends_the_run_within_the_lock_timeout(tmp_path, pgshift_database_url):
    import time

    import psycopg

    from pgshift.errors import OperationError

    url = pgshift_database_url
    root, project = _project(tmp_path, url)
    api.up(project, api.UpOptions(target=V1))
    with psycopg.connect(url, application_name="ledger-holder") as holder:
        holder.execute("LOCK TABLE pgshift.migration_log IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(OperationError) as err:
            api.up(project, api.UpOptions(lock_timeout=1.0))
        took = time.monotonic() - started
    assert took < 8, took
    assert err.value.message.startswith("the ledger pgshift.migration_log is locked by pid ")
    assert "(ledger-holder, idle in transaction" in err.value.message and "waited 1s" in err.value.message
    assert scalar(url, "SELECT to_regclass('two')") is None
