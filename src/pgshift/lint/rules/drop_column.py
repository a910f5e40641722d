"""Dropping a column breaks the code that still uses it.

**Problem.** The application version still running during the deploy reads or
writes the column and fails once it is gone; `SELECT *` consumers and ORMs
that list every column break too. Indexes and constraints on the column are
dropped with it. Rollback files (whose job is to undo) and tables created
earlier in the run are exempt.

**Safe alternative.** First deploy code that no longer uses the column (ORMs:
mark it ignored), then drop it in a later migration.

**Example.**

```sql
-- flagged
ALTER TABLE customers DROP COLUMN legacy_code;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT

ID = "drop-column"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_DropColumn",)


def check(ctx):
    rel = ctx.node.relation
    if ctx.is_rollback or rel is None or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_DropColumn):
        yield ctx.finding(
            ID, SEVERITY, None,
            f"dropping {nodes.relname(rel)}.{cmd.name} breaks the application version still running if it "
            "reads or writes the column",
            "deploy code that no longer uses the column first, then drop it in a later migration")
