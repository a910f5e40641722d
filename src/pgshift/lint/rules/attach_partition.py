"""ATTACH PARTITION scans the attached table unless a CHECK constraint proves its bound.

**Problem.** Attaching takes SHARE UPDATE EXCLUSIVE on the parent (since
PostgreSQL 12) but ACCESS EXCLUSIVE on the table being attached, which is
scanned to prove every row fits the partition bound, unless a valid CHECK
constraint already implies it.

**Safe alternative.** Before attaching, add a CHECK constraint matching the
bound `NOT VALID`, validate it (weak lock), attach, then drop the check.

**Example.**

```sql
-- reported
ALTER TABLE measurements ATTACH PARTITION measurements_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT

ID = "attach-partition"
SEVERITY = "info"
VERSIONS = (12, None)
NODES = ("AlterTableStmt:AT_AttachPartition",)


def check(ctx):
    rel = ctx.node.relation
    if rel is None:
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_AttachPartition):
        child = getattr(cmd.def_, "name", None)
        if child is not None and ctx.is_new_table(child):
            continue
        yield ctx.finding(
            ID, SEVERITY, None,
            f"ATTACH PARTITION {nodes.relname(child)} scans it under an ACCESS EXCLUSIVE lock unless a valid "
            "CHECK constraint already proves the partition bound",
            "add a CHECK matching the bound NOT VALID, VALIDATE it, attach, then drop the check")
