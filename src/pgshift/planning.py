"""Pure planning: (files, ledger events, options) -> version states and a Plan.

No connection, no IO: ``--dry-run`` prints the same Plan that ``up`` executes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import PlanError
from .model import (
    APPLIED,
    CHANGED,
    FAILED,
    MISSING,
    OUT_OF_ORDER,
    PENDING,
    ROLLED_BACK,
    RUNNING,
    TX_FILE,
    TYPE_REPAIR,
    Location,
    MigrationFile,
    ParsedFile,
)
from .resume import first_changed
from .runs import LedgerEvent, Plan, Step, VersionState
from .text import caret_context

ROLLBACK_SUFFIX = "_rollback"
#: the migration_type of a repeatable migration's events (schema/repeatable.py): never a version's
REPEATABLE = "repeatable"
#: the name of a baseline `pgshift squash` wrote (``<V>_squashed_baseline.sql``, schema/squash.py): it
#: replaces every version up to V; a database that applied them has what it makes
SQUASHED = "squashed_baseline"


@dataclass(frozen=True)
class PlanOptions:
    target: str | None = None
    out_of_order: bool = False
    allow_changed: bool = False


def _normalise(event: LedgerEvent) -> tuple[str, str]:
    """(version, kind) where kind is migrate/rollback/baseline; honours the guide's
    ``<version>_rollback`` rows and its ``rolled_back`` status."""
    version = event.version
    kind = (event.migration_type or "migrate").strip().lower()
    if version.endswith(ROLLBACK_SUFFIX):
        version = version[: -len(ROLLBACK_SUFFIX)]
        kind = "rollback"
    return version, kind


def latest_events(events: list[LedgerEvent]) -> dict[str, LedgerEvent]:
    """Each version's latest event (``repair``'s audit rows say what was done, not a state)."""
    latest: dict[str, LedgerEvent] = {}
    for event in events:  # ordered by id
        version, kind = _normalise(event)
        if kind not in (TYPE_REPAIR, REPEATABLE):
            latest[version] = event
    return latest


# the statuses a ledger row may hold (PRODUCT.md section 3); NULL or empty is a row the guide's
# script inserted and has not closed yet: running
KNOWN_STATUSES = ("running", "completed", "failed", "rolled_back")


def event_state(event: LedgerEvent) -> str:
    """The state a version's latest event gives it. A status outside the contract's four is an
    error naming the row: guessing (it used to count as running, and ran the migration again)
    could apply a migration twice."""
    _, kind = _normalise(event)
    status = (event.status or "running").strip().lower()
    if status not in KNOWN_STATUSES:
        raise PlanError(
            f"ledger row {event.id} (version {event.version}) has the status {event.status!r}, which is none of "
            f"{', '.join(KNOWN_STATUSES)}: pgshift cannot tell whether the migration ran",
            hint="set the row's status to what really happened (UPDATE the ledger, or `pgshift repair "
                 f"--mark-applied {event.version}` / `--mark-pending {event.version}`), then run again",
            details={"ledger_row": event.id, "version": event.version, "status": event.status})
    if status == "rolled_back":
        return ROLLED_BACK
    if kind == "rollback":
        if status == "completed":
            return ROLLED_BACK
        return APPLIED  # a failed rollback leaves the version applied
    if status == "completed":
        return APPLIED
    if status == "failed":
        return FAILED
    return RUNNING


def version_states(files: list[MigrationFile], events: list[LedgerEvent]) -> list[VersionState]:
    by_file = {m.version: m for m in files}
    latest: dict[str, LedgerEvent] = {}
    last_applied: dict[str, LedgerEvent] = {}
    for event in events:  # ordered by id: one pass
        version, kind = _normalise(event)
        if kind in (TYPE_REPAIR, REPEATABLE):
            continue
        latest[version] = event
        if kind in ("migrate", "baseline") and (event.status or "") == "completed":
            last_applied[version] = event
    applied_versions = [v for v, e in latest.items() if event_state(e) == APPLIED]
    newest_applied = max(applied_versions) if applied_versions else None
    squashed = _squashed_to(files, latest)
    states: list[VersionState] = []
    for version in sorted(set(by_file) | set(latest)):
        m = by_file.get(version)
        event = latest.get(version)
        state = event_state(event) if event else PENDING
        if m is None and squashed is not None and version < squashed and state == APPLIED:
            continue    # replaced by the squashed baseline, which this database has (its history)
        applied_event = last_applied.get(version) if state == APPLIED else None
        recorded = (applied_event or event).checksum if event else None
        error = event.error if event is not None and state in (FAILED, RUNNING) else None
        if state == APPLIED and event is not None and _normalise(event)[1] == "rollback":
            error = f"rollback failed: {event.error}" if event.error else "rollback did not complete"
        if m is None:
            if state in (APPLIED,):
                state = MISSING
            else:
                # failed or rolled back and the file is gone: nothing to do, but show it
                pass
        elif state == APPLIED and recorded and recorded != m.checksum \
                and not (version == squashed and event is not None and (applied_event or event).name != m.name):
            state = CHANGED   # (the baseline's version applied by the history it replaces is not a change)
        elif state in (PENDING, FAILED, RUNNING, ROLLED_BACK) and newest_applied and version < newest_applied \
                and state == PENDING:
            state = OUT_OF_ORDER
        states.append(VersionState(
            version=version,
            name=m.name if m else (event.name if event else None),
            state=state,
            file=m.relpath if m else None,
            has_rollback=bool(m and m.rollback),
            applied_at=((applied_event or event).completed_at if state in (APPLIED, CHANGED, MISSING) and event
                        else None),
            execution_ms=(applied_event or event).execution_ms if event else None,
            recorded_checksum=recorded,
            file_checksum=m.checksum if m else None,
            description=(m.description if m and m.description else (event.description if event else None)),
            last_event=event,
            error=error,
        ))
    return states


def _squashed_to(files: list[MigrationFile], latest: dict[str, LedgerEvent]) -> str | None:
    """The version of the newest squashed baseline when the database has it applied (by itself or
    by the history it replaces); None otherwise."""
    baselines = [m.version for m in files if m.name == SQUASHED or m.name.startswith(SQUASHED + "_")]
    if not baselines:
        return None
    version = max(baselines)
    event = latest.get(version)
    return version if event is not None and event_state(event) == APPLIED else None


def pending_versions(states: list[VersionState], options: PlanOptions) -> list[VersionState]:
    """The versions `up` would run, after checking changed and out-of-order ones."""
    for s in states:    # a squashed baseline pending where part of the history it replaces is applied
        if s.state == PENDING and s.name and (s.name == SQUASHED or s.name.startswith(SQUASHED + "_")):
            partial = [o.version for o in states if o.version < s.version and o.state in (APPLIED, CHANGED, MISSING)]
            if partial:
                raise PlanError(
                    f"{s.file} replaces every version up to {s.version}, and this database applied only some of "
                    f"them ({len(partial)}, up to {partial[-1]}): the baseline cannot run on top of them",
                    hint="apply the rest of the history from before the squash (the files it archived) up to "
                         f"{s.version}, then run again", details={"applied": partial})
    changed = [s for s in states if s.state == CHANGED]
    if changed and not options.allow_changed:
        lines = "\n".join(f"  {s.file}: recorded {s.recorded_checksum[:12]}, now {s.file_checksum[:12]}"
                          for s in changed)
        raise PlanError(
            f"{len(changed)} applied migration(s) changed since they were applied:\n{lines}",
            hint="restore the applied file(s) and put the change in a new migration; "
                 "or pass --allow-changed to go on (the ledger keeps the old checksum)",
            details={"changed": [s.version for s in changed]},
        )
    out_of_order = [s for s in states if s.state == OUT_OF_ORDER]
    if options.target is not None:
        out_of_order = [s for s in out_of_order if s.version <= options.target]
    if out_of_order and not options.out_of_order:
        newest = max((s.version for s in states if s.state in (APPLIED, CHANGED)), default="")
        lines = "\n".join(f"  {s.file}" for s in out_of_order)
        raise PlanError(
            f"{len(out_of_order)} pending migration(s) are older than the newest applied version {newest}:\n{lines}",
            hint="this usually means two branches were merged; check the order is safe, then pass --out-of-order "
                 "(or give the file a newer version)",
            details={"out_of_order": [s.version for s in out_of_order]},
        )
    runnable = (PENDING, FAILED, RUNNING, ROLLED_BACK, OUT_OF_ORDER)
    chosen = [s for s in states if s.state in runnable and s.file is not None]
    if options.target is not None:
        chosen = [s for s in chosen if s.version <= options.target]
    return chosen


def build_plan(files: list[MigrationFile], states: list[VersionState], chosen: list[VersionState],
               parsed: dict[str, ParsedFile], options: PlanOptions) -> Plan:
    """The steps of `up`: every runnable version up to the target, in version order.

    An interrupted file (latest event running or failed with statements done) resumes
    after its last completed statement: unchanged since and run outside one transaction;
    or changed since, when the statements that ran are still the ones in the file
    (``changed_statement``, the ledger's fingerprint check: None when they are). When
    they are not, nothing runs (a PlanError naming the first that changed), unless
    ``allow_changed``: the file then runs again from its first statement.

    *states* are ``version_states(files, events)`` and *chosen* ``pending_versions(states,
    options)``, computed once by the caller.
    """
    by_version = {m.version: m for m in files}
    steps = []
    warnings = []
    if options.target is not None and options.target not in by_version and not any(
            s.version == options.target for s in states):
        raise PlanError(f"--target {options.target} is not the version of any migration",
                        hint="`pgshift status` lists the versions")
    for state in chosen:
        m = by_version[state.version]
        p = parsed[state.version]
        resume, details = _resume_point(state, m, p, options, warnings)
        steps.append(Step("migrate", m, p, p.mode, resume, details))
    return Plan(tuple(steps), tuple(states), tuple(warnings))


def _resume_point(state: VersionState, m: MigrationFile, p: ParsedFile, options: PlanOptions,
                  warnings: list[str]) -> tuple[int, dict | None]:
    """Where an interrupted file resumes, and the details of its earlier run to carry on with."""
    event = state.last_event
    done = (event.statements_done or 0) if event is not None else 0
    if state.state not in (FAILED, RUNNING) or event is None or done <= 0 or _normalise(event)[1] != "migrate":
        return 0, None
    if event.checksum == m.checksum:
        if p.mode == TX_FILE:
            return 0, None
        return min(done, len(p.statements)), event.details
    recorded = (event.details or {}).get("fingerprint")
    changed = first_changed(recorded, p.statements, done)
    if changed is None:
        warnings.append(f"{m.relpath} changed since its interrupted run; the {done} statement(s) that run completed "
                        f"are unchanged, so it resumes at statement {done + 1}")
        return done, event.details
    if options.allow_changed:
        warnings.append(f"{m.relpath} changed since its interrupted run, which had applied {done} statement(s); "
                        "--allow-changed: it runs again from its first statement")
        return 0, {"previous_run": {"event": event.id, "statements_done": done, "checksum": event.checksum}}
    raise _changed_after_it_ran(m, p, event, done, changed, recorded is not None)


def _changed_after_it_ran(m: MigrationFile, p: ParsedFile, event: LedgerEvent, done: int, changed: int,
                          fingerprinted: bool) -> PlanError:
    ran = (f"statements 1-{done} already ran and stay applied. Restore them as they ran" if done > 1
           else "statement 1 already ran and stays applied. Restore it as it ran")
    if not fingerprinted:
        what = (f"{m.relpath} changed since its interrupted run, which applied its first {done} statement(s); "
                f"the ledger's event {event.id} (written by an earlier pgshift) does not record what they were, "
                "so pgshift cannot tell whether they are still the ones in the file")
    elif changed < len(p.statements):
        what = (f"statement {changed + 1} of {m.relpath} changed after it ran: an interrupted run applied the file's "
                f"first {done} statement(s), and they are no longer the ones in the file")
    else:
        what = (f"{m.relpath} now has {len(p.statements)} statement(s), but an interrupted run already applied its "
                f"first {done}: statement {changed + 1} is gone from the file")
    if changed < len(p.statements):
        stmt = p.statements[changed]
        location, context = stmt.location, caret_context(p.text, stmt.offset)
    else:
        line = p.text.rstrip("\n").count("\n") + 1
        location, context = Location(p.relpath, line), None
    return PlanError(
        what, location=location, context=context,
        hint=f"{ran} (change only statement {done + 1} and later), and a rerun resumes at statement {done + 1}. Or, to "
             "run the changed file again from its first statement, make every statement safe to run twice "
             "(IF NOT EXISTS, ...) and pass --allow-changed",
        details={"version": m.version, "statements_done": done, "changed_statement": changed + 1})
