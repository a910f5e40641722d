"""Results and errors as a person or a program reads them: JSON documents, tables, the
status table, an error with its context and hint. Pure functions from values to text."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..errors import ExitCode
from ..text import format_duration

if TYPE_CHECKING:
    import click

#: The version of the JSON contract (docs/json/README.md). Every document ``--json`` prints, a
#: result or an error, starts with it. It goes up when a key is removed or renamed or a value
#: changes its type or meaning; a new key does not change it.
SCHEMA_VERSION = 1

_COMPACT_OVER = 5000   # values in a document above which it is printed compact (the C encoder)


def dump_json(data: dict) -> str:
    """The JSON document ``--json`` prints for *data* (a result's or an error's ``to_dict()``):
    ``schema_version`` first, then the data, every value in its JSON type by :func:`json_value`.
    Indented for a person; compact (the C encoder, many times faster) when it holds more than a
    few thousand values (a lint run over a large project)."""
    import json  # noqa: PLC0415 - not needed to print a table

    if not isinstance(data, dict):
        raise TypeError(f"a JSON document is an object, not {type(data).__name__}")
    count = [0]
    document = {"schema_version": SCHEMA_VERSION, **json_value(data, count)}
    if count[0] > _COMPACT_OVER:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


def json_value(value, _count: list[int] | None = None):
    """*value* with every part in its JSON type, the one way the command line writes them:

    - a ``datetime``: ISO 8601 in UTC, ``2025-01-31T09:30:00.123456+00:00`` (a naive one is
      taken as the machine's local time); a ``date`` or a ``time``: ISO 8601;
    - a ``timedelta``: seconds, a number (``1.5``);
    - a ``Decimal``: an integer when whole, else a float; a float that is not finite: null;
    - a path: its string; an enum: its value; a tuple or a set: a list;
    - anything with ``to_dict()``: that; anything else: its ``str()``.
    """
    import datetime as dt  # noqa: PLC0415
    import math  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415
    from enum import Enum  # noqa: PLC0415
    from pathlib import PurePath  # noqa: PLC0415

    count = _count if _count is not None else [0]

    def convert(v):
        count[0] += 1
        kind = type(v)
        if v is None or kind is str or kind is bool or kind is int:
            return v
        if kind is float:
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {str(k.value if isinstance(k, Enum) else k): convert(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, set, frozenset)):
            return [convert(x) for x in v]
        if isinstance(v, Enum):
            return convert(v.value)
        if isinstance(v, (bool, int, str)):   # subclasses
            return v
        if isinstance(v, float):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, dt.datetime):
            return v.astimezone(dt.timezone.utc).isoformat()
        if isinstance(v, (dt.date, dt.time)):
            return v.isoformat()
        if isinstance(v, dt.timedelta):
            return v.total_seconds()
        if isinstance(v, Decimal):
            if not v.is_finite():
                return None
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, PurePath):
            return str(v)
        if hasattr(v, "to_dict"):
            return convert(v.to_dict())
        return str(v)

    return convert(value)


def table(headers, rows) -> str:
    """Plain columns, left-aligned, two spaces apart, no trailing blanks."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    return "\n".join(lines)


def cell(value) -> str:
    """A database value in a table cell: durations, timestamps, one line of at most 80 characters."""
    if value is None:
        return ""
    if hasattr(value, "total_seconds"):
        return format_duration(value.total_seconds())
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value).replace("\n", " ")
    return text[:80] + ("…" if len(text) > 80 else "")


# --- status ------------------------------------------------------------------------------

_ERROR_WIDTH = 70  # characters of a failed version's error shown in the status table


def render_status(result, color: bool) -> str:
    headers = ("version", "name", "state", "applied at", "took", "rollback")
    rows = []
    for s in result.states:
        state = s.state
        if s.error and s.state in ("applied", "changed"):  # a rollback that failed or did not complete
            state = f"{s.state} ({s.error})"
        elif s.error and s.state in ("failed", "running"):  # the error's first line, kept short
            first = s.error.strip().splitlines()[0] if s.error.strip() else ""
            state = f"{s.state} ({first[:_ERROR_WIDTH - 1] + '…' if len(first) > _ERROR_WIDTH else first})"
        rows.append((s.version, s.name or "", state,
                     s.applied_at.strftime("%Y-%m-%d %H:%M:%S") if s.applied_at else "",
                     format_duration(s.execution_ms / 1000) if s.execution_ms is not None and s.applied_at else "",
                     ("stub" if s.version in result.stubs else "yes") if s.has_rollback else "no"))
    counts: dict[str, int] = {}
    for s in result.states:
        counts[s.state] = counts.get(s.state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no migrations"
    footer = f"{result.database} · ledger {result.ledger} · {summary}"
    if color and sys.stdout.isatty():
        return _rich_table(headers, rows, footer)
    return table(headers, rows) + "\n" + footer


_STATE_STYLE = {"applied": "green", "pending": "cyan", "failed": "bold red", "changed": "bold yellow",
                "missing": "red", "out_of_order": "yellow", "rolled_back": "magenta", "running": "yellow"}


def _rich_table(headers, rows, footer) -> str:
    from rich.console import Console  # noqa: PLC0415
    from rich.markup import escape  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    styled = Table(*headers, caption=footer, show_lines=False)
    for row in rows:
        styled.add_row(*[f"[{_STATE_STYLE[c.split()[0]]}]{escape(c)}[/]"
                         if i == 2 and c and c.split()[0] in _STATE_STYLE else escape(c) for i, c in enumerate(row)])
    console = Console()
    with console.capture() as cap:
        console.print(styled)
    return cap.get().rstrip("\n")


# --- errors ------------------------------------------------------------------------------

def render_error(err, color: bool) -> str:
    lines = [f"error: {err}"]
    if err.context:
        lines.append(err.context)
    if err.hint:
        lines.extend(f"hint: {h}" if i == 0 else f"      {h}" for i, h in enumerate(err.hint.split("\n")))
    return "\n".join(lines)


def click_error_dict(err: click.ClickException, exit_code: ExitCode) -> dict:
    import click  # noqa: PLC0415 - a JSON document needs no click; a usage error has it loaded already

    """A command line click could not take, in the JSON shape of ``PgshiftError.to_dict()``."""
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.exceptions.NoArgsIsHelpError):
        message = "Missing command."   # its own message is the whole help text
    else:
        message = err.format_message()
    return error_dict("UsageError" if isinstance(err, click.UsageError) else type(err).__name__, exit_code, message,
                      hint=f"see `{ctx.command_path} --help`" if ctx is not None else None,
                      context=ctx.get_usage() if ctx is not None else None)


def error_dict(error: str, exit_code: int, message: str, *, hint: str | None = None, context: str | None = None,
               details: dict | None = None) -> dict:
    """The error object, in the shape of ``PgshiftError.to_dict()``, of a failure that is not a
    PgshiftError: a command line click could not take, an interruption."""
    return {"error": error, "exit_code": int(exit_code), "message": message, "location": None, "hint": hint,
            "context": context, "details": details or {}}
