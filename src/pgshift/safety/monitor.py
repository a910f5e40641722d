"""The live monitor: a second connection that watches the server while a run works.

It replaces the guide's ``monitor_migration &`` loop (``Active connections: N, Blocked
locks: M`` every 30 s) and adds what that loop could not say: *who* blocks the
migration (pid, application, state, transaction age, query), how many sessions are
queued behind it, and the phase and percentage of a concurrent index build.

- A daemon thread with its own connection (``application_name = pgshift-monitor``,
  ``statement_timeout`` 5 s), so it can never block the migration or the exit.
- It samples every ``poll`` seconds (1 s), and reports every ``interval`` seconds
  (2 s on a terminal, the guide's 30 s in plain logs), and at once whenever the
  set of sessions blocking the migration changes; index progress at each phase and
  every 10 % (every sample on a terminal).
- ``stop()`` ends it with the run: it sets a flag, joins with a timeout, cancels a
  query in flight and, if the thread still hangs (a dead network), shuts its socket
  down so the blocked read returns. It never outlives the run.
"""
from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..events import INDEX_PROGRESS, MONITOR, WARNING, emit
from ..text import format_duration

if TYPE_CHECKING:
    from ..project import Project

APPLICATION_NAME = "pgshift-monitor"

_SAMPLE = """
SELECT
  (SELECT count(*) FROM pg_stat_activity
    WHERE state = 'active' AND backend_type = 'client backend'
      AND pid <> pg_backend_pid() AND pid <> %(pid)s) AS active,  -- neither the monitor nor the migration
  (SELECT count(*) FROM pg_locks WHERE NOT granted) AS waiting_locks,
  (SELECT count(*) FROM pg_stat_activity w
    WHERE w.pid <> %(pid)s AND CASE WHEN w.wait_event_type = 'Lock'
                                    THEN %(pid)s = ANY(pg_blocking_pids(w.pid)) ELSE false END) AS queued
"""

_MIGRATION = """
SELECT state, wait_event_type, wait_event, extract(epoch FROM now() - state_change)::float8, left(query, 200)
FROM pg_stat_activity WHERE pid = %(pid)s
"""

_BLOCKERS = """
SELECT bp.pid, b.application_name, b.usename, b.state, extract(epoch FROM now() - b.xact_start)::float8,
       left(b.query, 300), b.backend_type
FROM unnest(pg_blocking_pids(%(pid)s)) AS bp(pid) LEFT JOIN pg_stat_activity b ON b.pid = bp.pid
ORDER BY b.xact_start NULLS LAST
"""

_INDEX = """
SELECT phase, command, relid::regclass::text, nullif(index_relid, 0)::regclass::text,
       blocks_total, blocks_done, tuples_total, tuples_done, lockers_total, lockers_done, current_locker_pid,
       partitions_total, partitions_done
FROM pg_stat_progress_create_index WHERE pid = %(pid)s
"""


@dataclass
class Sample:
    active: int = 0
    waiting_locks: int = 0
    queued: int = 0                       # sessions waiting for a lock the migration holds or wants
    migration: dict = field(default_factory=dict)
    blockers: list = field(default_factory=list)
    index: dict | None = None


def _default_interval() -> float:
    try:
        return 2.0 if sys.stderr.isatty() else 30.0
    except (AttributeError, ValueError):
        return 30.0


class Monitor:
    def __init__(self, url: str, migration_pid: int, reporter=None, interval: float | None = None,
                 poll: float | None = None, live: bool | None = None):
        self.url = url
        self.pid = migration_pid
        self.reporter = reporter
        self.interval = float(interval) if interval is not None else _default_interval()
        self.poll = float(poll) if poll is not None else min(1.0, self.interval)
        self.live = live if live is not None else self.interval <= 5
        self.samples = 0
        self.last: Sample | None = None
        self._stop = threading.Event()
        self._conn = None
        self._thread = threading.Thread(target=self._run, name=f"pgshift-monitor-{migration_pid}", daemon=True)

    # -- control ------------------------------------------------------------------------

    def start(self) -> "Monitor":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 3.0) -> bool:
        """End the thread; True when it has ended. Safe to call twice."""
        self._stop.set()
        if not self._thread.is_alive():
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            conn = self._conn
            if conn is not None:
                try:
                    conn.cancel_safe(timeout=1.0)
                except Exception:  # noqa: BLE001 - best effort
                    pass
                self._thread.join(1.0)
            if self._thread.is_alive() and conn is not None:
                from ..db import shutdown_socket  # noqa: PLC0415

                shutdown_socket(conn)
                self._thread.join(1.0)
        return not self._thread.is_alive()

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        from .. import db  # noqa: PLC0415

        try:
            conn = db.connect(self.url, application_name=APPLICATION_NAME, connect_timeout=5)
        except Exception as exc:  # noqa: BLE001 - the run goes on without its monitor, and says so
            emit(self.reporter, WARNING, f"the monitor could not connect, the run goes on without it: {exc}",
                 level="warning")
            return
        self._conn = conn
        try:
            conn.execute("SET statement_timeout = '5s'")
            conn.execute("SET lock_timeout = '1s'")
            last_report = -math.inf
            last_blockers: tuple | None = None
            last_index_key = None
            last_index_report = -math.inf
            while not self._stop.is_set():
                sample = self.sample(conn)
                if self._stop.is_set():
                    break
                self.samples += 1
                self.last = sample
                now = time.monotonic()
                blockers = tuple(sorted(b["pid"] for b in sample.blockers))
                if now - last_report >= self.interval or blockers != last_blockers:
                    self._report(sample)
                    last_report, last_blockers = now, blockers
                if sample.index is not None:
                    ix = sample.index
                    step = ix["percent"] // 10 if ix["percent"] is not None else None
                    key = (ix["phase"], ix["percent"] if self.live else step, ix["current_locker_pid"])
                    if key != last_index_key or now - last_index_report >= self.interval:
                        self._report_index(sample)
                        last_index_key, last_index_report = key, now
                self._stop.wait(self.poll)
        except Exception as exc:  # noqa: BLE001 - a monitor failure must not fail the run
            if not self._stop.is_set():
                emit(self.reporter, WARNING, f"the monitor stopped: {str(exc).strip().splitlines()[0]}",
                     level="warning")
        finally:
            self._conn = None
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def sample(self, conn) -> Sample:
        args = {"pid": self.pid}
        active, waiting, queued = conn.execute(_SAMPLE, args).fetchone()
        s = Sample(active=active, waiting_locks=waiting, queued=queued)
        row = conn.execute(_MIGRATION, args).fetchone()
        if row:
            state, wtype, wevent, since, query = row
            s.migration = {"pid": self.pid, "state": state, "wait_event_type": wtype, "wait_event": wevent,
                           "state_seconds": round(since or 0.0, 1), "query": query}
        if row and row[1] == "Lock":
            for pid, app, user, state, age, query, btype in conn.execute(_BLOCKERS, args).fetchall():
                s.blockers.append({"pid": pid, "application_name": app, "user": user, "state": state,
                                   "transaction_seconds": round(age, 1) if age is not None else None,
                                   "query": query, "backend_type": btype,
                                   "prepared_transaction": pid == 0})
        ix = conn.execute(_INDEX, args).fetchone()
        if ix:
            (phase, command, table, index, bt, bd, tt, td, lt, ld, locker, pt, pd) = ix
            s.index = {"phase": phase, "command": command, "table": table, "index": index,
                       "blocks_total": bt, "blocks_done": bd, "tuples_total": tt, "tuples_done": td,
                       "lockers_total": lt, "lockers_done": ld, "current_locker_pid": locker or None,
                       "partitions_total": pt, "partitions_done": pd,
                       "percent": _percent(phase, bt, bd, tt, td, lt, ld)}
        return s

    # -- output ------------------------------------------------------------------------------

    def _report(self, s: Sample) -> None:
        head = (f"monitor: {s.active} other active connection(s), {s.waiting_locks} waiting lock(s), "
                f"{s.queued} session(s) queued behind the migration (pid {self.pid})")
        m = s.migration
        lines = [head]
        if m and m.get("wait_event_type") == "Lock":
            lines.append(f"  the migration has waited {format_duration(m['state_seconds'])} "
                         f"for a {m['wait_event']} lock, blocked by:")
            for b in s.blockers:
                if b["prepared_transaction"]:
                    lines.append("    a prepared transaction (see pg_prepared_xacts)")
                    continue
                age = (f", transaction open {format_duration(b['transaction_seconds'])}"
                       if b["transaction_seconds"] is not None else "")
                lines.append(f"    pid {b['pid']} ({b['application_name'] or 'no application_name'}, {b['state']}"
                             f"{age}): {_one_line(b['query'])}")
        level = "warning" if s.blockers or s.queued else "info"
        emit(self.reporter, MONITOR, "\n".join(lines), level=level, active=s.active, waiting_locks=s.waiting_locks,
             queued_behind_migration=s.queued, migration=m, blockers=s.blockers, migration_pid=self.pid)

    def _report_index(self, s: Sample) -> None:
        ix = s.index
        pct = ix["percent"]
        bar = _bar(pct)
        what = ix["index"] or "the index"
        counts = ""
        if "scanning table" in ix["phase"] and ix["blocks_total"]:
            counts = f"; {ix['blocks_done']}/{ix['blocks_total']} blocks"
        elif ix["tuples_total"]:
            counts = f"; {ix['tuples_done']}/{ix['tuples_total']} tuples"
        elif ix["lockers_total"]:
            counts = f"; {ix['lockers_done']}/{ix['lockers_total']} transactions"
        waiting = f"; waiting for pid {ix['current_locker_pid']}" if ix["current_locker_pid"] else ""
        emit(self.reporter, INDEX_PROGRESS,
             f"{ix['command']} {what} on {ix['table']}: {bar} {'' if pct is None else f'{pct}% '}"
             f"{ix['phase']}{counts}{waiting}",
             migration_pid=self.pid, **ix)


def _percent(phase, bt, bd, tt, td, lt, ld) -> int | None:
    def pct(done, total):
        return max(0, min(100, int(100 * (done or 0) / total))) if total else None

    phase = phase or ""
    if phase.startswith("waiting"):
        return pct(ld, lt)
    if "scanning table" in phase:
        return pct(bd, bt)
    value = pct(td, tt)
    return value if value is not None else pct(bd, bt)


def _bar(percent: int | None, width: int = 20) -> str:
    if percent is None:
        return "[" + "·" * width + "]"
    full = int(width * percent / 100)
    return "[" + "#" * full + "-" * (width - full) + "]"


def _one_line(text: str | None, limit: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat[:limit] + ("…" if len(flat) > limit else "")


def start(project: Project | None, migration_pid: int, url: str, interval: float | None = None, reporter=None,
          poll: float | None = None) -> Monitor:
    """Start watching *migration_pid*; call ``.stop()`` when the run ends (the API does, in a finally)."""
    return Monitor(url, migration_pid, reporter if reporter is not None else getattr(project, "reporter", None),
                   interval=interval, poll=poll).start()


LATE_DELAY = 5.0   # seconds a run lasts before the monitor starts, outside protected environments


class Watch:
    """Starts the monitor after *delay* seconds unless stopped first; stops it with the run."""

    def __init__(self, project: Project, pid: int, url: str, delay: float):
        self._lock = threading.Lock()
        self._stopped = False
        self._monitor: Monitor | None = None
        self._args = (project, pid, url)
        self._timer: threading.Timer | None = None
        if delay <= 0:
            self._start()
        else:
            self._timer = threading.Timer(delay, self._start)
            self._timer.daemon = True
            self._timer.start()

    def _start(self) -> None:
        project, pid, url = self._args
        with self._lock:
            if self._stopped:
                return
            try:
                self._monitor = start(project, pid, url)
            except Exception as exc:  # noqa: BLE001 - the watcher must never break the run it watches
                emit(project.reporter, WARNING, f"the monitor could not start: {exc}", level="warning")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
            if self._monitor is not None:
                self._monitor.stop()


def watch(project: Project, pid: int, url: str, *, eager: bool) -> Watch:
    """The monitor for a run: from the start when *eager*, otherwise once the run has lasted
    LATE_DELAY seconds, so that even a dev run stuck behind a lock names its blocker."""
    return Watch(project, pid, url, delay=0.0 if eager else LATE_DELAY)
