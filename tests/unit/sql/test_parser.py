"""Reading a file: statements, directives, meta-commands, classification, errors at file:line:col."""
import pytest

from pgshift.errors import DirectiveError, SqlSyntaxError
from pgshift.model import TX_BATCHED, TX_FILE, TX_NONE, TX_OWN
from pgshift.sql import batch_shape, parse_file, parse_one

TRICKY = """-- Migration: x
CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
  -- a comment; with a semicolon
  RETURN 'a;b' || $$;$$;
END
$body$;
DO $$ BEGIN RAISE NOTICE 'x;'; END $$;
SELECT E'it\\'s; fine', 'two''s;'  /* ; */ ;
INSERT INTO t VALUES ('é'); SELECT 1;
"""


def test_splits_what_regexes_break():
    p = parse_file("f.sql", TRICKY)
    assert [s.kind for s in p.statements] == ["CreateFunctionStmt", "DoStmt", "SelectStmt", "InsertStmt",
                                              "SelectStmt"]
    assert [str(s.location) for s in p.statements] == ["f.sql:2:1", "f.sql:8:1", "f.sql:9:1", "f.sql:10:1",
                                                       "f.sql:10:29"]
    assert p.statements[0].sql.endswith("$body$")
    assert p.mode == TX_FILE


@pytest.mark.parametrize("sql, reason", [
    ("CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"),
    ("DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"),
    ("REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"),
    ("REINDEX SCHEMA s", "REINDEX SCHEMA"),
    ("REINDEX DATABASE d", "REINDEX DATABASE"),
    ("VACUUM t", "VACUUM"),
    ("VACUUM (FULL, ANALYZE) t", "VACUUM"),
    ("ALTER SYSTEM SET work_mem = '1MB'", "ALTER SYSTEM"),
    ("CREATE DATABASE d", "CREATE DATABASE"),
    ("DROP DATABASE d", "DROP DATABASE"),
    ("ALTER DATABASE d SET TABLESPACE x", "ALTER DATABASE ... SET TABLESPACE"),
    ("CREATE TABLESPACE x LOCATION '/x'", "CREATE TABLESPACE"),
    ("DROP TABLESPACE x", "DROP TABLESPACE"),
    ("CLUSTER", "CLUSTER without a table"),
    ("DISCARD ALL", "DISCARD ALL"),
    ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION"),
    ("CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p", "CREATE SUBSCRIPTION"),
    ("ALTER SUBSCRIPTION s REFRESH PUBLICATION", "REFRESH PUBLICATION"),
    ("COMMIT PREPARED 'x'", "COMMIT PREPARED"),
])
def test_statements_refused_in_a_transaction(sql, reason):
    p = parse_file("f.sql", f"SELECT 1;\n{sql};\n")
    assert reason in (p.statements[1].non_transactional or "")
    assert p.mode == TX_NONE and "line 2" in p.mode_reason


@pytest.mark.parametrize("sql", ["ANALYZE t", "CLUSTER t USING i", "REFRESH MATERIALIZED VIEW CONCURRENTLY m",
                                 "CREATE INDEX i ON t (a)", "ALTER DATABASE d SET work_mem = '1MB'",
                                 "CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p WITH (connect = false)",
                                 "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)", "DISCARD PLANS"])
def test_statements_allowed_in_a_transaction(sql):
    p = parse_file("f.sql", sql + ";")
    assert p.statements[0].non_transactional is None and p.mode == TX_FILE


def test_own_transaction_and_concurrently_inside_it():
    p = parse_file("f.sql", "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON a (id);\n")
    assert p.mode == TX_OWN
    with pytest.raises(SqlSyntaxError) as err:
        parse_file("f.sql", "START TRANSACTION;\nCREATE INDEX CONCURRENTLY i ON a (id);\nEND;\n")
    assert str(err.value.location) == "f.sql:2:1"
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in err.value.message
    assert "START at line 1" in err.value.message and "file of their own" in err.value.hint


def test_directives():
    p = parse_file("f.sql", "-- pgshift:lock-timeout 500ms\n-- pgshift:ignore drop-table  kept on purpose\n"
                            "DROP TABLE a;\n-- pgshift:batch size=100 sleep=10ms\nUPDATE b SET x = 1;\n")
    assert p.file_directive("lock-timeout").args == {"value": "500ms"}
    assert p.statements[0].directive("ignore").args == {"rules": "drop-table", "reason": "kept on purpose"}
    assert p.statements[1].directive("batch").args == {"size": "100", "sleep": "10ms"}
    assert p.mode == TX_BATCHED


@pytest.mark.parametrize("text, message, where", [
    ("-- pgshift:nope\nSELECT 1;", "unknown directive `pgshift:nope`", "f.sql:1:1"),
    ("-- pgshift:batch\nUPDATE t SET a = 1;", "needs size=N", "f.sql:1:1"),
    ("-- pgshift:batch size=0\nUPDATE t SET a = 1;", "positive whole number", "f.sql:1:1"),
    ("-- pgshift:batch size=10 speed=9\nUPDATE t SET a = 1;", "does not understand", "f.sql:1:1"),
    ("SELECT 1;\n-- pgshift:no-transaction\nSELECT 2;", "must stand before its first statement", "f.sql:2:1"),
    ("-- pgshift:lock-timeout soon\nSELECT 1;", "not a duration", "f.sql:1:1"),
    ("SELECT 1;\n-- pgshift:batch size=5\n", "applies to nothing", "f.sql:2:1"),
    ("SELECT 1,\n-- pgshift:no-transaction\n2;", "inside a statement", "f.sql:2:1"),
    ("/* pgshift:no-transaction */\nCREATE INDEX CONCURRENTLY i ON t (a);", "written in a /* */ comment",
     "f.sql:1:1"),
    ("SELECT 1;\n  /*\n   * pgshift:ignore drop-table\n   */\nDROP TABLE t;", "`pgshift:ignore` is written in a /* */",
     "f.sql:2:3"),
])
def test_bad_directives(text, message, where):
    with pytest.raises(DirectiveError) as err:
        parse_file("f.sql", text)
    assert message in err.value.message and str(err.value.location) == where


def test_a_block_comment_that_only_mentions_pgshift_is_just_a_comment():
    parsed = parse_file("f.sql", "/* written for pgshift: see the README */\nSELECT 1;\n")
    assert len(parsed.statements) == 1 and parsed.directives == ()


def test_directive_inside_a_function_body_is_just_text():
    p = parse_file("f.sql", "DO $$\nBEGIN\n-- pgshift:nonsense\nEND $$;\n")
    assert p.directives == ()


def test_syntax_errors_name_line_and_column():
    with pytest.raises(SqlSyntaxError) as err:
        parse_file("f.sql", "SELECT 1;\nCOMMIT;\n\n  RAISE NOTICE 'done';\n")
    assert str(err.value.location) == "f.sql:4:3"
    assert "DO block" in err.value.hint
    assert "    4 |   RAISE NOTICE 'done';\n      |   ^" == err.value.context


def test_meta_commands():
    p = parse_file("f.sql", "\\c mydb;\nSELECT '\\c not a command';\n", database="mydb")
    assert len(p.meta_commands) == 1 and p.meta_commands[0].argument == "mydb"
    assert len(p.statements) == 1
    with pytest.raises(SqlSyntaxError, match="switches to database other"):
        parse_file("f.sql", "SELECT 1;\n\\connect other\n", database="mydb")
    with pytest.raises(SqlSyntaxError, match="is not SQL"):
        parse_file("f.sql", "SELECT 1;\n  \\i other.sql\n")


def test_batch_shapes():
    assert batch_shape(parse_one("UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t WHERE NOT d LIMIT 10)")).self_limiting
    shape = batch_shape(parse_one("UPDATE s.t AS x SET a = 1 WHERE migrated = false"))
    assert not shape.self_limiting and shape.relation == ("s", "t")
    assert shape.rewrite("id", True, "bigint") == \
        "UPDATE s.t AS x SET a = 1 WHERE migrated = FALSE AND (x.id > CAST($1 AS bigint) AND x.id <= CAST($2 AS bigint))"
    assert batch_shape(parse_one("DELETE FROM t")).rewrite("id", False, "int") == "DELETE FROM t WHERE t.id <= CAST($1 AS integer)"


@pytest.mark.parametrize("text, where, words", [
    ("COPY t FROM STDIN;\n", "f.sql:1:1", "FROM STDIN needs psql's data stream"),
    ("SELECT 1;\nCOPY (SELECT 1) TO STDOUT;\n", "f.sql:2:1", "TO STDOUT needs psql's data stream"),
    ("CREATE TABLE t (a int);\nCOPY t FROM stdin;\n1\t2\n\\.\n", "f.sql:3:1", "COPY ... FROM STDIN data"),
])
def test_copy_with_psqls_data_stream_is_refused(text, where, words):
    with pytest.raises(SqlSyntaxError) as err:
        parse_file("f.sql", text)
    assert str(err.value.location) == where
    assert words in err.value.message + (err.value.hint or "")


def test_copy_from_a_server_file_is_fine():
    assert parse_file("f.sql", "COPY t FROM '/srv/data.csv' WITH (FORMAT csv);").statements[0].kind == "CopyStmt"


def test_positions_in_a_large_file_are_those_of_a_small_one():
    from pgshift.text import line_col

    text = "SELECT 1;\n\tSELECT 22;\n" * 5000  # past the size where line starts are indexed
    for index in (0, 9, 10, 11, 23, len(text) // 2 + 3, len(text) - 1, len(text)):
        line = text.count("\n", 0, index) + 1
        assert line_col(text, index) == (line, index - (text.rfind("\n", 0, index) + 1) + 1)


def test_the_caret_context_of_a_very_long_line_is_a_window_around_the_column():
    from pgshift.text import caret_context

    text = "SELECT " + "x, " * 2000 + "nosuch;"
    shown, caret = caret_context(text, text.index("nosuch")).split("\n")
    assert shown.startswith("    1 | …") and "nosuch;" in shown and len(shown) < 260
    assert caret.index("^") == shown.index("nosuch")


@pytest.mark.parametrize("value, words", [("3000000s", "more than PostgreSQL accepts"), ("1us", "less than 1ms")])
def test_a_timeout_directive_out_of_postgresqls_range_is_refused(value, words):
    with pytest.raises(DirectiveError) as err:
        parse_file("f.sql", f"-- pgshift:lock-timeout {value}\nSELECT 1;")
    assert words in err.value.message and str(err.value.location) == "f.sql:1:1"
    assert parse_file("f.sql", "-- pgshift:statement-timeout 0\nSELECT 1;").file_directives[0].args["value"] == "0"


def test_statement_positions_counted_on_equal_line_col_from_the_start():
    from pgshift.text import line_col
    text = "\n\n  SELECT 1;  SELECT 2;\n-- c\n\tSELECT 3;\nSELECT\n4; SELECT 'a\nb'; SELECT 5;"
    p = parse_file("f.sql", text)
    assert [(s.location.line, s.location.col) for s in p.statements] == [line_col(text, s.offset)
                                                                         for s in p.statements]
    assert len(p.statements) == 6


def test_the_quick_non_transactional_gate_names_every_node_type_the_function_looks_at():
    import inspect
    import re

    from pgshift.sql import classify
    looked_at = set(re.findall(r'name == "(\w+)"', inspect.getsource(classify.non_transactional_reason)))
    assert looked_at == classify._MAYBE_NON_TRANSACTIONAL
