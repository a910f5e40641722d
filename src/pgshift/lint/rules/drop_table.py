"""Dropping a table (or a schema, or a database) that is in use.

**Problem.** The running application fails as soon as the table is gone, and
the data goes with it. `DROP TABLE` also takes ACCESS EXCLUSIVE locks on every
table its foreign keys reference, so it can stall traffic on tables it does
not even drop. `CASCADE` silently drops dependent views and constraints.
Rollback files (whose job is to undo) and tables created earlier in the run
are exempt.

**Safe alternative.** Stop using the table first (deploy), keep a backup, drop
its foreign keys separately with a lock timeout, then drop it.

**Example.**

```sql
-- flagged
DROP TABLE legacy_customers CASCADE;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import OBJ

ID = "drop-table"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("DropStmt", "DropdbStmt")


def check(ctx):
    if ctx.is_rollback:
        return
    node = ctx.node
    if ctx.kind == "DropdbStmt":
        yield ctx.finding(ID, SEVERITY, None, f"DROP DATABASE {node.dbname} destroys a whole database",
                          "drop databases by hand, never from a migration")
        return
    cascade = node.behavior.name == "DROP_CASCADE"
    if node.removeType == OBJ.OBJECT_SCHEMA and cascade:
        names = [getattr(o, "sval", None) or nodes.dotted(o) for o in node.objects or ()]
        yield ctx.finding(ID, SEVERITY, None,
                          f"DROP SCHEMA {', '.join(names)} CASCADE drops every table in it, with its data",
                          "drop the tables one by one once nothing uses them; keep a backup")
        return
    if node.removeType != OBJ.OBJECT_TABLE:
        return
    names = [".".join(nodes.name_list(o)) for o in node.objects or ()]
    names = [n for n in names if not ctx.is_new_table(n)]
    if not names:
        return
    yield ctx.finding(
        ID, SEVERITY, None,
        f"DROP TABLE {', '.join(names)}{' CASCADE' if cascade else ''} breaks the code still using it, loses its "
        "data, and locks every table its foreign keys reference",
        "stop using the table first (deploy), keep a backup, drop its foreign keys separately with a lock "
        "timeout, then drop it" + ("; avoid CASCADE, which drops dependent views and constraints silently"
                                    if cascade else ""))
