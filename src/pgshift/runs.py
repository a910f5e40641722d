"""What a run plans and records: ledger events, version states, the steps of a plan, and
the results of running them. Frozen dataclasses, like :mod:`pgshift.model` (the values they
are built from), kept apart from it so that a lint does not make them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import STATUS_FAILED

if TYPE_CHECKING:
    import datetime as _dt

    from .model import MigrationFile, ParsedFile


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
