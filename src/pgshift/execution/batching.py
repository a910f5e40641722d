"""Batched data changes (``-- pgshift:batch size=N [sleep=D] [max-replica-lag=D]``).

A batched statement runs as many short transactions instead of one long one,
so that it never holds row locks for longer than one batch, and its WAL
reaches the replicas in small steps. Each batch is its own transaction, and
the progress (batches, rows, the last key) is written to the ledger event *in
that same transaction*: a rerun after a crash or Ctrl-C continues exactly
after the last committed batch, never repeating or skipping one.

Two modes, read from the parse tree (``statements.BatchShape``):

- self-limiting: the statement's row selection has a LIMIT
  (``WHERE id IN (SELECT id ... WHERE NOT done LIMIT 1000)``); it is run again
  and again until it changes no row. Its WHERE must exclude the rows it has
  already changed; a statement that keeps changing rows long after it has
  changed every row of its table three times over is stopped.
- key-range: pgshift walks the target table's single-column primary key in
  ranges of N keys (``SELECT max(k) FROM (SELECT k ... WHERE k > last ORDER BY
  k LIMIT N)``, an index-only walk) and runs the statement once per range, the
  range ``k > $1 AND k <= $2`` added to its own WHERE through the parse tree.

Every batch gets the session's ``lock_timeout``; a batch that fails on a lock
timeout or a deadlock is rolled back and retried with the executor's backoff
(the run's ``retry.RetryPolicy``), and the rest of the backfill goes on from there.
Before each attempt the policy looks before it queues: while a session visibly holds a lock
that conflicts with the batch's (SHARE or stronger on its table), the batch waits for it,
naming it, up to ``blocker_wait``, instead of spending its retries behind it.

Entry points: :func:`run_batched` (called by the executor for each batched
statement), :func:`precheck` (before anything of a file runs: a key-range
statement on a table without a usable key is refused), :func:`describe_batches`
(``--dry-run``: the mode and the rewritten statement).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .. import ledger as ledger_mod
from .. import resume
from ..db import qualified
from ..errors import InputError, OperationError
from ..events import INFO, RESUME, WARNING, emit
from ..model import ParsedFile, Statement
from ..text import caret_context, format_duration, parse_duration
from .batch_walk import KEY_RANGE, SELF_LIMITING, KeyRange, Progress, Runaway, SelfLimiting, display
from .retry import RetryPolicy

LAG_POLL = 1.0            # seconds between replica-lag checks while paused
LAG_REPORT_EVERY = 10.0   # seconds between "still paused" lines


@dataclass
class BatchContext:
    """What a batched statement runs with: the run's connection, ledger, reporter and retry
    policy (the same one the executor uses), and what was already said during this run."""
    conn: object
    ledger: ledger_mod.Ledger
    reporter: object
    retry: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    said: set = field(default_factory=set)

# statements before a batched one that may give its table a key (checked at run time then)
_DDL_ON_A_TABLE = ("CreateStmt", "AlterTableStmt", "IndexStmt")
_OPAQUE = ("DoStmt", "CallStmt", "ExecuteStmt", "CreateTableAsStmt", "RenameStmt", "DropStmt")


# --- the directive and the key ---------------------------------------------------------

@dataclass(frozen=True)
class BatchSpec:
    size: int
    sleep: float = 0.0
    max_replica_lag: float | None = None


def batch_spec(stmt: Statement) -> BatchSpec:
    directive = stmt.directive("batch")
    if directive is None:
        raise ValueError(f"{stmt.location}: not a batched statement")
    args = directive.args
    return BatchSpec(
        size=int(args["size"]),
        sleep=parse_duration(args.get("sleep", "0")),
        max_replica_lag=parse_duration(args["max-replica-lag"]) if "max-replica-lag" in args else None,
    )


def relation_exists(conn, relation) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified(*relation),)).fetchone()[0]


def primary_key_columns(conn, relation) -> list[tuple[str, str]]:
    """[(column, type)] of the table's primary key, in key order; [] when it has none."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY k.n", (qualified(*relation),)).fetchall()]


def primary_key(conn, schema: str | None, table: str) -> tuple[str, str] | None:
    """(column, type) of the table's single-column primary key, or None."""
    cols = primary_key_columns(conn, (schema, table))
    return cols[0] if len(cols) == 1 else None


class _Refused(Exception):
    """Why a statement cannot be batched by key ranges (message, hint)."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


def _alternative_hint(shape, spec: BatchSpec, why_key: str) -> str:
    example = shape.self_limiting_alternative(spec.size)
    lines = [why_key,
             "or make the statement limit itself; that needs no key, and pgshift runs it until it changes no row:"]
    if example:
        lines.append(f"  {example}")
        lines.append("(its WHERE must leave out the rows it has already changed, e.g. WHERE NOT migrated)")
    else:
        lines.append("  ... WHERE <key> IN (SELECT <key> FROM <table> WHERE <not yet done> LIMIT "
                     f"{spec.size})")
    return "\n".join(lines)


def _refusal_for_key(shape, spec: BatchSpec, keys: list[str] | tuple[str, ...]) -> _Refused:
    table = display(shape.relation)
    if not keys:
        what = f"table {table} has no primary key"
    else:
        what = f"the primary key of {table} has {len(keys)} columns ({', '.join(keys)})"
    return _Refused(
        f"cannot batch this {shape.verb} by key ranges: {what}; pgshift walks a single-column primary key",
        _alternative_hint(shape, spec, f"give {table} a single-column primary key, "))


def _refusal_for_shape(shape, spec: BatchSpec) -> _Refused:
    return _Refused(
        f"cannot batch this {shape.verb} by key ranges: its rows do not come from a single table",
        _alternative_hint(shape, spec, "give it a single source table, "))


def _check_walk(shape, spec: BatchSpec, key: str) -> None:
    """A statement that moves rows ahead of the walk would meet them again: refused."""
    table = display(shape.relation)
    if key in shape.assigned_columns:
        raise _Refused(f"cannot batch this UPDATE by key ranges: it changes {table}.{key}, the key pgshift walks, "
                       "so rows could move into ranges still to come and be changed twice",
                       _alternative_hint(shape, spec, "leave the key alone, "))
    if shape.inserts_into_source:
        raise _Refused(f"cannot batch this INSERT ... SELECT by key ranges: it inserts into {table}, the table "
                       "whose key pgshift walks, so the walk would reach the rows it inserts",
                       "select from a copy or a snapshot of the rows, or give the SELECT a LIMIT and a NOT EXISTS "
                       "so that it limits itself")


def _key_for(conn, shape, spec: BatchSpec) -> tuple[str, str]:
    """(column, type) of the key to walk; raises _Refused."""
    if shape.relation is None:
        raise _refusal_for_shape(shape, spec)
    cols = primary_key_columns(conn, shape.relation)
    if len(cols) != 1:
        if not relation_exists(conn, shape.relation):
            raise _Refused(f"cannot batch this {shape.verb}: table {display(shape.relation)} does not exist",
                           "create it in an earlier statement or migration")
        raise _refusal_for_key(shape, spec, [c for c, _ in cols])
    _check_walk(shape, spec, cols[0][0])
    return cols[0]


def _input_error(parsed: ParsedFile, stmt: Statement, refused: _Refused) -> InputError:
    return InputError(refused.message, location=stmt.location, context=caret_context(parsed.text, stmt.offset),
                      hint=refused.hint, details={"statement": stmt.index + 1})


# --- before anything runs -------------------------------------------------------------

def precheck(conn, parsed: ParsedFile, start: int = 0) -> None:
    """Refuse, before anything of the file runs, a key-range batched statement whose
    table has no usable single-column primary key (InputError, exit 2).

    Tables that exist are read from the catalog; a table created earlier in the same
    file is judged from its CREATE TABLE; anything else (a table an earlier pending
    file creates, one altered earlier in this file) is checked when its statement
    is reached. Only statements from index *start* on are checked (a resumed file).
    """
    from ..sql import batch_shape  # noqa: PLC0415

    created: dict[str, object] = {}   # table name -> its key as created in this file (None: cannot tell)
    opaque = False                    # an earlier statement may have changed any table (DO, CALL, ...)
    for stmt in parsed.statements:
        _track_created(created, stmt)
        if stmt.kind in _OPAQUE:
            opaque = True
        if stmt.index < start or not stmt.directive("batch"):
            continue
        shape = batch_shape(stmt.node)
        if shape.self_limiting:
            continue
        spec = batch_spec(stmt)
        try:
            if shape.relation is None:
                raise _refusal_for_shape(shape, spec)
            if shape.relation[1] in created:
                keys = created[shape.relation[1]]
                if keys is not None and len(keys) != 1:
                    raise _refusal_for_key(shape, spec, keys)
                if keys:
                    _check_walk(shape, spec, keys[0])
                continue
            if not opaque and relation_exists(conn, shape.relation):
                _key_for(conn, shape, spec)
        except _Refused as refused:
            raise _input_error(parsed, stmt, refused) from None


def _track_created(created: dict, stmt: Statement) -> None:
    """Note what *stmt* tells of a table's key: a CREATE TABLE gives it (from the parse
    tree), an ALTER TABLE or CREATE INDEX makes it unknowable from the text."""
    from ..sql import created_primary_key  # noqa: PLC0415

    relation = getattr(stmt.node, "relation", None) if stmt.kind in _DDL_ON_A_TABLE else None
    if relation is None or not hasattr(relation, "relname"):
        return
    created[relation.relname] = created_primary_key(stmt.node) if stmt.kind == "CreateStmt" else None


def _printed(stmt: Statement) -> str:
    """The statement on one line as pglast prints it (comments dropped, so a `--` in the
    file cannot swallow the rest of the line)."""
    from ..sql import deparse  # noqa: PLC0415

    try:
        return deparse(stmt.node)
    except Exception:  # noqa: BLE001 - a printer gap must not break a dry run
        return stmt.sql


def describe_batches(parsed: ParsedFile, conn=None, earlier: tuple[ParsedFile, ...] | list = ()) -> list[str]:
    """For ``--dry-run``: one entry per batched statement of *parsed*: its mode, and in
    key-range mode the statement as each batch runs it.

    The key is read from the CREATE TABLE when this file or one of the *earlier*
    files of the plan creates the table, else from the catalog through *conn*.
    Never raises for a statement that cannot be batched: the entry says why.
    """
    from ..sql import batch_shape  # noqa: PLC0415

    out: list[str] = []
    created: dict[str, object] = {}
    for other in earlier:
        for stmt in other.statements:
            _track_created(created, stmt)
    for stmt in parsed.statements:
        _track_created(created, stmt)
        if not stmt.directive("batch"):
            continue
        spec = batch_spec(stmt)
        shape = batch_shape(stmt.node)
        throttle = ""
        if spec.sleep:
            throttle += f", sleep {format_duration(spec.sleep)} between batches"
        if spec.max_replica_lag is not None:
            throttle += f", pausing while replica lag > {format_duration(spec.max_replica_lag)}"
        if shape.self_limiting:
            out.append(f"{stmt.location}: batched {shape.verb}, {SELF_LIMITING} (a LIMIT in its row selection): "
                       f"run again, one transaction each, until it changes no row{throttle}\n"
                       f"    {_printed(stmt)}")
            continue
        key, key_type = "<primary key>", None
        try:
            if shape.relation is None:
                raise _refusal_for_shape(shape, spec)
            known = created.get(shape.relation[1], ...)
            if known is not ... and known is not None:
                if len(known) != 1:
                    raise _refusal_for_key(shape, spec, known)
                key = known[0]
                _check_walk(shape, spec, key)
            elif conn is not None and relation_exists(conn, shape.relation):
                try:
                    key, key_type = _key_for(conn, shape, spec)
                except _Refused:
                    if known is ...:   # an earlier statement may still give it a key
                        raise
        except _Refused as refused:
            out.append(f"{stmt.location}: {refused.message}\n    " + refused.hint.replace("\n", "\n    "))
            continue
        typed = f" ({key_type})" if key_type else ""
        out.append(
            f"{stmt.location}: batched {shape.verb}, {KEY_RANGE} over {display(shape.relation)}.{key}{typed}, "
            f"{spec.size} keys per batch{throttle}; each batch runs\n"
            f"    {shape.rewrite(key, with_lower=True)}\n"
            f"    ($1, $2: the bounds of the batch's key range; the first batch has only {key} <= $1)")
    return out


# --- running -----------------------------------------------------------------------------

def run_batched(executor: BatchContext, step, stmt: Statement, event_id: int, details: dict) -> int:
    """Run one batched statement to the end; return the rows it changed in this run.

    *details* is the executor's details dict for the ledger event: the batch state
    is kept in it (``details["batch"]``), updated after every committed batch, so
    that when the executor runs the statement again (a retry) it continues too.
    """
    from ..sql import batch_shape  # noqa: PLC0415

    conn = executor.conn
    spec = batch_spec(stmt)
    shape = batch_shape(stmt.node)

    digest = resume.statement_digest(stmt.sql)
    prior = details.get("batch")
    if not (isinstance(prior, dict) and prior.get("statement") == stmt.index):
        prior = _interrupted_progress(executor, step, stmt, event_id)
    prior = _unless_changed(executor, step, stmt, prior, digest)
    state = dict(prior or {})
    state["sha256"] = digest   # a rerun of the edited file continues the batches only if this statement is the same
    state.setdefault("statement", stmt.index)
    state.setdefault("batches", 0)
    state.setdefault("rows", 0)
    state["size"] = spec.size
    state.pop("done", None)
    resumed = state["batches"] > 0

    try:
        if shape.self_limiting:
            state["mode"] = SELF_LIMITING
            walker = SelfLimiting(conn, stmt, shape, spec, state)
        else:
            try:
                key, key_type = _key_for(conn, shape, spec)
            except _Refused as refused:
                raise _input_error(step.parsed, stmt, refused) from None
            state["mode"] = KEY_RANGE
            state["key"] = key
            walker = KeyRange(conn, stmt, shape, spec, key, key_type, state)
    except (InputError, OperationError) as err:
        _close_failed(executor, step, event_id, stmt, str(err.message), details)
        raise

    details["batch"] = state   # the same dict from here on: kept current after every commit
    where = f"{stmt.location} ({shape.verb.split()[0]}, statement {stmt.index + 1})"
    if resumed:
        emit(executor.reporter, RESUME,
             f"{where}: continuing the batched change after batch {state['batches']}: {state['rows']:,} rows "
             "were changed by earlier runs and stay committed"
             + (f"; next key after {state['last_key']}" if state.get("last_key") is not None else ""),
             version=step.version, statement=stmt.index + 1, batches=state["batches"], rows=state["rows"],
             last_key=state.get("last_key"))
    emit(executor.reporter, INFO, f"{where}: {walker.describe()}", version=step.version)

    progress = Progress(executor, step, stmt, state, walker)
    sleep = executor.sleep
    try:
        while True:
            outcome = _one_batch(executor, step, stmt, event_id, details, walker, state)
            if outcome is None:
                break
            progress.batch_done(outcome.changed)
            if outcome.last:
                break
            walker.check_runaway(state)
            if spec.sleep:
                sleep(spec.sleep)
            if spec.max_replica_lag is not None:
                _wait_for_replicas(executor, step, stmt, spec.max_replica_lag, progress)
    except KeyboardInterrupt:
        _rollback_quietly(conn)
        state = _recorded_state(executor, event_id) or state   # the truth, should a COMMIT have gone through
        emit(executor.reporter, WARNING,
             f"{where}: interrupted; {state['batches']} batch(es), {state['rows']:,} rows, are committed and "
             "recorded; `pgshift up` continues after the last of them", level="warning", version=step.version)
        _close_failed(executor, step, event_id, stmt, f"interrupted after batch {state['batches']}", details)
        raise
    except Runaway as runaway:
        _close_failed(executor, step, event_id, stmt, runaway.message, details)
        raise OperationError(runaway.message, location=stmt.location, hint=runaway.hint,
                             context=caret_context(step.parsed.text, stmt.offset)) from None
    state["done"] = True
    progress.finished()
    return progress.rows_this_run


@dataclass(frozen=True)
class _Outcome:
    changed: int
    last: bool       # no batch after this one


def _one_batch(executor, step, stmt, event_id, details, walker, state) -> _Outcome | None:
    """One batch in its own transaction, its progress recorded inside it; retried on a
    lock timeout or deadlock. None when there was nothing left to do."""
    import psycopg  # noqa: PLC0415

    conn = executor.conn
    attempt = 1
    retries = 0
    while True:
        try:
            # look before each attempt: a batch takes ROW EXCLUSIVE, so only a visible holder of SHARE or
            # stronger (a CREATE INDEX, a DDL) is waited for; the batch keeps its lock_timeout (row locks)
            executor.retry.before_attempt((stmt,), step.version, attempt, executor.retry.lock_timeout, batch=True)
            conn.execute("BEGIN")
            result = walker.run(state)
            if result is None:
                conn.execute("ROLLBACK")
                return None
            changed, fields, last = result
            new_state = {**state, **fields, "batches": state["batches"] + 1, "rows": state["rows"] + changed}
            if retries:
                new_state["lock_retries"] = state.get("lock_retries", 0) + retries
            ledger_mod.record_progress(conn, executor.ledger, event_id, statements_done=stmt.index,
                                       details={**details, "batch": new_state})
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            _rollback_quietly(conn)
            if executor.retry.should_retry(exc, attempt, step.version, stmt):
                attempt += 1
                retries += 1
                continue
            raise
        state.clear()
        state.update(new_state)
        return _Outcome(changed, last)


# --- replicas -------------------------------------------------------------------------------

def replica_lag(conn) -> tuple[float | None, str | None, bool]:
    """(the largest replay lag in seconds or None, the replica's name, whether the lag
    columns are hidden from this role)."""
    row = conn.execute(
        "SELECT extract(epoch FROM replay_lag)::float8, application_name, "
        "  (SELECT count(*) FILTER (WHERE state IS NULL) > 0 FROM pg_stat_replication) "
        "FROM pg_stat_replication ORDER BY replay_lag DESC NULLS LAST LIMIT 1").fetchone()
    if row is None:
        return None, None, False
    return (float(row[0]) if row[0] is not None else None), row[1], bool(row[2])


def _wait_for_replicas(executor, step, stmt, max_lag: float, progress: Progress | None = None,
                       poll: float = LAG_POLL) -> float:
    """Pause while any replica's replay lag is above *max_lag*; return the seconds paused."""
    conn = executor.conn
    sleep = executor.sleep
    started = None
    last_report = 0.0
    while True:
        lag, name, hidden = replica_lag(conn)
        if hidden and "lag-hidden" not in executor.said:
            emit(executor.reporter, WARNING,
                 f"{stmt.location}: max-replica-lag cannot be checked: this role cannot read the lag columns of "
                 "pg_stat_replication (grant it pg_monitor)", level="warning", version=step.version)
            executor.said.add("lag-hidden")
        now = time.monotonic()
        if lag is None or lag <= max_lag:
            if started is not None:
                waited = now - started
                if progress is not None:
                    progress.paused += waited
                now_text = ("the replicas have caught up" if lag is None else
                            f"replica lag is down to {format_duration(lag)}")
                emit(executor.reporter, INFO,
                     f"{stmt.location}: {now_text}; going on after a pause of {format_duration(waited)}",
                     **(progress.data("running", lag=lag, paused=waited) if progress else {"lag": lag}))
                return waited
            return 0.0
        if started is None:
            started = now
        if now - last_report >= LAG_REPORT_EVERY or last_report == 0.0:
            last_report = now
            emit(executor.reporter, WARNING,
                 f"{stmt.location}: replica {name or '?'} replay lag {format_duration(lag)} is above "
                 f"max-replica-lag {format_duration(max_lag)}; pausing the batches", level="warning",
                 **(progress.data("paused", lag=lag, replica=name) if progress else {"lag": lag, "replica": name}))
        sleep(poll)


# --- the ledger -------------------------------------------------------------------------------

def _interrupted_progress(executor, step, stmt, event_id) -> dict | None:
    """The batch progress of an interrupted earlier run of this very statement.

    The planner passes it (step.resume_details) when the earlier run had completed
    statements; for a batched first statement (statements_done = 0) it does not, so
    it is read here: the latest earlier event of this version, interrupted (running
    or failed), of the same file (checksum), stopped at this statement.
    """
    if step.resume_details or stmt.index != (step.resume_from or 0):
        return None
    row = ledger_mod.latest_event_of(executor.conn, executor.ledger, step.version, before_id=event_id)
    if row is None:
        return None
    status, kind, checksum, done, details = row
    if status not in ("running", "failed") or (kind or "migrate") != step.action or done != stmt.index:
        return None
    if not isinstance(details, dict):
        return None
    batch = details.get("batch")
    if checksum != step.migration.checksum and not (isinstance(batch, dict) and batch.get("sha256")):
        return None   # an edited file, and no record of what the statement was: it starts over
    if isinstance(batch, dict) and batch.get("statement") == stmt.index and batch.get("batches"):
        return batch
    return None


def _unless_changed(executor, step, stmt: Statement, prior: dict | None, digest: str) -> dict | None:
    """The batch progress of an earlier run, unless the statement changed since (the file was edited):
    a changed statement runs again from its first batch, which is said."""
    recorded = prior.get("sha256") if isinstance(prior, dict) else None
    if not prior or recorded in (None, digest):
        return prior
    emit(executor.reporter, WARNING,
         f"{stmt.location}: this batched statement changed since an earlier run committed {prior.get('batches', 0)} "
         f"batch(es) of it ({prior.get('rows', 0):,} rows, which stay changed); the changed statement runs from its "
         "first batch", level="warning", version=step.version, statement=stmt.index + 1)
    return None


def _recorded_state(executor, event_id) -> dict | None:
    """The batch state the last committed batch recorded, or None."""
    try:
        value = ledger_mod.batch_state(executor.conn, executor.ledger, event_id)
    except Exception:  # noqa: BLE001 - the connection may be gone
        return None
    return value if isinstance(value, dict) and "batches" in value else None


def _rollback_quietly(conn) -> None:
    from psycopg.pq import TransactionStatus  # noqa: PLC0415

    try:
        if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            conn.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection may be gone
        pass


def _close_failed(executor, step, event_id, stmt, error: str, details: dict) -> None:
    """Mark the event failed (a refusal or Ctrl-C is not a psycopg error, which the
    executor would record itself); best effort.

    The event's details are left as the last committed batch wrote them: they are
    the truth, while the state in memory may be one batch behind (Ctrl-C during a
    COMMIT that went through)."""
    del details
    try:
        _rollback_quietly(executor.conn)
        ledger_mod.finish_event(executor.conn, executor.ledger, event_id, status="failed", execution_ms=None,
                                error=error, statements_done=stmt.index, details=None, version=step.version)
    except Exception:  # noqa: BLE001 - the connection may be gone; the running event says enough
        pass


__all__ = ["run_batched", "precheck", "describe_batches", "batch_spec", "BatchSpec", "primary_key",
           "primary_key_columns", "replica_lag"]
