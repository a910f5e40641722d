"""The ledger: one table recording every event (PRODUCT.md section 3).

One row per attempt: a migrate, rollback or baseline event whose status moves
from ``running`` to ``completed`` (a rollback: ``rolled_back``) or ``failed``. The current state of a version
is its latest event. An existing table of the guide's shape
(``shared.migration_log``) is adopted: missing columns are added, history kept.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .db import needs_privilege, quote_ident
from .errors import ConfigError
from .events import WARNING, emit
from .model import TYPE_REPAIR
from .runs import LedgerEvent

COLUMNS = {
    "id": "bigint",
    "version": "text NOT NULL",
    "name": "text",
    "description": "text",
    "status": "text NOT NULL DEFAULT 'running'",
    "migration_type": "text NOT NULL DEFAULT 'migrate'",
    "started_at": "timestamptz DEFAULT now()",
    "completed_at": "timestamptz",
    "rolled_back_at": "timestamptz",
    "checksum": "text",
    "execution_ms": "bigint",
    "applied_by": "text",
    "client_host": "text",
    "tool_version": "text",
    "error": "text",
    "statements_done": "integer",
    "details": "jsonb",
}
_READ = ("id", "version", "name", "description", "status", "migration_type", "started_at", "completed_at",
         "rolled_back_at", "checksum", "execution_ms", "applied_by", "client_host", "tool_version", "error",
         "statements_done", "details")


@dataclass(frozen=True)
class Ledger:
    schema: str
    table: str

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.table}"'

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def exists(conn, ledger: Ledger) -> bool:
    """Whether the ledger table is there (a role that may not see its schema is told the GRANT)."""
    with _reading(conn, ledger):
        row = conn.execute("SELECT to_regclass(%s)", (ledger.qualified,)).fetchone()
    return row[0] is not None


def _reading(conn, ledger: Ledger):
    return needs_privilege(conn, f"read the ledger {ledger.name}",
                           f"GRANT USAGE ON SCHEMA {quote_ident(ledger.schema)} TO {{role}}; "
                           f"GRANT SELECT, INSERT, UPDATE, DELETE ON {ledger.qualified} TO {{role}}")


def _columns(conn, ledger: Ledger) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (ledger.qualified,))}


def check_shape(conn, ledger: Ledger) -> dict[str, str]:
    """The existing ledger table's columns, after checking it is a ledger: pgshift's own or the
    guide's ``migration_log`` (a ``version`` column, and no column neither of them has). Any other
    table is refused, untouched: ``ledger = "public.orders"`` must never add pgshift's columns to
    a business table or read its rows as migrations."""
    have = _columns(conn, ledger)
    foreign = [c for c in have if c not in COLUMNS]
    if "version" in have and not foreign:
        return have
    why = (f"it has column(s) {', '.join(foreign)} that no migration ledger has" if "version" in have
           else "it has no version column")
    raise ConfigError(
        f"the ledger setting names {ledger.name}, which is not a migration ledger: {why}; "
        "pgshift left it untouched",
        hint=f"set ledger in pgshift.toml to pgshift's own table (default {ledger.schema}.migration_log is "
             "created on the first run) or to the guide's shared.migration_log; columns of a ledger: "
             + ", ".join(COLUMNS),
        details={"ledger": ledger.name, "columns": list(have)})


def ensure(conn, ledger: Ledger, reporter=None) -> None:
    """Create the ledger, or adopt an existing table of a ledger's shape by adding what it lacks.
    A role without the rights gets the GRANT that fixes it (OperationError, exit 1)."""
    database = quote_ident(conn.info.dbname)
    with conn.transaction():
        if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (ledger.schema,)).fetchone():
            with needs_privilege(conn, f"create the schema {ledger.schema} of the ledger {ledger.name}",
                                 f"GRANT CREATE ON DATABASE {database} TO {{role}}; or have the database's owner "
                                 f"run CREATE SCHEMA {quote_ident(ledger.schema)} AUTHORIZATION {{role}}"):
                conn.execute(f'CREATE SCHEMA "{ledger.schema}"')
        with needs_privilege(conn, f"create or adopt the ledger {ledger.name}",
                             f"GRANT USAGE, CREATE ON SCHEMA {quote_ident(ledger.schema)} TO {{role}}; and, for an "
                             f"existing ledger, make {{role}} its owner (ALTER TABLE {ledger.qualified} OWNER TO "
                             "{role})"):
            _create_or_adopt(conn, ledger, reporter)


def _create_or_adopt(conn, ledger: Ledger, reporter) -> None:
    if exists(conn, ledger):
        _adopt(conn, ledger, reporter)
        return
    cols = ",\n  ".join(f"{name} {'bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY' if name == 'id' else ddl}"
                        for name, ddl in COLUMNS.items())
    conn.execute(f"CREATE TABLE {ledger.qualified} (\n  {cols}\n)")
    conn.execute(f"CREATE INDEX ON {ledger.qualified} (version, id)")
    conn.execute(f"COMMENT ON TABLE {ledger.qualified} IS 'pgshift ledger: one row per migration event'")


def _adopt(conn, ledger: Ledger, reporter) -> None:
    have = check_shape(conn, ledger)
    missing = [c for c in COLUMNS if c not in have]
    if not missing:
        return
    emit(reporter, WARNING, f"adopting the existing ledger {ledger.name}: adding column(s) {', '.join(missing)}; "
                            "its history is kept", level="warning")
    for name in missing:
        if name == "id":
            continue
        ddl = COLUMNS[name].replace(" NOT NULL", "")  # old rows may lack a value
        conn.execute(f"ALTER TABLE {ledger.qualified} ADD COLUMN {name} {ddl}")
    if "id" in missing:
        conn.execute(f"ALTER TABLE {ledger.qualified} ADD COLUMN id bigint")
        # number the history in the order it happened
        order = "started_at NULLS FIRST, " if "started_at" in have else ""
        conn.execute(
            f"UPDATE {ledger.qualified} t SET id = n.rn FROM ("
            f"  SELECT ctid, row_number() OVER (ORDER BY {order}ctid) AS rn FROM {ledger.qualified}) n "
            f"WHERE t.ctid = n.ctid")
        conn.execute(f"ALTER TABLE {ledger.qualified} ALTER COLUMN id SET NOT NULL")
        start = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {ledger.qualified}").fetchone()[0]
        conn.execute(f"ALTER TABLE {ledger.qualified} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
                     f"(START WITH {start})")
        # a primary key or unique constraint on version alone would forbid a second event per version
        for (conname,) in conn.execute(
                "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype IN ('p','u') "
                "AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attname = 'version')]::int2[]", (ledger.qualified, ledger.qualified)).fetchall():
            emit(reporter, WARNING, f"dropping constraint {conname} (one row per version) from {ledger.name}: "
                                    "pgshift records every event", level="warning")
            conn.execute(f'ALTER TABLE {ledger.qualified} DROP CONSTRAINT "{conname}"')
        has_pk = conn.execute("SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                              (ledger.qualified,)).fetchone()
        if not has_pk:
            conn.execute(f"ALTER TABLE {ledger.qualified} ADD PRIMARY KEY (id)")
    for name in ("status", "migration_type"):
        if name in missing:
            conn.execute(f"ALTER TABLE {ledger.qualified} ALTER COLUMN {name} SET DEFAULT "
                         f"{COLUMNS[name].split('DEFAULT ', 1)[1]}")


def read(conn, ledger: Ledger) -> list[LedgerEvent]:
    """Every event of the ledger, oldest first ([] when there is no ledger yet)."""
    with _reading(conn, ledger):
        return _read(conn, ledger)


def _read(conn, ledger: Ledger) -> list[LedgerEvent]:
    if not exists(conn, ledger):
        return []
    have = set(check_shape(conn, ledger))
    # a table not adopted yet (the guide's shape) is read as it is: what it lacks reads as NULL
    cols = [c if c in have else f"NULL AS {c}" for c in _READ]
    order = "id" if "id" in have else ("started_at NULLS FIRST, ctid" if "started_at" in have else "ctid")
    rows = conn.execute(f"SELECT {', '.join(cols)} FROM {ledger.qualified} ORDER BY {order}").fetchall()
    events = []
    for number, row in enumerate(rows, 1):
        data = dict(zip(_READ, row, strict=True))
        if data["id"] is None:
            data["id"] = number
        data["version"] = str(data["version"]).strip()
        if isinstance(data["details"], str):
            data["details"] = json.loads(data["details"])
        events.append(LedgerEvent(**data))
    return events


def start_event(conn, ledger: Ledger, *, version: str, name: str, description: str | None, migration_type: str,
                checksum: str | None, applied_by: str, client_host: str, tool_version: str,
                status: str = "running", statements_done: int | None = None, details: dict | None = None) -> int:
    row = conn.execute(
        f"INSERT INTO {ledger.qualified} (version, name, description, status, migration_type, started_at, "
        f"checksum, applied_by, client_host, tool_version, statements_done, details) "
        f"VALUES (%s, %s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s, %s, %s) RETURNING id",
        (version, name, description, status, migration_type, checksum, applied_by, client_host, tool_version,
         statements_done, json.dumps(details) if details is not None else None)).fetchone()
    return row[0]


def finish_event(conn, ledger: Ledger, event_id: int, *, status: str, execution_ms: int | None,
                 error: str | None = None, statements_done: int | None = None, details: dict | None = None,
                 version: str | None = None) -> int:
    """Close an event. If the file wrote rows of its own into the ledger for this
    version since the event began (the guide's manual INSERT/UPDATE), the runner's
    event takes a new id so that it stays the latest: the runner's event wins."""
    newer = None
    if version is not None:
        newer = conn.execute(
            f"SELECT 1 FROM {ledger.qualified} WHERE id > %s AND (version = %s OR version LIKE %s) LIMIT 1",
            (event_id, version, version + "\\_%")).fetchone()
    row = conn.execute(
        f"UPDATE {ledger.qualified} SET status = %s, completed_at = clock_timestamp(), execution_ms = %s, "
        f"error = %s, statements_done = coalesce(%s, statements_done), details = coalesce(%s::jsonb, details), "
        f"rolled_back_at = CASE WHEN %s = 'rolled_back' THEN clock_timestamp() "
        f"ELSE rolled_back_at END{', id = DEFAULT' if newer else ''} "
        f"WHERE id = %s RETURNING id",
        (status, execution_ms, error, statements_done, json.dumps(details) if details is not None else None,
         status, event_id)).fetchone()
    return row[0]


def record_progress(conn, ledger: Ledger, event_id: int, *, statements_done: int, details: dict | None = None) -> None:
    conn.execute(
        f"UPDATE {ledger.qualified} SET statements_done = %s, details = coalesce(%s::jsonb, details) WHERE id = %s",
        (statements_done, json.dumps(details) if details is not None else None, event_id))


def closed_event_sql(conn, ledger: Ledger, *, version: str, name: str, description: str | None, status: str,
                     migration_type: str, started_at, checksum: str | None, execution_ms: int | None,
                     applied_by: str, client_host: str, tool_version: str, error: str | None,
                     statements_done: int | None, details: dict | None) -> str:
    """The INSERT of a closed event, as SQL text to send in the same round trip as a file's
    statements. ``started_at`` None: the transaction's start (now()); ``execution_ms`` None:
    measured by the server at the INSERT."""
    from psycopg import sql  # noqa: PLC0415

    def lit(value):
        return sql.Literal(value)

    query = sql.SQL(
        "INSERT INTO {} (version, name, description, status, migration_type, started_at, completed_at, checksum, "
        "execution_ms, applied_by, client_host, tool_version, error, statements_done, details, rolled_back_at) "
        "VALUES ({}, {}, {}, {}, {}, {}, clock_timestamp(), {}, {}, {}, {}, {}, {}, {}, {}::jsonb, {})").format(
        sql.Identifier(ledger.schema, ledger.table), lit(version), lit(name), lit(description), lit(status),
        lit(migration_type), sql.SQL("now()") if started_at is None else lit(started_at), lit(checksum),
        sql.SQL("(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint") if execution_ms is None
        else lit(execution_ms),
        lit(applied_by), lit(client_host), lit(tool_version), lit(error), lit(statements_done),
        lit(json.dumps(details, separators=(",", ":"), default=str) if details else None),
        sql.SQL("clock_timestamp()" if status == "rolled_back" else "NULL"))
    return query.as_string(conn)


def latest_event_of(conn, ledger: Ledger, version: str, *, before_id: int | None = None):
    """(status, migration_type, checksum, statements_done, details) of the latest event of
    *version* (older than event *before_id* when given), or None."""
    row = conn.execute(
        f"SELECT status, migration_type, checksum, coalesce(statements_done, 0), details FROM {ledger.qualified} "
        "WHERE version = %s AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT 1",
        (version, before_id, before_id)).fetchone()
    if row is None:
        return None
    details = json.loads(row[4]) if isinstance(row[4], str) else row[4]
    return row[0], row[1], row[2], row[3], details


def batch_state(conn, ledger: Ledger, event_id: int) -> dict | None:
    """The batch state (``details.batch``) event *event_id* recorded, or None."""
    row = conn.execute(f"SELECT details -> 'batch' FROM {ledger.qualified} WHERE id = %s", (event_id,)).fetchone()
    value = row[0] if row else None
    return value if isinstance(value, dict) else None


def close_baselines(conn, ledger: Ledger) -> None:
    """Events written complete (baselines, repair rows and what repair records) are done when they
    are written: their completion (and a rollback's) time is their start."""
    conn.execute(f"UPDATE {ledger.qualified} SET completed_at = started_at, rolled_back_at = CASE WHEN "
                 "status = 'rolled_back' THEN coalesce(rolled_back_at, started_at) ELSE rolled_back_at END "
                 "WHERE completed_at IS NULL AND (migration_type IN ('baseline', 'repair') "
                 "OR details ? 'repair')")


def recent_events(conn, ledger: Ledger, limit: int = 50) -> tuple[list[str], list[list]] | None:
    """The newest *limit* events with their durations, for ``diagnose``; None without a ledger."""
    if not exists(conn, ledger):
        return None
    cur = conn.execute(
        "SELECT version, name, migration_type, status, started_at, completed_at, "
        "CASE WHEN completed_at IS NOT NULL THEN completed_at - started_at ELSE now() - started_at END AS duration, "
        f"error FROM {ledger.qualified} ORDER BY id DESC LIMIT %s", (limit,))
    return [c.name for c in cur.description], [list(r) for r in cur.fetchall()]


def applied_fingerprint(conn, ledger: Ledger) -> tuple[str | None, str | None]:
    """(fingerprint, newest applied version) of the versions applied in *ledger*, in one query;
    (None, None) without a ledger. The fingerprint is the md5 of the applied versions'
    ``version:checksum`` lines in version order (a version is applied when its latest event, repair
    rows aside, is a completed migrate or baseline): what ``fleet.fingerprint.of_files`` computes
    for a set of files all applied."""
    import psycopg  # noqa: PLC0415

    try:
        row = conn.execute(
            "SELECT md5(coalesce(string_agg(version || ':' || coalesce(checksum, ''), E'\\n' ORDER BY version), "
            "'')), max(version) FROM (SELECT DISTINCT ON (version) version, checksum, status, migration_type "
            f"FROM {ledger.qualified} WHERE coalesce(migration_type, 'migrate') <> '{TYPE_REPAIR}' "
            "ORDER BY version, id DESC) AS latest "
            "WHERE status = 'completed' AND coalesce(migration_type, 'migrate') IN ('migrate', 'baseline')"
        ).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return None, None
    return (row[0], row[1]) if row else (None, None)


def record_checksum(conn, ledger: Ledger, event_id: int, checksum: str) -> None:
    """Set the checksum of event *event_id* (``repair --record-checksums``)."""
    conn.execute(f"UPDATE {ledger.qualified} SET checksum = %s WHERE id = %s", (checksum, event_id))


def delete_events(conn, ledger: Ledger, event_ids: list[int]) -> int:
    """Delete the events *event_ids* (``repair --remove-failed``); how many went."""
    cur = conn.execute(f"DELETE FROM {ledger.qualified} WHERE id = ANY(%s)", (event_ids,))
    return cur.rowcount


# --- the environment a database belongs to -----------------------------------------------------
#
# A protected environment records, in the database it deploys to, which environment that database
# is (beside the ledger, in ``<ledger schema>.pgshift_environment``), with the server's identity.
# A run under another environment name against the same server and database is then refused: a
# plain `pgshift up` with DATABASE_URL pointing at production must not run as `dev`. A copy of the
# database on another server (a restore into staging) carries the row, but not the identity: it is
# not a match there.

ENVIRONMENT_TABLE = "pgshift_environment"


@dataclass(frozen=True)
class EnvironmentClaim:
    environment: str
    server: str          # the server's system identifier (or, unreadable, the database's oid and name)
    database: str
    recorded_at: object
    recorded_by: str | None


def server_identity(conn) -> tuple[str, str]:
    """(server identity, database name) of the connected database."""
    try:
        with conn.transaction():
            row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
        server = f"system {row[0]}"
    except Exception:  # noqa: BLE001 - pg_control_system() is for superusers and pg_monitor only
        oid = conn.execute("SELECT oid::text FROM pg_database WHERE datname = current_database()").fetchone()[0]
        server = f"database oid {oid}"
    return server, conn.info.dbname


def environment_claim(conn, ledger: Ledger) -> EnvironmentClaim | None:
    """The environment this database was recorded as by a protected run, if it is this very
    database on this very server; None otherwise (no record, or a copy elsewhere)."""
    table = f"{quote_ident(ledger.schema)}.{quote_ident(ENVIRONMENT_TABLE)}"
    with _reading(conn, ledger):
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            return None
        row = conn.execute(f"SELECT environment, server, database, recorded_at, recorded_by FROM {table} "
                           "ORDER BY recorded_at DESC LIMIT 1").fetchone()
    if row is None:
        return None
    claim = EnvironmentClaim(*row)
    return claim if (claim.server, claim.database) == server_identity(conn) else None


def claim_environment(conn, ledger: Ledger, environment: str, recorded_by: str) -> None:
    """Record that this database is *environment*'s (a protected environment's first run)."""
    table = f"{quote_ident(ledger.schema)}.{quote_ident(ENVIRONMENT_TABLE)}"
    server, database = server_identity(conn)
    with conn.transaction():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (environment text NOT NULL, server text NOT NULL, "
                     "database text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), recorded_by text)")
        conn.execute(f"DELETE FROM {table}")
        conn.execute(f"INSERT INTO {table} (environment, server, database, recorded_by) VALUES (%s, %s, %s, %s)",
                     (environment, server, database, recorded_by))


def last_event_id(conn, ledger: Ledger) -> int:
    """The newest event's id (0 without a ledger or events): what a run wrote comes after it."""
    if not exists(conn, ledger) or "id" not in check_shape(conn, ledger):
        return 0     # no ledger yet, or the guide's table before pgshift adopts it (it numbers the rows then)
    return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {ledger.qualified}").fetchone()[0])


def events_after(conn, ledger: Ledger, event_id: int) -> list[LedgerEvent]:
    """The events written after event *event_id*, oldest first."""
    return [e for e in read(conn, ledger) if e.id > event_id]


# --- the schema after each version (issue 14: drift with provenance) -----------------------------
#
# Each applied (or rolled back) version's newest event records the fingerprint of the schema it
# left, in ``details.schema_sha256``; with ``store_snapshots = true`` the snapshot itself is kept
# in ``<ledger schema>.pgshift_schema_snapshots``, one row per distinct fingerprint.

SNAPSHOT_TABLE = "pgshift_schema_snapshots"


def record_schema(conn, ledger: Ledger, version: str, sha256: str, extra: dict | None = None) -> bool:
    """Record *sha256* as the schema after the newest event of *version* (with *extra* keys in
    its details); False without one."""
    row = conn.execute(
        f"UPDATE {ledger.qualified} SET details = coalesce(details, '{{}}'::jsonb) || %s::jsonb "
        f"WHERE id = (SELECT max(id) FROM {ledger.qualified} WHERE version = %s) RETURNING id",
        (json.dumps({**(extra or {}), "schema_sha256": sha256}), version)).fetchone()
    return row is not None


def store_snapshot(conn, ledger: Ledger, sha256: str, snapshot_json: str) -> None:
    """Keep the snapshot whose fingerprint is *sha256* (once; the table is made on first use)."""
    table = f"{quote_ident(ledger.schema)}.{quote_ident(SNAPSHOT_TABLE)}"
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (sha256 text PRIMARY KEY, snapshot text NOT NULL, "
                 "recorded_at timestamptz NOT NULL DEFAULT now())")
    conn.execute(f"INSERT INTO {table} (sha256, snapshot) VALUES (%s, %s) ON CONFLICT (sha256) DO NOTHING",
                 (sha256, snapshot_json))


def stored_snapshots(conn, ledger: Ledger, shas: list[str]) -> dict[str, str]:
    """The stored snapshots (JSON text) among fingerprints *shas* ({} without the table)."""
    table = f"{quote_ident(ledger.schema)}.{quote_ident(SNAPSHOT_TABLE)}"
    with _reading(conn, ledger):
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            return {}
        return {r[0]: r[1] for r in conn.execute(f"SELECT sha256, snapshot FROM {table} WHERE sha256 = ANY(%s)",
                                                 (list(shas),))}
