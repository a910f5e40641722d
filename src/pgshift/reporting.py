"""Reporter implementations and renderers: rich on a terminal, plain lines in CI.

Events go to stderr; with ``--json`` the result document alone goes to stdout.
"""
from __future__ import annotations

import json
import sys
import time

from .events import Event

_STYLES = {"error": "bold red", "warning": "yellow", "info": "", "debug": "dim"}
_ICONS = {"file_started": "→", "file_completed": "✓", "file_failed": "✗", "retry": "↻", "lock_wait": "…",
          "resume": "↪", "batch_progress": "▸", "index_progress": "▸", "monitor": "◆", "check": "•",
          "backup": "⛁", "confirm": "✓", "finding": "!", "plan": "", "warning": "!"}


class PlainReporter:
    """One line per event, timestamped: for CI logs and pipes."""

    def __init__(self, stream=None, verbose: bool = False, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.quiet = quiet

    def emit(self, event: Event) -> None:
        if event.level == "debug" and not self.verbose:
            return
        if self.quiet and event.level in ("info", "debug"):
            return
        stamp = time.strftime("%H:%M:%S")
        prefix = {"error": "ERROR ", "warning": "WARNING "}.get(event.level, "")
        for i, line in enumerate(event.message.split("\n")):
            print(f"{stamp} {prefix}{line}" if i == 0 else f"         {line}", file=self.stream, flush=True)


class RichReporter:
    """Coloured lines on a terminal."""

    def __init__(self, console, verbose: bool = False, quiet: bool = False):
        self.console = console
        self.verbose = verbose
        self.quiet = quiet

    def emit(self, event: Event) -> None:
        if event.level == "debug" and not self.verbose:
            return
        if self.quiet and event.level in ("info", "debug"):
            return
        from rich.text import Text  # noqa: PLC0415

        icon = _ICONS.get(event.kind, "")
        style = _STYLES.get(event.level, "")
        if event.kind == "file_completed":
            style = "green"
        text = Text(f"{icon} " if icon else "", style=style)
        text.append(event.message, style=style)
        self.console.print(text, highlight=False, soft_wrap=True)


def make_reporter(*, json_mode: bool, verbose: bool, quiet: bool, color: bool):
    if sys.stderr.isatty() and color:
        from rich.console import Console  # noqa: PLC0415

        return RichReporter(Console(stderr=True), verbose, quiet)
    return PlainReporter(sys.stderr, verbose, quiet or False)


def dump_json(data) -> str:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)


# --- renderers for results ---------------------------------------------------------

def render_status(result, color: bool) -> str:
    headers = ("version", "name", "state", "applied at", "took", "rollback")
    rows = []
    for s in result.states:
        rows.append((s.version, s.name or "", s.state,
                     s.applied_at.strftime("%Y-%m-%d %H:%M:%S") if s.applied_at else "",
                     f"{s.execution_ms} ms" if s.execution_ms is not None and s.applied_at else "",
                     "yes" if s.has_rollback else "no"))
    counts: dict[str, int] = {}
    for s in result.states:
        counts[s.state] = counts.get(s.state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no migrations"
    footer = f"{result.database} · ledger {result.ledger} · {summary}"
    if color and sys.stdout.isatty():
        return _rich_table(headers, rows, footer)
    return _plain_table(headers, rows) + "\n" + footer


_STATE_STYLE = {"applied": "green", "pending": "cyan", "failed": "bold red", "changed": "bold yellow",
                "missing": "red", "out_of_order": "yellow", "rolled_back": "magenta", "running": "yellow"}


def _rich_table(headers, rows, footer) -> str:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(*headers, caption=footer, show_lines=False)
    for row in rows:
        table.add_row(*[f"[{_STATE_STYLE.get(c, '')}]{c}[/]" if i == 2 and _STATE_STYLE.get(c) else c
                        for i, c in enumerate(row)])
    console = Console()
    with console.capture() as cap:
        console.print(table)
    return cap.get().rstrip("\n")


def _plain_table(headers, rows) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for r in rows:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(lines)


def render_error(err, color: bool) -> str:
    lines = [f"error: {err}"]
    if err.context:
        lines.append(err.context)
    if err.hint:
        lines.extend(f"hint: {h}" if i == 0 else f"      {h}" for i, h in enumerate(err.hint.split("\n")))
    return "\n".join(lines)
