-- Rollback: rollbacks/20250101120000_rollback_initial_schema_setup.sql
-- Description: Remove the shared tables, the tenant helpers and the application role
-- Author: Database Team
-- Date: 2025-01-01

-- WARNING: This rollback will destroy data (tenants, locations, customers, legacy customers)!
-- Ensure you have a backup before proceeding.
--
-- The schema shared stays: it holds pgshift's ledger (shared.migration_log).
-- Every object of the migration is dropped by name instead.

REVOKE ALL ON shared.tenants, shared.locations, shared.customers, shared.legacy_customers FROM thorbis_app;
REVOKE ALL ON FUNCTION public.get_current_tenant_id(), public.set_updated_at_column() FROM thorbis_app;
REVOKE ALL ON SCHEMA shared FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS shared.legacy_customers;
DROP TABLE IF EXISTS shared.customers;
DROP TABLE IF EXISTS shared.locations;
DROP TABLE IF EXISTS shared.tenants;

DROP FUNCTION IF EXISTS public.set_updated_at_column();
DROP FUNCTION IF EXISTS public.get_current_tenant_id();

-- uuid_generate_v4(): only what the migration installed (recognised by its comment)
DO $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_extension e
        WHERE e.extname = 'uuid-ossp'
          AND obj_description(e.oid, 'pg_extension') = 'thorbis: installed by 20250101120000_initial_schema_setup'
    ) THEN
        DROP EXTENSION "uuid-ossp";
    END IF;

    IF EXISTS (
        SELECT FROM pg_proc p
        WHERE p.oid = to_regprocedure('public.uuid_generate_v4()')
          AND obj_description(p.oid, 'pg_proc') LIKE 'thorbis: gen_random_uuid() fallback%'
    ) THEN
        DROP FUNCTION public.uuid_generate_v4();
    END IF;
END
$$;

-- The role belongs to the whole cluster: other databases may still use it.
-- Drop it only when nothing anywhere depends on it any more.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'thorbis_app') THEN
        BEGIN
            DROP ROLE thorbis_app;
        EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN
            RAISE NOTICE 'role thorbis_app kept: %', SQLERRM;
        END;
    END IF;
END
$$;
