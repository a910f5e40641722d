"""VACUUM FULL rewrites a table under an ACCESS EXCLUSIVE lock.

**Problem.** `VACUUM FULL` copies the whole table and rebuilds its indexes
while nothing, not even a SELECT, can read it. On a large table that is an
outage. (Any VACUUM also cannot run inside a transaction block.)

**Safe alternative.** Plain `VACUUM` (SHARE UPDATE EXCLUSIVE) usually suffices;
to give space back to the operating system use pg_repack or pg_squeeze, which
rewrite online.

**Example.**

```sql
-- flagged
VACUUM FULL orders;
-- safe
VACUUM (ANALYZE) orders;
```
"""
from __future__ import annotations

from .. import nodes

ID = "vacuum-full"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("VacuumStmt",)


def check(ctx):
    node = ctx.node
    if not node.is_vacuumcmd or "full" not in nodes.defelem_names(node.options):
        return
    rels = [r.relation for r in node.rels or () if getattr(r, "relation", None) is not None]
    if rels and all(ctx.is_new_table(r) for r in rels):
        return
    what = ", ".join(nodes.relname(r) for r in rels) if rels else "every table of the database"
    yield ctx.finding(
        ID, SEVERITY, None,
        f"VACUUM FULL rewrites {what} under an ACCESS EXCLUSIVE lock (even reads wait)",
        "use plain VACUUM; to give space back online use pg_repack or pg_squeeze")
