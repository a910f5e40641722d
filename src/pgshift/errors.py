"""The error tree. Each error carries its exit code, a message, a hint (the fix) and,
where there is one, the location in a file. The CLI catches :class:`PgshiftError`
once and prints it; the library raises it.

Exit codes (PRODUCT.md section 5): 0 success; 1 the operation failed; 2 bad usage,
configuration or input files; 3 refused for safety.
"""
from __future__ import annotations

from typing import Any


class PgshiftError(Exception):
    exit_code = 1

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
        return {
            "error": type(self).__name__,
            "exit_code": self.exit_code,
            "message": self.message,
            "location": str(self.location) if self.location is not None else None,
            "hint": self.hint,
            "context": self.context,
            **({"details": self.details} if self.details else {}),
        }


class OperationError(PgshiftError):
    """An operation failed: a migration, a rollback, a backup (exit 1)."""
    exit_code = 1


class MigrationFailed(OperationError):
    """A statement failed on the server; location points into the file."""


class MismatchError(OperationError):
    """verify / test found a difference (exit 1)."""


class InputError(PgshiftError):
    """Bad usage, configuration or input files (exit 2)."""
    exit_code = 2


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
    exit_code = 3


class LockHeld(SafetyRefusal):
    """Another runner holds the run lock."""
