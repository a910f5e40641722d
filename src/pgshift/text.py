"""Text for people: line and column of an index, a caret under it, durations read and written,
sizes written.

Pure functions over strings; no pgshift imports. (The line-start cache below is the one piece
of module state: a tuple swapped whole, so a reader never sees half of it.)
"""
from __future__ import annotations

import bisect

_LARGE = 65_536
_line_starts_of: tuple[str | None, list[int]] = (None, [])


def _line_starts(text: str) -> list[int]:
    """Where each line of a large text starts, computed once for the text last asked about
    (a file's statements and findings ask about the same text many times)."""
    global _line_starts_of
    cached_text, starts = _line_starts_of
    if cached_text is not text:
        starts = [0]
        pos = text.find("\n")
        while pos >= 0:
            starts.append(pos + 1)
            pos = text.find("\n", pos + 1)
        _line_starts_of = (text, starts)
    return starts


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index in *text*."""
    index = max(0, min(index, len(text)))
    if len(text) < _LARGE:
        line = text.count("\n", 0, index) + 1
        start = text.rfind("\n", 0, index) + 1
        return line, index - start + 1
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, index)
    return line, index - starts[line - 1] + 1


_WINDOW = 100  # characters shown on either side of the caret on a long line


def caret_context(text: str, index: int) -> str:
    """The line holding *index* and a caret under its column; of a very long line, the part
    around the column."""
    line, col = line_col(text, index)
    start = index - (col - 1)
    end = text.find("\n", start)
    src = text[start:] if end < 0 else text[start:end]
    before, after = "", ""
    cut = col - 1
    if len(src) > 2 * _WINDOW + 20:
        left = max(0, cut - _WINDOW)
        right = min(len(src), cut + _WINDOW)
        before, after = ("…" if left else ""), ("…" if right < len(src) else "")
        src, cut = src[left:right], cut - left
    # keep tabs so that the caret lines up in a terminal
    pad = "".join(ch if ch == "\t" else " " for ch in before + src[:cut])
    return f"{line:>5} | {before}{src}{after}\n      | {pad}^"


_UNITS = {"us": 1e-6, "ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | int | float) -> float:
    """Seconds in '500ms', '2s', '1.5s', '1min', '1h', or a bare number of seconds."""
    if isinstance(text, (int, float)):
        if text < 0 or text != text:   # negative, or NaN
            raise ValueError(f"not a duration: {text!r} (a duration cannot be negative)")
        return float(text)
    raw = text.strip().lower()
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number):].strip() or "s"
    try:
        value = float(number.strip())
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (write e.g. 500ms, 2s, 1min)") from None
    if unit not in _UNITS or value < 0:
        raise ValueError(f"not a duration: {text!r} (write e.g. 500ms, 2s, 1min)")
    return value * _UNITS[unit]


_MAX_TIMEOUT_MS = 2_147_483_647   # PostgreSQL's limit for lock_timeout and statement_timeout


def parse_timeout(text: str | int | float) -> float:
    """A lock or statement timeout in seconds: 0 for none, else from 1ms to about 24 days
    (what PostgreSQL accepts). Below 1ms PostgreSQL would round to 0, which means no timeout
    at all: refused rather than quietly turned into waiting forever."""
    seconds = parse_duration(text)
    if 0 < seconds < 0.001:
        raise ValueError(f"{text!r} is less than 1ms, which PostgreSQL takes as no timeout at all "
                         "(write 0 for none)")
    if seconds * 1000 > _MAX_TIMEOUT_MS:
        raise ValueError(f"{text!r} is more than PostgreSQL accepts for a timeout (about 24 days)")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds as people read them: 250ms, 2.5s, 2s, 3.2min, 1.5h. Each unit is used up to where
    its rounded figure would reach the next one (0.9996 is "1s", never "1000ms")."""
    seconds = max(0.0, float(seconds))
    if round(seconds * 1000) < 1000:
        return f"{seconds * 1000:.0f}ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s".replace(".0s", "s")
    if round(seconds / 60, 1) < 60:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


_BINARY_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(size: float) -> str:
    """A number of bytes as people read it, in binary units labelled as such (1 KiB = 1024
    bytes): 512 bytes, 1.5 KiB, 20.0 MiB, 3.2 GiB. (PostgreSQL's pg_size_pretty writes
    "kB" for 1024 bytes; kB means 1000.)"""
    value = float(size)
    if abs(value) < 1024:
        return f"{value:.0f} byte" if value in (1, -1) else f"{value:.0f} bytes"
    for unit in _BINARY_UNITS[1:]:
        value /= 1024
        if abs(value) < 1024 or unit == _BINARY_UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def printable(name: str) -> str:
    """*name* (a file or folder name) with its control and other invisible characters written as
    escapes (``\\n``, ``\\x1b``, ``\\u200b``): a crafted file name must never start a line of its own
    in a CI log (``::error ...``) or move a terminal's cursor. Escaping twice changes nothing more."""
    if name.isprintable():
        return name
    out = []
    for ch in name:
        if ch.isprintable():
            out.append(ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def skip_blanks(sql: str, i: int) -> int:
    """The index of the first character at or after *i* in *sql* that is not white space or a
    comment (``--`` to the end of the line, ``/* */`` nested); ``len(sql)`` when none is left.
    Lexical, without the parser."""
    n = len(sql)
    while i < n:
        if sql[i].isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            return i
    return n


def quote_ident(name: str) -> str:
    """*name* as a PostgreSQL identifier, always double-quoted (``db`` and ``sql/`` use this one)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str | None) -> str:
    """The parts of a name (``schema, name``; a missing schema is None) quoted and joined by
    dots: ``"schema"."name"``, or ``"name"``; what to_regclass() and SQL text take."""
    return ".".join(quote_ident(str(part)) for part in parts if part)
