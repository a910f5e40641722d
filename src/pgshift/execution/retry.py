"""Lock-timeout and deadlock retries: a budget of attempts, jittered exponential backoff, and a
wait that ends as soon as the session blocking the statement's tables has gone.

Look before you queue (``blocker_wait`` above 0): before each attempt to take a strong lock
(SHARE or stronger, which stalls every query behind it while it waits), the policy reads
``pg_locks`` for sessions holding or waiting for a conflicting lock on the tables the attempt
will lock, and while one is visible it waits, naming it, instead of entering the lock queue.
A visible blocker is one whose transaction is older than half the clear-path lock timeout:
the application's own short transactions finish within the attempt and are queued behind;
an autovacuum worker (which yields to a waiting lock) is not waited for. When the way is
clear the attempt runs with a short lock timeout (:data:`CLEAR_PATH_TIMEOUT`, at most the
configured one); only after :data:`CLEAR_PATH_ATTEMPTS` such attempts have timed out (a
blocker pgshift cannot see, or one that arrived just then) do the timeouts double toward
the configured lock_timeout, which stays the limit, and an event says so. The wait for a
visible blocker has its own deadline (``blocker_wait``, per statement): when it passes, the
statement fails as a spent retry budget does (SQLSTATE 55P03, exit 1).

The executor and the batches share one :class:`RetryPolicy` per run: batching asks it,
never the executor, whether a failed batch may be tried again.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from .. import db
from ..events import LOCK_WAIT, RETRY, WARNING, emit
from ..model import Statement
from ..text import format_duration
from .failure import first_line

CLEAR_PATH_TIMEOUT = 0.2     # seconds: the lock_timeout of an attempt made when the way looked clear
CLEAR_PATH_ATTEMPTS = 3      # attempts at that timeout before the timeouts grow toward the configured one
LOOK_EVERY = 0.05            # seconds between looks while a blocker is visible
SAY_EVERY = 10.0             # seconds between "still waiting" events (and whenever the blockers change)

# the sessions holding or waiting for a lock in one of the given modes on one of the given tables, an
# index standing for its table too and a table for its partitions and inheritance children (an ALTER
# TABLE recurses to them); autovacuum is left out unless it prevents wraparound (it yields to a waiter)
_BLOCKERS = """
WITH RECURSIVE wanted AS (
  SELECT w.name, w.mode, to_regclass(w.name) AS oid FROM unnest(%s::text[], %s::text[]) AS w(name, mode)
), base AS (
  SELECT name, mode, oid FROM wanted WHERE oid IS NOT NULL
  UNION SELECT w.name, w.mode, i.indrelid FROM wanted w JOIN pg_index i ON i.indexrelid = w.oid
), target AS (
  SELECT name, mode, oid FROM base
  UNION SELECT t.name, t.mode, h.inhrelid FROM target t JOIN pg_inherits h ON h.inhparent = t.oid
)
SELECT l.pid, a.application_name, a.state,
       extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::float8,
       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200), l.mode, l.granted, t.name,
       l.relation::regclass::text
FROM target t
JOIN pg_locks l ON l.locktype = 'relation' AND l.relation = t.oid AND l.mode = t.mode
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.pid IS DISTINCT FROM pg_backend_pid()
  AND NOT (coalesce(a.backend_type, '') = 'autovacuum worker' AND a.query NOT LIKE '%%(to prevent wraparound)%%')
ORDER BY a.xact_start NULLS FIRST, l.pid
"""


@dataclass(frozen=True)
class Blocker:
    """A session holding or waiting for a lock that conflicts with the one an attempt needs."""
    pid: int | None                 # None: a prepared transaction
    application_name: str | None
    state: str | None
    transaction_seconds: float | None
    query: str | None
    mode: str
    granted: bool
    relation: str                   # the table (or partition, or index) the lock is on
    wanted: str                     # the table of the statement it stands in the way of

    def describe(self) -> str:
        """As the monitor names a blocker: pid, application, state, transaction age, query."""
        if self.pid is None:
            return f"a prepared transaction (see pg_prepared_xacts) holding {self.mode} on {self.relation}"
        age = (f", transaction open {format_duration(self.transaction_seconds)}" if self.transaction_seconds is not None
               else "")
        how = "holding" if self.granted else "waiting for"
        return (f"pid {self.pid} ({self.application_name or 'no application_name'}, {self.state}{age}), "
                f"{how} {self.mode} on {self.relation}: {self.query or ''}")

    def to_dict(self) -> dict:
        return {"pid": self.pid, "application_name": self.application_name, "state": self.state,
                "transaction_seconds": self.transaction_seconds, "query": self.query, "mode": self.mode,
                "granted": self.granted, "relation": self.relation, "wanted": self.wanted}


@dataclass
class RetryPolicy:
    """When and how long to wait before another attempt (lock timeouts and deadlocks only)."""
    conn: object
    lock_retries: int = 8                   # attempts in all, the first included
    retry_base: float = 0.5
    retry_max: float = 30.0
    lock_timeout: float | None = None
    reporter: object = None
    sleep: Callable[[float], None] = time.sleep
    blocker_wait: float = 0.0               # seconds a statement may wait for visible blockers; 0: no look
    clock: Callable[[], float] = time.monotonic
    _waited: float = field(default=0.0, init=False, repr=False)   # this statement's wait so far

    def should_retry(self, exc, attempt: int, version: str, stmt: Statement) -> bool:
        """Whether to try *stmt* again after *exc* (a lock timeout or deadlock, within the budget);
        when so, waits first: the jittered backoff, cut short as soon as the blocker has gone."""
        if blocker_wait_expired(exc):
            return False
        sqlstate = db.sqlstate(exc)
        if sqlstate not in db.LOCK_CONFLICTS or attempt >= max(1, self.lock_retries):
            return False
        delay = min(self.retry_max, self.retry_base * (2 ** (attempt - 1)))
        delay = random.uniform(delay / 2, delay)
        what = "lock timeout" if sqlstate == db.LOCK_NOT_AVAILABLE else "deadlock"
        relations = self.relations(stmt)
        holder = self.long_lock_holder(relations) if relations else None
        emit(self.reporter, RETRY,
             f"{stmt.location}: {what} ({first_line(exc)}); retry {attempt} of "
             f"{self.lock_retries - 1} in at most {format_duration(delay)}, as soon as "
             + (f"{holder} lets go" if holder else "the lock is free"),
             level="warning", version=version, attempt=attempt, delay=delay, sqlstate=sqlstate,
             holder=holder)
        self.wait_for_lock(relations, delay)
        return True

    def relations(self, stmt: Statement) -> tuple[str, ...]:
        from ..sql import referenced_relations  # noqa: PLC0415

        return referenced_relations(stmt.node) if stmt.node is not None else ()

    def long_lock_holder(self, relations: tuple[str, ...]) -> str | None:
        """A session holding a lock on one of *relations* in a transaction older than half the
        lock timeout: what the next attempt would queue behind."""
        threshold = max(0.05, (self.lock_timeout or 1.0) / 2)
        try:
            row = self.conn.execute(
                "SELECT a.pid, a.application_name, a.state, "
                "round(extract(epoch FROM now() - a.xact_start)::numeric, 1), "
                "left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80) "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() "
                "AND l.relation = ANY (SELECT to_regclass(n) FROM unnest(%s::text[]) AS n) "
                "AND a.xact_start < now() - make_interval(secs => %s) "
                "ORDER BY a.xact_start LIMIT 1", (list(relations), threshold)).fetchone()
        except Exception:  # noqa: BLE001 - only advice: never let it break a retry
            return None
        if row is None:
            return None
        pid, app, state, age, query = row
        return (f"pid {pid} ({app or 'no application_name'}, {state}, "
                f"transaction {format_duration(float(age))} old: {query})")

    def wait_for_lock(self, relations: tuple[str, ...], delay: float) -> None:
        """Back off for *delay* at most, but retry as soon as no long transaction holds a lock
        on the statement's tables: no attempt queues behind a blocker that is still there, and
        none waits long after it has gone."""
        start = time.monotonic()
        deadline = start + delay
        floor = start + min(delay, 0.1)
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            if relations and now >= floor and self.long_lock_holder(relations) is None:
                return
            self.sleep(min(0.1, deadline - now))

    # -- look before you queue -------------------------------------------------------------------

    def before_attempt(self, statements, version: str, attempt: int, limit: float | None, *,
                       batch: bool = False) -> float | None:
        """Look before attempt number *attempt* of *statements* (one statement, a file's transaction
        or a batch): while a session that blocks the locks they need is visible, wait for it; raise
        the deadline's error (a LockNotAvailable) when ``blocker_wait`` has passed.

        Returns the lock_timeout for the attempt in seconds (0: none), or None to leave the session's:
        when the look is off, when the statements take no strong lock (a *batch* looks all the same,
        as its retries would spend the budget behind a visible DDL, but keeps its timeout, which its
        row locks need). *limit* is the configured lock_timeout for these statements (None: none)."""
        if self.blocker_wait <= 0:
            return None
        locks = self.locks(statements)
        strong = any(_strong(mode) for _stmt, _name, mode in locks)
        if not locks or not (strong or batch):
            return None
        if attempt <= 1:
            self._waited = 0.0
        short = min(CLEAR_PATH_TIMEOUT, limit) if limit else CLEAR_PATH_TIMEOUT
        self.wait_for_clear_path(locks, version, visible_after=short / 2)
        if not strong:
            return None
        return self.attempt_timeout(attempt, limit, short, version, locks[0][0])

    def locks(self, statements) -> list[tuple[Statement, str, str]]:
        """(statement, table, mode) of every table lock *statements* take, as the parse tree tells."""
        from ..sql.classify import lock_modes  # noqa: PLC0415

        out = []
        for stmt in statements:
            try:
                modes = lock_modes(stmt.node) if stmt.node is not None else {}
            except Exception:  # noqa: BLE001 - a gap in the prediction must never break a run
                modes = {}
            out.extend((stmt, name, mode) for name, mode in modes.items())
        return out

    def attempt_timeout(self, attempt: int, limit: float | None, short: float, version: str,
                        stmt: Statement) -> float:
        """The clear-path ladder: CLEAR_PATH_ATTEMPTS attempts at *short*, then doubling, the budget's
        last attempt at the configured *limit* itself; never above it. Says so when it grows."""
        def at(n: int) -> float:
            top = limit or math.inf
            if n <= CLEAR_PATH_ATTEMPTS:
                return short
            if n >= max(1, self.lock_retries):
                return top
            return min(top, short * 2 ** (n - CLEAR_PATH_ATTEMPTS))

        timeout = at(attempt)
        if attempt > CLEAR_PATH_ATTEMPTS and timeout > at(attempt - 1):
            shown = "no lock timeout" if math.isinf(timeout) else f"lock_timeout {format_duration(timeout)}"
            emit(self.reporter, WARNING,
                 f"{stmt.location}: {attempt - 1} attempt(s) timed out although no blocker was visible (a session "
                 f"pgshift cannot see, or one that came just then); escalating: attempt {attempt} runs with "
                 f"{shown} (the configured "
                 + (f"lock_timeout {format_duration(limit)}" if limit else "setting, no lock timeout")
                 + " is the limit)", level="warning", version=version, attempt=attempt,
                 lock_timeout=None if math.isinf(timeout) else timeout, escalated=True)
        return 0.0 if math.isinf(timeout) else timeout

    def visible_blockers(self, locks, visible_after: float) -> list[Blocker]:
        """Sessions holding or waiting for a lock that conflicts with one of *locks* (an index's
        table counts as the index), in a transaction older than *visible_after* seconds."""
        from ..sql.classify import conflicting_modes  # noqa: PLC0415

        pairs = sorted({(name, other) for _stmt, name, mode in locks for other in conflicting_modes(mode)})
        if not pairs:
            return []
        rows = self.conn.execute(_BLOCKERS, ([n for n, _ in pairs], [m for _, m in pairs])).fetchall()
        found: dict[object, Blocker] = {}
        for pid, app, state, age, query, mode, granted, name, relation in rows:
            key = pid if pid is not None else ("prepared", relation, mode)
            if key in found or (pid is not None and (age or 0.0) < visible_after):
                continue
            found[key] = Blocker(pid, app, state, round(age, 1) if age is not None else None, query, mode,
                                 bool(granted), relation, name)
        return list(found.values())

    def wait_for_clear_path(self, locks, version: str, visible_after: float) -> None:
        """Wait while a blocker is visible, naming it (at once, whenever the set changes, and every
        SAY_EVERY seconds); raise when this statement's waits add up to more than blocker_wait."""
        started = last = self.clock()
        said_at, said = -math.inf, None
        while True:
            try:
                blockers = self.visible_blockers(locks, visible_after)
            except Exception as exc:  # noqa: BLE001 - only a look: the attempt goes on under its lock timeout
                emit(self.reporter, WARNING, f"{locks[0][0].location}: could not look for sessions blocking the "
                     f"lock ({first_line(exc)}); attempting", level="warning", version=version)
                return
            now = self.clock()
            self._waited += now - last
            last = now
            if not blockers:
                if said is not None:
                    stmt = locks[0][0]
                    emit(self.reporter, LOCK_WAIT,
                         f"{stmt.location}: the way is clear after {format_duration(now - started)}; attempting",
                         version=version, waited=round(now - started, 3), blockers=[])
                return
            stmt, name, mode = _needing(locks, blockers[0])
            if self._waited >= self.blocker_wait:
                raise _expired(self.blocker_wait, stmt, name, mode, blockers)
            pids = tuple(b.pid for b in blockers)
            if pids != said or now - said_at >= SAY_EVERY:
                said, said_at = pids, now
                emit(self.reporter, LOCK_WAIT,
                     f"{stmt.location}: not queueing for {mode} on {name} while "
                     + ("this session blocks it" if len(blockers) == 1 else "these sessions block it")
                     + f" (waiting for them at most {format_duration(self.blocker_wait)}, blocker_wait):\n"
                     + "\n".join(f"    {b.describe()}" for b in blockers),
                     level="warning", version=version, relation=name, mode=mode,
                     blockers=[b.to_dict() for b in blockers], waited=round(now - started, 3))
            self.sleep(max(0.0, min(LOOK_EVERY, self.blocker_wait - self._waited)))


def _strong(mode: str) -> bool:
    from ..sql.classify import is_strong  # noqa: PLC0415

    return is_strong(mode)


def _needing(locks, blocker: Blocker) -> tuple[Statement, str, str]:
    """The (statement, table, mode) of *locks* that *blocker* stands in the way of."""
    from ..sql.classify import conflicting_modes  # noqa: PLC0415

    for stmt, name, mode in locks:
        if name == blocker.wanted and blocker.mode in conflicting_modes(mode):
            return stmt, name, mode
    return locks[0]


def _expired(wait: float, stmt: Statement, name: str, mode: str, blockers: list[Blocker]) -> Exception:
    """The error of a wait for a visible blocker that ran out: a LockNotAvailable (SQLSTATE 55P03), as
    a spent retry budget ends, naming the blockers; marked, so that nobody retries it."""
    import psycopg  # noqa: PLC0415

    exc = psycopg.errors.LockNotAvailable(
        f"gave up waiting {format_duration(wait)} (blocker_wait) to take {mode} on {name}: "
        + "; ".join(b.describe() for b in blockers))
    exc.pgshift_blocker_wait = {"blocker_wait": wait, "relation": name, "mode": mode,
                                "blockers": [b.to_dict() for b in blockers]}
    exc.pgshift_statement = stmt
    return exc


def blocker_wait_expired(exc) -> dict | None:
    """What the wait that raised *exc* saw, when *exc* is the error of an expired blocker wait."""
    return getattr(exc, "pgshift_blocker_wait", None)
