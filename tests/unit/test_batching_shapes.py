"""Batching without a server: the two modes read from the parse tree, the key-range
rewrite, the self-limiting alternative, the checks that need no catalog."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from pgshift.errors import InputError
from pgshift.execution import batch_walk, batching
from pgshift.sql import batch_shape, created_primary_key, parse_file, parse_one


def _shape(sql):
    return batch_shape(parse_one(sql))


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t WHERE NOT done LIMIT 1000)",
    "UPDATE t SET a = 1 WHERE id = ANY(ARRAY(SELECT id FROM t WHERE NOT done FETCH FIRST 10 ROWS ONLY))",
    "UPDATE t SET a = 1 FROM (SELECT id FROM t WHERE NOT done LIMIT 10) b WHERE b.id = t.id",
    "WITH b AS (SELECT id FROM t WHERE NOT done LIMIT 10) UPDATE t SET a = 1 FROM b WHERE b.id = t.id",
    "DELETE FROM t WHERE ctid = ANY(ARRAY(SELECT ctid FROM t WHERE old LIMIT 500))",
    "DELETE FROM t USING (SELECT id FROM t WHERE old LIMIT 5) o WHERE o.id = t.id",
    "INSERT INTO d SELECT * FROM s WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.id = s.id) ORDER BY id LIMIT 100",
])
def test_self_limiting_statements(sql):
    assert _shape(sql).self_limiting


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a = 1 WHERE NOT done",
    "UPDATE t SET a = (SELECT v FROM other ORDER BY v LIMIT 1) WHERE NOT done",   # LIMIT outside the row selection
    "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t LIMIT ALL)",
    "DELETE FROM t WHERE old",
    "INSERT INTO d SELECT id, (SELECT max(v) FROM o LIMIT 1) FROM s",
])
def test_key_range_statements(sql):
    assert not _shape(sql).self_limiting


def test_the_table_whose_key_is_walked():
    assert _shape("UPDATE s.t AS x SET a = 1").relation == ("s", "t")
    assert _shape("DELETE FROM t WHERE old").relation == (None, "t")
    assert _shape("INSERT INTO d (id) SELECT id FROM s.src AS q WHERE q.ok").relation == ("s", "src")
    assert _shape("INSERT INTO d SELECT a.id FROM a JOIN b USING (id)").relation is None
    assert _shape("INSERT INTO d SELECT id FROM a UNION SELECT id FROM b").relation is None


def test_rewrite_adds_the_range_to_the_statements_own_where():
    shape = _shape("UPDATE items SET n = n + 1, done = true WHERE NOT done OR n = 0")
    assert shape.rewrite("id", with_lower=True) == \
        "UPDATE items SET n = n + 1, done = TRUE WHERE (NOT done OR n = 0) AND (items.id > $1 AND items.id <= $2)"
    assert shape.rewrite("id", with_lower=False) == \
        "UPDATE items SET n = n + 1, done = TRUE WHERE (NOT done OR n = 0) AND items.id <= $1"
    assert _shape('DELETE FROM "Odd ""T"" t" WHERE x').rewrite('K"ey', True) == \
        'DELETE FROM "Odd ""T"" t" WHERE x AND ("Odd ""T"" t"."K""ey" > $1 AND "Odd ""T"" t"."K""ey" <= $2)'
    assert _shape("INSERT INTO d (id) SELECT id FROM src AS q").rewrite("id", True) == \
        "INSERT INTO d (id) SELECT id FROM src AS q WHERE q.id > $1 AND q.id <= $2"
    assert _shape("UPDATE t SET a = 1").rewrite("id", False, "bigint") == \
        "UPDATE t SET a = 1 WHERE t.id <= CAST($1 AS bigint)"


def test_the_self_limiting_alternative_needs_no_key():
    assert _shape("UPDATE logs SET done = true WHERE NOT done").self_limiting_alternative(500) == \
        "UPDATE logs SET done = TRUE WHERE ctid = ANY(ARRAY(SELECT ctid FROM logs WHERE NOT done LIMIT 500))"
    assert _shape("DELETE FROM s.logs AS l WHERE l.old").self_limiting_alternative(10) == \
        "DELETE FROM s.logs AS l WHERE ctid = ANY(ARRAY(SELECT ctid FROM s.logs AS l WHERE l.old LIMIT 10))"
    assert "<the rows not yet changed>" in _shape("UPDATE t SET a = 1").self_limiting_alternative(10)
    assert _shape("UPDATE t SET a = o.a FROM o WHERE o.id = t.id").self_limiting_alternative(10) is None


def test_created_primary_key():
    assert created_primary_key(parse_one("CREATE TABLE t (id bigint PRIMARY KEY, a int)")) == ("id",)
    assert created_primary_key(parse_one("CREATE TABLE t (a int, b int, PRIMARY KEY (a, b))")) == ("a", "b")
    assert created_primary_key(parse_one("CREATE TABLE t (a int)")) == ()
    assert created_primary_key(parse_one("CREATE TABLE t (LIKE o INCLUDING ALL)")) is None
    assert created_primary_key(parse_one("CREATE TABLE c () INHERITS (p)")) is None


def test_batch_spec():
    p = parse_file("m.sql", "-- pgshift:batch size=500 sleep=100ms max-replica-lag=2s\nDELETE FROM t WHERE old;\n")
    assert batching.batch_spec(p.statements[0]) == batching.BatchSpec(500, 0.1, 2.0)
    p = parse_file("m.sql", "-- pgshift:batch size=7\nDELETE FROM t WHERE old;\n")
    assert batching.batch_spec(p.statements[0]) == batching.BatchSpec(7, 0.0, None)


def test_precheck_refuses_a_table_created_without_a_key_before_anything_runs():
    text = "CREATE TABLE logs (msg text, done bool);\n-- pgshift:batch size=100\nUPDATE logs SET done = true WHERE NOT done;\n"
    with pytest.raises(InputError) as err:
        batching.precheck(None, parse_file("m.sql", text))   # judged from the CREATE TABLE: no catalog needed
    assert err.value.exit_code == 2
    assert str(err.value.location) == "m.sql:3:1"
    assert "table logs has no primary key" in err.value.message
    assert "ctid = ANY(ARRAY(SELECT ctid FROM logs WHERE NOT done LIMIT 100))" in err.value.hint
    # a single-column key, or a statement that limits itself: fine
    batching.precheck(None, parse_file("m.sql", text.replace("msg text", "id int PRIMARY KEY, msg text")))
    batching.precheck(None, parse_file("m.sql", text.replace(
        "WHERE NOT done", "WHERE ctid = ANY(ARRAY(SELECT ctid FROM logs WHERE NOT done LIMIT 100))")))
    # a key added by an ALTER after the CREATE cannot be read from the text: left to the run
    batching.precheck(None, parse_file("m.sql", text.replace(
        ";\n--", ";\nALTER TABLE logs ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;\n--", 1)))
    # a resumed file checks only what is still to run
    batching.precheck(None, parse_file("m.sql", text), start=2)


def test_describe_batches_without_a_connection():
    text = ("CREATE TABLE items (id bigint PRIMARY KEY, done bool);\n"
            "-- pgshift:batch size=100 max-replica-lag=1s\nUPDATE items SET done = true WHERE NOT done;\n"
            "-- pgshift:batch size=100\nUPDATE other SET done = true WHERE NOT done;\n")
    first, second = batching.describe_batches(parse_file("m.sql", text))
    assert first.startswith("m.sql:3:1: batched UPDATE, key-range over items.id, 100 keys per batch, "
                            "pausing while replica lag > 1s")
    assert "UPDATE items SET done = TRUE WHERE NOT done AND (items.id > $1 AND items.id <= $2)" in first
    assert '"<primary key>" > $1' in second


def test_share_of_the_key_range():
    numeric = SimpleNamespace(numeric=True)
    assert batch_walk.KeyRange.share(numeric, {"range": ["1", "10000"], "last_key": "2500"}) == pytest.approx(2499 / 9999)
    assert batch_walk.KeyRange.share(numeric, {"range": ["5", "5"], "last_key": "5"}) == 1.0
    text = SimpleNamespace(numeric=False)
    assert batch_walk.KeyRange.share(text, {"range": ["a", "z"], "last_key": "m", "keys": 50, "total_keys": 200}) \
        == 0.25
    assert batch_walk.KeyRange.share(text, {"last_key": None}) == 0.0


def test_describe_batches_reads_the_key_from_an_earlier_file_of_the_plan():
    earlier = parse_file("1.sql", "CREATE TABLE s.items (code text PRIMARY KEY, done bool);\n")
    [line] = batching.describe_batches(
        parse_file("2.sql", "-- pgshift:batch size=10\nDELETE FROM s.items WHERE done;\n"), None, [earlier])
    assert "key-range over s.items.code, 10 keys per batch" in line
    assert "DELETE FROM s.items WHERE done AND (items.code > $1 AND items.code <= $2)" in line
    nokey = parse_file("1.sql", "CREATE TABLE items (code text, done bool);\n")
    [line] = batching.describe_batches(
        parse_file("2.sql", "-- pgshift:batch size=10\nDELETE FROM items WHERE done;\n"), None, [nokey])
    assert "cannot batch this DELETE by key ranges: table items has no primary key" in line
    assert "DELETE FROM items WHERE ctid = ANY(ARRAY(SELECT ctid FROM items WHERE done LIMIT 10))" in line


def test_statements_that_move_rows_ahead_of_the_walk_are_refused():
    text = ("CREATE TABLE t (id bigint PRIMARY KEY, v int);\n"
            "-- pgshift:batch size=10\nUPDATE t SET id = id + 1000000 WHERE v = 0;\n")
    with pytest.raises(InputError, match="it changes t.id, the key pgshift walks"):
        batching.precheck(None, parse_file("m.sql", text))
    text = ("CREATE TABLE t (id bigint PRIMARY KEY, v int);\n"
            "-- pgshift:batch size=10\nINSERT INTO t SELECT id + 1000000, v FROM t;\n")
    with pytest.raises(InputError, match="the walk would reach the rows it inserts"):
        batching.precheck(None, parse_file("m.sql", text))
    assert "the walk would reach" in batching.describe_batches(parse_file("m.sql", text))[0]
    # setting other columns, or inserting elsewhere: fine
    batching.precheck(None, parse_file("m.sql", text.replace("INSERT INTO t SELECT", "INSERT INTO u SELECT")))
