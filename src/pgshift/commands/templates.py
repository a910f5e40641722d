"""Templates for `pgshift new`, modelled on the guide's, without its bugs:
pgshift opens the transaction and writes the ledger, so the files do neither."""

HEADER = """-- Migration: {version}_{name}.sql
-- Description: {description}
-- Author: {author}
-- Date: {date}
"""

ROLLBACK_HEADER = """-- Rollback: rollbacks/{version}_rollback_{name}.sql
-- Description: Roll back {name}
-- Author: {author}
-- Date: {date}
"""

BODIES = {
    "blank": """
-- pgshift runs this file in one transaction together with its ledger event.

""",
    "schema": """
-- pgshift runs this file in one transaction together with its ledger event:
-- no BEGIN/COMMIT and no writes to the ledger here.

CREATE SCHEMA IF NOT EXISTS example;

CREATE TABLE example.things (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Tenant isolation: enable (and force) row level security, with a policy.
ALTER TABLE example.things ENABLE ROW LEVEL SECURITY;
ALTER TABLE example.things FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_things ON example.things
    USING (tenant_id = current_setting('app.current_tenant_id', true)::uuid)
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true)::uuid);

-- A new, empty table: a plain index is fine here.
CREATE INDEX idx_things_tenant_name ON example.things (tenant_id, name);
""",
    "data": """
-- A batched data change: pgshift runs the next statement again and again, each
-- run its own short transaction, until it changes no row. Progress is recorded
-- after every batch, so a rerun after a crash continues where it stopped.
-- A plain `UPDATE ... WHERE <not done>` works too: pgshift then walks the
-- table's primary key in ranges of `size` keys.

-- pgshift:batch size=1000 sleep=10ms
UPDATE example.things
SET name = trim(name)
WHERE id IN (
    SELECT id FROM example.things
    WHERE name <> trim(name)
    ORDER BY id
    LIMIT 1000
);
""",
    "index": """
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction: pgshift sees it
-- and runs this file one statement at a time, outside a transaction. Keep
-- such files to index statements. If a build fails it leaves an INVALID index;
-- pgshift drops it before trying again.

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_things_created_at
    ON example.things (created_at);
""",
}

ROLLBACK_BODIES = {
    "blank": "\n-- Undo what the migration did, newest change first.\n\n",
    "schema": "\nDROP TABLE IF EXISTS example.things;\nDROP SCHEMA IF EXISTS example;\n",
    "data": "\n-- Data changes are often not reversible: say so here, or restore from the backup.\n\n",
    "index": "\nDROP INDEX CONCURRENTLY IF EXISTS example.idx_things_created_at;\n",
}

CONFIG = """# pgshift configuration — see `pgshift --help`
[pgshift]
migrations = "migrations"
ledger = "pgshift.migration_log"

# No url: the embedded PostgreSQL in .pgshift/pgdata (started on demand).
[env.dev]

# [env.staging]
# url = "${STAGING_DATABASE_URL}"

# [env.production]
# url = "${PROD_DATABASE_URL}"
# protected = true            # preflight checks, backup, confirmation, lock timeouts
# backup_dir = "backups"
# require_applied_in = "staging"
"""
