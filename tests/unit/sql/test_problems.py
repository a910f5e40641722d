"""What stops a file comes back as data (kind, location, offset, message), and raises as
the same error from parse_file."""
from __future__ import annotations

import pytest

from pgshift.errors import DirectiveError, SqlSyntaxError
from pgshift.sql import ParseProblem, parse_file, parse_or_problem
from pgshift.sql.parser import PROBLEM_KINDS


@pytest.mark.parametrize("text, kind, where, extra", [
    ("SELECT 1;\nSELEC 2;\n", "syntax", "f.sql:2:1", {}),
    ("SELECT 1 +", "syntax", "f.sql:1:11", {}),
    ("SELECT 1;\n\x00", "nul-byte", "f.sql:2:1", {}),
    ("SELECT 1;\n\\set x 1\n", "meta-command", "f.sql:2:1", {"command": "set"}),
    ("SELECT 1; \\gset\n", "meta-command", "f.sql:1:11", {"command": "gset"}),
    ("COPY t FROM STDIN;\n", "copy-stdin", "f.sql:1:1", {}),
    ("BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\n", "non-transactional-in-transaction", "f.sql:2:1",
     {"reason": "CREATE INDEX CONCURRENTLY"}),
    ("-- pgshift:nope\nSELECT 1;\n", "directive", "f.sql:1:1", {}),
    ("SELECT 1;\n/* pgshift:no-transaction */\nSELECT 2;\n", "directive", "f.sql:2:1", {}),
])
def test_a_problem_is_data_and_raises_as_the_same_error(text, kind, where, extra):
    parsed, problem = parse_or_problem("f.sql", text)
    assert parsed is None and isinstance(problem, ParseProblem)
    assert problem.kind == kind and kind in PROBLEM_KINDS
    assert str(problem.location) == where
    line_start = sum(len(line) + 1 for line in text.split("\n")[:problem.location.line - 1])
    assert problem.offset == line_start + problem.location.col - 1
    if "command" in extra:
        assert problem.meta.command == extra["command"] and problem.meta.location == problem.location
    if "reason" in extra:
        assert problem.reason == extra["reason"]
    expected = DirectiveError if kind == "directive" else SqlSyntaxError
    with pytest.raises(expected) as err:
        parse_file("f.sql", text)
    e = err.value
    assert type(e) is expected
    assert (e.message, e.hint, e.location, e.context) == (problem.message, problem.hint, problem.location,
                                                          problem.context)


def test_a_file_that_reads_has_no_problem():
    parsed, problem = parse_or_problem("f.sql", "\\c mydb\nSELECT 1;\n", database="mydb")
    assert problem is None and len(parsed.statements) == 1 and len(parsed.meta_commands) == 1


def test_a_syntax_error_says_syntax_error_once():
    _, problem = parse_or_problem("f.sql", "SELEC 1;")
    assert problem.message == 'syntax error at or near "SELEC"'
    _, problem = parse_or_problem("f.sql", "SELECT 'open")
    assert problem.message.startswith("syntax error: unterminated quoted string")


def test_a_syntax_error_at_the_end_of_the_input_points_after_the_last_word():
    with pytest.raises(SqlSyntaxError) as err:
        parse_file("f.sql", "SELECT 1;\nSELECT 2 +\n\n")
    assert str(err.value.location) == "f.sql:2:11"
    assert "at end of input" in err.value.message
