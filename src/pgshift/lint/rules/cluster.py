"""CLUSTER rewrites a table under an ACCESS EXCLUSIVE lock.

**Problem.** `CLUSTER` reorders the whole table by an index, rewriting it and
its indexes while nothing can read or write it. A bare `CLUSTER` (no table)
does this to every previously clustered table and cannot run in a
transaction block.

**Safe alternative.** pg_repack (`--order-by`) reorders online; or rely on a
suitable index instead of physical order.

**Example.**

```sql
-- flagged
CLUSTER orders USING orders_created_at_idx;
```
"""
from __future__ import annotations

from .. import nodes

ID = "cluster"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("ClusterStmt",)


def check(ctx):
    rel = ctx.node.relation
    if rel is not None and ctx.is_new_table(rel):
        return
    what = nodes.relname(rel) if rel is not None else "every clustered table"
    yield ctx.finding(
        ID, SEVERITY, None,
        f"CLUSTER rewrites {what} under an ACCESS EXCLUSIVE lock (even reads wait)",
        "use pg_repack --order-by to reorder online")
