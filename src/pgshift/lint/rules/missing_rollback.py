"""A migration without a rollback file.

**Problem.** The guide asks for a tested rollback for every migration; without
one, `pgshift rollback VERSION` has nothing to run, and the way back from a
bad deploy is a restore from backup. Rollback files themselves, and files
linted on their own (where pgshift does not know), are not checked.

**Safe alternative.** Add `migrations/rollbacks/<version>_rollback_<name>.sql`
(`pgshift new` creates the stub), and check it with `pgshift test --roundtrip`.

**Example.** `migrations/20250115143000_add_inventory_management.sql` with no
`migrations/rollbacks/20250115143000_rollback*.sql`.
"""
from __future__ import annotations

from pgshift.model import Location

ID = "missing-rollback"
SEVERITY = "warning"
VERSIONS = (None, None)
SCOPE = "file"


def check(ctx):
    if ctx.is_rollback or ctx.has_rollback is not False:
        return ()
    relpath = ctx.relpath
    name = relpath.rsplit("/", 1)[-1]
    version, underscore, rest = name.partition("_")
    return [ctx.finding(
        ID, SEVERITY, Location(relpath, 1, 1),
        f"{name} has no rollback file",
        f"add migrations/rollbacks/{version}_rollback{('_' + rest) if underscore else '.sql'} "
        "(pgshift new creates the stub) and test it with pgshift test --roundtrip")]
