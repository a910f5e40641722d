-- Migration: 20250101120000_initial_schema_setup.sql
-- Description: Shared schema: tenants, locations, customers, legacy customers, tenant helpers and the application role
-- Author: Database Team
-- Date: 2025-01-01

-- pgshift runs this file in one transaction and records it in
-- shared.migration_log itself: no BEGIN/COMMIT and no ledger writes here.
-- The schema shared may already exist (pgshift creates it for its ledger);
-- the rollback therefore drops the objects below one by one, never the schema.

CREATE SCHEMA IF NOT EXISTS shared;

-- ---------------------------------------------------------------------------
-- uuid_generate_v4(): the guide's templates call it. gen_random_uuid() is
-- built in since PostgreSQL 13; uuid-ossp is used when the server has it,
-- otherwise public.uuid_generate_v4() is defined on top of gen_random_uuid().
-- Whatever this block creates carries a comment that the rollback looks for,
-- so that a uuid-ossp installed by someone else is never dropped.
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF to_regprocedure('uuid_generate_v4()') IS NOT NULL THEN
        RETURN;  -- already callable (uuid-ossp installed on the search path)
    END IF;

    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'uuid-ossp') THEN
        BEGIN
            CREATE EXTENSION "uuid-ossp" SCHEMA public;
            COMMENT ON EXTENSION "uuid-ossp" IS 'thorbis: installed by 20250101120000_initial_schema_setup';
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            -- not available on this server (or not allowed): use the fallback
            NULL;
        END;
    END IF;

    CREATE FUNCTION public.uuid_generate_v4() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE
        AS 'SELECT gen_random_uuid()';
    COMMENT ON FUNCTION public.uuid_generate_v4() IS 'thorbis: gen_random_uuid() fallback for uuid-ossp, defined by 20250101120000_initial_schema_setup';
END
$$;

-- ---------------------------------------------------------------------------
-- The application role. Roles belong to the whole cluster, not to one
-- database, so it is created only when missing; it owns nothing, and row
-- level security applies to it. Applications log in with their own role
-- (GRANT thorbis_app TO ...) or SET ROLE thorbis_app.
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'thorbis_app') THEN
        BEGIN
            CREATE ROLE thorbis_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created at the same moment by a migration of another database
        END;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Tenant context
-- ---------------------------------------------------------------------------

-- The tenant of the current session or transaction, set by the application:
--   SET app.current_tenant_id = '...';   or   SET LOCAL app.current_tenant_id = '...';
-- NULL when unset or empty, so that every tenant policy then matches no row.
CREATE FUNCTION public.get_current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid $$;

COMMENT ON FUNCTION public.get_current_tenant_id() IS
    'Tenant of the session (setting app.current_tenant_id); NULL when unset. Used by every row level security policy.';

-- BEFORE UPDATE trigger: updated_at is the time of the change. clock_timestamp()
-- rather than now(), so that a second update in the same transaction moves it too.
CREATE FUNCTION public.set_updated_at_column() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION public.set_updated_at_column() IS 'BEFORE UPDATE trigger function: sets updated_at';

-- ---------------------------------------------------------------------------
-- Tenants
-- ---------------------------------------------------------------------------
CREATE TABLE shared.tenants (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    industry TEXT NOT NULL DEFAULT 'general',
    status TEXT NOT NULL DEFAULT 'active',
    settings JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT tenants_slug_unique UNIQUE (slug),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    CONSTRAINT tenants_industry_valid CHECK (industry IN ('home_services', 'restaurant', 'automotive', 'retail', 'general')),
    CONSTRAINT tenants_status_valid CHECK (status IN ('active', 'suspended', 'cancelled'))
);

COMMENT ON TABLE shared.tenants IS 'One row per business using the platform; every tenant table references it';

-- ---------------------------------------------------------------------------
-- Locations
-- ---------------------------------------------------------------------------
CREATE TABLE shared.locations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    address JSONB,              -- {street, street2, city, state, postal_code, country}
    phone TEXT,
    email TEXT,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    -- target of the composite foreign keys that keep references inside one tenant
    CONSTRAINT locations_tenant_id_id_unique UNIQUE (tenant_id, id)
);

-- at most one primary location per tenant
CREATE UNIQUE INDEX idx_locations_one_primary ON shared.locations (tenant_id)
    WHERE is_primary AND deleted_at IS NULL;

-- ---------------------------------------------------------------------------
-- Customers
-- ---------------------------------------------------------------------------
CREATE TABLE shared.customers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone TEXT,
    address JSONB,              -- {street, street2, city, state, postal_code, country}
    notes TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT customers_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT customers_first_name_not_blank CHECK (btrim(first_name) <> '')
);

-- ---------------------------------------------------------------------------
-- Legacy customers: the old single-table format, loaded before
-- 20250115150000_migrate_legacy_customer_data moves the rows to shared.customers.
-- ---------------------------------------------------------------------------
CREATE TABLE shared.legacy_customers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    full_name TEXT,
    email TEXT,
    phone TEXT,
    address_line_1 TEXT,
    address_line_2 TEXT,
    city TEXT,
    state TEXT,
    postal_code TEXT,
    country TEXT,
    migrated BOOLEAN NOT NULL DEFAULT FALSE,
    migrated_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- the rows still to migrate, in id order: what each batch of the data migration reads
CREATE INDEX idx_legacy_customers_pending ON shared.legacy_customers (id) WHERE NOT migrated;

-- ---------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_tenants
    BEFORE UPDATE ON shared.tenants
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_locations
    BEFORE UPDATE ON shared.locations
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_customers
    BEFORE UPDATE ON shared.customers
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_legacy_customers
    BEFORE UPDATE ON shared.legacy_customers
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

-- ---------------------------------------------------------------------------
-- Row level security: enabled and forced (the table owner is filtered too;
-- only superusers and BYPASSRLS roles see across tenants).
-- ---------------------------------------------------------------------------
ALTER TABLE shared.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE shared.locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.locations FORCE ROW LEVEL SECURITY;
ALTER TABLE shared.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.customers FORCE ROW LEVEL SECURITY;
ALTER TABLE shared.legacy_customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.legacy_customers FORCE ROW LEVEL SECURITY;

-- a tenant sees its own tenant row only
CREATE POLICY "tenant_isolation_tenants" ON shared.tenants
    USING (id = public.get_current_tenant_id())
    WITH CHECK (id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_locations" ON shared.locations
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_customers" ON shared.customers
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_legacy_customers" ON shared.legacy_customers
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role. Tenants are provisioned by an
-- administrator: the application reads and updates its own tenant row only.
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA shared TO thorbis_app;
GRANT SELECT, UPDATE ON shared.tenants TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON shared.locations, shared.customers, shared.legacy_customers TO thorbis_app;
GRANT EXECUTE ON FUNCTION public.get_current_tenant_id(), public.set_updated_at_column() TO thorbis_app;
