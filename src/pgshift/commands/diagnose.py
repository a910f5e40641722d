"""``diagnose``: the state of the server and the ledger, when something is stuck."""
from __future__ import annotations

from dataclasses import dataclass

from ..project import Project


@dataclass(frozen=True)
class Diagnosis:
    """What ``diagnose`` found, by section.

    Attributes:
        sections: Section name (``ledger``, ``waiting_locks``, ``blocking``,
            ``long_transactions``, ``tables``) -> ``{"columns": [...], "rows": [[...], ...]}``
            (and a ``note`` when there is nothing to show).
    """
    sections: dict

    def to_dict(self) -> dict:
        """``--json``: each section's columns and rows (and a note when it has none). An interval
        (the ledger's duration, a transaction's age) is in seconds, its column named ``<name>_seconds``."""
        out = {}
        for name, section in self.sections.items():
            columns = [f"{c}_seconds" if c in _INTERVALS else c for c in section["columns"]]
            seconds = {i for i, c in enumerate(section["columns"]) if c in _INTERVALS}
            rows = [[v.total_seconds() if i in seconds and hasattr(v, "total_seconds") else v for i, v in enumerate(r)]
                    for r in section["rows"]]
            out[name] = {**section, "columns": columns, "rows": rows}
        return out


_INTERVALS = {"duration", "transaction_age", "blocking_transaction_age"}   # columns holding an interval


_DIAGNOSE = {
    "waiting_locks": (
        "SELECT l.locktype, l.relation::regclass::text AS relation, l.mode, l.granted, a.pid, a.application_name, "
        "a.state, now() - a.xact_start AS transaction_age, left(a.query, 200) AS query, "
        "pg_blocking_pids(a.pid) AS blocked_by "
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON l.pid = a.pid WHERE NOT l.granted ORDER BY l.relation"),
    "blocking": (
        "SELECT w.pid AS waiting_pid, w.application_name AS waiting_app, left(w.query, 120) AS waiting_query, "
        "b.pid AS blocking_pid, b.application_name AS blocking_app, b.state AS blocking_state, "
        "now() - b.xact_start AS blocking_transaction_age, left(b.query, 120) AS blocking_query "
        "FROM pg_stat_activity w CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid) "
        "JOIN pg_stat_activity b ON b.pid = bp.pid ORDER BY w.pid"),
    "long_transactions": (
        "SELECT pid, application_name, state, now() - xact_start AS transaction_age, left(query, 200) AS query "
        "FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() "
        "AND now() - xact_start > interval '1 minute' ORDER BY xact_start"),
    "tables": (
        "SELECT schemaname, relname AS tablename, n_live_tup AS live_rows, n_dead_tup AS dead_rows, last_vacuum, "
        "last_autovacuum FROM pg_stat_user_tables "
        "WHERE schemaname NOT IN ('information_schema', 'pg_catalog') ORDER BY n_live_tup DESC LIMIT 50"),
}


def diagnose(project: Project) -> Diagnosis:
    """What the guide's troubleshooting queries show, when a migration is stuck or slow.

    The ledger's newest events, waiting and blocking locks, transactions open for more than a
    minute, the biggest tables. Read-only; the embedded server is never started here.

    Args:
        project: An opened project.

    Returns:
        A :class:`Diagnosis`.

    Raises:
        ConfigError: The project uses the embedded server and it is not running (exit 2).
        OperationError: The database cannot be reached.
    """
    from .. import ledger as ledger_mod  # noqa: PLC0415

    sections: dict = {}
    with project.connected(start=False) as conn:   # read-only: never starts the embedded server
        recent = ledger_mod.recent_events(conn, project.ledger)
        sections["ledger"] = ({"columns": [], "rows": [], "note": f"no ledger {project.config.ledger} yet"}
                              if recent is None else {"columns": recent[0], "rows": recent[1]})
        for name, query in _DIAGNOSE.items():
            cur = conn.execute(query)
            sections[name] = {"columns": [c.name for c in cur.description], "rows": [list(r) for r in cur.fetchall()]}
    return Diagnosis(sections)
