"""A UNIQUE constraint added to a table in use builds its index under a blocking lock.

**Problem.** `ADD CONSTRAINT ... UNIQUE` (or `ADD COLUMN ... UNIQUE`) builds a
unique index while holding ACCESS EXCLUSIVE: nothing reads or writes the table
until it is built. Tables created earlier in the run are exempt.

**Safe alternative.** Build the index concurrently, check it is valid, then
attach it as the constraint (a brief lock):

```sql
CREATE UNIQUE INDEX CONCURRENTLY customers_email_key ON customers (email);
-- next migration (after checking pg_index.indisvalid)
ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE USING INDEX customers_email_key;
```

**Example.**

```sql
-- flagged
ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import CT

ID = "add-unique-constraint"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddConstraint", "AlterTableStmt:AT_AddColumn")


def check(ctx):
    for rel, con, column in ctx.constraints_added_to_existing_table(CT.CONSTR_UNIQUE):
        if con.indexname:
            continue
        name = con.conname or (f"{rel.relname}_{column.colname}_key" if column is not None else "name")
        yield ctx.finding(
            ID, SEVERITY, con,
            f"UNIQUE constraint on {nodes.relname(rel)} builds its index under an ACCESS EXCLUSIVE lock "
            "(reads and writes wait for the whole build)",
            f"CREATE UNIQUE INDEX CONCURRENTLY {name} ..., check it is valid, then ADD CONSTRAINT {name} "
            f"UNIQUE USING INDEX {name}")
