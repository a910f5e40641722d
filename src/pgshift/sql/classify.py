"""What a statement is, read from its parse tree: transaction control, refused inside a
transaction block, the tables it names, the primary key a CREATE TABLE gives, the table
locks it takes (and which lock modes conflict)."""
from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from ..text import qualified

__all__ = ["non_transactional_reason", "tx_control", "TRANSACTION_SENSITIVE", "referenced_relations",
           "created_primary_key", "lock_modes", "conflicting_modes", "is_strong", "LOCK_MODES"]

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


#: the node types non_transactional_reason may say something of (the others: None at once)
_MAYBE_NON_TRANSACTIONAL = frozenset({
    "IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt", "CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt",
    "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterSystemStmt", "VacuumStmt", "ClusterStmt",
    "CreateSubscriptionStmt", "AlterSubscriptionStmt", "DiscardStmt", "TransactionStmt"})
#: the node types (names) for which :func:`tx_control` or :func:`non_transactional_reason` may say
#: something: for any other both are None
TRANSACTION_SENSITIVE = _MAYBE_NON_TRANSACTIONAL | {"TransactionStmt"}
_DETACH_PARTITION = enums.AlterTableType.AT_DetachPartition


def non_transactional_reason(node) -> str | None:
    """Why PostgreSQL refuses *node* inside a transaction block, or None.

    Follows pg-safety-rules.md section 2. Cases that depend on the catalog
    (REINDEX of a partitioned table, DROP SUBSCRIPTION of one with a slot,
    CLUSTER of a partitioned table) cannot be known from the text alone and
    are left to the server's own error.
    """
    name = type(node).__name__
    if name not in _MAYBE_NON_TRANSACTIONAL:
        return None
    # the two a migration holds most, first; each ends the search
    if name == "IndexStmt":
        return "CREATE INDEX CONCURRENTLY" if node.concurrent else None
    if name == "AlterTableStmt":
        for cmd in node.cmds or ():
            if (isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == _DETACH_PARTITION
                    and getattr(cmd.def_, "concurrent", False)):
                return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"
        return None
    if name == "DropStmt" and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if name == "ReindexStmt":
        if "concurrently" in _defelem_names(node.params):
            return "REINDEX CONCURRENTLY"
        kind = enums.ReindexObjectType
        if node.kind in (kind.REINDEX_OBJECT_SCHEMA, kind.REINDEX_OBJECT_SYSTEM, kind.REINDEX_OBJECT_DATABASE):
            return f"REINDEX {node.kind.name.rsplit('_', 1)[-1]}"
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


# --- the table locks a statement takes ---------------------------------------------------

#: PostgreSQL's table lock modes, weakest first, named as ``pg_locks.mode`` names them
LOCK_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
              "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
(_AS, _RS, _RX, _SUX, _S, _SRX, _X, _AX) = LOCK_MODES

#: which held or requested modes each mode conflicts with (the table in PostgreSQL's "Explicit Locking")
_CONFLICTS = {
    _AS: (_AX,),
    _RS: (_X, _AX),
    _RX: (_S, _SRX, _X, _AX),
    _SUX: (_SUX, _S, _SRX, _X, _AX),
    _S: (_RX, _SUX, _SRX, _X, _AX),
    _SRX: (_RX, _SUX, _S, _SRX, _X, _AX),
    _X: (_RS, _RX, _SUX, _S, _SRX, _X, _AX),
    _AX: LOCK_MODES,
}


def conflicting_modes(mode: str) -> tuple[str, ...]:
    """The lock modes that conflict with *mode* (a ``pg_locks.mode`` name)."""
    return _CONFLICTS[mode]


def is_strong(mode: str) -> bool:
    """Whether a request for *mode* stalls the application's traffic while it waits: it conflicts
    with the ROW EXCLUSIVE of every write, and anything queued behind it waits too (SHARE and up;
    SHARE UPDATE EXCLUSIVE, which CREATE INDEX CONCURRENTLY takes, lets reads and writes pass)."""
    return _RX in _CONFLICTS[mode]


_AT = enums.AlterTableType
#: ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (ALTER TABLE's reference page)
_ALTER_MODES = {
    _AT.AT_ValidateConstraint: _SUX, _AT.AT_SetStatistics: _SUX, _AT.AT_SetOptions: _SUX,
    _AT.AT_ResetOptions: _SUX, _AT.AT_ClusterOn: _SUX, _AT.AT_DropCluster: _SUX, _AT.AT_AttachPartition: _SUX,
    _AT.AT_DetachPartitionFinalize: _SUX,
    _AT.AT_EnableTrig: _SRX, _AT.AT_EnableAlwaysTrig: _SRX, _AT.AT_EnableReplicaTrig: _SRX,
    _AT.AT_DisableTrig: _SRX, _AT.AT_EnableTrigAll: _SRX, _AT.AT_DisableTrigAll: _SRX,
    _AT.AT_EnableTrigUser: _SRX, _AT.AT_DisableTrigUser: _SRX,
}
#: storage parameters whose change takes SHARE UPDATE EXCLUSIVE; any other takes ACCESS EXCLUSIVE
_LIGHT_RELOPTIONS = ("fillfactor", "toast_tuple_target", "parallel_workers", "autovacuum_", "toast.autovacuum_",
                     "vacuum_", "toast.vacuum_", "log_autovacuum_min_duration", "user_catalog_table")
_OBJ = enums.ObjectType
_DROPPED_RELATIONS = {_OBJ.OBJECT_TABLE, _OBJ.OBJECT_VIEW, _OBJ.OBJECT_MATVIEW, _OBJ.OBJECT_FOREIGN_TABLE,
                      _OBJ.OBJECT_SEQUENCE, _OBJ.OBJECT_INDEX}
_DROPPED_ON_A_TABLE = {_OBJ.OBJECT_TRIGGER, _OBJ.OBJECT_POLICY, _OBJ.OBJECT_RULE}
_READS = ("SelectStmt", "CreateTableAsStmt", "ExplainStmt", "DeclareCursorStmt")
_WRITES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


def _quoted(parts) -> str:
    return qualified(*parts)


def _rv(rv) -> str | None:
    """A RangeVar as referenced_relations names it (quoted, qualified when written so)."""
    return _quoted((rv.schemaname, rv.relname)) if isinstance(rv, ast.RangeVar) else None


def _strongest(a: str | None, b: str) -> str:
    return b if a is None or LOCK_MODES.index(b) > LOCK_MODES.index(a) else a


def _foreign_keys(items) -> Iterator:
    """The referenced tables of the FOREIGN KEY constraints among *items* (and in column definitions)."""
    for item in items or ():
        constraints = item.constraints if isinstance(item, ast.ColumnDef) else (item,)
        for con in constraints or ():
            if isinstance(con, ast.Constraint) and con.contype == enums.ConstrType.CONSTR_FOREIGN:
                yield con.pktable


def _alter_table(node, lock) -> None:
    mode = None
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        sub = cmd.subtype
        this = _ALTER_MODES.get(sub, _AX)
        if sub in (_AT.AT_SetRelOptions, _AT.AT_ResetRelOptions):
            names = [getattr(d, "defname", "") or "" for d in cmd.def_ or ()]
            namespaced = [f"{d.defnamespace}.{d.defname}" if getattr(d, "defnamespace", None) else n
                          for d, n in zip(cmd.def_ or (), names, strict=False)]
            this = _SUX if all(n.startswith(_LIGHT_RELOPTIONS) for n in namespaced) else _AX
        elif sub == _AT.AT_DetachPartition:
            this = _SUX if getattr(cmd.def_, "concurrent", False) else _AX
            lock(getattr(cmd.def_, "name", None), this)
        elif sub == _AT.AT_AttachPartition:
            lock(getattr(cmd.def_, "name", None), _AX)   # the table attached
        elif sub == _AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint) \
                and cmd.def_.contype == enums.ConstrType.CONSTR_FOREIGN:
            this = _SRX
        if sub in (_AT.AT_AddConstraint, _AT.AT_AddColumn):
            for referenced in _foreign_keys((cmd.def_,)):
                lock(referenced, _SRX)
        mode = _strongest(mode, this)
    if mode is not None:
        lock(node.relation, mode)


def lock_modes(node) -> dict[str, str]:
    """The tables a statement locks, each with the strongest mode it takes on it (a ``pg_locks.mode``
    name), as far as the text tells: {} for a statement whose locks it cannot tell (DO, CALL, a
    function's body, what a CASCADE reaches). A table the statement creates is not listed, an
    index stands for itself (the caller may add its table). Names as :func:`referenced_relations`
    gives them. Sources: the lock level of each command on PostgreSQL's reference pages."""
    found: dict[str, str] = {}

    def lock(target, mode: str) -> None:
        name = _rv(target) if not isinstance(target, str) else target
        if name:
            found[name] = _strongest(found.get(name), mode)

    def read_all(value) -> None:
        for item in _walk(value):
            if isinstance(item, ast.RangeVar):
                lock(item, _AS)
            elif isinstance(item, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)):
                lock(item.relation, _RX)   # a data-modifying WITH writes its table (pgshift plan observed it)

    name = type(node).__name__
    if name == "AlterTableStmt":
        _alter_table(node, lock)
    elif name == "IndexStmt":
        lock(node.relation, _SUX if node.concurrent else _S)
    elif name == "CreateTrigStmt":
        lock(node.relation, _SRX)
    elif name in ("CreatePolicyStmt", "AlterPolicyStmt"):
        lock(node.table, _AX)
    elif name == "RenameStmt":
        lock(node.relation, _SUX if node.renameType == _OBJ.OBJECT_INDEX else _AX)
    elif name == "AlterObjectSchemaStmt":
        lock(node.relation, _AX)
    elif name == "DropStmt":
        for obj in node.objects or ():
            parts = [getattr(p, "sval", None) for p in obj] if isinstance(obj, (tuple, list)) else ()
            if node.removeType in _DROPPED_RELATIONS and parts:
                lock(_quoted(parts), _SUX if node.concurrent else _AX)
            elif node.removeType in _DROPPED_ON_A_TABLE and len(parts) > 1:
                lock(_quoted(parts[:-1]), _AX)
    elif name == "TruncateStmt":
        for rv in node.relations or ():
            lock(rv, _AX)
    elif name == "LockStmt":
        mode = LOCK_MODES[node.mode - 1] if isinstance(node.mode, int) and 1 <= node.mode <= 8 else _AX
        for rv in node.relations or ():
            lock(rv, mode)
    elif name == "VacuumStmt":
        full = node.is_vacuumcmd and "full" in _defelem_names(node.options) \
            and not _false(_defelem_names(node.options)["full"])
        for rel in node.rels or ():
            lock(getattr(rel, "relation", None), _AX if full else _SUX)
    elif name == "ClusterStmt":
        lock(node.relation, _AX)
    elif name == "RefreshMatViewStmt":
        lock(node.relation, _X if node.concurrent else _AX)
    elif name == "ReindexStmt":
        concurrent = "concurrently" in _defelem_names(node.params)
        kind = enums.ReindexObjectType
        if node.kind == kind.REINDEX_OBJECT_TABLE:
            lock(node.relation, _SUX if concurrent else _S)
        elif node.kind == kind.REINDEX_OBJECT_INDEX:
            lock(node.relation, _SUX if concurrent else _AX)
    elif name == "CreateStmt":
        for parent in node.inhRelations or ():
            lock(parent, _AX if node.partbound is not None else _SUX)
        for referenced in _foreign_keys(node.tableElts):
            lock(referenced, _SRX)
    elif name == "ViewStmt":
        read_all(node.query)
        if node.replace:
            lock(node.view, _AX)
    elif name in _WRITES:
        read_all(node)
        lock(node.relation, _RX)
    elif name == "CopyStmt":
        read_all(node.query)
        lock(node.relation, _RX if node.is_from else _AS)
    elif name in _READS:
        into = getattr(node, "into", None)
        created = _rv(into.rel) if isinstance(into, ast.IntoClause) else None
        read_all(node.query if name in ("CreateTableAsStmt", "ExplainStmt", "DeclareCursorStmt") else node)
        found.pop(created, None)
    return found


def same_index(node, indexdef: str) -> bool:
    """Whether the index a CREATE INDEX *node* would build is the one ``pg_get_indexdef`` prints as
    *indexdef*: same table, method, uniqueness, keys, included columns and predicate (its name,
    schema, CONCURRENTLY and IF NOT EXISTS aside). Conservative: an expression PostgreSQL prints
    differently from how it was written (an added cast) counts as different."""
    from .parser import parse_one  # noqa: PLC0415
    from .rewrite import deparse  # noqa: PLC0415

    def shape(n):
        return (n.relation.relname if n.relation is not None else None, (n.accessMethod or "btree").lower(),
                bool(n.unique), bool(getattr(n, "nulls_not_distinct", False)),
                tuple(deparse(p) for p in (n.indexParams or ())),
                tuple(deparse(p) for p in (n.indexIncludingParams or ())),
                deparse(n.whereClause) if n.whereClause is not None else None)

    try:
        built = parse_one(indexdef)
    except Exception:  # noqa: BLE001 - what the server printed always parses; if not, it is no match
        return False
    return type(built).__name__ == "IndexStmt" and shape(built) == shape(node)
