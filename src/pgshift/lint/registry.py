"""The rule list. Registering a rule is one line in :data:`RULES`.

Each rule is a module in :mod:`pgshift.lint.rules` holding:

- a docstring: its documentation (first line the summary; then the problem,
  the safe alternative, an example) - ``docs/rules.md`` and ``--explain``
  are made from it;
- ``ID`` (kebab-case: people type it in ``-- pgshift:ignore``), ``SEVERITY``
  (``error``, ``warning`` or ``info``) and ``VERSIONS`` (``(min, max)``
  PostgreSQL major versions it applies to, ``None`` for open);
- ``check(ctx) -> Iterable[Finding]``;
- optionally ``NODES`` (the statement node types it looks at, e.g. ``"IndexStmt"``,
  or for ALTER TABLE a command type, ``"AlterTableStmt:AT_AddColumn"``; the engine
  only calls it for those), ``SCOPE = "file"`` (called once a file, with no
  statement; ``"engine"`` for findings the engine itself makes), ``ALIASES``
  (other ids accepted in ignores and configuration).

What a run needs to know before it meets a statement (each rule's id, severity, versions,
node types, scope and aliases) is read from one generated table, ``rules/_index.py``
(``python -m pgshift.lint.registry > src/pgshift/lint/rules/_index.py``; a test fails when it
is stale), so that a lint starts without importing a rule it will not call: a rule's module
is imported when its ``check`` or ``doc`` is first asked for.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from functools import cache, cached_property

from pgshift.errors import InputError

from ..records import record


class UnknownRule(InputError, KeyError):
    """A rule id that no rule has (exit 2, like any bad input)."""

    def __str__(self) -> str:
        return self.message

#: Module names under pgshift.lint.rules, in documentation order.
RULES: tuple[str, ...] = (
    # locks and rewrites (pg-safety-rules.md section 1)
    "require_concurrent_index",
    "unnamed_concurrent_index",
    "concurrently_in_transaction",
    "require_concurrent_drop_index",
    "require_concurrent_reindex",
    "fk_not_valid",
    "check_not_valid",
    "validate_same_tx",
    "set_not_null",
    "add_column_volatile_default",
    "add_column_required",
    "alter_column_type",
    "rename_column",
    "rename_table",
    "drop_column",
    "drop_table",
    "add_unique_constraint",
    "add_primary_key",
    "add_exclusion_constraint",
    "serial_identity",
    "prefer_bigint_pk",
    "prefer_identity",
    "vacuum_full",
    "cluster",
    "refresh_matview",
    "lock_table",
    "truncate",
    "unbatched_dml",
    "add_trigger",
    "create_policy",
    "enable_rls_without_policy",
    "detach_partition",
    "attach_partition",
    "enum_add_value",
    "ban_char",
    "prefer_text",
    "prefer_timestamptz",
    "require_lock_timeout",
    "tx_hygiene",
    "identifier_too_long",
    # the migration guide's own mistakes (pg-safety-rules.md section 4)
    "ledger_write",
    "psql_meta_command",
    "missing_rollback",
    "empty_rollback",
    "tenant_table_without_rls",
    "policy_without_tenant",
    "regex_double_backslash",
    "plpgsql_batch_loop_without_commit",
    # input problems
    "syntax_error",
    "invalid_directive",
    "unused_ignore",
)

SEVERITIES = ("error", "warning", "info")


@record(frozen=True)
class Rule:
    id: str
    severity: str
    versions: tuple[int | None, int | None]
    nodes: tuple[str, ...] | None
    scope: str
    aliases: tuple[str, ...]
    module: str

    @cached_property
    def check(self) -> Callable:
        """``check(ctx)``, from the rule's module (imported now, the first time)."""
        return importlib.import_module(self.module).check

    @cached_property
    def doc(self) -> str:
        import inspect  # noqa: PLC0415

        return inspect.cleandoc(importlib.import_module(self.module).__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0].strip() if self.doc.strip() else ""

    def applies_to(self, version: int) -> bool:
        low, high = self.versions
        return (low is None or version >= low) and (high is None or version <= high)

    @property
    def versions_text(self) -> str:
        return versions_text(self.versions)


def versions_text(versions: tuple[int | None, int | None]) -> str:
    low, high = versions
    if low is None and high is None:
        return "all"
    if high is None:
        return f"{low}+"
    if low is None:
        return f"up to {high}"
    return f"{low}-{high}" if low != high else str(low)


def read_module(module_name: str) -> tuple:
    """(id, severity, versions, nodes, scope, aliases) of the rule module *module_name*, as the
    index holds them; RuntimeError for a module that breaks the conventions."""
    mod = importlib.import_module(f"pgshift.lint.rules.{module_name}")
    rule_id = mod.ID
    if rule_id.replace("-", "_") != module_name:
        raise RuntimeError(f"rule module {module_name} has ID {rule_id!r}; name the file after the id")
    if mod.SEVERITY not in SEVERITIES:
        raise RuntimeError(f"rule {rule_id}: severity {mod.SEVERITY!r} is not one of {SEVERITIES}")
    nodes = getattr(mod, "NODES", None)
    return (rule_id, mod.SEVERITY, tuple(getattr(mod, "VERSIONS", (None, None))),
            tuple(nodes) if nodes is not None else None, getattr(mod, "SCOPE", "statement"),
            tuple(getattr(mod, "ALIASES", ())))


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every registered rule (made once a process from the index; rules are immutable). A module
    the index does not hold yet is read itself (slower; the index is stale)."""
    from .rules._index import INDEX  # noqa: PLC0415

    return tuple(Rule(*(INDEX.get(name) or read_module(name)), module=f"pgshift.lint.rules.{name}")
                 for name in RULES)


def index_text() -> str:
    """The text of ``rules/_index.py``, read from every rule module."""
    lines = ['"""Each rule\'s id, severity, versions, node types, scope and aliases, read from its module:',
             "generated by `python -m pgshift.lint.registry > src/pgshift/lint/rules/_index.py`; do not edit",
             '(tests/unit/lint/test_lint_start.py fails when it is stale)."""', "# ruff: noqa: E501", "",
             "INDEX = {"]
    lines += [f"    {name!r}: {read_module(name)!r}," for name in RULES]
    return "\n".join([*lines, "}", ""])


@cache
def _by_id() -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for rule in all_rules():
        table[rule.id] = rule
        for alias in rule.aliases:
            table[alias] = rule
    return table


def get_rule(rule_id: str) -> Rule | None:
    """The rule with this id or alias, or None."""
    return _by_id().get(rule_id.strip().lower())


def known_ids() -> list[str]:
    return [r.id for r in all_rules()]


def list_rules() -> list[dict]:
    """id, severity, versions and summary of every rule (``pgshift lint --list``)."""
    return [{"id": r.id, "severity": r.severity, "versions": r.versions_text, "summary": r.summary,
             "aliases": list(r.aliases)} for r in all_rules()]


def describe(rule_id: str) -> dict:
    """One rule as data: id, severity, versions, aliases, summary and its documentation.

    Raises UnknownRule (an InputError and a KeyError) when the id is unknown.
    """
    rule = get_rule(rule_id)
    if rule is None:
        close = [i for i in known_ids() if rule_id.strip().lower() in i or i in rule_id.lower()]
        raise UnknownRule(f"unknown lint rule {rule_id!r}"
                          + (f" (did you mean {', '.join(close)}?)" if close else ""),
                          hint="`pgshift lint --list` lists the rules")
    return {"id": rule.id, "severity": rule.severity, "versions": rule.versions_text, "aliases": list(rule.aliases),
            "summary": rule.summary, "doc": rule.doc}


def explain(rule_id: str) -> str:
    """The documentation of one rule (``pgshift lint --explain RULE``)."""
    rule = describe(rule_id)
    head = f"{rule['id']}  ({rule['severity']}; PostgreSQL versions: {rule['versions']})"
    if rule["aliases"]:
        head += f"\nalso accepted as: {', '.join(rule['aliases'])}"
    return f"{head}\n\n{rule['doc']}\n"


if __name__ == "__main__":
    sys.stdout.write(index_text())
