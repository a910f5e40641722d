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

ID = "identifier-too-long"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("CreateStmt", "IndexStmt", "AlterTableStmt", "CreatePolicyStmt", "CreateTrigStmt", "RenameStmt",
         "ViewStmt", "CreateTableAsStmt", "CreateSeqStmt", "CreateFunctionStmt", "CreateEnumStmt",
         "CompositeTypeStmt", "CreateDomainStmt", "CreateSchemaStmt")

LIMIT = 63
_MIN_CHARS = -(-LIMIT // 4)
_IDENT_CHAR = re.compile(r"[\w$]")


def _defined_names(ctx) -> list:
    """The names a statement gives to new objects (references to existing ones do not
    matter: PostgreSQL truncates them the same way)."""
    kind, node = ctx.kind, ctx.node
    if kind == "CreateStmt":
        names = [node.relation.relname]
        column, constraint = ast.ColumnDef, ast.Constraint
        for el in node.tableElts or ():
            if isinstance(el, column):
                names.append(el.colname)
                for con in el.constraints or ():
                    if isinstance(con, constraint):
                        names.append(con.conname)
            elif isinstance(el, constraint):
                names.append(el.conname)
        return names
    if kind == "IndexStmt":
        return [node.idxname]
    if kind == "AlterTableStmt":
        return [con.conname for con, _col in ctx.added_constraints()] + [c[0] for c in ctx.defined_columns()]
    if kind == "CreatePolicyStmt":
        return [node.policy_name]
    if kind == "CreateTrigStmt":
        return [node.trigname]
    if kind == "RenameStmt":
        return [node.newname]
    if kind == "ViewStmt":
        return [node.view.relname]
    if kind == "CreateTableAsStmt":
        return [node.into.rel.relname] if node.into is not None else []
    if kind == "CreateSeqStmt":
        return [node.sequence.relname]
    if kind == "CreateSchemaStmt":
        return [node.schemaname]
    names = []  # functions, types, domains: a qualified name list
    for attr in ("funcname", "typeName", "typevar", "domainname"):
        value = getattr(node, attr, None)
        if isinstance(value, tuple | list) and value:
            names.append(getattr(value[-1], "sval", None))
        elif value is not None and hasattr(value, "relname"):
            names.append(value.relname)
    return names


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
    cut = [n for n in _defined_names(ctx) if n and _MIN_CHARS <= len(n) <= LIMIT and len(n.encode()) == LIMIT]
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
