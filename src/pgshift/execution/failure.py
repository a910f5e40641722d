"""A failed statement as the user sees it: ``file:line:col`` from the server's error position,
a caret under the spot, the server's detail and hint, and what stays applied."""
from __future__ import annotations

from .. import db
from ..errors import MigrationFailed
from ..events import FILE_FAILED, emit
from ..model import TX_FILE, TYPE_ROLLBACK, Location, Statement
from ..runs import Step
from ..text import caret_context, line_col


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


def first_line(exc) -> str:
    """The server's primary message (the first line of any other error)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return primary or str(exc).strip().split("\n", 1)[0]


def error_text(exc) -> str:
    """The error as the ledger records it: its first line and SQLSTATE."""
    sqlstate = db.sqlstate(exc)
    return f"{first_line(exc)}" + (f" [SQLSTATE {sqlstate}]" if sqlstate else "")


def summary(stmt: Statement) -> str:
    """A statement on one line, cut at 80 characters."""
    first = " ".join(stmt.sql.split())
    return first[:80] + ("…" if len(first) > 80 else "")


def migration_failed(step: Step, exc, stmt: Statement | None, retries: int, applied: int = 0, *,
                     ledger=None, reporter=None) -> MigrationFailed:
    """The error of a failed statement; *applied*: how many of the file's statements stay applied."""
    emit(reporter, FILE_FAILED, f"{step.action} {step.parsed.relpath} failed", level="error",
         version=step.version)
    text = step.parsed.text
    if stmt is None:
        return MigrationFailed(f"{step.parsed.relpath}: {error_text(exc)}")
    index = locate(stmt, exc)
    line, col = line_col(text, index)
    diag = getattr(exc, "diag", None)
    hint_parts = []
    for part in (getattr(diag, "message_detail", None), getattr(diag, "message_hint", None)):
        if part:
            hint_parts.append(part)
    if db.sqlstate(exc) == db.LOCK_NOT_AVAILABLE:
        hint_parts.append(f"the lock was not granted within lock_timeout after {retries + 1} attempt(s); "
                          "a long transaction holds it (see `pgshift diagnose`); run again later or raise "
                          "--lock-timeout")
    if db.sqlstate(exc) == db.DUPLICATE_SCHEMA and stmt.kind == "CreateSchemaStmt" \
            and ledger is not None and (stmt.node.schemaname or "") == ledger.schema:
        hint_parts.append(f"pgshift created schema {ledger.schema} for its ledger "
                          f"({ledger.schema}.{ledger.table}) before the first migration: "
                          f"write CREATE SCHEMA IF NOT EXISTS {ledger.schema}")
    hint_parts.append(what_stays_applied(step, stmt, applied))
    sqlstate = db.sqlstate(exc)
    return MigrationFailed(
        f"statement {stmt.index + 1} of {len(step.parsed.statements)} failed: {first_line(exc)}"
        + (f" [SQLSTATE {sqlstate}]" if sqlstate else ""),
        location=Location(step.parsed.relpath, line, col), context=caret_context(text, index),
        hint="\n".join(hint_parts), details={"sqlstate": sqlstate, "version": step.version},
    )


def what_stays_applied(step: Step, stmt: Statement, applied: int) -> str:
    """The hint's account of a failure: what stays applied, and where a rerun starts."""
    stmts = step.parsed.statements
    if step.mode == TX_FILE:
        if not applied:
            return "the file's transaction was rolled back: nothing of it was applied"
        return (f"the file's transaction was rolled back: nothing of this run was applied; its first {applied} "
                f"statement(s), applied by an earlier run, stay applied, and a rerun resumes after them")
    if step.action == TYPE_ROLLBACK and stmt.index <= applied:
        before = (f"the {applied} statement(s) before it stay applied" if applied
                  else "no statement before it was applied")
        return f"{before}; a rerun of the rollback resumes at this statement, after you fix it"
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
