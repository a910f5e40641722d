-- Migration: 20250104100000_add_home_services_schema.sql
-- Description: Home services industry schema: technicians and work orders
-- Author: Database Team
-- Date: 2025-01-04

CREATE SCHEMA home_services;

COMMENT ON SCHEMA home_services IS 'Home services businesses (HVAC, plumbing, electrical, ...)';

-- ---------------------------------------------------------------------------
-- Technicians
-- ---------------------------------------------------------------------------
CREATE TABLE home_services.technicians (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    user_id UUID,               -- the technician's login, when there is one
    location_id UUID,           -- home location
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    skills TEXT[] NOT NULL DEFAULT '{}',
    hourly_rate DECIMAL(10,2),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT technicians_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT technicians_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES shared.users (tenant_id, id) ON DELETE SET NULL (user_id),
    CONSTRAINT technicians_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE SET NULL (location_id),
    CONSTRAINT technicians_hourly_rate_positive CHECK (hourly_rate >= 0)
);

CREATE INDEX idx_technicians_tenant_active ON home_services.technicians (tenant_id, last_name, first_name)
    WHERE active AND deleted_at IS NULL;
CREATE INDEX idx_technicians_tenant_user ON home_services.technicians (tenant_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_technicians_tenant_location ON home_services.technicians (tenant_id, location_id) WHERE location_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Work orders
-- ---------------------------------------------------------------------------
CREATE TABLE home_services.work_orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    work_order_number TEXT NOT NULL,
    customer_id UUID NOT NULL,
    location_id UUID,           -- the branch handling the job
    technician_id UUID,         -- assigned technician
    title TEXT NOT NULL,
    description TEXT,
    service_type TEXT,
    service_address JSONB,      -- where the job is done, when not the customer's address
    priority TEXT NOT NULL DEFAULT 'normal',
    status TEXT NOT NULL DEFAULT 'draft',
    scheduled_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    estimated_duration_minutes INTEGER,
    total_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    notes TEXT,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT work_orders_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT work_orders_number_tenant_unique UNIQUE (tenant_id, work_order_number),
    CONSTRAINT work_orders_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id),
    CONSTRAINT work_orders_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE SET NULL (location_id),
    CONSTRAINT work_orders_technician_fkey FOREIGN KEY (tenant_id, technician_id)
        REFERENCES home_services.technicians (tenant_id, id) ON DELETE SET NULL (technician_id),
    CONSTRAINT work_orders_priority_valid CHECK (priority IN ('low', 'normal', 'high', 'emergency')),
    CONSTRAINT work_orders_status_valid CHECK (status IN ('draft', 'scheduled', 'in_progress', 'on_hold', 'completed', 'cancelled')),
    CONSTRAINT work_orders_duration_positive CHECK (estimated_duration_minutes > 0),
    CONSTRAINT work_orders_total_positive CHECK (total_amount >= 0),
    CONSTRAINT work_orders_completed_after_started CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at)
);

-- foreign key lookups; the query indexes come with 20250115155000_optimize_query_performance
CREATE INDEX idx_work_orders_tenant_customer ON home_services.work_orders (tenant_id, customer_id);
CREATE INDEX idx_work_orders_tenant_technician ON home_services.work_orders (tenant_id, technician_id) WHERE technician_id IS NOT NULL;
CREATE INDEX idx_work_orders_tenant_location ON home_services.work_orders (tenant_id, location_id) WHERE location_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- updated_at and audit triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_technicians
    BEFORE UPDATE ON home_services.technicians
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_work_orders
    BEFORE UPDATE ON home_services.work_orders
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_technicians_changes
    AFTER INSERT OR UPDATE OR DELETE ON home_services.technicians
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_work_orders_changes
    AFTER INSERT OR UPDATE OR DELETE ON home_services.work_orders
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE home_services.technicians ENABLE ROW LEVEL SECURITY;
ALTER TABLE home_services.technicians FORCE ROW LEVEL SECURITY;
ALTER TABLE home_services.work_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE home_services.work_orders FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_technicians" ON home_services.technicians
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_work_orders" ON home_services.work_orders
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA home_services TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON home_services.technicians, home_services.work_orders TO thorbis_app;
