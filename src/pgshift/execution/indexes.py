"""Concurrent index builds and drops: what a failed or interrupted one left, and what to do with it.

A failed CREATE INDEX CONCURRENTLY leaves an INVALID index (``IF NOT EXISTS`` would then skip
it on a retry): it is dropped before the build is tried again. An unnamed build's failed
attempts are told from the table's other indexes by comparing the index oids before and
after. A build (or drop) that the server finished after pgshift was killed is recognised on
the rerun and skipped.
"""
from __future__ import annotations

from .. import ledger as ledger_mod
from ..db import qualified
from ..events import WARNING, emit
from ..model import Statement
from ..runs import Step

CIC = "CREATE INDEX CONCURRENTLY"
DIC = "DROP INDEX CONCURRENTLY"


def concurrent_build(stmt: Statement | None) -> tuple[str | None, str | None]:
    """(index, table) of a CREATE INDEX CONCURRENTLY, quoted for to_regclass(); index None when the
    statement names none; (None, None) for any other statement."""
    if stmt is None or stmt.kind != "IndexStmt" or stmt.non_transactional != CIC or stmt.node.relation is None:
        return None, None
    schema = stmt.node.relation.schemaname
    index = qualified(schema, stmt.node.idxname) if stmt.node.idxname else None
    return index, qualified(schema, stmt.node.relation.relname)


class ConcurrentIndexes:
    """The concurrent-index bookkeeping of one run, on its connection."""

    def __init__(self, conn, ledger: ledger_mod.Ledger, reporter=None):
        self.conn = conn
        self.ledger = ledger
        self.reporter = reporter

    def invalid_index(self, stmt: Statement) -> str | None:
        """The index a concurrent build names, when it exists and is INVALID (a failed build leaves it so)."""
        row = self.named_index(stmt)
        return row[2] if row and not row[0] else None

    def named_index(self, stmt: Statement):
        """(valid, on the statement's table, name) of the index a concurrent build names; None when there
        is none (or the statement is no named concurrent build)."""
        index, table = concurrent_build(stmt)
        if index is None:
            return None
        try:
            return self.conn.execute(
                "SELECT i.indisvalid, i.indrelid = to_regclass(%s), i.indexrelid::regclass::text FROM pg_index i "
                "WHERE i.indexrelid = to_regclass(%s)", (table, index)).fetchone()
        except Exception:  # noqa: BLE001 - the connection may be gone after a failure
            return None

    def index_oids(self, stmt: Statement) -> list[int] | None:
        """The indexes on the table of an unnamed concurrent build, before an attempt: what the attempt
        adds is told from them afterwards. None for any other statement."""
        index, table = concurrent_build(stmt)
        if table is None or index is not None:
            return None
        return [row[0] for row in self.conn.execute(
            "SELECT indexrelid::int8 FROM pg_index WHERE indrelid = to_regclass(%s)", (table,))]

    def new_invalid_indexes(self, stmt: Statement, before: list[int] | None) -> list[str]:
        """The INVALID indexes a failed attempt of an unnamed concurrent build left on its table."""
        if before is None:
            return []
        try:
            return [row[0] for row in self.conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = to_regclass(%s) "
                "AND NOT indisvalid AND indexrelid::int8 <> ALL (%s) ORDER BY indexrelid",
                (concurrent_build(stmt)[1], before))]
        except Exception:  # noqa: BLE001 - the connection may be gone after a failure
            return []

    def drop_leftovers(self, stmt: Statement, leftovers: list[str]) -> None:
        """Drop the INVALID indexes earlier attempts left, each gone from *leftovers* once dropped."""
        while leftovers:
            name = leftovers[0]
            emit(self.reporter, WARNING, f"{stmt.location}: index {name} is INVALID (left by a failed attempt of "
                                         "this concurrent build); dropping it", level="warning")
            self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            leftovers.pop(0)

    def interrupted_run(self, step: Step, first: Statement):
        """The event of an interrupted run of the file that stopped at *first*, a concurrent index
        build or drop: (status, type, checksum, statements done, details), when the latest event of
        the version is this action's and running (killed) or failed; else None."""
        if first.non_transactional not in (CIC, DIC):
            return None
        row = ledger_mod.latest_event_of(self.conn, self.ledger, step.version)
        if row is None or row[0] not in ("running", "failed") or (row[1] or "migrate") != step.action:
            return None
        return row

    def done_by_interrupted_run(self, stmt: Statement, step: Step, interrupted, leftovers: list[str]) -> bool:
        """Whether the interrupted run's last statement did its work after all (the server went on with
        it after pgshift was killed): a concurrent build whose index is there, VALID, on its table and
        (when the file was edited since) of the statement's definition; or a concurrent drop whose index
        is gone. Said as a warning; the statement is skipped. An unnamed build's leftovers (INVALID
        indexes new since the interrupted run recorded the table's indexes) go to *leftovers*."""
        edited = interrupted[2] != step.migration.checksum
        if stmt.non_transactional == CIC and stmt.node.idxname is None:
            found = self._unnamed_build_result(stmt, interrupted, leftovers)
            if found is None:
                return False
            name, indexdef = found
            self._refuse_other_definition(stmt, name, indexdef, edited)
            what = f"index {name} exists and is VALID: built by the interrupted run"
        elif stmt.non_transactional == CIC:
            row = self.named_index(stmt)
            if not (row and row[0] and row[1]):
                return False
            self._refuse_other_definition(stmt, row[2], self._indexdef(row[2]), edited)
            what = f"index {row[2]} exists and is VALID: built by the interrupted run"
        elif stmt.non_transactional == DIC and len(stmt.node.objects or ()) == 1:
            parts = [part.sval for part in stmt.node.objects[0]]
            if self.conn.execute("SELECT to_regclass(%s)", (qualified(*parts),)).fetchone()[0] is not None:
                return False
            what = f"index {'.'.join(parts)} no longer exists: dropped by the interrupted run"
        else:
            return False
        emit(self.reporter, WARNING, f"{stmt.location}: {what}; statement {stmt.index + 1} skipped",
             level="warning")
        return True

    def _unnamed_build_result(self, stmt: Statement, interrupted, leftovers: list[str]):
        """(name, definition) of the VALID index an interrupted unnamed build made, if any; its INVALID
        leftovers go to *leftovers*. Told from the indexes the table had before the build, recorded
        in the interrupted run's event (``details.cic_before``)."""
        before = ((interrupted[4] or {}).get("cic_before") or {}) if isinstance(interrupted[4], dict) else {}
        if before.get("statement") != stmt.index or not isinstance(before.get("indexes"), list):
            return None
        rows = self.conn.execute(
            "SELECT indexrelid::regclass::text, indisvalid, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = to_regclass(%s) AND indexrelid::int8 <> ALL (%s) ORDER BY indexrelid",
            (concurrent_build(stmt)[1], before["indexes"])).fetchall()
        leftovers.extend(name for name, valid, _ in rows if not valid and name not in leftovers)
        valid = [(name, indexdef) for name, ok, indexdef in rows if ok]
        return valid[0] if valid else None

    def _indexdef(self, name: str) -> str:
        return self.conn.execute("SELECT pg_get_indexdef(to_regclass(%s))", (name,)).fetchone()[0]

    def _refuse_other_definition(self, stmt: Statement, name: str, indexdef: str, edited: bool) -> None:
        """After an edit of the file, the index the interrupted run built must be the one the
        statement now describes: skipping the statement would otherwise record a definition that
        is not there."""
        from ..errors import MigrationFailed  # noqa: PLC0415
        from ..sql import same_index  # noqa: PLC0415

        if not edited or same_index(stmt.node, indexdef):
            return
        raise MigrationFailed(
            f"index {name} was built by an interrupted run of an earlier text of this file, and differs from "
            f"what statement {stmt.index + 1} now builds: it is `{indexdef}`; nothing was run",
            location=stmt.location,
            hint=f"drop it (DROP INDEX CONCURRENTLY {name};) and run again to build the new definition, or "
                 "restore the statement as it was",
            details={"index": name, "indexdef": indexdef})

    def drop_invalid_index(self, stmt: Statement) -> None:
        invalid = self.invalid_index(stmt)
        if invalid:
            emit(self.reporter, WARNING, f"{stmt.location}: index {invalid} is INVALID (left by a failed concurrent "
                                         "build); dropping it before building it again", level="warning")
            self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {invalid}")
