"""UPDATE or DELETE of a whole table in use, in one transaction.

**Problem.** An `UPDATE` or `DELETE` of a table that existed before the run,
with no key-range condition, changes every matching row in one transaction:
row locks are held until it commits (blocking the application's writes to
those rows), the WAL arrives as one burst (replica lag), dead tuples pile up,
and an error near the end undoes everything. Inside a migration's transaction
it also prolongs every DDL lock taken before it.

A condition counts as a key range when it bounds an `id` or `*_id` column
(other than `tenant_id`) by `=`, `IN (...)`, `BETWEEN`, `<`/`<=`, or limits
itself with `IN (SELECT ... LIMIT n)`. The ledger table is left to
`ledger-write`; tables created earlier in the run are exempt.

**Safe alternative.** Put `-- pgshift:batch size=1000` on the line before: pgshift
splits the statement into primary-key ranges, commits each on its own, shows
progress and resumes after a crash. Or make the statement limit itself
(`WHERE id IN (SELECT id ... LIMIT 1000)`), which pgshift reruns until it
changes no row.

**Example.**

```sql
-- flagged
UPDATE legacy_customers SET migrated = true WHERE migrated = false;

-- safe
-- pgshift:batch size=1000 sleep=100ms
UPDATE legacy_customers SET migrated = true WHERE migrated = false;
```
"""
from __future__ import annotations

from ...sql import ast, enums
from .. import nodes

ID = "unbatched-dml"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("UpdateStmt", "DeleteStmt")

_BOUNDING_OPS = {"=", "<", "<="}
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# enum members compared as they are (an enum member's .name is a property, slow to read)
_AND, _OR = enums.BoolExprType.AND_EXPR, enums.BoolExprType.OR_EXPR
_OP = enums.A_Expr_Kind.AEXPR_OP
_RANGES = (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_BETWEEN_SYM, enums.A_Expr_Kind.AEXPR_IN)
_ANY_SUBLINK = enums.SubLinkType.ANY_SUBLINK


def _key_column(expr) -> bool:
    if not isinstance(expr, ast.ColumnRef):
        return False
    names = nodes.name_list(expr.fields)
    name = names[-1].lower() if names else ""
    return name in ("id", "ctid") or (name.endswith("_id") and name != "tenant_id")


def _constant(expr) -> bool:
    """No column of the row in it (a literal, a parameter, an expression of those)."""
    return not any(isinstance(n, ast.ColumnRef | ast.SubLink) for n in nodes.walk(expr))


def bounded(where) -> bool:
    """Whether a WHERE clause limits the statement to a key range."""
    if where is None:
        return False
    if isinstance(where, ast.BoolExpr):
        if where.boolop == _AND:
            return any(bounded(a) for a in where.args)
        if where.boolop == _OR:
            return all(bounded(a) for a in where.args)
        return False
    if isinstance(where, ast.CurrentOfExpr):
        return True
    if isinstance(where, ast.A_Expr):
        kind = where.kind
        op = nodes.name_list(where.name)[-1] if where.name else ""
        if kind == _OP and op in _FLIPPED:
            if _key_column(where.lexpr) and _constant(where.rexpr):
                return op in _BOUNDING_OPS
            if _key_column(where.rexpr) and _constant(where.lexpr):
                return _FLIPPED[op] in _BOUNDING_OPS
            return False
        if kind in _RANGES:
            return _key_column(where.lexpr) and _constant(where.rexpr)
        return False
    if isinstance(where, ast.SubLink) and where.subLinkType == _ANY_SUBLINK:
        sub = where.subselect
        return getattr(sub, "limitCount", None) is not None
    return False


def check(ctx):
    node = ctx.node
    rel = node.relation
    # the cheap questions first (none changes another's answer)
    if rel is None or ctx.statement.directive("batch") or bounded(node.whereClause):
        return ()
    if ctx.is_new_table(rel) or ctx.is_ledger(rel):
        return ()
    verb = "UPDATE" if ctx.kind == "UpdateStmt" else "DELETE"
    scope = "every row" if node.whereClause is None else "every matching row"
    return [ctx.finding(
        ID, SEVERITY, None,
        f"{verb} of {nodes.relname(rel)} with no key-range condition changes {scope} in one transaction: row "
        "locks held to the end, a burst of WAL and replica lag, dead tuples",
        "put `-- pgshift:batch size=1000` on the line before (pgshift commits each key range on its own, "
        "shows progress and resumes), or limit it: WHERE id IN (SELECT id ... LIMIT 1000)")]
