r"""A doubled backslash in a regular expression written as a standard string.

**Problem.** Since PostgreSQL 9.1 `standard_conforming_strings` is on: in
`'...'` a backslash is an ordinary character. `'^([^\\s]+)'` therefore reaches
the regex engine with *two* backslashes, and `[^\\s]` means "not a backslash
and not an `s`", not "not whitespace". The guide's data template splits names
with `SUBSTRING(full_name FROM '^([^\\s]+)')`: 'Chris Smith' becomes 'Chri'
and 'John Doe' is never split. The doubled form is right only in `E'...'`
strings. The rule looks at the pattern of `SUBSTRING ... FROM`, `~`, `~*`,
`!~`, `!~*`, `SIMILAR TO` and the `regexp_*` functions, where `\\` is followed
by a character that would make a regex escape (`\s`, `\d`, `\w`, `\.`, ...).

**Safe alternative.** One backslash in a standard string (`'^([^\s]+)'`, or
`'^(\S+)'`), or `E'^([^\\s]+)'`; for splitting on a space, `split_part(full_name,
' ', 1)`.

**Example.**

```sql
-- flagged
SELECT SUBSTRING(full_name FROM '^([^\\s]+)') FROM customers;
-- safe
SELECT SUBSTRING(full_name FROM '^(\S+)') FROM customers;
```
"""
from __future__ import annotations

import re

from ...sql import ast
from .. import nodes

ID = "regex-double-backslash"
SEVERITY = "error"
VERSIONS = (None, None)

_REGEX_OPS = {"~", "~*", "!~", "!~*"}
_REGEX_FUNCS = {"regexp_replace", "regexp_match", "regexp_matches", "regexp_split_to_array",
                "regexp_split_to_table", "regexp_like", "regexp_count", "regexp_instr", "regexp_substr",
                "substring"}
_DOUBLED = re.compile(r"(?<!\\)\\\\(?=[sSdDwWbByYmMAZntrfv.()\[\]{}+*?|^$-])")


def _patterns(tree):
    """(pattern node, anchor node) for every regular expression pattern in the tree."""
    for n in nodes.walk(tree):
        if isinstance(n, ast.A_Expr):
            kind = n.kind.name
            op = nodes.name_list(n.name)[-1] if n.name else ""
            if (kind == "AEXPR_OP" and op in _REGEX_OPS) or kind == "AEXPR_SIMILAR":
                yield n.rexpr, n
        elif isinstance(n, ast.FuncCall):
            name = nodes.func_name(n)
            args = n.args or ()
            if name in ("similar_escape", "similar_to_escape") and args:
                yield args[0], n
            elif name in _REGEX_FUNCS and len(args) >= 2:
                yield args[1], n


def _literal_at(ctx, value: str, start: int, end: int) -> int | None:
    """Where the literal holding *value* is written as a standard (non-E) string, or None."""
    text = ctx.text
    needle = "'" + value.replace("'", "''") + "'"
    i = text.find(needle, start, end)
    while i >= 0:
        before = text[i - 1] if i > 0 else " "
        if before not in "eE&":
            return i
        i = text.find(needle, i + 1, end)
    i = text.find(value, start, end)
    if i > 0 and text[i - 1] == "$":
        return i
    return None


def check(ctx):
    # (called for every statement: a plain function, and a generator only for a doubled backslash)
    if "\\\\" not in ctx.statement.sql:
        return ()
    return _findings(ctx)


def _findings(ctx):
    stmt = ctx.statement
    start, end = stmt.offset, stmt.offset + len(stmt.sql)
    seen = set()
    for pattern, anchor in _patterns(ctx.node):
        value = nodes.string_const(pattern)
        if value is None or not _DOUBLED.search(value):
            continue
        at = _literal_at(ctx, value, nodes.location(anchor) or start, end)
        if at is None or at in seen:
            continue
        seen.add(at)
        doubled = _DOUBLED.search(value)
        escape = value[doubled.start() + 1:doubled.start() + 3]
        yield ctx.finding(
            ID, SEVERITY, at,
            f"the pattern '{value}' is a standard string, so both backslashes reach the regex: "
            f"'\\{escape}' matches a backslash followed by '{escape[1]}', not {escape}",
            f"write it with one backslash ('{value.replace(chr(92) * 2, chr(92))}'), or as E'{value}'")
