"""The domain's plain data: frozen dataclasses with no behaviour that needs IO.

Everything here is safe to pass between threads and to render as JSON. These are the
values a lint needs too (files, statements, findings) and the ledger's words; what a run
plans and records (ledger events, version states, steps, plans, results) is in
:mod:`pgshift.runs`, which a lint never loads (each dataclass costs half a millisecond to
make, and ``pgshift lint`` is mostly start-up).
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from .records import field, record

# --- positions -------------------------------------------------------------


@record(frozen=True)
class Location:
    """A place in a file; line and col are 1-based (col counts characters)."""
    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        from .text import printable  # noqa: PLC0415

        return f"{printable(self.file)}:{self.line}:{self.col}"


# --- files -----------------------------------------------------------------


@record(frozen=True)
class Directive:
    """A ``-- pgshift:NAME ARGS`` comment on a line of its own."""
    name: str
    args: dict[str, str]
    location: Location
    offset: int  # character index of the comment in the file
    raw: str = ""


@record(frozen=True)
class RollbackFile:
    version: str
    path: Path
    relpath: str
    checksum: str
    text: str | None = field(default=None, repr=False, compare=False)  # read with the checksum, when read


@record(frozen=True)
class MigrationFile:
    version: str
    name: str
    abspath: str          # the file's absolute path (a string: cheap for 10,000 files; see .path)
    relpath: str          # as shown to people: relative to the project
    checksum: str         # SHA-256 of the bytes with line endings normalised
    description: str | None = None
    author: str | None = None
    date: str | None = None
    rollback: RollbackFile | None = None
    text: str | None = field(default=None, repr=False, compare=False)  # read with the checksum, when read

    @cached_property
    def path(self) -> Path:
        return Path(self.abspath)


# Transaction modes of a file (how execution runs it)
TX_FILE = "transaction"        # one transaction around the file and its ledger event
TX_NONE = "no-transaction"     # statement by statement, autocommit
TX_OWN = "own-transaction"     # the file has its own BEGIN/COMMIT: run as written
TX_BATCHED = "batched"         # contains a batched data change: each statement its own tx


@record(frozen=True)
class Statement:
    index: int                 # 0-based position in the file
    sql: str                   # the statement's text, as in the file, without the ';'
    offset: int                # character index of its first token in the file
    location: Location
    kind: str                  # the parse node's type, e.g. "CreateStmt"
    tx_control: str | None = None        # "begin", "commit", "rollback", "savepoint", ... or None
    non_transactional: str | None = None  # why PostgreSQL refuses it in a transaction, or None
    directives: tuple[Directive, ...] = ()
    node: Any = field(default=None, compare=False, repr=False)  # the pglast node (opaque)

    def directive(self, name: str) -> Directive | None:
        for d in self.directives:
            if d.name == name:
                return d
        return None


@record(frozen=True)
class MetaCommand:
    """A psql meta-command line (``\\c db``), which is not SQL."""
    command: str      # e.g. "c"
    argument: str     # the rest of the line
    location: Location
    text: str


@record(frozen=True)
class ParsedFile:
    """A file split into statements; ``mode`` says how it must run."""
    relpath: str
    text: str
    statements: tuple[Statement, ...]
    directives: tuple[Directive, ...]       # all of them, file-level ones included
    file_directives: tuple[Directive, ...]  # those standing before the first statement
    meta_commands: tuple[MetaCommand, ...]
    mode: str
    mode_reason: str

    def file_directive(self, name: str) -> Directive | None:
        for d in self.file_directives:
            if d.name == name:
                return d
        return None


# --- the ledger ------------------------------------------------------------

STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_ROLLED_BACK = "rolled_back"

TYPE_MIGRATE = "migrate"
TYPE_ROLLBACK = "rollback"
TYPE_BASELINE = "baseline"
TYPE_REPAIR = "repair"          # an audit row of `pgshift repair`: no version's state comes from it


# Version states, as `status` shows them
APPLIED = "applied"
PENDING = "pending"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
CHANGED = "changed"
MISSING = "missing"
OUT_OF_ORDER = "out_of_order"
RUNNING = "running"


# --- lint --------------------------------------------------------------------

@record(frozen=True)
class Finding:
    """A lint finding: returned, never raised."""
    rule: str
    severity: str      # "error", "warning", "info"
    location: Location
    message: str
    hint: str | None = None

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "message": self.message,
            "hint": self.hint,
        }
