"""``fleet up`` and ``fleet status``: one rollout of the migrations over many databases or tenant schemas.

The inventory, the control database, the claims, the stages and the budget live in ``fleet/``;
this verb reads the files once, confirms a protected rollout once, and hands ``fleet/`` the
function that migrates one target: a plain :func:`pgshift.commands.up.up`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError, PgshiftError
from ..events import INFO, emit
from ..project import Project
from ..safety import confirm as confirm_mod
from ._common import Confirm, files

CONTROL_DATABASE = "pgshift_fleet"


@dataclass(frozen=True)
class FleetOptions:
    """What ``fleet up`` is asked to do: ``pgshift fleet up``'s flags.

    Attributes:
        targets: A targets file: one ``URL [schema=S] [label=value ...]`` a line, or ``.toml``
            with ``[[target]]`` tables.
        targets_command: A shell command that prints the targets, one a line.
        targets_sql: A query (run against ``directory_url``) returning ``url`` [, ``schema``, ``labels``].
        directory_url: The database ``targets_sql`` runs against.
        control_url: The control database; None: the project's embedded server, database ``pgshift_fleet``.
        rollout: The rollout's name; None: ``r-`` and the files' fingerprint (every worker started
            on the same files shares it).
        stages: ``(label, value)`` pairs, in order: a target runs in the first stage whose label it
            carries (a value may list several, comma-separated; the label ``name`` matches target
            names), the rest in a last stage. The first of several stages is the canary: any failure
            there stops the rollout before the next stage (unless ``continue_on_error``).
        parallel: Targets migrated at once by this worker.
        per_host: At most this many targets of one host at once, over every worker (None: no cap).
        max_failures: Stop the rollout when more targets than this failed (default 0: the first).
        max_failure_rate: Stop after a stage when more than this percent of it failed.
        continue_on_error: No failure budget: failed targets are parked, the rest go on.
        only_failed: Retry only the parked (failed) targets of the rollout.
        lease: Seconds a claim lasts without a heartbeat (a dead worker's targets are taken over after it).
        yes: Confirm a protected environment's rollout without a prompt (asked once per rollout).
        backup: Take each target's pre-migration backup in a protected environment (off for fleets).
        lock_timeout: ``lock_timeout`` of every statement, in seconds; None: the environment's.
        lock_wait: Seconds to wait for a target's run lock.
    """
    targets: str | None = None
    targets_command: str | None = None
    targets_sql: str | None = None
    directory_url: str | None = None
    control_url: str | None = None
    rollout: str | None = None
    stages: tuple[tuple[str, str], ...] = ()
    parallel: int = 4
    per_host: int | None = None
    max_failures: int = 0
    max_failure_rate: float | None = None
    continue_on_error: bool = False
    only_failed: bool = False
    lease: float = 30.0
    yes: bool = False
    backup: bool = False
    lock_timeout: float | None = None
    lock_wait: float = 60.0


@dataclass(frozen=True)
class FleetStatus:
    """A rollout as the control database records it (``fleet status``).

    Attributes:
        rollout: The rollout's name.
        state: ``running`` (targets are left to take), ``finished`` (every target done or
            parked as failed) or ``stopped`` (by its budget or its canary).
        stopped_reason: Why it stopped (the budget, the canary), or None.
        latest: The newest version of the files it rolls out.
        counts: Targets by state: pending, running, done, failed.
        versions: Targets by the newest version applied (``none``: no version yet).
        failed: The parked targets: ``{"name", "stage", "attempts", "error"}``.
        not_converged: Names of the targets not yet at ``latest``.
        converged: Every target done and at ``latest`` (and, when drift was checked, none drifted).
        drifted: With ``drift``: the targets whose schema differs from what their last version left,
            ``{"name", "last_matched", "differences"}`` (differences: how many objects differ, when the
            project stores snapshots; None with fingerprints alone).
        drift_checked: Whether drift was checked (``fleet status --drift``).
    """
    rollout: str
    state: str
    stopped_reason: str | None
    latest: str | None
    counts: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    failed: tuple = ()
    not_converged: tuple = ()
    converged: bool = False
    drifted: tuple = ()
    drift_checked: bool = False

    def to_dict(self) -> dict:
        """``--json``: the rollout, its counts by state and version, the failed targets, converged
        (and, with drift checked, the drifted targets)."""
        out = {"rollout": self.rollout, "state": self.state, "stopped_reason": self.stopped_reason,
               "latest": self.latest, "converged": self.converged, "counts": dict(self.counts),
               "versions": dict(self.versions), "failed": list(self.failed),
               "not_converged": list(self.not_converged)}
        if self.drift_checked:
            out["drifted"] = list(self.drifted)
        return out


@dataclass(frozen=True)
class FleetResult:
    """What one ``fleet up`` worker did, and the rollout after it.

    Attributes:
        worker: This worker's id (host:pid:random).
        applied: Names of the targets this worker migrated.
        up_to_date: Names of the targets this worker found up to date (the fingerprint matched).
        failed: ``(name, error)`` of the targets that failed here.
        stopped: Why the rollout stopped, or None.
        status: The whole rollout after this worker finished (:class:`FleetStatus`).
        seconds: How long this worker ran.
    """
    worker: str
    applied: tuple = ()
    up_to_date: tuple = ()
    failed: tuple = ()
    stopped: str | None = None
    status: FleetStatus | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing failed here and the rollout did not stop."""
        return not self.failed and self.stopped is None

    def to_dict(self) -> dict:
        """``--json``: this worker's counts and failures, and the rollout's status."""
        return {"worker": self.worker, "ok": self.ok, "seconds": round(self.seconds, 3),
                "applied": len(self.applied), "up_to_date": len(self.up_to_date),
                "failed": [{"name": n, "error": e} for n, e in self.failed], "stopped": self.stopped,
                "status": self.status.to_dict() if self.status else None}


def control_url_of(project: Project, control_url: str | None) -> str:
    """The control database: *control_url*, else the project's embedded server's ``pgshift_fleet``."""
    if control_url:
        return control_url
    from .. import embedded  # noqa: PLC0415

    emit(project.reporter, INFO, "the rollout's state is kept in the embedded PostgreSQL's pgshift_fleet database")
    return embedded.start(embedded.pgdata_for(project.config.root), CONTROL_DATABASE)


def _inventory(options: FleetOptions) -> list:
    from ..fleet import inventory  # noqa: PLC0415

    found: list = []
    if options.targets:
        found += inventory.from_file(options.targets)
    if options.targets_command:
        found += inventory.from_command(options.targets_command)
    if options.targets_sql:
        if not options.directory_url:
            raise InputError("--targets-sql needs --directory-url: the database the query runs against")
        found += inventory.from_query(options.directory_url, options.targets_sql)
    return inventory.check_unique(found) if found else []


def fleet_up(project: Project, options: FleetOptions = FleetOptions(), confirm: Confirm | None = None) -> FleetResult:
    """Migrate every target of the inventory as one rollout, with this process as one worker.

    Several processes (CI jobs, pods) given the same control database and rollout share it:
    each claims targets the others have not. Each target is migrated by a plain ``up`` (its run
    lock, ledger and protected rules); one whose ledger fingerprint matches the files is skipped.

    Args:
        project: An opened project; its connection is not used (the targets are).
        options: The inventory, the control database and the rollout's rules (:class:`FleetOptions`).
        confirm: Asked once for a protected environment's rollout; None: only ``options.yes``.

    Returns:
        A :class:`FleetResult`: what this worker did, and the rollout's status.

    Raises:
        InputError: No targets, a bad targets line, two targets of one name (exit 2).
        SafetyRefusal: A protected rollout was not confirmed (exit 3).
        OperationError: The control database cannot be reached (exit 1).
    """
    import time  # noqa: PLC0415

    from ..fleet import control, fingerprint, inventory, rollout  # noqa: PLC0415
    from .up import UpOptions, up  # noqa: PLC0415

    started = time.monotonic()
    found = files(project)
    files_fp = fingerprint.of_files(found)
    latest = found[-1].version if found else None
    name = options.rollout or f"r-{files_fp[:12]}"
    targets = _inventory(options)
    if not targets and not options.only_failed:
        raise InputError("fleet up needs targets: --targets FILE, --targets-command or --targets-sql")
    if project.env.protected:
        confirm_mod.require(project, f"apply the migrations to {len(targets) or 'the failed'} target(s) of "
                                     f"{project.env.name} (rollout {name})", project.env.name, options.yes, confirm)
    stages = [list(s) for s in options.stages]
    control_url = control_url_of(project, options.control_url)
    with control.open_control(control_url) as conn:
        if targets:
            control.register(conn, name, files_fp, latest, stages, targets,
                             lambda t: inventory.stage_of(t, list(options.stages)))
        if options.only_failed:
            retried = control.retry_failed(conn, name)
            emit(project.reporter, INFO, f"retrying {retried} parked target(s) of rollout {name}")
            conn.execute(f"UPDATE {control.SCHEMA}.rollouts SET state = 'running', stopped_reason = NULL "
                         "WHERE id = %s", (name,))
        total = conn.execute(f"SELECT count(*) FROM {control.SCHEMA}.targets WHERE rollout = %s AND state <> 'done'",
                             (name,)).fetchone()[0]
    emit(project.reporter, "fleet_started", f"rollout {name}: {total} target(s) to do", total=total, rollout=name)
    settings = rollout.Settings(
        rollout=name, parallel=max(1, options.parallel), per_host=options.per_host,
        max_failures=None if options.continue_on_error else options.max_failures,
        max_failure_rate=None if options.continue_on_error else options.max_failure_rate,
        lease=options.lease, only_failed=options.only_failed, stages=len(options.stages) + 1)
    up_options = UpOptions(yes=True, no_backup=not options.backup, lock_timeout=options.lock_timeout,
                           lock_wait=options.lock_wait)

    def apply(target: Project) -> int:
        result = up(target, up_options)
        return len(result.run.steps) if result.run is not None else 0

    tally = rollout.run(project, control_url, settings, files_fp, apply, project.reporter)
    return FleetResult(tally.worker, tuple(tally.applied), tuple(tally.up_to_date), tuple(tally.failed),
                       tally.stopped, fleet_status(project, control_url, name), time.monotonic() - started)


def fleet_status(project: Project, control_url: str | None = None, rollout: str | None = None,
                 drift: bool = False) -> FleetStatus:
    """A rollout's state from the control database: counts by state and version, failures, convergence.

    Args:
        project: An opened project (its embedded server holds the default control database).
        control_url: The control database; None: the project's embedded ``pgshift_fleet``.
        rollout: The rollout's name; None: the newest.
        drift: Also compare each done target's schema with what its last version left
            (``pgshift drift`` per target, 8 at a time); a drifted target is not converged.

    Returns:
        A :class:`FleetStatus` (``converged``: every target done and at the newest version).

    Raises:
        InputError: There is no such rollout (exit 2).
        OperationError: The control database cannot be reached (exit 1).
    """
    from ..fleet import control  # noqa: PLC0415

    with control.open_control(control_url_of(project, control_url)) as conn:
        name = rollout or control.latest_rollout(conn)
        data = control.summary(conn, name) if name else {}
        places = control.places(conn, name) if (name and drift) else {}
    if not data or name is None:
        raise InputError(f"no rollout {rollout!r} in the control database" if rollout
                         else "the control database holds no rollout yet", hint="start one with `pgshift fleet up`")
    counts: dict[str, int] = {s: 0 for s in (control.PENDING, control.RUNNING, control.DONE, control.FAILED)}
    versions: dict[str, int] = {}
    failed, behind = [], []
    for tname, state, version, error, stage, attempts, _ in data["targets"]:
        counts[state] = counts.get(state, 0) + 1
        key = version or "none"
        versions[key] = versions.get(key, 0) + 1
        if state == control.FAILED:
            failed.append({"name": tname, "stage": stage + 1, "attempts": attempts, "error": error})
        if state != control.DONE or version != data["latest"]:
            behind.append(tname)
    drifted = _drifted(project, places) if drift else []
    rollout_state = data["state"]
    if rollout_state == "running" and not counts.get(control.PENDING) and not counts.get(control.RUNNING):
        rollout_state = "finished"     # every target done or parked: nothing is left for a worker to take
    return FleetStatus(name, rollout_state, data["stopped_reason"], data["latest"], counts,
                       dict(sorted(versions.items())), tuple(failed), tuple(behind), not behind and not drifted,
                       tuple(drifted), drift)


def _drifted(project: Project, places: dict) -> list[dict]:
    """The targets (name -> (url, tenant schema)) whose schema differs from what their last version left."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from ..fleet import control  # noqa: PLC0415
    from ..fleet.rollout import target_project  # noqa: PLC0415
    from ..schema import drift as drift_mod  # noqa: PLC0415

    def one(item):
        tname, (url, schema) = item
        target = target_project(project, control.Claimed(tname, url, schema, {}, 0, 0))
        try:
            with target.connected(start=False) as conn:
                report = drift_mod.check(conn, target.ledger)
        except PgshiftError as exc:
            return {"name": tname, "last_matched": None, "differences": None, "error": exc.message}
        if report.status != drift_mod.DRIFTED:
            return None
        return {"name": tname, "last_matched": report.matches_earlier.version if report.matches_earlier else None,
                "differences": len(report.differences) if report.objects_named else None}

    with ThreadPoolExecutor(8) as pool:
        return [d for d in pool.map(one, sorted(places.items())) if d is not None]
