"""CONCURRENTLY (and other statements PostgreSQL refuses in a transaction) inside a transaction block.

**Problem.** `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
`REINDEX ... CONCURRENTLY`, `DETACH PARTITION ... CONCURRENTLY`, `VACUUM`,
`CREATE DATABASE` and a few others fail with `ERROR 25001: ... cannot run
inside a transaction block`. The migration guide's index template wraps its
`CREATE INDEX CONCURRENTLY` statements in its own `BEGIN ... COMMIT`: the first
one aborts the transaction, every later statement fails, and under psql without
`ON_ERROR_STOP` the script still "succeeds". `IF NOT EXISTS` makes it worse: it
only checks the name, so it silently keeps an INVALID index left by an earlier
failed build.

**Safe alternative.** Put these statements in a file of their own without
BEGIN/COMMIT. pgshift sees from the parse tree that the file must run outside
a transaction, sends the statements one at a time, and checks for (and drops)
an INVALID index before a retry.

**Example.**

```sql
-- flagged
BEGIN;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
COMMIT;

-- safe: the whole file
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
```
"""
from __future__ import annotations

ID = "concurrently-in-transaction"
SEVERITY = "error"
VERSIONS = (None, None)


def check(ctx):
    # (called for every statement: a plain function, whose usual answer is no finding)
    reason = ctx.non_transactional
    if reason is None or not ctx.in_transaction:
        return ()
    begin = ctx.tx_begin
    where = (f"the transaction this file opens with {begin.sql.split()[0].upper()} at line {begin.location.line}"
             if begin is not None else "the transaction pgshift wraps this file in")
    return [ctx.finding(
        ID, SEVERITY, None,
        f"{reason} cannot run inside a transaction block, and it stands inside {where}: "
        "PostgreSQL refuses it (ERROR 25001) and the whole transaction is rolled back",
        f"move the {reason} statements to a file of their own without BEGIN/COMMIT; pgshift runs such a "
        "file outside a transaction, one statement at a time, and drops an INVALID index left by a "
        "failed build before retrying")]
