"""Lock-timeout and deadlock retries: a budget of attempts, jittered exponential backoff, and a
wait that ends as soon as the session blocking the statement's tables has gone.

The executor and the batches share one :class:`RetryPolicy` per run: batching asks it,
never the executor, whether a failed batch may be tried again.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from .. import db
from ..events import RETRY, emit
from ..model import Statement
from ..text import format_duration
from .failure import first_line


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

    def should_retry(self, exc, attempt: int, version: str, stmt: Statement) -> bool:
        """Whether to try *stmt* again after *exc* (a lock timeout or deadlock, within the budget);
        when so, waits first: the jittered backoff, cut short as soon as the blocker has gone."""
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
        return f"pid {pid} ({app or 'no application_name'}, {state}, transaction {age}s old: {query})"

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
