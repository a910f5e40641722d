"""The lint engine: files in run order -> findings.

One pass: every file is parsed (a parse problem, which :mod:`pgshift.sql` returns as data,
becomes a finding and, where its kind says the cause is local, the rest of the file is
still read), a pre-pass records what the run creates, then each statement is handed to
the rules that look at its node type. Silencing (``-- pgshift:ignore``, ``disable``,
per-rule severity) is applied last, and an ignore that silenced nothing is reported.
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence

from pgshift.errors import ConfigError
from pgshift.model import Finding, MetaCommand, ParsedFile

from ..records import field, record, replace
from ..sql import ParseProblem, blank, concurrently_span, fast_trees, parse_or_problem
from .context import FileFacts, LintContext, ParseFinding, RunFacts
from .registry import SEVERITIES, Rule, all_rules, explain, get_rule, list_rules
from .results import LintInput, LintOptions, LintReport, target_version

__all__ = ["LintOptions", "LintInput", "LintReport", "lint", "lint_each", "lint_text", "explain", "list_rules"]

GUIDE_LEDGERS = ("shared.migration_log",)
_MAX_RECOVERIES = 500


# --- options ------------------------------------------------------------------

def _resolve(options: LintOptions) -> tuple[int, dict[str, str]]:
    """The target version and each rule's effective severity (or 'off')."""
    version = target_version(options)
    effective = {r.id: r.severity for r in all_rules()}
    for name in options.disable:
        rule = get_rule(name)
        if rule is None:
            raise ConfigError(f"[lint] disable names an unknown rule {name!r}", hint="see `pgshift lint --list`")
        effective[rule.id] = "off"
    for name, level in (options.severity or {}).items():
        rule = get_rule(name)
        if rule is None:
            raise ConfigError(f"[lint] severity names an unknown rule {name!r}", hint="see `pgshift lint --list`")
        level = str(level).strip().lower()
        if level not in (*SEVERITIES, "off"):
            raise ConfigError(f"[lint] severity of {name} must be error, warning, info or off, not {level!r}")
        effective[rule.id] = level
    return version, effective


_LEDGER_NAMES: dict[str, frozenset[str]] = {}


def _ledger_names(ledger: str) -> frozenset[str]:
    found = _LEDGER_NAMES.get(ledger)
    if found is None:
        names = {ledger.strip().lower(), *GUIDE_LEDGERS}
        if "." not in ledger:
            names.add(f"public.{ledger.strip().lower()}")
        found = frozenset(names)
        if len(_LEDGER_NAMES) < 64:
            _LEDGER_NAMES[ledger] = found
    return found


# --- parsing, tolerant ----------------------------------------------------------

def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _hide_concurrently(text: str, index: int) -> str | None:
    """Blank the CONCURRENTLY of the statement at *index*, keeping every offset,
    so that the parser accepts the file and the rules can still see the rest."""
    span = concurrently_span(text, index)
    return None if span is None else blank(text, *span)


def _parse(inp: LintInput, number: int) -> FileFacts:
    facts = FileFacts(number=number, relpath=inp.relpath, text=inp.text, parsed=None,
                      is_rollback=inp.is_rollback, has_rollback=inp.has_rollback)
    if inp.parsed is not None:
        facts.parsed = inp.parsed
        for meta in inp.parsed.meta_commands:
            facts.problems.append(_meta_finding(meta))
        return facts
    work: str | None = inp.text
    for _ in range(_MAX_RECOVERIES):
        parsed, problem = parse_or_problem(inp.relpath, work)
        if problem is None:
            facts.parsed = _restore_concurrency(parsed, facts.forced_concurrent)
            return facts
        work = _recover(facts, work, problem)
        if work is None:
            return facts
    return facts


def _recover(facts: FileFacts, work: str, problem: ParseProblem) -> str | None:
    """Record *problem* as a finding, and return the text to read again without what
    caused it (every offset kept), or None where the rest of the file cannot be read."""
    index = problem.offset
    if problem.kind == "directive":
        facts.problems.append(ParseFinding("invalid-directive", problem.location, problem.message, problem.hint))
        if work.startswith("--", index):
            return blank(work, index, _line_end(work, index))  # read the rest without it
        if work.startswith("/*", index) and work.find("*/", index) > 0:
            return blank(work, index, work.find("*/", index) + 2)
        return None
    if problem.kind == "meta-command":
        facts.problems.append(_meta_finding(problem.meta))
        return blank(work, index, _line_end(work, index))
    if problem.kind == "non-transactional-in-transaction":
        hidden = _hide_concurrently(work, index)
        if hidden is not None:
            facts.forced_concurrent[index] = problem.reason
            return hidden
        facts.problems.append(ParseFinding("concurrently-in-transaction", problem.location, problem.message,
                                           problem.hint))
        end = work.find(";", index)
        return blank(work, index, len(work) if end < 0 else end + 1)
    hint = problem.hint or ("pgshift reads each file with PostgreSQL's own parser (the PostgreSQL 18 grammar) "
                            "before anything runs: fix the statement at this position")
    facts.problems.append(ParseFinding("syntax-error", problem.location, problem.message, hint))
    if work[index:index + 5].upper() == "RAISE" and not work[work.rfind("\n", 0, index) + 1:index].strip():
        end = work.find(";", index)
        return blank(work, index, _line_end(work, index) if end < 0 else end + 1)  # a stray RAISE: lint the rest too
    return None


def _restore_concurrency(parsed: ParsedFile, forced: dict[int, str]) -> ParsedFile:
    if not forced:
        return parsed
    stmts = []
    for s in parsed.statements:
        if s.offset in forced:
            if hasattr(s.node, "concurrent"):
                s.node.concurrent = True
            s = replace(s, non_transactional=forced[s.offset])
        stmts.append(s)
    return replace(parsed, statements=tuple(stmts))


def _meta_finding(meta: MetaCommand) -> ParseFinding:
    if meta.command in ("c", "connect"):
        return ParseFinding(
            "psql-meta-command", meta.location,
            f"psql meta-command `{meta.text}` is not SQL: pgshift skips it when it names the database already "
            "connected to, and refuses the file otherwise",
            "remove the line: pgshift runs each file on the environment's database "
            "(point the environment's url at the right database)", severity="warning")
    return ParseFinding(
        "psql-meta-command", meta.location, f"psql meta-command `{meta.text}` is not SQL and cannot run outside psql",
        "remove the line; for messages use DO $$ BEGIN RAISE NOTICE '...'; END $$;")


# --- the run ------------------------------------------------------------------

def lint(inputs: Sequence[LintInput], options: LintOptions | None = None) -> LintReport:
    """Lint files given in run order. Never raises for bad SQL (that is a
    finding); raises ConfigError for unknown rules or severities in *options*."""
    with fast_trees():
        return _lint(inputs, options)


def lint_each(inputs: Sequence[LintInput], options: LintOptions | None = None) -> list[LintReport]:
    """Lint each file as a run of its own (nothing it sees was created by another file):
    one report per input, in order."""
    with fast_trees():
        return [_lint([inp], options) for inp in inputs]


@record(frozen=True)
class _Plan:
    """Which rules run, and on what: worked out once per target version and severities."""
    version: int
    effective: dict[str, str]
    active: frozenset[str]
    by_kind: dict[str, tuple[Rule, ...]]
    every: tuple[Rule, ...]
    file_rules: tuple[Rule, ...]
    defaults: dict[str, str] = field(default_factory=dict)   # rule id -> its own severity
    as_made: bool = False   # effective == defaults: no rule off, none with another severity
    # dispatch keys -> the checks a statement with those keys gets, in the order they run (filled as met)
    checks: dict[tuple[str, ...], tuple] = field(default_factory=dict)

    def checks_for(self, keys: tuple[str, ...]) -> tuple:
        """``check`` of each rule a statement with dispatch *keys* goes to: the rules of its node
        types (each once, first come first), then those that see every statement; for no keys
        (no statement: the file), the file-level rules."""
        found = self.checks.get(keys)
        if found is None:
            if not keys:
                rules = self.file_rules
            elif len(keys) == 1:
                rules = (*self.by_kind.get(keys[0], ()), *self.every)
            else:
                rules = (*dict.fromkeys(r for k in keys for r in self.by_kind.get(k, ())), *self.every)
            found = tuple(r.check for r in rules)
            if len(self.checks) < 4096:
                self.checks[keys] = found
        return found


_PLANS: dict[tuple, _Plan] = {}


def _plan(options: LintOptions) -> _Plan:
    key = (options.target_version, tuple(options.disable), tuple(sorted((options.severity or {}).items())))
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    version, effective = _resolve(options)
    defaults = {r.id: r.severity for r in all_rules()}
    by_kind: dict[str, list[Rule]] = {}
    every: list[Rule] = []
    file_rules: list[Rule] = []
    active: set[str] = set()
    for rule in all_rules():
        if effective[rule.id] == "off" or not rule.applies_to(version):
            continue
        active.add(rule.id)
        if rule.scope == "file":
            file_rules.append(rule)
        elif rule.scope == "statement":
            if rule.nodes is None:
                every.append(rule)
            else:
                for kind in rule.nodes:
                    by_kind.setdefault(kind, []).append(rule)
    plan = _Plan(version, effective, frozenset(active), {k: tuple(v) for k, v in by_kind.items()},
                 tuple(every), tuple(file_rules), defaults, effective == defaults)
    if len(_PLANS) < 64:
        _PLANS[key] = plan
    return plan


def _lint(inputs: Sequence[LintInput], options: LintOptions | None) -> LintReport:
    options = options or LintOptions()
    plan = _plan(options)
    version, effective, active = plan.version, plan.effective, plan.active
    file_checks = plan.checks_for(())   # no dispatch keys: the file-level rules
    checks_for = plan.checks_for
    ledger = options.ledger
    ledger_names = _ledger_names(ledger)

    files = [_parse(inp, number) for number, inp in enumerate(inputs)]
    run = RunFacts(environment=options.environment, lock_timeout=options.lock_timeout)
    n_statements = 0
    for facts in files:
        for stmt in facts.statements:
            run.collect((facts.number, stmt.index), stmt)
        n_statements += len(facts.statements)

    raw: list[tuple[FileFacts, list[Finding]]] = []   # each file's findings, in the order made
    for facts in files:
        found: list[Finding] = []
        for p in facts.problems:
            if p.rule in active:
                found.append(Finding(p.rule, p.severity or get_rule(p.rule).severity, p.location, p.message, p.hint))
        if facts.parsed is not None:
            facts.compute_transactions()
            for stmt in facts.statements:
                checks = checks_for(dispatch_keys(stmt))
                if not checks:
                    continue
                ctx = LintContext(version, ledger, ledger_names, facts, run, stmt)
                for check in checks:
                    for f in check(ctx):   # (a loop: list.extend is slower on a generator)
                        found.append(f)
        ctx = LintContext(version, ledger, ledger_names, facts, run, None)
        for check in file_checks:
            for f in check(ctx):
                found.append(f)
        raw.append((facts, found))

    findings, unused = _silence(files, raw, effective, active, plan.defaults, plan.as_made)
    findings = _sorted(findings, files)
    unused = _sorted(unused, files)
    has_errors = any(f.severity == "error" for f in findings) or any(f.severity == "error" for f in unused)
    return LintReport(findings, unused, has_errors, files=len(files), statements=n_statements,
                      target_version=version)


def dispatch_keys(stmt) -> tuple[str, ...]:
    """What rules may ask to see in NODES: the node type, and for ALTER TABLE also
    ``AlterTableStmt:<subtype>`` for each of its commands (``AlterTableStmt:AT_AddColumn``)."""
    if stmt.kind != "AlterTableStmt":
        return (stmt.kind,)
    return ("AlterTableStmt",) + tuple(_subtype_key(c.subtype) for c in stmt.node.cmds or ()
                                       if hasattr(c, "subtype"))


_SUBTYPE_KEYS: dict = {}


def _subtype_key(subtype) -> str:
    key = _SUBTYPE_KEYS.get(subtype)
    if key is None:
        key = _SUBTYPE_KEYS[subtype] = f"AlterTableStmt:{subtype.name}"
    return key


def lint_text(sql: str, relpath: str = "migration.sql", options: LintOptions | None = None,
              **input_fields) -> LintReport:
    """Lint one file's text (a convenience for tests and editors)."""
    return lint([LintInput(relpath, sql, **input_fields)], options)


def _sorted(findings: list[Finding], files: list[FileFacts]) -> list[Finding]:
    if len(findings) < 2:
        return list(findings)
    order = {f.relpath: f.number for f in files}
    return sorted(findings, key=lambda f: (order.get((at := f.location).file, 1 << 30), at.file, at.line, at.col,
                                           f.rule))


# --- silencing ------------------------------------------------------------------

@record
class _Ignore:
    directive: object
    names: list[str]
    used: set[str] = field(default_factory=set)


def _silence(files: list[FileFacts], raw: list[tuple[FileFacts, list[Finding]]], effective: dict[str, str],
             active: set[str] | frozenset[str], defaults: dict[str, str] | None = None, as_made: bool = False
             ) -> tuple[list[Finding], list[Finding]]:
    """Findings silenced by ignores, switched off or given their configured severity; and the
    ignores that silenced nothing. *as_made*: no rule is off or has another severity than its own."""
    defaults = defaults or {}
    file_ignores: dict[int, list[_Ignore]] = {}
    stmt_ignores: dict[tuple[int, int], list[_Ignore]] = {}
    starts: dict[int, list[tuple[int, int]]] = {}
    for facts in files:
        parsed = facts.parsed
        if parsed is None or not any(d.name == "ignore" for d in parsed.directives):
            continue  # no ignore in the file: nothing to silence, nothing to track
        file_level = {d.offset for d in parsed.file_directives}
        file_ignores[facts.number] = [_Ignore(d, _names(d)) for d in parsed.file_directives if d.name == "ignore"]
        for s in parsed.statements:
            own = [_Ignore(d, _names(d)) for d in s.directives if d.name == "ignore" and d.offset not in file_level]
            if own:
                stmt_ignores[(facts.number, s.index)] = own
        starts[facts.number] = [(s.location.line, s.location.col) for s in parsed.statements]

    kept: list[Finding] = []
    for facts, found in raw:
        ignores = facts.number in starts
        if as_made and not ignores:
            kept.extend(found)
            continue
        for f in found:
            level = effective.get(f.rule)
            if level == "off":
                continue
            if level is not None and level != (defaults.get(f.rule) or get_rule(f.rule).severity):
                f = replace(f, severity=level)
            if ignores and _suppressed(facts, f, starts, stmt_ignores, file_ignores):
                continue
            kept.append(f)

    unused: list[Finding] = []
    if "unused-ignore" in active and (file_ignores or stmt_ignores):   # (no ignore: none unused)
        level = effective["unused-ignore"]
        for facts in files:
            groups = file_ignores.get(facts.number, [])
            silenced_here = any("unused-ignore" in _canonical(n) for g in groups for n in g.names)
            if silenced_here:
                continue
            all_groups = list(groups) + [g for (num, _), gs in stmt_ignores.items() if num == facts.number for g in gs]
            for g in all_groups:
                for name in g.names:
                    canon = _canonical(name)
                    if not canon:
                        unused.append(_unused(g.directive, level, f"`-- pgshift:ignore {name}` names an unknown rule",
                                              "check the rule id: `pgshift lint --list`"))
                        continue
                    if name in g.used or any(c not in active for c in canon) or "unused-ignore" in canon:
                        continue
                    if facts.has_rollback is None and "missing-rollback" in canon:
                        continue  # whether the file has a rollback is unknown: the rule did not look
                    scope = "this file" if g in groups else "the next statement"
                    unused.append(_unused(g.directive, level,
                                          f"`-- pgshift:ignore {name}` silences nothing in {scope}",
                                          "remove it, so that ignores do not outlive what they were for"))
    return kept, unused


def _names(directive) -> list[str]:
    return [n.strip().lower() for n in directive.args.get("rules", "").split(",") if n.strip()]


def _canonical(name: str) -> set[str]:
    if name in ("all", "*"):
        return {r.id for r in all_rules()} - {"unused-ignore"}
    rule = get_rule(name)
    return {rule.id} if rule is not None else set()


def _matches(name: str, rule_id: str) -> bool:
    if name in ("all", "*"):
        return rule_id != "unused-ignore"
    rule = get_rule(name)
    return rule is not None and rule.id == rule_id


def _suppressed(facts: FileFacts, f: Finding, starts, stmt_ignores, file_ignores) -> bool:
    number = facts.number
    hit = False
    index = bisect.bisect_right(starts.get(number, []), (f.location.line, f.location.col)) - 1
    if index >= 0:
        for g in stmt_ignores.get((number, index), ()):
            for name in g.names:
                if _matches(name, f.rule):
                    g.used.add(name)
                    hit = True
    if hit:
        return True
    for g in file_ignores.get(number, ()):
        for name in g.names:
            if _matches(name, f.rule):
                g.used.add(name)
                hit = True
    return hit


def _unused(directive, severity: str, message: str, hint: str) -> Finding:
    return Finding("unused-ignore", severity, directive.location, message, hint)
