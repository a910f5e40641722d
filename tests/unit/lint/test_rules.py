"""Every rule: a failing case (exact line and column), a passing case, an ignored case."""
from __future__ import annotations

import pytest

from pgshift.lint.registry import all_rules

from .helpers import assert_lint_errors, assert_lint_ignored, assert_lint_ok

# rule id -> (failing SQL, where it fires, passing SQL, ignored SQL[, keyword arguments])
CASES: dict[str, tuple] = {
    "require-concurrent-index": (
        """\
        CREATE TABLE items (id bigint);
        CREATE INDEX orders_status_idx ON orders (status);
        """, (2, 1),
        """\
        CREATE TABLE items (id bigint);
        CREATE INDEX items_id_idx ON items (id);
        CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
        """,
        """\
        SELECT 1;
        -- pgshift:ignore require-concurrent-index  the table has ten rows
        CREATE INDEX orders_status_idx ON orders (status);
        """),
    "unnamed-concurrent-index": (
        """\
        SELECT 1;
        CREATE INDEX CONCURRENTLY ON orders (status);
        """, (2, 1),
        """\
        CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
        CREATE INDEX ON orders (customer_id);
        """,
        """\
        -- pgshift:ignore unnamed-concurrent-index  a one-off on a test table
        CREATE INDEX CONCURRENTLY ON orders (status);
        """),
    "concurrently-in-transaction": (
        """\
        BEGIN;
        CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
        COMMIT;
        """, (2, 1),
        """\
        CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
        DROP INDEX CONCURRENTLY orders_old_idx;
        """,
        """\
        BEGIN;
        -- pgshift:ignore concurrently-in-transaction
        CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
        COMMIT;
        """),
    "require-concurrent-drop-index": (
        "SELECT 1;\n  DROP INDEX orders_status_idx;\n", (2, 3),
        """\
        DROP INDEX CONCURRENTLY orders_status_idx;
        """,
        """\
        -- pgshift:ignore require-concurrent-drop-index
        DROP INDEX orders_status_idx;
        """),
    "require-concurrent-reindex": (
        "REINDEX INDEX orders_status_idx;", (1, 1),
        "REINDEX INDEX CONCURRENTLY orders_status_idx;",
        "-- pgshift:ignore require-concurrent-reindex\nREINDEX INDEX orders_status_idx;"),
    "fk-not-valid": (
        """\
        ALTER TABLE orders
            ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
        """, (2, 9),
        """\
        CREATE TABLE items (id bigint, order_id bigint);
        ALTER TABLE items ADD CONSTRAINT items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
        ALTER TABLE orders
            ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
        """,
        """\
        -- pgshift:ignore fk-not-valid
        ALTER TABLE orders
            ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
        """),
    "check-not-valid": (
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);", (1, 24),
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;",
        "-- pgshift:ignore check-not-valid\nALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);"),
    "validate-same-tx": (
        """\
        ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
        ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
        """, (2, 1),
        """\
        -- pgshift:no-transaction
        ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
        ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
        """,
        """\
        ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
        -- pgshift:ignore validate-same-tx  the table is small
        ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
        """),
    "set-not-null": (
        "SELECT 1;\nALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;", (2, 1),
        """\
        ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_not_null;
        ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
        ALTER TABLE orders DROP CONSTRAINT orders_customer_id_not_null;
        """,
        "-- pgshift:ignore set-not-null\nALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;",
        {"prelude": ("ALTER TABLE orders ADD CONSTRAINT orders_customer_id_not_null "
                     "CHECK (customer_id IS NOT NULL) NOT VALID;",)}),
    "add-column-volatile-default": (
        "ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();", (1, 31),
        """\
        ALTER TABLE orders ADD COLUMN channel text DEFAULT 'web';
        ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
        ALTER TABLE orders ADD COLUMN flags jsonb DEFAULT '{}'::jsonb;
        """,
        "-- pgshift:ignore add-column-volatile-default\n"
        "ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();"),
    "add-column-required": (
        "ALTER TABLE orders ADD COLUMN channel text NOT NULL;", (1, 31),
        "ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'web';",
        "-- pgshift:ignore add-column-required\nALTER TABLE orders ADD COLUMN channel text NOT NULL;"),
    "alter-column-type": (
        "ALTER TABLE orders ALTER COLUMN id TYPE bigint;", (1, 1),
        "ALTER TABLE customers ALTER COLUMN nickname TYPE varchar(100);",
        "-- pgshift:ignore alter-column-type\nALTER TABLE orders ALTER COLUMN id TYPE bigint;",
        {"prelude": ("ALTER TABLE customers ADD COLUMN nickname varchar(50);",)}),
    "rename-column": (
        "ALTER TABLE customers RENAME COLUMN fullname TO full_name;", (1, 1),
        "CREATE TABLE items (nme text);\nALTER TABLE items RENAME COLUMN nme TO name;",
        "-- pgshift:ignore rename-column\nALTER TABLE customers RENAME COLUMN fullname TO full_name;"),
    "rename-table": (
        "ALTER TABLE clients RENAME TO customers;", (1, 1),
        "ALTER TABLE clients RENAME TO customers;\nCREATE VIEW clients AS SELECT * FROM customers;",
        "-- pgshift:ignore rename-table\nALTER TABLE clients RENAME TO customers;"),
    "drop-column": (
        "ALTER TABLE customers DROP COLUMN legacy_code;", (1, 1),
        "ALTER TABLE customers DROP COLUMN legacy_code;",
        "-- pgshift:ignore drop-column\nALTER TABLE customers DROP COLUMN legacy_code;",
        {"ok": {"is_rollback": True}}),
    "drop-table": (
        "CREATE TABLE scratch (id int);\nDROP TABLE scratch;\nDROP TABLE legacy_customers CASCADE;", (3, 1),
        "CREATE TABLE scratch (id int);\nDROP TABLE scratch;",
        "-- pgshift:ignore drop-table  archived in 2024\nDROP TABLE legacy_customers;"),
    "add-unique-constraint": (
        "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);", (1, 27),
        "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE USING INDEX customers_email_key;",
        "-- pgshift:ignore add-unique-constraint\n"
        "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);"),
    "add-primary-key": (
        "ALTER TABLE events ADD PRIMARY KEY (id);", (1, 24),
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
        "-- pgshift:ignore add-primary-key\nALTER TABLE events ADD PRIMARY KEY (id);"),
    "add-exclusion-constraint": (
        "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);", (1, 26),
        "CREATE TABLE rooms (during tstzrange);\n"
        "ALTER TABLE rooms ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);",
        "-- pgshift:ignore add-exclusion-constraint\n"
        "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);"),
    "serial-identity": (
        "ALTER TABLE orders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;", (1, 1),
        "ALTER TABLE orders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH 1000000);",
        "-- pgshift:ignore serial-identity\nALTER TABLE orders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;"),
    "prefer-bigint-pk": (
        "CREATE TABLE events (\n    id integer PRIMARY KEY,\n    payload jsonb\n);", (2, 5),
        "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n integer);",
        "-- pgshift:ignore prefer-bigint-pk\nCREATE TABLE events (id integer PRIMARY KEY);"),
    "prefer-identity": (
        "CREATE TABLE events (id bigserial PRIMARY KEY);", (1, 22),
        "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        "-- pgshift:ignore prefer-identity\nCREATE TABLE events (id bigserial PRIMARY KEY);"),
    "vacuum-full": (
        "VACUUM FULL orders;", (1, 1),
        "VACUUM (ANALYZE) orders;",
        "-- pgshift:ignore vacuum-full\nVACUUM FULL orders;"),
    "cluster": (
        "CLUSTER orders USING orders_created_at_idx;", (1, 1),
        "CREATE TABLE t (id int);\nCREATE INDEX t_idx ON t (id);\nCLUSTER t USING t_idx;",
        "-- pgshift:ignore cluster\nCLUSTER orders USING orders_created_at_idx;"),
    "refresh-matview": (
        "REFRESH MATERIALIZED VIEW sales_by_day;", (1, 1),
        "REFRESH MATERIALIZED VIEW CONCURRENTLY sales_by_day;",
        "-- pgshift:ignore refresh-matview\nREFRESH MATERIALIZED VIEW sales_by_day;"),
    "lock-table": (
        "BEGIN;\nLOCK TABLE orders IN SHARE MODE;\nCOMMIT;", (2, 1),
        "CREATE TABLE t (id int);\nLOCK TABLE t;",
        "BEGIN;\n-- pgshift:ignore lock-table\nLOCK TABLE orders IN SHARE MODE;\nCOMMIT;"),
    "truncate": (
        "TRUNCATE customers CASCADE;", (1, 1),
        "CREATE TEMP TABLE staging (id int);\nTRUNCATE staging;",
        "-- pgshift:ignore truncate\nTRUNCATE customers CASCADE;"),
    "unbatched-dml": (
        "UPDATE legacy_customers\nSET migrated = TRUE\nWHERE migrated = FALSE;", (1, 1),
        """\
        UPDATE orders SET status = 'paid' WHERE id = 42;
        DELETE FROM orders WHERE id BETWEEN 1 AND 1000;
        UPDATE orders SET x = 1 WHERE id IN (SELECT id FROM orders WHERE x IS NULL LIMIT 1000);
        -- pgshift:batch size=1000
        UPDATE legacy_customers SET migrated = TRUE WHERE migrated = FALSE;
        """,
        "-- pgshift:ignore unbatched-dml  200 rows\nDELETE FROM legacy_customers;"),
    "add-trigger": (
        """\
        CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();
        """, (1, 1),
        """\
        CREATE TABLE items (id bigint);
        CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION audit.log();
        """,
        """\
        -- pgshift:ignore add-trigger
        CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit.log();
        """),
    "create-policy": (
        "CREATE POLICY tenant_isolation ON orders USING (tenant_id = get_current_tenant_id());", (1, 1),
        "CREATE TABLE items (tenant_id uuid);\nALTER TABLE items ENABLE ROW LEVEL SECURITY;\n"
        "CREATE POLICY items_tenant ON items USING (tenant_id = get_current_tenant_id());",
        "-- pgshift:ignore create-policy\n"
        "CREATE POLICY tenant_isolation ON orders USING (tenant_id = get_current_tenant_id());"),
    "enable-rls-without-policy": (
        "CREATE TABLE invoices (id bigint);\nALTER TABLE invoices ENABLE ROW LEVEL SECURITY;", (2, 1),
        "CREATE TABLE invoices (id bigint);\nALTER TABLE invoices ENABLE ROW LEVEL SECURITY;\n"
        "CREATE POLICY invoices_owner ON invoices USING (owner = current_user);",
        "CREATE TABLE invoices (id bigint);\n-- pgshift:ignore rls-without-policy  policies come next release\n"
        "ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;"),
    "detach-partition": (
        "ALTER TABLE measurements DETACH PARTITION measurements_2023;", (1, 1),
        "ALTER TABLE measurements DETACH PARTITION measurements_2023 CONCURRENTLY;",
        "-- pgshift:ignore detach-partition\nALTER TABLE measurements DETACH PARTITION measurements_2023;"),
    "attach-partition": (
        "ALTER TABLE measurements ATTACH PARTITION m2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        (1, 1),
        "CREATE TABLE m2025 (LIKE measurements);\n"
        "ALTER TABLE measurements ATTACH PARTITION m2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "-- pgshift:ignore attach-partition\n"
        "ALTER TABLE measurements ATTACH PARTITION m2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"),
    "enum-add-value": (
        "SELECT 1;\nALTER TYPE order_status ADD VALUE 'refunded';", (2, 1),
        "-- pgshift:no-transaction\nALTER TYPE order_status ADD VALUE 'refunded';",
        "SELECT 1;\n-- pgshift:ignore enum-add-value\nALTER TYPE order_status ADD VALUE 'refunded';",
        {"target": 11}),
    "ban-char": (
        "CREATE TABLE countries (\n  code char(2) PRIMARY KEY\n);", (2, 3),
        "CREATE TABLE countries (code text PRIMARY KEY);",
        "-- pgshift:ignore ban-char\nCREATE TABLE countries (code char(2) PRIMARY KEY);"),
    "prefer-text": (
        "ALTER TABLE customers ADD COLUMN email varchar(255);", (1, 34),
        "ALTER TABLE customers ADD COLUMN email text;",
        "-- pgshift:ignore prefer-text\nALTER TABLE customers ADD COLUMN email varchar(255);"),
    "prefer-timestamptz": (
        "CREATE TABLE events (id bigint, happened_at timestamp NOT NULL);", (1, 33),
        "CREATE TABLE events (id bigint, happened_at timestamptz NOT NULL);",
        "-- pgshift:ignore prefer-timestamptz\nCREATE TABLE events (happened_at timestamp);"),
    "require-lock-timeout": (
        "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN note text;",
        (3, 1),
        "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;",
        "SELECT 1;\n-- pgshift:ignore require-lock-timeout\nALTER TABLE orders ADD COLUMN note text;"),
    "tx-hygiene": (
        "SELECT 1;\nBEGIN;\nALTER TABLE orders ADD COLUMN note text;", (2, 1),
        "BEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;",
        "SELECT 1;\n-- pgshift:ignore tx-hygiene\nBEGIN;\nALTER TABLE orders ADD COLUMN note text;"),
    "identifier-too-long": (
        "CREATE INDEX CONCURRENTLY idx_work_orders_tenant_status_scheduled_at_technician_customer_created_at\n"
        "    ON work_orders (tenant_id);", (1, 27),
        "CREATE INDEX CONCURRENTLY idx_work_orders_tenant_status ON work_orders (tenant_id);",
        "-- pgshift:ignore identifier-too-long\n"
        "CREATE INDEX CONCURRENTLY idx_work_orders_tenant_status_scheduled_at_technician_customer_created_at\n"
        "    ON work_orders (tenant_id);"),
    "ledger-write": (
        "BEGIN;\nINSERT INTO shared.migration_log (version) VALUES ('1');\n"
        "UPDATE migration_log SET status = 'completed';\nCOMMIT;", [(2, 1), (3, 1)],
        "INSERT INTO shared.audit_log (version) VALUES ('1');\nUPDATE other.migration_log SET status = 'x' WHERE id = 1;",
        "-- pgshift:ignore ledger-write\nINSERT INTO shared.migration_log (version) VALUES ('1');"),
    "psql-meta-command": (
        "SELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;", (2, 1),
        "SELECT '\\c not a command';",
        "-- pgshift:ignore psql-meta-command\nSELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;"),
    "missing-rollback": (
        "\n\nCREATE TABLE t (id int);", (1, 1),
        "CREATE TABLE t (id int);",
        "-- pgshift:ignore missing-rollback  forward-only\nCREATE TABLE t (id int);",
        {"has_rollback": False, "ok": {"has_rollback": True}}),
    "empty-rollback": (
        "-- Rollback: rollbacks/20250101000000_rollback_test.sql\n\n-- Undo what the migration did.\n;\n", (1, 1),
        "-- Undo what the migration did.\nDROP TABLE t;",
        "-- pgshift:ignore empty-rollback  the stub is filled in before release\n-- Undo what the migration did.\n",
        {"is_rollback": True}),
    "tenant-table-without-rls": (
        "SELECT 1;\nCREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);", (2, 1),
        """\
        CREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);
        ALTER TABLE inventory.items ENABLE ROW LEVEL SECURITY;
        CREATE POLICY items_tenant ON inventory.items USING (tenant_id = get_current_tenant_id());
        """,
        "-- pgshift:ignore tenant-table-without-rls  lookup table shared by all tenants\n"
        "CREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid);"),
    "policy-without-tenant": (
        """\
        CREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, active boolean);
        ALTER TABLE inventory.items ENABLE ROW LEVEL SECURITY;
        CREATE POLICY items_visible ON inventory.items USING (active);
        """, (3, 1),
        """\
        CREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, active boolean);
        ALTER TABLE inventory.items ENABLE ROW LEVEL SECURITY;
        CREATE POLICY items_visible ON inventory.items USING (items.tenant_id = get_current_tenant_id() AND active);
        """,
        """\
        CREATE TABLE inventory.items (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, active boolean);
        ALTER TABLE inventory.items ENABLE ROW LEVEL SECURITY;
        -- pgshift:ignore policy-without-tenant  admin-only view
        CREATE POLICY items_visible ON inventory.items USING (active);
        """),
    "regex-double-backslash": (
        "SELECT\n    TRIM(SUBSTRING(full_name FROM '^([^\\\\s]+)'))\nFROM customers;", (2, 35),
        "SELECT SUBSTRING(full_name FROM '^([^\\s]+)'), full_name ~ E'\\\\d+', path ~ 'C:\\\\\\\\Users' FROM t;",
        "-- pgshift:ignore regex-double-backslash\nSELECT full_name ~ '\\\\d+' FROM customers;"),
    "plpgsql-batch-loop-without-commit": (
        """\
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT id FROM legacy_customers LOOP
                UPDATE legacy_customers SET migrated = true WHERE id = r.id;
            END LOOP;
        END $$;
        """, (4, 5),
        """\
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT id FROM legacy_customers LOOP
                UPDATE legacy_customers SET migrated = true WHERE id = r.id;
                COMMIT;
            END LOOP;
        END $$;
        """,
        """\
        -- pgshift:ignore plpgsql-batch-loop-without-commit
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT id FROM legacy_customers LOOP
                UPDATE legacy_customers SET migrated = true WHERE id = r.id;
            END LOOP;
        END $$;
        """),
    "syntax-error": (
        "SELECT 1;\nCOMMIT;\n\nRAISE NOTICE 'done';\n", (4, 1),
        "SELECT 1;\nDO $$ BEGIN RAISE NOTICE 'done'; END $$;",
        "-- pgshift:ignore syntax-error\nSELECT 1;\nRAISE NOTICE 'done';\n"),
    "invalid-directive": (
        "SELECT 1;\n-- pgshift:no-transation\nSELECT 2;", (2, 1),
        "-- pgshift:no-transaction\nSELECT 1;",
        "-- pgshift:ignore invalid-directive\nSELECT 1;\n-- pgshift:no-transation\nSELECT 2;"),
    "unused-ignore": (
        "SELECT 1;\n  -- pgshift:ignore require-concurrent-index\nCREATE INDEX CONCURRENTLY i ON t (a);", (2, 3),
        "SELECT 1;\n-- pgshift:ignore require-concurrent-index\nCREATE INDEX i ON t (a);",
        "-- pgshift:ignore unused-ignore\nSELECT 1;\n-- pgshift:ignore require-concurrent-index\n"
        "CREATE INDEX CONCURRENTLY i ON t (a);"),
}


def _case(rule_id):
    bad, at, ok, ignored, *rest = CASES[rule_id]
    kw = dict(rest[0]) if rest else {}
    ok_kw = {**kw, **kw.pop("ok", {})}
    kw.pop("ok", None)
    ok_kw.pop("ok", None)
    return bad, at, ok, ignored, kw, ok_kw


def test_every_rule_has_cases():
    assert sorted(CASES) == sorted(r.id for r in all_rules())


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_fails(rule_id):
    bad, at, _ok, _ignored, kw, _ = _case(rule_id)
    assert_lint_errors(bad, rule_id, at, **kw)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passes(rule_id):
    _bad, _at, ok, _ignored, _kw, ok_kw = _case(rule_id)
    assert_lint_ok(ok, rule_id, **ok_kw)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_ignored(rule_id):
    _bad, _at, _ok, ignored, kw, _ = _case(rule_id)
    assert_lint_ignored(ignored, rule_id, **kw)


def test_require_lock_timeouts_quick_gate_names_every_statement_kind_it_looks_at():
    import inspect
    import re

    from pgshift.lint.rules import require_lock_timeout
    body = inspect.getsource(require_lock_timeout._strong_lock_target).split("return None", 1)[1]
    assert set(re.findall(r'"(\w+Stmt)"', body)) == require_lock_timeout._LOCKING
