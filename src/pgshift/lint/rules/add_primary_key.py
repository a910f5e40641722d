"""A PRIMARY KEY added to a table in use builds its index under a blocking lock.

**Problem.** `ADD PRIMARY KEY (...)` builds a unique index under ACCESS
EXCLUSIVE and, for nullable columns, also scans the table to set them NOT
NULL. Tables created earlier in the run are exempt.

**Safe alternative.** Build a unique index concurrently, make the columns NOT
NULL safely (see `set-not-null`), then `ADD PRIMARY KEY USING INDEX` (a brief
lock):

```sql
CREATE UNIQUE INDEX CONCURRENTLY events_pkey ON events (id);
-- next migration
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;
```

**Example.**

```sql
-- flagged
ALTER TABLE events ADD PRIMARY KEY (id);
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import CT

ID = "add-primary-key"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddConstraint", "AlterTableStmt:AT_AddColumn")


def check(ctx):
    for rel, con, _column in ctx.constraints_added_to_existing_table(CT.CONSTR_PRIMARY):
        if con.indexname:
            continue
        name = con.conname or f"{rel.relname}_pkey"
        yield ctx.finding(
            ID, SEVERITY, con,
            f"PRIMARY KEY on {nodes.relname(rel)} builds its index under an ACCESS EXCLUSIVE lock (and scans "
            "the table to make nullable columns NOT NULL)",
            f"CREATE UNIQUE INDEX CONCURRENTLY {name} ..., make the columns NOT NULL safely, then "
            f"ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}")
