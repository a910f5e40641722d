"""rollback, down, test --roundtrip, test --from-backup, through the library, in-process.
What only the command line shows (its text, Ctrl-C, a killed rollback) is in tests/e2e/test_cli_rollback.py."""
from __future__ import annotations

import os
import subprocess

from conftest import CUSTOMERS_WITH_ROLLBACKS as PROJECT
from conftest import applied, call, fails, ledger_rows, query, scalar, states, up
from pgshift import api


def _rollback(root, url, version, **options):
    return call(api.rollback, root, url, version, api.RollbackOptions(**options))


def _down(root, url, **options):
    steps, to = options.pop("steps", None), options.pop("to", None)
    return call(api.down, root, url, steps=steps, to=to, options=api.RollbackOptions(**options))


def test_rollback_then_up_again(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    up(root, url)
    rb, _ = _rollback(root, url, "20250101000004", yes=True)
    assert applied(rb) == 1
    assert scalar(url, "SELECT column_default FROM information_schema.columns WHERE table_name = 'customers' "
                       "AND column_name = 'name'") is None
    assert states(root, url)["20250101000004"] == "rolled_back"
    again, _ = up(root, url)
    assert applied(again) == 1
    assert states(root, url)["20250101000004"] == "applied"
    rows = [(r[0], r[1], r[2]) for r in ledger_rows(url)]
    assert rows[-3:] == [("20250101000004", "migrate", "completed"), ("20250101000004", "rollback", "rolled_back"),
                         ("20250101000004", "migrate", "completed")]
    assert scalar(url, "SELECT rolled_back_at IS NOT NULL FROM pgshift.migration_log "
                       "WHERE migration_type = 'rollback'") is True


def test_rollback_needs_confirmation_without_a_terminal(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    up(root, url)
    before = ledger_rows(url)
    refused, _ = fails(3, api.rollback, root, url, "20250101000004")    # no --yes, no confirm callback
    assert "without confirmation" in refused.message and "--yes" in refused.hint
    assert ledger_rows(url) == before
    assert scalar(url, "SELECT column_default FROM information_schema.columns WHERE table_name = 'customers' "
                       "AND column_name = 'name'") == "'anonymous'::text"


def test_rollback_errors(project, pgshift_database_url):
    files = dict(PROJECT)
    files["20250101000005_no_rollback.sql"] = "CREATE TABLE extra (id int);\n"
    root = project(files)
    url = pgshift_database_url
    yes = api.RollbackOptions(yes=True)
    up(root, url, target="20250101000003")
    pending, _ = fails(2, api.rollback, root, url, "20250101000004", yes)
    assert "not applied (state: pending)" in pending.message
    up(root, url)
    missing, _ = fails(2, api.rollback, root, url, "20250101000005", yes)
    assert "has no rollback file" in missing.message
    unknown, _ = fails(2, api.rollback, root, url, "20991231000000", yes)
    assert "no migration has this version" in unknown.message


def test_rollback_of_an_older_version_lists_the_later_ones(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    up(root, url)
    dry, events = _rollback(root, url, "20250101000002", dry_run=True)
    assert dry.run is None and dry.later_applied == ("20250101000003", "20250101000004")
    assert "later versions stay applied" in events.text
    assert scalar(url, "SELECT to_regclass('customers_name_idx')") is not None  # dry run changed nothing
    _, events = _rollback(root, url, "20250101000002", yes=True)
    assert "20250101000003, 20250101000004" in events.text


def test_down_steps_newest_first_and_stops_at_a_failure(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000003_rollback_rls.sql"] = "DROP POLICY no_such_policy ON customers;\n"
    root = project(files)
    url = pgshift_database_url
    up(root, url)
    _down(root, url, steps=1, yes=True)
    failed, _ = fails(1, api.down, root, url, steps=2, options=api.RollbackOptions(yes=True))
    assert str(failed).startswith("migrations/rollbacks/20250101000003_rollback_rls.sql:1:1")
    assert "no_such_policy" in failed.message
    assert states(root, url) == {"20250101000001": "applied", "20250101000002": "applied",
                                 "20250101000003": "applied", "20250101000004": "rolled_back"}
    assert [(r[0], r[1], r[2]) for r in ledger_rows(url)][-2:] == [
        ("20250101000004", "rollback", "rolled_back"), ("20250101000003", "rollback", "failed")]


def test_down_rolls_back_two_in_reverse_order(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    up(root, url)
    _down(root, url, steps=2, yes=True)
    rollbacks = [r[0] for r in ledger_rows(url) if r[1] == "rollback"]
    assert rollbacks == ["20250101000004", "20250101000003"]
    _down(root, url, to="20250101000001", yes=True)
    assert states(root, url) == {"20250101000001": "applied", "20250101000002": "rolled_back",
                                 "20250101000003": "rolled_back", "20250101000004": "rolled_back"}


def _test_dbs(url):
    return [r[0] for r in query(url, "SELECT datname FROM pg_database WHERE datname LIKE 'pgshift_test_%'")]


def test_roundtrip_passes_on_a_correct_project(project, pgshift_database_url):
    root = project(PROJECT)
    before = _test_dbs(pgshift_database_url)
    result, _ = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert result.ok and result.applied == 4
    assert [c.status for c in result.checks] == ["passed"] * 4
    assert _test_dbs(pgshift_database_url) == before
    # nothing was applied to the configured database itself
    assert scalar(pgshift_database_url, "SELECT to_regclass('customers')") is None


def test_roundtrip_stops_when_a_version_cannot_be_applied_again(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000002_rollback.sql"] = "SELECT 1;\n"   # the plain CREATE INDEX then fails again
    root = project(files)
    result, _ = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert not result.ok
    assert [c.status for c in result.checks] == ["passed", "failed", "passed", "passed"]
    assert "customers_name_idx\" already exists" in result.checks[1].error
    assert "index public.customers_name_idx exists after its rollback" in result.checks[1].differences[0]


def test_connect_to_the_configured_database_is_skipped_in_the_throwaway_copy(project, pgshift_database_url):
    """The guide's `\\c <database>` names the environment's database; on its throwaway copy it is
    the database connected to, skipped with the same warning as `up`."""
    dbname = scalar(pgshift_database_url, "SELECT current_database()")
    files = dict(PROJECT)
    files["20250101000001_customers.sql"] = f"\\c {dbname};\n" + PROJECT["20250101000001_customers.sql"]
    files["rollbacks/20250101000001_rollback_customers.sql"] = f"\\c {dbname}\nDROP TABLE customers;\n"
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    plain, events = call(api.test, root, pgshift_database_url)
    assert plain.applied == 4
    assert f"skipped psql meta-command `\\c {dbname};`" in events.text

    roundtrip, events = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert roundtrip.ok
    assert [c.status for c in roundtrip.checks] == ["passed"] * 4
    assert f"skipped psql meta-command `\\c {dbname}`" in events.text
    assert _test_dbs(pgshift_database_url) == before
    assert scalar(pgshift_database_url, "SELECT to_regclass('customers')") is None

    other = dict(files)
    other["20250101000002_customer_index.sql"] = "\\c elsewhere\n" + PROJECT["20250101000002_customer_index.sql"]
    refused, _ = fails(2, api.test, project(other, name="other"), pgshift_database_url)
    assert f"switches to database elsewhere, but pgshift is connected to {dbname}" in refused.message


def test_throwaway_database_is_dropped_after_a_failure(project, pgshift_database_url):
    files = dict(PROJECT)
    files["20250101000005_broken.sql"] = "SELECT 1/0;\n"
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    err, events = fails(1, api.test, root, pgshift_database_url)
    assert "division by zero" in err.message
    assert "dropped the test database" in events.text
    assert _test_dbs(pgshift_database_url) == before


def test_from_backup_restores_a_pg_dump_and_applies_on_top(project, pgshift_database_url, tmp_path):
    from psycopg.conninfo import conninfo_to_dict

    from pgshift.embedded import tool

    root = project(PROJECT)
    url = pgshift_database_url
    # "production": the first two versions applied, with data
    up(root, url, target="20250101000002")
    query(url, "INSERT INTO customers VALUES (1, 1, 'from production')")
    dump = tmp_path / "prod.dump"
    params = conninfo_to_dict(url)
    env = dict(os.environ, PGHOST=params["host"], PGDATABASE=params["dbname"], PGUSER=params["user"])
    subprocess.run([tool("pg_dump"), "-Fc", "-f", str(dump)], env=env, check=True)
    before = _test_dbs(url)
    result, _ = call(api.test, root, url, from_backup=dump, keep=True)
    assert result.applied == 2 and result.kept is True
    kept = result.database
    kept_url = url.replace(f"dbname={params['dbname']}", f"dbname={kept}")
    assert scalar(kept_url, "SELECT name FROM customers") == "from production"
    assert scalar(kept_url, "SELECT count(*) FROM pgshift.migration_log WHERE status = 'completed'") == 4
    query(url, f'DROP DATABASE "{kept}" WITH (FORCE)')
    assert _test_dbs(url) == before


def test_an_unedited_rollback_stub_is_refused_before_anything_runs(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    root = tmp_path / "stub"
    api.init(root)
    call(api.new, root, None, "add_t")
    migration = next((root / "migrations").glob("*_add_t.sql"))
    version = migration.name[:14]
    migration.write_text(migration.read_text() + "CREATE TABLE t (id int);\n")
    up(root, url)
    before = ledger_rows(url)
    stub = f"migrations/rollbacks/{version}_rollback_add_t.sql:1:1"
    yes = api.RollbackOptions(yes=True)
    for verb, args in ((api.down, dict(steps=1, options=yes)), (api.rollback, dict(version=version, options=yes)),
                       (api.down, dict(steps=1, options=api.RollbackOptions(dry_run=True)))):
        refused, _ = fails(2, verb, root, url, **args)
        assert f"{stub}: rollback file has no SQL statement, only comments or blank lines" in str(refused)
        assert "write the statements that undo the migration" in refused.hint
        assert "delete its rollback file" in refused.hint
    assert ledger_rows(url) == before
    assert scalar(url, "SELECT to_regclass('t')") is not None
    assert states(root, url)[version] == "applied"


def test_roundtrip_fails_a_version_whose_rollback_has_no_statement(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000004_rollback_default.sql"] = "-- Undo what the migration did, newest change first.\n\n"
    root = project(files)
    result, _ = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert not result.ok
    assert [c.status for c in result.checks] == ["passed", "passed", "passed", "failed"]
    assert "rollback file has no SQL statement" in result.checks[3].error


def test_a_failed_stepwise_rollback_resumes_at_the_failed_statement(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({"20250101000001_t.sql": "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n",
                    "rollbacks/20250101000001_rollback_t.sql":
                        "-- pgshift:no-transaction\nDROP TABLE u;\nDROP TABLE nosuch;\nDROP TABLE t;\n"})
    up(root, url)
    failed, _ = fails(1, api.rollback, root, url, "20250101000001", api.RollbackOptions(yes=True))
    assert failed.hint.endswith("the 1 statement(s) before it stay applied; a rerun of the rollback resumes at "
                                "this statement, after you fix it")
    (root / "migrations" / "rollbacks" / "20250101000001_rollback_t.sql").write_text(
        "-- pgshift:no-transaction\nDROP TABLE u;\nDROP TABLE IF EXISTS nosuch;\nDROP TABLE t;\n")
    result, _ = call(api.rollback, root, url, "20250101000001", api.RollbackOptions(yes=True))
    assert [s.resumed_from for s in result.run.steps] == [1]     # DROP TABLE u is not run again


# --- issue 14, point 6: what a difference means, and how each version was proven -------------

_KINDS_PROJECT = {
    "20250101000001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, b text, c int);\n",
    "rollbacks/20250101000001_rollback.sql": "DROP TABLE t;\n",
    # the rollback adds b back at the end of the table: column order only
    "20250101000002_drop_b.sql": "ALTER TABLE t DROP COLUMN b;\n",
    "rollbacks/20250101000002_rollback.sql": "ALTER TABLE t ADD COLUMN b text;\n",
    # the rollback writes the function's body again with other spaces and comments: printing only
    "20250101000003_f.sql": "CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN x + 1; END $$;\n",
    "rollbacks/20250101000003_rollback.sql": "DROP FUNCTION f(int);\n",
    "20250101000004_f2.sql": "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN x + 2; "
                             "END $$;\n",
    "rollbacks/20250101000004_rollback.sql": "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$\n"
                                             "BEGIN\n  -- as it was\n  RETURN x + 1;\nEND\n$$;\n",
    # cannot run in a transaction: proven on a copy
    "20250101000005_idx.sql": "CREATE INDEX CONCURRENTLY t_c_idx ON t (c);\n",
    "rollbacks/20250101000005_rollback.sql": "DROP INDEX CONCURRENTLY t_c_idx;\n",
}


def test_roundtrip_column_order_and_printing_are_notes_unless_strict(project, pgshift_database_url, tmp_path):
    root = project(_KINDS_PROJECT)
    result, events = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert result.ok, [c.to_dict() for c in result.checks]
    by_version = {c.version[-1]: c for c in result.checks}
    assert [c.status for c in result.checks] == ["passed"] * 5
    assert [c.method for c in result.checks] == ["transaction"] * 4 + ["copy"]
    dropped = by_version["2"]
    assert dropped.differences == () and dropped.by_kind["other"] == ()
    assert any("column public.t.b: position is 3 after its rollback, 2 before the migration" in n for n in dropped.notes)
    assert dropped.by_kind["column_order"] and not dropped.by_kind["printing"]
    printed = by_version["4"]
    assert printed.differences == () and len(printed.by_kind["printing"]) == 1
    assert printed.by_kind["printing"][0].startswith("function public.f(x integer): definition differs")
    assert "with 1 note(s)" in events.text

    strict, _ = call(api.test, root, pgshift_database_url, roundtrip=True, strict=True)
    assert not strict.ok
    assert [c.status for c in strict.checks] == ["passed", "failed", "passed", "failed", "passed"]
    assert strict.checks[1].notes == () and any("position" in d for d in strict.checks[1].differences)

    md = result.to_markdown()
    assert "| 20250101000002 | drop_b | passed | transaction | 2 | 0 |" in md
    assert "### 20250101000002 drop_b: passed" in md and "**Column order only** (notes)" in md
    assert "**Printed differently only** (notes)" in md


def test_roundtrip_fails_a_rollback_that_leaves_a_column_or_a_view_behind(project, pgshift_database_url):
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int PRIMARY KEY);\n",
        "rollbacks/20250101000001_rollback.sql": "DROP TABLE t;\n",
        "20250101000002_col.sql": "ALTER TABLE t ADD COLUMN extra text;\n",
        "rollbacks/20250101000002_rollback.sql": "SELECT 1;\n",                       # leaves the column
        "20250101000003_view.sql": "CREATE VIEW tv AS SELECT id FROM t;\n",
        "rollbacks/20250101000003_rollback.sql": "COMMENT ON TABLE t IS NULL;\n",    # leaves the view
    })
    result, _ = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert not result.ok
    assert [c.status for c in result.checks] == ["passed", "failed", "failed"]
    col, view = result.checks[1], result.checks[2]
    assert col.method == view.method == "copy"     # a failure is always the copy's verdict
    assert "column public.t.extra exists after its rollback but not before the migration" in col.differences
    assert col.by_kind["other"] and col.notes == ()
    assert "view public.tv exists after its rollback but not before the migration" in view.differences
    assert "already exists" in (view.error or "")


def test_roundtrip_a_version_that_sets_a_setting_is_proven_on_a_copy(project, pgshift_database_url):
    """In one transaction the rollback's SET would still hold for the migration applied again:
    such a version is proven on a copy, where each runs in its own session."""
    root = project({
        "20250101000001_s.sql": "CREATE SCHEMA s;\nCREATE TABLE t (id int);\n",
        "rollbacks/20250101000001_rollback.sql": "SET search_path = s, public;\nDROP TABLE public.t;\n"
                                                 "DROP SCHEMA s;\n",
    })
    result, _ = call(api.test, root, pgshift_database_url, roundtrip=True)
    assert result.ok and [c.method for c in result.checks] == ["copy"]
