"""The rollout's state in a control database: one row per rollout, one per target.

Workers (``pgshift fleet up`` processes on any number of machines) share a rollout through these
tables alone. A worker claims a target with ``FOR UPDATE SKIP LOCKED`` and holds it by a lease,
renewed by a heartbeat thread; a target whose lease ran out (its worker died) is claimed again by
another worker, whose ``up`` finds in the target's own ledger what the dead one did. Claims of one
rollout take a transaction advisory lock first, so per-host caps hold across workers (a claim is
one short statement: the lock serialises milliseconds, never a migration).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..db import connect

SCHEMA = "pgshift_fleet"
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
_LOCK_KEY = 0x70676673   # "pgfs": the advisory lock class of the control tables

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.rollouts (
  id text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  fingerprint text NOT NULL,
  latest text,
  state text NOT NULL DEFAULT 'running',
  stopped_reason text,
  stages jsonb NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.targets (
  rollout text NOT NULL REFERENCES {SCHEMA}.rollouts ON DELETE CASCADE,
  name text NOT NULL,
  url text NOT NULL,
  tenant_schema text,
  labels jsonb NOT NULL DEFAULT '{{}}',
  stage int NOT NULL DEFAULT 0,
  host text NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  attempts int NOT NULL DEFAULT 0,
  worker text,
  lease_until timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  duration_ms bigint,
  version text,
  applied int,
  up_to_date boolean,
  error text,
  PRIMARY KEY (rollout, name)
);
CREATE INDEX IF NOT EXISTS targets_claim ON {SCHEMA}.targets (rollout, stage, state);
"""


@dataclass(frozen=True)
class Claimed:
    """A target a worker holds."""
    name: str
    url: str
    schema: str | None
    labels: dict
    stage: int
    attempts: int


def open_control(url: str):
    """A connection to the control database, its tables made if need be (once, under a lock)."""
    conn = connect(url, application_name="pgshift-fleet")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_KEY,))
        conn.execute(DDL)
    return conn


def register(conn, rollout: str, fingerprint: str, latest: str | None, stages: list, targets, stage_of) -> None:
    """Make the rollout (unless it exists) and add the targets it does not have yet; a stopped
    rollout is opened again (its failed targets stay parked)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_KEY, rollout))
        conn.execute(f"INSERT INTO {SCHEMA}.rollouts (id, fingerprint, latest, stages) VALUES (%s, %s, %s, %s) "
                     f"ON CONFLICT (id) DO UPDATE SET state = 'running', stopped_reason = NULL",
                     (rollout, fingerprint, latest, json.dumps(stages)))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {SCHEMA}.targets (rollout, name, url, tenant_schema, labels, stage, host) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(rollout, t.name, t.url, t.schema, json.dumps(t.labels), stage_of(t), t.host) for t in targets])


def retry_failed(conn, rollout: str) -> int:
    """``--only-failed``: the parked (failed) targets back to pending; how many."""
    return conn.execute(f"UPDATE {SCHEMA}.targets SET state = 'pending' WHERE rollout = %s AND state = 'failed'",
                        (rollout,)).rowcount


def claim(conn, rollout: str, stage: int, worker: str, lease: float, per_host: int | None,
          only_failed: bool) -> Claimed | None:
    """One target of *stage* for *worker*: a pending one, or one whose lease ran out; None when
    none can be claimed now (all taken, or their hosts at the cap)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_KEY, rollout))
        row = conn.execute(
            f"""UPDATE {SCHEMA}.targets t
                SET state = 'running', worker = %(worker)s, attempts = t.attempts + 1, error = NULL,
                    lease_until = clock_timestamp() + make_interval(secs => %(lease)s), started_at = now()
                WHERE (t.rollout, t.name) = (
                  SELECT c.rollout, c.name FROM {SCHEMA}.targets c
                  WHERE c.rollout = %(rollout)s AND c.stage = %(stage)s
                    AND (c.state = 'pending' OR (c.state = 'running' AND c.lease_until < clock_timestamp()))
                    AND (NOT %(only_failed)s OR c.attempts > 0)
                    AND (%(cap)s::int IS NULL OR (
                      SELECT count(*) FROM {SCHEMA}.targets r
                      WHERE r.rollout = c.rollout AND r.host = c.host AND r.state = 'running'
                        AND r.lease_until >= clock_timestamp()) < %(cap)s::int)
                  ORDER BY c.name
                  LIMIT 1
                  FOR UPDATE SKIP LOCKED)
                RETURNING t.name, t.url, t.tenant_schema, t.labels, t.stage, t.attempts""",
            {"worker": worker, "lease": lease, "rollout": rollout, "stage": stage, "only_failed": only_failed,
             "cap": per_host}).fetchone()
    return Claimed(*row) if row else None


def heartbeat(conn, rollout: str, worker: str, lease: float) -> None:
    """Renew the lease of every target *worker* holds."""
    conn.execute(f"UPDATE {SCHEMA}.targets SET lease_until = clock_timestamp() + make_interval(secs => %s) "
                 "WHERE rollout = %s AND worker = %s AND state = 'running'", (lease, rollout, worker))


def finish(conn, rollout: str, name: str, worker: str, state: str, *, duration_ms: int, version: str | None = None,
           applied: int = 0, up_to_date: bool = False, error: str | None = None) -> bool:
    """Record a target's end (done or failed); False when the worker no longer held it."""
    return conn.execute(
        f"UPDATE {SCHEMA}.targets SET state = %s, finished_at = now(), duration_ms = %s, version = %s, applied = %s, "
        "up_to_date = %s, error = %s, lease_until = NULL "
        "WHERE rollout = %s AND name = %s AND worker = %s AND state = 'running'",
        (state, duration_ms, version, applied, up_to_date, error, rollout, name, worker)).rowcount == 1


def stop(conn, rollout: str, reason: str) -> None:
    """Stop the rollout: no worker claims another target of it."""
    conn.execute(f"UPDATE {SCHEMA}.rollouts SET state = 'stopped', stopped_reason = coalesce(stopped_reason, %s) "
                 "WHERE id = %s", (reason, rollout))


def stopped(conn, rollout: str) -> str | None:
    """Why the rollout stopped, or None while it runs."""
    row = conn.execute(f"SELECT state, stopped_reason FROM {SCHEMA}.rollouts WHERE id = %s", (rollout,)).fetchone()
    return (row[1] or "stopped") if row and row[0] == "stopped" else None


def stage_counts(conn, rollout: str, stage: int) -> dict[str, int]:
    """How many targets of *stage* are in each state."""
    return dict(conn.execute(f"SELECT state, count(*) FROM {SCHEMA}.targets WHERE rollout = %s AND stage = %s "
                             "GROUP BY state", (rollout, stage)).fetchall())


def stage_open(conn, rollout: str, stage: int, only_failed: bool) -> bool:
    """Whether a target of *stage* is still to do (with *only_failed*: one tried before) or running."""
    return conn.execute(f"SELECT EXISTS (SELECT FROM {SCHEMA}.targets WHERE rollout = %s AND stage = %s AND "
                        "(state = 'running' OR (state = 'pending' AND (NOT %s OR attempts > 0))))",
                        (rollout, stage, only_failed)).fetchone()[0]


def failures(conn, rollout: str) -> int:
    """How many targets of the rollout failed."""
    return conn.execute(f"SELECT count(*) FROM {SCHEMA}.targets WHERE rollout = %s AND state = 'failed'",
                        (rollout,)).fetchone()[0]


def latest_rollout(conn) -> str | None:
    """The newest rollout's id."""
    row = conn.execute(f"SELECT id FROM {SCHEMA}.rollouts ORDER BY created_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def summary(conn, rollout: str) -> dict:
    """The rollout as ``fleet status`` shows it."""
    head = conn.execute(f"SELECT state, stopped_reason, latest, fingerprint, stages FROM {SCHEMA}.rollouts "
                        "WHERE id = %s", (rollout,)).fetchone()
    if head is None:
        return {}
    rows = conn.execute(f"SELECT name, state, version, error, stage, attempts, up_to_date FROM {SCHEMA}.targets "
                        "WHERE rollout = %s ORDER BY stage, name", (rollout,)).fetchall()
    return {"state": head[0], "stopped_reason": head[1], "latest": head[2], "fingerprint": head[3],
            "stages": head[4], "targets": rows}


def places(conn, rollout: str) -> dict:
    """Each target of *rollout* that is done: name -> (url, tenant schema)."""
    return {name: (url, schema) for name, url, schema in conn.execute(
        f"SELECT name, url, tenant_schema FROM {SCHEMA}.targets WHERE rollout = %s AND state = 'done'",
        (rollout,)).fetchall()}
