"""timestamp without time zone: prefer timestamptz.

**Problem.** `timestamp` stores wall-clock time with no zone: the same instant
written from servers or sessions in different time zones gets different
values, and daylight-saving changes create duplicates and gaps. Converting the
column later rewrites the table (unless the session time zone is UTC, 12+).

**Safe alternative.** `timestamptz` (`timestamp with time zone`), which stores
an instant.

**Example.**

```sql
-- flagged
CREATE TABLE events (happened_at timestamp NOT NULL);
-- safe
CREATE TABLE events (happened_at timestamptz NOT NULL);
```
"""
from __future__ import annotations

ID = "prefer-timestamptz"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("CreateStmt", "AlterTableStmt:AT_AddColumn", "AlterTableStmt:AT_AlterColumnType")


def check(ctx):
    for name, _typename, at, type_names in ctx.defined_columns():
        if type_names == ("pg_catalog", "timestamp"):
            yield ctx.finding(
                ID, SEVERITY, at,
                f"column {name} is timestamp without time zone: the same instant gets different values from "
                "sessions in different time zones",
                f"use timestamptz for {name}")
