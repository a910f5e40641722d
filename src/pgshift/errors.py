"""The error tree. Each error carries its exit code, a message, a hint (the fix) and,
where there is one, the location in a file. The library raises them; the CLI catches
:class:`PgshiftError` once, prints it (or its ``to_dict()`` with ``--json``) and exits
with its ``exit_code``.

Exit codes (PRODUCT.md section 5), named by :class:`ExitCode`::

    OK       0  success
    FAILED   1  the operation failed (a migration, lint errors, a mismatch found)
    INPUT    2  bad usage, configuration or input files
    REFUSED  3  refused for safety (a preflight check, no confirmation, the lock held)

The tree (class, exit code, when it is raised)::

    PgshiftError               FAILED   the base: what nobody foresaw is still one of these
    ├── OperationError         FAILED   an operation failed: cannot connect, the embedded server
    │   │                               will not start or stop, pg_dump / pg_restore failed,
    │   │                               a batched change that never ends
    │   └── MigrationFailed    FAILED   a statement failed on the server; location points
    │                                   into the file (execution)
    ├── InputError             INPUT    bad arguments to a verb: an unknown version, a bad
    │   │                               migration name, --steps 0, a rollback that cannot run
    │   ├── ConfigError        INPUT    pgshift.toml, an environment, ${VAR}, the URL, the
    │   │                               project folder, the embedded server not running
    │   ├── DiscoveryError     INPUT    a badly named, duplicated, orphaned or unreadable file
    │   ├── SqlSyntaxError     INPUT    a file that does not parse, or a statement that can
    │   │                               never run as written (a NUL byte, a psql meta-command)
    │   ├── DirectiveError     INPUT    a `-- pgshift:` directive unknown, misplaced or with a
    │   │                               bad value
    │   ├── PlanError          INPUT    the files and the ledger disagree: changed or
    │   │                               out-of-order versions
    │   └── (lint.registry.UnknownRule  INPUT  an unknown rule id; also a KeyError)
    └── SafetyRefusal          REFUSED  a failed preflight check in a protected environment,
        │                               no confirmation, lint errors before a protected run,
        │                               versions not yet applied in the environment before
        └── LockHeld           REFUSED  another runner holds the run lock

The command line adds no class: a command line it cannot parse (click's usage errors)
exits INPUT, with the same JSON shape under ``--json``; Ctrl-C at a prompt or during a
run exits ``INTERRUPTED`` (130).
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """How a pgshift process ends; each error class names its own."""

    OK = 0
    FAILED = 1
    INPUT = 2
    REFUSED = 3
    INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C


class PgshiftError(Exception):
    """The base of every error pgshift raises (exit 1 unless a subclass says otherwise)."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None, location: Any = None,
                 context: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location  # a model.Location, or None
        self.context = context    # e.g. the SQL line with a caret under the column
        self.details = details or {}

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: {self.message}"
        return self.message

    def to_dict(self) -> dict:
        """The error object of ``--json`` (docs/json/error.schema.json): every key always there,
        ``location`` as ``FILE:LINE:COL``, ``details`` an object ({} when there is nothing more)."""
        return {
            "error": type(self).__name__,
            "exit_code": int(self.exit_code),
            "message": self.message,
            "location": str(self.location) if self.location is not None else None,
            "hint": self.hint,
            "context": self.context,
            "details": dict(self.details),
        }


class OperationError(PgshiftError):
    """An operation failed: a migration, a rollback, a backup (exit 1)."""
    exit_code = ExitCode.FAILED


class MigrationFailed(OperationError):
    """A statement failed on the server; location points into the file."""


class InputError(PgshiftError):
    """Bad usage, configuration or input files (exit 2)."""
    exit_code = ExitCode.INPUT


class ConfigError(InputError):
    pass


class DiscoveryError(InputError):
    """A badly named, duplicated or orphaned file."""


class SqlSyntaxError(InputError):
    """A file that does not parse, or a statement that can never run as written."""


class DirectiveError(InputError):
    pass


class PlanError(InputError):
    """The files and the ledger disagree: changed or out-of-order versions."""


class SafetyRefusal(PgshiftError):
    """Refused for safety: a failed preflight check, no confirmation (exit 3)."""
    exit_code = ExitCode.REFUSED


class LockHeld(SafetyRefusal):
    """Another runner holds the run lock."""
