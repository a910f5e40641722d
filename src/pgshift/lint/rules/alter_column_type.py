"""ALTER COLUMN ... TYPE that rewrites a table in use.

**Problem.** Changing a column's type rewrites the table and rebuilds its
indexes under an ACCESS EXCLUSIVE lock, unless the new type is
binary-coercible from the old one. When the run itself created the column,
pgshift knows the old type and stays quiet for the safe changes:

- `varchar(n)` to a longer `varchar(m)`, to `varchar` or to `text`;
  `text` to `varchar` without a limit; `text` and `citext` either way;
- `numeric(p, s)` to more precision at the same scale, or to `numeric`;
- `cidr` to `inet`;
- `timestamp`, `timestamptz`, `time`, `interval` to more (or unlimited) precision;
- `timestamp` to `timestamptz` on PostgreSQL 12+ only when the session time
  zone is UTC (reported as a warning).

When the old type is unknown (the column existed before the run), a change to
`text`, an unlimited `varchar`, `citext`, `numeric`, `inet` or `timestamptz`
is a warning (safe only from a compatible type) and anything else an error.
A `USING` expression other than a plain cast of the column always rewrites.

**Safe alternative.** Add a new column of the new type, keep both in sync with
a trigger, backfill in batches, switch the code over, then drop the old column.

**Example.**

```sql
-- flagged
ALTER TABLE orders ALTER COLUMN id TYPE bigint;

-- safe (no rewrite)
ALTER TABLE customers ALTER COLUMN name TYPE varchar(200);  -- was varchar(100)
```
"""
from __future__ import annotations

from ...sql import ast
from .. import nodes
from ..nodes import AT

ID = "alter-column-type"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_AlterColumnType",)

_MAYBE_SAFE = ("text", "varchar", "citext", "numeric", "inet", "timestamptz")
_PRECISION = ("timestamp", "timestamptz", "time", "timetz", "interval")
_HINT = ("add a new column of the new type, sync it with a trigger, backfill in batches, switch the code, "
         "then drop the old column")


def _coercible(old, new, version: int) -> str | None:
    """'safe', 'utc' (safe only with TimeZone UTC) or None (rewrites)."""
    o, n = nodes.type_name(old), nodes.type_name(new)
    om, nm = nodes.typmods(old), nodes.typmods(new)
    if o == n and om == nm:
        return "safe"
    if o == "varchar" and n == "varchar":
        return "safe" if not nm or (om and nm[0] >= om[0]) else None
    if o in ("varchar", "text", "citext") and n in ("text", "citext"):
        return "safe"
    if o in ("text", "citext") and n == "varchar" and not nm:
        return "safe"
    if o == "numeric" and n == "numeric":
        if not nm:
            return "safe"
        if len(om) == 2 and len(nm) == 2 and nm[1] == om[1] and nm[0] >= om[0]:
            return "safe"
        if len(om) == 1 and len(nm) == 1 and nm[0] >= om[0]:
            return "safe"
        return None
    if o == "cidr" and n == "inet":
        return "safe"
    if o == n and o in _PRECISION:
        return "safe" if not nm or (om and nm[0] >= om[0]) else None
    if o == "timestamp" and n == "timestamptz" and version >= 12:
        return "utc"
    return None


def _plain_cast_of(expr, column: str) -> bool:
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return isinstance(expr, ast.ColumnRef) and nodes.name_list(expr.fields)[-1:] == (column,)


def check(ctx):
    rel = ctx.node.relation
    if rel is None or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_AlterColumnType):
        col = cmd.def_
        new = col.typeName
        shown = nodes.show_type(new)
        using = col.raw_default
        where = f"{nodes.relname(rel)}.{cmd.name}"
        if using is not None and not _plain_cast_of(using, cmd.name):
            yield ctx.finding(ID, SEVERITY, None,
                              f"ALTER COLUMN {cmd.name} TYPE {shown} USING an expression rewrites {nodes.relname(rel)} "
                              "and rebuilds its indexes under an ACCESS EXCLUSIVE lock", _HINT)
            continue
        old = ctx.column_type(rel, cmd.name)
        if old is not None:
            verdict = _coercible(old, new, ctx.target_version)
            if verdict == "safe":
                continue
            if verdict == "utc":
                yield ctx.finding(ID, "warning", None,
                                  f"ALTER COLUMN {cmd.name} TYPE timestamptz (from timestamp) rewrites {where}'s table "
                                  "unless the session TimeZone is UTC",
                                  "run it with SET LOCAL TimeZone = 'UTC' (no rewrite since PostgreSQL 12)")
                continue
            yield ctx.finding(ID, SEVERITY, None,
                              f"ALTER COLUMN {cmd.name} TYPE {shown} (from {nodes.show_type(old)}) rewrites "
                              f"{nodes.relname(rel)} and rebuilds its indexes under an ACCESS EXCLUSIVE lock", _HINT)
            continue
        if nodes.type_name(new) in _MAYBE_SAFE:
            yield ctx.finding(ID, "warning", None,
                              f"ALTER COLUMN {cmd.name} TYPE {shown} rewrites {nodes.relname(rel)} under an ACCESS "
                              "EXCLUSIVE lock unless the current type is binary-coercible to it "
                              "(e.g. varchar to text, a longer varchar, more numeric precision)",
                              "check the current type; if it is not compatible: " + _HINT)
        else:
            yield ctx.finding(ID, SEVERITY, None,
                              f"ALTER COLUMN {cmd.name} TYPE {shown} rewrites {nodes.relname(rel)} and rebuilds its "
                              "indexes under an ACCESS EXCLUSIVE lock", _HINT)
