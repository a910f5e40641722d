-- Migration: 20250115150000_migrate_legacy_customer_data.sql
-- Description: Migrate customer data from legacy format to new structure
-- Author: Database Team
-- Date: 2025-01-15

-- The guide's data migration template, rewritten for pgshift. The guide's
-- version has one DO block that "commits every batch" but never commits (one
-- long transaction holding every row lock), a name split that does not split
-- (its doubled backslash reaches the regular expression as a backslash under
-- standard_conforming_strings, so '[^...s]' never means "not whitespace"), and
-- writes the ledger by hand.
--
-- Here pgshift drives the batches: the statement after the batch directive
-- moves at most 1000 rows and marks them migrated, in its own transaction,
-- and pgshift runs it again until it updates no row. A rerun after a crash
-- continues with the rows still marked migrated = FALSE. Because of the batch,
-- every statement of this file runs on its own (no transaction around the file).
--
-- shared.legacy_customers and shared.customers have row level security FORCEd:
-- only a role that bypasses it (a superuser or a BYPASSRLS role) sees every
-- tenant's rows. Run as any other role, the statements below would see no row
-- and "succeed" without moving anything, so the first check refuses that.
--
-- Name rule: whitespace at both ends is removed and every run of whitespace
-- (spaces, tabs, newlines) becomes one space; first_name is the first word,
-- last_name everything after it ('' for a single word):
--   'Chris Smith'        -> 'Chris', 'Smith'
--   'Madonna'            -> 'Madonna', ''
--   ' Mary  Ann   Smith' -> 'Mary', 'Ann Smith'
-- The regular expressions use the POSIX class [[:space:]], which means the same
-- whatever standard_conforming_strings says (no backslash to escape).
--
-- The address columns become one JSONB document, as in the guide; a customer
-- keeps the id of its legacy row (the rollback relies on this).

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role % does not bypass row level security: it would see no legacy customer', current_user
            USING HINT = 'run this migration as a superuser or a role WITH BYPASSRLS';
    END IF;
END
$$;

-- Validate data before migration
DO $$
DECLARE
    invalid_count BIGINT;
    total_count BIGINT;
BEGIN
    SELECT count(*),
           count(*) FILTER (WHERE full_name IS NULL OR full_name !~ '[^[:space:]]')
    INTO total_count, invalid_count
    FROM shared.legacy_customers
    WHERE NOT migrated;

    IF invalid_count > 0 THEN
        RAISE EXCEPTION 'Migration validation failed: % customers have invalid names', invalid_count;
    END IF;

    RAISE NOTICE 'Migration validation passed: % customers ready for migration', total_count;
END
$$;

-- pgshift:batch size=1000
WITH batch AS (
    SELECT
        l.id,
        l.tenant_id,
        regexp_replace(
            regexp_replace(l.full_name, '^[[:space:]]+|[[:space:]]+$', '', 'g'),
            '[[:space:]]+', ' ', 'g'
        ) AS clean_name,
        l.email,
        l.phone,
        CASE
            WHEN l.address_line_1 IS NOT NULL THEN
                jsonb_build_object(
                    'street', COALESCE(l.address_line_1, ''),
                    'street2', COALESCE(l.address_line_2, ''),
                    'city', COALESCE(l.city, ''),
                    'state', COALESCE(l.state, ''),
                    'postal_code', COALESCE(l.postal_code, ''),
                    'country', COALESCE(l.country, 'US')
                )
        END AS address_json,
        l.created_at,
        l.updated_at
    FROM shared.legacy_customers l
    WHERE NOT l.migrated
    ORDER BY l.id
    LIMIT 1000
    FOR UPDATE OF l
), moved AS (
    INSERT INTO shared.customers (
        id, tenant_id, first_name, last_name, email, phone, address, created_at, updated_at
    )
    SELECT
        b.id,
        b.tenant_id,
        split_part(b.clean_name, ' ', 1),
        substr(b.clean_name, length(split_part(b.clean_name, ' ', 1)) + 2),
        b.email,
        b.phone,
        b.address_json,
        b.created_at,
        b.updated_at
    FROM batch b
    ON CONFLICT (id) DO NOTHING  -- already moved: skip it, still mark it migrated
)
UPDATE shared.legacy_customers l
SET migrated = TRUE,
    migrated_at = now()
FROM batch b
WHERE l.id = b.id;

-- Verify: every legacy row has been moved
DO $$
DECLARE
    remaining BIGINT;
    migrated_count BIGINT;
BEGIN
    SELECT count(*) FILTER (WHERE NOT migrated), count(*) FILTER (WHERE migrated)
    INTO remaining, migrated_count
    FROM shared.legacy_customers;

    IF remaining > 0 THEN
        RAISE EXCEPTION 'Legacy customer migration incomplete: % rows not migrated', remaining
            USING HINT = 'rerun the migration: it continues with the rows left';
    END IF;

    RAISE NOTICE 'Migration completed: % legacy customers migrated', migrated_count;
END
$$;
