"""examples/thorbis (issue 6): the example project, run through pgshift against a real server.

- every migration applies to an empty database, all roll back newest first to the state
  before the first one (the ledger aside), and apply again;
- tenant isolation on every table with a ``tenant_id``, found from the catalog (a table added
  later is covered without touching this file): rows of two tenants are made generically,
  then the application role ``thorbis_app`` with tenant A set sees, changes and creates
  nothing of tenant B, and sees nothing with no tenant set;
- the audit trigger and ``updated_at``;
- the legacy customer data migration: batches and the name split;
- ``pgshift lint`` and ``pgshift test --roundtrip`` on the example.

Through the library in-process; the README's first command, on the embedded PostgreSQL, is
run as a user types it in tests/e2e/test_cli_example_thorbis.py.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from conftest import call, query, scalar, states, up, write_project
from pgshift import api, db

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "thorbis"
LEDGER = "shared.migration_log"
VERSIONS = sorted(p.name[:14] for p in (PROJECT / "migrations").glob("*.sql"))
BEFORE_DATA_MIGRATION = "20250115143000"
DATA_MIGRATION = "20250115150000"
APP_ROLE = "thorbis_app"

TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"

# The legacy name rule (README, "Name split of the legacy data migration"): trim, collapse
# whitespace runs to one space, first word / the rest ('' for a single word).
NAME_SPLITS = {
    "Chris Smith": ("Chris", "Smith"),
    "Madonna": ("Madonna", ""),
    "Mary  Ann   Smith": ("Mary", "Ann Smith"),
    "  Leading And Trailing  ": ("Leading", "And Trailing"),
    "Tab\tSeparated\nName": ("Tab", "Separated Name"),
}
LEGACY_ROWS = 2500


# --------------------------------------------------------------------------- helpers

@contextmanager
def _database(server_url: str, prefix: str = "thorbis"):
    """A new empty database on the session server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = db.create_database(server_url, name)
    try:
        yield url
    finally:
        db.drop_database(server_url, name)


def _up(url: str, **options) -> api.UpResult:
    return up(PROJECT, url, **options)[0]


def _down(url: str, steps: int) -> api.RollbackResult:
    return call(api.down, PROJECT, url, steps=steps, options=api.RollbackOptions(yes=True))[0]


# Every object a migration could leave behind, by name (never by OID), so that two databases
# or two moments can be compared. ACLs are compared as the privileges they grant: a NULL ACL
# and the explicit default ACL left by a GRANT and its REVOKE are the same privileges.
_USER_NS = "nspname !~ '^pg_' AND nspname <> 'information_schema'"
CATALOG = {
    "schemas": f"""SELECT nspname, coalesce(nspacl, acldefault('n', nspowner))::text FROM pg_namespace
                   WHERE {_USER_NS} ORDER BY 1""",
    "relations": f"""SELECT n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
                            coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                          c.relowner))::text
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_NS} ORDER BY 1, 2""",
    "columns": f"""SELECT c.oid::regclass::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          pg_get_expr(d.adbin, d.adrelid)
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE {_USER_NS} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2""",
    "functions": f"""SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prosecdef,
                            coalesce(p.proacl, acldefault('f', p.proowner))::text, md5(p.prosrc)
                     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_USER_NS} ORDER BY 1, 2, 3""",
    "types": f"""SELECT n.nspname, t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE {_USER_NS} ORDER BY 1, 2""",
    "policies": """SELECT schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check
                   FROM pg_policies ORDER BY 1, 2, 3""",
    "triggers": """SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
                   WHERE NOT t.tgisinternal ORDER BY 1, 2""",
    "event_triggers": "SELECT evtname FROM pg_event_trigger ORDER BY 1",
    "constraints": f"""SELECT conrelid::regclass::text, contypid::regtype::text, conname, pg_get_constraintdef(oid)
                       FROM pg_constraint WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE {_USER_NS})
                       ORDER BY 1, 2, 3""",
    "indexes": """SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
                  WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema' ORDER BY 1, 2, 3""",
    "extensions": "SELECT extname, extversion FROM pg_extension ORDER BY 1",
    "default_acl": """SELECT defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype,
                             defaclacl::text FROM pg_default_acl ORDER BY 1, 2, 3""",
    "comments": """SELECT classoid::regclass::text, count(*) FROM pg_description WHERE objoid >= 16384
                   GROUP BY 1 ORDER BY 1""",
    "database_acl": """SELECT coalesce(datacl, acldefault('d', datdba))::text FROM pg_database
                       WHERE datname = current_database()""",
    "database_settings": """SELECT setconfig::text FROM pg_db_role_setting
                            WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                            ORDER BY 1""",
}


def catalog(url: str) -> dict[str, list[tuple]]:
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for key, q in CATALOG.items():
            out[key] = [tuple(str(v) for v in row) for row in conn.execute(q).fetchall()]
    return out


def catalog_diff(expected: dict, actual: dict) -> list[str]:
    lines = []
    for key in expected:
        gone, added = set(expected[key]) - set(actual[key]), set(actual[key]) - set(expected[key])
        if gone or added:
            lines.append(f"{key}: missing {sorted(gone)[:8]} / left over or changed {sorted(added)[:8]}")
    return lines


def tenant_tables(conn) -> list[str]:
    """Every table with a tenant_id column: found from the catalog, not listed by hand."""
    return [r[0] for r in conn.execute(
        """SELECT c.oid::regclass::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
           WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
           ORDER BY 1""").fetchall()]


# --------------------------------------------------------------------------- generic rows

def _columns(conn, table: str) -> list[dict]:
    rows = conn.execute(
        """SELECT a.attnum, a.attname, t.typname, t.typcategory, a.attnotnull, a.atthasdef,
                  a.attidentity <> '' OR a.attgenerated <> '',
                  (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
        (table,)).fetchall()
    keys = ("num", "name", "type", "category", "notnull", "hasdef", "computed", "enum")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _foreign_keys(conn, table: str) -> list[tuple[str, list[str], list[str]]]:
    """(referenced table, local columns, referenced columns) of each foreign key."""
    return [(r[0], list(r[1]), list(r[2])) for r in conn.execute(
        """SELECT k.confrelid::regclass::text,
                  ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
                  ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                        JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
           FROM pg_constraint k WHERE k.conrelid = %s::regclass AND k.contype = 'f' ORDER BY k.conname""",
        (table,)).fetchall()]


def _allowed_values(conn, table: str) -> dict[str, str]:
    """First value of a one-column CHECK (col IN ('a', 'b', ...)): a value the check accepts."""
    out = {}
    for col, definition in conn.execute(
            """SELECT a.attname, pg_get_constraintdef(k.oid) FROM pg_constraint k
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
               WHERE k.conrelid = %s::regclass AND k.contype = 'c' AND cardinality(k.conkey) = 1""", (table,)):
        m = re.search(r"ANY \(\(?ARRAY\['((?:[^']|'')*)'", definition)
        if m:
            out.setdefault(col, m.group(1).replace("''", "'"))
    return out


def _value_for(col: dict, allowed: dict, tag: str):
    """A value of the column's type; dates and times grow with the column's position, so that
    a CHECK (end > start) between two columns holds (the later column is the end)."""
    name, typ, cat, num = col["name"], col["type"], col["category"], col["num"]
    if name in allowed:
        return allowed[name]
    if col["enum"]:
        return col["enum"][0]
    if typ == "uuid":
        return str(uuid.uuid4())
    if typ in ("json", "jsonb"):
        return {}
    if typ == "date":
        return (date(2030, 1, 1) + timedelta(days=num)).isoformat()
    if typ in ("time", "timetz"):
        return f"{num // 60:02d}:{num % 60:02d}:00"
    if typ in ("timestamp", "timestamptz"):
        return (datetime(2030, 1, 1, tzinfo=timezone.utc) + timedelta(hours=num)).isoformat()
    if typ == "interval":
        return "1 hour"
    if cat == "S":
        return f"{name}-{tag}"
    if cat == "N":
        return 1
    if cat == "B":
        return False
    if cat == "I":
        return "192.0.2.1"
    if cat == "A":
        return []
    raise AssertionError(f"no generic value for column {name} of type {typ}: extend _value_for")


def _insert_row(conn, table: str, values: dict) -> int:
    """INSERT one row, the values given as JSON and converted to the columns' types. No
    RETURNING: it would make the new row pass the SELECT policy too, not only WITH CHECK."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in values)
    target = sql.SQL(table)  # a regclass text: already quoted where needed
    stmt = sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM jsonb_populate_record(NULL::{t}, %s::jsonb)"
                   ).format(t=target, cols=cols)
    return conn.execute(stmt, (json.dumps(values),)).rowcount


def _ordered(conn, tables: list[str]) -> list[str]:
    """Referenced tables first (foreign keys between the tenant tables)."""
    deps = {t: {ref for ref, _, _ in _foreign_keys(conn, t) if ref in tables and ref != t} for t in tables}
    order: list[str] = []
    while deps:
        ready = sorted(t for t, d in deps.items() if not d - set(order))
        assert ready, f"foreign key cycle between {sorted(deps)}: cannot order the inserts"
        order += ready
        for t in ready:
            del deps[t]
    return order


def seed_tenant_rows(conn, tenant: str, tag: str) -> None:
    """At least one row of *tenant* in every table with a tenant_id, made as the superuser
    (who bypasses row level security): NOT NULL columns without a default get a value of their
    type (or the first value their CHECK allows), foreign keys point at rows of the same tenant,
    made first. A table that already holds a row of the tenant (written by a trigger, such as
    audit.change_log) is left as it is."""
    tables = tenant_tables(conn)
    for table in _ordered(conn, tables):
        has = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE tenant_id = %s)").format(sql.SQL(table)),
                           (tenant,)).fetchone()[0]
        if has:
            continue
        columns = _columns(conn, table)
        by_name = {c["name"]: c for c in columns}
        values: dict = {"tenant_id": tenant}
        for ref, local, remote in _foreign_keys(conn, table):
            if all(c in values for c in local):
                continue
            match = {r: values[c] for c, r in zip(local, remote, strict=True) if c in values}
            if ref in tables:
                match["tenant_id"] = tenant
            found = conn.execute(sql.SQL("SELECT to_jsonb(r) FROM {} r WHERE to_jsonb(r) @> %s::jsonb LIMIT 1")
                                 .format(sql.SQL(ref)), (json.dumps(match),)).fetchone()
            if found:
                for c, r in zip(local, remote, strict=True):
                    values.setdefault(c, found[0][r])
            else:
                assert not any(by_name[c]["notnull"] for c in local if c not in values), \
                    f"{table}: no row in {ref} to reference ({match})"
        allowed = _allowed_values(conn, table)
        for col in columns:
            if col["name"] in values or col["computed"] or not col["notnull"] or col["hasdef"]:
                continue
            values[col["name"]] = _value_for(col, allowed, tag)
        try:
            with conn.transaction():
                _insert_row(conn, table, values)
        except psycopg.Error as exc:
            raise AssertionError(f"could not make a row of {table} for tenant {tag} from {values}: {exc}") from exc


def _make_tenants(conn) -> None:
    conn.execute("INSERT INTO shared.tenants (id, name, slug) VALUES (%s, 'Acme Heating', 'acme-heating'), "
                 "(%s, 'Bistro Bob', 'bistro-bob')", (TENANT_A, TENANT_B))


@contextmanager
def _app(url: str, tenant: str | None, user: str | None = None):
    """A session as the application role, with the tenant (and user) set, autocommit."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET ROLE {APP_ROLE}")
        if tenant is not None:
            conn.execute("SELECT set_config('app.current_tenant_id', %s, false)", (tenant,))
        if user is not None:
            conn.execute("SELECT set_config('app.current_user_id', %s, false)", (user,))
        yield conn


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def thorbis_db(pgshift_server_url):
    """The example applied to a database of its own, with rows of tenants A and B in every
    table with a tenant_id; shared by the tests that only look (and tenant A's audit test)."""
    with _database(pgshift_server_url) as url:
        _up(url)
        with psycopg.connect(url) as conn:
            _make_tenants(conn)
            seed_tenant_rows(conn, TENANT_A, "a")
            seed_tenant_rows(conn, TENANT_B, "b")
            conn.commit()
        yield url


# --------------------------------------------------------------------------- 1. apply, roll back, apply

def test_applies_rolls_back_to_nothing_and_applies_again(pgshift_server_url, pgshift_database_url, tmp_path):
    url = pgshift_database_url
    # The state before the first migration: what pgshift itself makes, the ledger
    # shared.migration_log. Taken from a second database where a project with the same ledger
    # and one migration that creates nothing was applied.
    noop = write_project(tmp_path / "noop", {"20250101000000_noop.sql": "SELECT 1;\n"},
                         config=f'[pgshift]\nledger = "{LEDGER}"\n[env.dev]\n')
    with _database(pgshift_server_url, "thorbis_ref") as ref_url:
        up(noop, ref_url)
        before_first = catalog(ref_url)
    assert any(row[:2] == ("shared", "migration_log") for row in before_first["relations"])

    first = _up(url)
    assert len(first.run.steps) == len(VERSIONS)
    applied = catalog(url)
    assert catalog_diff(before_first, applied), "the migrations created nothing"
    assert {s[0] for s in applied["schemas"]} >= {"shared", "audit", "home_services", "restaurants", "automotive",
                                                  "retail", "payments", "retail_inventory"}

    down = _down(url, len(VERSIONS))
    assert len(down.run.steps) == len(VERSIONS)
    diff = catalog_diff(before_first, catalog(url))
    assert not diff, "objects of the example left after rolling everything back:\n" + "\n".join(diff)
    # nothing in this database depends on the application role any more (the role itself
    # belongs to the cluster and stays while another database uses it)
    assert scalar(url, f"""SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
                           WHERE r.rolname = '{APP_ROLE}' AND d.dbid = (SELECT oid FROM pg_database
                                                                      WHERE datname = current_database())""") == 0
    assert states(PROJECT, url) == {v: "rolled_back" for v in VERSIONS}
    events = query(url, f"SELECT version, migration_type, status FROM {LEDGER} ORDER BY id")
    assert events == [(v, "migrate", "completed") for v in VERSIONS] + \
        [(v, "rollback", "rolled_back") for v in reversed(VERSIONS)]

    again = _up(url)
    assert len(again.run.steps) == len(VERSIONS)
    diff = catalog_diff(applied, catalog(url))
    assert not diff, "applied again, the schema differs from the first time:\n" + "\n".join(diff)


# --------------------------------------------------------------------------- 2. tenant isolation

def _fingerprint(conn, table: str, tenant: str) -> list:
    """Tenant's rows of the table, with xmin: any update, even to the same values, shows."""
    q = sql.SQL("SELECT r.xmin::text, to_jsonb(r)::text FROM {} r WHERE tenant_id = %s ORDER BY 2").format(sql.SQL(table))
    return conn.execute(q, (tenant,)).fetchall()


def _denied(exc: Exception) -> bool:
    return isinstance(exc, psycopg.errors.InsufficientPrivilege)  # no privilege, or the policy's WITH CHECK


def test_tenant_isolation_on_every_table_with_a_tenant_id(thorbis_db):
    url = thorbis_db
    problems: list[str] = []
    with psycopg.connect(url, autocommit=True) as su, _app(url, TENANT_A) as app:
        tables = tenant_tables(su)
        assert len(tables) >= 25, tables   # the example has 27 today; a new one joins by itself
        privilege = {(t, p): su.execute("SELECT has_table_privilege(%s, %s, %s)", (APP_ROLE, t, p)).fetchone()[0]
                     for t in tables for p in ("SELECT", "INSERT", "UPDATE", "DELETE")}
        for t in tables:
            q = sql.SQL(t)  # a regclass text: already quoted where needed
            rls, forced = su.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
                                     (t,)).fetchone()
            if not (rls and forced):
                problems.append(f"{t}: row level security enabled={rls} forced={forced}")
            own_a = su.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(q), (TENANT_A,)).fetchone()[0]
            b_before = _fingerprint(su, t, TENANT_B)
            if not own_a or not b_before:
                problems.append(f"{t}: the fixture has no row of tenant A ({own_a}) or B ({len(b_before)})")
                continue
            if not privilege[(t, "SELECT")]:
                problems.append(f"{t}: {APP_ROLE} cannot even SELECT")
                continue

            # sees its own rows, none of B's
            seen, seen_other = app.execute(sql.SQL("SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s) FROM {}")
                                           .format(q), (TENANT_A,)).fetchone()
            if seen != own_a or seen_other:
                problems.append(f"{t}: tenant A sees {seen} rows, {seen_other} of another tenant (has {own_a})")
            # cannot update or delete B's rows
            for action, stmt in (("UPDATE", "UPDATE {} SET tenant_id = tenant_id WHERE tenant_id = %s"),
                                 ("DELETE", "DELETE FROM {} WHERE tenant_id = %s")):
                try:
                    n = app.execute(sql.SQL(stmt).format(q), (TENANT_B,)).rowcount
                    if n != 0:
                        problems.append(f"{t}: tenant A's {action} touched {n} of B's rows")
                except psycopg.Error as exc:
                    if not (_denied(exc) and not privilege[(t, action)]):
                        problems.append(f"{t}: {action} of B's rows failed unexpectedly: {exc!r}")
            # cannot move its rows to B (no WHERE: reading no column, the UPDATE is held by the
            # policy's WITH CHECK alone, not by the SELECT policy too)
            try:
                app.execute(sql.SQL("UPDATE {} SET tenant_id = %s").format(q), (TENANT_B,))
                problems.append(f"{t}: tenant A moved its rows to tenant B")
            except psycopg.Error as exc:
                if not _denied(exc):
                    problems.append(f"{t}: moving a row to B failed, but not for lack of rights: {exc!r}")
            # cannot insert a row for B: a copy of one of A's rows with B's tenant_id
            row = app.execute(sql.SQL("SELECT to_jsonb(r) FROM {} r LIMIT 1").format(q)).fetchone()[0]
            row["tenant_id"] = TENANT_B
            if isinstance(row.get("id"), str):
                row["id"] = str(uuid.uuid4())
            cols = [c["name"] for c in _columns(su, t) if not c["computed"]]
            try:
                _insert_row(app, t, {c: row.get(c) for c in cols})
                problems.append(f"{t}: tenant A inserted a row of tenant B")
            except psycopg.Error as exc:
                if not _denied(exc):
                    problems.append(f"{t}: inserting a row of B failed, but not for lack of rights: {exc!r}")
                elif privilege[(t, "INSERT")] and "row-level security" not in str(exc):
                    problems.append(f"{t}: inserting a row of B refused, but not by the policy: {exc}")
            # B's rows are intact, as the superuser sees them
            if _fingerprint(su, t, TENANT_B) != b_before:
                problems.append(f"{t}: tenant B's rows changed while tenant A was working")

        # shared.tenants: the same policy, on its id
        if app.execute("SELECT array_agg(id::text) FROM shared.tenants").fetchone()[0] != [TENANT_A]:
            problems.append("shared.tenants: tenant A sees other tenants")
        if app.execute("UPDATE shared.tenants SET name = name WHERE id = %s", (TENANT_B,)).rowcount:
            problems.append("shared.tenants: tenant A updated tenant B")

        # no tenant set (never set, or set to ''): every table looks empty
        for setting in (None, ""):
            with _app(url, setting) as nobody:
                for t in tables + ["shared.tenants"]:
                    n = nobody.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(t))).fetchone()[0]
                    if n:
                        problems.append(f"{t}: with no tenant set ({setting!r}) {APP_ROLE} sees {n} rows")
                try:
                    nobody.execute("INSERT INTO shared.customers (tenant_id, first_name) VALUES (%s, 'x')", (TENANT_A,))
                    problems.append(f"with no tenant set ({setting!r}) {APP_ROLE} inserted a customer")
                except psycopg.Error as exc:
                    if not _denied(exc):
                        problems.append(f"insert with no tenant set failed unexpectedly: {exc!r}")

        # the role the policies are meant for: owns nothing, no BYPASSRLS, no way to the ledger
        assert su.execute("SELECT rolsuper OR rolbypassrls OR rolcanlogin FROM pg_roles WHERE rolname = %s",
                          (APP_ROLE,)).fetchone()[0] is False
        assert su.execute("SELECT count(*) FROM pg_shdepend WHERE refobjid = %s::regrole AND deptype = 'o'",
                          (APP_ROLE,)).fetchone()[0] == 0
        assert su.execute("SELECT has_table_privilege(%s, %s, 'SELECT')", (APP_ROLE, LEDGER)).fetchone()[0] is False
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- 3. audit and updated_at

def test_every_tenant_table_has_its_triggers(thorbis_db):
    """The README: every tenant table has the updated_at trigger (when it has updated_at) and
    the audit trigger, except the staging table shared.legacy_customers and the audit tables."""
    with psycopg.connect(thorbis_db, autocommit=True) as su:
        tables = tenant_tables(su) + ["shared.tenants"]
        triggers = su.execute(
            """SELECT t.tgrelid::regclass::text, p.proname, t.tgtype FROM pg_trigger t
               JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal""").fetchall()
        has_updated_at = {r[0] for r in su.execute(
            "SELECT attrelid::regclass::text FROM pg_attribute WHERE attname = 'updated_at' AND NOT attisdropped")}
    missing = []
    for t in tables:
        if t.startswith("audit."):
            continue
        if t != "shared.legacy_customers" and not any(r == t and f == "log_table_changes" for r, f, _ in triggers):
            missing.append(f"{t}: no audit trigger")
        if t in has_updated_at and not any(r == t and f == "set_updated_at_column" for r, f, _ in triggers):
            missing.append(f"{t}: no updated_at trigger")
    assert not missing, "\n".join(missing)


def test_audit_log_records_insert_update_delete_and_updated_at_moves(thorbis_db):
    url = thorbis_db
    user_a = scalar(url, "SELECT id::text FROM shared.users WHERE tenant_id = %s LIMIT 1", (TENANT_A,))
    assert user_a
    cid = str(uuid.uuid4())
    with _app(url, TENANT_A, user=user_a) as app:
        app.execute("INSERT INTO shared.customers (id, tenant_id, first_name, last_name, email) "
                    "VALUES (%s, %s, 'Audit', 'Before', 'audit@example.test')", (cid, TENANT_A))
        created, updated0 = app.execute("SELECT created_at, updated_at FROM shared.customers WHERE id = %s",
                                        (cid,)).fetchone()
        time.sleep(0.01)
        app.execute("UPDATE shared.customers SET last_name = 'After' WHERE id = %s", (cid,))
        created1, updated1 = app.execute("SELECT created_at, updated_at FROM shared.customers WHERE id = %s",
                                         (cid,)).fetchone()
        assert created1 == created and updated1 > updated0
        with app.transaction():   # two updates in one transaction: clock_timestamp(), not now()
            app.execute("UPDATE shared.customers SET notes = 'one' WHERE id = %s", (cid,))
            v1 = app.execute("SELECT updated_at FROM shared.customers WHERE id = %s", (cid,)).fetchone()[0]
            app.execute("UPDATE shared.customers SET notes = 'two' WHERE id = %s", (cid,))
            v2 = app.execute("SELECT updated_at FROM shared.customers WHERE id = %s", (cid,)).fetchone()[0]
        assert v2 > v1 > updated1
        app.execute("DELETE FROM shared.customers WHERE id = %s", (cid,))
        # the application reads its tenant's log...
        log = app.execute("""SELECT operation, old_row, new_row, changed_by::text, tenant_id::text, table_schema,
                                    table_name FROM audit.change_log WHERE row_id = %s ORDER BY id""", (cid,)).fetchall()
        # ...but cannot forge or erase it
        for stmt in ("DELETE FROM audit.change_log", "UPDATE audit.change_log SET operation = 'DELETE'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(stmt)
    assert [r[0] for r in log] == ["INSERT", "UPDATE", "UPDATE", "UPDATE", "DELETE"]
    ins, upd, _, _, dele = log
    assert ins[1] is None and ins[2]["last_name"] == "Before" and ins[2]["email"] == "audit@example.test"
    assert upd[1]["last_name"] == "Before" and upd[2]["last_name"] == "After"
    assert upd[1]["updated_at"] != upd[2]["updated_at"]
    assert dele[1]["last_name"] == "After" and dele[1]["notes"] == "two" and dele[2] is None
    assert all(r[3:] == (user_a, TENANT_A, "shared", "customers") for r in log)
    # the superuser sees the same five rows: nothing hidden from the application's own tenant
    assert scalar(url, "SELECT count(*) FROM audit.change_log WHERE row_id = %s", (cid,)) == 5


# --------------------------------------------------------------------------- 4. legacy data migration

def test_legacy_customer_migration_moves_rows_in_batches_and_splits_names(pgshift_database_url):
    url = pgshift_database_url
    _up(url, target=BEFORE_DATA_MIGRATION)
    assert scalar(url, f"SELECT max(version) FROM {LEDGER}") == BEFORE_DATA_MIGRATION
    with psycopg.connect(url) as conn:
        _make_tenants(conn)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO shared.legacy_customers (tenant_id, full_name, email) VALUES (%s, %s, %s)",
                            [(TENANT_A, name, f"special{i}@example.test") for i, name in enumerate(NAME_SPLITS)])
        conn.execute(
            """INSERT INTO shared.legacy_customers (tenant_id, full_name, email, phone, address_line_1, city, state,
                                                    postal_code, country)
               SELECT CASE WHEN i %% 2 = 0 THEN %s ELSE %s END::uuid, 'First' || i || ' Last' || i,
                      'c' || i || '@example.test', '555-' || i, CASE WHEN i %% 3 = 0 THEN NULL ELSE i || ' Main St' END,
                      'Springfield', 'IL', '62701', CASE WHEN i %% 5 = 0 THEN NULL ELSE 'US' END
               FROM generate_series(1, %s) AS i""", (TENANT_A, TENANT_B, LEGACY_ROWS - len(NAME_SPLITS)))
        conn.commit()

    _up(url)
    details = scalar(url, f"SELECT details FROM {LEDGER} WHERE version = %s AND migration_type = 'migrate'",
                     (DATA_MIGRATION,))
    assert int(details["batch"]["batches"]) >= 3, details          # 2,500 rows, 1,000 per batch
    assert int(details["batch"]["rows"]) == LEGACY_ROWS, details
    moved = query(url, """SELECT count(*), count(DISTINCT c.xmin::text) FROM shared.customers c
                          JOIN shared.legacy_customers l USING (id)""")[0]
    assert moved[0] == LEGACY_ROWS
    assert moved[1] >= 3, "the rows were written by fewer than three transactions"
    assert scalar(url, "SELECT count(*) FROM shared.legacy_customers WHERE NOT migrated OR migrated_at IS NULL") == 0
    for full, expected in NAME_SPLITS.items():
        got = query(url, """SELECT c.first_name, c.last_name FROM shared.customers c
                            JOIN shared.legacy_customers l USING (id) WHERE l.full_name = %s""", (full,))
        assert got == [expected], f"{full!r} split into {got}, expected {expected}"
    assert scalar(url, "SELECT first_name || '|' || last_name FROM shared.customers WHERE email = 'c7@example.test'") \
        == "First7|Last7"
    # tenants and addresses carried over
    assert scalar(url, """SELECT count(*) FROM shared.customers c JOIN shared.legacy_customers l USING (id)
                          WHERE c.tenant_id <> l.tenant_id OR c.email IS DISTINCT FROM l.email""") == 0
    assert scalar(url, """SELECT c.address->>'country' FROM shared.customers c JOIN shared.legacy_customers l
                          USING (id) WHERE l.address_line_1 IS NOT NULL AND l.country IS NULL LIMIT 1""") == "US"

    # its rollback takes the customers out again, in batches too; and the migration reruns
    _down(url, 2)
    assert scalar(url, "SELECT count(*) FROM shared.customers") == 0
    assert scalar(url, "SELECT count(*) FROM shared.legacy_customers WHERE migrated") == 0
    rb = scalar(url, f"SELECT details FROM {LEDGER} WHERE version = %s AND migration_type = 'rollback'",
                (DATA_MIGRATION,))
    assert int(rb["batch"]["batches"]) >= 3, rb
    _up(url)
    assert scalar(url, "SELECT count(*) FROM shared.customers") == LEGACY_ROWS


# --------------------------------------------------------------------------- 5. lint

def test_lint_reports_no_error_and_every_kept_warning_is_silenced_with_a_reason():
    lint, _ = api.lint(PROJECT)
    report = lint.to_dict()
    assert report["has_errors"] is False
    loud = [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    assert not loud, "findings to fix or to silence with a reason:\n" + "\n".join(
        f"{f['file']}:{f['line']}: {f['severity']} {f['rule']}: {f['message']}" for f in loud)
    assert report["unused_ignores"] == []
    assert report["summary"]["files"] == 2 * len(VERSIONS)
    # `-- pgshift:ignore rule-a,rule-b  reason`: a silenced rule always says why
    for path in sorted((PROJECT / "migrations").rglob("*.sql")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.search(r"--\s*pgshift:ignore\s+(\S+)(.*)$", line)
            if m:
                assert len(m.group(2).strip()) >= 10, f"{path.name}:{n}: ignore without a reason: {line.strip()}"


# --------------------------------------------------------------------------- 6. test --roundtrip

def test_roundtrip_proves_every_rollback(pgshift_server_url):
    result, _ = call(api.test, PROJECT, pgshift_server_url, roundtrip=True)
    assert result.ok is True and result.applied == len(VERSIONS)
    assert [(c.version, c.status) for c in result.checks] == [(v, "passed") for v in VERSIONS]
