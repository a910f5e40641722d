"""What a statement is, read from its parse tree: transaction control, refused inside a
transaction block, the tables it names, the primary key a CREATE TABLE gives."""
from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

__all__ = ["non_transactional_reason", "tx_control", "referenced_relations", "created_primary_key"]

_TX = enums.TransactionStmtKind
_TX_NAMES = {
    _TX.TRANS_STMT_BEGIN: "begin",
    _TX.TRANS_STMT_START: "begin",
    _TX.TRANS_STMT_COMMIT: "commit",
    _TX.TRANS_STMT_ROLLBACK: "rollback",
    _TX.TRANS_STMT_SAVEPOINT: "savepoint",
    _TX.TRANS_STMT_RELEASE: "release",
    _TX.TRANS_STMT_ROLLBACK_TO: "rollback_to",
    _TX.TRANS_STMT_PREPARE: "prepare",
}


def tx_control(node) -> str | None:
    """``begin``, ``commit``, ``rollback``, ``savepoint``, ``release``, ``rollback_to`` or
    ``prepare`` for a transaction-control statement, else None (COMMIT PREPARED and
    ROLLBACK PREPARED included: they end no transaction of this session)."""
    if type(node).__name__ != "TransactionStmt":
        return None
    return _TX_NAMES.get(node.kind)


def _defelem_names(items) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items or ():
        if isinstance(item, ast.DefElem):
            arg = item.arg
            value = getattr(arg, "sval", None) if arg is not None else None
            if value is None and arg is not None:
                value = getattr(arg, "boolval", None)
                if value is not None:
                    value = getattr(value, "boolval", value)
            out[item.defname] = value
    return out


def _false(value) -> bool:
    return str(value).lower() in ("false", "off", "0", "no")


def non_transactional_reason(node) -> str | None:
    """Why PostgreSQL refuses *node* inside a transaction block, or None.

    Follows pg-safety-rules.md section 2. Cases that depend on the catalog
    (REINDEX of a partitioned table, DROP SUBSCRIPTION of one with a slot,
    CLUSTER of a partitioned table) cannot be known from the text alone and
    are left to the server's own error.
    """
    name = type(node).__name__
    if name == "IndexStmt" and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if name == "DropStmt" and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if name == "ReindexStmt":
        if "concurrently" in _defelem_names(node.params):
            return "REINDEX CONCURRENTLY"
        kind = enums.ReindexObjectType
        if node.kind in (kind.REINDEX_OBJECT_SCHEMA, kind.REINDEX_OBJECT_SYSTEM, kind.REINDEX_OBJECT_DATABASE):
            return f"REINDEX {node.kind.name.rsplit('_', 1)[-1]}"
    if name == "AlterTableStmt":
        for cmd in node.cmds or ():
            if (isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == enums.AlterTableType.AT_DetachPartition
                    and getattr(cmd.def_, "concurrent", False)):
                return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"
    if name == "CreatedbStmt":
        return "CREATE DATABASE"
    if name == "DropdbStmt":
        return "DROP DATABASE"
    if name == "AlterDatabaseStmt" and "tablespace" in _defelem_names(node.options):
        return "ALTER DATABASE ... SET TABLESPACE"
    if name == "CreateTableSpaceStmt":
        return "CREATE TABLESPACE"
    if name == "DropTableSpaceStmt":
        return "DROP TABLESPACE"
    if name == "AlterSystemStmt":
        return "ALTER SYSTEM"
    if name == "VacuumStmt" and node.is_vacuumcmd:
        return "VACUUM"
    if name == "ClusterStmt" and node.relation is None:
        return "CLUSTER without a table"
    if name == "CreateSubscriptionStmt":
        opts = _defelem_names(node.options)
        if not (_false(opts.get("create_slot", True)) or _false(opts.get("connect", True))):
            return "CREATE SUBSCRIPTION (creating a replication slot)"
    if name == "AlterSubscriptionStmt":
        kind = enums.AlterSubscriptionType
        opts = _defelem_names(node.options)
        if node.kind == kind.ALTER_SUBSCRIPTION_REFRESH:
            return "ALTER SUBSCRIPTION ... REFRESH PUBLICATION"
        if node.kind in (kind.ALTER_SUBSCRIPTION_SET_PUBLICATION, kind.ALTER_SUBSCRIPTION_ADD_PUBLICATION,
                         kind.ALTER_SUBSCRIPTION_DROP_PUBLICATION) and not _false(opts.get("refresh", True)):
            return "ALTER SUBSCRIPTION ... PUBLICATION (with refresh)"
        if "failover" in opts:
            return "ALTER SUBSCRIPTION ... SET (failover)"
    if name == "DiscardStmt" and node.target == enums.DiscardMode.DISCARD_ALL:
        return "DISCARD ALL"
    if name == "TransactionStmt" and node.kind in (_TX.TRANS_STMT_COMMIT_PREPARED, _TX.TRANS_STMT_ROLLBACK_PREPARED):
        return "COMMIT PREPARED / ROLLBACK PREPARED"
    return None


def _walk(value) -> Iterator:
    """Every node and value below *value* (itself included), depth first."""
    yield value
    if isinstance(value, ast.Node):
        for attr in value.__slots__:
            yield from _walk(getattr(value, attr, None))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _walk(item)


def referenced_relations(node) -> tuple[str, ...]:
    """Every table a statement names (its RangeVar nodes), as quoted, possibly qualified names."""
    found: list[str] = []
    for value in _walk(node):
        if isinstance(value, ast.RangeVar):
            name = f'"{value.relname}"'
            found.append(f'"{value.schemaname}".{name}' if value.schemaname else name)
    return tuple(dict.fromkeys(found))


def created_primary_key(node) -> tuple[str, ...] | None:
    """The primary key columns a CREATE TABLE gives its table: () when it has none,
    None when that cannot be read from the statement (LIKE, INHERITS, PARTITION OF,
    OF type, AS SELECT)."""
    if type(node).__name__ != "CreateStmt":
        return None
    if node.inhRelations or node.partbound is not None or node.ofTypename is not None:
        return None
    keys: list[str] = []
    for elt in node.tableElts or ():
        if isinstance(elt, ast.TableLikeClause):
            return None
        if isinstance(elt, ast.ColumnDef):
            for con in elt.constraints or ():
                if isinstance(con, ast.Constraint) and con.contype == enums.ConstrType.CONSTR_PRIMARY:
                    keys.append(elt.colname)
        elif isinstance(elt, ast.Constraint) and elt.contype == enums.ConstrType.CONSTR_PRIMARY:
            keys.extend(k.sval for k in elt.keys or ())
    return tuple(keys)
