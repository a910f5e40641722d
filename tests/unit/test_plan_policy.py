"""`pgshift plan`'s pure parts (issue 13): what a statement asks of existing rows, the policy."""
from __future__ import annotations

import pytest

from pgshift.errors import ConfigError
from pgshift.proof import policy
from pgshift.sql.parser import parse_one
from pgshift.sql.requirements import data_requirements


@pytest.mark.parametrize(("sql", "expected"), [
    ("CREATE UNIQUE INDEX i ON t (a, b)", [{"kind": "unique", "table": '"t"', "columns": ["a", "b"],
                                           "nulls_distinct": True}]),
    ("CREATE UNIQUE INDEX i ON t (lower(a))", []),                       # an expression: no query derived
    ("CREATE INDEX i ON t (a)", []),
    ("ALTER TABLE s.t ADD CONSTRAINT c CHECK (a > 0), ALTER COLUMN b SET NOT NULL",
     [{"kind": "check", "table": '"s"."t"', "expression": "a > 0"},
      {"kind": "not_null", "table": '"s"."t"', "columns": ["b"]}]),
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", []),     # asks nothing of existing rows
    ("ALTER TABLE t ADD FOREIGN KEY (cid) REFERENCES customers (id)",
     [{"kind": "foreign_key", "table": '"t"', "columns": ["cid"], "ref_table": '"customers"', "ref_columns": ["id"]}]),
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint", [{"kind": "type", "table": '"t"', "columns": ["a"], "type": "bigint"}]),
    ("ALTER TABLE t ADD PRIMARY KEY (id)", [{"kind": "unique", "table": '"t"', "columns": ["id"], "nulls_distinct": True},
                                            {"kind": "not_null", "table": '"t"', "columns": ["id"]}]),
    ("CREATE TABLE t (id int UNIQUE)", []),
    ("ALTER TABLE t ALTER COLUMN a TYPE int USING a::int",          # the cast checked anyway
     [{"kind": "type", "table": '"t"', "columns": ["a"], "type": "integer"}]),
    ("ALTER TABLE t ALTER COLUMN a TYPE int USING abs(a)",
     [{"kind": "type", "table": '"t"', "columns": ["a"], "type": "integer", "using": "abs(a)"}]),
])
def test_data_requirements(sql, expected):
    assert data_requirements(parse_one(sql)) == expected


def _statement(**kw):
    base = {"file": "m.sql", "line": 3, "error": None, "locks": [], "rewrites": []}
    return {**base, **kw}


def test_policy_defaults_and_thresholds():
    rules = policy.read(None)
    assert rules == {"data_truth": True, "copy_errors": True, "max_access_exclusive": None, "max_rewrite_bytes": None}
    failing = [{"status": "fail", "statement": "m.sql:3", "kind": "unique", "table": "t", "detail": "a",
                "offending": 4}]
    assert policy.evaluate(rules, [], failing, {}) == [
        "m.sql:3: unique t (a): 4 row(s) on the target would make it fail"]
    assert policy.evaluate(policy.read({"data_truth": False}), [], failing, {}) == []
    lock = {"mode": "AccessExclusiveLock", "relkind": "r", "relation": "orders", "hold_seconds_at_size": 2.5}
    statements = [_statement(locks=[lock], rewrites=["orders"])]
    strict = policy.read({"max_access_exclusive": "1s", "max_rewrite_bytes": 1000})
    found = policy.evaluate(strict, statements, [], {"orders": {"target_bytes": 5000}})
    assert found == ["m.sql:3: ACCESS EXCLUSIVE on orders held 2.500 s at the target's size (policy: 1 s)",
                     "m.sql:3: rewrites orders (5000 bytes on the target; policy: 1000)"]
    assert policy.evaluate(policy.read({"max_access_exclusive": 3}), statements, [], {}) == []
    assert policy.evaluate(rules, [_statement(error="boom")], [], {}) == ["m.sql:3: fails on the copy: boom"]


def test_policy_refuses_unknown_keys_and_bad_durations():
    with pytest.raises(ConfigError, match="unknown key 'max_ae'"):
        policy.read({"max_ae": 1})
    with pytest.raises(ConfigError, match="max_access_exclusive"):
        policy.read({"max_access_exclusive": "soon"})


def test_a_data_modifying_with_is_predicted_to_write_its_table():
    # found by pgshift plan on examples/thorbis: predicted ACCESS SHARE, observed ROW EXCLUSIVE
    from pgshift.sql.classify import lock_modes

    node = parse_one("WITH moved AS (INSERT INTO c SELECT 1 RETURNING 1) UPDATE l SET x = 1 FROM moved")
    assert lock_modes(node)['"c"'] == "RowExclusiveLock"
    assert lock_modes(node)['"l"'] == "RowExclusiveLock"
