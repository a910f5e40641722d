"""Renaming a column breaks the code that is still running.

**Problem.** During a deploy the old application version keeps running while
the migration applies; the moment the column is renamed, every query it sends
with the old name fails. The rename also takes a (brief) ACCESS EXCLUSIVE lock.
Tables created earlier in the run are exempt.

**Safe alternative.** Don't rename; or expand and contract: add the new
column, write both, backfill, move readers, then drop the old one. A view with
the old name can bridge a table rename.

**Example.**

```sql
-- flagged
ALTER TABLE customers RENAME COLUMN fullname TO full_name;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import OBJ

ID = "rename-column"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("RenameStmt",)


def check(ctx):
    node = ctx.node
    if node.renameType != OBJ.OBJECT_COLUMN or node.relation is None or ctx.is_new_table(node.relation):
        return
    yield ctx.finding(
        ID, SEVERITY, None,
        f"renaming {nodes.relname(node.relation)}.{node.subname} to {node.newname} breaks every query of the "
        "application version still running that uses the old name",
        "expand and contract: add the new column, write both, backfill, switch readers, then drop the old one")
