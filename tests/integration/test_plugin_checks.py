"""The pytest plugin in a scratch project (pytester, a pytest of its own on this session's server):
``migrated_database`` is migrated once and isolated between tests, and ``pytest --pgshift``
fails for a planted broken rollback, a duplicate version and a lint error, each by name, and
passes on a clean project. Last, the example project's own tests (examples/thorbis/tests)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLE_TESTS = Path(__file__).resolve().parents[2] / "examples" / "thorbis" / "tests"
CHECKS = ["history_is_linear", "migrations_apply", "rollbacks_round_trip", "lint_has_no_error",
          "schema_dump_is_current"]

CLEAN = {
    "20250101000001_create_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
    "rollbacks/20250101000001_rollback_create_users.sql": "DROP TABLE users;\n",
    "20250101000002_add_email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "rollbacks/20250101000002_rollback_add_email.sql": "ALTER TABLE users DROP COLUMN email;\n",
}


@pytest.fixture
def scratch(pytester, pgshift_server_url, monkeypatch):
    """A project folder in pytester's: pgshift.toml and migrations/ (``scratch(files)``)."""
    monkeypatch.setenv("PGSHIFT_TEST_SERVER_URL", pgshift_server_url)   # reuse this session's server

    def make(files: dict[str, str]) -> Path:
        (pytester.path / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
        for rel, text in files.items():
            path = pytester.path / "migrations" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return pytester.path

    return make


def _run(pytester, *args: str):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfEs", *args)


def _failed_checks(result) -> list[str]:
    return sorted(line.split("::", 1)[1].split(" ", 1)[0] for line in result.outlines
                  if line.startswith("FAILED pgshift.toml::"))


def test_migrated_database_is_migrated_once_and_isolated_between_tests(pytester, scratch):
    scratch(CLEAN)
    pytester.makepyfile(test_rows=textwrap.dedent('''
        from pgshift import api

        seen = []

        def test_writes_a_row(migrated_database):
            assert migrated_database.versions == ("20250101000001", "20250101000002")
            with migrated_database.connect() as conn:
                conn.execute("INSERT INTO users (id, name, email) VALUES (1, 'ada', 'ada@example.com')")
                assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
                seen.append((migrated_database.name, conn.execute(
                    "SELECT version, started_at FROM pgshift.migration_log ORDER BY id").fetchall()))

        def test_does_not_see_it(migrated_database):
            with migrated_database.connect() as conn:
                assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
                ledger = conn.execute("SELECT version, started_at FROM pgshift.migration_log ORDER BY id").fetchall()
            name, first = seen[0]
            assert migrated_database.name != name, "each test has its own copy"
            assert ledger == first and len(ledger) == 2, "both copies come from one migration: the same ledger rows"
            assert api.status(migrated_database.project).to_dict()["counts"]["pending"] == 0

        def test_the_empty_database_and_the_project(pgshift_database, pgshift_project):
            with pgshift_database.connect() as conn:
                assert conn.execute("SELECT to_regclass('users')").fetchone() == (None,)
            assert api.up(pgshift_project).run.steps, "the project migrates this test's empty database"
            assert pgshift_project.url() == pgshift_database.url
            with pgshift_database.connect() as conn:
                assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    '''))
    result = _run(pytester, "-q")
    result.assert_outcomes(passed=3)


def test_the_checks_pass_on_a_clean_project(pytester, scratch):
    scratch(CLEAN)
    result = _run(pytester, "--pgshift", "-v")
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines([f"pgshift.toml::{name} PASSED*" for name in CHECKS[:4]]
                                + ["pgshift.toml::schema_dump_is_current SKIPPED*"])
    result.stdout.fnmatch_lines(["SKIPPED [[]1] pgshift.toml: `dump_schema` is not set in the project's configuration*"])
    assert _run(pytester, "-q").parseoutcomes().get("passed", 0) == 0, "without --pgshift: no check"
    _run(pytester, "--pgshift", "pgshift.toml::lint_has_no_error").assert_outcomes(passed=1)   # by its node id


def test_a_broken_rollback_fails_the_round_trip(pytester, scratch):
    scratch({**CLEAN, "rollbacks/20250101000002_rollback_add_email.sql": "-- forgot it\nSELECT 1;\n"})
    result = _run(pytester, "--pgshift")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    assert _failed_checks(result) == ["rollbacks_round_trip"]
    result.stdout.fnmatch_lines(["*pgshift check rollbacks_round_trip*",
                                 "1 of 2 rollback(s) do not round-trip:",
                                 "20250101000002 add_email: failed*",
                                 "*column public.users.email exists after its rollback but not before the migration*"])


def test_a_duplicate_version_fails_the_history(pytester, scratch):
    scratch({**CLEAN, "20250101000002_add_phone.sql": "ALTER TABLE users ADD COLUMN phone text;\n"})
    result = _run(pytester, "--pgshift", "-k", "history_is_linear")
    result.assert_outcomes(failed=1, deselected=4)
    assert _failed_checks(result) == ["history_is_linear"]
    result.stdout.fnmatch_lines(["*duplicate version 20250101000002: 20250101000002_add_email.sql, "
                                 "20250101000002_add_phone.sql*"])
    # nothing can be applied either: the other checks say the same, and migrated_database errors
    result = _run(pytester, "--pgshift")
    assert _failed_checks(result) == sorted(CHECKS[:4])


def test_a_lint_error_fails_lint(pytester, scratch):
    scratch({**CLEAN, "20250101000003_name_required.sql": "ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n",
             "rollbacks/20250101000003_rollback_name_required.sql":
                 "ALTER TABLE users ALTER COLUMN name DROP NOT NULL;\n"})
    result = _run(pytester, "--pgshift")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    assert _failed_checks(result) == ["lint_has_no_error"]
    result.stdout.fnmatch_lines(["lint found 1 error(s):",
                                 "migrations/20250101000003_name_required.sql:1:1  set-not-null  *"])


def test_history_finds_a_future_version_and_a_copied_header(pytester, scratch):
    scratch({**CLEAN,
             "20990101000000_later.sql": "SELECT 1;\n",
             "20250101000003_copied.sql": "-- Migration: 20250101000002_add_email.sql\nSELECT 1;\n"})
    result = _run(pytester, "--pgshift", "-k", "history_is_linear")
    assert _failed_checks(result) == ["history_is_linear"]
    result.stdout.fnmatch_lines(["2 problem(s) in the history:",
                                 "migrations/20250101000003_copied.sql: its header says "
                                 "`-- Migration: 20250101000002_add_email.sql`*",
                                 "migrations/20990101000000_later.sql: version 20990101000000 is in the future*"])


def test_a_failing_migration_fails_migrations_apply_and_errors_migrated_database(pytester, scratch):
    scratch({**CLEAN, "20250101000003_broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n"})
    pytester.makepyfile(test_uses_it="def test_it(migrated_database):\n    pass\n")
    result = _run(pytester, "--pgshift", "-k", "migrations_apply or test_it")
    result.assert_outcomes(failed=1, errors=1, deselected=4)
    assert _failed_checks(result) == ["migrations_apply"]
    result.stdout.fnmatch_lines(["the migrations do not apply on an empty database:",
                                 "migrations/20250101000003_broken.sql*nowhere*",
                                 "ERROR test_uses_it.py::test_it - Failed: pgshift: the project's migrations*"])


def test_the_project_comes_from_the_option_or_the_ini(pytester, scratch, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    scratch(CLEAN)
    (pytester.path / "pgshift.toml").rename(elsewhere / "pgshift.toml")
    (pytester.path / "migrations").rename(elsewhere / "migrations")
    result = _run(pytester, "--pgshift")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--pgshift: no pgshift.toml*--pgshift-project*"])
    result = _run(pytester, "--pgshift", "--pgshift-project", str(elsewhere), "-k", "history or lint")
    result.assert_outcomes(passed=2, deselected=3)
    pytester.makeini(f"[pytest]\npgshift_project = {elsewhere}\n")
    result = _run(pytester, "--pgshift", "-k", "history")
    result.assert_outcomes(passed=1, deselected=4)


def test_the_example_projects_own_tests_pass(pytester, pgshift_server_url, monkeypatch):
    """examples/thorbis/tests: migrated_database and --pgshift (from its pytest.ini) on the example."""
    monkeypatch.setenv("PGSHIFT_TEST_SERVER_URL", pgshift_server_url)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-c", str(EXAMPLE_TESTS / "pytest.ini"),
                                           "--rootdir", str(EXAMPLE_TESTS), str(EXAMPLE_TESTS), "-v")
    result.assert_outcomes(passed=7, skipped=1)
    result.stdout.fnmatch_lines(["*test_a_tenant_sees_only_its_own_customers PASSED*", "*::rollbacks_round_trip PASSED*"])
