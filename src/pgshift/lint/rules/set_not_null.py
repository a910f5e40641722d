"""SET NOT NULL on a table in use scans it under an ACCESS EXCLUSIVE lock.

**Problem.** `ALTER TABLE ... ALTER COLUMN c SET NOT NULL` reads every row to
prove there is no NULL, holding ACCESS EXCLUSIVE: nothing reads or writes the
table meanwhile. (On PostgreSQL 18 the same goes for `ADD CONSTRAINT n NOT NULL
c` without `NOT VALID`.) Since PostgreSQL 12 the scan is skipped when a valid
`CHECK (c IS NOT NULL)` constraint already proves it; when the run adds and
validates such a check before the SET NOT NULL, the rule stays quiet.

**Safe alternative.**

- PostgreSQL 12-17: `ADD CONSTRAINT c_not_null CHECK (c IS NOT NULL) NOT VALID`;
  `VALIDATE CONSTRAINT c_not_null` (in another transaction); then
  `SET NOT NULL` (no scan) and `DROP CONSTRAINT c_not_null`.
- PostgreSQL 18: `ADD CONSTRAINT c_not_null NOT NULL c NOT VALID`, then
  `VALIDATE CONSTRAINT c_not_null` in another transaction.
- Before 12 there is no way around the scan: run it at a quiet time with a
  lock timeout.

**Example.**

```sql
-- flagged
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;

-- safe (12-17)
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_not_null
    CHECK (customer_id IS NOT NULL) NOT VALID;
-- next migration
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_not_null;
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_customer_id_not_null;
```
"""
from __future__ import annotations

from .. import nodes
from ..context import table_key
from ..nodes import AT, CT

ID = "set-not-null"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_SetNotNull", "AlterTableStmt:AT_AddConstraint")


def _hint(ctx, column: str) -> str:
    if ctx.target_version >= 18:
        return (f"ADD CONSTRAINT {column}_not_null NOT NULL {column} NOT VALID, then VALIDATE CONSTRAINT "
                f"{column}_not_null in a separate transaction (PostgreSQL 18)")
    if ctx.target_version >= 12:
        return (f"ADD CONSTRAINT {column}_not_null CHECK ({column} IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT "
                f"in a separate transaction; then SET NOT NULL (no scan) and DROP the check")
    return "before PostgreSQL 12 the scan cannot be avoided: run it at a quiet time with a lock timeout"


def _proven(ctx, rel, column: str) -> bool:
    """A valid CHECK (column IS NOT NULL) exists, added (and validated) earlier in the run."""
    if ctx.target_version < 12:
        return False
    schema, name = table_key(rel)
    for _, _pos, (conname, valid) in ctx.run.notnull_checks.find(schema, f"{name}.{column}", before=ctx.pos):
        if valid or (conname and ctx.run.validated.find(schema, f"{name}.{conname}", before=ctx.pos)):
            return True
    return False


_SET_NOT_NULL, _ADD_CONSTRAINT, _NOT_NULL = AT.AT_SetNotNull, AT.AT_AddConstraint, CT.CONSTR_NOTNULL


def check(ctx):
    node = ctx.node
    rel = node.relation
    if rel is None or ctx.is_new_table(rel):
        return
    for cmd in nodes.alter_cmds(node, _SET_NOT_NULL, _ADD_CONSTRAINT):
        if cmd.subtype == _SET_NOT_NULL:
            if _proven(ctx, rel, cmd.name):
                continue
            yield ctx.finding(
                ID, SEVERITY, None,
                f"SET NOT NULL on {nodes.relname(rel)}.{cmd.name} scans every row under an ACCESS EXCLUSIVE "
                "lock (even reads wait)", _hint(ctx, cmd.name))
        elif (ctx.target_version >= 18 and cmd.def_ is not None
              and getattr(cmd.def_, "contype", None) == _NOT_NULL
              and not cmd.def_.skip_validation):
            column = nodes.name_list(cmd.def_.keys)[0] if cmd.def_.keys else "?"
            yield ctx.finding(
                ID, SEVERITY, cmd.def_,
                f"ADD CONSTRAINT ... NOT NULL {column} on {nodes.relname(rel)} without NOT VALID scans every "
                "row under an ACCESS EXCLUSIVE lock", _hint(ctx, column))
