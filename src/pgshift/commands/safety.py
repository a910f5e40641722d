"""``check``, ``backup`` and ``restore``: production safety as commands of their own.

Each takes an opened project (``api.open_project``) and returns a result with
``to_dict()`` for ``--json``. The CLI maps ``CheckReport.ok == False`` to exit 3.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import mask_dsn
from ..errors import OperationError
from ..events import CHECK, Reporter, emit
from ..project import Project
from ..safety import backup as backup_mod
from ..safety import preflight

BackupResult = backup_mod.BackupResult
RestoreResult = backup_mod.RestoreResult


# --- check ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckReport:
    """The preflight checks' results; ``ok`` is False when one failed."""
    environment: str
    database: str              # masked
    checks: tuple

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def failed(self) -> list:
        return [c for c in self.checks if c.failed]

    def to_dict(self) -> dict:
        """``--json``: ok, the failed checks' names, and every check."""
        return {"ok": self.ok, "environment": self.environment, "database": self.database,
                "failed": [c.name for c in self.failed], "checks": [c.to_dict() for c in self.checks]}

    def render(self) -> str:
        """The plain-text table the CLI prints (so the CLI need not import this module)."""
        return render_check(self)


def check(project: Project) -> CheckReport:
    """Run the environment's preflight checks alone (what a protected ``up`` checks first).

    Never raises for a failed check: see the report's ``.ok`` and ``.failed``. A database
    that cannot be reached is a failed ``connection`` check.

    Args:
        project: An opened project.

    Returns:
        A ``CheckReport``: the environment, the database (without its password) and each
        check (name, status ``ok``/``warn``/``fail``/``skip``, message).

    Raises:
        ConfigError: The environment's ``checks`` settings are invalid (exit 2).
    """
    from .. import db  # noqa: PLC0415

    url = project.url()
    masked = mask_dsn(url) if url else "the server named by the PG* variables"
    preflight.validate(project.env)
    try:
        conn = db.connect(url, application_name="pgshift-check")
    except OperationError as exc:
        result = preflight.CheckResult("connection", preflight.FAIL, None, None, exc.message)
        emit(project.reporter, CHECK, f"FAIL {result.line()}", level="error", check=result.to_dict())
        return CheckReport(project.env.name, masked, (result,))
    with conn:
        if not url:
            masked = db.libpq_target(conn)
        results = preflight.run_checks(conn, project.env, project.backup_dir, backup=True)
    return CheckReport(project.env.name, masked, tuple(results))


def render_check(report: CheckReport) -> str:
    """The preflight checks as the plain-text table ``pgshift check`` prints.

    Args:
        report: What :func:`check` returned.

    Returns:
        One line per check, then a verdict line (``all checks pass`` or ``FAILED: ...``).
    """
    width = max((len(c.name) for c in report.checks), default=10)
    lines = []
    for c in report.checks:
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}.get(c.status, c.status)
        text = c.message.replace("\n", "\n" + " " * (width + 8))
        lines.append(f"{mark}  {c.name.ljust(width)}  {text}")
    counts = {s: sum(1 for c in report.checks if c.status == s) for s in ("ok", "warn", "fail", "skip")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    verdict = "all checks pass" if report.ok else "FAILED: " + ", ".join(c.name for c in report.failed)
    lines.append(f"{report.environment} ({report.database}): {summary} — {verdict}")
    return "\n".join(lines)


# --- backup, restore ---------------------------------------------------------------------------

def backup(project: Project, out: str | Path | None = None) -> BackupResult:
    """Back up the project's database with ``pg_dump`` (custom format), with a checksum beside it.

    Args:
        project: An opened project.
        out: The file to write (never overwritten); default the environment's ``backup_dir``,
            as ``<env>_<stamp>_manual.dump``, with the environment's retention applied.

    Returns:
        A ``BackupResult``: path, sha256, size, seconds, entries, the pg_dump used, the database.

    Raises:
        InputError: *out* exists already (exit 2).
        OperationError: ``pg_dump`` is missing or failed, or the dump cannot be read back.
    """
    url = project.url()
    if out is not None:
        return backup_mod.take(url, Path(out), reporter=project.reporter, stall=project.env.effective_stall_timeout)
    folder = project.backup_dir
    path = backup_mod.new_backup_path(folder, project.env.name, "manual")
    result = backup_mod.take(url, path, reporter=project.reporter, stall=project.env.effective_stall_timeout)
    backup_mod.apply_retention(folder, project.env.name, project.env.backup_retention, project.reporter)
    return result


def restore(file: str | Path, database_url: str, project: Project | None = None, no_owner: bool = False,
            reporter: Reporter | None = None) -> RestoreResult:
    """Restore a backup into a database, in one transaction.

    The checksum beside the file (written by :func:`backup`) is verified first.

    Args:
        file: The backup: a ``pg_dump`` custom-format file or plain SQL (``.sql``, ``.sql.gz``).
        database_url: The database to restore into; it must exist, and is best empty.
        project: Only its reporter is used; may be None.
        no_owner: Do not restore the objects' owners (``pg_restore --no-owner``).
        reporter: Where events go, when *project* is None.

    Returns:
        A ``RestoreResult``: path, database, format, checksum (``verified`` or ``missing``),
        seconds, entries.

    Raises:
        InputError: The file does not exist (exit 2).
        OperationError: The checksum does not match, or the restore failed (nothing of it stays).
    """
    if reporter is None and project is not None:
        reporter = project.reporter
    stall = project.env.effective_stall_timeout if project is not None and project.env is not None else None
    return backup_mod.restore_file(Path(file), database_url, reporter=reporter, no_owner=no_owner, stall=stall)
