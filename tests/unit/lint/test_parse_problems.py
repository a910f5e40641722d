"""The engine turns what stops a file into findings by the problem's fields (kind, offset,
reason, meta), never by reading its message."""
from __future__ import annotations

import dataclasses

import pytest

from pgshift.lint import engine
from pgshift.lint.engine import LintInput, lint
from pgshift.sql import parse_or_problem


def _with_messages_replaced(monkeypatch):
    """parse_or_problem whose problems all say the same meaningless words."""
    def reworded(relpath, text, **kw):
        parsed, problem = parse_or_problem(relpath, text, **kw)
        if problem is not None:
            problem = dataclasses.replace(problem, message="words lint must not read")
        return parsed, problem
    monkeypatch.setattr(engine, "parse_or_problem", reworded)


def _rules(text: str) -> list[tuple[str, int]]:
    report = lint([LintInput("m.sql", text)])
    return [(f.rule, f.location.line) for f in report.findings]


@pytest.mark.parametrize("text, expected", [
    ("BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\n\\set x 1\n-- pgshift:nope\nDROP TABLE t;\n"
     "RAISE NOTICE 'x';\n",
     [("concurrently-in-transaction", 2), ("psql-meta-command", 4), ("invalid-directive", 5), ("drop-table", 6),
      ("syntax-error", 7)]),
    ("BEGIN;\nVACUUM t;\nCOMMIT;\nDROP TABLE t;\n", [("concurrently-in-transaction", 2), ("drop-table", 4)]),
    ("SELECT 1;\nSELEC 1;\nDROP TABLE t;\n", [("syntax-error", 2)]),
    ("SELECT 1;\nSELECT 2 +\n", [("syntax-error", 2)]),
])
def test_recovery_depends_on_the_kind_not_the_message(monkeypatch, text, expected):
    assert _rules(text) == expected
    _with_messages_replaced(monkeypatch)
    assert _rules(text) == expected


def test_a_statement_refused_in_a_transaction_is_still_linted_by_the_rules():
    report = lint([LintInput("m.sql", "BEGIN;\nDROP INDEX CONCURRENTLY i;\nCOMMIT;\n")])
    [f] = [f for f in report.findings if f.rule == "concurrently-in-transaction"]
    assert f.message.startswith("DROP INDEX CONCURRENTLY cannot run inside a transaction block")
