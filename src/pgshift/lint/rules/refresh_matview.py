"""REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks its readers.

**Problem.** A plain refresh recomputes the view under an ACCESS EXCLUSIVE
lock: every SELECT of the view waits until the query behind it finishes.
Views created earlier in the run, and `WITH NO DATA`, are exempt.

**Safe alternative.** `REFRESH MATERIALIZED VIEW CONCURRENTLY` (EXCLUSIVE:
reads go on). It needs a unique index on plain columns of the view.

**Example.**

```sql
-- flagged
REFRESH MATERIALIZED VIEW sales_by_day;
-- safe
REFRESH MATERIALIZED VIEW CONCURRENTLY sales_by_day;
```
"""
from __future__ import annotations

from .. import nodes

ID = "refresh-matview"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("RefreshMatViewStmt",)


def check(ctx):
    node = ctx.node
    if node.concurrent or node.skipData or ctx.is_new_table(node.relation):
        return
    yield ctx.finding(
        ID, SEVERITY, None,
        f"REFRESH MATERIALIZED VIEW {nodes.relname(node.relation)} without CONCURRENTLY blocks every read of "
        "the view until it is recomputed",
        "use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)")
