"""``up`` and ``baseline``: apply the pending migrations; record versions as applied without running them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..db import watch_paused
from ..errors import InputError, SafetyRefusal
from ..events import INFO, PLAN, WARNING, emit
from ..model import APPLIED, CHANGED
from ..project import Project
from ..runs import Plan, RunResult
from ..safety import confirm as confirm_mod
from ._common import (
    Confirm,
    check_environment,
    exec_options,
    files,
    maybe_run_lock,
    parse,
    record_environment,
    run_lock,
    run_plan,
)


@dataclass(frozen=True)
class UpOptions:
    """What ``up`` is asked to do: ``pgshift up``'s flags. None means the environment's setting.

    Attributes:
        target: Apply up to and including this version; None: every pending one.
        dry_run: Plan, parse and lint, and change nothing (the result's ``run`` is None).
        out_of_order: Also apply pending versions older than the newest applied one.
        allow_changed: Go on although applied files changed since they were applied.
        lock_timeout: ``lock_timeout`` of every statement, in seconds (0: none).
        statement_timeout: ``statement_timeout`` of every statement, in seconds (0: none).
        lock_wait: Seconds to wait for another runner's run lock.
        yes: Confirm without a prompt (protected environments).
        force: Apply despite lint errors in a protected environment.
        no_backup: Skip the backup a protected environment takes first.
        monitor: Report locks and blockers from the start of the run.
        lock_retries: Attempts in all (the first included) of a statement that times out on a lock.
        blocker_wait: Seconds a statement waits for a visible session that blocks its lock
            before giving up, instead of queueing behind it (0: attempt at once).
        parse_all: Also parse the pending files after ``target`` (a syntax error anywhere
            stops the run); False parses only the files it applies.
        allow_drift: In a protected environment, apply although the schema differs from what
            the last version left (``pgshift drift``); without it such a run is refused (exit 3).
        plan: A plan file (``pgshift plan --format json --out FILE``): apply up to its last
            version, and only when the files and the target's schema are still the plan's
            (refused, naming what changed, otherwise: exit 3). Required where the environment
            has ``require_plan = true``.
    """
    target: str | None = None
    dry_run: bool = False
    out_of_order: bool = False
    allow_changed: bool = False
    lock_timeout: float | None = None    # None: the environment's
    statement_timeout: float | None = None
    lock_wait: float = 60.0
    yes: bool = False
    force: bool = False
    no_backup: bool = False
    monitor: bool = False
    lock_retries: int | None = None
    blocker_wait: float | None = None    # None: the environment's (look before you queue; 0: attempt at once)
    parse_all: bool = True               # also the pending files after --target (off: only those it applies)
    allow_drift: bool = False            # a protected environment applies although the schema drifted
    plan: str | None = None              # a plan file (pgshift plan --format json): apply exactly it (issue 13)


@dataclass(frozen=True)
class UpResult:
    """What ``up`` did: the plan, what ran, lint's findings and the protected gate's record.

    Attributes:
        plan: The plan: ``steps`` (one per file to run, each with its ``migration``, ``parsed``
            file and transaction ``mode``), every version's ``states``, and ``warnings``.
        run: What ran: ``steps`` (one :class:`pgshift.model.StepResult` per file: status,
            duration, statements, retries, rows, error) and ``ok``; None for a dry run.
        findings: Lint's findings on the files it applied (:class:`pgshift.model.Finding`).
        database: The database migrated, without its password.
        safety: Protected environments: the preflight checks and the backup taken; else None.
        batches: For a dry run: each batched version's batches, described.
    """
    plan: Plan
    run: RunResult | None
    findings: tuple = ()
    database: str = ""
    safety: dict | None = None      # protected environments: preflight checks and the backup
    batches: dict = field(default_factory=dict)   # dry run: version -> batching.describe_batches lines

    def to_dict(self) -> dict:
        """``--json``: the plan's steps, warnings, findings, the gate and the result."""
        steps = [{"version": s.version, "name": s.migration.name, "file": s.relpath, "mode": s.mode,
                  "mode_reason": s.parsed.mode_reason, "statements": len(s.parsed.statements),
                  "resume_from": s.resume_from, "batches": self.batches.get(s.version, [])}
                 for s in self.plan.steps]
        out = {"database": self.database, "dry_run": self.run is None, "plan": steps,
               "warnings": list(self.plan.warnings), "findings": [f.to_dict() for f in self.findings]}
        if self.safety is not None:
            out["safety"] = self.safety
        if self.run is not None:
            out["result"] = self.run.to_dict()
        return out


def up(project: Project, options: UpOptions = UpOptions(), confirm: Confirm | None = None) -> UpResult:
    """Apply the pending migrations in version order (up to ``options.target``).

    Read-only until every pending file has been read, split and parsed, and lint has run: a
    syntax error anywhere stops the run before anything changes. Protected environments pass
    the gate (promotion path, preflight, backup, confirmation) before the ledger is touched.
    Each file runs with its ledger event; a failure stops the run, and the files before it stay
    applied.

    Args:
        project: An opened project (:func:`pgshift.api.open_project`).
        options: The flags (:class:`UpOptions`); the default applies every pending version.
        confirm: Asked before a protected environment is changed: ``confirm(prompt, word)``
            returns True to go on. None: only ``options.yes`` confirms.

    Returns:
        An :class:`UpResult` (``run.steps`` empty when nothing was pending).

    Raises:
        DiscoveryError: A file is badly named, duplicated, orphaned or unreadable (exit 2).
        SqlSyntaxError: A pending file does not parse (exit 2); nothing was run.
        PlanError: An applied file changed, or a pending version is older than an applied one,
            without ``allow_changed`` / ``out_of_order`` (exit 2).
        SafetyRefusal: The protected gate refused: a preflight check, lint errors, no
            confirmation, versions not yet applied where ``require_applied_in`` says (exit 3).
        LockHeld: Another runner holds the run lock (exit 3).
        MigrationFailed: A statement failed; its location points into the file (exit 1).
        OperationError: The database cannot be reached, or another operation failed (exit 1).
    """
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..planning import PlanOptions, build_plan, pending_versions, version_states  # noqa: PLC0415
    from ..sql import fast_trees  # noqa: PLC0415
    from .lint import lint_pending, report_findings  # noqa: PLC0415

    if options.plan is not None or (project.env.require_plan and not options.dry_run):
        from .plan import check_plan  # noqa: PLC0415

        options = replace(options, target=check_plan(project, options.plan))
    found = files(project)
    plan_options = PlanOptions(options.target, options.out_of_order, options.allow_changed)
    with project.connected(start=not options.dry_run) as conn:   # a dry run never starts the embedded server
        database = project.database_name(conn)
        with maybe_run_lock(project, conn, options.lock_wait, options.dry_run, options.lock_timeout):
            check_environment(project, conn)
            events = ledger_mod.read(conn, project.ledger)
            states = version_states(found, events)
            chosen = pending_versions(states, plan_options)  # changed or out-of-order versions stop it here
            # every pending file, those after --target too: a syntax error anywhere stops everything
            to_parse = (pending_versions(states, replace(plan_options, target=None, out_of_order=True))
                        if options.parse_all else chosen)
            by_version = {m.version: m for m in found}
            with fast_trees():
                parsed = {s.version: parse(by_version[s.version], database) for s in to_parse}
            plan = build_plan(found, states, chosen, parsed, plan_options)
            findings = lint_pending(project, list(plan.steps), conn.info.server_version // 10000)
            report_findings(project.reporter, findings)
            errors = [f for f in findings if f.severity == "error"]
            if errors and project.env.protected and not options.force and not options.dry_run:
                raise SafetyRefusal(
                    f"lint found {len(errors)} error(s) in the pending migrations of protected environment "
                    f"{project.env.name!r}; first: {errors[0].location} {errors[0].rule}: {errors[0].message}",
                    hint="fix them, silence a reviewed one with `-- pgshift:ignore RULE`, or pass --force")
            if options.target is None:   # repeatable migrations, after every versioned one (schema/repeatable.py)
                from ..schema import repeatable  # noqa: PLC0415

                plan = repeatable.with_due(project, plan, events, database)
            for w in plan.warnings:
                emit(project.reporter, WARNING, w, level="warning")
            batches = {}
            if options.dry_run:
                from ..execution import batching  # noqa: PLC0415

                batches = {s.version: batching.describe_batches(s.parsed, conn, [e.parsed for e in plan.steps[:i]])
                           for i, s in enumerate(plan.steps)
                           if any(st.directive("batch") for st in s.parsed.statements)}
            emit(project.reporter, PLAN, plan_summary(plan, batches), steps=[s.version for s in plan.steps],
                 dry_run=options.dry_run)
            if options.dry_run or plan.empty:
                return UpResult(plan, None if options.dry_run else RunResult(()), findings,
                                project.shown_database(conn), batches=batches)
            from .schema import refuse_on_drift  # noqa: PLC0415

            drift_before = refuse_on_drift(project, conn, options.allow_drift)   # protected: exit 3 on drift
            safety = None
            if project.env.protected:  # checks and confirmation first: a refused run changes nothing
                with watch_paused(conn):    # a person types, pg_dump works: the connection idles
                    safety = _protected_gate(project, conn, plan, options, confirm)
            ledger_mod.ensure(conn, project.ledger, project.reporter)
            record_environment(project, conn)
            from .schema import fingerprints, keep_dump  # noqa: PLC0415

            hook = fingerprints(project, conn, plan.steps, drift_before)   # the schema left (issue 14)
            try:
                run = run_plan(project, conn, plan,
                               exec_options(project, options.lock_timeout, options.statement_timeout,
                                            options.lock_retries, options.blocker_wait),
                               safety, monitor=options.monitor, after_step=hook)
            finally:
                hook.flush()   # a run that stopped early: the schema after its last completed version
            keep_dump(project, conn)
            return UpResult(plan, run, findings, project.shown_database(conn), safety)


def _protected_gate(project: Project, conn, plan: Plan, options: UpOptions, confirm: Confirm | None) -> dict:
    """Protected environments: promotion path, preflight, backup, confirmation.

    The gate refuses before the backup when confirmation is impossible (no --yes, no
    confirm callback), so a refused run leaves no backup behind."""
    from ..safety import gate  # noqa: PLC0415

    if project.env.require_applied_in:
        from ..safety.promotion import require_applied_in  # noqa: PLC0415

        require_applied_in(project, plan)
    result = gate.before_apply(project, conn, plan, options, can_confirm=options.yes or confirm is not None)
    confirm_mod.require(project, f"apply {len(plan.steps)} migration(s) to {project.env.name}", project.env.name,
                        options.yes, confirm)
    return result.to_dict()


def plan_summary(plan: Plan, batches: dict | None = None) -> str:
    """The plan as the lines the PLAN event carries."""
    if plan.empty:
        return "nothing to apply: the database is up to date"
    lines = [f"{len(plan.steps)} migration(s) to apply:"]
    for s in plan.steps:
        extra = f", resuming after statement {s.resume_from}" if s.resume_from else ""
        lines.append(f"  {s.version}  {s.migration.name}  [{s.mode}: {s.parsed.mode_reason}; "
                     f"{len(s.parsed.statements)} statements{extra}]")
        for text in (batches or {}).get(s.version, ()):
            lines.append("    " + text.replace("\n", "\n    "))
    return "\n".join(lines)


@dataclass(frozen=True)
class BaselineResult:
    """What ``baseline`` did.

    Attributes:
        versions: The versions recorded as applied (those already applied are left out).
    """
    versions: tuple[str, ...]

    def to_dict(self) -> dict:
        """``--json``: the versions baselined."""
        return {"baselined": list(self.versions)}


def baseline(project: Project, version: str, lock_wait: float = 60.0) -> BaselineResult:
    """Record every version up to *version* as applied, without running it.

    For a database that already has the schema those migrations make (adopting pgshift on an
    existing database): each gets a ``baseline`` event in the ledger, which is created if need be.

    Args:
        project: An opened project.
        version: The newest version to record; it must be a migration's version.
        lock_wait: Seconds to wait for another runner's run lock.

    Returns:
        A :class:`BaselineResult` naming the versions recorded.

    Raises:
        InputError: No migration has *version* (exit 2).
        DiscoveryError: A file is badly named, duplicated, orphaned or unreadable (exit 2).
        LockHeld: Another runner holds the run lock (exit 3).
        OperationError: The database cannot be reached.
    """
    from .. import db  # noqa: PLC0415
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..planning import version_states  # noqa: PLC0415

    found = files(project)
    if not any(m.version == version for m in found):
        raise InputError(f"baseline {version}: no migration has that version",
                         hint="`pgshift status` lists the versions")
    user, host = db.whoami()
    with project.connected() as conn, run_lock(project, conn, lock_wait):
        check_environment(project, conn)
        ledger_mod.ensure(conn, project.ledger, project.reporter)
        record_environment(project, conn)
        states = {s.version: s for s in version_states(found, ledger_mod.read(conn, project.ledger))}
        done = []
        with conn.transaction():
            for m in found:
                if m.version > version:
                    break
                if states[m.version].state in (APPLIED, CHANGED):
                    continue
                ledger_mod.start_event(conn, project.ledger, version=m.version, name=m.name,
                                       description=m.description, migration_type="baseline", checksum=m.checksum,
                                       applied_by=user, client_host=host, tool_version=db.tool_version(),
                                       status="completed")
                done.append(m.version)
            ledger_mod.close_baselines(conn, project.ledger)
    emit(project.reporter, INFO, f"recorded {len(done)} version(s) as applied without running them")
    return BaselineResult(tuple(done))
