"""The gate in front of a protected environment: preflight checks, then the backup.

The API calls :func:`before_apply` (``up``) or :func:`before_rollback` (``rollback``,
``down``) once the plan is known and before it asks for confirmation, so the order is
the issue's: checks, backup, confirmation, the work under the monitor.

- A failed check stops the run with :class:`SafetyRefusal` (exit 3) naming it.
- When confirmation is impossible (no ``--yes`` and nobody to ask), the run stops
  *before* the backup: a refused run leaves no backup, half-written or whole.
- The backup (``pre_migration``, or ``emergency_rollback_<versions>`` for a rollback,
  as the guide's emergency script takes) unless ``--no-backup``. A failed backup
  stops the run (exit 1) and leaves no file.
Every step is an event (CHECK, BACKUP) and is in the returned :class:`GateResult`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from ..config import mask_dsn
from ..errors import SafetyRefusal
from ..events import BACKUP, CHECK, WARNING, emit
from ..project import Project
from ..runs import Plan, Step
from . import backup as backup_mod
from . import preflight


@dataclass(frozen=True)
class GateResult:
    environment: str
    checks: tuple
    backup: object = None          # backup.BackupResult, or None
    backup_skipped: str | None = None

    def to_dict(self) -> dict:
        return {"environment": self.environment, "checks": [c.to_dict() for c in self.checks],
                "backup": self.backup.to_dict() if self.backup is not None else None,
                "backup_skipped": self.backup_skipped}


def before_apply(project: Project, conn, plan: Plan, options, can_confirm: bool | None = None) -> GateResult:
    """Checks and pre-migration backup before ``up`` in a protected environment.

    *can_confirm*: whether the confirmation that follows can succeed (``--yes`` or a
    confirm callback); ``None`` guesses it as the CLI decides (``--yes`` or a terminal).
    """
    env = project.env
    action = f"apply {len(plan.steps)} migration(s) to {env.name}"
    return _gate(project, conn, options, action, "pre_migration", None, "pre-migration backup", can_confirm)


def before_rollback(project: Project, conn, steps: list[Step], options,
                    can_confirm: bool | None = None) -> GateResult:
    """Checks and the emergency backup before a rollback in a protected environment.

    *steps*: the rollback Steps (or the version strings), newest first.
    """
    if isinstance(steps, str):
        steps = [steps]
    versions = [s if isinstance(s, str) else s.version for s in steps]
    action = f"roll back {', '.join(versions)} in {project.env.name}"
    return _gate(project, conn, options, action, "emergency_rollback", "-".join(versions), "emergency backup",
                 can_confirm)


def _gate(project: Project, conn, options, action: str, kind: str, version: str | None, label: str,
          can_confirm: bool | None) -> GateResult:
    env = project.env
    reporter = project.reporter
    no_backup = bool(getattr(options, "no_backup", False))
    yes = bool(getattr(options, "yes", False))
    folder = project.backup_dir

    emit(reporter, CHECK, f"preflight checks for protected environment {env.name!r} "
                          f"({mask_dsn(project.connection.url) if project.connection.url else 'PG* variables'})",
         step="started", environment=env.name)
    results = preflight.run_checks(conn, env, folder, backup=not no_backup)
    for r in results:
        emit(reporter, CHECK, f"{_mark(r.status)} {r.line()}",
             level={"fail": "error", "warn": "warning"}.get(r.status, "info"), check=r.to_dict())
    failed = [r for r in results if r.failed]
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "warn", "fail", "skip")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if failed:
        names = ", ".join(r.name for r in failed)
        emit(reporter, CHECK, f"preflight: {summary}: stopped by {names}", level="error", step="failed",
             failed=[r.name for r in failed])
        first = failed[0]
        raise SafetyRefusal(
            f"preflight check failed in protected environment {env.name!r}: {names}\n{first.line()}",
            hint="nothing was changed. Fix what the check names and run again; thresholds are set per "
                 f"environment in [env.{env.name}] checks = {{ ... }}",
            details={"failed": [r.name for r in failed], "checks": [r.to_dict() for r in results]})
    emit(reporter, CHECK, f"preflight: {summary}", step="passed")

    if can_confirm is None:
        can_confirm = yes or _stdin_is_terminal()
    if not can_confirm:
        raise SafetyRefusal(
            f"refusing to {action} without confirmation: there is no terminal to ask on and --yes was not given",
            hint="run it on a terminal and type the word asked for, or pass --yes; nothing was changed "
                 "and no backup was taken",
            details={"checks": [r.to_dict() for r in results]})

    if no_backup:
        emit(reporter, WARNING, f"no {label}: --no-backup was given", level="warning")
        return GateResult(env.name, tuple(results), None, "--no-backup")
    path = backup_mod.new_backup_path(folder, env.name, kind, version)
    result = backup_mod.take(project.url(), path, reporter=reporter,
                             server_major=conn.info.server_version // 10000, label=label,
                             stall=env.effective_stall_timeout)
    backup_mod.apply_retention(folder, env.name, env.backup_retention, reporter)
    emit(reporter, BACKUP, f"if you need to go back: pgshift restore {result.path} --database-url URL",
         level="info", step="hint")
    return GateResult(env.name, tuple(results), result, None)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _mark(status: str) -> str:
    return {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}.get(status, status)
