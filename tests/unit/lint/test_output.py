"""Rendering: text, json, sarif 2.1.0, github annotations."""
from __future__ import annotations

import json

import pytest

from pgshift.lint.output import render
from pgshift.lint.registry import all_rules

from .helpers import RELPATH, lint_sql

SQL = "SELECT 1;\nCREATE INDEX i ON orders (a);\nDROP INDEX j;\n-- pgshift:ignore truncate\nSELECT 2;"


@pytest.fixture(scope="module")
def report():
    return lint_sql(SQL, disable=("require-lock-timeout",))


def test_text(report):
    lines = render(report, "text").splitlines()
    assert lines[0].startswith(f"{RELPATH}:2:1  error  require-concurrent-index  CREATE INDEX on orders without")
    assert lines[1].startswith("    hint: use CREATE INDEX CONCURRENTLY")
    assert lines[2].startswith(f"{RELPATH}:3:1  warning  require-concurrent-drop-index  ")
    assert lines[4].startswith(f"{RELPATH}:4:1  warning  unused-ignore  ")
    assert lines[-1] == "1 error, 2 warnings, 0 info in 1 file (PostgreSQL 18)"


def test_json(report):
    data = json.loads(render(report, "json"))
    assert data["has_errors"] is True
    assert data["findings"][0] == {
        "rule": "require-concurrent-index", "severity": "error", "file": RELPATH, "line": 2, "col": 1,
        "message": report.findings[0].message, "hint": report.findings[0].hint}
    assert [f["rule"] for f in data["unused_ignores"]] == ["unused-ignore"]
    assert data["summary"]["error"] == 1 and data["summary"]["files"] == 1


def test_sarif(report):
    log = json.loads(render(report, "sarif"))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in all_rules()]
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    results = run["results"]
    assert len(results) == 3
    first = results[0]
    assert first["ruleId"] == "require-concurrent-index" and first["level"] == "error"
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"]
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 1}
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == RELPATH
    assert "Hint:" in first["message"]["text"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["add-trigger"] == "note"


def test_github(report):
    lines = render(report, "github").splitlines()
    assert lines[0].startswith(f"::error file={RELPATH},line=2,col=1,title=require-concurrent-index::CREATE INDEX")
    assert "%0A" in lines[0]          # the hint, on the annotation's second line
    assert lines[1].startswith("::warning file=")
    assert len(lines) == 3


def test_github_escapes_properties():
    report = lint_sql("CREATE INDEX i ON orders (a);", relpath="dir,with:odd%name.sql")
    line = render(report, "github").splitlines()[0]
    assert line.startswith("::error file=dir%2Cwith%3Aodd%25name.sql,line=1,col=1,")


def test_empty_report():
    report = lint_sql("SELECT 1;")
    assert render(report, "text") == "0 errors, 0 warnings, 0 info in 1 file (PostgreSQL 18)\n"
    assert render(report, "github") == ""
    assert json.loads(render(report, "sarif"))["runs"][0]["results"] == []


def test_unknown_format(report):
    with pytest.raises(ValueError):
        render(report, "xml")
