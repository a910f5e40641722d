"""Rules know the PostgreSQL version they target."""
from __future__ import annotations

import pytest

from .helpers import assert_lint_errors, assert_lint_ok, findings, lint_sql

CONSTANT_DEFAULT = "ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'web';"


@pytest.mark.parametrize("target", [11, 12, 15, 17, 18, None])
def test_non_volatile_default_is_clean_from_11(target):
    assert_lint_ok(CONSTANT_DEFAULT, "add-column-volatile-default", target=target)
    assert_lint_ok("ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT CURRENT_TIMESTAMP;",
                   "add-column-volatile-default", target=target)


@pytest.mark.parametrize("target", [9, 10])
def test_non_volatile_default_rewrites_before_11(target):
    found = assert_lint_errors(CONSTANT_DEFAULT, "add-column-volatile-default", (1, 31), target=target)
    assert "before PostgreSQL 11" in found[0].message


@pytest.mark.parametrize("default", ["random()", "gen_random_uuid()", "uuid_generate_v4()", "clock_timestamp()",
                                     "nextval('s')", "timeofday()", "my_function()", "(random() * 10)::int"])
def test_volatile_default_rewrites_on_every_version(default):
    for target in (10, 18):
        assert_lint_errors(f"ALTER TABLE orders ADD COLUMN x text DEFAULT {default};",
                           "add-column-volatile-default", (1, 31), target=target)


ENUM = "SELECT 1;\nALTER TYPE order_status ADD VALUE 'refunded';"


@pytest.mark.parametrize("target", [9, 10, 11])
def test_enum_add_value_in_transaction_flagged_below_12(target):
    found = assert_lint_errors(ENUM, "enum-add-value", (2, 1), target=target)
    assert "before PostgreSQL 12" in found[0].message


@pytest.mark.parametrize("target", [12, 16, 18])
def test_enum_add_value_in_transaction_allowed_from_12(target):
    assert_lint_ok(ENUM, "enum-add-value", target=target)


def test_enum_value_used_in_the_same_transaction_warns_from_12():
    sql = "ALTER TYPE order_status ADD VALUE 'refunded';\nUPDATE orders SET status = 'refunded' WHERE id = 42;"
    found = assert_lint_errors(sql, "enum-add-value", (1, 1), severity="warning", target=15)
    assert "line 2" in found[0].message


def test_enum_outside_a_transaction_is_fine_below_12():
    assert_lint_ok("-- pgshift:no-transaction\nALTER TYPE order_status ADD VALUE 'refunded';", "enum-add-value", target=10)


def test_enum_created_in_the_same_transaction_is_fine():
    sql = "CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';"
    assert_lint_ok(sql, "enum-add-value", target=11)


def test_reindex_concurrently_needs_12():
    assert_lint_ok("REINDEX INDEX orders_status_idx;", "require-concurrent-reindex", target=11)
    assert_lint_errors("REINDEX INDEX orders_status_idx;", "require-concurrent-reindex", (1, 1), target=12)


def test_detach_concurrently_needs_14():
    sql = "ALTER TABLE m DETACH PARTITION m2023;"
    assert_lint_ok(sql, "detach-partition", target=13)
    assert_lint_errors(sql, "detach-partition", (1, 1), target=14)


PROVEN = ("ALTER TABLE orders ADD CONSTRAINT c_nn CHECK (customer_id IS NOT NULL) NOT VALID;",
          "ALTER TABLE orders VALIDATE CONSTRAINT c_nn;")


def test_set_not_null_proven_by_a_check_from_12():
    sql = "ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;"
    assert_lint_ok(sql, "set-not-null", target=12, prelude=PROVEN)
    found = assert_lint_errors(sql, "set-not-null", (1, 1), target=11, prelude=PROVEN)
    assert "before PostgreSQL 12" in found[0].hint


def test_set_not_null_hint_follows_the_version():
    sql = "ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;"
    assert "CHECK (customer_id IS NOT NULL) NOT VALID" in findings(sql, "set-not-null", target=17)[0].hint
    assert "NOT NULL customer_id NOT VALID" in findings(sql, "set-not-null", target=18)[0].hint


def test_not_null_constraint_without_not_valid_on_18():
    sql = "ALTER TABLE orders ADD CONSTRAINT orders_customer_nn NOT NULL customer_id;"
    assert_lint_errors(sql, "set-not-null", (1, 24), target=18)
    assert_lint_ok("ALTER TABLE orders ADD CONSTRAINT orders_customer_nn NOT NULL customer_id NOT VALID;",
                   "set-not-null", target=18)


def test_timestamp_to_timestamptz_is_cheap_only_from_12_with_utc():
    prelude = ("ALTER TABLE events ADD COLUMN seen timestamp;",)
    sql = "ALTER TABLE events ALTER COLUMN seen TYPE timestamptz;"
    assert_lint_errors(sql, "alter-column-type", (1, 1), severity="warning", target=12, prelude=prelude)
    assert_lint_errors(sql, "alter-column-type", (1, 1), target=11, prelude=prelude)


def test_target_none_is_the_newest():
    assert lint_sql("SELECT 1;").target_version == 18
