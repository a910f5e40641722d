"""`schema dump` (issue 14, point 2) against the real embedded server: byte-identical across two
databases migrated from the same files, changing exactly where a migration changes the schema,
and kept current by `up` and `down` with dump_schema."""
from __future__ import annotations

import difflib

import psycopg

from conftest import call, up
from pgshift import api

pytest_plugins = ["pytester"]

V1, V2, V3 = "20250101000001", "20250101000002", "20250101000003"
FILES = {
    f"{V1}_customers.sql": """
        CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
        CREATE INDEX customers_name_idx ON customers (name);
        CREATE FUNCTION greeting() RETURNS text LANGUAGE sql AS $$ SELECT 'hello' $$;
        CREATE VIEW named AS SELECT id, name FROM customers;
        COMMENT ON TABLE customers IS 'people';
        INSERT INTO customers (name) VALUES ('a');
    """,
    f"{V2}_email.sql": "ALTER TABLE customers ADD COLUMN email text;\n",
    f"rollbacks/{V2}_rollback_email.sql": "ALTER TABLE customers DROP COLUMN email;\n",
    f"{V3}_data_only.sql": "INSERT INTO customers (name) VALUES ('b');\n",
}


def dump(root, url) -> str:
    result, _ = call(api.schema_dump, root, url)
    return result.text


def test_byte_identical_across_two_databases_from_the_same_files(project, pgshift_database_url,
                                                                  pgshift_new_database):
    root = project(FILES)
    other = pgshift_new_database()
    up(root, pgshift_database_url)
    with psycopg.connect(other, autocommit=True) as conn:   # objects pgshift never sees, made first elsewhere
        conn.execute("CREATE TABLE scratch (x int)")
        conn.execute("DROP TABLE scratch")
    up(root, other)
    a, b = dump(root, pgshift_database_url), dump(root, other)
    assert a == b
    assert a.startswith("-- pgshift schema dump") and a.endswith(";\n")
    assert "CREATE TABLE public.customers" in a and "migration_log" not in a and "SCHEMA pgshift" not in a
    for noise in ("OWNER TO", "Dumped from", "SET ", "\\restrict", "GRANT ", "\n\n\n"):
        assert noise not in a, noise


def test_the_dump_changes_exactly_where_a_migration_changes_the_schema(project, pgshift_database_url):
    root = project(FILES)
    up(root, pgshift_database_url, target=V1)
    before = dump(root, pgshift_database_url)
    up(root, pgshift_database_url, target=V2)
    after = dump(root, pgshift_database_url)
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    name text NOT NULL", "+    name text NOT NULL,", "+    email text"], changed
    up(root, pgshift_database_url)          # V3 changes data only: the same bytes
    assert dump(root, pgshift_database_url) == after


def test_out_writes_the_file_and_dump_schema_keeps_it_current(project, pgshift_database_url):
    root = project(FILES, "[pgshift]\ndump_schema = \"db/schema.sql\"\n[env.dev]\n")
    up(root, pgshift_database_url, target=V1)
    path = root / "db" / "schema.sql"
    first = path.read_text()
    assert "CREATE TABLE public.customers" in first and "email" not in first
    up(root, pgshift_database_url, target=V2)
    assert "email text" in path.read_text()
    call(api.down, root, pgshift_database_url, steps=1, options=api.RollbackOptions(yes=True))
    assert path.read_text() == first
    result, _ = call(api.schema_dump, root, pgshift_database_url, "other.sql")
    assert result.path == root / "other.sql" and (root / "other.sql").read_text() == first
    assert result.changed is True
    again, _ = call(api.schema_dump, root, pgshift_database_url, "other.sql")
    assert again.changed is False and again.sha256 == result.sha256


def test_the_pytest_check_compares_the_schema_file(pytester, pgshift_server_url, pgshift_new_database, monkeypatch):
    monkeypatch.setenv("PGSHIFT_TEST_SERVER_URL", pgshift_server_url)
    (pytester.path / "pgshift.toml").write_text("[pgshift]\ndump_schema = \"schema.sql\"\n[env.dev]\n")
    for rel, text in FILES.items():
        path = pytester.path / "migrations" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def check():
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfEs", "--pgshift",
                                             "-k", "schema_dump_is_current")

    missing = check()
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*schema.sql does not exist*"])
    other = pgshift_new_database()
    up(pytester.path, other)                 # dump_schema: up writes schema.sql
    assert (pytester.path / "schema.sql").is_file()
    check().assert_outcomes(passed=1)
    (pytester.path / "schema.sql").write_text((pytester.path / "schema.sql").read_text().replace("email", "mail"))
    stale = check()
    stale.assert_outcomes(failed=1)
    stale.stdout.fnmatch_lines(["*schema.sql is not the schema the migrations make*", "*+    email text*"])


def test_a_schema_file_that_cannot_be_written_is_a_warning_not_a_failure(project, pgshift_database_url):
    root = project(FILES, "[pgshift]\ndump_schema = \"db\"\n[env.dev]\n")
    (root / "db").mkdir()             # a folder where the file should go
    result, reporter = up(root, pgshift_database_url)
    assert len(result.run.steps) == 3
    assert "the schema file db was not updated" in reporter.text
