"""What the rules know: the shared facts of a lint run, computed once.

Rules read facts from a :class:`LintContext`, never from each other
(ARCHITECTURE.md habit 7). The engine builds a :class:`RunFacts` in one pre-pass
over every file of the run (tables, columns, policies, indexes created, in run
order), a :class:`FileFacts` for each file (transaction blocks, meta-commands,
parse errors) and then hands each rule a context for one statement (or, for
file-level rules, for the file).

Positions are ``(file number in the run, statement index)``, so "created earlier
in the same file or earlier in the run" is a tuple comparison.
"""
from __future__ import annotations

from typing import Any, cast

from pgshift.model import TX_BATCHED, TX_FILE, TX_NONE, Finding, Location, ParsedFile, Statement
from pgshift.text import line_col

from ..records import field, record
from ..sql import ast
from . import nodes
from .nodes import AT, CT, OBJ

Pos = tuple[int, int]


# --- named objects seen in the run ----------------------------------------------

class Objects:
    """Objects by bare name; each entry is ``(schema or None, pos, data)``.

    A name without a schema matches the same name in any schema (pgshift does
    not know the search_path); ``public`` is treated as the default schema.
    """

    __slots__ = ("_by_name",)

    def __init__(self) -> None:
        self._by_name: dict[str, list[tuple[str | None, Pos, object]]] = {}

    def add(self, schema: str | None, name: str, pos: Pos, data: object = None) -> None:
        self._by_name.setdefault(name, []).append((schema, pos, data))

    def find(self, schema: str | None, name: str, *, before: Pos | None = None,
             file: int | None = None) -> list[tuple[str | None, Pos, object]]:
        entries = self._by_name.get(name)
        if not entries:
            return []
        out = []
        for es, pos, data in entries:
            if schema is not None and es is not None and schema != es:
                continue
            if before is not None and pos >= before:
                continue
            if file is not None and pos[0] != file:
                continue
            out.append((es, pos, data))
        return out

    def __contains__(self, name: str) -> bool:
        return name in self._by_name


def _split(name: str) -> tuple[str | None, str]:
    schema, _, rel = name.rpartition(".")
    return (schema or None), rel


def table_key(rv) -> tuple[str | None, str]:
    """(schema or None, name) of a RangeVar, or of a 'schema.name' string;
    ``public`` counts as no schema."""
    if isinstance(rv, str):
        schema, name = _split(rv)
        return (None if schema == "public" else schema), name
    schema = rv.schemaname
    if schema == "public":
        schema = None
    return schema, rv.relname


@record
class RunFacts:
    """Everything the run creates, alters or drops, with positions."""
    tables: Objects = field(default_factory=Objects)       # data: CreateStmt / CreateTableAsStmt node
    columns: Objects = field(default_factory=Objects)      # name "table.column"; data: TypeName
    tenant_tables: Objects = field(default_factory=Objects)  # tables with a tenant_id column; data: ColumnDef
    rls_enabled: Objects = field(default_factory=Objects)
    policies: Objects = field(default_factory=Objects)     # data: CreatePolicyStmt
    indexes: Objects = field(default_factory=Objects)      # data: (schema, table) of the index's table
    dropped_tables: Objects = field(default_factory=Objects)
    dropped_schemas: Objects = field(default_factory=Objects)
    enum_types: Objects = field(default_factory=Objects)
    notnull_checks: Objects = field(default_factory=Objects)  # name "table.column"; data: (conname, valid)
    validated: Objects = field(default_factory=Objects)       # name "table.conname"
    # the environment linted for, and the lock_timeout pgshift sets in it (s; 0: none); None: unknown
    environment: str | None = None
    lock_timeout: float | None = None

    def collect(self, pos: Pos, stmt: Statement) -> None:
        """Record what *stmt* creates or changes (the pre-pass)."""
        node = stmt.node
        kind = stmt.kind
        if kind == "CreateStmt":
            schema, name = table_key(node.relation)
            self.tables.add(schema, name, pos, node)
            for col in nodes.table_columns(node):
                self._column(schema, name, col, pos)
        elif kind == "CreateTableAsStmt" and node.into is not None:
            schema, name = table_key(node.into.rel)
            self.tables.add(schema, name, pos, node)
        elif kind == "AlterTableStmt" and node.relation is not None:
            schema, name = table_key(node.relation)
            for cmd in nodes.alter_cmds(node):
                sub = cmd.subtype
                if sub == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                    self._column(schema, name, cmd.def_, pos)
                elif sub == AT.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef) and cmd.name:
                    self.columns.add(schema, f"{name}.{cmd.name}", pos, cmd.def_.typeName)
                elif sub in (AT.AT_EnableRowSecurity, AT.AT_ForceRowSecurity):
                    self.rls_enabled.add(schema, name, pos)
                elif sub == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                    con = cmd.def_
                    if con.contype == CT.CONSTR_CHECK and isinstance(con.raw_expr, ast.NullTest):
                        arg = con.raw_expr.arg
                        if (isinstance(arg, ast.ColumnRef) and con.raw_expr.nulltesttype.name == "IS_NOT_NULL"
                                and arg.fields and isinstance(arg.fields[-1], ast.String)):
                            self.notnull_checks.add(schema, f"{name}.{arg.fields[-1].sval}", pos,
                                                    (con.conname, not con.skip_validation))
                elif sub == AT.AT_ValidateConstraint and cmd.name:
                    self.validated.add(schema, f"{name}.{cmd.name}", pos)
        elif kind == "CreatePolicyStmt" and node.table is not None:
            schema, name = table_key(node.table)
            self.policies.add(schema, name, pos, node)
        elif kind == "IndexStmt" and node.idxname and node.relation is not None:
            schema = node.relation.schemaname
            self.indexes.add(schema if schema != "public" else None, node.idxname, pos, table_key(node.relation))
        elif kind == "DropStmt":
            if node.removeType == OBJ.OBJECT_TABLE:
                for obj in node.objects or ():
                    schema, name = _split(nodes.dotted(obj))
                    self.dropped_tables.add(schema, name, pos)
            elif node.removeType == OBJ.OBJECT_SCHEMA:
                for obj in node.objects or ():
                    self.dropped_schemas.add(None, getattr(obj, "sval", None) or nodes.dotted(obj), pos)
        elif kind == "CreateEnumStmt":
            schema, name = _split(nodes.dotted(node.typeName))
            self.enum_types.add(schema, name, pos)

    def _column(self, schema, table, col, pos) -> None:
        if not col.colname:
            return
        self.columns.add(schema, f"{table}.{col.colname}", pos, col.typeName)
        if col.colname.lower() == "tenant_id":
            self.tenant_tables.add(schema, table, pos, col)


# --- one file -----------------------------------------------------------------

@record
class ParseFinding:
    """A finding the parse stage produced (syntax errors, meta-commands, ...)."""
    rule: str
    location: Location
    message: str
    hint: str | None = None
    severity: str | None = None  # None: the rule's own severity


@record
class FileFacts:
    number: int                       # position in the run
    relpath: str
    text: str                         # the file's text as written
    parsed: ParsedFile | None         # None when the file does not parse at all
    is_rollback: bool = False
    has_rollback: bool | None = None
    problems: list[ParseFinding] = field(default_factory=list)
    forced_concurrent: dict[int, str] = field(default_factory=dict)  # statement offset -> reason
    in_tx: list[bool] = field(default_factory=list)
    tx_begin: list[Statement | None] = field(default_factory=list)
    tx_group: list[int] = field(default_factory=list)

    @property
    def statements(self) -> tuple[Statement, ...]:
        return self.parsed.statements if self.parsed is not None else ()

    def compute_transactions(self) -> None:
        """Which statements run inside a transaction, and which share one."""
        stmts = self.statements
        mode = self.parsed.mode if self.parsed is not None else TX_FILE
        n = len(stmts)
        if mode == TX_FILE:
            self.in_tx, self.tx_begin, self.tx_group = [True] * n, [None] * n, [0] * n
            return
        if mode in (TX_NONE, TX_BATCHED):
            inside = mode == TX_BATCHED   # a batched file runs each statement in a short transaction of its own
            self.in_tx, self.tx_begin, self.tx_group = [inside] * n, [None] * n, [i + 1 for i in range(n)]
            return
        # TX_OWN: the file's own BEGIN ... COMMIT blocks; statements outside run in autocommit
        opened: Statement | None = None
        group = 0
        for i, s in enumerate(stmts):
            if s.tx_control == "begin":
                opened = s
                group = 10_000 + i
                self.in_tx.append(False)
                self.tx_begin.append(None)
                self.tx_group.append(group)
                continue
            if s.tx_control in ("commit", "rollback", "prepare"):
                self.in_tx.append(opened is not None)
                self.tx_begin.append(opened)
                self.tx_group.append(group if opened is not None else i + 1)
                opened = None
                continue
            self.in_tx.append(opened is not None)
            self.tx_begin.append(opened)
            self.tx_group.append(group if opened is not None else i + 1)


# --- the context a rule sees ------------------------------------------------------

class LintContext:
    """The facts one rule check needs about one statement (or one file).

    Attributes:
        target_version: the PostgreSQL major version linted for.
        statement / node / kind: the statement, its parse node and node type
            (None for file-level rules).
        file: the ParsedFile (None if the file does not parse).
        relpath, text: the file's path as shown and its text.
        in_transaction: the statement runs inside a transaction block: the
            file is wrapped in one by pgshift, or it stands between the file's
            own BEGIN and COMMIT.
        tx_begin: the file's own BEGIN statement that the statement is inside.
        ledger: the ledger table's configured name.
        has_rollback / is_rollback: the file's rollback status.
    """

    __slots__ = ("target_version", "ledger", "ledger_names", "facts", "run", "statement", "node",
                 "kind", "index", "pos", "_columns", "_added", "_constraints", "_asked", "_new")

    def __init__(self, target_version: int, ledger: str, ledger_names: frozenset[str], facts: FileFacts,
                 run: RunFacts, statement: Statement | None = None) -> None:
        self.target_version = target_version
        self.ledger = ledger
        self.ledger_names = ledger_names
        self.facts = facts
        self.run = run
        self.statement = statement
        self.node = statement.node if statement is not None else None
        self.kind = statement.kind if statement is not None else None
        self.index = statement.index if statement is not None else -1
        self.pos: Pos = (facts.number, self.index if statement is not None else 1 << 30)
        # worked out once for all the rules that ask (the run's facts are complete before any rule runs)
        self._columns: list | None = None
        self._added: list | None = None
        self._constraints: list | None = None
        self._asked: object = None   # the table is_new_table was last asked about, and its answer
        self._new = False

    # -- the file --
    @property
    def file(self) -> ParsedFile | None:
        return self.facts.parsed

    @property
    def relpath(self) -> str:
        return self.facts.relpath

    @property
    def text(self) -> str:
        return self.facts.text

    @property
    def has_rollback(self) -> bool | None:
        return self.facts.has_rollback

    @property
    def is_rollback(self) -> bool:
        return self.facts.is_rollback

    @property
    def mode(self) -> str | None:
        return self.facts.parsed.mode if self.facts.parsed is not None else None

    @property
    def statements(self) -> tuple[Statement, ...]:
        return self.facts.statements

    # -- transactions --
    @property
    def in_transaction(self) -> bool:
        return self.index >= 0 and self.facts.in_tx[self.index]

    @property
    def tx_begin(self) -> Statement | None:
        return self.facts.tx_begin[self.index] if self.index >= 0 else None

    @property
    def tx_group(self) -> int:
        return self.facts.tx_group[self.index] if self.index >= 0 else -1

    def same_transaction(self, *, before: bool = True, after: bool = False) -> list[Statement]:
        """Other statements of the file that share this statement's transaction."""
        if self.index < 0 or not self.in_transaction:
            return []
        group = self.tx_group
        out = []
        for s in self.statements:
            if s.index == self.index or self.facts.tx_group[s.index] != group or not self.facts.in_tx[s.index]:
                continue
            if (s.index < self.index and before) or (s.index > self.index and after):
                out.append(s)
        return out

    @property
    def non_transactional(self) -> str | None:
        """Why PostgreSQL refuses the statement in a transaction block, or None."""
        if self.statement is None:
            return None
        return self.statement.non_transactional or self.facts.forced_concurrent.get(self.statement.offset)

    def is_concurrent(self) -> bool:
        """The statement says CONCURRENTLY (also when the engine had to hide the
        keyword from the parser to read the rest of the file)."""
        node = self.node
        if self.statement is not None and self.statement.offset in self.facts.forced_concurrent:
            return True
        if isinstance(node, ast.ReindexStmt):
            return "concurrently" in nodes.defelem_names(node.params)
        return bool(getattr(node, "concurrent", False))

    # -- tables --
    def created_in_file(self, rv) -> bool:
        """Created earlier in this same file."""
        schema, name = table_key(rv)
        return bool(self.run.tables.find(schema, name, before=self.pos, file=self.facts.number))

    def created_in_run(self, rv) -> bool:
        """Created earlier in this file or in an earlier file of the same run."""
        schema, name = table_key(rv)
        return bool(self.run.tables.find(schema, name, before=self.pos))

    def defined_columns(self) -> list[tuple[str, object, object, tuple[str, ...]]]:
        """:func:`nodes.defined_columns` of the statement, each with its type's qualified name
        (``nodes.name_list(typename.names)``, e.g. ``("pg_catalog", "bpchar")``): made once for
        every rule that asks."""
        if self._columns is None:
            self._columns = [(name, typename, at, nodes.name_list(cast(Any, typename).names))
                             for name, typename, at in nodes.defined_columns(self.kind or "", self.node)]
        return self._columns

    def added_columns(self) -> list[tuple[object, str]]:
        """(ColumnDef, bare type name as :func:`nodes.type_name` gives it) of each column a CREATE
        TABLE defines or an ALTER TABLE adds (ADD COLUMN); a CREATE TABLE's columns without a type
        (``OF type``, a partition's) are left out: they have no type name to judge. Made once for
        every rule that asks."""
        if self._added is None:
            if self.kind == "CreateStmt":
                self._added = [(at, names[-1].lower() if names else "")
                               for _name, _type, at, names in self.defined_columns()]
            else:
                self._added = [(c.def_, nodes.type_name(c.def_.typeName))
                               for c in nodes.alter_cmds(self.node, AT.AT_AddColumn)]
        return self._added

    def added_constraints(self) -> list[tuple[object, object]]:
        """:func:`nodes.added_constraints` of this ALTER TABLE (made once for every rule that asks)."""
        if self._constraints is None:
            self._constraints = list(nodes.added_constraints(self.node))
        return self._constraints

    def constraints_added_to_existing_table(self, contype):
        """(table, constraint, column-or-None) for each constraint of *contype* this ALTER TABLE
        adds to a table that existed before the run (ADD CONSTRAINT, or inside ADD COLUMN)."""
        rel = self.node.relation
        if rel is None or self.is_new_table(rel):
            return
        for con, column in self.added_constraints():
            if con.contype == contype:
                yield rel, con, column

    def is_new_table(self, rv) -> bool:
        """Created earlier in the run, so locking it blocks nobody (also true for
        temporary tables)."""
        if rv is None:
            return False
        if rv is self._asked:
            return self._new
        if not isinstance(rv, str) and getattr(rv, "relpersistence", "p") == "t":
            new = True
        else:
            new = self.created_in_run(rv)
        self._asked, self._new = rv, new
        return new

    def existed_before(self, rv) -> bool:
        """Referenced but not created earlier in this run: a table that is
        already in production with its rows and its traffic."""
        return not self.is_new_table(rv)

    def column_type(self, rv, column: str):
        """The TypeName the run last gave ``table.column`` before this statement, or None."""
        schema, name = table_key(rv)
        found = self.run.columns.find(schema, f"{name}.{column}", before=self.pos)
        return found[-1][2] if found else None

    def is_tenant_table(self, rv) -> bool:
        schema, name = table_key(rv)
        return bool(self.run.tenant_tables.find(schema, name, before=self.pos))

    def dropped_later_in_file(self, rv) -> bool:
        """The table (or its schema) is dropped later in this same file."""
        schema, name = table_key(rv)
        for _, pos, _ in self.run.dropped_tables.find(schema, name, file=self.facts.number):
            if pos > self.pos:
                return True
        if schema:
            for _, pos, _ in self.run.dropped_schemas.find(None, schema, file=self.facts.number):
                if pos > self.pos:
                    return True
        return False

    def is_ledger(self, rv) -> bool:
        """The ledger table: the configured name, the guide's ``shared.migration_log``,
        or an unqualified table of either's name."""
        if rv is None:
            return False
        if rv.schemaname:
            return f"{rv.schemaname}.{rv.relname}" in self.ledger_names
        bare = _BARE_LEDGER_NAMES.get(self.ledger_names)
        if bare is None:
            bare = _BARE_LEDGER_NAMES[self.ledger_names] = frozenset(n.rpartition(".")[2] for n in self.ledger_names)
        return rv.relname in bare

    # -- findings --
    def offset_of(self, at) -> int:
        if isinstance(at, int):
            return at
        if at is not None:
            loc = nodes.location(at)
            if loc is not None:
                return loc
        return self.statement.offset if self.statement is not None else 0

    def loc(self, at=None) -> Location:
        """A Location for a node (its own position when the parser kept one), a
        character index, or the statement."""
        if at is None:
            if self.statement is not None:
                return self.statement.location
        elif isinstance(at, Location):
            return at
        line, col = line_col(self.facts.text, self.offset_of(at))
        return Location(self.facts.relpath, line, col)

    def finding(self, rule: str, severity: str, at, message: str, hint: str | None = None) -> Finding:
        return Finding(rule, severity, self.loc(at), message, hint)

    def version_at_least(self, major: int) -> bool:
        return self.target_version >= major


_BARE_LEDGER_NAMES: dict[frozenset[str], frozenset[str]] = {}   # the ledger's names -> their table names
