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

Every attempt first asks the run's :class:`~.retry.RetryPolicy` to look before it queues
(``blocker_wait``): a file's transaction looks at the tables of all its statements before the
pipeline is sent, a statement run on its own at its tables, a file's own BEGIN..COMMIT at the
tables of everything up to its COMMIT, each batch at its table; the attempt then runs with the
lock timeout the policy gives (``SET LOCAL`` in the file's transaction, the session's around a
statement or a BEGIN..COMMIT, restored after it). A file that sets lock_timeout itself keeps it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .. import ledger as ledger_mod
from .. import resume
from ..errors import MigrationFailed
from ..events import FILE_COMPLETED, FILE_STARTED, RESUME, STATEMENT, WARNING, emit
from ..model import (
    STATUS_COMPLETED,
    STATUS_ROLLED_BACK,
    TX_BATCHED,
    TX_FILE,
    TX_NONE,
    TX_OWN,
    TYPE_ROLLBACK,
    Statement,
)
from ..runs import Plan, RunResult, Step, StepResult
from ..text import format_duration, parse_duration
from . import in_flight
from .failure import error_text, migration_failed, summary
from .indexes import CIC, DIC, ConcurrentIndexes
from .retry import RetryPolicy, blocker_wait_expired


@dataclass(frozen=True)
class ExecOptions:
    lock_timeout: float | None = None       # seconds; None or 0: no timeout
    statement_timeout: float | None = None
    lock_retries: int = 8                   # attempts in all, the first included
    retry_base: float = 0.5
    retry_max: float = 30.0
    blocker_wait: float = 0.0               # seconds to wait for visible blockers before an attempt; 0: no look
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
        self.indexes = ConcurrentIndexes(conn, ledger, reporter)
        self._batch_context = None
        self.retry = RetryPolicy(conn, options.lock_retries, options.retry_base, options.retry_max,
                                 options.lock_timeout, reporter, sleep, blocker_wait=options.blocker_wait)
        self._file_lock_timeout: float | None = options.lock_timeout   # the limit of the file running
        self._own_lock_timeout = False          # the file running sets lock_timeout itself
        self.after_step = None                  # called with each step that completed (its fingerprint)

    # -- public ---------------------------------------------------------------

    def run(self, plan: Plan) -> RunResult:
        results: list[StepResult] = []
        self._apply_session_timeouts(self.options.lock_timeout)
        last = len(plan.steps) - 1
        for number, step in enumerate(plan.steps):
            try:
                results.append(self.run_step(step, durable=number == last))
                if self.after_step is not None:
                    self.after_step(step)
            except MigrationFailed as exc:
                exc.details.setdefault("results", [r.to_dict() for r in results])
                raise
        return RunResult(tuple(results), warnings=plan.warnings)

    def run_step(self, step: Step, durable: bool = True) -> StepResult:
        p = step.parsed
        directive = p.file_directive("lock-timeout")
        lock_timeout = parse_duration(directive.args["value"]) if directive else self.options.lock_timeout
        self._apply_session_timeouts(lock_timeout, p.file_directive("statement-timeout"))
        self._file_lock_timeout = lock_timeout
        self._own_lock_timeout = any(s.kind == "VariableSetStmt" and (getattr(s.node, "name", None) or "").lower()
                                     == "lock_timeout" for s in p.statements)
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
        flushed = durable or step.mode != TX_FILE   # stepwise commits wait for the WAL flush
        emit(self.reporter, FILE_COMPLETED, f"{step.action} {p.relpath} done in {format_duration(ms / 1000)}"
             + ("" if flushed else " (committed; on disk with the run's last commit)"),
             version=step.version, file=p.relpath, execution_ms=ms, retries=outcome.retries, flushed=flushed)
        return StepResult(step.version, step.migration.name, step.action, step.mode, "completed", ms,
                          len(p.statements), step.resume_from, outcome.retries, outcome.rows)

    # -- settings ---------------------------------------------------------------

    def _reset_session(self) -> None:
        """A file's own `SET search_path = ...` must not leak into the files after it: each file
        starts from the session's defaults, as it would in a psql session of its own."""
        from ..db import session_settings  # noqa: PLC0415

        self.conn.execute("RESET ALL")
        session_settings(self.conn)
        self._current_lock_timeout = None

    def _apply_session_timeouts(self, lock_timeout, statement_directive=None) -> None:
        statement_timeout = (parse_duration(statement_directive.args["value"]) if statement_directive
                             else self.options.statement_timeout)
        key = (lock_timeout, statement_timeout)
        if key == self._current_lock_timeout:
            return
        self.conn.execute(f"SET lock_timeout = '{_ms(lock_timeout)}'")
        self.conn.execute(f"SET statement_timeout = '{_ms(statement_timeout)}'")
        self._current_lock_timeout = key

    def _look(self, statements, version: str, attempt: int) -> float | None:
        """Look before attempt *attempt* of *statements* (see retry.RetryPolicy.before_attempt): the
        lock_timeout to run it with, or None to leave the session's (also when the file sets its own)."""
        timeout = self.retry.before_attempt(statements, version, attempt, self._file_lock_timeout)
        return None if self._own_lock_timeout else timeout

    def _restore_lock_timeout(self) -> None:
        """The session's lock_timeout back to the file's after an attempt that ran with its own."""
        from psycopg import Error  # noqa: PLC0415

        key = self._current_lock_timeout
        try:
            self.conn.execute(f"SET lock_timeout = '{_ms(key[0] if key else self._file_lock_timeout)}'")
        except Error:   # the connection may be gone: the error that matters is the statement's
            self._current_lock_timeout = None

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
            try:   # before the pipeline: every table of the file's statements, and before each retry
                timeout = self._look(statements, step.version, attempt)
            except psycopg.Error as exc:   # the wait for a visible blocker ran out
                self._fail(step, exc, getattr(exc, "pgshift_statement", None), started_at, attempt - 1,
                           statements_done=step.resume_from)
            cursors: list = []
            early: psycopg.Error | None = None
            try:
                with self.conn.pipeline():
                    try:
                        self.conn.execute("BEGIN")
                        if timeout is not None:
                            self.conn.execute(f"SET LOCAL lock_timeout = '{_ms(timeout)}'")
                        if not durable:
                            self.conn.execute("SET LOCAL synchronous_commit = off")
                        for stmt in statements:
                            if self.verbose:
                                emit(self.reporter, STATEMENT, f"{stmt.location}: {summary(stmt)}", level="debug",
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
                current = next((stmt for stmt, cur in zip(statements, cursors, strict=False)
                                if cur.pgresult is None), None)
                if len(cursors) < len(statements) and current is None:
                    current = statements[len(cursors)]
                if self._in_transaction():
                    self.conn.execute("ROLLBACK")
                if current is not None and self.retry.should_retry(error, attempt, step.version, current):
                    continue
                self._fail(step, error, current, started_at, attempt - 1, statements_done=step.resume_from)

    def _final_event_sql(self, step: Step, status: str, started_at, ms: int | None, *, retries: int,
                         statements_done: int, error: str | None = None, details: dict | None = None) -> str:
        """The INSERT of a closed event, to send with the file's statements. ``started_at`` None:
        the transaction's start (now()); ``ms`` None: measured by the server at the INSERT."""
        m = step.migration
        info = dict(details or {})
        if retries:
            info["lock_retries"] = retries
        return ledger_mod.closed_event_sql(
            self.conn, self.ledger, version=m.version, name=m.name, description=m.description, status=status,
            migration_type=step.action, started_at=started_at, checksum=self._checksum(step), execution_ms=ms,
            applied_by=self.options.applied_by, client_host=self.options.client_host,
            tool_version=self.options.tool_version, error=error, statements_done=statements_done,
            details=info or None)

    def _insert_final(self, step: Step, status: str, started_at, ms: int, *, retries: int, statements_done: int,
                      error: str | None = None, details: dict | None = None) -> None:
        self.conn.execute(self._final_event_sql(step, status, started_at, ms, retries=retries,
                                                statements_done=statements_done, error=error, details=details))

    @staticmethod
    def _checksum(step: Step) -> str:
        """A rollback event records the migration's checksum too: it is the version's file."""
        return step.migration.checksum

    # -- statement by statement --------------------------------------------------------

    def _settle_in_flight(self, step: Step, stmt: Statement, details: dict) -> bool:
        """Whether *stmt*, a statement that commits on its own and at which an interrupted run of
        this file stopped, did its work (skipped then, with a warning); refused when nobody can
        tell (see :mod:`pgshift.execution.in_flight`)."""
        from ..errors import SafetyRefusal  # noqa: PLC0415

        row = ledger_mod.latest_event_of(self.conn, self.ledger, step.version)
        if row is None or (row[1] or "migrate") != step.action:
            return False
        marked = isinstance(row[4], dict) and row[4].get("in_flight") == stmt.index
        if not (row[0] == "running" or (row[0] == "failed" and marked)):
            return False
        verdict, why = in_flight.outcome(self.conn, stmt)
        if verdict == in_flight.DONE:
            emit(self.reporter, WARNING, f"{stmt.location}: {why}; statement {stmt.index + 1} skipped",
                 level="warning")
            return True
        if verdict == in_flight.AGAIN or (verdict == in_flight.UNKNOWN and marked):
            return False
        message = f"statement {stmt.index + 1} ({summary(stmt)}) was running when pgshift was interrupted: {why}"
        hint = ("finish it as the message says, then run pgshift again" if verdict == in_flight.BLOCKED else
                "check whether it took effect and undo it if it did; the next run runs it again "
                "(this refusal is recorded as the version's failed event)")
        event_id = ledger_mod.start_event(
            self.conn, self.ledger, version=step.version, name=step.migration.name,
            description=step.migration.description, migration_type=step.action, checksum=self._checksum(step),
            applied_by=self.options.applied_by, client_host=self.options.client_host,
            tool_version=self.options.tool_version, statements_done=stmt.index,
            details={**details, "in_flight": stmt.index})
        ledger_mod.finish_event(self.conn, self.ledger, event_id, status="failed", execution_ms=0,
                                error=message, statements_done=stmt.index)
        raise SafetyRefusal(message, hint=hint, location=stmt.location,
                            details={"version": step.version, "statement": stmt.index + 1, "in_flight": verdict})

    def _run_stepwise(self, step: Step) -> "_Outcome":
        import psycopg  # noqa: PLC0415

        from . import batching  # noqa: PLC0415

        stmts = step.parsed.statements
        start = step.resume_from
        details = dict(step.resume_details or {})
        # what the statements done are, recorded with every progress: a rerun after an edit checks them
        digests = resume.statement_digests(stmts)
        details[resume.FINGERPRINT] = resume.progress_fingerprint(digests, start)
        self._announce_resume(step)
        # a batched statement that cannot be batched is refused before anything of the file runs
        batching.precheck(self.conn, step.parsed, start)
        # the statement an interrupted run stopped at may have done its work all the same (a concurrent
        # index build the server finished after pgshift was killed): asked before this run's event exists
        interrupted = self.indexes.interrupted_run(step, stmts[start]) if start < len(stmts) else None
        leftovers: list[str] = []  # INVALID indexes failed or interrupted attempts of an unnamed build left
        skip_first = interrupted is not None and self.indexes.done_by_interrupted_run(
            stmts[start], step, interrupted, leftovers)
        if interrupted is None and start < len(stmts) and stmts[start].non_transactional not in (None, CIC, DIC):
            skip_first = self._settle_in_flight(step, stmts[start], details)
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
        limited_to = -1           # the last statement of the attempt running with its own lock_timeout (-1: none)
        try:
            while index < len(stmts):
                stmt = current = stmts[index]
                in_tx = self._in_transaction()
                if not in_tx:
                    safe_point = index
                emit(self.reporter, STATEMENT, f"{stmt.location}: {summary(stmt)}", level="debug",
                     index=index, file=step.parsed.relpath)
                before = None
                recorded = -1     # the progress this statement recorded in its own transaction
                try:
                    if not in_tx and not stmt.directive("batch"):   # a batch looks before each of its attempts
                        unit = _attempt_unit(stmts, index)
                        timeout = self._look(unit, step.version, attempt)
                        if timeout is not None:
                            self.conn.execute(f"SET lock_timeout = '{_ms(timeout)}'")
                            limited_to = index + len(unit) - 1
                    if stmt.directive("batch"):
                        rows += batching.run_batched(self.batch_context(), step, stmt, event_id, details)
                    elif index == start and skip_first:
                        pass
                    else:
                        # what earlier attempts left is dropped before the build: a drop that times
                        # out is a failed attempt like any other, retried after the backoff
                        self.indexes.drop_invalid_index(stmt)
                        self.indexes.drop_leftovers(stmt, leftovers)
                        before = self.indexes.index_oids(stmt)
                        if in_tx and stmt.tx_control == "commit":
                            # progress inside the file's own transaction: durable exactly when its work is
                            ledger_mod.record_progress(
                                self.conn, self.ledger, event_id, statements_done=index + 1,
                                details={**details, resume.FINGERPRINT: resume.progress_fingerprint(
                                    digests, index + 1)})
                        if not in_tx and stmt.non_transactional is None and stmt.tx_control is None:
                            # exactly once: a statement that may run in a transaction runs in one with
                            # its progress record, so a kill or a lost connection leaves both or neither
                            self.conn.execute("BEGIN")
                            cur = self.conn.execute(stmt.sql, prepare=False)
                            rows += max(cur.rowcount, 0)
                            details[resume.FINGERPRINT] = resume.progress_fingerprint(digests, index + 1)
                            ledger_mod.record_progress(
                                self.conn, self.ledger, event_id, statements_done=index + 1,
                                details={**details, "lock_retries": retries} if retries else details)
                            self.conn.execute("COMMIT")
                            recorded = index + 1
                        else:
                            if stmt.non_transactional == CIC and stmt.node.idxname is None:
                                # an unnamed build: what indexes the table had, kept before it starts, so
                                # that a rerun after a crash can tell the build's leftovers (or result)
                                ledger_mod.record_progress(self.conn, self.ledger, event_id, statements_done=index,
                                                           details={**details, "cic_before": {
                                                               "statement": index, "indexes": before or []}})
                            cur = self.conn.execute(stmt.sql, prepare=False)
                            rows += max(cur.rowcount, 0)
                except psycopg.Error as exc:
                    if self._in_transaction():
                        self.conn.execute("ROLLBACK")
                    if limited_to >= 0:
                        self._restore_lock_timeout()
                        limited_to = -1
                    leftovers.extend(self.indexes.new_invalid_indexes(stmt, before))
                    # a batched statement retries each batch itself; when that gives up, so does the file
                    if not stmt.directive("batch") and self.retry.should_retry(exc, attempt, step.version, stmt):
                        attempt += 1
                        retries += 1
                        index = safe_point
                        continue
                    raise
                attempt = 1
                index += 1
                if limited_to >= 0 and index > limited_to and not self._in_transaction():
                    self._restore_lock_timeout()
                    limited_to = -1
                if not self._in_transaction() and recorded != index:
                    details[resume.FINGERPRINT] = resume.progress_fingerprint(digests, index)
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
            self._close_failed(event_id, step, begun, error_text(exc), done)
            error = self._migration_failed(step, exc, current, retries, applied=done)
            invalid = self.indexes.invalid_index(current) if current is not None else None
            notes = []
            if invalid:
                error.details["invalid_index"] = invalid
                notes.append(f"index {invalid} is left INVALID by the failed concurrent build: the next `pgshift up` "
                             f"drops it before building it again (to drop it now: DROP INDEX CONCURRENTLY {invalid};)")
            if leftovers:
                # an unnamed build's leftovers: no rerun could tell them from the user's own indexes
                try:
                    self.indexes.drop_leftovers(current, leftovers)
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

    # -- failures and retries -----------------------------------------------------------

    def _fail(self, step: Step, exc, stmt: Statement | None, started_at, retries: int, statements_done: int):
        error = self._migration_failed(step, exc, stmt, retries, applied=statements_done)
        details = {"statement": stmt.index + 1, "line": stmt.location.line} if stmt else {}
        if statements_done:  # an earlier run's statements stay applied: keep what they were
            details[resume.FINGERPRINT] = resume.progress_fingerprint(
                resume.statement_digests(step.parsed.statements), statements_done)
        previous = (step.resume_details or {}).get("previous_run")
        if previous:  # --allow-changed ran a changed file again from the start: what its earlier run did
            details["previous_run"] = previous
        try:
            self._insert_final(step, "failed", started_at, 0, retries=retries, statements_done=statements_done,
                               error=error_text(exc), details=details or None)
        except Exception:  # noqa: BLE001 - the connection may be gone
            pass
        raise error from None

    def batch_context(self):
        """What batched statements run with: this run's connection, ledger, reporter and retry policy."""
        from .batching import BatchContext  # noqa: PLC0415

        if self._batch_context is None:
            self._batch_context = BatchContext(self.conn, self.ledger, self.reporter, self.retry, self.sleep)
        return self._batch_context

    def _migration_failed(self, step: Step, exc, stmt: Statement | None, retries: int,
                          applied: int = 0) -> MigrationFailed:
        waited = blocker_wait_expired(exc)
        if waited:   # the statement whose lock was blocked, and why no lock was waited for
            stmt = getattr(exc, "pgshift_statement", None) or stmt
        error = migration_failed(step, exc, stmt, retries, applied, ledger=self.ledger, reporter=self.reporter)
        if waited:
            pids = [b["pid"] for b in waited["blockers"] if b["pid"] is not None]
            # retries: the attempts made before the look that gave up (each failed on the lock)
            made = f"after {retries} attempt(s) that failed on the lock" if retries else "before any attempt"
            why = (f"the way to {waited['mode']} on {waited['relation']} never cleared within blocker_wait "
                   f"{format_duration(waited['blocker_wait'])} ({made}), so pgshift did not "
                   "queue for it; run again later, end the blocking session"
                   + (f" (SELECT pg_terminate_backend({pids[0]}))" if pids else "")
                   + ", or raise --blocker-wait")
            lines = (error.hint or "").split("\n")
            error.hint = "\n".join(why if line.startswith("the lock was not granted within lock_timeout") else line
                                   for line in lines)
            error.details["blocker_wait"] = waited
        return error


@dataclass(frozen=True)
class _Outcome:
    retries: int
    rows: int | None


class _FileLeftTransactionOpen(Exception):
    pass


def _ms(seconds: float | None) -> str:
    """A lock or statement timeout as PostgreSQL takes it (0ms: none)."""
    return f"{int((seconds or 0) * 1000)}ms"


def _attempt_unit(stmts, index: int) -> tuple[Statement, ...]:
    """What one attempt at ``stmts[index]`` (outside a transaction) runs: the statement alone, or a
    file's own BEGIN with everything up to its COMMIT or ROLLBACK (a retry goes back to the BEGIN)."""
    if stmts[index].tx_control != "begin":
        return (stmts[index],)
    for end in range(index + 1, len(stmts)):
        if stmts[end].tx_control in ("commit", "rollback"):
            return tuple(stmts[index:end + 1])
    return tuple(stmts[index:])


def _done(step: Step) -> str:
    """The status a successful event closes with: ``completed``; for a rollback ``rolled_back``
    (PRODUCT.md section 3; what the guide's own queries look for)."""
    return STATUS_ROLLED_BACK if step.action == TYPE_ROLLBACK else STATUS_COMPLETED
