"""rollback, down, test --roundtrip, test --from-backup, diagnose."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from conftest import ledger_rows, query, run_cli, scalar

PROJECT = {
    "20250101000001_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, tenant_id int, name text);\n",
    "rollbacks/20250101000001_rollback_customers.sql": "DROP TABLE customers;\n",
    "20250101000002_customer_index.sql": "CREATE INDEX customers_name_idx ON customers (name);\n",
    "rollbacks/20250101000002_rollback.sql": "DROP INDEX customers_name_idx;\n",
    "20250101000003_rls.sql": """
        ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON customers USING (tenant_id = current_setting('app.tenant')::int);
    """,
    "rollbacks/20250101000003_rollback_rls.sql": """
        DROP POLICY tenant_isolation ON customers;
        ALTER TABLE customers DISABLE ROW LEVEL SECURITY;
    """,
    "20250101000004_default.sql": "ALTER TABLE customers ALTER COLUMN name SET DEFAULT 'anonymous';\n",
    "rollbacks/20250101000004_rollback_default.sql": "ALTER TABLE customers ALTER COLUMN name DROP DEFAULT;\n",
}


def _states(root, url):
    out = run_cli("--json", "status", "--project", str(root), "--database-url", url)
    assert out.code == 0, out.all
    return {v["version"]: v["state"] for v in json.loads(out.out)["versions"]}


def test_rollback_then_up_again(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    rb = run_cli("rollback", "20250101000004", "--yes", "--project", str(root), "--database-url", url)
    assert rb.code == 0, rb.all
    assert "rolled back 1 version(s)" in rb.out
    assert scalar(url, "SELECT column_default FROM information_schema.columns WHERE table_name = 'customers' "
                       "AND column_name = 'name'") is None
    assert _states(root, url)["20250101000004"] == "rolled_back"
    again = run_cli("up", "--project", str(root), "--database-url", url)
    assert again.code == 0 and "applied 1 migration(s)" in again.out
    assert _states(root, url)["20250101000004"] == "applied"
    rows = [(r[0], r[1], r[2]) for r in ledger_rows(url)]
    assert rows[-3:] == [("20250101000004", "migrate", "completed"), ("20250101000004", "rollback", "rolled_back"),
                         ("20250101000004", "migrate", "completed")]
    assert scalar(url, "SELECT rolled_back_at IS NOT NULL FROM pgshift.migration_log "
                       "WHERE migration_type = 'rollback'") is True


def test_rollback_needs_confirmation_without_a_terminal(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    before = ledger_rows(url)
    refused = run_cli("rollback", "20250101000004", "--project", str(root), "--database-url", url)
    assert refused.code == 3, refused.all
    assert "without confirmation" in refused.err and "--yes" in refused.err
    assert ledger_rows(url) == before
    assert scalar(url, "SELECT column_default FROM information_schema.columns WHERE table_name = 'customers' "
                       "AND column_name = 'name'") == "'anonymous'::text"


def test_rollback_errors(project, pgshift_database_url):
    files = dict(PROJECT)
    files["20250101000005_no_rollback.sql"] = "CREATE TABLE extra (id int);\n"
    root = project(files)
    url = pgshift_database_url
    assert run_cli("up", "--target", "20250101000003", "--project", str(root), "--database-url", url).code == 0
    pending = run_cli("rollback", "20250101000004", "--yes", "--project", str(root), "--database-url", url)
    assert pending.code == 2 and "not applied (state: pending)" in pending.err
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    missing = run_cli("rollback", "20250101000005", "--yes", "--project", str(root), "--database-url", url)
    assert missing.code == 2 and "has no rollback file" in missing.err
    unknown = run_cli("rollback", "20991231000000", "--yes", "--project", str(root), "--database-url", url)
    assert unknown.code == 2 and "no migration has this version" in unknown.err


def test_rollback_of_an_older_version_lists_the_later_ones(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    dry = run_cli("--json", "rollback", "20250101000002", "--dry-run", "--project", str(root), "--database-url", url)
    assert dry.code == 0, dry.all
    assert json.loads(dry.out)["later_applied"] == ["20250101000003", "20250101000004"]
    assert "later versions stay applied" in dry.err
    assert scalar(url, "SELECT to_regclass('customers_name_idx')") is not None  # dry run changed nothing
    done = run_cli("rollback", "20250101000002", "--yes", "--project", str(root), "--database-url", url)
    assert done.code == 0
    assert "20250101000003, 20250101000004" in done.err


def test_down_steps_newest_first_and_stops_at_a_failure(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000003_rollback_rls.sql"] = "DROP POLICY no_such_policy ON customers;\n"
    root = project(files)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    ok = run_cli("down", "--steps", "1", "--yes", "--project", str(root), "--database-url", url)
    assert ok.code == 0, ok.all
    failed = run_cli("down", "--steps", "2", "--yes", "--project", str(root), "--database-url", url)
    assert failed.code == 1
    assert "migrations/rollbacks/20250101000003_rollback_rls.sql:1:1" in failed.err
    assert "no_such_policy" in failed.err
    states = _states(root, url)
    assert states == {"20250101000001": "applied", "20250101000002": "applied", "20250101000003": "applied",
                      "20250101000004": "rolled_back"}
    assert [(r[0], r[1], r[2]) for r in ledger_rows(url)][-2:] == [
        ("20250101000004", "rollback", "rolled_back"), ("20250101000003", "rollback", "failed")]


def test_down_rolls_back_two_in_reverse_order(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    result = run_cli("down", "--steps", "2", "--yes", "--project", str(root), "--database-url", url)
    assert result.code == 0, result.all
    rollbacks = [r[0] for r in ledger_rows(url) if r[1] == "rollback"]
    assert rollbacks == ["20250101000004", "20250101000003"]
    to = run_cli("down", "--to", "20250101000001", "--yes", "--project", str(root), "--database-url", url)
    assert to.code == 0, to.all
    assert _states(root, url) == {"20250101000001": "applied", "20250101000002": "rolled_back",
                                  "20250101000003": "rolled_back", "20250101000004": "rolled_back"}


def _test_dbs(url):
    return [r[0] for r in query(url, "SELECT datname FROM pg_database WHERE datname LIKE 'pgshift_test_%'")]


def test_roundtrip_passes_on_a_correct_project(project, pgshift_database_url):
    root = project(PROJECT)
    before = _test_dbs(pgshift_database_url)
    result = run_cli("--json", "test", "--roundtrip", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    data = json.loads(result.out)
    assert data["ok"] and data["applied"] == 4
    assert [v["status"] for v in data["versions"]] == ["passed"] * 4
    assert _test_dbs(pgshift_database_url) == before
    # nothing was applied to the configured database itself
    assert scalar(pgshift_database_url, "SELECT to_regclass('customers')") is None


def test_roundtrip_names_the_version_and_the_object(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000002_rollback.sql"] = "SELECT 1;\n"                                # forgets the index
    files["rollbacks/20250101000003_rollback_rls.sql"] = "ALTER TABLE customers DISABLE ROW LEVEL SECURITY;\n"
    files["rollbacks/20250101000004_rollback_default.sql"] = \
        "ALTER TABLE customers ALTER COLUMN name SET DEFAULT 'someone';\n"                         # wrong default
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    result = run_cli("test", "--roundtrip", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1, result.all
    out = result.out
    rows = [line.split() for line in out.splitlines() if line.startswith("2025")]
    assert rows == [["20250101000001", "customers", "passed"], ["20250101000002", "customer_index", "failed"],
                    ["20250101000003", "rls", "failed"], ["20250101000004", "default", "failed"]]
    assert "index public.customers_name_idx exists after its rollback but not before the migration" in out
    assert "policy public.customers.tenant_isolation exists after its rollback" in out
    assert "20250101000004 default: column public.customers.name: default is 'someone'::text after its rollback" in out
    assert _test_dbs(pgshift_database_url) == before


def test_roundtrip_stops_when_a_version_cannot_be_applied_again(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000002_rollback.sql"] = "SELECT 1;\n"   # the plain CREATE INDEX then fails again
    root = project(files)
    result = run_cli("--json", "test", "--roundtrip", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1
    data = json.loads(result.out)
    assert [v["status"] for v in data["versions"]] == ["passed", "failed", "passed", "passed"]
    assert "customers_name_idx\" already exists" in data["versions"][1]["error"]
    assert "index public.customers_name_idx exists after its rollback" in data["versions"][1]["differences"][0]


def test_connect_to_the_configured_database_is_skipped_in_the_throwaway_copy(project, pgshift_database_url):
    """The guide's `\\c <database>` names the environment's database; on its throwaway copy it is
    the database connected to, skipped with the same warning as `up`."""
    dbname = scalar(pgshift_database_url, "SELECT current_database()")
    files = dict(PROJECT)
    files["20250101000001_customers.sql"] = f"\\c {dbname};\n" + PROJECT["20250101000001_customers.sql"]
    files["rollbacks/20250101000001_rollback_customers.sql"] = f"\\c {dbname}\nDROP TABLE customers;\n"
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    plain = run_cli("--json", "test", "--project", str(root), "--database-url", pgshift_database_url)
    assert plain.code == 0, plain.all
    assert json.loads(plain.out)["applied"] == 4
    assert f"skipped psql meta-command `\\c {dbname};`" in plain.err

    roundtrip = run_cli("--json", "test", "--roundtrip", "--project", str(root), "--database-url",
                        pgshift_database_url)
    assert roundtrip.code == 0, roundtrip.all
    assert [v["status"] for v in json.loads(roundtrip.out)["versions"]] == ["passed"] * 4
    assert f"skipped psql meta-command `\\c {dbname}`" in roundtrip.err
    assert _test_dbs(pgshift_database_url) == before
    assert scalar(pgshift_database_url, "SELECT to_regclass('customers')") is None

    other = dict(files)
    other["20250101000002_customer_index.sql"] = "\\c elsewhere\n" + PROJECT["20250101000002_customer_index.sql"]
    refused = run_cli("test", "--project", str(project(other, name="other")), "--database-url", pgshift_database_url)
    assert refused.code == 2, refused.all
    assert f"switches to database elsewhere, but pgshift is connected to {dbname}" in refused.err


def test_throwaway_database_is_dropped_after_a_failure(project, pgshift_database_url):
    files = dict(PROJECT)
    files["20250101000005_broken.sql"] = "SELECT 1/0;\n"
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    result = run_cli("test", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1 and "division by zero" in result.err
    assert "dropped the test database" in result.err
    assert _test_dbs(pgshift_database_url) == before


def test_throwaway_database_is_dropped_after_ctrl_c(project, pgshift_database_url):
    files = dict(PROJECT)
    files["20250101000005_slow.sql"] = "SELECT pg_sleep(60);\n"
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    proc = subprocess.Popen([sys.executable, "-m", "pgshift", "test", "--project", str(root), "--database-url",
                             pgshift_database_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not scalar(pgshift_database_url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"):
        assert time.monotonic() < deadline, "never reached the slow migration"
        time.sleep(0.05)
    assert len(_test_dbs(pgshift_database_url)) == len(before) + 1
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _test_dbs(pgshift_database_url) == before


def test_from_backup_restores_a_pg_dump_and_applies_on_top(project, pgshift_database_url, tmp_path):
    from pgshift.embedded import tool

    from psycopg.conninfo import conninfo_to_dict
    import os

    root = project(PROJECT)
    url = pgshift_database_url
    # "production": the first two versions applied, with data
    assert run_cli("up", "--target", "20250101000002", "--project", str(root), "--database-url", url).code == 0
    query(url, "INSERT INTO customers VALUES (1, 1, 'from production')")
    dump = tmp_path / "prod.dump"
    params = conninfo_to_dict(url)
    env = dict(os.environ, PGHOST=params["host"], PGDATABASE=params["dbname"], PGUSER=params["user"])
    subprocess.run([tool("pg_dump"), "-Fc", "-f", str(dump)], env=env, check=True)
    before = _test_dbs(url)
    result = run_cli("--json", "test", "--from-backup", str(dump), "--keep", "--project", str(root),
                     "--database-url", url)
    assert result.code == 0, result.all
    data = json.loads(result.out)
    assert data["applied"] == 2 and data["kept"] is True
    kept = data["database"]
    kept_url = url.replace(f"dbname={params['dbname']}", f"dbname={kept}")
    assert scalar(kept_url, "SELECT name FROM customers") == "from production"
    assert scalar(kept_url, "SELECT count(*) FROM pgshift.migration_log WHERE status = 'completed'") == 4
    query(url, f'DROP DATABASE "{kept}" WITH (FORCE)')
    assert _test_dbs(url) == before


def test_diagnose(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    result = run_cli("--json", "diagnose", "--project", str(root), "--database-url", url)
    assert result.code == 0, result.all
    data = json.loads(result.out)
    assert set(data) >= {"ledger", "waiting_locks", "blocking", "tables"}
    assert data["ledger"]["columns"][:4] == ["version", "name", "migration_type", "status"]
    assert len(data["ledger"]["rows"]) == 4
    text = run_cli("diagnose", "--project", str(root), "--database-url", url)
    assert "== ledger ==" in text.out and "20250101000004" in text.out


def test_an_unedited_rollback_stub_is_refused_before_anything_runs(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    root = tmp_path / "stub"
    assert run_cli("init", "--project", str(root)).code == 0
    assert run_cli("new", "add_t", "--project", str(root)).code == 0
    migration = next((root / "migrations").glob("*_add_t.sql"))
    version = migration.name[:14]
    migration.write_text(migration.read_text() + "CREATE TABLE t (id int);\n")
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    before = ledger_rows(url)
    stub = f"migrations/rollbacks/{version}_rollback_add_t.sql:1:1"
    for args in (("down", "--steps", "1", "--yes"), ("rollback", version, "--yes"),
                 ("down", "--steps", "1", "--dry-run")):
        refused = run_cli(*args, "--project", str(root), "--database-url", url)
        assert refused.code == 2, refused.all
        assert f"{stub}: rollback file has no SQL statement, only comments or blank lines" in refused.err
        assert "write the statements that undo the migration" in refused.err
        assert "delete its rollback file" in refused.err
        assert "rolled back" not in refused.out
    assert ledger_rows(url) == before
    assert scalar(url, "SELECT to_regclass('t')") is not None
    assert _states(root, url)[version] == "applied"


def test_roundtrip_fails_a_version_whose_rollback_has_no_statement(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000004_rollback_default.sql"] = "-- Undo what the migration did, newest change first.\n\n"
    root = project(files)
    result = run_cli("--json", "test", "--roundtrip", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1, result.all
    versions = json.loads(result.out)["versions"]
    assert [v["status"] for v in versions] == ["passed", "passed", "passed", "failed"]
    assert "rollback file has no SQL statement" in versions[3]["error"]


def test_a_failed_stepwise_rollback_does_not_promise_to_resume(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({"20250101000001_t.sql": "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n",
                    "rollbacks/20250101000001_rollback_t.sql":
                        "-- pgshift:no-transaction\nDROP TABLE u;\nDROP TABLE nosuch;\nDROP TABLE t;\n"})
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    failed = run_cli("rollback", "20250101000001", "--yes", "--project", str(root), "--database-url", url)
    assert failed.code == 1, failed.all
    assert "a rerun of the rollback runs its file again from the first statement" in failed.err
    assert "resumes at this one" not in failed.err


def test_status_text_shows_a_half_done_rollback(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({"20250101000001_t.sql": "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n",
                    "rollbacks/20250101000001_rollback_t.sql":
                        "-- pgshift:no-transaction\nDROP TABLE u;\nSELECT pg_sleep(60);\nDROP TABLE t;\n",
                    "20250101000002_v.sql": "CREATE TABLE v (id int);\n"})
    assert run_cli("up", "--target", "20250101000001", "--project", str(root), "--database-url", url).code == 0
    proc = subprocess.Popen([sys.executable, "-m", "pgshift", "rollback", "20250101000001", "--yes", "--project",
                             str(root), "--database-url", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"):
        assert time.monotonic() < deadline, "never reached the second statement"
        time.sleep(0.05)
    proc.kill()                                   # killed after its first statement
    proc.communicate(timeout=30)
    query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'")
    assert ledger_rows(url)[-1][:4] == ("20250101000001", "rollback", "running", 1)
    shown = run_cli("status", "--no-color", "--project", str(root), "--database-url", url)
    assert shown.code == 0, shown.all
    line = next(ln for ln in shown.out.splitlines() if ln.startswith("20250101000001"))
    assert "applied (rollback did not complete)" in line, shown.out
    # a retried rollback that fails says so too
    (root / "migrations" / "rollbacks" / "20250101000001_rollback_t.sql").write_text(
        "-- pgshift:no-transaction\nDROP TABLE u;\nDROP TABLE t;\n")
    retried = run_cli("down", "--steps", "1", "--yes", "--project", str(root), "--database-url", url)
    assert retried.code == 1, retried.all
    shown = run_cli("status", "--no-color", "--project", str(root), "--database-url", url)
    line = next(ln for ln in shown.out.splitlines() if ln.startswith("20250101000001"))
    assert "applied (rollback failed: " in line and "u" in line, shown.out
    # --json: every state has a count, 0 when none is in it
    doc = json.loads(run_cli("--json", "status", "--project", str(root), "--database-url", url).out)
    assert doc["counts"] == {"applied": 1, "pending": 1, "failed": 0, "rolled_back": 0, "changed": 0,
                             "missing": 0, "out_of_order": 0, "running": 0}
