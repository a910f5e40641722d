"""A primary key of type integer or smallint runs out.

**Problem.** An `integer` key stops at 2,147,483,647 (`smallint` at 32,767);
when the sequence gets there, every INSERT fails. Widening the column later is
a full table rewrite under an ACCESS EXCLUSIVE lock, plus every foreign key
that references it.

**Safe alternative.** `bigint` (or `uuid`) keys from the start:
`id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`.

**Example.**

```sql
-- flagged
CREATE TABLE events (id serial PRIMARY KEY, payload jsonb);
-- safe
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb);
```
"""
from __future__ import annotations

from ...sql import ast
from .. import nodes
from ..nodes import CT

ID = "prefer-bigint-pk"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("CreateStmt", "AlterTableStmt:AT_AddColumn")

SMALL = {"int4": "integer", "int2": "smallint", "serial": "serial", "serial4": "serial",
         "smallserial": "smallserial", "serial2": "smallserial", "int": "integer", "integer": "integer",
         "smallint": "smallint"}


_PRIMARY = CT.CONSTR_PRIMARY


def check(ctx):
    table_pk: set[str] = set()   # the columns of a CREATE TABLE's own PRIMARY KEY (...)
    if ctx.kind == "CreateStmt":
        for el in ctx.node.tableElts or ():
            if isinstance(el, ast.Constraint) and el.contype == _PRIMARY:
                table_pk.update(nodes.name_list(el.keys))
    for col, type_name in ctx.added_columns():
        small = SMALL.get(type_name)
        if small is None:
            continue
        if col.colname in table_pk or nodes.has_contype(col, _PRIMARY):
            yield ctx.finding(
                ID, SEVERITY, col,
                f"primary key column {col.colname} is {small}: it runs out at "
                f"{'32,767' if 'small' in small else '2,147,483,647'} and widening it later rewrites the table",
                f"use bigint: {col.colname} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
