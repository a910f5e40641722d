"""A migration that writes to the ledger table itself.

**Problem.** The migration guide's templates `INSERT INTO
shared.migration_log` at the start and `UPDATE` it at the end. pgshift records
every migration in its ledger itself, in the same transaction as the file
when it can: a manual write duplicates or contradicts that record (the
runner's own event wins), and in the guide's templates the "completed" update
runs inside the same transaction that may still fail. The ledger is the
configured `ledger` (default `pgshift.migration_log`), the guide's
`shared.migration_log`, or an unqualified table of either name.

**Safe alternative.** Remove the INSERT/UPDATE/DELETE of the ledger; the
header comments (`-- Description:`) go into the ledger automatically.

**Example.**

```sql
-- flagged
INSERT INTO shared.migration_log (version, name, description, started_at)
VALUES ('20250115143000', 'add_inventory_management', '...', NOW());
```
"""
from __future__ import annotations

from .. import nodes

ID = "ledger-write"
SEVERITY = "warning"
VERSIONS = (None, None)
NODES = ("InsertStmt", "UpdateStmt", "DeleteStmt")

_VERBS = {"InsertStmt": "INSERT INTO", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE FROM"}


def check(ctx):
    rel = ctx.node.relation
    if not ctx.is_ledger(rel):
        return
    yield ctx.finding(
        ID, SEVERITY, None,
        f"{_VERBS[ctx.kind]} {nodes.relname(rel)} writes to the migration ledger by hand: pgshift records "
        "this migration itself (its own event wins)",
        "remove this statement; the file's -- Description: header goes into the ledger")
