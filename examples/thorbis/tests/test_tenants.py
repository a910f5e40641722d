"""Thorbis on a migrated database: each test has its own copy, and one tenant never sees another's rows."""
from __future__ import annotations

from pgshift import api

TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"


def _two_tenants_with_a_customer_each(migrated_database) -> None:
    with migrated_database.connect() as conn:   # the server's superuser: row level security does not apply
        for tenant, slug, name in ((TENANT_A, "tenant-a", "Ada"), (TENANT_B, "tenant-b", "Bob")):
            conn.execute("INSERT INTO shared.tenants (id, name, slug) VALUES (%s, %s, %s)", (tenant, slug, slug))
            conn.execute("INSERT INTO shared.customers (tenant_id, first_name) VALUES (%s, %s)", (tenant, name))


def test_every_migration_is_applied(migrated_database):
    status = api.status(migrated_database.project).to_dict()
    assert status["counts"]["pending"] == 0
    assert status["counts"]["applied"] == len(migrated_database.versions) == 14


def test_a_tenant_sees_only_its_own_customers(migrated_database, as_tenant):
    _two_tenants_with_a_customer_each(migrated_database)
    with as_tenant(TENANT_A) as conn:
        assert conn.execute("SELECT first_name FROM shared.customers").fetchall() == [("Ada",)]
    with as_tenant(TENANT_B) as conn:
        assert conn.execute("SELECT first_name FROM shared.customers").fetchall() == [("Bob",)]


def test_each_test_starts_from_the_migrated_schema_alone(migrated_database):
    """The tenants written by the test before are in its own copy, not in this one."""
    with migrated_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM shared.tenants").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM shared.customers").fetchone() == (0,)
