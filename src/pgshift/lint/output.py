"""Render a LintReport: text, json, sarif (2.1.0) or github (workflow annotations)."""
from __future__ import annotations

import json

from pgshift.model import Finding

from .._version import __version__
from .registry import all_rules
from .results import LintReport

FORMATS = ("text", "json", "sarif", "github")
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render(report: LintReport, fmt: str = "text") -> str:
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return _dumps(report.to_dict())
    if fmt == "sarif":
        return _dumps(sarif(report))
    if fmt == "github":
        return render_github(report)
    raise ValueError(f"unknown lint output format {fmt!r} (one of {', '.join(FORMATS)})")


def render_text(report: LintReport) -> str:
    lines = []
    for f in report.all_findings():
        lines.append(f"{f.location}  {f.severity}  {f.rule}  {f.message}")
        if f.hint:
            lines.append(f"    hint: {f.hint}")
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s if counts[s] == 1 else s + 's'}" if s != "info" else f"{counts[s]} info"
                        for s in ("error", "warning", "info"))
    files = f"{report.files} file{'s' if report.files != 1 else ''}"
    lines.append(f"{summary} in {files} (PostgreSQL {report.target_version})")
    return "\n".join(lines) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: LintReport) -> str:
    out = []
    for f in report.all_findings():
        level = _GITHUB_LEVEL.get(f.severity, "warning")
        message = f.message + (f"\n{f.hint}" if f.hint else "")
        out.append(f"::{level} file={_escape_property(f.location.file)},line={f.location.line},"
                   f"col={f.location.col},title={_escape_property(f.rule)}::{_escape_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


def _result(f: Finding, index: dict[str, int]) -> dict:
    text = f.message + (f" Hint: {f.hint}" if f.hint else "")
    result = {
        "ruleId": f.rule,
        "level": _SARIF_LEVEL.get(f.severity, "warning"),
        "message": {"text": text},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f.location.file.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(1, f.location.line), "startColumn": max(1, f.location.col)},
        }}],
    }
    if f.rule in index:
        result["ruleIndex"] = index[f.rule]
    return result


def sarif(report: LintReport) -> dict:
    """A SARIF 2.1.0 log (GitHub code scanning and other tools load it)."""
    rules = []
    index = {}
    for i, rule in enumerate(all_rules()):
        index[rule.id] = i
        rules.append({
            "id": rule.id,
            "name": "".join(part.capitalize() for part in rule.id.split("-")),
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.summary},
            "help": {"text": rule.doc, "markdown": rule.doc},
            "helpUri": f"https://github.com/pgshift/pgshift/blob/main/docs/rules.md#{rule.id}",
            "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
            "properties": {"tags": ["postgresql", "migrations"], "versions": rule.versions_text},
        })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pgshift", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/pgshift/pgshift", "rules": rules}},
            "results": [_result(f, index) for f in report.all_findings()],
            "columnKind": "unicodeCodePoints",
        }],
    }


def _dumps(data) -> str:
    """Indented for a person when small; compact (the C encoder, many times faster) when large."""
    findings = len(data.get("findings", ())) if "findings" in data else sum(
        len(run.get("results", ())) for run in data.get("runs", ()))
    if findings > 500:
        return json.dumps(data, separators=(",", ":")) + "\n"
    return json.dumps(data, indent=2) + "\n"
