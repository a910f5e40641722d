"""Small helpers over pglast parse trees, shared by the rules.

pglast itself stays behind :mod:`pgshift.sql`; the node classes and
enums come from there.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..sql import ast, enums


class Members:
    """An enum's members as plain attributes: ``AT.AT_AddColumn`` is the member itself, read from a
    dict (reading it from the enum class goes through the metaclass and costs ten times more)."""

    def __init__(self, enum) -> None:
        self.__dict__.update(enum.__members__)

    def __getattr__(self, name: str) -> Any:   # only for names that are no member: AttributeError
        raise AttributeError(name)


AT = Members(enums.AlterTableType)
CT = Members(enums.ConstrType)
OBJ = Members(enums.ObjectType)

_Node = ast.Node
_AlterTableCmd, _ColumnDef, _Constraint = ast.AlterTableCmd, ast.ColumnDef, ast.Constraint
_AddColumn, _AddConstraint, _AlterColumnType = AT.AT_AddColumn, AT.AT_AddConstraint, AT.AT_AlterColumnType
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(n for n in getattr(cls, "__slots__", ()) if n != "location")
        _FIELDS[cls] = names
    return names


def walk(node) -> Iterator:
    """Every node under *node* (itself included), depth first."""
    stack = [node]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        if isinstance(item, tuple | list):
            extend(item)
            continue
        if not isinstance(item, _Node):
            continue
        yield item
        for name in _fields(type(item)):
            value = getattr(item, name, None)
            if value is not None and isinstance(value, _Node | tuple | list):
                push(value)


def location(node) -> int | None:
    """The character index a node starts at, when the parser recorded one."""
    loc = getattr(node, "location", None)
    return loc if isinstance(loc, int) and loc >= 0 else None


# --- names -------------------------------------------------------------------

def relname(rv) -> str:
    """``schema.table`` (or ``table``) of a RangeVar."""
    if rv is None:
        return "?"
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else rv.relname


def name_list(items) -> tuple[str, ...]:
    """The parts of a qualified name (a list of String nodes) as strings."""
    if not items:
        return ()
    n = len(items)   # most names have one or two parts (``orders``, ``pg_catalog.int8``): no list made
    if n == 1:
        return (getattr(items[0], "sval", None) or "",)
    if n == 2:
        return (getattr(items[0], "sval", None) or "", getattr(items[1], "sval", None) or "")
    return tuple([getattr(i, "sval", None) or "" for i in items])


def dotted(items) -> str:
    return ".".join(name_list(items))


def type_name(typename) -> str:
    """The bare type name of a TypeName: ``int4``, ``varchar``, ``serial``, ``text`` ..."""
    if typename is None:
        return ""
    names = typename.names
    return (getattr(names[-1], "sval", None) or "").lower() if names else ""


def typmods(typename) -> tuple[int, ...]:
    out = []
    for mod in getattr(typename, "typmods", None) or ():
        val = getattr(mod, "val", None)
        ival = getattr(val, "ival", None)
        if isinstance(ival, int):
            out.append(ival)
    return tuple(out)


_DISPLAY = {"int2": "smallint", "int4": "integer", "int8": "bigint", "bpchar": "char", "varchar": "varchar",
            "timestamp": "timestamp", "timestamptz": "timestamptz", "bool": "boolean", "float8": "double precision",
            "float4": "real"}


def show_type(typename) -> str:
    name = type_name(typename)
    shown = _DISPLAY.get(name, name)
    mods = typmods(typename)
    return f"{shown}({', '.join(map(str, mods))})" if mods else shown


def func_name(call) -> str:
    names = name_list(call.funcname)
    return names[-1].lower() if names else ""


def column_refs(node) -> set[str]:
    """The (last) names of every column referenced under *node*."""
    found = set()
    for n in walk(node):
        if isinstance(n, ast.ColumnRef):
            fields = n.fields or ()
            if fields and isinstance(fields[-1], ast.String):
                found.add(fields[-1].sval.lower())
    return found


def string_const(node) -> str | None:
    if isinstance(node, ast.A_Const) and not node.isnull:
        val = node.val
        if isinstance(val, ast.String):
            return val.sval
    if isinstance(node, ast.TypeCast):
        return string_const(node.arg)
    return None


def defelem_names(items) -> set[str]:
    return {i.defname.lower() for i in items or () if isinstance(i, ast.DefElem) and i.defname}


def column_constraints(coldef) -> tuple:
    constraints = coldef.constraints
    if not constraints:
        return ()
    return tuple([c for c in constraints if isinstance(c, ast.Constraint)])


def has_contype(coldef, *types) -> bool:
    for c in column_constraints(coldef):
        if c.contype in types:
            return True
    return False


def table_columns(create) -> list:
    return [e for e in create.tableElts or () if isinstance(e, ast.ColumnDef)]


def alter_cmds(stmt, *subtypes) -> Iterator:
    """The AlterTableCmds of an ALTER TABLE, optionally only those of given subtypes."""
    for cmd in stmt.cmds or ():
        if isinstance(cmd, ast.AlterTableCmd) and (not subtypes or cmd.subtype in subtypes):
            yield cmd


def added_constraints(stmt) -> list[tuple[Any, Any]]:
    """(constraint, column-or-None) for every constraint an ALTER TABLE adds,
    as ADD CONSTRAINT or inside ADD COLUMN."""
    found: list[tuple[Any, Any]] = []
    for cmd in stmt.cmds or ():
        if not isinstance(cmd, _AlterTableCmd):
            continue
        sub = cmd.subtype
        if sub == _AddConstraint:
            if isinstance(cmd.def_, _Constraint):
                found.append((cmd.def_, None))
        elif sub == _AddColumn and isinstance(cmd.def_, _ColumnDef):
            for con in column_constraints(cmd.def_):
                found.append((con, cmd.def_))
    return found


# --- volatility ---------------------------------------------------------------

#: Functions a DEFAULT may call without forcing a table rewrite (immutable or
#: stable in PostgreSQL's catalog). Anything not listed counts as volatile.
NON_VOLATILE_FUNCTIONS = frozenset("""
now statement_timestamp transaction_timestamp current_timestamp current_date localtimestamp localtime
current_setting current_schema current_user session_user current_database version
lower upper length char_length character_length octet_length bit_length initcap
concat concat_ws format replace translate substring substr left right lpad rpad trim btrim ltrim rtrim
split_part strpos position reverse repeat md5 sha224 sha256 sha384 sha512 encode decode to_hex
abs round trunc floor ceil ceiling sign mod power sqrt exp ln log greatest least nullif coalesce
to_char to_date to_timestamp to_number make_date make_time make_timestamp make_timestamptz make_interval
date_trunc date_part extract timezone age justify_days justify_hours justify_interval
jsonb_build_object json_build_object jsonb_build_array json_build_array to_jsonb to_json
jsonb_object json_object array_to_json row_to_json jsonb_set array_length array_to_string
string_to_array array_append array_prepend array_cat cardinality int4range int8range numrange
tsrange tstzrange daterange int4 int8 int2 text numeric float8 bool
""".split())

VOLATILE_FUNCTIONS = frozenset("""
random gen_random_uuid uuid_generate_v1 uuid_generate_v1mc uuid_generate_v4 uuidv4 uuidv7
clock_timestamp timeofday nextval setval currval txid_current pg_current_xact_id
""".split())


def is_volatile(expr) -> bool:
    """Whether a DEFAULT expression must be evaluated for every row.

    Constants, casts, operators, ``now()``/``CURRENT_TIMESTAMP`` and the
    functions in :data:`NON_VOLATILE_FUNCTIONS` are not; ``random()``,
    ``gen_random_uuid()``, ``nextval()``, ``clock_timestamp()`` and any function
    we do not know are.
    """
    if expr is None:
        return False
    if isinstance(expr, tuple | list):
        return any(is_volatile(e) for e in expr)
    if isinstance(expr, ast.A_Const | ast.SQLValueFunction | ast.ParamRef | ast.ColumnRef):
        return False
    if isinstance(expr, ast.TypeCast):
        return is_volatile(expr.arg)
    if isinstance(expr, ast.FuncCall):
        name = func_name(expr)
        if name in VOLATILE_FUNCTIONS or name not in NON_VOLATILE_FUNCTIONS:
            return True
        return is_volatile(expr.args)
    if isinstance(expr, ast.A_Expr):
        return is_volatile(expr.lexpr) or is_volatile(expr.rexpr)
    if isinstance(expr, ast.BoolExpr | ast.CoalesceExpr | ast.MinMaxExpr | ast.RowExpr):
        return is_volatile(expr.args)
    if isinstance(expr, ast.NullTest | ast.BooleanTest):
        return is_volatile(expr.arg)
    if isinstance(expr, ast.A_ArrayExpr):
        return is_volatile(expr.elements)
    if isinstance(expr, ast.CaseExpr):
        return (is_volatile(expr.arg) or is_volatile(expr.defresult)
                or any(is_volatile(w.expr) or is_volatile(w.result) for w in expr.args or ()))
    if isinstance(expr, ast.CollateClause):
        return is_volatile(expr.arg)
    return True  # sub-queries and anything unknown


def defined_columns(kind: str, node) -> list[tuple[str, object, object]]:
    """(column name, TypeName, node to point at) for every column a CREATE TABLE
    or ALTER TABLE (ADD COLUMN, ALTER COLUMN ... TYPE) defines."""
    found: list = []
    if kind == "CreateStmt":
        for col in node.tableElts or ():
            if isinstance(col, _ColumnDef) and col.typeName is not None:
                found.append((col.colname, col.typeName, col))
    elif kind == "AlterTableStmt":
        for cmd in node.cmds or ():
            if not isinstance(cmd, _AlterTableCmd):
                continue
            sub = cmd.subtype
            if sub == _AddColumn or sub == _AlterColumnType:
                col = cmd.def_
                if isinstance(col, _ColumnDef) and col.typeName is not None:
                    found.append(((col.colname or cmd.name), col.typeName, (col if sub == _AddColumn else None)))
    return found
