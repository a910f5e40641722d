"""The fingerprint of a database's schema: the SHA-256 of its normalised catalog snapshot.

pgshift's own tables (the ledger and the ``pgshift_*`` tables beside it) are left out, so that
the ledger's growth or a recorded environment never reads as a schema change. The snapshot's
JSON (``Snapshot.to_json``: sorted keys, no OIDs, no owners) is what is hashed: two databases
migrated from the same files have the same fingerprint.
"""
from __future__ import annotations

import hashlib
from typing import Any

from .. import ledger as ledger_mod
from ..rehearsal.snapshot import Snapshot, take


def pgshift_tables(conn: Any, ledger: ledger_mod.Ledger) -> tuple[str, ...]:
    """The ledger and the tables pgshift keeps beside it (``<ledger schema>.pgshift_*``), as
    ``schema.table`` names, the ledger's always among them."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname LIKE 'pgshift\\_%%' AND c.relkind IN ('r', 'p')",
        (ledger.schema,)).fetchall()
    return tuple(sorted({ledger.name, *(r[0] for r in rows)}))


def other_projects(conn: Any, ledger: ledger_mod.Ledger) -> tuple[str, ...]:
    """Schemas other than the ledger's that hold a table of the ledger's name: other projects
    sharing the database (a fleet's tenant schemas, each with its own ledger). The database's
    schema is then not this project's alone: no fingerprint is recorded or compared (one
    tenant's migration must never be another's drift), and the schema dump leaves them out."""
    rows = conn.execute(
        "SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = %s AND n.nspname <> %s AND c.relkind IN ('r', 'p') ORDER BY 1",
        (ledger.table, ledger.schema)).fetchall()
    return tuple(r[0] for r in rows)


def snapshot(conn: Any, ledger: ledger_mod.Ledger) -> Snapshot:
    """The schema of *conn*'s database without pgshift's own tables."""
    return take(conn, exclude=pgshift_tables(conn, ledger))


def fingerprint_of(snap: Snapshot) -> str:
    """The SHA-256 (hex) of a snapshot's normalised JSON."""
    return hashlib.sha256(snap.to_json().encode("utf-8")).hexdigest()


def record(conn: Any, ledger: ledger_mod.Ledger, version: str, *, store: bool = False,
           extra: dict | None = None) -> str | None:
    """Fingerprint the schema now and record it in the newest event of *version* (a completed
    migrate or a rollback that just ran): ``details.schema_sha256``; with *store*, the snapshot
    too (``ledger.store_snapshot``); *extra*: more keys for its details. Run right after the
    version's own transaction; returns the fingerprint, or None when the version has no event or
    other projects share the database (:func:`other_projects`)."""
    if other_projects(conn, ledger):
        return None
    snap = snapshot(conn, ledger)
    sha = fingerprint_of(snap)
    with conn.transaction():
        if not ledger_mod.record_schema(conn, ledger, version, sha, extra):
            return None
        if store:
            ledger_mod.store_snapshot(conn, ledger, sha, snap.to_json())
    return sha
