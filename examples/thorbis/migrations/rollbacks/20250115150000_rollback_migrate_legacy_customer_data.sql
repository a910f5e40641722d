-- Rollback: rollbacks/20250115150000_rollback_migrate_legacy_customer_data.sql
-- Description: Undo the legacy customer data migration: remove the moved customers, mark the legacy rows not migrated
-- Author: Database Team
-- Date: 2025-01-15

-- WARNING: This rollback deletes data from shared.customers!
-- Ensure you have a backup before proceeding.
--
-- The migration changed data only, no schema. Its rollback deletes every
-- customer whose id is the id of a migrated legacy row (the migration keeps
-- the legacy id) and sets migrated = FALSE, migrated_at = NULL again, in
-- batches of 1000 rows driven by pgshift, like the migration. Changes made to
-- those customers since the migration are lost; their preferences and stored
-- payment methods go with them (ON DELETE CASCADE). A customer that work
-- orders, vehicles or repair orders still reference cannot be deleted: the
-- batch then fails on the foreign key and nothing of that batch is changed.
-- Like the migration, it must run as a role that bypasses row level security.

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role % does not bypass row level security: it would see no legacy customer', current_user
            USING HINT = 'run this rollback as a superuser or a role WITH BYPASSRLS';
    END IF;
END
$$;

-- pgshift:batch size=1000
WITH batch AS (
    SELECT l.id
    FROM shared.legacy_customers l
    WHERE l.migrated
    ORDER BY l.id
    LIMIT 1000
    FOR UPDATE OF l
), removed AS (
    DELETE FROM shared.customers c
    USING batch b
    WHERE c.id = b.id
)
UPDATE shared.legacy_customers l
SET migrated = FALSE,
    migrated_at = NULL
FROM batch b
WHERE l.id = b.id;

-- Verify: no legacy row is still marked migrated
DO $$
DECLARE
    remaining BIGINT;
BEGIN
    SELECT count(*) INTO remaining FROM shared.legacy_customers WHERE migrated;

    IF remaining > 0 THEN
        RAISE EXCEPTION 'Rollback incomplete: % legacy rows still marked migrated', remaining
            USING HINT = 'rerun the rollback: it continues with the rows left';
    END IF;

    RAISE NOTICE 'Rollback completed - migrated legacy customers removed from shared.customers';
END
$$;
