"""A `-- pgshift:ignore` that silences nothing.

**Problem.** Ignores outlive the code they were written for: the statement is
fixed or moved, the ignore stays and later hides a real problem. An ignore
naming a rule that reports nothing where it stands (the next statement, or
the whole file when it stands before the first statement), or naming an
unknown rule, is reported at the directive's line.

**Safe alternative.** Remove the ignore, or correct the rule id
(`pgshift lint --list`).

**Example.**

```sql
-- flagged: CONCURRENTLY already, nothing to ignore
-- pgshift:ignore require-concurrent-index
CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
```
"""
from __future__ import annotations

ID = "unused-ignore"
SEVERITY = "warning"
VERSIONS = (None, None)
SCOPE = "engine"  # computed by the engine after every rule ran


def check(ctx):
    return ()
