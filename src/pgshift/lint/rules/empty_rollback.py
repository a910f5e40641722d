"""A rollback file with no SQL statement: the stub `pgshift new` wrote, never filled in.

**Problem.** `pgshift new` writes a rollback stub holding only comments. Left so,
the migration looks reversible (the file is there) but is not: `pgshift down`
and `pgshift rollback` refuse it (they would record a rollback that undid
nothing), and `pgshift test --roundtrip` fails on it, usually when the way back
is needed in a hurry. `pgshift status` marks such a rollback "stub".

**Safe alternative.** Write the statements that undo the migration, newest change
first, and prove them with `pgshift test --roundtrip`. If the migration cannot
be undone (a data change, a dropped column), delete the rollback file: pgshift
then says the version has none (`missing-rollback`), which is the truth.

**Example.**

```sql
-- reported: migrations/rollbacks/20250115143000_rollback_add_things.sql
-- Rollback: rollbacks/20250115143000_rollback_add_things.sql
-- Undo what the migration did, newest change first.

-- silent
DROP TABLE IF EXISTS things;
```
"""
from __future__ import annotations

from pgshift.model import Location

ID = "empty-rollback"
SEVERITY = "error"
VERSIONS = (None, None)
SCOPE = "file"


def check(ctx):
    # a file that does not parse, or holds only psql meta-commands, is reported by its own rules
    if not ctx.is_rollback or ctx.file is None or ctx.statements or ctx.facts.problems:
        return
    yield ctx.finding(
        ID, SEVERITY, Location(ctx.relpath, 1, 1),
        "rollback file has no SQL statement, only comments or blank lines (the stub `pgshift new` wrote): "
        "`pgshift down` refuses it and `pgshift test --roundtrip` fails on it",
        "write the statements that undo the migration; if it cannot be undone, delete the rollback file")
