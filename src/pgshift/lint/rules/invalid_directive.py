"""A `-- pgshift:` directive that pgshift does not understand or that stands in the wrong place.

**Problem.** Directives change how a file runs (`no-transaction`, `batch`,
`lock-timeout`, `statement-timeout`) or what lint reports (`ignore`). A typo
(`-- pgshift:no-transation`), a bad argument (`batch size=lots`) or a
directive that cannot apply where it stands (a file-level directive after the
first statement, `batch` before a CREATE) is an error rather than silently
ignored.

**Safe alternative.** Fix the directive; the message lists the known ones.

**Example.**

```sql
-- flagged
-- pgshift:no-transation
CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
```
"""
from __future__ import annotations

ID = "invalid-directive"
SEVERITY = "error"
VERSIONS = (None, None)
SCOPE = "engine"  # found while reading the file, before any rule runs


def check(ctx):
    return ()
