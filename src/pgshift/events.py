"""What a run tells the person watching it: events sent to an injected Reporter.

Execution, safety and the API emit events; ``reporting`` turns them into rich
output on a terminal, plain lines in CI, or JSON lines. Tests pass a
:class:`RecordingReporter`. Nothing here imports a third-party module.
"""
from __future__ import annotations

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
    def emit(self, event: Event) -> None: ...


class NullReporter:
    def emit(self, event: Event) -> None:  # pragma: no cover - nothing to do
        pass


class RecordingReporter:
    """Keeps every event; for tests and for callers that render later."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def messages(self, kind: str | None = None) -> list[str]:
        return [e.message for e in self.events if kind is None or e.kind == kind]


def emit(reporter: Reporter | None, kind: str, message: str, level: str = "info", **data) -> None:
    if reporter is not None:
        reporter.emit(Event(kind, message, level, data))
