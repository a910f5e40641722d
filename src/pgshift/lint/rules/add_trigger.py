"""Creating, enabling or disabling a trigger on a table in use blocks its writes briefly.

**Problem.** `CREATE TRIGGER` and `ALTER TABLE ... ENABLE/DISABLE TRIGGER` take
a SHARE ROW EXCLUSIVE lock: writes wait. The statement is quick, but the lock
request queues behind long transactions and stalls writes meanwhile. pgshift
runs it with a lock timeout and retries, so this is informational. Tables
created earlier in the run are exempt.

**Safe alternative.** Keep the trigger function cheap (it runs on every row
written from now on), let the lock timeout and retry handle the wait, and
prefer `CREATE OR REPLACE TRIGGER` (PostgreSQL 14+) to drop-and-create.

**Example.**

```sql
-- reported
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT

ID = "add-trigger"
SEVERITY = "info"
VERSIONS = (None, None)
_TRIGGER_SUBTYPES = ("AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_EnableTrigAll",
                     "AT_EnableTrigUser", "AT_DisableTrig", "AT_DisableTrigAll", "AT_DisableTrigUser")
NODES = ("CreateTrigStmt",) + tuple(f"AlterTableStmt:{name}" for name in _TRIGGER_SUBTYPES)
_TRIGGER_CMDS = tuple(getattr(AT, name) for name in _TRIGGER_SUBTYPES)


def check(ctx):
    node = ctx.node
    rel = node.relation
    if rel is None or ctx.is_new_table(rel):
        return
    if ctx.kind == "CreateTrigStmt":
        yield ctx.finding(
            ID, SEVERITY, None,
            f"CREATE TRIGGER {node.trigname} blocks writes to {nodes.relname(rel)} while it waits for its "
            "lock (SHARE ROW EXCLUSIVE)",
            "keep the trigger function cheap; pgshift's lock timeout and retry bound the wait")
        return
    for cmd in nodes.alter_cmds(node, *_TRIGGER_CMDS):
        yield ctx.finding(
            ID, SEVERITY, None,
            f"enabling or disabling trigger {cmd.name or 'ALL'} blocks writes to {nodes.relname(rel)} while it "
            "waits for its lock (SHARE ROW EXCLUSIVE)",
            "pgshift's lock timeout and retry bound the wait")
        return
