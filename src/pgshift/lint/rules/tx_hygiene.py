"""BEGIN without COMMIT, or BEGIN inside an open transaction.

**Problem.** A file that opens a transaction and never closes it leaves the
session in an open transaction: what it did is rolled back when the
connection closes, or it holds its locks until something commits. A second
`BEGIN` inside an open block only prints a warning in PostgreSQL, but shows
that the author thinks a nested transaction exists: the inner `COMMIT`
commits everything.

**Safe alternative.** One `BEGIN` and one `COMMIT` per block; or no
BEGIN/COMMIT at all and let pgshift wrap the file in a transaction (together
with its ledger entry).

**Example.**

```sql
-- flagged
BEGIN;
ALTER TABLE orders ADD COLUMN note text;
```
"""
from __future__ import annotations

from ..context import LintContext

ID = "tx-hygiene"
SEVERITY = "warning"
VERSIONS = (None, None)
SCOPE = "file"


def check(ctx):
    opened = None
    for stmt in ctx.statements:
        if stmt.tx_control == "begin":
            if opened is not None:
                here = LintContext(ctx.target_version, ctx.ledger, ctx.ledger_names, ctx.facts, ctx.run, stmt)
                yield here.finding(
                    ID, SEVERITY, None,
                    f"BEGIN inside the transaction already opened at line {opened.location.line}: PostgreSQL "
                    "has no nested transactions, the next COMMIT commits everything",
                    "remove the inner BEGIN (use SAVEPOINT for a partial rollback)")
            opened = opened or stmt
        elif stmt.tx_control in ("commit", "rollback", "prepare"):
            opened = None
    if opened is not None:
        here = LintContext(ctx.target_version, ctx.ledger, ctx.ledger_names, ctx.facts, ctx.run, opened)
        yield here.finding(
            ID, SEVERITY, None,
            "this BEGIN is never committed: the file ends inside an open transaction",
            "add COMMIT at the end, or remove BEGIN and let pgshift wrap the file in a transaction")
