"""A policy on a tenant table whose expressions never mention tenant_id.

**Problem.** A policy on a table with a `tenant_id` column that does not look
at `tenant_id` (in its USING or WITH CHECK expression) does not isolate
tenants: `USING (true)` or `USING (active)` lets every tenant see, or write,
every other tenant's rows. Tenant tables are those the run creates with a
`tenant_id` column.

**Safe alternative.** Compare `tenant_id` with the current tenant in every
expression the policy has.

**Example.**

```sql
-- flagged
CREATE POLICY items_visible ON inventory.items USING (active);
-- safe
CREATE POLICY items_visible ON inventory.items
    USING (tenant_id = get_current_tenant_id() AND active);
```
"""
from __future__ import annotations

from .. import nodes

ID = "policy-without-tenant"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("CreatePolicyStmt", "AlterPolicyStmt")


def check(ctx):
    node = ctx.node
    if node.table is None or not ctx.is_tenant_table(node.table):
        return
    for label, expr in (("USING", node.qual), ("WITH CHECK", node.with_check)):
        if expr is None or "tenant_id" in nodes.column_refs(expr):
            continue
        yield ctx.finding(
            ID, SEVERITY, None,
            f"policy {node.policy_name} on tenant table {nodes.relname(node.table)}: its {label} expression "
            "does not mention tenant_id, so it does not keep tenants apart",
            f"{label} (tenant_id = get_current_tenant_id() ...)")
