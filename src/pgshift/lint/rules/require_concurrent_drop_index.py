"""DROP INDEX without CONCURRENTLY locks the table against reads and writes.

**Problem.** `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table.
The drop itself is quick, but the lock request queues behind any long
transaction, and every query on the table queues behind it. Indexes of tables
created earlier in the run, or dropped later in the same file (a rollback that
removes the whole table), are exempt.

**Safe alternative.** `DROP INDEX CONCURRENTLY` (one index per statement, no
CASCADE, not on a partitioned table), in a file without BEGIN/COMMIT.

**Example.**

```sql
-- flagged
DROP INDEX orders_status_idx;
-- safe
DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import OBJ

ID = "require-concurrent-drop-index"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("DropStmt",)


def check(ctx):
    node = ctx.node
    if node.removeType != OBJ.OBJECT_INDEX or ctx.is_concurrent():
        return
    names = []
    for obj in node.objects or ():
        parts = nodes.name_list(obj)
        schema, name = (parts[-2] if len(parts) > 1 else None), parts[-1]
        tables = ctx.run.indexes.find(schema, name, before=ctx.pos)
        if tables:
            table = tables[-1][2]
            tschema, tname = table
            qualified = f"{tschema}.{tname}" if tschema else tname
            if ctx.is_new_table(qualified) or ctx.dropped_later_in_file(qualified):
                continue
        if schema and ctx.dropped_later_in_file(f"{schema}.{name}"):
            continue
        names.append(".".join(parts))
    if not names:
        return
    several = len(node.objects or ()) > 1 or node.behavior.name == "DROP_CASCADE"
    yield ctx.finding(
        ID, SEVERITY, None,
        f"DROP INDEX {', '.join(names)} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table: "
        "reads and writes queue behind it",
        "use DROP INDEX CONCURRENTLY (one index per statement"
        + (", without CASCADE" if several else "") + ") in a file without BEGIN/COMMIT")
