"""The look before an attempt without a server: a scripted pg_locks, a clock that moves only when
the policy sleeps. Who counts as a blocker, when the wait gives up, the timeout ladder."""
from __future__ import annotations

import pytest

from pgshift.events import LOCK_WAIT, WARNING, RecordingReporter
from pgshift.execution.retry import CLEAR_PATH_ATTEMPTS, CLEAR_PATH_TIMEOUT, RetryPolicy, blocker_wait_expired
from pgshift.model import Location, Statement
from pgshift.sql import parse_one


def stmt(sql: str, index: int = 0) -> Statement:
    return Statement(index=index, sql=sql, offset=0, location=Location("m.sql", index + 1, 1),
                     kind=type(parse_one(sql)).__name__, node=parse_one(sql))


ALTER = stmt("ALTER TABLE t ADD COLUMN c int")
#        pid  application    state                  age  query                 mode               granted  wanted relation
READER = (42, "long-reader", "idle in transaction", 3.0, "SELECT * FROM t", "AccessShareLock", True, '"t"', "t")
YOUNG = (43, "app", "active", 0.01, "UPDATE t SET a = 1", "RowExclusiveLock", True, '"t"', "t")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedLocks:
    """A connection whose blocker query answers from *script* (the last answer repeats)."""

    def __init__(self, *script):
        self.script = list(script)
        self.queries: list[tuple] = []

    def execute(self, sql, params=None):
        self.queries.append(params)
        rows = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return type("Cursor", (), {"fetchall": lambda _self: rows})()


def policy(conn, blocker_wait=5.0, **kwargs):
    clock = Clock()
    rec = RecordingReporter()
    return RetryPolicy(conn, reporter=rec, sleep=clock.sleep, clock=clock, blocker_wait=blocker_wait, **kwargs), rec


def test_off_by_default_no_query_no_timeout():
    conn = ScriptedLocks([READER])
    p, _ = policy(conn, blocker_wait=0)
    assert p.before_attempt([ALTER], "v1", 1, 2.0) is None
    assert conn.queries == []


def test_a_statement_without_a_strong_lock_is_not_looked_at():
    conn = ScriptedLocks([READER])
    p, _ = policy(conn)
    assert p.before_attempt([stmt("UPDATE t SET a = 1")], "v1", 1, 2.0) is None
    assert p.before_attempt([stmt("CREATE INDEX CONCURRENTLY ON t (a)")], "v1", 1, 2.0) is None
    assert p.before_attempt([stmt("DO $$ BEGIN END $$")], "v1", 1, 2.0) is None
    assert conn.queries == []


def test_clear_way_attempts_at_once_with_the_short_timeout():
    conn = ScriptedLocks([YOUNG])          # the application's own short transactions are no blockers
    p, rec = policy(conn)
    assert p.before_attempt([ALTER], "v1", 1, 2.0) == CLEAR_PATH_TIMEOUT
    assert not rec.events
    names, modes = conn.queries[0]
    assert set(names) == {'"t"'} and "AccessShareLock" in modes and len(modes) == 8
    assert p.before_attempt([ALTER], "v1", 1, 0.05) == 0.05   # never above the configured lock_timeout


def test_waits_while_a_blocker_is_visible_naming_it_then_goes():
    conn = ScriptedLocks([READER], [READER], [READER], [])
    p, rec = policy(conn)
    assert p.before_attempt([ALTER], "v1", 1, 2.0) == CLEAR_PATH_TIMEOUT
    waits = [e for e in rec.events if e.kind == LOCK_WAIT]
    assert len(waits) == 2                 # named once (the set did not change), then the way is clear
    assert waits[0].level == "warning"
    assert ("m.sql:1:1: not queueing for AccessExclusiveLock on \"t\" while this session blocks it" in waits[0].message)
    assert ("pid 42 (long-reader, idle in transaction, transaction open 3s), holding AccessShareLock on t: "
            "SELECT * FROM t") in waits[0].message
    assert waits[0].data["blockers"][0]["pid"] == 42
    assert "the way is clear after 150ms" in waits[1].message


def test_the_wait_has_a_deadline_that_counts_every_attempt_of_the_statement():
    conn = ScriptedLocks([READER], [READER], [], [READER])
    p, _ = policy(conn, blocker_wait=0.2)
    assert p.before_attempt([ALTER], "v1", 1, 2.0) == CLEAR_PATH_TIMEOUT    # 0.1 s waited
    with pytest.raises(Exception) as info:
        p.before_attempt([ALTER], "v1", 2, 2.0)                             # the retry: 0.1 s more
    exc = info.value
    assert exc.sqlstate == "55P03" and blocker_wait_expired(exc)["blockers"][0]["pid"] == 42
    assert str(exc).startswith('gave up waiting 200ms (blocker_wait) to take AccessExclusiveLock on "t": pid 42')
    assert exc.pgshift_statement is ALTER
    assert not p.should_retry(exc, 1, "v1", ALTER)                         # the deadline is final
    # a new statement starts a new wait
    conn.script = [[]]
    assert p.before_attempt([ALTER], "v1", 1, 2.0) == CLEAR_PATH_TIMEOUT


def test_the_ladder_escalates_only_after_the_clear_path_attempts_and_says_so():
    p, rec = policy(ScriptedLocks([]), lock_retries=8)
    got = [p.before_attempt([ALTER], "v1", n, 2.0) for n in range(1, 9)]
    assert got == [0.2] * CLEAR_PATH_ATTEMPTS + [0.4, 0.8, 1.6, 2.0, 2.0]
    said = [e for e in rec.events if e.kind == WARNING and e.data.get("escalated")]
    assert [e.data["attempt"] for e in said] == [4, 5, 6, 7]
    assert "escalating: attempt 4 runs with lock_timeout 400ms (the configured lock_timeout 2s is the limit)" \
        in said[0].message
    # no configured timeout: the budget's last attempt runs without one
    p, _ = policy(ScriptedLocks([]), lock_retries=5)
    assert [p.before_attempt([ALTER], "v1", n, None) for n in range(1, 6)] == [0.2, 0.2, 0.2, 0.4, 0.0]


def test_a_batch_looks_but_keeps_its_timeout():
    shared = (44, "index-build", "idle in transaction", 2.0, "LOCK TABLE t IN SHARE MODE", "ShareLock", True,
              '"t"', "t")
    conn = ScriptedLocks([shared], [])
    p, rec = policy(conn)
    assert p.before_attempt([stmt("UPDATE t SET a = 1")], "v1", 1, 2.0, batch=True) is None
    assert any("pid 44 (index-build" in e.message for e in rec.events)
    assert set(conn.queries[0][1]) == {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}


def test_a_failed_look_is_only_advice():
    class Broken:
        def execute(self, *args):
            raise RuntimeError("permission denied for pg_locks")

    p, rec = policy(Broken())
    assert p.before_attempt([ALTER], "v1", 1, 2.0) == CLEAR_PATH_TIMEOUT
    assert "could not look for sessions blocking the lock" in rec.events[0].message
