"""Data truth: would the target's rows make a pending statement fail? Read-only.

Each requirement (:func:`pgshift.sql.requirements.data_requirements`) becomes a counting query,
run on the target in a ``READ ONLY`` transaction under a strict ``statement_timeout``, rolled
back: duplicate keys for a unique index or constraint, NULLs for NOT NULL, rows failing a CHECK,
orphans for a foreign key, values that do not read as the new type (``pg_input_is_valid``,
PostgreSQL 16 and later; for an enum the pending files make or extend, values that are none of
its labels: the way to change an enum's labels). The first offending keys are shown (the duplicate values, or the
table's primary key)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import db

FIRST = 5   # offending keys shown


@dataclass(frozen=True)
class TruthCheck:
    """One requirement checked on the target.

    Attributes:
        statement: Where the statement is (``file:line``).
        kind: ``unique``, ``not_null``, ``check``, ``foreign_key`` or ``type``.
        table: The table.
        detail: The columns, expression or type checked, as text.
        status: ``pass``, ``fail``, ``skipped`` (the table does not exist yet, or no query
            can tell) or ``error`` (the query failed, e.g. timed out).
        offending: Rows that would make it fail (for ``unique``: rows in duplicate groups).
        groups: For ``unique``: how many distinct keys are duplicated.
        first: The first offending keys, each a dict of column -> value (``count`` for duplicates).
        query: The query run.
        note: Why it was skipped, or the error.
    """
    statement: str
    kind: str
    table: str
    detail: str
    status: str
    offending: int = 0
    groups: int = 0
    first: tuple = field(default=())
    query: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        """The fields, as JSON."""
        return {"statement": self.statement, "kind": self.kind, "table": self.table, "detail": self.detail,
                "status": self.status, "offending": self.offending, "groups": self.groups,
                "first": [dict(k) for k in self.first], "query": self.query, "note": self.note}


def _cols(columns) -> str:
    return ", ".join(db.quote_ident(c) for c in columns)


def _primary_key(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY (i.indkey::int2[]) WHERE i.indrelid = %s::regclass AND i.indisprimary", (table,)).fetchall()
    return [r[0] for r in rows]


def _queries(conn, req: dict, version: int, enums: dict | None = None) -> tuple[str, str | None, str | None]:
    """(count query, first-keys query, skip note)."""
    t, cols = req["table"], req.get("columns", [])
    key = _cols(_primary_key(conn, t)) or "ctid"
    if req["kind"] == "unique":
        where = " AND ".join(f"{db.quote_ident(c)} IS NOT NULL" for c in cols) if req.get("nulls_distinct") else "true"
        grouped = (f"SELECT {_cols(cols)}, count(*) AS count FROM {t} WHERE {where} "
                   f"GROUP BY {_cols(cols)} HAVING count(*) > 1")
        return (f"SELECT coalesce(sum(count), 0)::bigint, count(*) FROM ({grouped}) d",
                f"{grouped} ORDER BY count(*) DESC, {_cols(cols)} LIMIT {FIRST}", None)
    if req["kind"] == "not_null":
        cond = " OR ".join(f"{db.quote_ident(c)} IS NULL" for c in cols)
    elif req["kind"] == "check":
        cond = f"NOT ({req['expression']})"
    elif req["kind"] == "foreign_key":
        ref = req["ref_table"]
        ref_cols = req.get("ref_columns") or _primary_key(conn, ref)
        if len(ref_cols) != len(cols):
            return "", None, "the referenced key is not known"
        match = " AND ".join(f"p.{db.quote_ident(r)} = c.{db.quote_ident(c)}"
                             for c, r in zip(cols, ref_cols, strict=True))
        notnull = " AND ".join(f"c.{db.quote_ident(c)} IS NOT NULL" for c in cols)
        base = f"FROM {t} c WHERE {notnull} AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE {match})"
        shown = ", ".join(f"c.{db.quote_ident(c)}" for c in cols)
        return f"SELECT count(*), 0 {base}", f"SELECT {shown} {base} LIMIT {FIRST}", None
    elif req["kind"] == "type":
        if req.get("using"):
            return "", None, "a USING expression: not checked"
        col = db.quote_ident(cols[0])
        labels = _enum_labels(conn, req["type"], enums or {})
        if labels is not None:    # an enum the pending files make or extend: its labels, listed
            cond = f"{col} IS NOT NULL AND {col}::text <> ALL (ARRAY[{', '.join(map(_literal, labels))}]::text[])"
        elif version < 16:   # the server's major version
            return "", None, "pg_input_is_valid needs PostgreSQL 16"
        else:
            cond = f"{col} IS NOT NULL AND NOT pg_input_is_valid({col}::text, {_literal(req['type'])})"
    else:
        return "", None, f"unknown kind {req['kind']}"
    shown = key if key != "ctid" else "ctid::text AS ctid"
    extra = [c for c in cols if db.quote_ident(c) not in key.split(", ")]
    if extra:
        shown += ", " + _cols(extra)
    return f"SELECT count(*), 0 FROM {t} WHERE {cond}", f"SELECT {shown} FROM {t} WHERE {cond} LIMIT {FIRST}", None


def _enum_labels(conn, type_name: str, pending: dict) -> list[str] | None:
    """The labels of the enum *type_name* once the pending files ran, when they make or extend
    it (None otherwise: the target's type, if any, is asked by ``pg_input_is_valid``)."""
    short = type_name.rsplit(".", 1)[-1].strip('"')
    if short not in pending:
        return None
    created, labels = pending[short]
    if created:
        return list(labels)
    row = conn.execute("SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
                       "WHERE e.enumtypid = to_regtype(%s)", (type_name,)).fetchone()
    return list(row[0] or []) + [label for label in labels if label not in (row[0] or [])]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _detail(req: dict) -> str:
    if req["kind"] == "check":
        return req["expression"]
    if req["kind"] == "foreign_key":
        return f"({', '.join(req['columns'])}) -> {req['ref_table']} ({', '.join(req.get('ref_columns') or [])})"
    if req["kind"] == "type":
        return f"{req['columns'][0]} TYPE {req['type']}"
    return ", ".join(req.get("columns", []))


def check(conn, where: str, req: dict, statement_timeout: float, version: int,
          enums: dict | None = None) -> TruthCheck:
    """One requirement on the target through *conn* (autocommit), in a READ ONLY transaction
    that is rolled back; a failure of the query is reported, never raised. *enums*: the labels
    the pending files give enum types (:func:`pgshift.sql.requirements.pending_enum_labels`): a
    type change to one of them counts the rows whose value is none of its labels."""
    kind, table, detail = req["kind"], req["table"], _detail(req)
    if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
        return TruthCheck(where, kind, table, detail, "skipped", note="the table does not exist on the target yet")
    count_q, first_q, note = _queries(conn, req, version, enums)
    if note:
        return TruthCheck(where, kind, table, detail, "skipped", note=note)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(f"SET LOCAL statement_timeout = {int(statement_timeout * 1000)}")
            offending, groups = conn.execute(count_q).fetchone()
            first: tuple = ()
            if offending and first_q:
                cur = conn.execute(first_q)
                names = [d.name for d in cur.description]
                first = tuple(tuple((n, _plain(v)) for n, v in zip(names, row, strict=True)) for row in cur.fetchall())
    except Exception as exc:  # noqa: BLE001 - a timeout or an expression the target refuses
        return TruthCheck(where, kind, table, detail, "error", query=count_q,
                          note=str(exc).strip().splitlines()[0])
    return TruthCheck(where, kind, table, detail, "fail" if offending else "pass", int(offending),
                      int(groups) if kind == "unique" else 0, first, count_q)


def _plain(value):
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
