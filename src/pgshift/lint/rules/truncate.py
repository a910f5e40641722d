"""TRUNCATE of a table in use.

**Problem.** `TRUNCATE` takes an ACCESS EXCLUSIVE lock and throws every row away
at once; `CASCADE` also empties every table with a foreign key to it, which is
easy to overlook. Tables created earlier in the run are exempt.

**Safe alternative.** A batched `DELETE` (`-- pgshift:batch size=1000`), or
build a new table and swap it in; never `CASCADE`.

**Example.**

```sql
-- flagged
TRUNCATE customers CASCADE;
```
"""
from __future__ import annotations

from .. import nodes

ID = "truncate"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("TruncateStmt",)


def check(ctx):
    node = ctx.node
    rels = [r for r in node.relations or () if not ctx.is_new_table(r)]
    if not rels:
        return
    cascade = node.behavior.name == "DROP_CASCADE"
    yield ctx.finding(
        ID, SEVERITY, None,
        f"TRUNCATE {', '.join(nodes.relname(r) for r in rels)}{' CASCADE' if cascade else ''} takes an ACCESS "
        "EXCLUSIVE lock and deletes every row"
        + (", and CASCADE empties every table whose foreign keys reference it" if cascade else ""),
        "use a batched DELETE (-- pgshift:batch size=1000) or swap in a new table; never CASCADE")
