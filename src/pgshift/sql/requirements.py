"""What a statement asks of the rows already in a table, read from its parse tree: the unique
keys, NOT NULL columns, CHECK expressions, foreign keys and type changes that existing data
could make fail (``pgshift plan``'s data truth turns each into a read-only query)."""
from __future__ import annotations

from pglast import ast, enums

from .classify import _rv

__all__ = ["data_requirements", "pending_enum_labels"]

_AT = enums.AlterTableType
_CT = enums.ConstrType


def _names(items) -> list[str]:
    out = []
    for item in items or ():
        value = getattr(item, "sval", None) or getattr(item, "name", None)
        if value:
            out.append(str(value))
    return out


def _constraint(table: str, con, out: list[dict]) -> None:
    if not isinstance(con, ast.Constraint) or con.skip_validation:
        return
    if con.contype in (_CT.CONSTR_UNIQUE, _CT.CONSTR_PRIMARY) and con.keys and not con.indexname:
        out.append({"kind": "unique", "table": table, "columns": _names(con.keys),
                    "nulls_distinct": not getattr(con, "nulls_not_distinct", False)})
        if con.contype == _CT.CONSTR_PRIMARY:
            for col in _names(con.keys):
                out.append({"kind": "not_null", "table": table, "columns": [col]})
    elif con.contype == _CT.CONSTR_CHECK and con.raw_expr is not None:
        from .rewrite import deparse  # noqa: PLC0415

        out.append({"kind": "check", "table": table, "expression": deparse(con.raw_expr)})
    elif con.contype == _CT.CONSTR_FOREIGN and con.fk_attrs:
        out.append({"kind": "foreign_key", "table": table, "columns": _names(con.fk_attrs),
                    "ref_table": _rv(con.pktable), "ref_columns": _names(con.pk_attrs)})


def data_requirements(node) -> list[dict]:
    """What existing rows must satisfy for *node* to succeed, one dict each: ``kind`` (``unique``,
    ``not_null``, ``check``, ``foreign_key``, ``type``), ``table`` (quoted as
    :func:`pgshift.sql.classify.referenced_relations` names it) and per kind ``columns``,
    ``expression`` (a CHECK's, as SQL), ``ref_table``/``ref_columns``, ``type`` (the new type, as
    SQL), ``using`` (an ALTER TYPE's USING, as SQL). Constraints added NOT VALID and tables the
    statement creates ask nothing of existing rows: []."""
    out: list[dict] = []
    name = type(node).__name__
    if name == "IndexStmt" and node.unique:
        cols = [p.name for p in node.indexParams or () if isinstance(p, ast.IndexElem) and p.name]
        if cols and len(cols) == len(node.indexParams) and node.whereClause is None:
            out.append({"kind": "unique", "table": _rv(node.relation), "columns": cols,
                        "nulls_distinct": not getattr(node, "nulls_not_distinct", False)})
    elif name == "AlterTableStmt":
        table = _rv(node.relation)
        if table is None:
            return out
        for cmd in node.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd):
                continue
            if cmd.subtype == _AT.AT_AddConstraint:
                _constraint(table, cmd.def_, out)
            elif cmd.subtype == _AT.AT_SetNotNull and cmd.name:
                out.append({"kind": "not_null", "table": table, "columns": [cmd.name]})
            elif cmd.subtype == _AT.AT_AlterColumnType and cmd.name and isinstance(cmd.def_, ast.ColumnDef):
                from .rewrite import deparse  # noqa: PLC0415

                entry = {"kind": "type", "table": table, "columns": [cmd.name],
                         "type": deparse(cmd.def_.typeName)}
                using = cmd.def_.raw_default
                if using is not None and not _casts_of(using, cmd.name):
                    # USING col::type (or col::text::type, the way to another enum) is the cast checked anyway
                    entry["using"] = deparse(using)
                out.append(entry)
    return out


def _casts_of(node, column: str) -> bool:
    """Whether *node* is *column* cast once or more (``col::text::new_enum``)."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.ColumnRef) and [getattr(f, "sval", None) for f in node.fields or ()][-1:] == [column]


def pending_enum_labels(nodes) -> dict[str, tuple[bool, list[str]]]:
    """The labels pending statements give enum types, by the type's name (unqualified, as a
    type change's ``type`` ends): ``(True, labels)`` for a type a ``CREATE TYPE ... AS ENUM``
    makes (anew: a type of that name on the target is dropped first), ``(False, added)`` for
    labels ``ALTER TYPE ... ADD VALUE`` adds to the target's."""
    out: dict[str, tuple[bool, list[str]]] = {}
    for node in nodes:
        name = type(node).__name__
        if name == "CreateEnumStmt":
            out[_names(node.typeName)[-1]] = (True, _names(node.vals))
        elif name == "AlterEnumStmt" and node.newVal and not node.oldVal:
            out.setdefault(_names(node.typeName)[-1], (False, []))[1].append(node.newVal)
    return out
