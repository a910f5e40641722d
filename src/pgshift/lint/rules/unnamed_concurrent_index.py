"""CREATE INDEX CONCURRENTLY without a name: an interrupted build cannot be recognised.

**Problem.** A concurrent build runs outside any transaction. If pgshift is killed
in its last moments, the server may finish the index while the ledger still says
the statement did not complete. On the rerun, pgshift skips a build whose named
index exists and is valid; an unnamed index cannot be recognised (PostgreSQL picks
the name), so the rerun builds a second, identical index. A failed attempt's
INVALID index is also easier to find and drop by name.

**Safe alternative.** Name the index.

**Example.**

```sql
-- reported
CREATE INDEX CONCURRENTLY ON orders (customer_id);
-- preferred
CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
```
"""
from __future__ import annotations

from .. import nodes

ID = "unnamed-concurrent-index"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("IndexStmt",)


def check(ctx):
    node = ctx.node
    if node.idxname or not ctx.is_concurrent():
        return
    yield ctx.finding(
        ID, SEVERITY, None,
        f"CREATE INDEX CONCURRENTLY on {nodes.relname(node.relation)} has no name: if the build is interrupted "
        "at its end, a rerun cannot recognise the finished index and builds a second one",
        "name the index: CREATE INDEX CONCURRENTLY <table>_<columns>_idx ON ...")
