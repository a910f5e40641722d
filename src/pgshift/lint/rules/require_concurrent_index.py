"""CREATE INDEX without CONCURRENTLY blocks writes to a table in use.

**Problem.** A plain `CREATE INDEX` takes a SHARE lock on the table for the whole
build: every INSERT, UPDATE and DELETE waits until the index is built, which on a
large table means minutes. Tables created earlier in the same migration or in
the same run are exempt: nobody uses them yet.

**Safe alternative.** `CREATE INDEX CONCURRENTLY` (SHARE UPDATE EXCLUSIVE: reads
and writes go on). It cannot run inside a transaction block, so put it in a
file without BEGIN/COMMIT: pgshift runs such a file statement by statement
outside a transaction, and drops an INVALID index left by a failed build before
retrying. A partitioned table has no concurrent build: create the index
`ON ONLY` the parent, build it `CONCURRENTLY` on each partition, then
`ALTER INDEX ... ATTACH PARTITION`.

**Example.**

```sql
-- flagged
CREATE INDEX orders_customer_idx ON orders (customer_id);
-- safe
CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
```
"""
from __future__ import annotations

from .. import nodes

ID = "require-concurrent-index"
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("IndexStmt",)


def check(ctx):
    rel = ctx.node.relation
    if rel is None or not rel.inh or ctx.is_concurrent() or ctx.is_new_table(rel):
        return ()
    return [ctx.finding(
        ID, SEVERITY, None,
        f"CREATE INDEX on {nodes.relname(rel)} without CONCURRENTLY blocks every write to the table "
        "(SHARE lock) until the index is built",
        "use CREATE INDEX CONCURRENTLY in a file without BEGIN/COMMIT (pgshift runs it outside a "
        "transaction); for a partitioned table: CREATE INDEX ... ON ONLY, CONCURRENTLY per partition, "
        "then ALTER INDEX ... ATTACH PARTITION")]
