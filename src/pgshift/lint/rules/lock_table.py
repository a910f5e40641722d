"""LOCK TABLE in a migration.

**Problem.** An explicit lock (ACCESS EXCLUSIVE unless a mode is given) is held
to the end of the transaction; everything else in the migration then runs
while the table is blocked, and the lock request itself queues behind long
transactions, stalling every query behind it.

**Safe alternative.** Avoid it; if it is really needed, keep the transaction
short and rely on pgshift's lock timeout and retry.

**Example.**

```sql
-- flagged
LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;
```
"""
from __future__ import annotations

from .. import nodes

ID = "lock-table"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("LockStmt",)

_MODES = {1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE", 5: "SHARE",
          6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}


def check(ctx):
    node = ctx.node
    rels = [r for r in node.relations or () if not ctx.is_new_table(r)]
    if not rels:
        return
    mode = _MODES.get(node.mode, "ACCESS EXCLUSIVE")
    yield ctx.finding(
        ID, SEVERITY, None,
        f"LOCK TABLE {', '.join(nodes.relname(r) for r in rels)} IN {mode} MODE holds the lock to the end of "
        "the transaction",
        "avoid explicit locks; keep the transaction short and let pgshift's lock timeout and retry handle waits")
