"""The domain's plain data: frozen dataclasses with no behaviour that needs IO.

Everything here is safe to pass between threads and to render as JSON.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

# --- positions -------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """A place in a file; line and col are 1-based (col counts characters)."""
    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        from .text import printable  # noqa: PLC0415

        return f"{printable(self.file)}:{self.line}:{self.col}"


# --- files -----------------------------------------------------------------


@dataclass(frozen=True)
class Directive:
    """A ``-- pgshift:NAME ARGS`` comment on a line of its own."""
    name: str
    args: dict[str, str]
    location: Location
    offset: int  # character index of the comment in the file
    raw: str = ""


@dataclass(frozen=True)
class RollbackFile:
    version: str
    path: Path
    relpath: str
    checksum: str
    text: str | None = field(default=None, repr=False, compare=False)  # read with the checksum, when read


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class MetaCommand:
    """A psql meta-command line (``\\c db``), which is not SQL."""
    command: str      # e.g. "c"
    argument: str     # the rest of the line
    location: Location
    text: str


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class LedgerEvent:
    id: int
    version: str
    name: str | None
    description: str | None
    status: str | None
    migration_type: str | None
    started_at: _dt.datetime | None
    completed_at: _dt.datetime | None
    rolled_back_at: _dt.datetime | None
    checksum: str | None = None
    execution_ms: int | None = None
    applied_by: str | None = None
    client_host: str | None = None
    tool_version: str | None = None
    error: str | None = None
    statements_done: int | None = None
    details: dict | None = None


# Version states, as `status` shows them
APPLIED = "applied"
PENDING = "pending"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
CHANGED = "changed"
MISSING = "missing"
OUT_OF_ORDER = "out_of_order"
RUNNING = "running"


@dataclass(frozen=True)
class VersionState:
    version: str
    name: str | None
    state: str
    file: str | None = None                 # relpath, None when missing
    has_rollback: bool = False
    applied_at: _dt.datetime | None = None
    execution_ms: int | None = None
    recorded_checksum: str | None = None
    file_checksum: str | None = None
    description: str | None = None
    last_event: LedgerEvent | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        """Python values (``applied_at`` a datetime); ``--json`` writes them by the contract
        (docs/json/README.md): the time in ISO 8601, the duration in seconds and, as the ledger
        records it, in whole milliseconds."""
        return {
            "version": self.version,
            "name": self.name,
            "state": self.state,
            "file": self.file,
            "has_rollback": self.has_rollback,
            "applied_at": self.applied_at,
            "execution_seconds": self.execution_ms / 1000 if self.execution_ms is not None else None,
            "execution_ms": self.execution_ms,
            "checksum": self.file_checksum,
            "recorded_checksum": self.recorded_checksum,
            "description": self.description,
            "error": self.error,
        }


# --- plans and results -----------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One file to run."""
    action: str                # "migrate" or "rollback"
    migration: MigrationFile
    parsed: ParsedFile
    mode: str
    resume_from: int = 0       # statements already done by an earlier, interrupted run
    resume_details: dict | None = None

    @property
    def version(self) -> str:
        return self.migration.version

    @property
    def relpath(self) -> str:
        return self.parsed.relpath


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    states: tuple[VersionState, ...]
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.steps


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class StepResult:
    version: str
    name: str
    action: str
    mode: str
    status: str                 # completed / failed / skipped (dry-run)
    execution_ms: int
    statements: int
    resumed_from: int = 0
    retries: int = 0
    rows: int | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        """Every field, and the duration in seconds beside the ledger's milliseconds."""
        return {**self.__dict__, "execution_seconds": self.execution_ms / 1000}


@dataclass(frozen=True)
class RunResult:
    steps: tuple[StepResult, ...]
    dry_run: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(s.status != STATUS_FAILED for s in self.steps)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "dry_run": self.dry_run,
                "steps": [s.to_dict() for s in self.steps], "warnings": list(self.warnings)}
