"""An EXCLUDE constraint added to a table in use blocks it for the whole build.

**Problem.** `ADD CONSTRAINT ... EXCLUDE` builds its index and checks every
row while holding ACCESS EXCLUSIVE. Unlike UNIQUE and CHECK there is no `NOT
VALID` and no `USING INDEX` way around it. Tables created earlier in the run
are exempt.

**Safe alternative.** Add exclusion constraints when the table is created; on
a large table in use, build a new table with the constraint and move the data,
or accept the lock in a maintenance window with a lock timeout.

**Example.**

```sql
-- flagged
ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap
    EXCLUDE USING gist (room_id WITH =, during WITH &&);
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import CT

ID = "add-exclusion-constraint"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddConstraint",)


def check(ctx):
    for rel, con, _column in ctx.constraints_added_to_existing_table(CT.CONSTR_EXCLUSION):
        yield ctx.finding(
            ID, SEVERITY, con,
            f"EXCLUDE constraint on {nodes.relname(rel)} builds its index and checks every row under an ACCESS "
            "EXCLUSIVE lock; there is no NOT VALID or USING INDEX form",
            "add it when creating the table, or in a maintenance window with a lock timeout")
