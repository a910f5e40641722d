"""A statement the PostgreSQL parser rejects.

**Problem.** pgshift parses every pending file with PostgreSQL's own parser
before anything runs; a file that does not parse would fail halfway through
(with the statements before the error already applied when the file runs
outside a transaction). The finding carries the parser's message at the
line and column it points at. A bare `RAISE NOTICE '...'` outside a function
is the classic case (the guide's rollback template ends with one, after its
COMMIT): RAISE is PL/pgSQL, not SQL.

**Safe alternative.** Fix the statement; for RAISE, wrap it in a DO block:
`DO $$ BEGIN RAISE NOTICE 'done'; END $$;`

**Example.**

```sql
-- flagged
COMMIT;
RAISE NOTICE 'Rollback completed';
```
"""
from __future__ import annotations

ID = "syntax-error"
SEVERITY = "error"
VERSIONS = (None, None)
SCOPE = "engine"  # found while reading the file, before any rule runs


def check(ctx):
    return ()
