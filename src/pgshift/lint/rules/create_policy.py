"""CREATE or ALTER POLICY on a table in use takes an ACCESS EXCLUSIVE lock.

**Problem.** Policy DDL locks the table against everything, reads included.
The statement itself is quick but the lock request queues behind long
transactions. pgshift runs it with a lock timeout and retries, so this is
informational. Tables created earlier in the run are exempt.

**Safe alternative.** Create policies together with the table; on a table in
use, keep the transaction short and let the lock timeout and retry handle it.

**Example.**

```sql
-- reported
CREATE POLICY tenant_isolation ON orders USING (tenant_id = get_current_tenant_id());
```
"""
from __future__ import annotations

from .. import nodes

ID = "create-policy"
SEVERITY = "info"
VERSIONS = (None, None)
NODES = ("CreatePolicyStmt", "AlterPolicyStmt")


def check(ctx):
    node = ctx.node
    if node.table is None or ctx.is_new_table(node.table):
        return
    verb = "CREATE" if ctx.kind == "CreatePolicyStmt" else "ALTER"
    yield ctx.finding(
        ID, SEVERITY, None,
        f"{verb} POLICY {node.policy_name} takes an ACCESS EXCLUSIVE lock on {nodes.relname(node.table)} "
        "(reads wait too)",
        "keep the transaction short; pgshift's lock timeout and retry bound the wait")
