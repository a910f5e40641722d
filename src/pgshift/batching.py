"""Batched data changes (``-- pgshift:batch size=N [sleep=D] [max-replica-lag=D]``).

Each batch is its own short transaction, and the progress (batches, rows, the
last key) is written to the ledger event *in the same transaction*, so a rerun
after a crash continues exactly after the last committed batch.

Two modes, read from the parse tree (``statements.BatchShape``):

- self-limiting: the statement's row selection has a LIMIT; run it until it
  changes no row;
- key-range: walk the target table's single-column primary key in ranges of N
  keys and run the statement once per range, the range added to its WHERE.
"""
from __future__ import annotations

import time

from . import ledger as ledger_mod
from .errors import InputError
from .events import BATCH_PROGRESS, INFO, emit
from .model import Statement, caret_context, format_duration, parse_duration


def primary_key(conn, schema: str | None, table: str) -> tuple[str, str] | None:
    """(column, type) of the table's single-column primary key, or None."""
    rel = f'"{schema}"."{table}"' if schema else f'"{table}"'
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary", (rel,)).fetchall()
    if len(rows) != 1:
        return None
    return rows[0][0], rows[0][1]


def replica_lag(conn) -> float | None:
    row = conn.execute("SELECT max(extract(epoch FROM replay_lag)) FROM pg_stat_replication").fetchone()
    return float(row[0]) if row and row[0] is not None else None


def run_batched(executor, step, stmt: Statement, event_id: int, details: dict) -> int:
    from .statements import batch_shape  # noqa: PLC0415

    conn = executor.conn
    directive = stmt.directive("batch")
    size = int(directive.args["size"])
    pause = parse_duration(directive.args.get("sleep", "0"))
    max_lag = parse_duration(directive.args["max-replica-lag"]) if "max-replica-lag" in directive.args else None
    shape = batch_shape(stmt.node)
    state = dict(details.get("batch", {})) if details.get("batch", {}).get("statement") == stmt.index else {}
    state.setdefault("statement", stmt.index)
    state.setdefault("batches", 0)
    state.setdefault("rows", 0)
    resumed = state["batches"] > 0
    if resumed:
        emit(executor.reporter, INFO, f"{stmt.location}: resuming the batched change after batch {state['batches']} "
                                      f"({state['rows']} rows already changed)", version=step.version)

    if shape.self_limiting:
        state["mode"] = "self-limiting"
        runner = _self_limiting(conn, stmt)
    else:
        if shape.relation is None:
            raise InputError(
                f"{stmt.location}: cannot batch this {stmt.kind.removesuffix('Stmt').upper()} by key ranges: "
                "its rows do not come from a single table",
                location=stmt.location, context=caret_context(step.parsed.text, stmt.offset),
                hint="give its row selection a LIMIT (e.g. WHERE id IN (SELECT id ... LIMIT 1000)) so that it "
                     "limits itself; pgshift then runs it until it changes no row")
        pk = primary_key(conn, *shape.relation)
        if pk is None:
            table = ".".join(p for p in shape.relation if p)
            raise InputError(
                f"cannot batch by key ranges: table {table} has no single-column primary key",
                location=stmt.location, context=caret_context(step.parsed.text, stmt.offset),
                hint="add a primary key, or make the statement limit itself: "
                     "UPDATE t SET ... WHERE id IN (SELECT id FROM t WHERE <not yet done> LIMIT 1000)")
        state["mode"] = "key-range"
        state["key"] = pk[0]
        runner = _key_range(conn, stmt, shape, pk, size, state)

    started = time.monotonic()
    last_report = 0.0
    total = 0
    for changed in runner:
        # the batch's transaction is still open here: record its progress inside it
        state["batches"] += 1
        state["rows"] += changed
        total += changed
        ledger_mod.record_progress(conn, executor.ledger, event_id, statements_done=stmt.index,
                                   details={**details, "batch": state})
        conn.execute("COMMIT")
        elapsed = time.monotonic() - started
        now = time.monotonic()
        if now - last_report >= 2.0 or changed == 0:
            last_report = now
            rate = total / elapsed if elapsed > 0 else 0.0
            share = state.get("share")
            eta = ""
            if share and share > 0 and elapsed > 0:
                eta = f", about {format_duration(elapsed * (1 - share) / share)} left"
            emit(executor.reporter, BATCH_PROGRESS,
                 f"{stmt.location}: batch {state['batches']}: {state['rows']} rows, {rate:,.0f} rows/s"
                 + (f", {share:.0%} of the key range" if share is not None else "") + eta,
                 version=step.version, batches=state["batches"], rows=state["rows"], rate=rate, share=share)
        if pause:
            time.sleep(pause)
        if max_lag is not None:
            _wait_for_replicas(executor, stmt, max_lag)
    details["batch"] = state
    return total


def _self_limiting(conn, stmt):
    while True:
        conn.execute("BEGIN")
        cur = conn.execute(stmt.sql, prepare=False)
        changed = max(cur.rowcount, 0)
        yield changed
        if changed == 0:
            return


def _key_range(conn, stmt, shape, pk, size, state):
    import psycopg  # noqa: PLC0415

    key, key_type = pk
    schema, table = shape.relation
    rel = f'"{schema}"."{table}"' if schema else f'"{table}"'
    first_sql = shape.rewrite(key, with_lower=False, key_type=key_type)
    next_sql = shape.rewrite(key, with_lower=True, key_type=key_type)
    state["sql"] = next_sql
    bounds = conn.execute(f'SELECT min("{key}")::text, max("{key}")::text FROM {rel}').fetchone()
    numeric = key_type in ("integer", "bigint", "smallint")
    lo_all = int(bounds[0]) if numeric and bounds[0] is not None else None
    hi_all = int(bounds[1]) if numeric and bounds[1] is not None else None
    raw = psycopg.RawCursor(conn)
    last = state.get("last_key")
    while True:
        conn.execute("BEGIN")
        if last is None:
            row = conn.execute(f'SELECT max("{key}")::text FROM (SELECT "{key}" FROM {rel} ORDER BY "{key}" '
                               f'LIMIT %s) s', (size,)).fetchone()
        else:
            row = conn.execute(f'SELECT max("{key}")::text FROM (SELECT "{key}" FROM {rel} WHERE "{key}" > '
                               f'%s::{key_type} ORDER BY "{key}" LIMIT %s) s', (last, size)).fetchone()
        upper = row[0]
        if upper is None:
            conn.execute("ROLLBACK")
            return
        if last is None:
            raw.execute(first_sql, (upper,))
        else:
            raw.execute(next_sql, (last, upper))
        last = upper
        state["last_key"] = last
        if numeric and lo_all is not None and hi_all is not None and hi_all > lo_all:
            state["share"] = min(1.0, (int(last) - lo_all) / (hi_all - lo_all))
        yield max(raw.rowcount, 0)


def _wait_for_replicas(executor, stmt, max_lag: float) -> None:
    waited = 0.0
    while True:
        lag = replica_lag(executor.conn)
        if lag is None or lag <= max_lag:
            return
        emit(executor.reporter, BATCH_PROGRESS, f"{stmt.location}: replica lag {format_duration(lag)} is above "
                                                f"{format_duration(max_lag)}; pausing", level="warning", lag=lag)
        time.sleep(1.0)
        waited += 1.0
