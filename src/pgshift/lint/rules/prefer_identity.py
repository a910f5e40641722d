"""serial columns: prefer GENERATED ... AS IDENTITY.

**Problem.** `serial`/`bigserial` create a sequence that is only loosely tied
to the column: permissions on it must be granted separately, it is easy to
desynchronise (copying tables, `INSERT` with explicit ids), and dumps and
ownership changes trip over it. Identity columns (PostgreSQL 10+) are the
SQL-standard replacement.

**Safe alternative.** `id bigint GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT`
when rows are sometimes inserted with their id).

**Example.**

```sql
-- flagged
CREATE TABLE events (id bigserial PRIMARY KEY);
-- safe
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
```
"""
from __future__ import annotations

ID = "prefer-identity"
SEVERITY = "warning"
VERSIONS = (10, None)
NODES = ("CreateStmt", "AlterTableStmt:AT_AddColumn")

_SERIAL = ("serial", "serial4", "bigserial", "serial8", "smallserial", "serial2")


def check(ctx):
    for col, name in ctx.added_columns():
        if name in _SERIAL:
            yield ctx.finding(
                ID, SEVERITY, col,
                f"column {col.colname} is {name}: its sequence is only loosely tied to the column",
                f"use {col.colname} bigint GENERATED ALWAYS AS IDENTITY")
