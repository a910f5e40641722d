"""A file's text -> its statements, where each starts and ends, by PostgreSQL's own parser.

psql meta-command lines (``\\set``, ``\\c``, ``\\i`` ...) are found and set aside here,
because only the parser can tell one from a backslash inside a string, a comment or a
function body: the parser stops on a meta-command, and nowhere else.

This module knows nothing of directives, of what the statements mean or of which
problems stop a file: :mod:`pgshift.sql.parser` decides that.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from pglast.parser import ParseError, scan

from ..model import Location, MetaCommand
from ..text import line_col
from .fasttree import parse_sql


class Span(NamedTuple):
    """One statement: its text (without the closing semicolon) and where it stands."""
    start: int
    end: int
    sql: str
    node: Any   # the pglast node


_tuple_new = tuple.__new__


class Refusal(NamedTuple):
    """Where and why the parser refused the text."""
    message: str   # the parser's own words
    index: int     # the character it points at (the end of the text for "at end of input")


class Split(NamedTuple):
    cleaned: str                      # the text with meta-command lines blanked (every offset kept)
    metas: tuple[MetaCommand, ...]
    spans: tuple[Span, ...]           # () when refused
    refusal: Refusal | None


def blank(text: str, start: int, end: int) -> str:
    """*text* with the characters from *start* to *end* made spaces (newlines kept)."""
    return text[:start] + "".join("\n" if c == "\n" else " " for c in text[start:end]) + text[end:]


def concurrently_span(text: str, index: int) -> tuple[int, int] | None:
    """Where the CONCURRENTLY of the statement starting at *index* stands, as (start, end) to
    blank so that the rest still parses: the keyword; in a REINDEX option list also its comma,
    or its parentheses when it is the only option. None when the statement has none. Read with
    PostgreSQL's scanner, so a CONCURRENTLY in a string, a comment or a name is never taken."""
    tokens = []
    for tok in scan(text[index:]):
        if tok.name == "ASCII_59":       # the statement's ';'
            break
        tokens.append(tok)
    for i, tok in enumerate(tokens):
        if tok.name != "CONCURRENTLY":
            continue
        before = tokens[i - 1].name if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        start, end = tok.start, tok.end + 1
        if before == "ASCII_40" and after is not None and after.name == "ASCII_41":   # (CONCURRENTLY)
            start, end = tokens[i - 1].start, after.end + 1
        elif before == "ASCII_44":                                                   # (..., CONCURRENTLY
            start = tokens[i - 1].start
        elif before == "ASCII_40" and after is not None and after.name == "ASCII_44":  # (CONCURRENTLY, ...
            end = after.end + 1
        return index + start, index + end
    return None


def meta_command_at(relpath: str, text: str, index: int) -> tuple[MetaCommand, int]:
    """The psql meta-command starting at the backslash at *index*, and where its line ends."""
    line_end = text.find("\n", index)
    line_end = len(text) if line_end < 0 else line_end
    raw = text[index:line_end].rstrip()
    body = raw[1:]
    command = body.split(None, 1)[0] if body.split() else ""
    argument = body[len(command):].strip().rstrip(";").strip()
    line, col = line_col(text, index)
    return MetaCommand(command, argument, Location(relpath, line, col), raw), line_end


def split(relpath: str, text: str) -> Split:
    """The statements of *text*, or the parser's refusal, with the meta-commands set aside."""
    metas: list[MetaCommand] = []
    cleaned = text
    while True:
        try:
            raw = parse_sql(cleaned)
        except ParseError as exc:
            message = exc.args[0] if exc.args else str(exc)
            index = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            if index is None:  # "at end of input": after the last thing written
                index = len(cleaned.rstrip())
            line_start = cleaned.rfind("\n", 0, index) + 1
            if not (0 <= index < len(cleaned)) or cleaned[index] != "\\" or cleaned[line_start:index].strip():
                return Split(cleaned, tuple(metas), (), Refusal(message, index))
            meta, line_end = meta_command_at(relpath, cleaned, index)
            metas.append(meta)
            cleaned = blank(cleaned, index, line_end)
            continue
        return _tuple_new(Split, (cleaned, tuple(metas), _spans(cleaned, raw), None))   # Split(...), minus a call


def _spans(cleaned: str, raw) -> tuple[Span, ...]:
    spans = []
    append = spans.append
    size = len(cleaned)
    for rs in raw:
        start = rs.stmt_location or 0
        length = rs.stmt_len
        sql = cleaned[start:start + length if length else size].rstrip()   # 0: the rest of the text
        if sql[-1:] == ";":
            sql = sql[:-1].rstrip()
        append(_tuple_new(Span, (start, start + len(sql), sql, rs.stmt)))   # Span(...), minus a call
    return tuple(spans)
