"""Run a Plan: transaction modes, ledger events, lock-timeout retries, resumption.

Modes (decided by ``statements``):

- ``transaction``: the file's statements and its ledger event in one
  transaction; both land or neither.
- ``no-transaction``: one statement per round trip in autocommit, a
  ``running`` event before, progress after each statement, ``completed`` or
  ``failed`` after; a rerun of the unchanged file resumes after the last
  completed statement. An INVALID index left by a failed concurrent build is
  dropped before the build is tried again.
- ``own-transaction``: the file's BEGIN/COMMIT run as written; progress is
  recorded inside the file's own transaction just before its COMMIT, so it is
  exactly as durable as the work.
- ``batched``: like no-transaction, with batched data changes (``batching``).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

from . import ledger as ledger_mod
from .errors import MigrationFailed
from .events import (
    FILE_COMPLETED, FILE_FAILED, FILE_STARTED, RESUME, RETRY, STATEMENT, WARNING, emit,
)
from .model import (
    STATUS_COMPLETED, STATUS_ROLLED_BACK, TX_BATCHED, TX_FILE, TX_NONE, TX_OWN, TYPE_ROLLBACK, Location, Plan,
    RunResult, Statement, Step, StepResult,
    caret_context, format_duration, line_col, parse_duration,
)

LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK = "40P01"
DUPLICATE_SCHEMA = "42P06"


@dataclass(frozen=True)
class ExecOptions:
    lock_timeout: float | None = None       # seconds; None or 0: no timeout
    statement_timeout: float | None = None
    lock_retries: int = 8                   # attempts in all, the first included
    retry_base: float = 0.5
    retry_max: float = 30.0
    applied_by: str = "unknown"
    client_host: str = "unknown"
    tool_version: str = "pgshift"


class Executor:
    def __init__(self, conn, ledger: ledger_mod.Ledger, options: ExecOptions, reporter=None, sleep=time.sleep):
        self.conn = conn
        self.ledger = ledger
        self.options = options
        self.reporter = reporter
        self.sleep = sleep
        self._current_lock_timeout: float | None = None
        self.verbose = getattr(reporter, "verbose", True)

    # -- public ---------------------------------------------------------------

    def run(self, plan: Plan) -> RunResult:
        results: list[StepResult] = []
        self._apply_session_timeouts(self.options.lock_timeout)
        last = len(plan.steps) - 1
        for number, step in enumerate(plan.steps):
            try:
                results.append(self.run_step(step, durable=number == last))
            except MigrationFailed as exc:
                exc.details.setdefault("results", [r.to_dict() for r in results])
                raise
        return RunResult(tuple(results), warnings=plan.warnings)

    def run_step(self, step: Step, durable: bool = True) -> StepResult:
        p = step.parsed
        directive = p.file_directive("lock-timeout")
        lock_timeout = parse_duration(directive.args["value"]) if directive else self.options.lock_timeout
        self._apply_session_timeouts(lock_timeout, p.file_directive("statement-timeout"))
        emit(self.reporter, FILE_STARTED, f"{step.action} {p.relpath} ({step.mode}, {len(p.statements)} statements)",
             version=step.version, file=p.relpath, mode=step.mode, statements=len(p.statements), action=step.action)
        for meta in p.meta_commands:
            emit(self.reporter, WARNING, f"{meta.location}: skipped psql meta-command `{meta.text}` "
                                         "(pgshift is already connected to that database)", level="warning")
        started = time.monotonic()
        if step.mode == TX_FILE:
            outcome = self._run_transactional(step, durable)
        elif step.mode in (TX_NONE, TX_OWN, TX_BATCHED):
            outcome = self._run_stepwise(step)
        else:  # pragma: no cover - modes are closed
            raise ValueError(step.mode)
        ms = int((time.monotonic() - started) * 1000)
        if any(s.kind == "VariableSetStmt" and not getattr(s.node, "is_local", False) for s in p.statements):
            self._reset_session()
        emit(self.reporter, FILE_COMPLETED, f"{step.action} {p.relpath} done in {format_duration(ms / 1000)}",
             version=step.version, file=p.relpath, execution_ms=ms, retries=outcome.retries)
        return StepResult(step.version, step.migration.name, step.action, step.mode, "completed", ms,
                          len(p.statements), step.resume_from, outcome.retries, outcome.rows)

    # -- settings ---------------------------------------------------------------

    def _reset_session(self) -> None:
        """A file's own `SET search_path = ...` must not leak into the files after it: each file
        starts from the session's defaults, as it would in a psql session of its own."""
        from .db import session_settings  # noqa: PLC0415

        self.conn.execute("RESET ALL")
        session_settings(self.conn)
        self._current_lock_timeout = None

    def _apply_session_timeouts(self, lock_timeout, statement_directive=None) -> None:
        statement_timeout = (parse_duration(statement_directive.args["value"]) if statement_directive
                             else self.options.statement_timeout)
        key = (lock_timeout, statement_timeout)
        if key == self._current_lock_timeout:
            return
        self.conn.execute(f"SET lock_timeout = '{int((lock_timeout or 0) * 1000)}ms'")
        self.conn.execute(f"SET statement_timeout = '{int((statement_timeout or 0) * 1000)}ms'")
        self._current_lock_timeout = key

    # -- the transactional mode -------------------------------------------------------

    def _run_transactional(self, step: Step, durable: bool = True) -> "_Outcome":
        """The file's statements and its ledger event in one transaction, sent as one pipeline
        (BEGIN, each statement, the event, COMMIT; one flush, one sync): the server works while
        the client prepares, and no statement waits for a round trip. An error still names its
        statement: the statements before it have results, it has none.

        With ``durable`` False the commit does not wait for the WAL flush (synchronous_commit
        off): a server crash can then lose the newest such migrations *together with* their
        ledger events, never one without the other; the run's last commit flushes everything."""
        import datetime as dt  # noqa: PLC0415

        import psycopg  # noqa: PLC0415

        attempt = 0
        started_at = dt.datetime.now(dt.timezone.utc)
        statements = step.parsed.statements[step.resume_from:]
        self._announce_resume(step)
        while True:
            attempt += 1
            cursors: list = []
            early: psycopg.Error | None = None
            try:
                with self.conn.pipeline():
                    try:
                        self.conn.execute("BEGIN")
                        if not durable:
                            self.conn.execute("SET LOCAL synchronous_commit = off")
                        for stmt in statements:
                            if self.verbose:
                                emit(self.reporter, STATEMENT, f"{stmt.location}: {_summary(stmt)}", level="debug",
                                     index=stmt.index, file=step.parsed.relpath)
                            cursors.append(self.conn.execute(stmt.sql, prepare=False))
                        self.conn.execute(self._final_event_sql(step, _done(step), None, None, retries=attempt - 1,
                                                                statements_done=len(step.parsed.statements)),
                                          prepare=False)
                        self.conn.execute("COMMIT")
                    except psycopg.Error as exc:
                        # an error that arrives while statements are still being sent: kept, so that the
                        # pipeline is left normally and psycopg logs no "error ignored terminating" line
                        early = exc
                if early is not None:
                    raise early
                return _Outcome(attempt - 1, sum(max(c.rowcount, 0) for c in cursors))
            except psycopg.Error as exc:
                error = early or exc  # leaving an aborted pipeline fails again, with "pipeline aborted"
                # the first statement without a result is the one that failed (None: the event or COMMIT)
                current = next((stmt for stmt, cur in zip(statements, cursors) if cur.pgresult is None), None)
                if len(cursors) < len(statements) and current is None:
                    current = statements[len(cursors)]
                if self._in_transaction():
                    self.conn.execute("ROLLBACK")
                if current is not None and self._should_retry(error, attempt, step, current):
                    continue
                self._fail(step, error, current, started_at, attempt - 1, statements_done=step.resume_from)

    def _final_event_sql(self, step: Step, status: str, started_at, ms: int | None, *, retries: int,
                         statements_done: int, error: str | None = None, details: dict | None = None) -> str:
        """The INSERT of a closed event. ``started_at`` None: the transaction's start (now());
        ``ms`` None: measured by the server at the INSERT."""
        from psycopg import sql  # noqa: PLC0415

        m = step.migration
        info = dict(details or {})
        if retries:
            info["lock_retries"] = retries
        values = [m.version, m.name, m.description, status, step.action]
        tail = [self._checksum(step)]
        rest = [self.options.applied_by, self.options.client_host, self.options.tool_version, error,
                statements_done, _json(info) if info else None]
        query = sql.SQL(
            "INSERT INTO {} (version, name, description, status, migration_type, started_at, completed_at, checksum, "
            "execution_ms, applied_by, client_host, tool_version, error, statements_done, details, rolled_back_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, clock_timestamp(), {}, {}, {}, {}, {}, {}, {}, {}::jsonb, {})").format(
            sql.Identifier(self.ledger.schema, self.ledger.table), *[sql.Literal(v) for v in values],
            sql.SQL("now()") if started_at is None else sql.Literal(started_at),
            *[sql.Literal(v) for v in tail],
            sql.SQL("(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint") if ms is None
            else sql.Literal(ms),
            *[sql.Literal(v) for v in rest],
            sql.SQL("clock_timestamp()" if status == STATUS_ROLLED_BACK else "NULL"))
        return query.as_string(self.conn)

    def _insert_final(self, step: Step, status: str, started_at, ms: int, *, retries: int, statements_done: int,
                      error: str | None = None, details: dict | None = None) -> None:
        self.conn.execute(self._final_event_sql(step, status, started_at, ms, retries=retries,
                                                statements_done=statements_done, error=error, details=details))

    @staticmethod
    def _checksum(step: Step) -> str:
        """A rollback event records the migration's checksum too: it is the version's file."""
        return step.migration.checksum

    # -- statement by statement --------------------------------------------------------

    def _run_stepwise(self, step: Step) -> "_Outcome":
        import psycopg  # noqa: PLC0415

        from . import batching  # noqa: PLC0415

        stmts = step.parsed.statements
        start = step.resume_from
        details = dict(step.resume_details or {})
        # what the statements done are, recorded with every progress: a rerun after an edit checks them
        digests = ledger_mod.statement_digests(stmts)
        details[ledger_mod.FINGERPRINT] = ledger_mod.progress_fingerprint(digests, start)
        self._announce_resume(step)
        # a batched statement that cannot be batched is refused before anything of the file runs
        batching.precheck(self.conn, step.parsed, start)
        # the statement an interrupted run stopped at may have done its work all the same (a concurrent
        # index build the server finished after pgshift was killed): asked before this run's event exists
        resumed = start < len(stmts) and self._resumes_interrupted_run(step, stmts[start])
        event_id = ledger_mod.start_event(
            self.conn, self.ledger, version=step.version, name=step.migration.name,
            description=step.migration.description, migration_type=step.action, checksum=self._checksum(step),
            applied_by=self.options.applied_by, client_host=self.options.client_host,
            tool_version=self.options.tool_version, statements_done=start, details=details or None)
        retries = 0
        rows = 0
        safe_point = start        # the statement to go back to after a lock timeout
        index = start
        current: Statement | None = None
        begun = time.monotonic()
        attempt = 1
        leftovers: list[str] = []  # INVALID indexes the failed attempts of an unnamed concurrent build left
        try:
            while index < len(stmts):
                stmt = current = stmts[index]
                in_tx = self._in_transaction()
                if not in_tx:
                    safe_point = index
                emit(self.reporter, STATEMENT, f"{stmt.location}: {_summary(stmt)}", level="debug",
                     index=index, file=step.parsed.relpath)
                before = None
                try:
                    if stmt.directive("batch"):
                        rows += batching.run_batched(self, step, stmt, event_id, details)
                    elif index == start and resumed and self._done_by_interrupted_run(stmt):
                        pass
                    else:
                        # what earlier attempts left is dropped before the build: a drop that times
                        # out is a failed attempt like any other, retried after the backoff
                        self._drop_invalid_index(stmt)
                        self._drop_leftovers(stmt, leftovers)
                        before = self._index_oids(stmt)
                        if in_tx and stmt.tx_control == "commit":
                            # progress inside the file's own transaction: durable exactly when its work is
                            ledger_mod.record_progress(
                                self.conn, self.ledger, event_id, statements_done=index + 1,
                                details={**details, ledger_mod.FINGERPRINT: ledger_mod.progress_fingerprint(
                                    digests, index + 1)})
                        cur = self.conn.execute(stmt.sql, prepare=False)
                        rows += max(cur.rowcount, 0)
                except psycopg.Error as exc:
                    if self._in_transaction():
                        self.conn.execute("ROLLBACK")
                    leftovers.extend(self._new_invalid_indexes(stmt, before))
                    # a batched statement retries each batch itself; when that gives up, so does the file
                    if not stmt.directive("batch") and self._should_retry(exc, attempt, step, stmt):
                        attempt += 1
                        retries += 1
                        index = safe_point
                        continue
                    raise
                attempt = 1
                index += 1
                if not self._in_transaction():
                    details[ledger_mod.FINGERPRINT] = ledger_mod.progress_fingerprint(digests, index)
                    ledger_mod.record_progress(self.conn, self.ledger, event_id, statements_done=index,
                                               details={**details, "lock_retries": retries} if retries else details)
            if self._in_transaction():
                # the file left a transaction open: that is a bug in the file; do not commit it for them
                self.conn.execute("ROLLBACK")
                raise _FileLeftTransactionOpen()
            current = None
            ms = int((time.monotonic() - begun) * 1000)
            ledger_mod.finish_event(self.conn, self.ledger, event_id, status=_done(step), execution_ms=ms,
                                    statements_done=len(stmts),
                                    details={**details, **({"lock_retries": retries} if retries else {})} or None,
                                    version=step.version)
            return _Outcome(retries, rows)
        except _FileLeftTransactionOpen:
            last = stmts[-1]
            err = MigrationFailed(
                f"{step.parsed.relpath} ends inside a transaction it opened (BEGIN without COMMIT); "
                "its last transaction was rolled back",
                location=last.location, hint="add COMMIT at the end of the file")
            self._close_failed(event_id, step, begun, str(err.message), safe_point)
            raise err from None
        except psycopg.Error as exc:
            done = safe_point if current is not None else index
            self._close_failed(event_id, step, begun, _error_text(exc), done)
            error = self._migration_failed(step, exc, current, retries, applied=done)
            invalid = self._invalid_index(current) if current is not None else None
            notes = []
            if invalid:
                error.details["invalid_index"] = invalid
                notes.append(f"index {invalid} is left INVALID by the failed concurrent build: the next `pgshift up` "
                             f"drops it before building it again (to drop it now: DROP INDEX CONCURRENTLY {invalid};)")
            if leftovers:
                # an unnamed build's leftovers: no rerun could tell them from the user's own indexes
                try:
                    self._drop_leftovers(current, leftovers)
                except psycopg.Error:
                    pass
            if leftovers:
                error.details["invalid_indexes"] = list(leftovers)
                notes.append("the failed concurrent builds left INVALID index(es) that could not be dropped: "
                             + " ".join(f"DROP INDEX CONCURRENTLY {name};" for name in leftovers))
            if notes:
                error.hint = "\n".join([error.hint, *notes] if error.hint else notes)
            raise error from None

    def _announce_resume(self, step: Step) -> None:
        stmts, start = step.parsed.statements, step.resume_from
        if not start:
            return
        at = stmts[start].location if start < len(stmts) else None
        emit(self.reporter, RESUME, f"resuming {step.parsed.relpath} after statement {start} of {len(stmts)}"
             + (f" (next: line {at.line})" if at else "") + ", which an earlier run completed",
             version=step.version, statements_done=start)

    def _close_failed(self, event_id, step, begun, error, done) -> None:
        try:
            if self._in_transaction():
                self.conn.execute("ROLLBACK")
            ms = int((time.monotonic() - begun) * 1000)
            ledger_mod.finish_event(self.conn, self.ledger, event_id, status="failed", execution_ms=ms,
                                    error=error, statements_done=done, version=step.version)
        except Exception:  # noqa: BLE001 - the connection may be gone; the running event says enough
            pass

    def _in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus  # noqa: PLC0415

        return self.conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def _invalid_index(self, stmt: Statement) -> str | None:
        """The index a concurrent build names, when it exists and is INVALID (a failed build leaves it so)."""
        row = self._named_index(stmt)
        return row[2] if row and not row[0] else None

    def _named_index(self, stmt: Statement):
        """(valid, on the statement's table, name) of the index a concurrent build names; None when there
        is none (or the statement is no named concurrent build)."""
        index, table = _concurrent_build(stmt)
        if index is None:
            return None
        try:
            return self.conn.execute(
                "SELECT i.indisvalid, i.indrelid = to_regclass(%s), i.indexrelid::regclass::text FROM pg_index i "
                "WHERE i.indexrelid = to_regclass(%s)", (table, index)).fetchone()
        except Exception:  # noqa: BLE001 - the connection may be gone after a failure
            return None

    def _index_oids(self, stmt: Statement) -> list[int] | None:
        """The indexes on the table of an unnamed concurrent build, before an attempt: what the attempt
        adds is told from them afterwards. None for any other statement."""
        index, table = _concurrent_build(stmt)
        if table is None or index is not None:
            return None
        return [row[0] for row in self.conn.execute(
            "SELECT indexrelid::int8 FROM pg_index WHERE indrelid = to_regclass(%s)", (table,))]

    def _new_invalid_indexes(self, stmt: Statement, before: list[int] | None) -> list[str]:
        """The INVALID indexes a failed attempt of an unnamed concurrent build left on its table."""
        if before is None:
            return []
        try:
            return [row[0] for row in self.conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = to_regclass(%s) "
                "AND NOT indisvalid AND indexrelid::int8 <> ALL (%s) ORDER BY indexrelid",
                (_concurrent_build(stmt)[1], before))]
        except Exception:  # noqa: BLE001 - the connection may be gone after a failure
            return []

    def _drop_leftovers(self, stmt: Statement, leftovers: list[str]) -> None:
        """Drop the INVALID indexes earlier attempts left, each gone from *leftovers* once dropped."""
        while leftovers:
            name = leftovers[0]
            emit(self.reporter, WARNING, f"{stmt.location}: index {name} is INVALID (left by a failed attempt of "
                                         "this concurrent build); dropping it", level="warning")
            self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            leftovers.pop(0)

    def _resumes_interrupted_run(self, step: Step, first: Statement) -> bool:
        """Whether this run continues an interrupted run of the file at a concurrent index build or drop:
        the latest event of the version is this action's, running (killed) or failed."""
        if step.action == TYPE_ROLLBACK or first.non_transactional not in (_CIC, _DIC):
            return False
        row = self.conn.execute(
            f"SELECT status, migration_type FROM {self.ledger.qualified} WHERE version = %s "
            "ORDER BY id DESC LIMIT 1", (step.version,)).fetchone()
        return bool(row) and row[0] in ("running", "failed") and row[1] == step.action

    def _done_by_interrupted_run(self, stmt: Statement) -> bool:
        """Whether the interrupted run's last statement did its work after all (the server went on with
        it after pgshift was killed): a named concurrent build whose index is there and VALID on its
        table, or a concurrent drop whose index is gone. Said as a warning; the statement is skipped."""
        if stmt.non_transactional == _CIC:
            row = self._named_index(stmt)
            if not (row and row[0] and row[1]):
                return False
            what = f"index {row[2]} exists and is VALID: built by the interrupted run"
        elif stmt.non_transactional == _DIC and len(stmt.node.objects or ()) == 1:
            parts = [part.sval for part in stmt.node.objects[0]]
            if self.conn.execute("SELECT to_regclass(%s)", (_qualified(*parts),)).fetchone()[0] is not None:
                return False
            what = f"index {'.'.join(parts)} no longer exists: dropped by the interrupted run"
        else:
            return False
        emit(self.reporter, WARNING, f"{stmt.location}: {what}; statement {stmt.index + 1} skipped",
             level="warning")
        return True

    def _drop_invalid_index(self, stmt: Statement) -> None:
        invalid = self._invalid_index(stmt)
        if invalid:
            emit(self.reporter, WARNING, f"{stmt.location}: index {invalid} is INVALID (left by a failed concurrent "
                                         "build); dropping it before building it again", level="warning")
            self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {invalid}")

    # -- failures and retries -----------------------------------------------------------

    def _should_retry(self, exc, attempt: int, step: Step, stmt: Statement) -> bool:
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate not in (LOCK_NOT_AVAILABLE, DEADLOCK) or attempt >= max(1, self.options.lock_retries):
            return False
        delay = min(self.options.retry_max, self.options.retry_base * (2 ** (attempt - 1)))
        delay = random.uniform(delay / 2, delay)
        what = "lock timeout" if sqlstate == LOCK_NOT_AVAILABLE else "deadlock"
        relations = self._relations(stmt)
        holder = self._long_lock_holder(relations) if relations else None
        emit(self.reporter, RETRY,
             f"{stmt.location}: {what} ({_first_line(exc)}); retry {attempt} of "
             f"{self.options.lock_retries - 1} in at most {format_duration(delay)}, as soon as "
             + (f"{holder} lets go" if holder else "the lock is free"),
             level="warning", version=step.version, attempt=attempt, delay=delay, sqlstate=sqlstate,
             holder=holder)
        self._wait_for_lock(relations, delay)
        return True

    def _relations(self, stmt: Statement) -> tuple[str, ...]:
        from .statements import referenced_relations  # noqa: PLC0415

        return referenced_relations(stmt.node) if stmt.node is not None else ()

    def _long_lock_holder(self, relations: tuple[str, ...]) -> str | None:
        """A session holding a lock on one of *relations* in a transaction older than half the
        lock timeout: what the next attempt would queue behind."""
        threshold = max(0.05, (self.options.lock_timeout or 1.0) / 2)
        try:
            row = self.conn.execute(
                "SELECT a.pid, a.application_name, a.state, round(extract(epoch FROM now() - a.xact_start)::numeric, 1), "
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

    def _wait_for_lock(self, relations: tuple[str, ...], delay: float) -> None:
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
            if relations and now >= floor and self._long_lock_holder(relations) is None:
                return
            self.sleep(min(0.1, deadline - now))

    def _fail(self, step: Step, exc, stmt: Statement | None, started_at, retries: int, statements_done: int):
        error = self._migration_failed(step, exc, stmt, retries, applied=statements_done)
        details = {"statement": stmt.index + 1, "line": stmt.location.line} if stmt else {}
        if statements_done:  # an earlier run's statements stay applied: keep what they were
            details[ledger_mod.FINGERPRINT] = ledger_mod.progress_fingerprint(
                ledger_mod.statement_digests(step.parsed.statements), statements_done)
        previous = (step.resume_details or {}).get("previous_run")
        if previous:  # --allow-changed ran a changed file again from the start: what its earlier run did
            details["previous_run"] = previous
        try:
            self._insert_final(step, "failed", started_at, 0, retries=retries, statements_done=statements_done,
                               error=_error_text(exc), details=details or None)
        except Exception:  # noqa: BLE001 - the connection may be gone
            pass
        raise error from None

    def _migration_failed(self, step: Step, exc, stmt: Statement | None, retries: int,
                          applied: int = 0) -> MigrationFailed:
        """The error of a failed statement; *applied*: how many of the file's statements stay applied."""
        emit(self.reporter, FILE_FAILED, f"{step.action} {step.parsed.relpath} failed", level="error",
             version=step.version)
        text = step.parsed.text
        if stmt is None:
            return MigrationFailed(f"{step.parsed.relpath}: {_error_text(exc)}")
        index = locate(stmt, exc)
        line, col = line_col(text, index)
        diag = getattr(exc, "diag", None)
        hint_parts = []
        for part in (getattr(diag, "message_detail", None), getattr(diag, "message_hint", None)):
            if part:
                hint_parts.append(part)
        if getattr(exc, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            hint_parts.append(f"the lock was not granted within lock_timeout after {retries + 1} attempt(s); "
                              "a long transaction holds it (see `pgshift diagnose`); run again later or raise "
                              "--lock-timeout")
        if getattr(exc, "sqlstate", None) == DUPLICATE_SCHEMA and stmt.kind == "CreateSchemaStmt" \
                and (stmt.node.schemaname or "") == self.ledger.schema:
            hint_parts.append(f"pgshift created schema {self.ledger.schema} for its ledger "
                              f"({self.ledger.schema}.{self.ledger.table}) before the first migration: "
                              f"write CREATE SCHEMA IF NOT EXISTS {self.ledger.schema}")
        hint_parts.append(_what_stays_applied(step, stmt, applied))
        sqlstate = getattr(exc, "sqlstate", None)
        return MigrationFailed(
            f"statement {stmt.index + 1} of {len(step.parsed.statements)} failed: {_first_line(exc)}"
            + (f" [SQLSTATE {sqlstate}]" if sqlstate else ""),
            location=Location(step.parsed.relpath, line, col), context=caret_context(text, index),
            hint="\n".join(hint_parts), details={"sqlstate": sqlstate, "version": step.version},
        )


def _what_stays_applied(step: Step, stmt: Statement, applied: int) -> str:
    """The hint's account of a failure: what stays applied, and where a rerun starts."""
    stmts = step.parsed.statements
    if step.mode == TX_FILE:
        if not applied:
            return "the file's transaction was rolled back: nothing of it was applied"
        return (f"the file's transaction was rolled back: nothing of this run was applied; its first {applied} "
                f"statement(s), applied by an earlier run, stay applied, and a rerun resumes after them")
    if step.action == TYPE_ROLLBACK:
        before = (f"the {applied} statement(s) before it stay applied" if applied
                  else "no statement before it was applied")
        return (f"{before}; a rerun of the rollback runs its file again from the first statement: make those before "
                "this one safe to run twice (IF EXISTS, ...)")
    keep = (f" (leave the file's first {applied} statement(s) as they are: they ran)" if applied else "")
    if applied >= stmt.index:
        before = (f"statements before it stay applied ({applied} of them)" if applied
                  else "no statement before it was applied")
        batch = ("; its committed batches stay committed: the unchanged statement continues after the last of "
                 "them, a changed one runs again from its first batch" if stmt.directive("batch") else "")
        return f"{before}; a rerun resumes at this one, after you fix it (or anything after it) too{keep}{batch}"
    begin = stmts[applied]
    if stmt.tx_control == "commit":
        lost = (f"its COMMIT failed, so the file's own transaction (BEGIN at line {begin.location.line}) was "
                f"rolled back: statements {applied + 1}-{stmt.index + 1} are not applied")
    else:
        lost = (f"the file's own transaction (BEGIN at line {begin.location.line}) was rolled back: statements "
                f"{applied + 1}-{stmt.index} before this one are not applied either")
    stays = (f"the {applied} statement(s) committed before that BEGIN stay applied" if applied
             else "nothing of the file was committed before it")
    return (f"{lost}; {stays}; a rerun resumes at that BEGIN (statement {applied + 1}), after you fix the "
            f"file from there on too{keep}")


@dataclass(frozen=True)
class _Outcome:
    retries: int
    rows: int | None


class _FileLeftTransactionOpen(Exception):
    pass


_CIC = "CREATE INDEX CONCURRENTLY"
_DIC = "DROP INDEX CONCURRENTLY"


def _qualified(*parts: str | None) -> str:
    """A name for to_regclass(): the parts quoted as identifiers, joined by dots."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts if part)


def _concurrent_build(stmt: Statement | None) -> tuple[str | None, str | None]:
    """(index, table) of a CREATE INDEX CONCURRENTLY, quoted for to_regclass(); index None when the
    statement names none; (None, None) for any other statement."""
    if stmt is None or stmt.kind != "IndexStmt" or stmt.non_transactional != _CIC or stmt.node.relation is None:
        return None, None
    schema = stmt.node.relation.schemaname
    index = _qualified(schema, stmt.node.idxname) if stmt.node.idxname else None
    return index, _qualified(schema, stmt.node.relation.relname)


def locate(stmt: Statement, exc) -> int:
    """Index into the file of a server error: the statement's offset plus the error's position."""
    diag = getattr(exc, "diag", None)
    pos = getattr(diag, "statement_position", None)
    if pos:
        try:
            return stmt.offset + int(pos) - 1
        except ValueError:
            pass
    internal_query = getattr(diag, "internal_query", None)
    internal_pos = getattr(diag, "internal_position", None)
    if internal_query and internal_pos:
        at = stmt.sql.find(internal_query)
        if at >= 0:
            return stmt.offset + at + int(internal_pos) - 1
    return stmt.offset


def _first_line(exc) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return primary or str(exc).strip().split("\n", 1)[0]


def _error_text(exc) -> str:
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{_first_line(exc)}" + (f" [SQLSTATE {sqlstate}]" if sqlstate else "")


def _summary(stmt: Statement) -> str:
    first = " ".join(stmt.sql.split())
    return first[:80] + ("…" if len(first) > 80 else "")


def _json(value) -> str:
    import json  # noqa: PLC0415

    return json.dumps(value, default=str)


__all__ = ["Executor", "ExecOptions", "locate"]


def _done(step: Step) -> str:
    """The status a successful event closes with: ``completed``; for a rollback ``rolled_back``
    (PRODUCT.md section 3; what the guide's own queries look for)."""
    return STATUS_ROLLED_BACK if step.action == TYPE_ROLLBACK else STATUS_COMPLETED
