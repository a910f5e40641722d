"""Each pending statement run on the copy, observed: the locks its session holds after it (every
lock type), what it rewrote (``relfilenode``), the columns and constraints it added or validated,
which application operations it blocks (probed from a second session) and, for a statement that
runs outside a transaction (``CREATE INDEX CONCURRENTLY``), the locks and the build's phases
sampled from another connection while it runs.

A file runs as the real run would run it: a transactional file in one transaction (the trace
commits it at the end, so later files build on it), a no-transaction file statement by
statement in autocommit, a file with its own BEGIN/COMMIT as written, a batched file each
statement in its own transaction. Locks already held at the same or a stronger mode when a
statement needs one are reported as masked, with the statement that took them."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .. import db
from ..model import TX_BATCHED, TX_FILE
from ..sql.classify import LOCK_MODES, lock_modes

PROBE_TIMEOUT_MS = 50
PROBES = ("SELECT", "SELECT FOR UPDATE", "INSERT", "UPDATE", "DELETE")

_LOCKS = (
    "SELECT l.locktype, l.mode, l.relation, CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text END, "
    "c.relkind, coalesce(n.nspname IN ('pg_catalog', 'information_schema') OR n.nspname LIKE 'pg_toast%%', "
    "l.relation IS NOT NULL AND c.oid IS NULL AND l.relation < 16384), "
    "CASE WHEN l.classid IS NOT NULL THEN l.classid::regclass::text || ':' || l.objid || ':' || l.objsubid END, "
    "i.indrelid "
    "FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation LEFT JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_index i ON i.indexrelid = l.relation "
    "WHERE l.pid = %s AND l.granted")
_RELATIONS = (
    "SELECT c.oid, c.oid::regclass::text, c.relfilenode, c.relkind FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'i', 'm', 'S', 'v', 'f')")
_COLUMNS = (
    "SELECT a.attrelid::regclass::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
_CONSTRAINTS = (
    "SELECT co.oid, co.conrelid::regclass::text, co.conname, co.contype, co.convalidated, "
    "pg_get_constraintdef(co.oid) FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace "
    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')")
_PROGRESS = ("SELECT phase, lockers_total, lockers_done, current_locker_pid, blocks_total, blocks_done, "
             "tuples_total, tuples_done FROM pg_stat_progress_create_index WHERE pid = %s")


def _rank(mode: str) -> int:
    return LOCK_MODES.index(mode) if mode in LOCK_MODES else -1


def _strongest(modes) -> str | None:
    best = None
    for m in modes:
        if best is None or _rank(m) > _rank(best):
            best = m
    return best


@dataclass
class StatementTrace:
    """One statement as observed on the copy.

    Attributes:
        version: The migration's version.
        file: The file (relative path).
        line: The statement's line in the file.
        index: Its 0-based position in the file.
        kind: The parse node's type (e.g. ``AlterTableStmt``).
        sql: Its text (at most 300 characters).
        mode: How it ran: ``transaction`` (inside the file's or its own transaction) or
            ``autocommit`` (sampled from another connection while it ran).
        seconds: Its duration on the copy.
        seconds_at_size: Extrapolated to the target's size (see ``scale``).
        scale: The factor applied (target rows / copy rows of the largest table it touches) and
            the table it came from.
        locks: Locks it took that were not held before: ``{locktype, relation, mode, object}``
            (with ``hold_seconds``, ``hold_seconds_at_size``: from its start to the commit).
        masked: Locks it needed that were already held at the same or a stronger mode:
            ``{relation, needs, held, since}`` (``since``: the line of the statement that took it).
        verdicts: Prediction vs observation per relation: ``{relation, predicted, observed, verdict}``
            with verdict ``confirmed``, ``mismatch``, ``masked``, ``observed only``, ``predicted only``,
            ``new in transaction`` (a relation made earlier in the same transaction: no other
            session can see it, so its locks block no one).
        rewrites: Relations whose ``relfilenode`` changed (rewritten).
        columns: Columns added or changed: ``{table, column, type, not_null, change}``.
        constraints: Constraints added or validated: ``{table, name, type, validated, definition, change}``.
        probes: Table -> operation -> True when the operation blocks (timed out on the lock),
            probed right after the statement, while its transaction holds every lock taken so far
            (what the application meets at that moment of the real run).
        phases: For a concurrent index build: ``{phase, at_seconds, ...}`` in the order seen.
        error: The error it raised on the copy, if any (the file's later statements do not run).
    """
    version: str
    file: str
    line: int
    index: int
    kind: str
    sql: str
    mode: str = "transaction"
    seconds: float = 0.0
    seconds_at_size: float = 0.0
    scale: dict = field(default_factory=lambda: {"factor": 1.0, "table": None})
    locks: list = field(default_factory=list)
    masked: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)
    rewrites: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    probes: dict = field(default_factory=dict)
    phases: list = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        """The fields, as JSON."""
        return dict(self.__dict__)


class _Sampler(threading.Thread):
    """Reads another session's locks and index-build progress every few milliseconds."""

    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.conn = db.connect(url, application_name="pgshift-plan-sampler")
        self.pid = pid
        self.stop = threading.Event()
        self.locks: dict[tuple, tuple] = {}
        self.phases: list[dict] = []
        self.started = time.monotonic()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for row in self.conn.execute(_LOCKS, (self.pid,)).fetchall():
                    self.locks.setdefault(_key(row), row)
                for phase, lt, _ld, locker, bt, _bd, tt, _td in self.conn.execute(_PROGRESS, (self.pid,)).fetchall():
                    if not self.phases or self.phases[-1]["phase"] != phase:
                        self.phases.append({"phase": phase, "at_seconds": round(time.monotonic() - self.started, 4),
                                            "lockers_total": lt, "current_locker_pid": locker or None,
                                            "blocks_total": bt, "tuples_total": tt})
                    else:
                        last = self.phases[-1]
                        last["lockers_total"] = max(last["lockers_total"] or 0, lt or 0)
                        if locker:
                            last["current_locker_pid"] = locker
                time.sleep(0.003)
        finally:
            self.conn.close()


def _key(row) -> tuple:
    locktype, mode, relation, _name, _kind, _system, obj, _table = row
    if locktype == "relation":
        return (locktype, relation, mode)
    if locktype in ("virtualxid", "transactionid"):
        return (locktype, None, mode)
    return (locktype, obj, mode)


def _lock_dict(row) -> dict:
    locktype, mode, _relation, name, kind, _system, obj, _table = row
    return {"locktype": locktype, "relation": name, "relkind": kind, "mode": mode,
            "object": obj if locktype not in ("relation", "virtualxid", "transactionid") else None}


class Tracer:
    """Runs files on the copy at *url*, observing each statement (see the module's docstring)."""

    def __init__(self, url: str, sizes: dict, *, probes: bool = True) -> None:
        self.url = url
        self.probes = probes
        self._probed: dict[tuple, dict] = {}   # (table, its and its indexes' locks held) -> what blocks
        self.sizes = sizes   # table name -> clone.TableSize
        self.conn = db.connect(url, application_name="pgshift-plan")
        self.probe = db.connect(url, autocommit=False, application_name="pgshift-plan-probe")
        self.pid = db.server_pid(self.conn)

    def close(self) -> None:
        """Close both connections."""
        self.probe.close()
        self.conn.close()

    # --- snapshots ---------------------------------------------------------------------------
    def _held(self) -> dict[tuple, tuple]:
        return {_key(r): r for r in self.conn.execute(_LOCKS, (self.pid,)).fetchall() if not r[5]}

    def _relations(self) -> dict[int, tuple]:
        return {r[0]: r[1:] for r in self.conn.execute(_RELATIONS).fetchall()}

    def _columns(self) -> dict[tuple, tuple]:
        return {(r[0], r[1]): r[2:] for r in self.conn.execute(_COLUMNS).fetchall()}

    def _constraints(self) -> dict[int, tuple]:
        return {r[0]: r[1:] for r in self.conn.execute(_CONSTRAINTS).fetchall()}

    def _in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus  # noqa: PLC0415

        return self.conn.info.transaction_status != TransactionStatus.IDLE

    # --- a file ------------------------------------------------------------------------------
    def run_file(self, version: str, parsed) -> list[StatementTrace]:
        """Every statement of *parsed* (a ParsedFile), observed; the transaction it opened committed."""
        traces: list[StatementTrace] = []
        wrap_file = parsed.mode == TX_FILE
        wrap_each = parsed.mode == TX_BATCHED
        at_start = self._relations()
        held_since: dict[tuple, int] = {}
        if wrap_file:
            self.conn.execute("BEGIN")
        for stmt in parsed.statements:
            t = StatementTrace(version, parsed.relpath, stmt.location.line, stmt.index, stmt.kind, stmt.sql[:300])
            traces.append(t)
            if stmt.tx_control in ("begin",):
                self.conn.execute(stmt.sql)
                at_start, held_since = self._relations(), {}
                continue
            if stmt.tx_control in ("commit", "rollback"):
                self.conn.execute(stmt.sql)
                self._close_holds(traces)
                continue
            if wrap_each:
                self.conn.execute("BEGIN")
                at_start, held_since = self._relations(), {}
            ok = self._statement(t, stmt, at_start, held_since, traces)
            if wrap_each or (ok and not self._in_transaction()):
                if self._in_transaction():
                    self.conn.execute("COMMIT")
                self._close_holds(traces)
            if not ok:
                break
        if self._in_transaction():
            self.conn.execute("COMMIT" if not any(t.error for t in traces) else "ROLLBACK")
        self._close_holds(traces)
        return traces

    def _close_holds(self, traces: list[StatementTrace]) -> None:
        """Each lock's hold: from its statement's start to the commit, as the statements' time."""
        for i, t in enumerate(traces):
            for lock in t.locks:
                if "hold_seconds" not in lock:
                    rest = traces[i:]
                    lock["hold_seconds"] = round(sum(s.seconds for s in rest), 4)
                    lock["hold_seconds_at_size"] = round(sum(s.seconds_at_size for s in rest), 4)

    def _statement(self, t: StatementTrace, stmt, at_start: dict, held_since: dict, traces: list) -> bool:
        in_tx = self._in_transaction()
        before_rel = self._relations()
        before_cols = self._columns()
        before_cons = self._constraints()
        before_locks = self._held() if in_tx else {}
        sampler = None
        if not in_tx:
            t.mode = "autocommit"
            sampler = _Sampler(self.url, self.pid)
            sampler.start()
            time.sleep(0.01)
        started = time.monotonic()
        try:
            self.conn.execute(stmt.sql)
        except Exception as exc:  # noqa: BLE001 - the copy refuses it: reported, the file stops
            t.error = str(exc).strip().splitlines()[0]
        t.seconds = round(time.monotonic() - started, 4)
        if sampler is not None:
            sampler.stop.set()
            sampler.join()
            t.phases = sampler.phases
        if t.error:
            if self._in_transaction():
                self.conn.execute("ROLLBACK")
            return False
        now_in_tx = self._in_transaction()
        now: dict = {}
        if sampler is not None:
            new = {k: r for k, r in sampler.locks.items() if not r[5] and k[0] != "virtualxid"}
        else:
            now = self._held()
            new = {k: r for k, r in now.items() if k not in before_locks}
        after_rel = self._relations()
        index = len(traces) - 1
        for k in new:
            held_since.setdefault(k, index)
        t.locks = [_lock_dict(r) for r in new.values()]
        t.rewrites = sorted(after_rel[o][0] for o in before_rel
                            if o in after_rel and after_rel[o][1] != before_rel[o][1] and before_rel[o][2] != "S")
        created = {o for o in after_rel if o not in before_rel}
        self._effects(t, before_cols, before_cons)
        self._reconcile(t, stmt, new, before_locks, held_since, traces, created, before_rel,
                        at_start if in_tx else before_rel)
        self._scale(t, new, before_rel)
        if now_in_tx and self.probes:
            self._probe(t, new, at_start, now)
        return True

    def _effects(self, t: StatementTrace, before_cols: dict, before_cons: dict) -> None:
        for key, (typ, notnull) in self._columns().items():
            old = before_cols.get(key)
            if old != (typ, notnull):
                t.columns.append({"table": key[0], "column": key[1], "type": typ, "not_null": notnull,
                                  "change": "added" if old is None else "changed"})
        for oid, (table, name, contype, validated, definition) in self._constraints().items():
            old = before_cons.get(oid)
            if old is None or (validated and not old[3]):
                t.constraints.append({"table": table, "name": name, "type": contype, "validated": validated,
                                      "definition": definition, "change": "added" if old is None else "validated"})

    def _resolve(self, name: str) -> int | None:
        try:
            row = self.conn.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()
        except Exception:  # noqa: BLE001 - a name the server cannot read
            return None
        return row[0] if row else None

    def _reconcile(self, t, stmt, new, before_locks, held_since, traces, created, before_rel, at_start) -> None:
        predicted: dict[int, tuple[str, str]] = {}
        for name, mode in (lock_modes(stmt.node) if stmt.node is not None else {}).items():
            oid = self._resolve(name)
            if oid is not None:
                predicted[oid] = (name, mode)
        observed: dict[int, list[str]] = {}
        names: dict[int, str] = {}
        for row in new.values():
            if row[0] == "relation" and row[2] not in created:
                observed.setdefault(row[2], []).append(row[1])
                names[row[2]] = row[3]
        rewritten = {o for o in before_rel if before_rel[o][0] in t.rewrites and before_rel[o][2] in ("r", "p", "m")}
        held: dict[int, list[tuple]] = {}
        for k, row in before_locks.items():
            if row[0] == "relation":
                held.setdefault(row[2], []).append((row[1], held_since.get(k)))
        relevant = set(predicted) | {o for o in observed if o in before_rel and before_rel[o][2] in ("r", "p", "m")}
        relevant |= rewritten
        for oid in sorted(relevant):
            name = names.get(oid) or (before_rel[oid][0] if oid in before_rel else predicted.get(oid, (str(oid),))[0])
            pred = predicted.get(oid, (None, None))[1]
            obs = _strongest(observed.get(oid, []))
            needs = pred or ("AccessExclusiveLock" if oid in rewritten else None)
            if oid not in at_start and oid in before_rel:   # made earlier in this transaction: no one else sees it
                t.verdicts.append({"relation": name, "predicted": pred, "observed": obs,
                                   "verdict": "new in transaction"})
                continue
            if needs and (obs is None or _rank(obs) < _rank(needs)):
                prior = [(m, s) for m, s in held.get(oid, []) if _rank(m) >= _rank(needs)]
                if prior:
                    mode, since = max(prior, key=lambda p: _rank(p[0]))
                    line = traces[since].line if since is not None and since < len(traces) else None
                    t.masked.append({"relation": name, "needs": needs, "held": mode, "since": line})
                    t.verdicts.append({"relation": name, "predicted": pred, "observed": obs, "verdict": "masked"})
                    continue
            if pred and obs:
                verdict = "confirmed" if pred == obs else "mismatch"
            elif pred:
                verdict = "predicted only"
            elif obs:
                verdict = "observed only"
            else:
                continue
            t.verdicts.append({"relation": name, "predicted": pred, "observed": obs, "verdict": verdict})

    def _scale(self, t: StatementTrace, new: dict, before_rel: dict) -> None:
        touched = {r[3] for r in new.values() if r[0] == "relation"} | set(t.rewrites)
        touched |= {m["relation"] for m in t.masked}
        tables = {n: s for n, s in self.sizes.items() if s.copy_rows > 0}
        for r in new.values():   # an index stands for its table
            if r[0] == "relation" and r[7] is not None:
                touched |= {n for n in tables if self._resolve(n) == r[7]}
        best, factor = None, 1.0
        for name in touched:
            size = tables.get(name)
            if size and size.target_rows / size.copy_rows > factor:
                best, factor = name, size.target_rows / size.copy_rows
        t.scale = {"factor": round(factor, 3), "table": best}
        t.seconds_at_size = round(t.seconds * factor, 4)

    def _probe(self, t: StatementTrace, new: dict, at_start: dict, held: dict) -> None:
        oids = {r[2] for r in new.values() if r[0] == "relation" and r[4] in ("r", "p")}
        oids |= {o for o, v in at_start.items() if v[0] in {m["relation"] for m in t.masked}}
        for oid in sorted(oids):
            if oid not in at_start or at_start[oid][2] not in ("r", "p"):
                continue   # made in this transaction: no other session can see it
            table = at_start[oid][0]
            # the same locks on the table and its indexes block the same operations: probed once
            state = (oid, frozenset((r[2], r[1]) for r in held.values()
                                    if r[0] == "relation" and (r[2] == oid or r[7] == oid)))
            if state in self._probed:
                t.probes[table] = dict(self._probed[state])
                continue
            column = self.probe.execute(
                "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
                "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum LIMIT 1", (oid,)).fetchone()
            self.probe.rollback()
            probes = {
                "SELECT": f"SELECT 1 FROM {table} LIMIT 1",
                "SELECT FOR UPDATE": f"SELECT 1 FROM {table} LIMIT 1 FOR UPDATE",
                "INSERT": f"INSERT INTO {table} SELECT * FROM {table} WHERE false",
                "UPDATE": f"UPDATE {table} SET {column[0]} = {column[0]} WHERE false" if column else None,
                "DELETE": f"DELETE FROM {table} WHERE false",
            }
            result = {}
            for op, sql in probes.items():
                if sql is None:
                    continue
                try:
                    self.probe.execute(f"SET LOCAL lock_timeout = {PROBE_TIMEOUT_MS}")
                    self.probe.execute(sql)
                    result[op] = False
                except Exception as exc:  # noqa: BLE001 - 55P03: it waited for the lock
                    result[op] = db.sqlstate(exc) == db.LOCK_NOT_AVAILABLE
                finally:
                    self.probe.rollback()
            t.probes[table] = result
            self._probed[state] = result
