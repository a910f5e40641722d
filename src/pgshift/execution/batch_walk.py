"""How a batched statement walks its table: self-limiting (run again until it changes no row)
or key-range (the primary key walked in ranges of N keys); and the progress it reports."""
from __future__ import annotations

import time

from ..db import qualified
from ..db import quote_ident as _quote
from ..events import BATCH_PROGRESS, emit
from ..text import format_duration

PROGRESS_EVERY = 2.0      # seconds between progress lines
RUNAWAY_FACTOR = 3        # self-limiting: stop after changing this many times the table's rows
_INTEGER_TYPES = ("smallint", "integer", "bigint")
SELF_LIMITING = "self-limiting"
KEY_RANGE = "key-range"


def display(relation: tuple[str | None, str]) -> str:
    """A relation as people read it: ``schema.table``."""
    return ".".join(p for p in relation if p)


class SelfLimiting:
    def __init__(self, conn, stmt, shape, spec, state):
        self.conn = conn
        self.stmt = stmt
        self.shape = shape
        self.spec = spec
        self.table_rows = _estimated_rows(conn, shape.relation) if shape.relation else None
        state.pop("key", None)

    def describe(self) -> str:
        return (f"batched {self.shape.verb}, {SELF_LIMITING}: running it, one transaction each, "
                "until it changes no row")

    def run(self, state):
        cur = self.conn.execute(self.stmt.sql, prepare=False)
        changed = max(cur.rowcount, 0)
        if changed == 0:
            return None
        return changed, {}, False

    def share(self, state):
        return None

    def check_runaway(self, state) -> None:
        if self.table_rows is None:
            return
        limit = RUNAWAY_FACTOR * self.table_rows + 10 * self.spec.size
        if state["rows"] > limit:
            table = display(self.shape.relation)
            raise Runaway(
                f"the batched statement has changed {state['rows']:,} rows in {state['batches']} batches, more "
                f"than {RUNAWAY_FACTOR} times the ~{self.table_rows:,} rows of {table}: it keeps choosing rows "
                "it has already changed, and would never stop",
                "its WHERE must leave out the rows already changed (e.g. "
                "WHERE id IN (SELECT id FROM t WHERE NOT migrated LIMIT 1000) with SET migrated = true); "
                "or drop the LIMIT and let pgshift batch it by key ranges")


class Runaway(Exception):
    def __init__(self, message, hint):
        super().__init__(message)
        self.message = message
        self.hint = hint


class KeyRange:
    def __init__(self, conn, stmt, shape, spec, key, key_type, state):
        import psycopg  # noqa: PLC0415

        self.conn = conn
        self.stmt = stmt
        self.shape = shape
        self.spec = spec
        self.key = key
        self.key_type = key_type
        self.rel = qualified(*shape.relation)
        k = _quote(key)
        self.first_sql = shape.rewrite(key, with_lower=False)
        self.next_sql = shape.rewrite(key, with_lower=True)
        # the walk: the upper bound of the next N keys, read from the key's index
        self.walk_first = (f"SELECT max(k)::text, count(*) FROM (SELECT {k} AS k FROM {self.rel} "
                           f"ORDER BY {k} LIMIT $1) s")
        self.walk_next = (f"SELECT max(k)::text, count(*) FROM (SELECT {k} AS k FROM {self.rel} WHERE {k} > $1 "
                          f"ORDER BY {k} LIMIT $2) s")
        self.raw = psycopg.RawCursor(conn)
        if "range" not in state:
            lo, hi = conn.execute(f"SELECT min({k})::text, max({k})::text FROM {self.rel}").fetchone()
            state["range"] = [lo, hi]
            state["total_keys"] = _estimated_rows(conn, shape.relation)
        state.setdefault("keys", 0)
        self.range = state["range"]
        self.numeric = key_type in _INTEGER_TYPES

    def describe(self) -> str:
        return (f"batched {self.shape.verb}, {KEY_RANGE} over {display(self.shape.relation)}.{self.key} "
                f"({self.key_type}) from {self.range[0]} to {self.range[1]}, {self.spec.size:,} keys per batch; "
                "each batch runs: "
                f"{self.next_sql}")

    def run(self, state):
        last = state.get("last_key")
        size = self.spec.size
        if last is None:
            self.raw.execute(self.walk_first, (size,))
        else:
            self.raw.execute(self.walk_next, (last, size))
        upper, walked = self.raw.fetchone()
        if upper is None:
            return None
        if last is None:
            self.raw.execute(self.first_sql, (upper,))
        else:
            self.raw.execute(self.next_sql, (last, upper))
        changed = max(self.raw.rowcount, 0)
        fields = {"last_key": upper, "keys": state.get("keys", 0) + walked}
        share = self.share({**state, **fields})
        if share is not None:
            fields["share"] = round(share, 6)
        return changed, fields, walked < size

    def share(self, state):
        """The share of the key range done: by key value for integer keys, by keys
        walked against the table's estimated size otherwise."""
        last = state.get("last_key")
        if last is None:
            return 0.0
        lo, hi = (state.get("range") or [None, None])[:2]
        if self.numeric and lo is not None and hi is not None:
            lo, hi, at = int(lo), int(hi), int(last)
            if hi <= lo:
                return 1.0
            return max(0.0, min(1.0, (at - lo) / (hi - lo)))
        total = state.get("total_keys")
        if total:
            return min(0.999, state.get("keys", 0) / total)
        return None

    def check_runaway(self, state) -> None:
        pass


def _estimated_rows(conn, relation) -> int | None:
    """The table's row count: the planner's estimate, or count(*) for a table never
    analysed that is not huge; None when unknown."""
    row = conn.execute("SELECT reltuples::bigint, relpages FROM pg_class WHERE oid = to_regclass(%s)",
                       (qualified(*relation),)).fetchone()
    if row is None:
        return None
    tuples, pages = row
    if tuples is not None and tuples >= 0 and pages:
        return int(tuples)
    if (pages or 0) < 100_000:
        return int(conn.execute(f"SELECT count(*) FROM {qualified(*relation)}").fetchone()[0])
    return None


# --- progress --------------------------------------------------------------------------------

class Progress:
    """Rows, rate, the share of the key range and the time left: a BATCH_PROGRESS
    event every PROGRESS_EVERY seconds and one at the end.

    Event data (for a progress bar): version, file, statement (1-based), location,
    mode, phase ("running", "paused", "done"), batches, rows (all runs), rows_run
    (this run), rate (rows/s this run), share (0..1 or None), eta (seconds or None),
    elapsed (seconds this run), last_key, size, key, lag (when paused).
    """

    def __init__(self, executor, step, stmt, state, walker):
        self.executor = executor
        self.step = step
        self.stmt = stmt
        self.state = state
        self.walker = walker
        self.started = time.monotonic()
        self.last_report = self.started
        self.rows_this_run = 0
        self.batches_this_run = 0
        self.share_at_start = walker.share(state) or 0.0
        self.paused = 0.0

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.rows_this_run / elapsed if elapsed > 0 else 0.0

    def eta(self, share) -> float | None:
        if share is None:
            return None
        gained = share - self.share_at_start
        elapsed = time.monotonic() - self.started
        if gained <= 0 or elapsed <= 0:
            return None
        return max(0.0, (1.0 - share) * elapsed / gained)

    def batch_done(self, changed: int) -> None:
        self.rows_this_run += changed
        self.batches_this_run += 1
        now = time.monotonic()
        if now - self.last_report >= PROGRESS_EVERY:
            self.last_report = now
            self.emit("running")

    def finished(self) -> None:
        self.emit("done")

    def data(self, phase: str, **extra) -> dict:
        share = 1.0 if phase == "done" and self.state.get("mode") == KEY_RANGE else self.walker.share(self.state)
        return {"version": self.step.version, "file": self.step.parsed.relpath, "statement": self.stmt.index + 1,
                "location": str(self.stmt.location), "mode": self.state.get("mode"), "phase": phase,
                "batches": self.state["batches"], "rows": self.state["rows"], "rows_run": self.rows_this_run,
                "rate": round(self.rate(), 1), "share": share, "eta": None if phase == "done" else self.eta(share),
                "elapsed": round(time.monotonic() - self.started, 3), "last_key": self.state.get("last_key"),
                "size": self.state.get("size"), "key": self.state.get("key"), **extra}

    def emit(self, phase: str) -> None:
        d = self.data(phase)
        where = f"{self.stmt.location}"
        if phase == "done":
            text = (f"{where}: batched change done: {d['rows']:,} rows in {d['batches']} batches"
                    + (f" ({self.rows_this_run:,} rows in {self.batches_this_run} batches in this run)"
                       if self.rows_this_run != d["rows"] or self.batches_this_run != d["batches"] else "")
                    + f", {format_duration(d['elapsed'])}, {d['rate']:,.0f} rows/s")
        else:
            text = f"{where}: batch {d['batches']}: {d['rows']:,} rows, {d['rate']:,.0f} rows/s"
            if d["share"] is not None:
                text += f", {d['share']:.0%} of the key range"
            if d["eta"] is not None:
                text += f", about {format_duration(d['eta'])} left"
        emit(self.executor.reporter, BATCH_PROGRESS, text, **d)
