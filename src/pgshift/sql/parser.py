"""A file's text -> a :class:`~pgshift.model.ParsedFile`, or the problem that stops it.

Statements with their ``file:line:col`` (split by :mod:`pgshift.sql.split`), directives
attached to the statement they stand before, psql meta-commands found and refused (a
``\\c`` naming the database connected to is let through), each statement classified
(:mod:`pgshift.sql.classify`) and the file's transaction mode decided.

What stops a file is a :class:`ParseProblem`: data with a ``kind``, a location and the
message. :func:`parse_file` raises it as an :class:`~pgshift.errors.InputError`;
:func:`parse_or_problem` returns it, for a caller (lint) that goes on reading the file.
"""
from __future__ import annotations

from pglast import parse_plpgsql
from pglast.parser import scan

from ..errors import DirectiveError, InputError, SqlSyntaxError
from ..model import (
    TX_BATCHED,
    TX_FILE,
    TX_NONE,
    TX_OWN,
    Directive,
    Location,
    MetaCommand,
    ParsedFile,
    Statement,
)
from ..records import record
from ..text import caret_context, line_col, parse_duration, parse_timeout
from .classify import TRANSACTION_SENSITIVE, non_transactional_reason, tx_control
from .fasttree import parse_sql
from .split import Span, meta_command_at, split

__all__ = ["parse_file", "parse_or_problem", "ParseProblem", "PROBLEM_KINDS", "KNOWN_DIRECTIVES",
           "parse_one", "parse_plpgsql_body"]

KNOWN_DIRECTIVES = ("no-transaction", "batch", "lock-timeout", "statement-timeout", "ignore")
_FILE_LEVEL = ("no-transaction", "lock-timeout", "statement-timeout")
_DML = ("UpdateStmt", "DeleteStmt", "InsertStmt")
_ONE_TRANSACTION = "one transaction"

PROBLEM_KINDS = {
    "syntax": "the parser refuses the text",
    "nul-byte": "a NUL byte, which SQL text cannot hold",
    "meta-command": "a psql meta-command (``meta`` holds it)",
    "copy-stdin": "COPY FROM STDIN / TO STDOUT, which needs psql's data stream",
    "non-transactional-in-transaction": "a statement refused inside the transaction block the file opens "
                                        "(``reason`` says which)",
    "directive": "a -- pgshift: directive that is unknown, malformed or misplaced",
}


@record(frozen=True)
class ParseProblem:
    """What stops a file from being read: ``kind`` (one of :data:`PROBLEM_KINDS`), where
    (``location`` and ``offset``, the character index into the text given), the message,
    hint and caret context of the error it raises as, and per kind: ``meta`` for a
    meta-command, ``reason`` (e.g. ``CREATE INDEX CONCURRENTLY``) for a statement
    refused inside a transaction block."""
    kind: str
    location: Location
    offset: int
    message: str
    hint: str | None = None
    context: str | None = None
    meta: MetaCommand | None = None
    reason: str | None = None

    def error(self) -> InputError:
        """The problem as the error :func:`parse_file` raises."""
        cls = DirectiveError if self.kind == "directive" else SqlSyntaxError
        return cls(self.message, hint=self.hint, location=self.location, context=self.context)


class _Found(Exception):
    def __init__(self, problem: ParseProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _problem(kind: str, relpath: str, text: str, offset: int, message: str, hint: str | None = None,
             **per_kind) -> _Found:
    line, col = line_col(text, offset)
    return _Found(ParseProblem(kind, Location(relpath, line, col), offset, message, hint,
                               caret_context(text, offset), **per_kind))


def parse_file(relpath: str, text: str, *, database: str | None = None) -> ParsedFile:
    """Split and classify one file. Raises InputError subclasses for bad input.

    *database* is the name of the database connected to, when known: ``\\c``
    naming it is skipped (with a warning from the caller); any other
    meta-command is an error at its line.
    """
    try:
        return _parse(relpath, text, database)
    except _Found as found:
        raise found.problem.error() from None


def parse_or_problem(relpath: str, text: str, *, database: str | None = None
                     ) -> tuple[ParsedFile, None] | tuple[None, ParseProblem]:
    """:func:`parse_file`, with what stops the file returned as data instead of raised."""
    try:
        return _parse(relpath, text, database), None
    except _Found as found:
        return None, found.problem


def parse_one(sql: str):
    """The parse node of a single statement."""
    return parse_sql(sql)[0].stmt


def parse_plpgsql_body(sql: str):
    """The PL/pgSQL parse tree of a CREATE FUNCTION or DO statement, or None."""
    try:
        return parse_plpgsql(sql)
    except Exception:  # noqa: BLE001 - not PL/pgSQL, or not parseable
        return None


# --- the file --------------------------------------------------------------------------

def _parse(relpath: str, text: str, database: str | None) -> ParsedFile:
    nul = text.find("\x00")
    if nul >= 0:  # the C parser would stop there and quietly drop the rest of the file
        raise _problem("nul-byte", relpath, text, nul,
                       "the file holds a NUL byte (\\0), which PostgreSQL accepts nowhere in SQL text",
                       "remove it: it usually comes from a binary paste or a wrong encoding "
                       "(save the file as UTF-8 text)")
    cleaned, metas, spans, refusal = split(relpath, text)
    for meta in metas:
        _refuse_meta_command(relpath, text, meta, database)
    if refusal is not None:
        raise _syntax_problem(relpath, text, refusal.message, refusal.index)

    directives = _directives(relpath, text, cleaned, spans)
    file_directives = tuple([d for d in directives if not spans or d.offset < spans[0].start]) if directives else ()
    statements, di, copy, flagged = _statements(relpath, text, spans, directives, file_directives)
    if di < len(directives):
        trailing = [d for d in directives[di:] if d.name != "ignore"]
        if trailing:
            d = trailing[0]
            raise _problem("directive", relpath, text, d.offset,
                           f"`pgshift:{d.name}` stands after the last statement and applies to nothing",
                           "put it on the line before the statement it is for")
    if copy is not None:
        raise _problem(
            "copy-stdin", relpath, text, copy.offset,
            f"COPY ... {'FROM STDIN' if copy.node.is_from else 'TO STDOUT'} needs psql's data stream, "
            "which a migration run by pgshift does not have",
            "write the rows as INSERT statements, or COPY from a file on the database server")
    if directives:
        _check_directive_placement(relpath, text, statements)
    if flagged or directives:
        mode, reason = _decide_mode(relpath, text, statements, file_directives, bool(directives))
    else:  # no transaction control, nothing refused in a transaction, no directive: what _decide_mode says then
        mode, reason = TX_FILE, _ONE_TRANSACTION
    return ParsedFile(relpath, text, tuple(statements), tuple(directives), file_directives, metas, mode, reason)


def _statements(relpath, text, spans: tuple[Span, ...], directives, file_directives
                ) -> tuple[list[Statement], int, Statement | None, bool]:
    """The statements, each with the directives standing before it; how many directives
    were attached (those after the last statement are not); the first COPY FROM STDIN /
    TO STDOUT, if any; and whether some statement controls transactions or is refused
    inside one (else the file's mode needs no looking at its statements)."""
    statements: list[Statement] = []
    append = statements.append
    di = 0
    n_directives = len(directives)
    size = len(text)
    count, rfind = text.count, text.rfind
    copy = None
    flagged = False
    line, line_start, counted = 1, 0, 0   # line_col(text, start), counted on from the statement before
    index = 0
    for start, _end, sql, node in spans:
        attached: tuple[Directive, ...] = ()
        if di < n_directives and directives[di].offset < start:
            before = []
            while di < n_directives and directives[di].offset < start:
                if index > 0 or directives[di] not in file_directives or directives[di].name in ("batch", "ignore"):
                    before.append(directives[di])
                di += 1
            attached = tuple(before)
        if counted <= start <= size:
            line += count("\n", counted, start)
            newline = rfind("\n", counted, start)
            if newline >= 0:
                line_start = newline + 1
            counted = start
            col = start - line_start + 1
        else:
            line, col = line_col(text, start)
        kind = type(node).__name__
        tx = refused = None
        if kind in TRANSACTION_SENSITIVE:   # for any other node both are None: no call
            tx, refused = tx_control(node), non_transactional_reason(node)
            flagged = flagged or tx is not None or refused is not None
        statement = Statement(index, sql, start, Location(relpath, line, col), kind, tx, refused, attached, node)
        if kind == "CopyStmt" and copy is None and node.filename is None:
            copy = statement
        append(statement)
        index += 1
    return statements, di, copy, flagged


def _refuse_meta_command(relpath: str, text: str, meta: MetaCommand, database: str | None) -> None:
    offset = _offset(text, meta.location)
    if meta.command in ("c", "connect"):
        target = meta.argument.split()[0].strip("\"'") if meta.argument else ""
        if database is not None and target == database:
            return
        raise _problem(
            "meta-command", relpath, text, offset,
            f"psql meta-command `{meta.text}` switches to database {target or '?'}"
            + (f", but pgshift is connected to {database}" if database else ""),
            "pgshift runs each file on the configured database; remove the `\\c` line, "
            "or point the environment's url at that database", meta=meta)
    raise _problem("meta-command", relpath, text, offset,
                   f"psql meta-command `{meta.text}` is not SQL and cannot run outside psql",
                   "remove the line; for messages use DO $$ BEGIN RAISE NOTICE '...'; END $$;", meta=meta)


def _syntax_problem(relpath: str, text: str, message: str, index: int) -> _Found:
    hint = None
    meta = None
    near = text[index:index + 5].upper()
    if near.startswith("RAISE"):
        hint = ("RAISE is PL/pgSQL: outside a function it is a syntax error. Wrap it in a DO block, "
                "e.g. DO $$ BEGIN RAISE NOTICE '...'; END $$;")
    elif text[index:index + 1] == "\\":  # psql reads a backslash after code as a meta-command too
        hint = "psql meta-commands are not SQL; remove the line (pgshift connects to the configured database)"
        meta, _ = meta_command_at(relpath, text, index)
    if hint is None:
        before = text[:index].rstrip().upper()
        if before.endswith(("FROM STDIN;", "FROM STDIN", "FROM PSTDIN;")):
            hint = ("this looks like COPY ... FROM STDIN data, which only psql can send; write the rows as INSERT "
                    "statements, or COPY from a file on the database server")
    if not message.startswith("syntax error"):
        message = f"syntax error: {message}"
    return _problem("syntax" if meta is None else "meta-command", relpath, text, index, message, hint, meta=meta)


def _offset(text: str, loc: Location) -> int:
    pos = 0
    for _ in range(loc.line - 1):
        pos = text.find("\n", pos) + 1
    return pos + loc.col - 1


# --- directives --------------------------------------------------------------------------

def _directives(relpath: str, text: str, cleaned: str, spans: tuple[Span, ...]) -> list[Directive]:
    found: list[Directive] = []
    if "pgshift:" not in cleaned.lower():
        return found  # no directive can be there: skip the scan
    for tok in scan(cleaned):
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
        if any(span.start < tok.start < span.end for span in spans):
            raise _problem("directive", relpath, text, tok.start,
                           f"`pgshift:{directive.name}` stands inside a statement",
                           "put directives on their own line before the statement they are for")
        found.append(directive)
    return found


def _parse_directive(relpath: str, text: str, start: int, comment: str) -> Directive | None:
    body = comment[2:].strip()
    if not body.lower().startswith("pgshift:"):
        return None
    rest = body[len("pgshift:"):].strip()
    name, _, argtext = rest.partition(" ")
    name = name.strip().lower()
    argtext = argtext.strip()
    if name not in KNOWN_DIRECTIVES:
        raise _problem("directive", relpath, text, start, f"unknown directive `pgshift:{name}`",
                       "known directives: " + ", ".join(f"pgshift:{d}" for d in KNOWN_DIRECTIVES))
    try:
        args = _directive_args(name, argtext)
    except ValueError as exc:
        raise _problem("directive", relpath, text, start, f"`pgshift:{name}` {exc}") from None
    line, col = line_col(text, start)
    return Directive(name, args, Location(relpath, line, col), start, comment.strip())


def _directive_args(name: str, argtext: str) -> dict[str, str]:
    """The arguments of directive *name*; ValueError says what is wrong with them."""
    args: dict[str, str] = {}
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
                raise ValueError(f"does not understand {part!r} "
                                 "(write size=N [sleep=DURATION] [max-replica-lag=DURATION])")
            args[key] = value
        if "size" not in args:
            raise ValueError("needs size=N")
        if not args["size"].isdigit() or int(args["size"]) < 1:
            raise ValueError(f"size must be a positive whole number, not {args['size']!r}")
        for key in ("sleep", "max-replica-lag"):
            if key in args:
                parse_duration(args[key])
    return args


def _refuse_block_directive(relpath: str, text: str, start: int, comment: str) -> None:
    """``/* pgshift:... */`` looks like a directive but would be ignored: say so, rather than
    run a file meant as no-transaction inside a transaction."""
    body = comment[2:-2].strip().lstrip("*").strip()
    if not body.lower().startswith("pgshift:"):
        return
    name = body[len("pgshift:"):].split(None, 1)[0] if body[len("pgshift:"):].split() else ""
    raise _problem("directive", relpath, text, start,
                   f"`pgshift:{name}` is written in a /* */ comment, where pgshift does not read directives",
                   f"write it as a line comment of its own: -- pgshift:{body[len('pgshift:'):].strip()}")


def _check_directive_placement(relpath: str, text: str, statements: list[Statement]) -> None:
    for stmt in statements:
        for d in stmt.directives:
            message = None
            if d.name in _FILE_LEVEL:
                message = f"`pgshift:{d.name}` applies to the whole file and must stand before its first statement"
            elif d.name == "batch" and stmt.kind not in _DML:
                message = (f"`pgshift:batch` must stand before an UPDATE, DELETE or INSERT ... SELECT, "
                           f"not a {stmt.kind.removesuffix('Stmt')} statement")
            elif d.name == "batch" and stmt.kind == "InsertStmt" and stmt.node.selectStmt is None:
                message = "`pgshift:batch` before an INSERT needs INSERT ... SELECT"
            if message is not None:
                raise _problem("directive", relpath, text, d.offset, message)


# --- the transaction mode ------------------------------------------------------------------

def _decide_mode(relpath: str, text: str, statements: list[Statement], file_directives,
                 any_directive: bool = True) -> tuple[str, str]:
    """The file's transaction mode and why (*any_directive*: False when the file has none)."""
    own = [s for s in statements if s.tx_control in ("begin", "commit", "rollback")]
    if own:
        _check_own_transactions(relpath, text, statements)
        first = own[0]
        return TX_OWN, (f"the file controls its own transactions ({first.sql.split()[0].upper()} "
                        f"at line {first.location.line})")
    if any(d.name == "no-transaction" for d in file_directives):
        return TX_NONE, "-- pgshift:no-transaction"
    nontx = [s for s in statements if s.non_transactional]
    if nontx:
        s = nontx[0]
        return TX_NONE, f"{s.non_transactional} at line {s.location.line} cannot run inside a transaction"
    batched = [s for s in statements if s.directive("batch")] if any_directive else []
    if batched:
        s = batched[0]
        return TX_BATCHED, f"batched data change at line {s.location.line}"
    return TX_FILE, _ONE_TRANSACTION


def _check_own_transactions(relpath: str, text: str, statements: list[Statement]) -> None:
    """In a file with its own BEGIN/COMMIT, nothing refused in a transaction block and no
    batched statement stands inside one."""
    depth_open: Statement | None = None
    for s in statements:
        if s.tx_control == "begin":
            depth_open = s
        elif s.tx_control in ("commit", "rollback", "prepare"):
            depth_open = None
        elif depth_open is not None and s.non_transactional:
            raise _problem(
                "non-transactional-in-transaction", relpath, text, s.offset,
                f"{s.non_transactional} cannot run inside a transaction block, and this file opens one "
                f"with {depth_open.sql.split()[0].upper()} at line {depth_open.location.line}",
                f"move the {s.non_transactional} statements to a file of their own without BEGIN/COMMIT "
                "(pgshift runs such a file outside a transaction, one statement at a time), "
                "or remove BEGIN/COMMIT from this file", reason=s.non_transactional)
        elif depth_open is not None and s.directive("batch"):
            raise _problem("directive", relpath, text, s.offset,
                           "a batched statement cannot run inside the transaction this file opens at line "
                           f"{depth_open.location.line}", "remove BEGIN/COMMIT: pgshift commits each batch on its own")
