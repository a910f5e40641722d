"""Split SQL files into statements with the real PostgreSQL parser (pglast).

This is the only module that imports pglast. It turns a file's text into a
:class:`~pgshift.model.ParsedFile`: statements with their ``file:line:col``,
directives attached to the statement they stand before, psql meta-commands
found and set aside, each statement classified (transaction control, refused
inside a transaction), and the file's transaction mode decided.

Lint rules read the parse trees through :data:`ast` and :data:`enums`, which are
re-exported here so that pglast stays behind this one door.
"""
from __future__ import annotations

import gc

from pglast import ast, enums  # noqa: F401 - re-exported for lint rules
from pglast import parse_sql as _pglast_parse_sql
from pglast import parser as _parser

from .errors import DirectiveError, SqlSyntaxError
from .model import (
    TX_BATCHED, TX_FILE, TX_NONE, TX_OWN, Directive, Location, MetaCommand,
    ParsedFile, Statement, caret_context, line_col, parse_duration, parse_timeout,
)

__all__ = ["parse_file", "ast", "enums", "KNOWN_DIRECTIVES", "parse_plpgsql_body", "deparse", "parse_one"]

KNOWN_DIRECTIVES = ("no-transaction", "batch", "lock-timeout", "statement-timeout", "ignore")
_FILE_LEVEL = ("no-transaction", "lock-timeout", "statement-timeout")
_DML = ("UpdateStmt", "DeleteStmt", "InsertStmt")

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
    _TX.TRANS_STMT_COMMIT_PREPARED: "commit_prepared",
    _TX.TRANS_STMT_ROLLBACK_PREPARED: "rollback_prepared",
}


# --- classification --------------------------------------------------------

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


# --- fast parse trees ----------------------------------------------------------

_COERCERS: dict = {}


def _coercer(cls, name):
    """What pglast's validating ``Node.__setattr__`` would do to a value of attribute
    *name* of *cls*, as one cached function: the adaptor (bool ...), the enum
    conversion, or nothing. The values come from the C parser, so they are valid."""
    key = (cls, name)
    found = _COERCERS.get(key)
    if found is None:
        info = cls.__slots__.get(name) if isinstance(cls.__slots__, dict) else None
        found = _identity
        if info is not None:
            ctype, _ptype, adaptor = info
            if adaptor is not None:
                found = adaptor
            elif ctype != "char*" and hasattr(enums, ctype):
                enum = getattr(enums, ctype)

                def found(value, enum=enum):
                    if isinstance(value, enum):
                        return value
                    if isinstance(value, str) and len(value) > 1:
                        return enum[value]
                    return enum(value)
        _COERCERS[key] = found
    return found


def _identity(value):
    return value


_READY = {"List*": tuple, "bool": bool, "char": str}   # C type -> the Python type needing no adaptor


def _fast_init(cls):
    """An ``__init__`` for *cls* that stores what the C parser hands it: each attribute
    with a plain slot store (:class:`fast_trees` lifts pglast's validating
    ``Node.__setattr__`` meanwhile), through the cached coercion where pglast's validation
    would convert it (an enum, an adaptor), and nothing else. Built once per class."""
    names = list(cls.__slots__)
    env: dict = {}
    lines = [f"def __init__(self, {', '.join(f'{n}=None' for n in names)}):"]
    for n in names:
        coerce = _coercer(cls, n)
        if coerce is _identity:
            lines.append(f"    self.{n} = {n}")
            continue
        env[f"_co_{n}"] = coerce
        # what the C parser already hands over in final form passes as it is
        ready = _READY.get(cls.__slots__[n][0])
        if ready is not None:
            env[f"_ok_{n}"] = ready
            lines.append(f"    self.{n} = {n} if {n} is None or type({n}) is _ok_{n} else _co_{n}({n})")
        else:
            lines.append(f"    self.{n} = None if {n} is None else _co_{n}({n})")
    if not names:
        lines.append("    pass")
    exec("\n".join(lines), env)  # noqa: S102 - generated from pglast's own slot table
    return env["__init__"]


_NODE_CLASSES: list = []
_FAST: dict = {}
_SLOW: dict = {}
_fast_depth = 0


def _node_classes() -> list:
    if not _NODE_CLASSES:
        for cls in vars(ast).values():
            if isinstance(cls, type) and issubclass(cls, ast.Node) and "__init__" in cls.__dict__ \
                    and isinstance(cls.__dict__.get("__slots__"), dict):
                _NODE_CLASSES.append(cls)
                _SLOW[cls] = cls.__dict__["__init__"]
                _FAST[cls] = _first_init(cls)
    return _NODE_CLASSES


def _first_init(cls):
    """Stands in for the fast ``__init__`` of *cls* until a node of it is first made: a
    file uses a few dozen of pglast's 260 node types, so only those get generated."""
    def __init__(self, *args, **kwargs):
        fast = _FAST[cls] = _fast_init(cls)
        if cls.__dict__.get("__init__") is __init__:
            cls.__init__ = fast
        fast(self, *args, **kwargs)
    return __init__


_gc_was_enabled = False
_VALIDATING_SETATTR = ast.Node.__dict__.get("__setattr__")


class fast_trees:
    """While active, pglast's node classes take the parser's values as they are (see
    :func:`_fast_init`); pglast's validating constructors are back when it ends. Wrap a
    loop over many files in it to pay the switch once; nesting is cheap.

    Meanwhile an attribute set on a node is stored as it is, without pglast's validation
    (it is the slot store that makes the trees fast); pgshift's own code sets only values
    of the right type.

    The cyclic garbage collector is paused meanwhile: a parse tree has no cycles (reference
    counting frees it), but its tens of thousands of new objects would start a collection
    every 700 of them, each walking everything still alive. That was more than half the
    time of a tree for 1,000 files."""

    def __enter__(self):
        global _fast_depth, _gc_was_enabled
        if _fast_depth == 0:
            for cls in _node_classes():
                cls.__init__ = _FAST[cls]
            if _VALIDATING_SETATTR is not None:
                del ast.Node.__setattr__
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _fast_depth += 1
        return self

    def __exit__(self, *exc):
        global _fast_depth
        _fast_depth -= 1
        if _fast_depth == 0:
            for cls in _NODE_CLASSES:
                cls.__init__ = _SLOW[cls]
            if _VALIDATING_SETATTR is not None:
                ast.Node.__setattr__ = _VALIDATING_SETATTR
            if _gc_was_enabled:
                gc.enable()
        return False


def _parse_sql(sql: str):
    """pglast's parse tree, built several times faster (same values and types:
    tests/unit/test_statements.py compares the two trees)."""
    with fast_trees():
        return _pglast_parse_sql(sql)


# --- meta-commands, comments, directives ------------------------------------

def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + "".join("\n" if c == "\n" else " " for c in text[start:end]) + text[end:]


def _find_meta_commands(relpath: str, text: str) -> tuple[str, list[MetaCommand], object]:
    """Set aside psql meta-command lines, letting the parser say where they are.

    A backslash at the start of a line is a meta-command only where the real
    parser stops on it: inside a string, a comment or a function body it is
    just text.
    """
    metas: list[MetaCommand] = []
    cleaned = text
    for _ in range(10_000):
        try:
            return cleaned, metas, _parse_sql(cleaned)
        except _parser.ParseError as exc:
            index = exc.args[1] if len(exc.args) > 1 else -1
            if not (0 <= index < len(cleaned)) or cleaned[index] != "\\":
                return cleaned, metas, exc
            line_start = cleaned.rfind("\n", 0, index) + 1
            if cleaned[line_start:index].strip():
                return cleaned, metas, exc
            line_end = cleaned.find("\n", index)
            line_end = len(cleaned) if line_end < 0 else line_end
            raw = cleaned[index:line_end].rstrip()
            body = raw[1:]
            command = body.split(None, 1)[0] if body.split() else ""
            argument = body[len(command):].strip().rstrip(";").strip()
            line, col = line_col(text, index)
            metas.append(MetaCommand(command, argument, Location(relpath, line, col), raw))
            cleaned = _blank(cleaned, index, line_end)
    return cleaned, metas, None


def _parse_directive(relpath: str, text: str, start: int, comment: str) -> Directive | None:
    body = comment[2:].strip()
    if not body.lower().startswith("pgshift:"):
        return None
    line, col = line_col(text, start)
    loc = Location(relpath, line, col)
    rest = body[len("pgshift:"):].strip()
    name, _, argtext = rest.partition(" ")
    name = name.strip().lower()
    argtext = argtext.strip()
    if name not in KNOWN_DIRECTIVES:
        raise DirectiveError(
            f"unknown directive `pgshift:{name}`",
            location=loc, context=caret_context(text, start),
            hint="known directives: " + ", ".join(f"pgshift:{d}" for d in KNOWN_DIRECTIVES),
        )
    args: dict[str, str] = {}
    try:
        if name == "no-transaction":
            if argtext:
                raise ValueError("takes no argument")
        elif name in ("lock-timeout", "statement-timeout"):
            value = argtext.split()[0] if argtext else ""
            parse_timeout(value)
            args["value"] = value
        elif name == "ignore":
            rules, _, reason = argtext.partition(" ")
            names = [r.strip() for r in rules.split(",") if r.strip()]
            if not names:
                raise ValueError("names no rule (write `-- pgshift:ignore rule-a,rule-b  reason`)")
            args["rules"] = ",".join(names)
            args["reason"] = reason.strip().lstrip("-").strip()
        elif name == "batch":
            for part in argtext.split():
                key, eq, value = part.partition("=")
                if not eq or key not in ("size", "sleep", "max-replica-lag"):
                    raise ValueError(f"does not understand {part!r} (write size=N [sleep=DURATION] [max-replica-lag=DURATION])")
                args[key] = value
            if "size" not in args:
                raise ValueError("needs size=N")
            if not args["size"].isdigit() or int(args["size"]) < 1:
                raise ValueError(f"size must be a positive whole number, not {args['size']!r}")
            for key in ("sleep", "max-replica-lag"):
                if key in args:
                    parse_duration(args[key])
    except ValueError as exc:
        raise DirectiveError(f"`pgshift:{name}` {exc}", location=loc, context=caret_context(text, start)) from None
    return Directive(name, args, loc, start, comment.strip())


# --- the file --------------------------------------------------------------

def _syntax_error(relpath: str, text: str, exc: Exception) -> SqlSyntaxError:
    message = exc.args[0] if exc.args else str(exc)
    index = exc.args[1] if len(exc.args) > 1 else 0
    line, col = line_col(text, index)
    hint = None
    near = text[index:index + 5].upper()
    if near.startswith("RAISE"):
        hint = ("RAISE is PL/pgSQL: outside a function it is a syntax error. Wrap it in a DO block, "
                "e.g. DO $$ BEGIN RAISE NOTICE '...'; END $$;")
    elif text[index:index + 1] == "\\":
        hint = "psql meta-commands are not SQL; remove the line (pgshift connects to the configured database)"
    if hint is None:
        before = text[:index].rstrip().upper()
        if before.endswith(("FROM STDIN;", "FROM STDIN", "FROM PSTDIN;")):
            hint = ("this looks like COPY ... FROM STDIN data, which only psql can send; write the rows as INSERT "
                    "statements, or COPY from a file on the database server")
    return SqlSyntaxError(f"syntax error: {message}", location=Location(relpath, line, col),
                          context=caret_context(text, index), hint=hint)


def parse_file(relpath: str, text: str, *, database: str | None = None) -> ParsedFile:
    """Split and classify one file. Raises InputError subclasses for bad input.

    *database* is the name of the database connected to, when known: ``\\c``
    naming it is skipped (with a warning from the caller); any other
    meta-command is an error at its line.
    """
    nul = text.find("\x00")
    if nul >= 0:  # the C parser would stop there and quietly drop the rest of the file
        line, col = line_col(text, nul)
        raise SqlSyntaxError("the file holds a NUL byte (\\0), which PostgreSQL accepts nowhere in SQL text",
                             location=Location(relpath, line, col), context=caret_context(text, nul),
                             hint="remove it: it usually comes from a binary paste or a wrong encoding "
                                  "(save the file as UTF-8 text)")
    cleaned, metas, raw = _find_meta_commands(relpath, text)
    for meta in metas:
        if meta.command in ("c", "connect"):
            target = meta.argument.split()[0].strip("\"'") if meta.argument else ""
            if database is not None and target == database:
                continue
            raise SqlSyntaxError(
                f"psql meta-command `{meta.text}` switches to database {target or '?'}"
                + (f", but pgshift is connected to {database}" if database else ""),
                location=meta.location, context=caret_context(text, _offset(text, meta.location)),
                hint="pgshift runs each file on the configured database; remove the `\\c` line, "
                     "or point the environment's url at that database",
            )
        raise SqlSyntaxError(
            f"psql meta-command `{meta.text}` is not SQL and cannot run outside psql",
            location=meta.location, context=caret_context(text, _offset(text, meta.location)),
            hint="remove the line; for messages use DO $$ BEGIN RAISE NOTICE '...'; END $$;",
        )
    if isinstance(raw, _parser.ParseError):
        raise _syntax_error(relpath, text, raw) from None

    spans = []
    for rs in raw:
        start = rs.stmt_location or 0
        length = rs.stmt_len or (len(cleaned) - start)
        sql = cleaned[start:start + length].rstrip()
        if sql.endswith(";"):
            sql = sql[:-1].rstrip()
        spans.append((start, start + len(sql), sql, rs.stmt))

    directives = _directives(relpath, text, cleaned, spans)

    statements: list[Statement] = []
    file_directives = tuple(d for d in directives if not spans or d.offset < spans[0][0])
    di = 0
    for index, (start, _end, sql, node) in enumerate(spans):
        attached = []
        while di < len(directives) and directives[di].offset < start:
            if index > 0 or directives[di] not in file_directives or directives[di].name in ("batch", "ignore"):
                attached.append(directives[di])
            di += 1
        line, col = line_col(text, start)
        kind = type(node).__name__
        tx = _TX_NAMES.get(node.kind) if kind == "TransactionStmt" else None
        statements.append(Statement(
            index=index, sql=sql, offset=start, location=Location(relpath, line, col), kind=kind,
            tx_control=tx if tx not in ("commit_prepared", "rollback_prepared") else None,
            non_transactional=non_transactional_reason(node), directives=tuple(attached), node=node,
        ))
    if di < len(directives):
        trailing = [d for d in directives[di:] if d.name != "ignore"]
        if trailing:
            d = trailing[0]
            raise DirectiveError(f"`pgshift:{d.name}` stands after the last statement and applies to nothing",
                                 location=d.location, context=caret_context(text, d.offset),
                                 hint="put it on the line before the statement it is for")

    for stmt in statements:
        if stmt.kind == "CopyStmt" and stmt.node.filename is None:
            raise SqlSyntaxError(
                f"COPY ... {'FROM STDIN' if stmt.node.is_from else 'TO STDOUT'} needs psql's data stream, "
                "which a migration run by pgshift does not have",
                location=stmt.location, context=caret_context(text, stmt.offset),
                hint="write the rows as INSERT statements, or COPY from a file on the database server")
    _check_directive_placement(text, statements, file_directives)
    mode, reason = _decide_mode(relpath, text, statements, file_directives)
    return ParsedFile(relpath, text, tuple(statements), tuple(directives), file_directives, tuple(metas), mode, reason)


def _offset(text: str, loc: Location) -> int:
    pos = 0
    for _ in range(loc.line - 1):
        pos = text.find("\n", pos) + 1
    return pos + loc.col - 1


def _directives(relpath, text, cleaned, spans) -> list[Directive]:
    found: list[Directive] = []
    if "pgshift:" not in cleaned.lower():
        return found  # no directive can be there: skip the scan
    for tok in _parser.scan(cleaned):
        if tok.name == "C_COMMENT":
            _refuse_block_directive(relpath, text, tok.start, cleaned[tok.start:tok.end + 1])
            continue
        if tok.name != "SQL_COMMENT":
            continue
        comment = cleaned[tok.start:tok.end + 1]
        if "pgshift:" not in comment.lower():
            continue
        line_start = cleaned.rfind("\n", 0, tok.start) + 1
        if cleaned[line_start:tok.start].strip():
            continue  # a trailing comment after code is not a directive
        directive = _parse_directive(relpath, text, tok.start, comment)
        if directive is None:
            continue
        for start, end, _sql, _node in spans:
            if start < tok.start < end:
                raise DirectiveError(
                    f"`pgshift:{directive.name}` stands inside a statement",
                    location=directive.location, context=caret_context(text, tok.start),
                    hint="put directives on their own line before the statement they are for",
                )
        found.append(directive)
    return found


def _refuse_block_directive(relpath: str, text: str, start: int, comment: str) -> None:
    """``/* pgshift:... */`` looks like a directive but would be ignored: say so, rather than
    run a file meant as no-transaction inside a transaction."""
    body = comment[2:-2].strip().lstrip("*").strip()
    if not body.lower().startswith("pgshift:"):
        return
    line, col = line_col(text, start)
    name = body[len("pgshift:"):].split(None, 1)[0] if body[len("pgshift:"):].split() else ""
    raise DirectiveError(
        f"`pgshift:{name}` is written in a /* */ comment, where pgshift does not read directives",
        location=Location(relpath, line, col), context=caret_context(text, start),
        hint=f"write it as a line comment of its own: -- pgshift:{body[len('pgshift:'):].strip()}")


def _check_directive_placement(text, statements, file_directives) -> None:
    for stmt in statements:
        for d in stmt.directives:
            if d.name in _FILE_LEVEL:
                raise DirectiveError(
                    f"`pgshift:{d.name}` applies to the whole file and must stand before its first statement",
                    location=d.location, context=caret_context(text, d.offset))
            if d.name == "batch" and stmt.kind not in _DML:
                raise DirectiveError(
                    f"`pgshift:batch` must stand before an UPDATE, DELETE or INSERT ... SELECT, "
                    f"not a {stmt.kind.removesuffix('Stmt')} statement",
                    location=d.location, context=caret_context(text, d.offset))
            if d.name == "batch" and stmt.kind == "InsertStmt" and stmt.node.selectStmt is None:
                raise DirectiveError("`pgshift:batch` before an INSERT needs INSERT ... SELECT",
                                     location=d.location, context=caret_context(text, d.offset))


def _decide_mode(relpath, text, statements, file_directives) -> tuple[str, str]:
    own = [s for s in statements if s.tx_control in ("begin", "commit", "rollback")]
    batched = [s for s in statements if s.directive("batch")]
    if own:
        depth_open: Statement | None = None
        for s in statements:
            if s.tx_control == "begin":
                depth_open = s
            elif s.tx_control in ("commit", "rollback", "prepare"):
                depth_open = None
            elif depth_open is not None and s.non_transactional:
                raise SqlSyntaxError(
                    f"{s.non_transactional} cannot run inside a transaction block, and this file opens one "
                    f"with {depth_open.sql.split()[0].upper()} at line {depth_open.location.line}",
                    location=s.location, context=caret_context(text, s.offset),
                    hint=f"move the {s.non_transactional} statements to a file of their own without BEGIN/COMMIT "
                         "(pgshift runs such a file outside a transaction, one statement at a time), "
                         "or remove BEGIN/COMMIT from this file",
                )
            elif depth_open is not None and s.directive("batch"):
                raise DirectiveError(
                    "a batched statement cannot run inside the transaction this file opens at line "
                    f"{depth_open.location.line}", location=s.location,
                    context=caret_context(text, s.offset),
                    hint="remove BEGIN/COMMIT: pgshift commits each batch on its own")
        first = own[0]
        return TX_OWN, f"the file controls its own transactions ({first.sql.split()[0].upper()} at line {first.location.line})"
    if any(d.name == "no-transaction" for d in file_directives):
        return TX_NONE, "-- pgshift:no-transaction"
    nontx = [s for s in statements if s.non_transactional]
    if nontx:
        s = nontx[0]
        return TX_NONE, f"{s.non_transactional} at line {s.location.line} cannot run inside a transaction"
    if batched:
        s = batched[0]
        return TX_BATCHED, f"batched data change at line {s.location.line}"
    return TX_FILE, "one transaction"


# --- helpers for lint and batching -----------------------------------------

def referenced_relations(node) -> tuple[str, ...]:
    """Every table a statement names (its RangeVar nodes), as quoted, possibly qualified names."""
    found: list[str] = []

    def walk(value):
        if isinstance(value, ast.RangeVar):
            name = f'"{value.relname}"'
            found.append(f'"{value.schemaname}".{name}' if value.schemaname else name)
        if isinstance(value, ast.Node):
            for attr in value.__slots__:
                walk(getattr(value, attr, None))
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)

    walk(node)
    return tuple(dict.fromkeys(found))


def parse_one(sql: str):
    """The parse node of a single statement."""
    return _parse_sql(sql)[0].stmt


def deparse(node) -> str:
    """SQL text for a parse node (pglast's printer)."""
    from pglast.stream import RawStream  # noqa: PLC0415

    return RawStream()(node)


def parse_plpgsql_body(sql: str):
    """The PL/pgSQL parse tree of a CREATE FUNCTION or DO statement, or None."""
    import pglast  # noqa: PLC0415

    try:
        return pglast.parse_plpgsql(sql)
    except Exception:  # noqa: BLE001 - not PL/pgSQL, or not parseable
        return None


# --- batched data changes ----------------------------------------------------

def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
        import copy  # noqa: PLC0415

        node = copy.deepcopy(self.node)
        col = f"{_quote_ident(self.ref)}.{_quote_ident(key)}"
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
        import copy  # noqa: PLC0415

        schema, name = self.relation
        table = (f"{_quote_ident(schema)}." if schema else "") + _quote_ident(name)
        if node.relation.alias is not None:
            table += f" AS {_quote_ident(self.ref)}"
        where = f" WHERE {deparse(node.whereClause)}" if node.whereClause is not None else \
            " WHERE <the rows not yet changed>"
        node = copy.deepcopy(node)
        node.whereClause = None
        text = f"{deparse(node)} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table}{where} LIMIT {int(size)}))"
        try:
            return deparse(parse_one(text))
        except Exception:  # noqa: BLE001 - the placeholder for a missing WHERE does not parse
            return text


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


def batch_shape(node) -> BatchShape:
    return BatchShape(node)
