"""Statements rewritten from their parse trees: a batched data change's key ranges and
self-limiting form, and a node printed back as SQL."""
from __future__ import annotations

import copy

from pglast import ast, enums

from ..text import quote_ident
from .parser import parse_one

__all__ = ["BatchShape", "batch_shape", "deparse"]


def deparse(node) -> str:
    """SQL text for a parse node (pglast's printer)."""
    from pglast.stream import RawStream  # noqa: PLC0415

    return RawStream()(node)


class BatchShape:
    """How a ``-- pgshift:batch`` statement is batched, read from its parse tree.

    ``self_limiting``: its row selection (the WHERE, FROM/USING and WITH of an
    UPDATE or DELETE; the SELECT of an INSERT ... SELECT) has a LIMIT, so it is run
    again and again until it changes no row. A LIMIT elsewhere (a scalar subquery in
    SET, say) does not make a statement limit itself.

    Otherwise pgshift walks the primary key of ``relation`` (the UPDATE/DELETE
    target, or the single table an INSERT ... SELECT reads) in ranges and adds
    ``key > $1 AND key <= $2`` (the first batch has only ``key <= $1``) to the
    statement's own WHERE. ``relation`` is None when the rows do not come from one
    table (an INSERT ... SELECT from a join, VALUES, a set operation).
    """

    def __init__(self, node):
        self.node = node
        self.kind = type(node).__name__
        self.self_limiting = _has_limit(node)
        self.relation = None   # (schema or None, name)
        self.ref = None        # how the WHERE refers to the table
        target = None
        if self.kind in ("UpdateStmt", "DeleteStmt"):
            target = node.relation
        elif self.kind == "InsertStmt":
            sel = node.selectStmt
            if isinstance(sel, ast.SelectStmt) and sel.fromClause and len(sel.fromClause) == 1 \
                    and isinstance(sel.fromClause[0], ast.RangeVar) and not sel.valuesLists \
                    and (sel.op is None or sel.op == enums.SetOperation.SETOP_NONE):
                target = sel.fromClause[0]
        if target is not None:
            self.relation = (target.schemaname, target.relname)
            self.ref = target.alias.aliasname if target.alias is not None else target.relname

    @property
    def assigned_columns(self) -> tuple[str, ...]:
        """The columns an UPDATE sets."""
        if self.kind != "UpdateStmt":
            return ()
        return tuple(t.name for t in self.node.targetList or () if isinstance(t, ast.ResTarget) and t.name)

    @property
    def inserts_into_source(self) -> bool:
        """An INSERT ... SELECT reading the table it inserts into."""
        if self.kind != "InsertStmt" or self.relation is None:
            return False
        target = self.node.relation
        return target.relname == self.relation[1] and (
            target.schemaname == self.relation[0] or None in (target.schemaname, self.relation[0]))

    @property
    def verb(self) -> str:
        return {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "InsertStmt": "INSERT ... SELECT"}.get(
            self.kind, self.kind)

    def rewrite(self, key: str, with_lower: bool, key_type: str | None = None) -> str:
        """The statement with the key-range condition added to its WHERE.

        Without *key_type* the parameters carry no cast: the server reads them as
        the key column's own type.
        """
        node = copy.deepcopy(self.node)
        col = f"{quote_ident(self.ref)}.{quote_ident(key)}"
        p1, p2 = ("$1", "$2") if key_type is None else (f"$1::{key_type}", f"$2::{key_type}")
        cond_sql = f"SELECT 1 WHERE {col} <= {p1}"
        if with_lower:
            cond_sql = f"SELECT 1 WHERE {col} > {p1} AND {col} <= {p2}"
        cond = parse_one(cond_sql).whereClause
        holder = node.selectStmt if self.kind == "InsertStmt" else node
        if holder.whereClause is None:
            holder.whereClause = cond
        else:
            holder.whereClause = ast.BoolExpr(boolop=enums.BoolExprType.AND_EXPR,
                                              args=(holder.whereClause, cond))
        return deparse(node)

    def self_limiting_alternative(self, size: int) -> str | None:
        """The statement rewritten to limit itself by ``ctid`` (no key needed), or None
        when its rows are not chosen by its own WHERE alone (FROM/USING, INSERT)."""
        node = self.node
        if self.kind not in ("UpdateStmt", "DeleteStmt") or self.relation is None:
            return None
        if (getattr(node, "fromClause", None) or getattr(node, "usingClause", None)):
            return None
        schema, name = self.relation
        table = (f"{quote_ident(schema)}." if schema else "") + quote_ident(name)
        if node.relation.alias is not None:
            table += f" AS {quote_ident(self.ref)}"
        where = f" WHERE {deparse(node.whereClause)}" if node.whereClause is not None else \
            " WHERE <the rows not yet changed>"
        node = copy.deepcopy(node)
        node.whereClause = None
        text = f"{deparse(node)} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table}{where} LIMIT {int(size)}))"
        try:
            return deparse(parse_one(text))
        except Exception:  # noqa: BLE001 - the placeholder for a missing WHERE does not parse
            return text


def batch_shape(node) -> BatchShape:
    return BatchShape(node)


# --- row selection and limits ----------------------------------------------------------

def _row_selection(node) -> list:
    """The parts of a DML statement that choose its rows."""
    kind = type(node).__name__
    if kind == "UpdateStmt":
        return [node.whereClause, node.fromClause, node.withClause]
    if kind == "DeleteStmt":
        return [node.whereClause, node.usingClause, node.withClause]
    if kind == "InsertStmt":
        return [node.selectStmt, node.withClause]
    return [node]


def _has_limit(node) -> bool:
    """A LIMIT (or FETCH FIRST) with a count, other than LIMIT ALL, in the row selection."""
    found = False

    def walk(value, top_select: bool = False):
        nonlocal found
        if found or value is None:
            return
        if isinstance(value, ast.SelectStmt):
            limit = value.limitCount
            if limit is not None and not (isinstance(limit, ast.A_Const) and limit.isnull):
                found = True
                return
            if top_select:
                # an INSERT's own SELECT: its output list is not row selection
                for attr in ("whereClause", "fromClause", "withClause", "larg", "rarg", "havingClause"):
                    walk(getattr(value, attr, None))
                return
        if isinstance(value, ast.Node):
            for attr in value.__slots__:
                walk(getattr(value, attr, None))
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)

    kind = type(node).__name__
    for part in _row_selection(node):
        walk(part, top_select=kind == "InsertStmt" and part is node.selectStmt)
    return found
