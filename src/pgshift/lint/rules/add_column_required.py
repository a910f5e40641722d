"""ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows.

**Problem.** Existing rows would get NULL in the new column, so PostgreSQL
refuses: `ERROR: column "c" of relation "t" contains null values`. The
migration passes on an empty development database and fails in production.
New tables (created earlier in the run) are exempt.

**Safe alternative.** Add the column nullable, backfill it, then make it NOT
NULL safely (see `set-not-null`); or give it a non-volatile DEFAULT, which costs
nothing since PostgreSQL 11.

**Example.**

```sql
-- flagged
ALTER TABLE orders ADD COLUMN channel text NOT NULL;

-- safe
ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'web';
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT, CT
from .add_column_volatile_default import SERIAL_TYPES

ID = "add-column-required"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddColumn",)

_FILLED = (CT.CONSTR_DEFAULT, CT.CONSTR_IDENTITY, CT.CONSTR_GENERATED)


def check(ctx):
    rel = ctx.node.relation
    if rel is None or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_AddColumn):
        col = cmd.def_
        required = col.is_not_null or nodes.has_contype(col, CT.CONSTR_NOTNULL, CT.CONSTR_PRIMARY)
        if not required or nodes.has_contype(col, *_FILLED) or nodes.type_name(col.typeName) in SERIAL_TYPES:
            continue
        yield ctx.finding(
            ID, SEVERITY, col,
            f"ADD COLUMN {col.colname} NOT NULL without a DEFAULT fails on {nodes.relname(rel)} as soon as it "
            "has a row (\"contains null values\")",
            "add it nullable, backfill, then make it NOT NULL safely; or give it a constant DEFAULT "
            "(free since PostgreSQL 11)")
