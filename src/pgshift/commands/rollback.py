"""``rollback`` and ``down``: run versions' rollback files, newest first, each with its ledger event."""
from __future__ import annotations

from dataclasses import dataclass

from ..db import watch_paused
from ..errors import InputError
from ..events import INFO, PLAN, emit
from ..model import APPLIED, CHANGED, Location
from ..project import Project
from ..runs import Plan, RunResult, Step
from ..safety import confirm as confirm_mod
from ._common import (
    Confirm,
    check_environment,
    exec_options,
    files,
    maybe_run_lock,
    parse,
    record_environment,
    run_plan,
)


@dataclass(frozen=True)
class RollbackOptions:
    """What ``rollback`` and ``down`` are asked to do: their flags. None means the environment's setting.

    Attributes:
        yes: Confirm without a prompt. A rollback is always confirmed (it may lose data): with
            neither ``yes`` nor a ``confirm`` callback the verb refuses.
        dry_run: Plan and parse, and change nothing (the result's ``run`` is None).
        lock_timeout: ``lock_timeout`` of every statement, in seconds (0: none).
        statement_timeout: ``statement_timeout`` of every statement, in seconds (0: none).
        lock_wait: Seconds to wait for another runner's run lock.
        no_backup: Skip the emergency backup a protected environment takes first.
        monitor: Report locks and blockers from the start of the run.
        blocker_wait: Seconds a statement waits for a visible session that blocks its lock
            before giving up, instead of queueing behind it (0: attempt at once).
    """
    yes: bool = False
    dry_run: bool = False
    lock_timeout: float | None = None
    statement_timeout: float | None = None
    lock_wait: float = 60.0
    no_backup: bool = False
    monitor: bool = False
    blocker_wait: float | None = None    # None: the environment's (look before you queue; 0: attempt at once)


@dataclass(frozen=True)
class RollbackResult:
    """What ``rollback`` or ``down`` did.

    Attributes:
        steps: The rollback files to run, newest first (each a :class:`pgshift.model.Step`).
        run: What ran (one :class:`pgshift.model.StepResult` per file); None for a dry run.
        later_applied: Versions newer than those rolled back that stay applied (they may
            depend on what was rolled back).
        safety: Protected environments: the preflight checks and the emergency backup; else None.
    """
    steps: tuple[Step, ...]
    run: RunResult | None
    later_applied: tuple[str, ...] = ()
    safety: dict | None = None      # protected environments: preflight checks and the emergency backup

    def to_dict(self) -> dict:
        """``--json``: the plan, later versions left applied, the gate and the result."""
        out = {"dry_run": self.run is None,
               "plan": [{"version": s.version, "name": s.migration.name, "file": s.relpath, "mode": s.mode,
                         "statements": len(s.parsed.statements)} for s in self.steps],
               "later_applied": list(self.later_applied)}
        if self.safety is not None:
            out["safety"] = self.safety
        if self.run is not None:
            out["result"] = self.run.to_dict()
        return out


def rollback(project: Project, version: str, options: RollbackOptions = RollbackOptions(),
             confirm: Confirm | None = None) -> RollbackResult:
    """Run one version's rollback file, with its ``rollback`` event in the ledger.

    Args:
        project: An opened project.
        version: The applied version to roll back (newer versions stay applied; the result's
            ``later_applied`` names them).
        options: The flags (:class:`RollbackOptions`); pass ``yes=True`` or a *confirm*.
        confirm: Asked before anything changes: ``confirm(prompt, "ROLLBACK")`` returns True
            to go on.

    Returns:
        A :class:`RollbackResult`.

    Raises:
        InputError: The version is unknown, not applied, has no rollback file, or its rollback
            file holds no statement (exit 2); nothing was run.
        SafetyRefusal: Not confirmed, or a protected environment's check failed (exit 3).
        LockHeld: Another runner holds the run lock (exit 3).
        MigrationFailed: A statement of the rollback failed (exit 1).
        OperationError: The database cannot be reached, or another operation failed (exit 1).
    """
    return _roll_back(project, lambda applied: _one_version(version, applied), options, confirm)


def down(project: Project, steps: int | None = None, to: str | None = None,
         options: RollbackOptions = RollbackOptions(), confirm: Confirm | None = None) -> RollbackResult:
    """Roll back the newest applied versions, newest first: *steps* of them, or all newer than *to*.

    Args:
        project: An opened project.
        steps: How many of the newest applied versions to roll back (1 or more).
        to: Roll back every applied version newer than this one (it stays applied).
        options: The flags (:class:`RollbackOptions`); pass ``yes=True`` or a *confirm*.
        confirm: Asked before anything changes: ``confirm(prompt, "ROLLBACK")`` returns True
            to go on.

    Returns:
        A :class:`RollbackResult` (no steps when nothing was to roll back).

    Raises:
        InputError: Neither or both of *steps* and *to*; *steps* below 1; *to* not applied; a
            version without a rollback file or with an empty one (exit 2); nothing was run.
        SafetyRefusal: Not confirmed, or a protected environment's check failed (exit 3).
        LockHeld: Another runner holds the run lock (exit 3).
        MigrationFailed: A statement of a rollback failed; the rollbacks before it stay done.
        OperationError: The database cannot be reached, or another operation failed (exit 1).
    """
    if (steps is None) == (to is None):
        raise InputError("say how far to go down: --steps N or --to VERSION (one of them)")
    if steps is not None and steps < 1:
        raise InputError("--steps must be 1 or more")

    def choose(applied: list[str]) -> list[str]:
        newest_first = sorted(applied, reverse=True)
        if steps is not None:
            return newest_first[:steps]
        if to not in applied:
            raise InputError(f"--to {to}: that version is not applied",
                             hint="`pgshift status` lists the applied versions")
        return [v for v in newest_first if v > to]

    return _roll_back(project, choose, options, confirm)


def _one_version(version: str, applied: list[str]) -> list[str]:
    return [version]


def _roll_back(project: Project, choose, options: RollbackOptions, confirm: Confirm | None) -> RollbackResult:
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..planning import version_states  # noqa: PLC0415

    found = files(project)
    by_version = {m.version: m for m in found}
    with project.connected() as conn:
        database = project.database_name(conn)
        with maybe_run_lock(project, conn, options.lock_wait, options.dry_run, options.lock_timeout):
            check_environment(project, conn)
            events = ledger_mod.read(conn, project.ledger)
            states = {s.version: s for s in version_states(found, events)}
            applied = [v for v, s in states.items() if s.state in (APPLIED, CHANGED)]
            versions = choose(applied)
            problems = []
            for v in versions:
                state = states.get(v)
                if state is None or v not in by_version:
                    problems.append(f"{v}: no migration has this version")
                elif state.state not in (APPLIED, CHANGED):
                    problems.append(f"{v} ({state.name}): not applied (state: {state.state}), nothing to roll back")
                elif by_version[v].rollback is None:
                    problems.append(f"{v} ({state.name}): has no rollback file "
                                    f"(expected migrations/rollbacks/{v}_rollback_{state.name}.sql)")
            if problems:
                raise InputError("cannot roll back:\n" + "\n".join(f"  {p}" for p in problems),
                                 hint="`pgshift status` shows each version's state and whether it has a rollback")
            if not versions:
                emit(project.reporter, INFO, "nothing to roll back")
                return RollbackResult((), None if options.dry_run else RunResult(()))
            steps = []
            for v in versions:
                m = by_version[v]
                parsed = parse(m, database, rollback=True)
                resume_from, details = _resume_point(states[v].last_event, parsed, project)
                steps.append(Step("rollback", m, parsed, parsed.mode, resume_from, details))
            _refuse_empty_rollbacks(steps)
            chosen = set(versions)
            later = tuple(v for v in sorted(applied) if v > min(versions) and v not in chosen)
            lines = [f"  {s.version}  {s.migration.name}  [{s.relpath}: {s.mode}, {len(s.parsed.statements)} "
                     f"statements]" for s in steps]
            summary = f"{len(steps)} rollback(s) to run, newest first:\n" + "\n".join(lines)
            if later:
                summary += ("\nthese later versions stay applied and may depend on what is rolled back: "
                            + ", ".join(later))
            emit(project.reporter, PLAN, summary, steps=versions, dry_run=options.dry_run, later_applied=list(later))
            if options.dry_run:
                return RollbackResult(tuple(steps), None, later)
            safety = None
            if project.env.protected:
                from ..safety import gate  # noqa: PLC0415

                with watch_paused(conn):    # pg_dump works: the connection idles
                    safety = gate.before_rollback(project, conn, steps, options,
                                                  can_confirm=options.yes or confirm is not None).to_dict()
            what = "roll back " + ", ".join(versions) + (" (DATA MAY BE LOST)" if steps else "")
            if later:
                what += f"; later versions {', '.join(later)} stay applied"
            with watch_paused(conn):        # a person types the word
                confirm_mod.require(project, what, "ROLLBACK", options.yes, confirm)
            ledger_mod.ensure(conn, project.ledger, project.reporter)
            record_environment(project, conn)
            from .schema import fingerprints, keep_dump  # noqa: PLC0415

            hook = fingerprints(project, conn, steps)
            try:
                run = run_plan(project, conn, Plan(tuple(steps), ()),
                               exec_options(project, options.lock_timeout, options.statement_timeout,
                                            blocker_wait=options.blocker_wait), safety,
                               monitor=options.monitor, after_step=hook)
            finally:
                hook.flush()   # a run that stopped early: the schema after its last completed version
            keep_dump(project, conn)
            return RollbackResult(tuple(steps), run, later, safety)


def _resume_point(event, parsed, project: Project) -> tuple[int, dict | None]:
    """Where an interrupted rollback of a stepwise file resumes: after the statements its event
    recorded as done, when they are still the ones in the rollback file (their fingerprint);
    from the first statement otherwise (a transactional file is undone whole by its ROLLBACK)."""
    from .. import resume  # noqa: PLC0415
    from ..model import TX_FILE  # noqa: PLC0415

    done = (event.statements_done or 0) if event is not None else 0
    if (event is None or (event.migration_type or "") != "rollback" or (event.status or "running") not in
            ("running", "failed") or done <= 0 or parsed.mode == TX_FILE or done > len(parsed.statements)):
        return 0, None
    recorded = (event.details or {}).get(resume.FINGERPRINT) if isinstance(event.details, dict) else None
    if resume.first_changed(recorded, parsed.statements, done) is not None:
        emit(project.reporter, INFO, f"{parsed.relpath}: an interrupted rollback ran {done} statement(s) of an "
                                     "earlier text of this file: it runs again from its first statement")
        return 0, None
    return done, event.details


def _refuse_empty_rollbacks(steps: list[Step]) -> None:
    """A rollback file without a statement (the stub `pgshift new` writes, never filled in) would
    be recorded as a rollback that undid nothing: refused, before anything runs."""
    empty = [s for s in steps if not s.parsed.statements]
    if not empty:
        return
    what = ("rollback file has no SQL statement, only comments or blank lines: rolling back "
            f"{empty[0].version} ({empty[0].migration.name}) would undo nothing and record it as rolled back")
    if len(empty) > 1:
        what = (f"{len(empty)} rollback files have no SQL statement, only comments or blank lines: rolling back "
                "would undo nothing and record the versions as rolled back:\n"
                + "\n".join(f"  {Location(s.relpath, 1, 1)}: {s.version} ({s.migration.name})" for s in empty))
    raise InputError(
        what, location=Location(empty[0].relpath, 1, 1),
        hint="write the statements that undo the migration in the rollback file; if the version cannot be rolled "
             "back, delete its rollback file (pgshift then says it has none)",
        details={"empty_rollbacks": [s.version for s in empty]})

