"""What the last statement of an interrupted run did, when it could not run in a transaction.

A statement that may run in a transaction runs in one with its progress record, so a kill or
a lost connection leaves both or neither. One that may not (``CREATE DATABASE``, ``VACUUM``,
``DETACH PARTITION ... CONCURRENTLY``, ...) commits on its own: when pgshift was killed while it
ran (the version's latest event is still ``running``), the rerun cannot know from the ledger
whether it took effect. Concurrent index builds and drops are told by ``indexes``; every other
kind is told here, as one of four answers:

* it did its work (the database, tablespace or subscription it creates exists; the one it
  drops is gone; the partition is detached; the prepared transaction is ended): the statement
  is skipped, with a warning that says why;
* it did not, or doing it again is harmless (``VACUUM``, ``REINDEX``, ``ALTER SYSTEM``, ...):
  it runs;
* nobody can tell (a subscription's publication list, a kind pgshift does not know): the run
  is refused (exit 3), naming the statement and what to check; the refusal is recorded as the
  version's failed event, marked with the statement, so that the next run, once the user has
  checked (and undone it if it took effect), runs it again;
* it is half done and only the user can finish it (a partition PostgreSQL marks
  detach-pending: ``DETACH PARTITION ... FINALIZE``): refused, every run, until it is finished;
  then it counts as done.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..db import qualified

if TYPE_CHECKING:
    from ..model import Statement

#: kinds whose second run does no harm: the work is done again, or finds nothing to do
HARMLESS_AGAIN = frozenset({
    "REINDEX CONCURRENTLY", "REINDEX SCHEMA", "REINDEX SYSTEM", "REINDEX DATABASE", "VACUUM",
    "CLUSTER without a table", "ALTER SYSTEM", "ALTER DATABASE ... SET TABLESPACE",
    "ALTER SUBSCRIPTION ... REFRESH PUBLICATION", "ALTER SUBSCRIPTION ... SET (failover)", "DISCARD ALL",
})
DONE, AGAIN, UNKNOWN, BLOCKED = "done", "again", "unknown", "blocked"


def outcome(conn, stmt: Statement) -> tuple[str, str]:
    """(DONE, AGAIN, UNKNOWN or BLOCKED, why) for *stmt*, the statement an interrupted run was running."""
    kind, node = stmt.non_transactional, stmt.node
    if kind in HARMLESS_AGAIN:
        return AGAIN, f"{kind} may run again: doing it twice is harmless"

    def exists(sql: str, *params) -> bool:
        return conn.execute(sql, params).fetchone() is not None

    if kind in ("CREATE DATABASE", "DROP DATABASE"):
        there = exists("SELECT 1 FROM pg_database WHERE datname = %s", node.dbname)
        return _by_presence(f"database {node.dbname}", there, creates=kind.startswith("CREATE"))
    if kind in ("CREATE TABLESPACE", "DROP TABLESPACE"):
        there = exists("SELECT 1 FROM pg_tablespace WHERE spcname = %s", node.tablespacename)
        return _by_presence(f"tablespace {node.tablespacename}", there, creates=kind.startswith("CREATE"))
    if kind and kind.startswith("CREATE SUBSCRIPTION"):
        there = exists("SELECT 1 FROM pg_subscription WHERE subname = %s", node.subname)
        return _by_presence(f"subscription {node.subname}", there, creates=True)
    if kind == "COMMIT PREPARED / ROLLBACK PREPARED":
        pending = exists("SELECT 1 FROM pg_prepared_xacts WHERE gid = %s", node.gid)
        return ((AGAIN, f"prepared transaction {node.gid!r} is still pending") if pending else
                (DONE, f"prepared transaction {node.gid!r} is no longer pending: ended by the interrupted run"))
    if kind == "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY":
        return _detach(conn, node)
    return UNKNOWN, (f"{kind} commits on its own and was running when the last run was interrupted: "
                     "pgshift cannot tell whether it took effect")


def _by_presence(what: str, there: bool, *, creates: bool) -> tuple[str, str]:
    if creates:
        return (DONE, f"{what} exists: created by the interrupted run") if there else (AGAIN, f"{what} does not exist")
    if there:
        return AGAIN, f"{what} still exists"
    return DONE, f"{what} no longer exists: dropped by the interrupted run"


def _detach(conn, node) -> tuple[str, str]:
    """A concurrent detach: done when the partition is no longer attached; half done (its first
    transaction committed, the second not) when PostgreSQL marks it detach-pending."""
    parent = qualified(node.relation.schemaname, node.relation.relname)
    cmd = next(c for c in node.cmds if getattr(getattr(c, "def_", None), "concurrent", False))
    child = qualified(cmd.def_.name.schemaname, cmd.def_.name.relname)
    row = conn.execute("SELECT inhdetachpending FROM pg_inherits WHERE inhparent = to_regclass(%s) "
                       "AND inhrelid = to_regclass(%s)", (parent, child)).fetchone()
    if row is None:
        return DONE, f"partition {child} is no longer attached to {parent}: detached by the interrupted run"
    if row[0]:
        return BLOCKED, (f"partition {child} is half detached from {parent} (the interrupted run's first "
                         f"transaction committed): finish it with ALTER TABLE {parent} DETACH PARTITION {child} "
                         "FINALIZE")
    return AGAIN, f"partition {child} is still attached to {parent}"
