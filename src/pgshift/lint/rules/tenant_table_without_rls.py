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

from .. import nodes
from ..context import table_key

ID = "tenant-table-without-rls"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("CreateStmt",)


def check(ctx):
    node = ctx.node
    rel = node.relation
    if rel is None or rel.relpersistence == "t" or node.partbound is not None:
        return
    for c in nodes.table_columns(node):
        if (c.colname or "").lower() == "tenant_id":
            break
    else:
        return
    schema, name = table_key(rel)
    here = ctx.pos[0]
    rls = [p for _, p, _ in ctx.run.rls_enabled.find(schema, name) if p[0] == here and p > ctx.pos]
    if rls:
        return
    policies = [p for _, p, _ in ctx.run.policies.find(schema, name) if p[0] == here and p > ctx.pos]
    yield ctx.finding(
        ID, SEVERITY, None,
        f"table {nodes.relname(rel)} has a tenant_id column but this migration does not enable row level "
        "security on it" + (": its policy does nothing" if policies else " nor create a policy")
        + ", so every tenant can read every other tenant's rows",
        f"ALTER TABLE {nodes.relname(rel)} ENABLE ROW LEVEL SECURITY;"
        + ("" if policies else f" CREATE POLICY ... ON {nodes.relname(rel)} USING (tenant_id = ...);"))
