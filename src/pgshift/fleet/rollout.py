"""One worker of a rollout: stages in order, a pool of threads claiming targets, the budget.

Each thread has its own control connection and loops: claim a target of the current stage, run
it, record the end. A target is first checked with the fingerprint query (``fingerprint``); only
when that differs is the caller's ``apply`` run (``commands/fleet.py`` passes a plain ``up``,
whose run lock, ledger, protected rules and fault handling hold per target). A heartbeat thread
renews the leases of the targets this worker holds. A stage is over when none of its targets is
pending or running (another worker's too: a dead worker's lease runs out and this one takes its
targets over); the next stage starts only when the stage ended within the failure budget.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable

from ..errors import PgshiftError
from ..events import Reporter, emit
from ..project import Project
from . import control, fingerprint
from .inventory import tenant_url

# event kinds of a rollout
TARGET_STARTED = "fleet_target_started"
TARGET_DONE = "fleet_target_done"
TARGET_FAILED = "fleet_target_failed"
STAGE = "fleet_stage"
STOPPED = "fleet_stopped"


@dataclass(frozen=True)
class Settings:
    """How one worker runs a rollout (``pgshift fleet up``'s flags)."""
    rollout: str
    parallel: int = 4
    per_host: int | None = None
    max_failures: int | None = 0          # None: no limit (--continue-on-error)
    max_failure_rate: float | None = None  # percent of a stage
    lease: float = 30.0
    only_failed: bool = False
    stages: int = 1


@dataclass
class Tally:
    """What this worker did."""
    worker: str
    applied: list = field(default_factory=list)      # names of targets that ran migrations
    up_to_date: list = field(default_factory=list)   # names skipped by the fingerprint
    failed: list = field(default_factory=list)       # (name, error)
    stopped: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def worker_id() -> str:
    """host:pid:random, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def target_project(project: Project, claimed: control.Claimed) -> Project:
    """The project pointed at one target: its URL; for a tenant schema, that schema first in the
    session's ``search_path`` and the ledger (and so the run lock) in the tenant's own schema. A
    target never rewrites the project's ``dump_schema`` file: one file cannot stand for every
    target, and threads of a rollout would overwrite each other's."""
    url = claimed.url
    config = replace(project.config, dump_schema=None)
    if claimed.schema:
        url = tenant_url(url, claimed.schema)
        config = replace(config, ledger=f"{claimed.schema}.{config.ledger_table}")
    return replace(project.at(url, f"fleet target {claimed.name}"), config=config, reporter=None)


Apply = Callable[[Project], int]   # runs the migrations of one target; returns how many ran


def run(project: Project, control_url: str, settings: Settings, files_fingerprint: str, apply: Apply,
        reporter: Reporter | None = None, worker: str | None = None) -> Tally:
    """Run the rollout's stages with this worker until they are done or the rollout stops."""
    tally = Tally(worker or worker_id())
    emit_lock = threading.Lock()

    def say(kind: str, message: str, level: str = "info", **data) -> None:
        with emit_lock:
            emit(reporter, kind, message, level, **data)

    stop_beat = threading.Event()

    def beat() -> None:
        conn = control.open_control(control_url)
        try:
            while not stop_beat.wait(settings.lease / 3):
                control.heartbeat(conn, settings.rollout, tally.worker, settings.lease)
        finally:
            conn.close()

    beater = threading.Thread(target=beat, name="pgshift-fleet-heartbeat", daemon=True)
    beater.start()
    try:
        for stage in range(settings.stages):
            say(STAGE, f"stage {stage + 1} of {settings.stages}", stage=stage)
            with ThreadPoolExecutor(settings.parallel, thread_name_prefix="pgshift-fleet") as pool:
                for f in [pool.submit(_loop, project, control_url, settings, stage, files_fingerprint, apply,
                                      tally, say) for _ in range(settings.parallel)]:
                    f.result()
            if tally.stopped is not None:
                break
            with control.open_control(control_url) as conn:
                why = control.stopped(conn, settings.rollout) or _stage_over_budget(conn, settings, stage)
                if why:
                    control.stop(conn, settings.rollout, why)
                    tally.stopped = control.stopped(conn, settings.rollout)
                    say(STOPPED, f"rollout stopped: {tally.stopped}", "error", reason=tally.stopped)
                    break
    finally:
        stop_beat.set()
        beater.join(5)
    return tally


def _stage_over_budget(conn, settings: Settings, stage: int) -> str | None:
    counts = control.stage_counts(conn, settings.rollout, stage)
    failed, total = counts.get(control.FAILED, 0), sum(counts.values())
    if settings.max_failure_rate is not None and total and failed * 100.0 / total > settings.max_failure_rate:
        return (f"stage {stage + 1}: {failed} of {total} targets failed, over the budget of "
                f"{settings.max_failure_rate:g}%")
    if stage == 0 and settings.stages > 1 and failed and settings.max_failures is not None:
        return f"canary stage: {failed} target(s) failed; the next stage was not started"
    return None


def _loop(project: Project, control_url: str, settings: Settings, stage: int, files_fingerprint: str,
          apply: Apply, tally: Tally, say) -> None:
    conn = control.open_control(control_url)
    try:
        while True:
            why = control.stopped(conn, settings.rollout)
            if why is not None:
                tally.stopped = why
                return
            claimed = control.claim(conn, settings.rollout, stage, tally.worker, settings.lease, settings.per_host,
                                    settings.only_failed)
            if claimed is None:
                if not control.stage_open(conn, settings.rollout, stage, settings.only_failed):
                    return
                time.sleep(0.05)   # capped hosts, or others' targets still running (their leases may run out)
                continue
            _one(conn, project, settings, claimed, files_fingerprint, apply, tally, say)
    finally:
        conn.close()


def _one(conn, project: Project, settings: Settings, claimed: control.Claimed, files_fingerprint: str,
         apply: Apply, tally: Tally, say) -> None:
    started = time.monotonic()
    target = target_project(project, claimed)
    say(TARGET_STARTED, f"{claimed.name}: started", "debug", target=claimed.name, attempt=claimed.attempts)
    try:
        with target.connected(watch=False) as tconn:
            found, version = fingerprint.of_target(tconn, target.ledger)
        if found == files_fingerprint:
            ms = int((time.monotonic() - started) * 1000)
            control.finish(conn, settings.rollout, claimed.name, tally.worker, control.DONE, duration_ms=ms,
                           version=version, up_to_date=True)
            with tally.lock:
                tally.up_to_date.append(claimed.name)
            say(TARGET_DONE, f"{claimed.name}: up to date", "debug", target=claimed.name, applied=0,
                up_to_date=True, version=version, duration_ms=ms)
            return
        applied = apply(target)
        with target.connected(watch=False) as tconn:
            _, version = fingerprint.of_target(tconn, target.ledger)
    except PgshiftError as exc:
        _failed(conn, settings, claimed, exc.message, started, tally, say)
        return
    except Exception as exc:  # noqa: BLE001 - one target's surprise never ends the other targets
        _failed(conn, settings, claimed, f"unexpected {type(exc).__name__}: {exc}", started, tally, say)
        return
    ms = int((time.monotonic() - started) * 1000)
    control.finish(conn, settings.rollout, claimed.name, tally.worker, control.DONE, duration_ms=ms,
                   version=version, applied=applied)
    with tally.lock:
        tally.applied.append(claimed.name)
    say(TARGET_DONE, f"{claimed.name}: applied {applied} migration(s)", target=claimed.name, applied=applied,
        up_to_date=False, version=version, duration_ms=ms)


def _failed(conn, settings: Settings, claimed: control.Claimed, error: str, started: float, tally: Tally,
            say) -> None:
    ms = int((time.monotonic() - started) * 1000)
    control.finish(conn, settings.rollout, claimed.name, tally.worker, control.FAILED, duration_ms=ms, error=error)
    with tally.lock:
        tally.failed.append((claimed.name, error))
    say(TARGET_FAILED, f"{claimed.name}: failed: {error}", "error", target=claimed.name, error=error,
        duration_ms=ms)
    if settings.max_failures is not None:
        failed = control.failures(conn, settings.rollout)
        if failed > settings.max_failures:
            control.stop(conn, settings.rollout, f"{failed} target(s) failed, over the failure budget of "
                                                 f"{settings.max_failures}")
