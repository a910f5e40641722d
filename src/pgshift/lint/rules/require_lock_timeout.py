"""No lock_timeout before the first statement that takes a strong lock.

**Problem.** A statement that needs an ACCESS EXCLUSIVE, SHARE ROW EXCLUSIVE
or SHARE lock on a table in use waits behind every long transaction on it;
while it waits, every later query on the table queues behind it, and the
application stalls. A `lock_timeout` turns that into a quick failure that can
be retried.

pgshift sets a `lock_timeout` only where one is asked for: in a protected
environment (2s unless configured), where the environment sets `lock_timeout`,
with `up --lock-timeout`, or with a `-- pgshift:lock-timeout` directive; it then
retries with backoff. The finding says which holds for the environment linted
for (`--env`, default dev): where pgshift sets one, it matters only when the
file is run by something else (psql, another tool); where it sets none, pgshift
too would queue behind long transactions. A `SET lock_timeout` earlier in the
file or a `-- pgshift:lock-timeout` directive silences it. Reported once a
file, at the first such statement.

**Safe alternative.** Give the file a `-- pgshift:lock-timeout 2s` directive
(pgshift sets it for the file), or set `lock_timeout` in the environment; for
other tools, `SET lock_timeout = '2s';` first.

**Example.**

```sql
-- reported (info)
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;

-- silent
-- pgshift:lock-timeout 2s
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
```
"""
from __future__ import annotations

from ...text import format_duration
from .. import nodes
from ..context import LintContext
from ..nodes import AT, OBJ

ID = "require-lock-timeout"
SEVERITY = "info"
VERSIONS = (None, None)
SCOPE = "file"

_WEAK_ALTERS = {AT.AT_ValidateConstraint, AT.AT_AttachPartition, AT.AT_SetStatistics, AT.AT_SetOptions,
                AT.AT_ResetOptions, AT.AT_ClusterOn, AT.AT_DropCluster}


#: the statement kinds _strong_lock_target looks at (any other: None at once)
_LOCKING = frozenset({"AlterTableStmt", "IndexStmt", "CreateTrigStmt", "RefreshMatViewStmt", "CreatePolicyStmt",
                      "AlterPolicyStmt", "RenameStmt", "TruncateStmt", "LockStmt", "VacuumStmt", "ClusterStmt"})


def _strong_lock_target(stmt):
    """The table a statement locks in SHARE mode or stronger, or None."""
    node, kind = stmt.node, stmt.kind
    if kind not in _LOCKING:
        return None
    if kind == "AlterTableStmt" and node.objtype == OBJ.OBJECT_TABLE:
        cmds = list(nodes.alter_cmds(node))
        weak = bool(cmds)
        for c in cmds:
            if c.subtype == AT.AT_DetachPartition and getattr(c.def_, "concurrent", False):
                return None
            if c.subtype not in _WEAK_ALTERS:
                weak = False
        if weak:
            return None
        return node.relation
    if kind == "IndexStmt" and not node.concurrent:
        return node.relation
    if kind in ("CreateTrigStmt", "RefreshMatViewStmt") and not getattr(node, "concurrent", False):
        return node.relation
    if kind in ("CreatePolicyStmt", "AlterPolicyStmt"):
        return node.table
    if kind == "RenameStmt" and node.relation is not None:
        return node.relation
    if kind in ("TruncateStmt", "LockStmt") and node.relations:
        return node.relations[0]
    if kind == "VacuumStmt" and "full" in nodes.defelem_names(node.options) and node.rels:
        return node.rels[0].relation
    if kind == "ClusterStmt":
        return node.relation
    return None


def check(ctx):
    if ctx.file is None or ctx.file.file_directive("lock-timeout") is not None:
        return
    for stmt in ctx.statements:
        kind = stmt.kind   # (the node's type name)
        if kind == "VariableSetStmt" and (stmt.node.name or "").lower() == "lock_timeout":
            return
        if kind not in _LOCKING:   # (what _strong_lock_target answers None to at once, without a call)
            continue
        target = _strong_lock_target(stmt)
        if target is None:
            continue
        here = LintContext(ctx.target_version, ctx.ledger, ctx.ledger_names, ctx.facts, ctx.run, stmt)
        if here.is_new_table(target):
            continue
        message, hint = _what_holds(ctx.run, nodes.relname(target))
        yield here.finding(ID, SEVERITY, None, message, hint)
        return


def _what_holds(run, table: str) -> tuple[str, str]:
    """The finding's message and hint: true for the environment linted for, or, when that is not
    known, true in every one."""
    head = f"no lock_timeout before this statement, which takes a strong lock on {table}"
    env, seconds = run.environment, run.lock_timeout
    if seconds:
        return (f"{head}: pgshift sets lock_timeout = {format_duration(seconds)} in environment {env!r}; "
                "other tools (psql) would queue behind long transactions",
                "nothing to do under pgshift; elsewhere SET lock_timeout = '2s' first")
    if seconds is not None:
        return (f"{head}, and environment {env!r} sets none: the statement would wait behind every long "
                "transaction on the table while every later query on it queues behind the statement",
                f"add -- pgshift:lock-timeout 2s to the file, or set lock_timeout in [env.{env}] "
                "(or pass up --lock-timeout 2s)")
    return (f"{head}: pgshift sets one only in protected environments (2s), where the environment sets "
            "lock_timeout, with up --lock-timeout, or with -- pgshift:lock-timeout; other tools (psql) set none",
            "add -- pgshift:lock-timeout 2s to the file, or SET lock_timeout = '2s' first")
