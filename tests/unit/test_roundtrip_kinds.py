"""How the round trip classifies a difference (issue 14, point 6): column order, printing, the rest."""
from __future__ import annotations

from pgshift.rehearsal.diff import COLUMN_ORDER, OTHER, PRINTING, Difference, classify, tokens
from pgshift.rehearsal.snapshot import Snapshot


def test_tokens_set_aside_comments_space_case_and_needless_quotes():
    assert tokens('SELECT "a", "B" /* x /* y */ */ FROM t -- z\n;') == ["select", "a", ",", '"B"', "from", "t"]
    assert tokens("SELECT 'It''s  two'") == ["select", "'It''s  two'"]
    assert tokens("AS $f$ begin  return 1; end $f$") == ["as", "$body$", "begin", "return", "1", ";", "end", "$body$"]
    assert tokens("AS $$ x  =  1 $$", code_bodies=False) == ["as", "$body$ x  =  1 $body$"]


def _changed(object_type, attribute, before, after):
    return Difference("changed", object_type, "public.x" if object_type != "column" else "public.t.a",
                      attribute, before, after)


def test_classify():
    assert classify(_changed("column", "position", 2, 3)) == COLUMN_ORDER
    assert classify(_changed("column", "type", "integer", "bigint")) == OTHER
    assert classify(_changed("view", "definition", " SELECT t.a\n   FROM t;", "SELECT t.a FROM t")) == PRINTING
    assert classify(_changed("view", "definition", " SELECT t.a FROM t;", " SELECT t.b FROM t;")) == OTHER
    plpgsql = Snapshot({"function public.x": {"language": "plpgsql"}})
    python = Snapshot({"function public.x": {"language": "plpython3u"}})
    body = _changed("function", "definition", "AS $$\nbegin\n  return 1; -- one\nend$$", "AS $$ BEGIN RETURN 1; END $$")
    assert classify(body, plpgsql) == PRINTING
    assert classify(body, python) == OTHER               # another language's body must match exactly
    assert classify(Difference("missing", "column", "public.t.a")) == OTHER
