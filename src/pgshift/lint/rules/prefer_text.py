"""varchar(n) columns: prefer text with a CHECK constraint.

**Problem.** Widening a `varchar(n)` later is cheap, but narrowing it rewrites
the table under an ACCESS EXCLUSIVE lock, and the limit is usually a guess
that ends up too small. `text` performs the same.

**Safe alternative.** `text`, plus `CHECK (length(col) <= n)` when a limit
matters: a CHECK can be changed with `NOT VALID` + `VALIDATE` without a
rewrite.

**Example.**

```sql
-- reported
CREATE TABLE customers (email varchar(255));
-- preferred
CREATE TABLE customers (email text CHECK (length(email) <= 255));
```
"""
from __future__ import annotations

from .. import nodes

ID = "prefer-text"
SEVERITY = "info"
VERSIONS = (None, None)
NODES = ("CreateStmt", "AlterTableStmt:AT_AddColumn", "AlterTableStmt:AT_AlterColumnType")


def check(ctx):
    for name, typename, at, type_names in ctx.defined_columns():
        if type_names and type_names[-1].lower() == "varchar" and nodes.typmods(typename):
            yield ctx.finding(
                ID, SEVERITY, at,
                f"column {name} is {nodes.show_type(typename)}: changing the limit later may rewrite the table",
                f"use text with CHECK (length({name}) <= {nodes.typmods(typename)[0]})")
