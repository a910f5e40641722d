"""``pgshift fleet up|status``: one rollout over many databases or tenant schemas."""
from __future__ import annotations

import json
import sys
import threading
import time

import click

from ..errors import ExitCode
from .options import Group, duration
from .session import confirm_fn, project, show

_DONE = ("fleet_target_done", "fleet_target_failed")


class FleetReporter:
    """The run's reporter, plus the rollout's progress (a live bar on a terminal; elsewhere a line
    at the first target done, every few seconds, and at the last) and, with ``--events FILE``,
    every event as a JSON line."""

    def __init__(self, inner, events_path: str | None):
        self.inner = inner
        self.verbose = getattr(inner, "verbose", False)
        self.lock = threading.Lock()
        self.out = None
        if events_path == "-":
            self.out = sys.stderr
        elif events_path:
            self.out = open(events_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.total, self.done, self.failed, self.last = 0, 0, 0, 0.0
        self.bar = None

    def emit(self, event) -> None:
        with self.lock:
            if self.out is not None:
                record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": event.kind, "level": event.level,
                          "message": event.message, **event.data}
                self.out.write(json.dumps(record, default=str) + "\n")
                self.out.flush()
            if event.kind == "fleet_started":
                self.total = int(event.data.get("total") or 0)
                self._start_bar()
            if event.kind in _DONE:
                self.done += 1
                self.failed += event.kind == "fleet_target_failed"
                if self.bar is not None:
                    self.bar[0].update(self.bar[1], completed=self.done,
                                       description=f"targets ({self.failed} failed)")
                elif ((time.monotonic() - self.last > 5 or self.done == self.total)    # and the last one
                      and not getattr(self.inner, "quiet", False)):
                    self.last = time.monotonic()
                    print(f"{time.strftime('%H:%M:%S')} fleet: {self.done}/{self.total} targets, {self.failed} failed",
                          file=sys.stderr, flush=True)
            if self.bar is None:
                self.inner.emit(event)
            elif event.level in ("error", "warning") or (self.verbose and event.level != "debug"):
                self.bar[0].console.print(event.message, highlight=False, soft_wrap=True)   # above the bar

    def _start_bar(self) -> None:
        console = getattr(self.inner, "console", None)
        if console is None or self.total == 0:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=True)
        progress.start()
        self.bar = (progress, progress.add_task("targets", total=self.total))

    def paused(self):
        return self.inner.paused() if hasattr(self.inner, "paused") else None

    def close(self) -> None:
        if self.bar is not None:
            self.bar[0].stop()
            self.bar = None
        if self.out is not None and self.out is not sys.stderr:
            self.out.close()
        self.out = None


@click.group(cls=Group)
def fleet():
    """One rollout of the migrations over many databases or tenant schemas."""


def _stage(value: str) -> tuple[str, str]:
    key, eq, val = value.partition("=")
    if not eq or not key:
        raise click.BadParameter(f"{value!r} is not label=value", param_hint="--stage")
    return key, val


def _percent(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.rstrip("%"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a percentage", param_hint="--max-failure-rate") from None


@fleet.command("up")
@click.option("--targets", "targets", default=None, help="A targets file: one `URL [schema=S] [label=value ...]` "
              "a line, or .toml with [[target]] tables.")
@click.option("--targets-command", default=None, help="A shell command that prints the targets, one a line.")
@click.option("--targets-sql", default=None, help="A query returning url [, schema, labels] (needs --directory-url).")
@click.option("--directory-url", default=None, help="The database --targets-sql runs against.")
@click.option("--control-url", default=None, help="The control database (default: the embedded pgshift_fleet).")
@click.option("--rollout", default=None, help="The rollout's name (default: from the files' fingerprint).")
@click.option("--stage", "stages", multiple=True, help="label=value[,value...]: a stage, in order (the first is the "
              "canary; name=A,B lists targets); the targets of no stage run last.")
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 256), help="Targets at once.")
@click.option("--per-host", default=None, type=click.IntRange(1), help="At most N targets of one host at once.")
@click.option("--max-failures", default=0, show_default=True, type=click.IntRange(0),
              help="Stop the rollout when more targets than this failed.")
@click.option("--max-failure-rate", default=None, help="Stop after a stage when more than this percent of it failed.")
@click.option("--continue-on-error", is_flag=True, help="No failure budget: park failed targets, go on.")
@click.option("--only-failed", is_flag=True, help="Retry only the rollout's parked (failed) targets.")
@click.option("--lease", default="30s", show_default=True, help="How long a claim lasts without a heartbeat.")
@click.option("--lock-timeout", default=None, help="lock_timeout for every statement, e.g. 2s; 0 for none.")
@click.option("--lock-wait", default="60s", show_default=True, help="How long to wait for a target's run lock.")
@click.option("--backup", is_flag=True, help="Back up each target first (protected environments; off for fleets).")
@click.option("--yes", is_flag=True, help="Confirm a protected rollout without a prompt.")
@click.option("--events", "events_path", default=None, help="Write every event as a JSON line to FILE (- for stderr).")
def up(targets, targets_command, targets_sql, directory_url, control_url, rollout, stages, parallel, per_host,
       max_failures, max_failure_rate, continue_on_error, only_failed, lease, lock_timeout, lock_wait, backup, yes,
       events_path):
    """Migrate every target: stages, caps, a failure budget; several workers share one rollout."""
    from .. import api  # noqa: PLC0415

    options = api.FleetOptions(
        targets=targets, targets_command=targets_command, targets_sql=targets_sql, directory_url=directory_url,
        control_url=control_url, rollout=rollout, stages=tuple(_stage(s) for s in stages), parallel=parallel,
        per_host=per_host, max_failures=max_failures, max_failure_rate=_percent(max_failure_rate),
        continue_on_error=continue_on_error, only_failed=only_failed, lease=duration(lease) or 30.0,
        yes=yes, backup=backup, lock_timeout=duration(lock_timeout, timeout=True),
        lock_wait=duration(lock_wait) or 60.0)
    proj = project()
    reporter = FleetReporter(proj.reporter, events_path)
    proj.reporter = reporter
    try:
        result = api.fleet_up(proj, options, confirm=confirm_fn())
    finally:
        reporter.close()
    status = result.status
    text = (f"rollout {status.rollout if status else '?'}: this worker applied {len(result.applied)}, "
            f"up to date {len(result.up_to_date)}, failed {len(result.failed)}")
    if status is not None:
        text += "\n" + _status_text(status)
    show(result, text)
    return None if result.ok else ExitCode.FAILED


def _status_text(status) -> str:
    lines = [f"rollout {status.rollout}: {status.state}" + (f" ({status.stopped_reason})" if status.stopped_reason
                                                              else ""),
             "targets: " + ", ".join(f"{n} {s}" for s, n in status.counts.items()),
             "versions: " + ", ".join(f"{v}: {n}" for v, n in status.versions.items())]
    for f in status.failed[:20]:
        lines.append(f"  failed {f['name']} (stage {f['stage']}, attempt {f['attempts']}): {f['error']}")
    if len(status.failed) > 20:
        lines.append(f"  … and {len(status.failed) - 20} more failed")
    for d in status.drifted[:20]:
        lines.append(f"  drifted {d['name']}: " + (f"could not be checked: {d['error']}" if d.get("error") else
                     "its schema differs from what " + (d["last_matched"] or "its last version") + " left"
                     + (f" ({d['differences']} object(s))" if d["differences"] is not None else "")))
    if status.drift_checked and not status.drifted:
        lines.append("drift: no target drifted")
    lines.append("converged: every target is at " + str(status.latest) if status.converged
                 else f"not converged: {len(status.not_converged)} target(s) not at {status.latest}"
                 + (f", {len(status.drifted)} drifted" if status.drifted else ""))
    return "\n".join(lines)


@fleet.command("status")
@click.option("--control-url", default=None, help="The control database (default: the embedded pgshift_fleet).")
@click.option("--rollout", default=None, help="The rollout (default: the newest).")
@click.option("--drift", is_flag=True, help="Also check each done target's schema for drift (pgshift drift).")
def status(control_url, rollout, drift):
    """A rollout: targets by state and version, the failed ones and why; exit 0 only when converged."""
    from .. import api  # noqa: PLC0415

    result = api.fleet_status(project(), control_url, rollout, drift=drift)
    show(result, _status_text(result))
    return None if result.converged else ExitCode.FAILED

