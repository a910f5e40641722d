"""A CHECK constraint added to a table in use without NOT VALID.

**Problem.** `ALTER TABLE ... ADD CHECK (...)` scans every row under an ACCESS
EXCLUSIVE lock: nothing, not even a SELECT, reads the table until the scan
ends. New tables (created earlier in the run) are exempt.

**Safe alternative.** `ADD CONSTRAINT ... CHECK (...) NOT VALID` (brief lock, new
rows checked from then on), then `VALIDATE CONSTRAINT` in a separate
transaction (SHARE UPDATE EXCLUSIVE: reads and writes go on).

**Example.**

```sql
-- flagged
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);

-- safe
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
-- next migration
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import CT

ID = "check-not-valid"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddConstraint", "AlterTableStmt:AT_AddColumn")


def check(ctx):
    for rel, con, column in ctx.constraints_added_to_existing_table(CT.CONSTR_CHECK):
        if con.skip_validation:
            continue
        name = f" {con.conname}" if con.conname else ""
        what = f"column {column.colname}" if column is not None else nodes.relname(rel)
        yield ctx.finding(
            ID, SEVERITY, con,
            f"CHECK{name} on {what} without NOT VALID scans every row of {nodes.relname(rel)} under an "
            "ACCESS EXCLUSIVE lock (even reads wait)",
            "add it with ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a separate "
            "transaction")
