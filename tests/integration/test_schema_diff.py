"""`schema diff` (issue 14, point 3) against the real embedded server: two databases (two
environments, or two URLs): versions applied on one only, and the objects that differ."""
from __future__ import annotations

import psycopg

from conftest import call, fails, up
from pgshift import api

V1, V2, V3 = "20250101000001", "20250101000002", "20250101000003"
FILES = {
    f"{V1}_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n",
    f"{V2}_email.sql": "ALTER TABLE customers ADD COLUMN email text;\n",
    f"{V3}_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
}
ENVS = ("[pgshift]\n[env.dev]\n[env.staging]\nurl = \"${STAGING_URL}\"\n"
        "[env.production]\nurl = \"${PRODUCTION_URL}\"\n")


def test_two_environments(project, pgshift_database_url, pgshift_new_database):
    root = project(FILES, ENVS)
    production = pgshift_new_database()
    up(root, pgshift_database_url)                 # staging: every version
    up(root, production, target=V1)                # production: V1 only, and a hand-made index
    with psycopg.connect(production, autocommit=True) as conn:
        conn.execute("CREATE INDEX customers_name_idx ON customers (name)")
    environ = {"STAGING_URL": pgshift_database_url, "PRODUCTION_URL": production}
    result, _ = call(api.schema_diff, root, None, ["staging", "production"], environ=environ)
    assert (result.a, result.b) == ("staging", "production")
    assert result.only_in_a == (V2, V3) and result.only_in_b == ()
    found = {(d["kind"], d["object_type"], d["name"]) for d in result.differences}
    assert found == {("missing", "column", "public.customers.email"), ("missing", "table", "public.orders"),
                     ("extra", "index", "public.customers_name_idx")}
    assert not result.same and result.to_dict()["same"] is False
    assert any("on staging" in d["text"] for d in result.differences)


def test_two_urls_the_same(project, pgshift_database_url, pgshift_new_database):
    root = project(FILES)
    other = pgshift_new_database()
    up(root, pgshift_database_url)
    up(root, other)
    result, _ = call(api.schema_diff, root, None, (), [pgshift_database_url, other])
    assert result.same and result.differences == () and result.a_sha256 == result.b_sha256
    assert result.only_in_a == result.only_in_b == ()


def test_one_database_is_refused(project):
    root = project(FILES)
    error, _ = fails(2, api.schema_diff, root, None, ["staging"])
    assert "two databases" in error.message
