"""DETACH PARTITION without CONCURRENTLY locks the parent table.

**Problem.** A plain `ALTER TABLE parent DETACH PARTITION child` takes ACCESS
EXCLUSIVE on the parent: every query on the whole partitioned table waits.
`DETACH PARTITION ... CONCURRENTLY` exists since PostgreSQL 14, so the rule
applies from 14 on.

**Safe alternative.** `DETACH PARTITION ... CONCURRENTLY` (SHARE UPDATE
EXCLUSIVE) in a file without BEGIN/COMMIT; it is not allowed when the parent
has a default partition. If it is interrupted, finish with `DETACH PARTITION
... FINALIZE`.

**Example.**

```sql
-- flagged
ALTER TABLE measurements DETACH PARTITION measurements_2023;
-- safe
ALTER TABLE measurements DETACH PARTITION measurements_2023 CONCURRENTLY;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT

ID = "detach-partition"
SEVERITY = "error"
VERSIONS = (14, None)
NODES = ("AlterTableStmt:AT_DetachPartition",)


def check(ctx):
    rel = ctx.node.relation
    if rel is None or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_DetachPartition):
        if getattr(cmd.def_, "concurrent", False) or ctx.is_concurrent():
            continue
        part = nodes.relname(getattr(cmd.def_, "name", None))
        yield ctx.finding(
            ID, SEVERITY, None,
            f"DETACH PARTITION {part} takes an ACCESS EXCLUSIVE lock on {nodes.relname(rel)}: every query on "
            "the partitioned table waits",
            "use DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) in a file without BEGIN/COMMIT")
