"""Identifiers longer than 63 bytes are silently truncated.

**Problem.** PostgreSQL cuts names to 63 bytes (NAMEDATALEN - 1) with only a
NOTICE. Two long names that share their first 63 bytes collide, and tools or
later migrations that use the full name as written (`DROP INDEX`, `ALTER
TABLE ... VALIDATE CONSTRAINT`, the application's error handling) do not
find the object.

**Safe alternative.** Shorter names: abbreviate, or drop redundant prefixes.

**Example.**

```sql
-- flagged
CREATE INDEX CONCURRENTLY idx_work_orders_tenant_status_scheduled_at_technician_customer_created_at
    ON work_orders (tenant_id, status, scheduled_at, technician_id, customer_id, created_at);
```
"""
from __future__ import annotations

import re

from ...sql import ast
from .. import nodes

ID = "identifier-too-long"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("CreateStmt", "IndexStmt", "AlterTableStmt", "CreatePolicyStmt", "CreateTrigStmt", "RenameStmt",
         "ViewStmt", "CreateTableAsStmt", "CreateSeqStmt", "CreateFunctionStmt", "CreateEnumStmt",
         "CompositeTypeStmt", "CreateDomainStmt", "CreateSchemaStmt")

LIMIT = 63
_MIN_CHARS = -(-LIMIT // 4)
_IDENT_CHAR = re.compile(r"[\w$]")
_ColumnDef, _Constraint = ast.ColumnDef, ast.Constraint


def _table_names(node) -> list:
    names = [node.relation.relname]
    for el in node.tableElts or ():
        if isinstance(el, _ColumnDef):
            names.append(el.colname)
            for con in el.constraints or ():
                if isinstance(con, _Constraint) and con.conname is not None:   # (most have no name)
                    names.append(con.conname)
        elif isinstance(el, _Constraint):
            names.append(el.conname)
    return names


def _alter_names(node) -> list:
    """The constraints an ALTER TABLE adds, then the columns it defines (ADD COLUMN, ALTER COLUMN
    ... TYPE). (Read from the node: ``ctx.added_constraints()`` and ``ctx.defined_columns()``
    would make lists other rules seldom ask for, the latter with each column's type name.)"""
    return ([con.conname for con, _col in nodes.added_constraints(node)]
            + [name for name, _type, _at in nodes.defined_columns("AlterTableStmt", node)])


def _last_name(items) -> list:
    """The last part of a qualified name list (functions, enums, domains)."""
    return [getattr(items[-1], "sval", None)] if isinstance(items, tuple | list) and items else []


#: The names a statement gives to new objects, by statement kind, one entry for each of NODES
#: (references to existing ones do not matter: PostgreSQL truncates them the same way).
_DEFINED_NAMES = {
    "CreateStmt": _table_names,
    "IndexStmt": lambda node: [node.idxname],
    "AlterTableStmt": _alter_names,
    "CreatePolicyStmt": lambda node: [node.policy_name],
    "CreateTrigStmt": lambda node: [node.trigname],
    "RenameStmt": lambda node: [node.newname],
    "ViewStmt": lambda node: [node.view.relname],
    "CreateTableAsStmt": lambda node: [node.into.rel.relname] if node.into is not None else [],
    "CreateSeqStmt": lambda node: [node.sequence.relname],
    "CreateSchemaStmt": lambda node: [node.schemaname],
    "CreateFunctionStmt": lambda node: _last_name(node.funcname),
    "CreateEnumStmt": lambda node: _last_name(node.typeName),
    "CompositeTypeStmt": lambda node: [node.typevar.relname] if node.typevar is not None else [],
    "CreateDomainStmt": lambda node: _last_name(node.domainname),
}


def _full(text: str, begin: int, after: int, end: int) -> str | None:
    """The whole identifier at *begin* when it goes on past *after* (the 63 bytes), else None."""
    if begin > 0 and text[begin - 1] == '"':
        close = text.find('"', after, end)
        return text[begin:close] if close > after else None
    if after < end and _IDENT_CHAR.match(text, after):
        stop = after
        while stop < end and _IDENT_CHAR.match(text, stop):
            stop += 1
        return text[begin:stop]
    return None


def check(ctx):
    # a name of 63 bytes has 16 to 63 characters (UTF-8: 1 to 4 bytes each)
    cut = [n for n in _DEFINED_NAMES[ctx.kind](ctx.node)
           if n and _MIN_CHARS <= len(n) <= LIMIT and len(n.encode()) == LIMIT]
    if not cut:
        return
    stmt = ctx.statement
    text, start, end = ctx.text, stmt.offset, stmt.offset + len(stmt.sql)
    for name in dict.fromkeys(cut):
        for m in re.finditer(re.escape(name), text[start:end], re.I):
            full = _full(text, start + m.start(), start + m.end(), end)
            if full is None:
                continue
            yield ctx.finding(
                ID, SEVERITY, start + m.start(),
                f"identifier {full!r} is {len(full.encode())} bytes: PostgreSQL truncates it to 63 ({name!r})",
                "shorten it so that later migrations and tools can name it as written")
            break
