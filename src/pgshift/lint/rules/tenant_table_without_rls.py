"""A table with a tenant_id column created without row level security.

**Problem.** On a multi-tenant platform every table that holds a `tenant_id`
relies on row level security to keep one tenant from reading another's rows.
A new tenant table that does not `ENABLE ROW LEVEL SECURITY` in the migration
that creates it is readable across tenants from the moment it exists; a
policy without RLS enabled does nothing. (RLS enabled but no policy is
`enable-rls-without-policy`.)

**Safe alternative.** In the same migration:

```sql
ALTER TABLE inventory.items ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_items ON inventory.items
    USING (tenant_id = get_current_tenant_id());
```

**Example.**

```sql
-- flagged
CREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, sku text);
```
"""
from __future__ import annotations

from ...sql import ast
from .. import nodes
from ..context import table_key

ID = "tenant-table-without-rls"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("CreateStmt",)


def _later_in_file(ctx, found) -> bool:
    """Any of the (schema, pos, data) entries *found* stands later in this statement's file."""
    here = ctx.pos
    for _schema, pos, _data in found:
        if pos[0] == here[0] and pos > here:
            return True
    return False


def check(ctx):
    node = ctx.node
    rel = node.relation
    if rel is None or rel.relpersistence == "t" or node.partbound is not None:
        return ()
    for c in node.tableElts or ():
        if isinstance(c, ast.ColumnDef) and (c.colname or "").lower() == "tenant_id":
            break
    else:
        return ()
    schema, name = table_key(rel)
    if _later_in_file(ctx, ctx.run.rls_enabled.find(schema, name)):
        return ()
    policies = _later_in_file(ctx, ctx.run.policies.find(schema, name))
    table = nodes.relname(rel)
    return [ctx.finding(
        ID, SEVERITY, None,
        f"table {table} has a tenant_id column but this migration does not enable row level "
        "security on it" + (": its policy does nothing" if policies else " nor create a policy")
        + ", so every tenant can read every other tenant's rows",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"
        + ("" if policies else f" CREATE POLICY ... ON {table} USING (tenant_id = ...);"))]
