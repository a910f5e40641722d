-- Migration: 20250103160000_add_audit_logging.sql
-- Description: Audit schema: row change log with its trigger function, security events
-- Author: Database Team
-- Date: 2025-01-03

CREATE SCHEMA audit;

COMMENT ON SCHEMA audit IS 'Row change history and security events';

-- ---------------------------------------------------------------------------
-- Row changes: one row per INSERT, UPDATE or DELETE of an audited table
-- ---------------------------------------------------------------------------
CREATE TABLE audit.change_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    table_schema TEXT NOT NULL,
    table_name TEXT NOT NULL,
    operation TEXT NOT NULL,
    row_id TEXT,                -- the row's id column, when it has one
    old_row JSONB,              -- UPDATE and DELETE
    new_row JSONB,              -- INSERT and UPDATE
    changed_by UUID,            -- app.current_user_id of the session, when set
    db_user TEXT NOT NULL DEFAULT session_user,
    transaction_id BIGINT NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),

    CONSTRAINT change_log_operation_valid CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    CONSTRAINT change_log_rows_present CHECK (
        (operation = 'INSERT' AND old_row IS NULL AND new_row IS NOT NULL) OR
        (operation = 'UPDATE' AND old_row IS NOT NULL AND new_row IS NOT NULL) OR
        (operation = 'DELETE' AND old_row IS NOT NULL AND new_row IS NULL)
    )
);

CREATE INDEX idx_change_log_tenant_time ON audit.change_log (tenant_id, changed_at DESC);
CREATE INDEX idx_change_log_tenant_row ON audit.change_log (tenant_id, table_schema, table_name, row_id);

-- ---------------------------------------------------------------------------
-- The trigger function: AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW.
-- The optional trigger argument names the column holding the tenant
-- (default tenant_id; shared.tenants passes 'id').
--
-- SECURITY DEFINER so that it writes the log whatever the caller may do on
-- audit.change_log; search_path is pinned and every name is qualified.
-- A row deleted together with its tenant (ON DELETE CASCADE from
-- shared.tenants) is not logged: the tenant's log goes with the tenant.
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.log_table_changes() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_tenant_column TEXT := COALESCE(TG_ARGV[0], 'tenant_id');
    v_old JSONB;
    v_new JSONB;
    v_tenant_id UUID;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        v_new := to_jsonb(NEW);
    END IF;

    v_tenant_id := (COALESCE(v_new, v_old) ->> v_tenant_column)::uuid;

    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM shared.tenants t WHERE t.id = v_tenant_id) THEN
        RETURN NULL;
    END IF;

    INSERT INTO audit.change_log (tenant_id, table_schema, table_name, operation, row_id, old_row, new_row, changed_by)
    VALUES (
        v_tenant_id,
        TG_TABLE_SCHEMA,
        TG_TABLE_NAME,
        TG_OP,
        COALESCE(v_new, v_old) ->> 'id',
        v_old,
        v_new,
        NULLIF(current_setting('app.current_user_id', true), '')::uuid
    );

    RETURN NULL;
END
$$;

COMMENT ON FUNCTION audit.log_table_changes() IS
    'AFTER INSERT OR UPDATE OR DELETE row trigger: writes old and new row to audit.change_log. Argument: tenant column (default tenant_id).';

-- ---------------------------------------------------------------------------
-- Security events: logins, permission denials, exports, ...
-- user_id has no foreign key on purpose: the event outlives the user.
-- ---------------------------------------------------------------------------
CREATE TABLE audit.security_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    user_id UUID,
    event_type TEXT NOT NULL,
    result TEXT NOT NULL,
    "timestamp" TIMESTAMPTZ NOT NULL DEFAULT now(),
    ip_address INET,
    user_agent TEXT,
    details JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT security_events_result_valid CHECK (result IN ('success', 'failure', 'denied', 'error'))
);

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE audit.change_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.change_log FORCE ROW LEVEL SECURITY;
ALTER TABLE audit.security_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.security_events FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_change_log" ON audit.change_log
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_security_events" ON audit.security_events
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Audit triggers on the tables that exist already; later migrations attach
-- them to the tables they create. shared.permissions holds no tenant data
-- and shared.legacy_customers is a staging table: neither is audited.
-- ---------------------------------------------------------------------------
CREATE TRIGGER audit_tenants_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.tenants
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes('id');

CREATE TRIGGER audit_locations_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.locations
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_customers_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.customers
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_users_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.users
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_roles_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.roles
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_role_permissions_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.role_permissions
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_user_roles_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.user_roles
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Privileges of the application role. History cannot be forged or erased
-- by the application: audit.change_log is written by the trigger function
-- only (SELECT for the application), security events are append-only.
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA audit TO thorbis_app;
GRANT SELECT ON audit.change_log TO thorbis_app;
GRANT SELECT, INSERT ON audit.security_events TO thorbis_app;
GRANT EXECUTE ON FUNCTION audit.log_table_changes() TO thorbis_app;
