"""Row level security enabled on a table that gets no policy.

**Problem.** With RLS enabled and no policy, PostgreSQL denies by default:
every role other than the owner (and roles with BYPASSRLS) sees zero rows and
every write fails. The application goes blank the moment the migration
commits. `FORCE ROW LEVEL SECURITY` extends that to the owner.

A policy for the table anywhere in the same migration, or earlier in the run,
satisfies the rule. For a table created in the run the finding is an error;
for a table that existed before, the policies may already be in the database,
so it is a warning.

**Safe alternative.** Create the policies in the same migration (same
transaction), before or right after enabling RLS.

**Example.**

```sql
-- flagged
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;

-- safe
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices USING (tenant_id = get_current_tenant_id());
```
"""
from __future__ import annotations

from .. import nodes
from ..context import table_key
from ..nodes import AT

ID = "enable-rls-without-policy"
ALIASES = ("rls-without-policy",)
SEVERITY = "error"
VERSIONS = (None, None)
NODES = ("AlterTableStmt:AT_EnableRowSecurity", "AlterTableStmt:AT_ForceRowSecurity")


def check(ctx):
    rel = ctx.node.relation
    if rel is None:
        return
    for cmd in nodes.alter_cmds(ctx.node, AT.AT_EnableRowSecurity, AT.AT_ForceRowSecurity):
        schema, name = table_key(rel)
        policies = ctx.run.policies.find(schema, name)
        if any(pos < ctx.pos or pos[0] == ctx.pos[0] for _, pos, _ in policies):
            return
        new = ctx.is_new_table(rel)
        verb = "FORCE" if cmd.subtype == AT.AT_ForceRowSecurity else "ENABLE"
        yield ctx.finding(
            ID, SEVERITY if new else "warning", None,
            f"{verb} ROW LEVEL SECURITY on {nodes.relname(rel)} with no policy for it in this migration: "
            "every role but the owner sees no rows and cannot write"
            + ("" if new else " (unless the table already has policies)"),
            f"CREATE POLICY ... ON {nodes.relname(rel)} in the same migration")
        return
