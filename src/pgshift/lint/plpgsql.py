"""PL/pgSQL bodies of DO blocks, parsed through :mod:`pgshift.sql`."""
from __future__ import annotations

from pgshift.text import line_col

from ..sql import parse_plpgsql_body
from . import nodes

_TAG = "$pgshift_do$"


def parse_function(sql: str):
    """The PL/pgSQL parse tree (JSON-like lists and dicts) of a CREATE FUNCTION, or None."""
    return parse_plpgsql_body(sql)


def parse_do_body(ctx):
    """(tree, file line of the body's first line) of the DO statement in *ctx*, or None."""
    body = language = None
    body_at = None
    for item in ctx.node.args or ():
        if item.defname == "as":
            body = getattr(item.arg, "sval", None)
            body_at = getattr(item, "arg_location", None)
        elif item.defname == "language":
            language = (getattr(item.arg, "sval", "") or "").lower()
    if body is None or (language and language != "plpgsql") or _TAG in body:
        return None
    tree = parse_function(f"CREATE FUNCTION pgshift_do() RETURNS void LANGUAGE plpgsql AS {_TAG}{body}{_TAG}")
    if tree is None:
        return None
    text = ctx.text
    start = body_at if isinstance(body_at, int) and body_at >= 0 else nodes.location(ctx.node) or ctx.statement.offset
    if text.startswith("$", start):
        close = text.find("$", start + 1)
        start = close + 1 if close >= 0 else start
    elif text[start:start + 2].upper() == "E'":
        start += 2
    elif text.startswith("'", start):
        start += 1
    line, _ = line_col(text, start)
    return tree, line
