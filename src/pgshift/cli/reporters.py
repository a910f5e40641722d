"""Reporters: how the events of a run reach a person. Rich on a terminal (coloured lines
and a live progress display), plain timestamped lines in CI and pipes. Events go to
stderr; with ``--json`` the result document alone goes to stdout.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from ..events import Event

_STYLES = {"error": "bold red", "warning": "yellow", "info": "", "debug": "dim"}
_ICONS = {"file_started": "→", "file_completed": "✓", "file_failed": "✗", "retry": "↻", "lock_wait": "…",
          "resume": "↪", "batch_progress": "▸", "index_progress": "▸", "monitor": "◆", "check": "•",
          "backup": "⛁", "confirm": "✓", "finding": "!", "plan": "", "warning": "!"}


class PlainReporter:
    """One line per event, timestamped: for CI logs and pipes. Progress events (batches,
    index builds) come at most every few seconds, as their senders pace them."""

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

    def close(self) -> None:
        pass


class RichReporter:
    """On a terminal: coloured lines, and a live progress display for the run — the
    migrations done and to do, the current file and its elapsed time, a batched change's
    rows and share of the key range, a concurrent index build's phase and percentage."""

    def __init__(self, console, verbose: bool = False, quiet: bool = False):
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self.progress = None
        self.tasks: dict[str, object] = {}
        self._planned: int | None = None   # the run's size, shown once its first file starts

    def _start(self, total: int) -> None:
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=True)
        self.progress.start()
        self.tasks["run"] = self.progress.add_task("migrations", total=total)

    def _bar(self, key: str, description: str, completed: float | None, total: float | None = 100.0) -> None:
        if self.progress is None:
            return
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(description, total=total)
        self.progress.update(self.tasks[key], description=description, completed=completed or 0, total=total)

    def _drop(self, *keys: str) -> None:
        for key in keys:
            if key in self.tasks and self.progress is not None:
                self.progress.remove_task(self.tasks.pop(key))

    def emit(self, event: Event) -> None:
        kind, data = event.kind, event.data
        if kind == "plan" and data.get("steps") and not data.get("dry_run") and self.progress is None:
            # the live display starts with the work, not before: checks, backup and a confirmation
            # prompt come in between, and a spinner redrawing the line would garble the typed word
            self._print(event)
            self._planned = len(data["steps"])
            return
        if kind == "file_started" and self.progress is None and self._planned:
            self._start(self._planned)
            self._planned = None
        if kind == "file_started" and self.progress is not None:
            self.progress.update(self.tasks["run"], description=f"{data.get('action', 'migrate')} {data.get('file')}")
        elif kind in ("file_completed", "file_failed") and self.progress is not None:
            self._drop("batch", "index")
            if kind == "file_completed":
                self.progress.advance(self.tasks["run"])
        elif kind == "batch_progress" and data.get("rows") is not None:
            share = data.get("share")
            self._bar("batch", f"  batches: {data.get('batches', 0)}, rows: {data.get('rows', 0):,}",
                      share * 100 if share is not None else None, 100.0 if share is not None else None)
            if not self.verbose:
                return
        elif kind == "index_progress" and data.get("percent") is not None:
            self._bar("index", f"  index build: {data.get('phase', '')}", float(data["percent"]))
            if not self.verbose:
                return
        elif kind == "run_completed":
            self.close()
        self._print(event)

    def _print(self, event: Event) -> None:
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
        (self.progress.console if self.progress is not None else self.console).print(
            text, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self._planned = None
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self.tasks.clear()

    @contextmanager
    def paused(self):
        """No live display while the user types (a confirmation prompt); it resumes afterwards."""
        live = self.progress
        if live is not None:
            live.stop()
        try:
            yield
        finally:
            if live is not None and self.progress is live:
                live.start()


def make_reporter(*, verbose: bool, quiet: bool, color: bool):
    """The live progress display on a terminal (without colours under --no-color or
    NO_COLOR); plain timestamped lines anywhere else."""
    if sys.stderr.isatty():
        from rich.console import Console  # noqa: PLC0415

        return RichReporter(Console(stderr=True, no_color=not color), verbose, quiet)
    return PlainReporter(sys.stderr, verbose, quiet or False)
