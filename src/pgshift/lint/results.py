"""What a lint is asked and what it answers: :class:`LintOptions`, :class:`LintInput`,
:class:`LintReport`. Kept apart from the engine (which loads the parser) so that a lint whose
files all come from the cache (:mod:`pgshift.lint.cache`) never loads pglast."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pgshift.errors import ConfigError
from pgshift.model import Finding

from ..records import field, record
from .registry import SEVERITIES

if TYPE_CHECKING:
    from pgshift.model import ParsedFile

NEWEST_VERSION = 18     # the newest PostgreSQL major version the rules know


@record(frozen=True)
class LintOptions:
    """How to lint: the target PostgreSQL major version (None: the newest), rules
    switched off, per-rule severity (``"off"`` disables), the ledger's name; the environment
    and the lock_timeout pgshift sets in it (what require-lock-timeout says)."""
    target_version: int | None = None
    disable: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)
    ledger: str = "pgshift.migration_log"
    environment: str | None = None         # the environment linted for (None: not known)
    lock_timeout: float | None = None      # the lock_timeout pgshift sets there (seconds; 0: none; None: not known)


@record(frozen=True)
class LintInput:
    """One file of the run. ``parsed`` when the caller has parsed it already;
    ``has_rollback`` None when unknown (no missing-rollback finding)."""
    relpath: str
    text: str
    has_rollback: bool | None = None
    is_rollback: bool = False
    parsed: ParsedFile | None = None


@record(frozen=True)
class LintReport:
    findings: list[Finding]
    unused_ignores: list[Finding]
    has_errors: bool
    files: int = 0
    statements: int = 0
    target_version: int = NEWEST_VERSION

    def all_findings(self) -> list[Finding]:
        """Findings and unused ignores together, sorted."""
        order = {f: i for i, f in enumerate(self.findings)}
        merged = list(self.findings) + list(self.unused_ignores)
        files = {}
        for f in merged:
            files.setdefault(f.location.file, len(files))
        return sorted(merged, key=lambda f: (files[f.location.file], f.location.line, f.location.col,
                                             order.get(f, 1 << 30), f.rule))

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SEVERITIES}
        for group in (self.findings, self.unused_ignores):
            for f in group:
                out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def to_dict(self) -> dict:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "unused_ignores": [f.to_dict() for f in self.unused_ignores],
            "has_errors": self.has_errors,
            "summary": {**self.counts(), "files": self.files, "statements": self.statements,
                        "target_version": self.target_version},
        }


def target_version(options: LintOptions) -> int:
    """The PostgreSQL major version *options* lint for (the newest when none is given).

    Raises:
        ConfigError: It is no major version (exit 2).
    """
    version = options.target_version or NEWEST_VERSION
    if not isinstance(version, int) or version < 9:
        raise ConfigError(f"lint target_version must be a PostgreSQL major version like 15, not {version!r}")
    return version
