"""What a file's text itself may hold: bytes the parser cannot see, and lines too long to
print whole."""
from __future__ import annotations

from conftest import catalog_fingerprint, run_cli


def test_a_nul_byte_stops_everything_at_its_line_and_column(project, pgshift_database_url):
    root = project({"20250101000001_nul.sql": "CREATE TABLE n1 (id int);\n"})
    (root / "migrations" / "20250101000001_nul.sql").write_bytes(
        b"CREATE TABLE n1 (id int);\nSELECT 1;\x00\nCREATE TABLE n2 (id int);\n")
    before = catalog_fingerprint(pgshift_database_url)
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2, result.all
    assert "migrations/20250101000001_nul.sql:2:10" in result.err and "NUL byte" in result.err
    assert catalog_fingerprint(pgshift_database_url) == before  # nothing, not even the ledger
    lint = run_cli("lint", "--project", str(root))
    assert lint.code == 1 and "migrations/20250101000001_nul.sql:2:10  error  syntax-error" in lint.out


def test_an_error_on_a_very_long_line_shows_a_window_of_it(project, pgshift_database_url):
    line = "SELECT " + ", ".join(f"{i} AS c{i}" for i in range(20_000)) + ", nosuch;\n"
    root = project({"20250101000001_wide.sql": line})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1
    assert "nosuch" in result.err
    assert len(result.err) < 5_000, len(result.err)


def test_a_timeout_flag_out_of_postgresqls_range_is_a_usage_error(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    before = catalog_fingerprint(pgshift_database_url)
    for value, words in (("3000000s", "more than PostgreSQL accepts"), ("1us", "less than 1ms")):
        result = run_cli("up", "--lock-timeout", value, "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == 2 and words in result.err and "Traceback" not in result.err, result.all
    assert catalog_fingerprint(pgshift_database_url) == before
