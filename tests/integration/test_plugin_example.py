"""The pytest plugin's docstring example runs as written, in a pytest of its own."""
from __future__ import annotations

import textwrap

from pgshift.testing import plugin

pytest_plugins = ["pytester"]


def _example() -> str:
    doc = plugin.__doc__
    start = doc.index("::\n") + 3
    end = doc.index("\nFixtures:")
    return textwrap.dedent(doc[start:end]).strip() + "\n"


def test_the_docstring_example_passes(pytester, pgshift_server_url, monkeypatch):
    example = _example()
    assert "api.up(project)" in example and "def test_" in example
    pytester.makepyfile(test_example=example)
    (pytester.path / "db" / "migrations").mkdir(parents=True)
    (pytester.path / "db" / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    (pytester.path / "db" / "migrations" / "20250101000001_create_users.sql").write_text(
        "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    monkeypatch.setenv("PGSHIFT_TEST_SERVER_URL", pgshift_server_url)   # reuse this session's server
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_an_example_that_breaks_fails(pytester, pgshift_server_url, monkeypatch):
    """The same run with a migration that cannot apply fails: the check above is not vacuous."""
    pytester.makepyfile(test_example=_example())
    (pytester.path / "db" / "migrations").mkdir(parents=True)
    (pytester.path / "db" / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    (pytester.path / "db" / "migrations" / "20250101000001_broken.sql").write_text("CREATE TABLE (;\n")
    monkeypatch.setenv("PGSHIFT_TEST_SERVER_URL", pgshift_server_url)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
