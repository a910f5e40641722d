"""A DO block that changes rows in a loop "in batches" without COMMIT.

**Problem.** A `DO` block is one statement, so it is one transaction: a loop
that updates, inserts or deletes batch after batch holds every batch's row
locks to the end, sends all its WAL as one burst (replica lag), piles up dead
tuples, and an error in the last batch undoes all of them. The guide's data
template does this with a comment "Commit every batch_size records" and no
COMMIT. A COMMIT inside DO works (PostgreSQL 11+) only when the DO runs at top
level outside any transaction block, not inside the file's BEGIN ... COMMIT
(`invalid transaction termination`) nor in a block with an EXCEPTION clause.

**Safe alternative.** Let pgshift drive the batches: a plain `UPDATE` or
`INSERT ... SELECT` after `-- pgshift:batch size=1000` runs in short
transactions, with progress and resume after a crash.

**Example.**

```sql
-- flagged
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT id FROM legacy_customers LOOP
        UPDATE legacy_customers SET migrated = true WHERE id = r.id;
    END LOOP;
END $$;

-- safe
-- pgshift:batch size=1000
UPDATE legacy_customers SET migrated = true WHERE NOT migrated;
```
"""
from __future__ import annotations

import re

from pgshift.model import Location

from ..plpgsql import parse_do_body

ID = "plpgsql-batch-loop-without-commit"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("DoStmt",)

_LOOPS = {"PLpgSQL_stmt_fors", "PLpgSQL_stmt_fori", "PLpgSQL_stmt_forc", "PLpgSQL_stmt_dynfors",
          "PLpgSQL_stmt_loop", "PLpgSQL_stmt_while", "PLpgSQL_stmt_foreach_a"}
_DML = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(UPDATE|DELETE|INSERT|MERGE)\b", re.I | re.S)


def _walk(tree):
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, dict | list):
                    yield key, value
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _loops(tree):
    for key, value in _walk(tree):
        if key in _LOOPS and isinstance(value, dict):
            yield key, value


def _changes_rows(loop) -> bool:
    for key, value in _walk(loop.get("body", [])):
        if key == "PLpgSQL_stmt_execsql":
            query = value.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query", "")
            if _DML.match(query):
                return True
        elif key == "PLpgSQL_stmt_dynexecute":
            return True
    return False


def _commits(loop) -> bool:
    return any(key == "PLpgSQL_stmt_commit" for key, _ in _walk(loop))


def check(ctx):
    parsed = parse_do_body(ctx)
    if parsed is None:
        return
    tree, first_line = parsed
    for _key, loop in _loops(tree):
        if not _changes_rows(loop) or _commits(loop):
            continue
        line = first_line + max(loop.get("lineno", 1), 1) - 1
        lines = ctx.text.split("\n")
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        col = len(src) - len(src.lstrip()) + 1
        where = ("inside the transaction this file opens, where COMMIT is not even allowed"
                 if ctx.in_transaction else "as one transaction")
        yield ctx.finding(
            ID, SEVERITY, Location(ctx.relpath, line, col),
            f"this loop changes rows batch by batch but never commits: the DO block runs {where}, holding "
            "every batch's row locks to the end and sending its WAL as one burst",
            "let pgshift batch it: a plain UPDATE / INSERT ... SELECT after `-- pgshift:batch size=1000` "
            "commits each batch on its own, with progress and resume")
        return
