"""Test helpers for lint rules, after squawk's lint_ok / lint_errors.

Each helper refuses the vacuous case: ``assert_lint_ok`` fails when the SQL
does not parse or holds no statement of a kind the rule looks at, and
``assert_lint_ignored`` first checks that without the ignore the rule fires.
"""
from __future__ import annotations

import re
import textwrap

from pgshift.lint.engine import LintInput, LintOptions, LintReport, dispatch_keys, lint
from pgshift.lint.registry import get_rule
from pgshift.model import Finding
from pgshift.sql import parse_file

RELPATH = "migrations/20250101000000_test.sql"


def lint_sql(sql: str, *, target: int | None = None, prelude: tuple[str, ...] = (), relpath: str = RELPATH,
             has_rollback: bool | None = None, is_rollback: bool = False, **options) -> LintReport:
    """Lint *sql* as the last file of a run whose earlier files are *prelude*."""
    inputs = [LintInput(f"migrations/2024010100000{i}_prelude.sql", textwrap.dedent(p))
              for i, p in enumerate(prelude)]
    inputs.append(LintInput(relpath, textwrap.dedent(sql), has_rollback=has_rollback, is_rollback=is_rollback))
    return lint(inputs, LintOptions(target_version=target, **options))


def findings(sql: str, rule: str, **kw) -> list[Finding]:
    report = lint_sql(sql, **kw)
    return [f for f in report.findings + report.unused_ignores
            if f.rule == rule and f.location.file == kw.get("relpath", RELPATH)]


def _rule(rule_id: str):
    rule = get_rule(rule_id)
    assert rule is not None and rule.id == rule_id, f"no rule {rule_id!r}"
    return rule


def _positions(found: list[Finding]) -> list[tuple[int, int]]:
    return [(f.location.line, f.location.col) for f in found]


def assert_lint_errors(sql: str, rule: str, at, *, severity: str | None = None, **kw) -> list[Finding]:
    """*rule* reports exactly at *at*: a (line, col) or a list of them."""
    r = _rule(rule)
    expected = [at] if isinstance(at, tuple) else list(at)
    found = findings(sql, rule, **kw)
    assert _positions(found) == expected, (
        f"{rule}: expected findings at {expected}, got {_positions(found)}: {[f.message for f in found]}")
    for f in found:
        assert f.message and f.hint, f"{rule}: a finding needs a message and a hint (the safe alternative)"
        assert f.severity == (severity or r.severity), f"{rule}: severity {f.severity}"
    return found


def _statement_kinds(sql: str) -> set[str]:
    parsed = parse_file(RELPATH, textwrap.dedent(sql))
    return {key for s in parsed.statements for key in dispatch_keys(s)}


def assert_lint_ok(sql: str, rule: str, **kw) -> None:
    """*rule* reports nothing, on SQL that parses and that the rule looks at."""
    r = _rule(rule)
    report = lint_sql(sql, **kw)
    broken = [f for f in report.findings if f.rule in ("syntax-error", "invalid-directive") and f.rule != rule]
    assert not broken, f"vacuous: the SQL does not parse: {[f.message for f in broken]}"
    if r.nodes is not None:
        kinds = _statement_kinds(sql)
        assert kinds & set(r.nodes), f"vacuous: no {'/'.join(r.nodes)} statement for {rule} to look at ({kinds})"
    found = [f for f in report.findings if f.rule == rule]
    assert not found, f"{rule} should not fire: {[(str(f.location), f.message) for f in found]}"


_IGNORE_LINE = re.compile(r"^[ \t]*--[ \t]*pgshift:ignore[ \t]+(\S+).*$\n?", re.M | re.I)


def _without_ignores_of(sql: str, rule: str) -> str:
    def keep(m: re.Match) -> str:
        names = {get_rule(n).id if get_rule(n) else n for n in m.group(1).lower().split(",")}
        return "" if rule in names else m.group(0)
    return _IGNORE_LINE.sub(keep, sql)


def assert_lint_ignored(sql: str, rule: str, **kw) -> None:
    """The ignore in *sql* silences *rule*, which fires without it, and is not itself reported unused."""
    _rule(rule)
    sql = textwrap.dedent(sql)
    bare = _without_ignores_of(sql, rule)
    assert bare != sql, f"vacuous: no -- pgshift:ignore naming {rule} in the SQL"
    assert findings(bare, rule, **kw), f"vacuous: {rule} does not fire even without the ignore"
    report = lint_sql(sql, **kw)
    left = [f for f in report.findings if f.rule == rule]
    assert not left, f"{rule} not silenced: {[(str(f.location), f.message) for f in left]}"
    assert not report.unused_ignores, f"unused ignores: {[f.message for f in report.unused_ignores]}"
