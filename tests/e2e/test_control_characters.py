"""A crafted file name cannot write its own line into CI output: control characters in names are
escaped in every output format (text, github, json, sarif, and the events on stderr)."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli, write_project

EVIL = "x\n::error file=evil.sql,line=1::pwned\x1b[2J"


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif"])
def test_lint_output_escapes_a_newline_in_a_file_name(tmp_path, fmt):
    root = write_project(tmp_path / "proj", {})
    folder = root / "more"
    folder.mkdir()
    (folder / f"{EVIL}.sql").write_text("CREATE INDEX i ON t (a);\n")
    result = run_cli("lint", str(folder), "--format", fmt, "--project", str(root), cwd=root)
    assert result.code in (0, 1), result.all
    lines = (result.out + result.err).splitlines()
    assert not any(line.startswith("::error file=evil.sql") for line in lines), result.all
    assert "\x1b[2J" not in result.out + result.err
    shown = {"text": "x\\n::error file=evil.sql,line=1::pwned\\x1b[2J.sql",       # the escape, as printed
             "json": "x\\\\n::error file=evil.sql,line=1::pwned\\\\x1b[2J.sql",  # its backslashes in JSON
             "github": "x\\n%3A%3Aerror file=evil.sql%2Cline=1%3A%3Apwned\\x1b[2J.sql",  # and GitHub's own
             "sarif": None}[fmt]
    if shown is not None:
        assert shown in result.out, result.out
    else:   # SARIF: the file's URI holds no control character
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in json.loads(result.out)["runs"][0]["results"]]
        assert uris and all(u.isprintable() for u in uris), uris


def test_a_stray_folder_with_a_newline_is_named_escaped(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "proj", {"20250101000001_a.sql": "SELECT 1;\n"})
    stray = root / "migrations" / "sub\n::warning::injected"
    stray.mkdir()
    (stray / "20250101000002_b.sql").write_text("SELECT 2;\n")
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert not any(line.startswith("::warning::injected") for line in result.err.splitlines())
    assert "migrations/sub\\n::warning::injected/ holds .sql files" in result.err
    status = json.loads(run_cli("--json", "status", "--project", str(root), "--database-url",
                                pgshift_database_url).out)
    assert status["counts"]["applied"] == 1
