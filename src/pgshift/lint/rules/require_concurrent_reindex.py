"""REINDEX without CONCURRENTLY blocks writes (and reads that use the index).

**Problem.** A plain `REINDEX` holds a SHARE lock on the table and an ACCESS
EXCLUSIVE lock on each index while it rebuilds: writes wait, and so do reads
that would use the index. `REINDEX ... CONCURRENTLY` exists since PostgreSQL 12,
so the rule applies from 12 on.

**Safe alternative.** `REINDEX INDEX CONCURRENTLY name` (or `REINDEX
(CONCURRENTLY) TABLE t`) in a file without BEGIN/COMMIT. A failure leaves
`*_ccnew` / `*_ccold` INVALID indexes: drop `_ccnew` and retry, drop `_ccold`.

**Example.**

```sql
-- flagged
REINDEX INDEX orders_status_idx;
-- safe
REINDEX INDEX CONCURRENTLY orders_status_idx;
```
"""
from __future__ import annotations

from .. import nodes

ID = "require-concurrent-reindex"
SEVERITY = "error"
VERSIONS = (12, None)
NODES = ("ReindexStmt",)


def check(ctx):
    node = ctx.node
    if ctx.is_concurrent():
        return
    kind = node.kind.name.rsplit("_", 1)[-1]
    rel = node.relation
    if rel is not None and kind == "TABLE" and ctx.is_new_table(rel):
        return
    what = f"{kind} {nodes.relname(rel)}" if rel is not None else f"{kind} {node.name or ''}".strip()
    yield ctx.finding(
        ID, SEVERITY, None,
        f"REINDEX {what} without CONCURRENTLY blocks writes to the table while the index is rebuilt",
        "use REINDEX ... CONCURRENTLY (PostgreSQL 12+) in a file without BEGIN/COMMIT")
