r"""psql meta-commands (`\c dbname`, `\set`, `\i` ...) in a migration.

**Problem.** Lines starting with a backslash are commands of the psql client,
not SQL: the server answers `syntax error at or near "\"`. The guide's schema
template starts with `\c thorbis_business_os;`; under psql it switches
databases after the statements before it already ran on the other one.
pgshift skips a `\c` that names the database it is connected to (a warning
here) and refuses any other meta-command (an error).

**Safe alternative.** Remove the line: pgshift connects to the environment's
database (`--env`, `url` in pgshift.toml). For messages use `DO $$ BEGIN
RAISE NOTICE '...'; END $$;`.

**Example.**

```sql
-- flagged
\c thorbis_business_os;
```
"""
from __future__ import annotations

ID = "psql-meta-command"
SEVERITY = "error"
VERSIONS = (None, None)
SCOPE = "engine"  # found while reading the file, before any rule runs


def check(ctx):
    return ()
