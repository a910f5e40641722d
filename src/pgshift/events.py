"""What a run tells the person watching it: events sent to an injected Reporter.

Execution, safety and the API emit events; ``cli.reporters`` turns them into rich
output on a terminal, plain lines in CI, or JSON lines. Tests pass a
:class:`RecordingReporter`. Nothing here imports a third-party module.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

# kinds of event
PLAN = "plan"
FILE_STARTED = "file_started"
FILE_COMPLETED = "file_completed"
FILE_FAILED = "file_failed"
STATEMENT = "statement"
RESUME = "resume"
WARNING = "warning"
INFO = "info"
LOCK_WAIT = "lock_wait"
RETRY = "retry"
BATCH_PROGRESS = "batch_progress"
INDEX_PROGRESS = "index_progress"
MONITOR = "monitor"
CHECK = "check"
BACKUP = "backup"
CONFIRM = "confirm"
FINDING = "finding"
RUN_COMPLETED = "run_completed"


@dataclass(frozen=True)
class Event:
    kind: str
    message: str
    level: str = "info"          # debug, info, warning, error
    data: dict = field(default_factory=dict)


class Reporter(Protocol):
    """Where a run's events go. ``emit`` is all a reporter must have; pgshift asks for the rest
    with ``getattr`` and a default, so a plain object with ``emit`` is a reporter too."""

    verbose: bool   # whether to send an event per statement (default True)

    def emit(self, event: Event) -> None:
        """Show or keep one event."""

    def paused(self) -> AbstractContextManager:
        """A context in which the reporter draws nothing (a prompt is being answered)."""

    def close(self) -> None:
        """The run is over: stop any live display."""


class RecordingReporter:
    """Keeps every event; for tests and for callers that render later."""

    verbose = True

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        """Keep *event*."""
        self.events.append(event)

    def paused(self) -> AbstractContextManager:
        """Nothing is drawn: nothing to pause."""
        return nullcontext()

    def close(self) -> None:
        """Nothing to stop."""

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def messages(self, kind: str | None = None) -> list[str]:
        return [e.message for e in self.events if kind is None or e.kind == kind]


def emit(reporter: Reporter | None, kind: str, message: str, level: str = "info", **data) -> None:
    if reporter is not None:
        reporter.emit(Event(kind, message, level, data))
