"""The copy a plan runs on: the target's schema (``pg_dump --schema-only``) or a backup, then rows.

Rows are synthetic, generated per column type, ``min(target rows, scale_rows)`` per table, the
target's rows read from its statistics (``pg_class.reltuples``; a table never analysed is
counted). Integer columns that are unique count up from 1; other integer columns cycle through
1..K (K the fewest rows of any filled table), so that a foreign key to a serial id holds; an enum
takes its first label, an array is empty, a column with a default gets it, a nullable column of a
type without a generator stays NULL, and a table with a NOT NULL one is not filled (noted). Foreign
keys and triggers are off while filling (``session_replication_role = replica``).

With the user's leave (``plan --column-stats``: ``pg_stats`` shows a sample of the data's values to
whoever may read the table, so it is not read by default), each column's statistics shape its
values: a nullable column is NULL in its ``null_frac`` of the rows, and a text, bytea or JSON
column's values are as wide as its ``avg_width``, so that the copy's rows weigh what the target's
do (a rewrite's time follows the bytes it writes). The copy's bytes per row are reported beside
the target's."""
from __future__ import annotations

from dataclasses import dataclass

from .. import db
from ..errors import OperationError

_USER_TABLES = (
    "SELECT c.oid, c.oid::regclass::text, c.reltuples::bigint, c.relpages, pg_relation_size(c.oid) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')")


@dataclass(frozen=True)
class TableSize:
    """A table's size on the target and in the copy.

    Attributes:
        table: Its name (``regclass`` text).
        target_rows: Rows on the target (statistics, or a count when it was never analysed).
        target_bytes: Its main fork's size on the target.
        copy_rows: Rows put into the copy.
        note: Why it was not filled, when it was not.
        copy_bytes: Its main fork's size in the copy (None: not measured).
    """
    table: str
    target_rows: int
    target_bytes: int
    copy_rows: int = 0
    note: str | None = None
    copy_bytes: int | None = None

    def to_dict(self) -> dict:
        """The fields, as JSON."""
        return {"table": self.table, "target_rows": self.target_rows, "target_bytes": self.target_bytes,
                "copy_rows": self.copy_rows, "note": self.note, "copy_bytes": self.copy_bytes}


def target_sizes(conn, skip: set[str]) -> dict[str, TableSize]:
    """Each user table of *conn*'s database (but *skip*) -> its size, read-only."""
    out = {}
    for _oid, name, tuples, _pages, size in conn.execute(_USER_TABLES).fetchall():
        if name in skip:
            continue
        rows = int(tuples)
        if rows < 0:   # never analysed: count (under the caller's statement_timeout)
            rows = int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
        out[name] = TableSize(name, rows, int(size))
    return out


def column_stats(conn, tables) -> dict[str, dict[str, tuple[float, int]]]:
    """``{table: {column: (null_frac, avg_width)}}`` from the target's ``pg_stats``, for *tables*
    (``regclass`` text), read-only; a column never analysed is absent."""
    out: dict[str, dict[str, tuple[float, int]]] = {}
    for table in tables:
        rows = conn.execute(
            "SELECT s.attname, s.null_frac, s.avg_width FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname "
            "WHERE c.oid = %s::regclass", (table,)).fetchall()
        if rows:
            out[table] = {name: (float(null_frac or 0), int(avg_width or 0)) for name, null_frac, avg_width in rows}
    return out


_WIDE = ("text", "character varying", "citext", "bytea", "json", "jsonb")


def _shaped(expr: str, type_name: str, stats: tuple[float, int] | None, notnull: bool) -> str:
    """*expr* with the column's statistics applied: as wide as its avg_width, NULL in its null_frac."""
    if stats is None:
        return expr
    null_frac, width = stats
    base = type_name.split("(")[0].strip()
    if base in _WIDE and width > 8:
        if base in ("json", "jsonb"):
            expr = f"json_build_object('v', repeat('x', {max(1, width - 10)}))"
        elif base == "bytea":
            expr = f"convert_to(repeat('x', {width}), 'UTF8')"
        else:
            expr = f"rpad('v' || g, {width}, 'x')"
    if not notnull and null_frac > 0:
        expr = f"CASE WHEN (g * 7919) % 1000 < {round(null_frac * 1000)} THEN NULL ELSE ({expr}) END"
    return expr


def schema_into(target_url: str, copy_url: str) -> None:
    """The target's schema (``pg_dump --schema-only``, no owners or privileges) into the copy."""
    from ..safety.backup import _run, _server_major, child_env, find_tool  # noqa: PLC0415

    tool = find_tool("pg_dump", _server_major(target_url))
    _, extra = child_env(target_url, "pgshift-plan")
    done = _run([tool.path, "--schema-only", "--no-owner", "--no-privileges", *extra], target_url,
                application_name="pgshift-plan", stall=db.DEFAULT_STALL_TIMEOUT)
    if done.returncode != 0:
        raise OperationError(f"pg_dump --schema-only of the target failed: {done.stderr.strip()[-1000:]}")
    with db.connect(copy_url, application_name="pgshift-plan") as conn:
        # pg_dump 17.6+ brackets the dump with psql's \restrict / \unrestrict: not SQL
        conn.execute("\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\")))


_INTEGERS = ("smallint", "integer", "bigint")


def _expression(type_name: str, unique: bool, cycle: int, enum_label: str | None = None) -> str | None:
    if enum_label is not None:   # an enum: its first label
        return "'" + enum_label.replace("'", "''") + "'"
    if type_name.endswith("[]"):
        return "'{}'"
    t = type_name.split("(")[0].strip()
    if t in _INTEGERS:
        return "g" if unique else f"1 + (g - 1) % {cycle}"
    if t in ("text", "character varying", "character", "citext"):
        return "'v' || g"
    if t in ("numeric", "real", "double precision", "money"):
        return "g"
    if t == "uuid":
        return "md5(g::text)::uuid"
    if t == "boolean":
        return "g % 2 = 0"
    if t == "date":
        return "date '2020-01-01' + (g % 3650)"
    if t.startswith("timestamp"):
        return "timestamp '2020-01-01' + g * interval '1 second'"
    if t in ("json", "jsonb"):
        return "'{}'"
    if t == "inet" or t == "cidr":
        return "'10.0.0.0'::inet + g"
    if t == "interval":
        return "g * interval '1 second'"
    if t.startswith("time"):
        return "time '00:00' + g * interval '1 second'"
    if t == "bytea":
        return "'\\x00'"
    return None


_COLUMNS = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', "
    "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique "
    "        AND a.attnum = ANY (i.indkey::int2[])), "
    "(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = a.atttypid ORDER BY e.enumsortorder LIMIT 1) "
    "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")


def fill(copy_url: str, sizes: dict[str, TableSize], scale_rows: int,
         stats: dict[str, dict[str, tuple[float, int]]] | None = None) -> dict[str, TableSize]:
    """Synthetic rows into each table of the copy; the sizes with ``copy_rows`` and ``copy_bytes``
    (and a note when a table could not be filled). *stats*: :func:`column_stats` of the target."""
    wanted = {t: min(s.target_rows, scale_rows) for t, s in sizes.items()}
    nonzero = [n for n in wanted.values() if n > 0]
    cycle = max(1, min(nonzero)) if nonzero else 1
    out = {}
    with db.connect(copy_url, application_name="pgshift-plan") as conn:
        try:
            conn.execute("SET session_replication_role = replica")
        except Exception:  # noqa: BLE001 - not a superuser: foreign keys stay on
            pass
        for table, size in sizes.items():
            n = wanted[table]
            if n <= 0:
                out[table] = size
                continue
            names, exprs, note = [], [], None
            for name, type_name, notnull, has_default, unique, label in conn.execute(_COLUMNS, (table,)).fetchall():
                if has_default:
                    continue
                expr = _expression(type_name, unique, cycle, label)
                if expr is not None and not unique and stats:
                    expr = _shaped(expr, type_name, stats.get(table, {}).get(name), notnull)
                if expr is None:
                    if notnull:
                        note = f"column {name} of type {type_name} has no generator"
                        break
                    continue
                names.append(db.quote_ident(name))
                exprs.append(f"({expr})::{type_name}")
            if note is None:
                cols = f"({', '.join(names)})" if names else ""
                values = f"SELECT {', '.join(exprs)} FROM generate_series(1, {n}) g" if names else None
                try:
                    with conn.transaction():
                        if values:
                            conn.execute(f"INSERT INTO {table} {cols} {values}")
                        else:
                            conn.execute(f"INSERT INTO {table} SELECT FROM generate_series(1, {n})")
                except Exception as exc:  # noqa: BLE001 - a CHECK or a type the generator does not satisfy
                    note = f"not filled: {str(exc).strip().splitlines()[0]}"
            out[table] = TableSize(size.table, size.target_rows, size.target_bytes, 0 if note else n, note)
        conn.execute("ANALYZE")
        for table, size in out.items():
            copied = conn.execute("SELECT pg_relation_size(%s::regclass)", (table,)).fetchone()[0]
            out[table] = TableSize(size.table, size.target_rows, size.target_bytes, size.copy_rows, size.note,
                                   int(copied))
    return out
