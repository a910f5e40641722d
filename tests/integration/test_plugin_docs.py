"""docs/library.md and docs/pytest.md run as written: the library's walk-through on two empty
databases of this session's server, the plugin's example in a pytest of its own (pytester)."""
from __future__ import annotations

import re
from pathlib import Path

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _python_blocks(path: Path) -> list[tuple[int, str]]:
    """Each ```python block of *path*: (the line it starts on, its code)."""
    text = path.read_text()
    return [(text.count("\n", 0, m.start(1)), m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, re.M | re.S)]


def test_library_md_runs_as_written(pgshift_new_database, tmp_path, monkeypatch):
    urls = {"DATABASE_URL": pgshift_new_database("library"), "RESTORE_URL": pgshift_new_database("restored")}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))   # the embedded servers' registry
    blocks = _python_blocks(DOCS / "library.md")
    assert len(blocks) >= 12
    namespace: dict = {}
    for start, code in blocks:
        for name, url in urls.items():
            code = re.sub(rf'^{name} = "[^"]*"', f"{name} = {url!r}", code, flags=re.M)
        # padded so that a traceback names the line of docs/library.md
        exec(compile("\n" * start + code, str(DOCS / "library.md"), "exec"), namespace)
    assert namespace["DATABASE_URL"] == urls["DATABASE_URL"], "the setup block names the database"


# the names of pgshift.api.__all__ that are functions but need no example of their own, and why
# (classes, the options and results, are shown through the verbs that take and return them)
NOT_VERBS: dict[str, str] = {}


def test_library_md_has_a_block_calling_each_verb():
    import inspect

    from pgshift import api

    code = "\n".join(block for _, block in _python_blocks(DOCS / "library.md"))
    verbs = [name for name in api.__all__ if not inspect.isclass(getattr(api, name))]
    assert {"up", "plan", "squash", "fleet_up", "fleet_status"} <= set(verbs)
    assert set(NOT_VERBS) <= set(verbs), "an exemption names no function of the API"
    missing = [name for name in verbs if name not in NOT_VERBS and not re.search(rf"\bapi\.{name}\(", code)]
    assert not missing, f"docs/library.md has no python block calling api.{{{', '.join(missing)}}}"


def _files(path: Path) -> dict[str, str]:
    """The blocks of *path* whose first line names a file (``# tests/x.py``, ``-- migrations/y.sql``)."""
    text = path.read_text()
    found = {}
    for m in re.finditer(r"^```\w+\n(?:#|--) ([\w./-]+\.(?:py|sql|toml|ini))\n(.*?)^```", text, re.M | re.S):
        found[m.group(1)] = m.group(2)
    return found


def test_pytest_md_example_runs_as_written(pytester, pgshift_server_url, monkeypatch):
    files = _files(DOCS / "pytest.md")
    assert {"pgshift.toml", "pytest.ini", "tests/test_customers.py"} <= set(files)
    for rel, text in files.items():
        (pytester.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / rel).write_text(text)
    monkeypatch.setenv("PGSHIFT_TEST_SERVER_URL", pgshift_server_url)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=7, skipped=1)   # as the page says
    result.stdout.fnmatch_lines(["pgshift.toml ....s*", "tests/test_customers.py ...*",
                                 "SKIPPED [[]1] pgshift.toml: `dump_schema` is not set in the project's configuration*"])
