"""VALIDATE CONSTRAINT in the same transaction as an earlier change to the table.

**Problem.** The point of `NOT VALID` + `VALIDATE CONSTRAINT` is that the
validation scan runs with a weak lock. In the same transaction as the
`ADD CONSTRAINT ... NOT VALID` (or any other ALTER TABLE of that table), the
strong lock taken earlier is still held, so the scan blocks everyone anyway.

**Safe alternative.** Commit in between: validate in the next migration, or in
a file whose statements do not share a transaction.

**Example.**

```sql
-- flagged (one transaction)
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;

-- safe: the VALIDATE in the next migration
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT

ID = "validate-same-tx"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_ValidateConstraint",)


def _same_table(a, b) -> bool:
    return a.relname == b.relname and (a.schemaname == b.schemaname or not a.schemaname or not b.schemaname)


def check(ctx):
    rel = ctx.node.relation
    if rel is None or not ctx.in_transaction or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_ValidateConstraint):
        for earlier in ctx.same_transaction():
            if earlier.kind == "AlterTableStmt" and earlier.node.relation is not None \
                    and _same_table(earlier.node.relation, rel):
                yield ctx.finding(
                    ID, SEVERITY, None,
                    f"VALIDATE CONSTRAINT {cmd.name} runs in the same transaction as the ALTER TABLE of "
                    f"{nodes.relname(rel)} at line {earlier.location.line}, whose lock is still held: "
                    "the validation scan blocks the table after all",
                    "validate in a separate transaction (e.g. the next migration)")
                break
