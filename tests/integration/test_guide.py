"""The guide's own templates (tests/fixtures/guide, copied verbatim) and its ledger table, through
the library in-process."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, catalog_fingerprint, fails, query, scalar, states, up, up_fails
from pgshift import api

GUIDE = FIXTURES / "guide" / "migrations"

# What the guide's earlier migrations (20250101120000 ...) would have created, in one file, and the
# guide's ledger table with its history, as a team using the guide's scripts would have it.
PREREQUISITES = """
CREATE SCHEMA shared;
CREATE SCHEMA audit;
CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()';
CREATE TABLE shared.tenants (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), name text);
CREATE TABLE shared.locations (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), tenant_id uuid);
CREATE FUNCTION get_current_tenant_id() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid $$;
CREATE FUNCTION set_updated_at_column() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
CREATE TABLE audit.change_log (id bigserial PRIMARY KEY, table_name text, operation text, old_row jsonb, new_row jsonb);
CREATE FUNCTION audit.log_table_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit.change_log (table_name, operation, old_row, new_row)
    VALUES (TG_TABLE_NAME, TG_OP, CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN COALESCE(NEW, OLD);
END $$;
CREATE TABLE shared.migration_log (
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    status TEXT,
    migration_type TEXT DEFAULT 'migration',
    started_at TIMESTAMPTZ DEFAULT NOW(),
    completed_at TIMESTAMPTZ,
    rolled_back_at TIMESTAMPTZ
);
INSERT INTO shared.migration_log (version, name, description, status, started_at, completed_at) VALUES
    ('20250101120000', 'initial_schema_setup', 'Initial schema', 'completed', '2025-01-01 12:00', '2025-01-01 12:01'),
    ('20250102140000', 'add_rbac_system', 'RBAC', 'completed', '2025-01-02 14:00', '2025-01-02 14:01');
"""

CONFIG = '[pgshift]\nledger = "shared.migration_log"\n[env.dev]\n'


@pytest.fixture
def thorbis_db(pgshift_server_url):
    """A database named as the guide's `\\c thorbis_business_os` expects."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    query(pgshift_server_url, "DROP DATABASE IF EXISTS thorbis_business_os WITH (FORCE)")
    query(pgshift_server_url, "CREATE DATABASE thorbis_business_os")
    params = conninfo_to_dict(pgshift_server_url)
    params["dbname"] = "thorbis_business_os"
    url = make_conninfo(**params)
    query(url, PREREQUISITES)
    yield url
    query(pgshift_server_url, "DROP DATABASE IF EXISTS thorbis_business_os WITH (FORCE)")


def _project(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "guide"
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "pgshift.toml").write_text(CONFIG)
    # the versions the history says were applied, so that nothing shows as missing
    for version, name in (("20250101120000", "initial_schema_setup"), ("20250102140000", "add_rbac_system")):
        (root / "migrations" / f"{version}_{name}.sql").write_text(f"-- applied long ago\nCREATE TABLE must_not_run_{version} ();\n")
    for name in names:
        shutil.copy(GUIDE / name, root / "migrations" / name)
    return root


def test_schema_template_runs_and_the_guide_ledger_is_adopted(tmp_path, thorbis_db):
    root = _project(tmp_path, ["20250115143000_add_inventory_management.sql"])
    _, events = up(root, thorbis_db)
    # the \c to the database we are connected to is skipped, with a warning at its line
    assert "20250115143000_add_inventory_management.sql:7:1: skipped psql meta-command `\\c thorbis_business_os;`" \
        in events.text
    assert "adopting the existing ledger shared.migration_log" in events.text
    # history honoured: the two old versions did not run again
    assert scalar(thorbis_db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'must_not_run%'") == 0
    assert [r[0] for r in query(thorbis_db, "SELECT table_name FROM information_schema.tables WHERE "
                                            "table_schema = 'retail_inventory' ORDER BY 1")] == ["products", "stock_levels"]
    assert states(root, thorbis_db) == {
        "20250101120000": "applied", "20250102140000": "applied", "20250115143000": "applied"}
    # history kept, ids in the order it happened, and the runner's own event is the latest for the version
    rows = query(thorbis_db, "SELECT id, version, status, migration_type, tool_version IS NOT NULL "
                             "FROM shared.migration_log ORDER BY id")
    assert [r[1] for r in rows[:2]] == ["20250101120000", "20250102140000"]
    assert rows[-1][1:] == ("20250115143000", "completed", "migrate", True)
    # a second run applies nothing
    again, _ = up(root, thorbis_db)
    assert again.plan.empty and not again.run.steps


def test_index_template_is_refused_before_anything_runs(tmp_path, thorbis_db):
    root = _project(tmp_path, ["20250115155000_optimize_query_performance.sql"])
    before = catalog_fingerprint(thorbis_db)
    history = query(thorbis_db, "SELECT * FROM shared.migration_log")
    err, _ = up_fails(2, root, thorbis_db)
    assert "20250115155000_optimize_query_performance.sql:26:1: CREATE INDEX CONCURRENTLY cannot run inside a " \
           "transaction block, and this file opens one with BEGIN at line 6" in str(err)
    assert "file of their own without BEGIN/COMMIT" in err.hint
    assert catalog_fingerprint(thorbis_db) == before
    assert query(thorbis_db, "SELECT * FROM shared.migration_log") == history


def test_rollback_template_bare_raise_is_a_syntax_error_at_its_line(tmp_path, thorbis_db):
    root = _project(tmp_path, ["20250115143000_add_inventory_management.sql"])
    shutil.copy(GUIDE / "rollbacks" / "20250115143000_rollback_inventory_management.sql",
                root / "migrations" / "rollbacks" / "20250115143000_rollback_inventory_management.sql")
    up(root, thorbis_db)
    before = catalog_fingerprint(thorbis_db)
    err, _ = fails(2, api.rollback, root, thorbis_db, "20250115143000", api.RollbackOptions(yes=True))
    assert "rollbacks/20250115143000_rollback_inventory_management.sql:61:1: syntax error" in str(err)
    assert "RAISE" in err.message and "DO block" in err.hint
    assert catalog_fingerprint(thorbis_db) == before


def test_data_template_fails_at_its_line_with_nothing_half_done(tmp_path, thorbis_db):
    """The data template references `legacy_customers`, which does not exist: its own transaction is
    rolled back, and the error points at the statement in the file."""
    root = _project(tmp_path, ["20250115150000_migrate_legacy_customer_data.sql"])
    history = query(thorbis_db, "SELECT version, status FROM shared.migration_log")
    err, _ = up_fails(1, root, thorbis_db)
    assert "20250115150000_migrate_legacy_customer_data.sql:" in str(err)
    assert 'relation "legacy_customers" does not exist' in err.message
    # the file's own INSERT into the ledger was rolled back with its transaction; only the runner's failed event
    rows = query(thorbis_db, "SELECT version, status FROM shared.migration_log")
    assert rows[:len(history)] == history
    assert rows[len(history):] == [("20250115150000", "failed")]
