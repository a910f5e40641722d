"""ADD COLUMN that rewrites a table in use: a volatile DEFAULT, serial, identity or STORED generated column.

**Problem.** Adding a column whose value must be computed for every existing
row rewrites the whole table under an ACCESS EXCLUSIVE lock: a DEFAULT that
calls a volatile function (`random()`, `gen_random_uuid()`,
`uuid_generate_v4()`, `clock_timestamp()`, `nextval()`, or any function
pgshift does not know to be stable), a `serial` type, `GENERATED ... AS
IDENTITY`, or `GENERATED ALWAYS AS (...) STORED`. Since PostgreSQL 11 a
non-volatile default (a constant, a cast, `now()`, `CURRENT_TIMESTAMP`) is
stored in the catalog and costs nothing; before 11 *any* default rewrites, so
for a target below 11 those are flagged too. PostgreSQL 18's VIRTUAL
generated columns do not rewrite.

**Safe alternative.** Add the column without the default (or with a constant
one), `ALTER COLUMN ... SET DEFAULT` for new rows, backfill existing rows in
batches (`-- pgshift:batch size=1000`), then add NOT NULL safely. Instead of a
STORED generated column, use a trigger (or a VIRTUAL column on 18).

**Example.**

```sql
-- flagged
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();

-- safe
ALTER TABLE orders ADD COLUMN public_id uuid;
ALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();
-- pgshift:batch size=1000
UPDATE orders SET public_id = gen_random_uuid() WHERE public_id IS NULL;
```
"""
from __future__ import annotations

from .. import nodes
from ..nodes import AT, CT

ID = "add-column-volatile-default"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AddColumn",)

SERIAL_TYPES = ("serial", "serial4", "bigserial", "serial8", "smallserial", "serial2")
_HINT = ("add the column without it (nullable), SET DEFAULT for new rows, backfill in batches "
         "(-- pgshift:batch size=1000), then make it NOT NULL safely")


def _why(ctx, col) -> str | None:
    if nodes.type_name(col.typeName) in SERIAL_TYPES:
        return f"its type {nodes.type_name(col.typeName)} fills every existing row from a sequence"
    for con in nodes.column_constraints(col):
        if con.contype == CT.CONSTR_IDENTITY:
            return "GENERATED ... AS IDENTITY fills every existing row from a sequence"
        if con.contype == CT.CONSTR_GENERATED and con.generated_kind == "s":
            return "a STORED generated column is computed and written for every existing row"
        if con.contype == CT.CONSTR_DEFAULT and con.raw_expr is not None:
            if nodes.is_volatile(con.raw_expr):
                return "its DEFAULT is volatile, so it is evaluated and written for every existing row"
            if ctx.target_version < 11:
                return "before PostgreSQL 11 any DEFAULT is written into every existing row"
    return None


def check(ctx):
    rel = ctx.node.relation
    if rel is None or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_AddColumn):
        col = cmd.def_
        why = _why(ctx, col)
        if why:
            yield ctx.finding(
                ID, SEVERITY, col,
                f"ADD COLUMN {col.colname} rewrites {nodes.relname(rel)} under an ACCESS EXCLUSIVE lock: {why}",
                _HINT)
