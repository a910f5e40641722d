"""A FOREIGN KEY added to a table in use without NOT VALID.

**Problem.** `ALTER TABLE ... ADD FOREIGN KEY` checks every existing row while
holding SHARE ROW EXCLUSIVE locks on both tables: writes to the referencing
table and to the referenced table wait for the whole scan. The same happens
for `ADD COLUMN ... REFERENCES`. New tables (created earlier in the run) are
exempt.

**Safe alternative.** Add the constraint `NOT VALID` (a brief lock, no scan:
new rows are checked from then on), then `VALIDATE CONSTRAINT` in a separate
transaction: the scan then holds only SHARE UPDATE EXCLUSIVE, which lets reads
and writes through.

**Example.**

```sql
-- flagged
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id);

-- safe: two migrations (or two transactions)
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import CT

ID = "fk-not-valid"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddConstraint", "AlterTableStmt:AT_AddColumn")


def check(ctx):
    for rel, con, column in ctx.constraints_added_to_existing_table(CT.CONSTR_FOREIGN):
        if con.skip_validation:
            continue
        parent = nodes.relname(con.pktable)
        if column is not None:
            yield ctx.finding(
                ID, SEVERITY, con,
                f"ADD COLUMN {column.colname} ... REFERENCES {parent} validates every row of "
                f"{nodes.relname(rel)} while both tables are locked against writes",
                f"add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ({column.colname}) "
                f"REFERENCES {parent} NOT VALID, and VALIDATE CONSTRAINT in a separate transaction")
        else:
            name = f" {con.conname}" if con.conname else ""
            table = nodes.relname(rel)
            yield ctx.finding(
                ID, SEVERITY, con,
                f"FOREIGN KEY{name} on {table} without NOT VALID scans the whole table while "
                f"{table} and {parent} are locked against writes",
                "add it NOT VALID, then VALIDATE CONSTRAINT in a separate transaction "
                "(that scan lets reads and writes through)")
