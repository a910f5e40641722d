"""The migration guide's templates (tests/fixtures/guide, verbatim): what a DBA wants to hear."""
from __future__ import annotations

from pathlib import Path

import pytest

from pgshift.lint.engine import LintInput, LintOptions, lint

GUIDE = Path(__file__).resolve().parents[2] / "fixtures" / "guide" / "migrations"
SCHEMA = "migrations/20250115143000_add_inventory_management.sql"
DATA = "migrations/20250115150000_migrate_legacy_customer_data.sql"
INDEX = "migrations/20250115155000_optimize_query_performance.sql"
ROLLBACK = "migrations/rollbacks/20250115143000_rollback_inventory_management.sql"


def _input(relpath: str, **kw) -> LintInput:
    return LintInput(relpath, (GUIDE.parent / relpath).read_text(), **kw)


@pytest.fixture(scope="module")
def run():
    """The three migrations as one pending run (only the schema one has a rollback file)."""
    report = lint([_input(SCHEMA, has_rollback=True), _input(DATA, has_rollback=False),
                   _input(INDEX, has_rollback=False)], LintOptions(ledger="shared.migration_log"))
    return report


def _found(report, relpath):
    return [(f.rule, f.location.line, f.location.col) for f in report.all_findings() if f.location.file == relpath]


def test_schema_template(run):
    assert _found(run, SCHEMA) == [
        ("psql-meta-command", 7, 1),    # \c thorbis_business_os;
        ("ledger-write", 13, 1),        # INSERT INTO shared.migration_log
        ("ledger-write", 116, 1),       # UPDATE shared.migration_log
    ]
    meta = next(f for f in run.findings if f.rule == "psql-meta-command")
    assert meta.severity == "warning" and "\\c thorbis_business_os" in meta.message


def test_schema_template_new_tables_are_exempt(run):
    """Indexes, triggers, policies, UNIQUE and CHECK on the tables the file creates lock nobody."""
    rules = {f.rule for f in run.findings if f.location.file == SCHEMA}
    assert not rules & {"require-concurrent-index", "add-trigger", "create-policy", "add-unique-constraint",
                        "tenant-table-without-rls", "enable-rls-without-policy", "policy-without-tenant"}


def test_data_template(run):
    assert _found(run, DATA) == [
        ("missing-rollback", 1, 1),
        ("ledger-write", 9, 1),
        ("regex-double-backslash", 29, 43),               # SUBSTRING(full_name FROM '^([^\\s]+)')
        ("plpgsql-batch-loop-without-commit", 85, 5),     # FOR batch_rec IN ... LOOP, no COMMIT
        ("unbatched-dml", 127, 1),                        # UPDATE legacy_customers ... WHERE id IN (SELECT ...)
        ("ledger-write", 132, 1),
    ]
    regex = next(f for f in run.findings if f.rule == "regex-double-backslash")
    assert "'^([^\\s]+)'" in regex.hint


def test_index_template(run):
    cic_lines = [26, 30, 34, 39, 43, 48, 53, 58, 62]
    assert _found(run, INDEX) == (
        [("missing-rollback", 1, 1), ("ledger-write", 9, 1)]
        + [("concurrently-in-transaction", line, 1) for line in cic_lines]
        + [("ledger-write", 66, 1)])
    first = next(f for f in run.findings if f.rule == "concurrently-in-transaction")
    assert first.severity == "error" and "BEGIN at line 6" in first.message
    assert "without BEGIN/COMMIT" in first.hint


def test_rollback_template():
    report = lint([_input(ROLLBACK, is_rollback=True)])
    assert _found(report, ROLLBACK) == [
        ("ledger-write", 12, 1),
        ("ledger-write", 50, 1),
        ("ledger-write", 55, 1),
        ("syntax-error", 61, 1),        # RAISE NOTICE after COMMIT, outside a DO block
    ]
    error = next(f for f in report.findings if f.rule == "syntax-error")
    assert 'at or near "RAISE"' in error.message
    assert "DO $$ BEGIN RAISE NOTICE" in error.hint
    assert report.has_errors


def test_guide_run_has_errors(run):
    assert run.has_errors
