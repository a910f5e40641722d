"""The engine: parsing problems as findings, run facts, silencing, options."""
from __future__ import annotations

import ast as pyast
import subprocess
import sys
from pathlib import Path

import pytest

from pgshift.errors import ConfigError
from pgshift.lint import nodes
from pgshift.lint.engine import LintInput, lint
from pgshift.sql import parse_file, parse_one

from .helpers import RELPATH, assert_lint_errors, assert_lint_ok, findings, lint_sql


def loud(report):
    """Errors and warnings (info findings, like require-lock-timeout, left out)."""
    return [f for f in report.findings if f.severity != "info"]


# --- parse problems ------------------------------------------------------------

def test_syntax_error_carries_the_parsers_message_and_position():
    report = lint_sql("SELECT 1;\nSELEC 2;")
    [f] = report.findings
    assert (f.rule, f.location.line, f.location.col) == ("syntax-error", 2, 1)
    assert 'syntax error at or near "SELEC"' in f.message
    assert "PostgreSQL's own parser" in f.hint
    assert report.has_errors


def test_bare_raise_gets_the_do_block_hint_and_the_rest_is_still_linted():
    sql = "BEGIN;\nCREATE INDEX i ON orders (a);\nCOMMIT;\nRAISE NOTICE 'done';\n"
    report = lint_sql(sql)
    assert [(f.rule, f.location.line) for f in loud(report)] == [
        ("require-concurrent-index", 2), ("syntax-error", 4)]
    assert "DO block" in loud(report)[1].hint


@pytest.mark.parametrize("stmt", [
    "DROP INDEX CONCURRENTLY orders_status_idx",
    "REINDEX (CONCURRENTLY) INDEX orders_status_idx",
    "REINDEX INDEX CONCURRENTLY orders_status_idx",
    "CREATE UNIQUE INDEX CONCURRENTLY u ON orders (a)",
    "ALTER TABLE m DETACH PARTITION m2023 CONCURRENTLY",
    "REINDEX (VERBOSE, CONCURRENTLY) TABLE orders",
    "REINDEX (CONCURRENTLY, VERBOSE) TABLE orders",
    "create index concurrently \"CONCURRENTLY\" on orders (a) where note <> 'CONCURRENTLY'",
    "CREATE INDEX /* ü: CONCURRENTLY? */ CONCURRENTLY i_ü ON orders (a)",
])
def test_every_concurrently_form_inside_begin(stmt):
    sql = f"BEGIN;\nSELECT 1;\n  {stmt};\nUPDATE orders SET a = 1 WHERE id = 1;\nCOMMIT;"
    assert_lint_errors(sql, "concurrently-in-transaction", (3, 3))
    # the statement is still seen as concurrent by the other rules
    for rule in ("require-concurrent-drop-index", "require-concurrent-reindex", "require-concurrent-index",
                 "detach-partition"):
        assert not findings(sql, rule), rule


def test_other_non_transactional_statements_inside_begin():
    sql = "BEGIN;\nVACUUM orders;\nCOMMIT;\nCREATE INDEX i ON orders (a);"
    report = lint_sql(sql)
    assert [(f.rule, f.location.line) for f in loud(report)] == [
        ("concurrently-in-transaction", 2), ("require-concurrent-index", 4)]


def test_meta_commands_are_set_aside_and_the_file_linted():
    sql = "\\c mydb\nCREATE INDEX i ON orders (a);\n\\i other.sql\n"
    report = lint_sql(sql)
    got = [(f.rule, f.severity, f.location.line) for f in loud(report)]
    assert got == [("psql-meta-command", "warning", 1), ("require-concurrent-index", "error", 2),
                   ("psql-meta-command", "error", 3)]


def test_parsed_input_reports_skipped_connect_lines():
    text = "\\c mydb\nSELECT 1;\n"
    parsed = parse_file(RELPATH, text, database="mydb")
    report = lint([LintInput(RELPATH, text, parsed=parsed)])
    assert [(f.rule, f.severity, f.location.line) for f in report.findings] == [("psql-meta-command", "warning", 1)]


def test_invalid_directive_then_the_rest_of_the_file():
    report = lint_sql("-- pgshift:frobnicate\nCREATE INDEX i ON orders (a);")
    assert [(f.rule, f.location.line) for f in loud(report)] == [
        ("invalid-directive", 1), ("require-concurrent-index", 2)]
    report = lint_sql("/* pgshift:no-transaction */\nCREATE INDEX i ON orders (a);")
    assert [(f.rule, f.location.line) for f in loud(report)] == [
        ("invalid-directive", 1), ("require-concurrent-index", 2)]
    assert "-- pgshift:no-transaction" in loud(report)[0].hint


# --- run facts -------------------------------------------------------------------

def test_tables_created_earlier_in_the_run_are_exempt():
    sql = "CREATE INDEX items_idx ON inventory.items (sku);\nALTER TABLE inventory.items ADD CHECK (sku <> '');"
    assert_lint_ok(sql, "require-concurrent-index", prelude=("CREATE TABLE inventory.items (sku text);",))
    assert_lint_ok(sql, "check-not-valid", prelude=("CREATE TABLE inventory.items (sku text);",))
    assert_lint_errors(sql, "require-concurrent-index", (1, 1))


def test_a_table_created_later_did_not_exist_yet():
    sql = "CREATE INDEX items_idx ON items (sku);\nCREATE TABLE items (sku text);"
    assert_lint_errors(sql, "require-concurrent-index", (1, 1))


def test_public_schema_matches_unqualified_names():
    assert_lint_ok("CREATE TABLE items (a int);\nCREATE INDEX i ON public.items (a);", "require-concurrent-index")


def test_temporary_tables_are_exempt():
    assert_lint_ok("CREATE TEMP TABLE s AS SELECT 1 AS id;\nUPDATE s SET id = 2;", "unbatched-dml")


# --- silencing ---------------------------------------------------------------------

def test_file_level_ignore_covers_every_statement():
    sql = ("-- pgshift:ignore require-concurrent-index  small tables\n"
           "CREATE INDEX a ON orders (a);\nCREATE INDEX b ON orders (b);")
    report = lint_sql(sql)
    assert loud(report) == [] and report.unused_ignores == []


def test_statement_ignore_covers_only_the_next_statement():
    sql = "SELECT 1;\n-- pgshift:ignore require-concurrent-index\nCREATE INDEX a ON orders (a);\nCREATE INDEX b ON orders (b);"
    assert [f.location.line for f in loud(lint_sql(sql))] == [4]


def test_ignore_several_rules_and_aliases():
    sql = ("CREATE TABLE t (id int);\n-- pgshift:ignore rls-without-policy,prefer-bigint-pk reviewed\n"
           "ALTER TABLE t ENABLE ROW LEVEL SECURITY;")
    report = lint_sql(sql)
    assert [f.rule for f in report.findings] == []
    assert [f.message for f in report.unused_ignores] == [
        "`-- pgshift:ignore prefer-bigint-pk` silences nothing in the next statement"]
    assert report.unused_ignores[0].location.line == 2


def test_unknown_rule_in_an_ignore_is_reported():
    report = lint_sql("SELECT 1;\n-- pgshift:ignore require-concurent-index\nSELECT 2;")
    [f] = report.unused_ignores
    assert (f.rule, f.location.line, f.location.col) == ("unused-ignore", 2, 1)
    assert "unknown rule" in f.message


def test_disable_and_severity_options():
    sql = "CREATE INDEX i ON orders (a);\nDROP INDEX j;"
    report = lint_sql(sql, disable=("require-concurrent-index",))
    assert [f.rule for f in loud(report)] == ["require-concurrent-drop-index"] and not report.has_errors
    report = lint_sql(sql, severity={"require-concurrent-index": "warning", "require-concurrent-drop-index": "error"})
    assert [(f.rule, f.severity) for f in loud(report)] == [
        ("require-concurrent-index", "warning"), ("require-concurrent-drop-index", "error")]
    assert report.has_errors
    report = lint_sql(sql, severity={"require-concurrent-index": "off", "rls-without-policy": "warning"})
    assert [f.rule for f in loud(report)] == ["require-concurrent-drop-index"]


def test_an_ignore_of_a_disabled_rule_is_not_unused():
    sql = "SELECT 1;\n-- pgshift:ignore require-concurrent-index\nCREATE INDEX i ON orders (a);"
    report = lint_sql(sql, disable=("require-concurrent-index",))
    assert loud(report) == [] and report.unused_ignores == []


@pytest.mark.parametrize("options", [{"disable": ("no-such-rule",)}, {"severity": {"no-such-rule": "off"}},
                                     {"severity": {"truncate": "fatal"}}])
def test_bad_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        lint_sql("SELECT 1;", **options)


def test_configured_ledger_name():
    sql = "UPDATE ops.schema_history SET status = 'x' WHERE version = '1';"
    assert not findings(sql, "ledger-write")
    assert findings(sql, "ledger-write", ledger="ops.schema_history")
    assert findings("DELETE FROM schema_history WHERE version = '1';", "ledger-write", ledger="ops.schema_history")


def test_findings_are_sorted_by_file_then_position():
    report = lint([LintInput("b.sql", "DROP INDEX x;\nCREATE INDEX i ON t (a);"),
                   LintInput("a.sql", "CREATE INDEX j ON t (a);")])
    assert [(f.location.file, f.location.line) for f in loud(report)] == [("b.sql", 1), ("b.sql", 2), ("a.sql", 1)]


# --- helpers of the rules -------------------------------------------------------------

@pytest.mark.parametrize("expr,volatile", [
    ("now()", False), ("CURRENT_TIMESTAMP", False), ("'x'", False), ("'{}'::jsonb", False), ("1 + 2", False),
    ("lower('A')", False), ("coalesce(NULL, 1)", False), ("ARRAY[1, 2]", False),
    ("random()", True), ("gen_random_uuid()", True), ("uuid_generate_v4()", True), ("clock_timestamp()", True),
    ("nextval('s')", True), ("timeofday()", True), ("my_func()", True), ("lower(random()::text)", True),
    ("(SELECT 1)", True),
])
def test_volatility(expr, volatile):
    node = parse_one(f"SELECT {expr}").targetList[0].val
    assert nodes.is_volatile(node) is volatile


@pytest.mark.parametrize("where,ok", [
    ("id = 1", True), ("id BETWEEN 1 AND 1000", True), ("id >= 1 AND id < 1000", True), ("id IN (1, 2)", True),
    ("customer_id = 7 AND status = 'x'", True), ("id IN (SELECT id FROM t WHERE x LIMIT 100)", True),
    ("1000 > id", True), ("id = 1 OR id = 2", True),
    ("migrated = false", False), ("id > 1000", False), ("tenant_id = 'x'", False),
    ("id IN (SELECT id FROM t)", False), ("id = other_id", False), ("id = 1 OR status = 'x'", False),
])
def test_key_range_conditions(where, ok):
    sql = f"UPDATE orders SET note = 'x' WHERE {where};"
    if ok:
        assert_lint_ok(sql, "unbatched-dml")
    else:
        assert_lint_errors(sql, "unbatched-dml", (1, 1))


@pytest.mark.parametrize("old,new,verdict", [
    ("varchar(50)", "varchar(100)", None), ("varchar(50)", "text", None), ("varchar(50)", "varchar", None),
    ("text", "varchar", None), ("numeric(10,2)", "numeric(12,2)", None), ("cidr", "inet", None),
    ("timestamp(3)", "timestamp(6)", None), ("citext", "text", None),
    ("varchar(100)", "varchar(50)", "error"), ("integer", "bigint", "error"), ("numeric(10,2)", "numeric(10,3)", "error"),
    ("text", "integer", "error"), ("timestamp", "timestamptz", "warning"),
])
def test_alter_column_type_with_a_known_old_type(old, new, verdict):
    prelude = (f"ALTER TABLE t ADD COLUMN c {old};",)
    sql = f"ALTER TABLE t ALTER COLUMN c TYPE {new};"
    if verdict is None:
        assert_lint_ok(sql, "alter-column-type", prelude=prelude)
    else:
        assert_lint_errors(sql, "alter-column-type", (1, 1), severity=verdict, prelude=prelude)


def test_alter_column_type_with_an_unknown_old_type():
    assert_lint_errors("ALTER TABLE t ALTER COLUMN c TYPE text;", "alter-column-type", (1, 1), severity="warning")
    assert_lint_errors("ALTER TABLE t ALTER COLUMN c TYPE bigint;", "alter-column-type", (1, 1), severity="error")
    assert_lint_errors("ALTER TABLE t ALTER COLUMN c TYPE text USING c || 'x';", "alter-column-type", (1, 1),
                       severity="error", prelude=("ALTER TABLE t ADD COLUMN c varchar(5);",))


def test_regex_forms():
    for sql in ("SELECT regexp_replace(a, '\\\\d+', 'x') FROM t;", "SELECT a ~* '\\\\w' FROM t;",
                "SELECT a FROM t WHERE a !~ '^\\\\s';", "SELECT a SIMILAR TO '\\\\d%' FROM t;"):
        assert findings(sql, "regex-double-backslash"), sql
    for sql in ("SELECT regexp_replace(a, '(x)', '\\\\1') FROM t;",   # replacement, not the pattern
                "SELECT a ~ E'\\\\d' FROM t;", "SELECT a LIKE '%\\\\%' FROM t;",
                "SELECT a ~ '\\\\\\\\server' FROM t;"):                    # four: a literal backslash, twice
        assert not findings(sql, "regex-double-backslash"), sql
    assert findings("SELECT a ~ $$\\\\d$$ FROM t;", "regex-double-backslash")


def test_tenant_table_with_a_policy_but_no_rls():
    sql = ("CREATE TABLE items (tenant_id uuid);\n"
           "CREATE POLICY p ON items USING (tenant_id = get_current_tenant_id());")
    [f] = assert_lint_errors(sql, "tenant-table-without-rls", (1, 1))
    assert "policy does nothing" in f.message


@pytest.mark.parametrize("sql,at", [
    ("CREATE TABLE t (\n    a_column_name_that_goes_on_and_on_well_past_the_sixty_three_byte_limit int);", (2, 5)),
    ('ALTER TABLE t ADD CONSTRAINT "Quoted constraint name that is far too long for PostgreSQL to keep" '
     "CHECK (a > 0) NOT VALID;", (1, 31)),
    ("CREATE POLICY tenant_isolation_policy_for_the_inventory_items_table_of_every_tenant ON t USING (true);",
     (1, 15)),
])
def test_identifiers_too_long(sql, at):
    [f] = assert_lint_errors(sql, "identifier-too-long", at)
    assert "truncates it to 63" in f.message


def test_missing_rollback_is_skipped_when_unknown_or_for_rollbacks():
    assert not findings("SELECT 1;", "missing-rollback")
    assert not findings("SELECT 1;", "missing-rollback", has_rollback=False, is_rollback=True)


# --- architecture ----------------------------------------------------------------

LINT = Path(__file__).resolve().parents[3] / "src" / "pgshift" / "lint"


def test_lint_imports_no_pglast_psycopg_click_or_rich():
    for path in LINT.rglob("*.py"):
        tree = pyast.parse(path.read_text())
        for node in pyast.walk(tree):
            names = []
            if isinstance(node, pyast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, pyast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("pglast", "psycopg", "click", "rich"), f"{path}: imports {name}"


def test_importing_pgshift_lint_is_cheap():
    code = "import sys, pgshift.lint; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pglast', 'psycopg')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_parallel_lint_finds_exactly_what_sequential_lint_finds():
    from pgshift.commands import lint as api
    from pgshift.lint.engine import LintInput, LintOptions

    inputs = [LintInput(f"migrations/2025010100{i:04d}_m.sql",
                        f"CREATE INDEX i{i} ON t (a);\nALTER TABLE t ADD COLUMN c{i} int NOT NULL;\n", has_rollback=i % 2 == 0)
              for i in range(240)]
    options = LintOptions()
    parallel = api._lint_each(inputs, options)
    sequential = api._lint_one_by_one(inputs, options)
    assert [r.findings for r in parallel] == [r.findings for r in sequential]
    assert sum(len(r.findings) for r in parallel) >= 480


def test_lint_over_many_files_names_the_file_that_is_not_utf8(tmp_path):
    from pgshift.commands import lint as api
    from pgshift.errors import DiscoveryError

    folder = tmp_path / "migrations"
    folder.mkdir()
    for i in range(260):
        (folder / f"2025010100{i:04d}_m{i}.sql").write_text(f"CREATE TABLE t{i} (id bigint PRIMARY KEY);\n")
    (folder / "20250101000250_m250.sql").write_bytes(b"SELECT '\xff';\n")
    with pytest.raises(DiscoveryError) as err:
        api.lint(tmp_path, [str(folder)], "json")
    assert "migrations/20250101000250_m250.sql is not UTF-8" in err.value.message
    (folder / "20250101000250_m250.sql").write_text("SELECT 1;\n")
    report, text = api.lint(tmp_path, [str(folder)], "json")
    assert report.files == 260 and report.statements == 260
    assert {f.rule for f in report.findings} == {"missing-rollback"}


def test_the_version_linted_for_comes_from_the_flag_then_environment_then_config_then_server(tmp_path):
    from pgshift import config
    from pgshift.commands import lint as api

    (tmp_path / "pgshift.toml").write_text("[pgshift]\ntarget_version = 14\n[lint]\ntarget_version = 13\n"
                                           "[env.dev]\ntarget_version = 12\n[env.other]\n")
    cfg = config.load(tmp_path)
    dev, other = cfg.environment("dev"), cfg.environment("other")
    assert api._lint_options(cfg, 16, dev, 15).target_version == 16
    assert api._lint_options(cfg, None, dev, 15).target_version == 12
    assert api._lint_options(cfg, None, other, 15).target_version == 13
    (tmp_path / "pgshift.toml").write_text("[env.dev]\n")
    bare = config.load(tmp_path)
    assert api._lint_options(bare, None, bare.environment("dev"), 15).target_version == 15
    assert api._lint_options(bare).target_version is None  # the engine takes the newest
