"""ALTER TYPE ... ADD VALUE inside a transaction.

**Problem.** Before PostgreSQL 12, `ALTER TYPE ... ADD VALUE` cannot run inside
a transaction block at all (unless the type was created in the same
transaction): the migration fails. From 12 on it may, but the new value
cannot be used until the transaction commits (`unsafe use of new value`), so
a later statement in the same transaction that uses it fails; that case is a
warning.

**Safe alternative.** Add the value in a migration of its own (or a file with
`-- pgshift:no-transaction`), and use it from the next migration on.

**Example.**

```sql
-- flagged (one transaction)
ALTER TYPE order_status ADD VALUE 'refunded';
UPDATE orders SET status = 'refunded' WHERE id = 42;
```
"""
from __future__ import annotations

from .. import nodes

ID = "enum-add-value"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterEnumStmt",)


def _created_in_same_tx(ctx, type_name: str) -> bool:
    schema, _, name = type_name.rpartition(".")
    for _, pos, _ in ctx.run.enum_types.find(schema or None, name, before=ctx.pos, file=ctx.pos[0]):
        if pos[1] in {s.index for s in ctx.same_transaction()}:
            return True
    return False


def check(ctx):
    node = ctx.node
    if node.newVal is None or node.oldVal is not None or not ctx.in_transaction:
        return
    type_name = nodes.dotted(node.typeName)
    if _created_in_same_tx(ctx, type_name):
        return
    if ctx.target_version < 12:
        yield ctx.finding(
            ID, SEVERITY, None,
            f"ALTER TYPE {type_name} ADD VALUE cannot run inside a transaction block before PostgreSQL 12, "
            "and this statement runs inside one",
            "put it in a file of its own with -- pgshift:no-transaction (or without BEGIN/COMMIT)")
        return
    quoted = "'" + node.newVal.replace("'", "''") + "'"
    for later in ctx.same_transaction(before=False, after=True):
        if quoted in later.sql:
            yield ctx.finding(
                ID, "warning", None,
                f"the value {quoted} added to {type_name} is used at line {later.location.line} in the same "
                "transaction, before it commits: PostgreSQL refuses that (unsafe use of new value)",
                "add the value in a migration of its own and use it from the next one")
            return
