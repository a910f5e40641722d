"""Renaming a table breaks the code that is still running.

**Problem.** The application version still running during the deploy queries
the old name and fails the moment the rename commits. The rename takes a
(brief) ACCESS EXCLUSIVE lock too. Tables created earlier in the run are
exempt.

**Safe alternative.** Don't rename; or rename and create a view with the old
name in the same transaction (simple views are updatable), switch the code
over, then drop the view.

**Example.**

```sql
-- flagged
ALTER TABLE clients RENAME TO customers;

-- safer
BEGIN;
ALTER TABLE clients RENAME TO customers;
CREATE VIEW clients AS SELECT * FROM customers;
COMMIT;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import OBJ

ID = "rename-table"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("RenameStmt",)


def check(ctx):
    node = ctx.node
    if node.renameType != OBJ.OBJECT_TABLE or node.relation is None or ctx.is_new_table(node.relation):
        return
    view_shim = any(s.kind == "ViewStmt" and s.node.view is not None and s.node.view.relname == node.relation.relname
                    for s in ctx.same_transaction(before=False, after=True))
    if view_shim:
        return
    yield ctx.finding(
        ID, SEVERITY, None,
        f"renaming table {nodes.relname(node.relation)} to {node.newname} breaks every query of the application "
        "version still running",
        f"create a view named {node.relation.relname} over the renamed table in the same transaction, "
        "switch the code, then drop the view")
