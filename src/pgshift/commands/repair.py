"""``repair``: set the ledger straight by hand, as Flyway's repair does, each action audited.

- ``record_checksums``: applied versions whose event recorded no checksum (an adopted ledger),
  or a checksum that differs from the file's, get the file's checksum now. ``verify`` is then
  clean; what changed is in the audit row (old and new checksum).
- ``remove_failed``: failed or interrupted events of versions whose file is gone are deleted.
- ``mark_applied``: versions recorded as applied without running them (a baseline event).
- ``mark_pending``: versions recorded as not applied (a ``rolled_back`` event; nothing is run),
  so that the next ``up`` runs them.

Every action writes a ``repair`` row (migration_type ``repair``; ``details`` says what, from what
to what, and who). Those rows never decide a version's state. Protected environments ask for
confirmation (type ``REPAIR``, or ``--yes``), as they do for a rollback. Everything is done in
one transaction under the run lock: all of it or nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..db import watch_paused
from ..errors import InputError
from ..events import INFO, PLAN, emit
from ..model import APPLIED, CHANGED, FAILED, RUNNING, TYPE_BASELINE, TYPE_REPAIR, TYPE_ROLLBACK
from ..project import Project
from ..safety import confirm as confirm_mod
from ._common import Confirm, check_environment, files, record_environment, run_lock


@dataclass(frozen=True)
class RepairOptions:
    """What ``repair`` is asked to do: ``pgshift repair``'s flags (at least one action).

    Attributes:
        record_checksums: Record the file's checksum for applied versions whose event has
            none (an adopted ledger) or another one.
        remove_failed: Delete the failed or interrupted events of versions whose file is gone.
        mark_applied: Versions to record as applied without running them (a baseline event).
        mark_pending: Versions to record as not applied (a ``rolled_back`` event; nothing runs),
            so that the next ``up`` runs them.
        yes: Confirm without a prompt (protected environments).
        dry_run: Say what would change, and change nothing.
        lock_wait: Seconds to wait for another runner's run lock.
    """
    record_checksums: bool = False
    remove_failed: bool = False
    mark_applied: tuple[str, ...] = ()
    mark_pending: tuple[str, ...] = ()
    yes: bool = False
    dry_run: bool = False
    lock_wait: float = 60.0


@dataclass(frozen=True)
class RepairResult:
    """What ``repair`` did (or, for a dry run, would do).

    Attributes:
        actions: One dict per change: ``action`` (``record-checksum``, ``remove-failed``,
            ``mark-applied``, ``mark-pending``), ``version``, ``what`` (in words) and the
            action's own details (the old and new checksum, the events removed).
        dry_run: Nothing was changed.
    """
    actions: tuple[dict, ...] = field(default_factory=tuple)
    dry_run: bool = False

    def to_dict(self) -> dict:
        """``--json``: whether it was a dry run, and each action."""
        return {"dry_run": self.dry_run, "actions": list(self.actions)}


def repair(project: Project, options: RepairOptions, confirm: Confirm | None = None) -> RepairResult:
    """Set the ledger straight by hand, as Flyway's repair does; each change gets an audit row.

    Everything is done in one transaction under the run lock: all of it or nothing. Each change
    writes a ``repair`` row saying what changed, from what to what, and who changed it.

    Args:
        project: An opened project.
        options: What to repair (:class:`RepairOptions`).
        confirm: Asked before a protected environment's ledger is changed: ``confirm(prompt,
            "REPAIR")`` returns True to go on. None: only ``options.yes`` confirms.

    Returns:
        A :class:`RepairResult`.

    Raises:
        InputError: No action asked; no ledger yet; a version that is not there or not in the
            state its action needs (exit 2); nothing was changed.
        SafetyRefusal: A protected environment's confirmation is missing (exit 3).
        LockHeld: Another runner holds the run lock (exit 3).
        OperationError: The database cannot be reached.
    """
    from .. import db  # noqa: PLC0415
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..planning import version_states  # noqa: PLC0415

    if not (options.record_checksums or options.remove_failed or options.mark_applied or options.mark_pending):
        raise InputError("say what to repair: --record-checksums, --remove-failed, --mark-applied VERSION or "
                         "--mark-pending VERSION", hint="`pgshift verify` and `pgshift status` show what is off")
    found = files(project)
    by_version = {m.version: m for m in found}
    with project.connected() as conn, run_lock(project, conn, options.lock_wait):
        check_environment(project, conn)
        if not ledger_mod.exists(conn, project.ledger):
            raise InputError(f"there is no ledger {project.config.ledger} to repair yet",
                             hint="`pgshift up` creates it")
        events = ledger_mod.read(conn, project.ledger)
        states = {s.version: s for s in version_states(found, events)}
        actions = _planned(options, states, by_version, events)
        emit(project.reporter, PLAN, "repair: " + (f"{len(actions)} change(s):\n" + "\n".join(
            f"  {a['action']} {a['version']}: {a['what']}" for a in actions) if actions else "nothing to change"),
             actions=actions, dry_run=options.dry_run)
        if options.dry_run or not actions:
            return RepairResult(tuple(actions), options.dry_run)
        if project.env.protected:
            with watch_paused(conn):        # a person types the word
                confirm_mod.require(project, f"repair the ledger of {project.env.name} ({len(actions)} change(s))",
                                    "REPAIR", options.yes, confirm)
        user, host = db.whoami()
        who: dict[str, Any] = {"applied_by": user, "client_host": host, "tool_version": db.tool_version()}
        with conn.transaction():
            for a in actions:
                _apply(conn, project, a, by_version, who)
                ledger_mod.start_event(conn, project.ledger, version=a["version"], name=a.get("name") or "",
                                       description=f"repair: {a['action']}: {a['what']}",
                                       migration_type=TYPE_REPAIR, checksum=a.get("new_checksum"),
                                       status="completed", details={"repair": a}, **who)
            ledger_mod.close_baselines(conn, project.ledger)
        record_environment(project, conn)
    emit(project.reporter, INFO, f"repaired the ledger: {len(actions)} change(s), each with a repair row")
    return RepairResult(tuple(actions))


def _planned(options: RepairOptions, states: dict, by_version: dict, events: list) -> list[dict]:
    actions: list[dict] = []
    if options.record_checksums:
        applying = _applying_events(events)
        for v, s in sorted(states.items()):
            m = by_version.get(v)
            if m is None or s.state not in (APPLIED, CHANGED) or v not in applying:
                continue
            event = applying[v]
            if event.checksum != m.checksum:
                actions.append({"action": "record-checksum", "version": v, "name": s.name, "event": event.id,
                                "old_checksum": event.checksum, "new_checksum": m.checksum,
                                "what": f"checksum {(event.checksum or 'none')[:12]} -> {m.checksum[:12]}"})
    if options.remove_failed:
        for v, s in sorted(states.items()):
            last = s.last_event
            if v in by_version or last is None or (last.status or "running").lower() not in ("failed", "running"):
                continue
            ids = [e.id for e in events if e.version in (v, v + "_rollback")]
            actions.append({"action": "remove-failed", "version": v, "name": s.name, "events": ids,
                            "what": f"{len(ids)} event(s) of a {s.state} version whose file is gone"})
    for v in options.mark_applied:
        s = states.get(v)
        if v not in by_version:
            raise InputError(f"--mark-applied {v}: no migration file has that version",
                             hint="`pgshift status` lists the versions")
        if s is not None and s.state in (APPLIED, CHANGED):
            raise InputError(f"--mark-applied {v}: it is applied already")
        actions.append({"action": "mark-applied", "version": v, "name": by_version[v].name,
                        "new_checksum": by_version[v].checksum, "what": "recorded as applied, without running it"})
    for v in options.mark_pending:
        s = states.get(v)
        if s is None or s.state not in (APPLIED, CHANGED, RUNNING, FAILED):
            raise InputError(f"--mark-pending {v}: it is not applied, running or failed"
                             + (f" (state: {s.state})" if s else " (no event and no file has that version)"))
        actions.append({"action": "mark-pending", "version": v, "name": s.name,
                        "what": "recorded as not applied, without running its rollback (the next up runs it)"})
    return actions


def _applying_events(events: list) -> dict:
    """Each version's latest completed migrate or baseline event: the one that applied it."""
    out = {}
    for e in events:
        if (e.migration_type or "migrate") in ("migrate", TYPE_BASELINE) and (e.status or "") == "completed" \
                and not e.version.endswith("_rollback"):
            out[e.version] = e
    return out


def _apply(conn, project: Project, action: dict, by_version: dict, who: dict) -> None:
    from .. import ledger as ledger_mod  # noqa: PLC0415

    kind, v = action["action"], action["version"]
    if kind == "record-checksum":
        ledger_mod.record_checksum(conn, project.ledger, action["event"], action["new_checksum"])
    elif kind == "remove-failed":
        ledger_mod.delete_events(conn, project.ledger, action["events"])
    elif kind == "mark-applied":
        m = by_version[v]
        ledger_mod.start_event(conn, project.ledger, version=v, name=m.name, description=m.description,
                               migration_type=TYPE_BASELINE, checksum=m.checksum, status="completed",
                               details={"repair": "mark-applied"}, **who)
    elif kind == "mark-pending":
        m = by_version.get(v)
        ledger_mod.start_event(conn, project.ledger, version=v, name=action["name"] or "",
                               description=m.description if m else None, migration_type=TYPE_ROLLBACK,
                               checksum=m.checksum if m else None, status="rolled_back",
                               details={"repair": "mark-pending"}, **who)
