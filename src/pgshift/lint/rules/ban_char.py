"""char(n) columns: use text (or varchar) instead.

**Problem.** `char(n)` pads values with spaces to n characters, compares
ignoring them in some places and not in others, is not faster than `text` in
PostgreSQL, and changing its length later rewrites the table.

**Safe alternative.** `text`, with `CHECK (length(col) <= n)` when a limit
matters.

**Example.**

```sql
-- flagged
CREATE TABLE countries (code char(2) PRIMARY KEY);
-- safe
CREATE TABLE countries (code text PRIMARY KEY CHECK (length(code) = 2));
```
"""
from __future__ import annotations

from .. import nodes

ID = "ban-char"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("CreateStmt", "AlterTableStmt:AT_AddColumn", "AlterTableStmt:AT_AlterColumnType")


def check(ctx):
    for name, typename, at, type_names in ctx.defined_columns():
        if type_names == ("pg_catalog", "bpchar"):
            yield ctx.finding(
                ID, SEVERITY, at,
                f"column {name} is {nodes.show_type(typename)}: blank-padded, no faster than text, and resizing "
                "it later rewrites the table",
                f"use text (with CHECK (length({name}) <= n) if the limit matters)")
