-- Migration: 20250106140000_add_work_order_scheduling.sql
-- Description: Work order scheduling: weekly technician availability and appointments
-- Author: Database Team
-- Date: 2025-01-06

-- ---------------------------------------------------------------------------
-- Weekly working hours of a technician
-- ---------------------------------------------------------------------------
CREATE TABLE home_services.technician_availability (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    technician_id UUID NOT NULL,
    day_of_week SMALLINT NOT NULL,          -- 0 = Sunday ... 6 = Saturday, as EXTRACT(DOW ...)
    start_time TIME NOT NULL,
    end_time TIME NOT NULL,
    effective_from DATE,
    effective_until DATE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT technician_availability_technician_fkey FOREIGN KEY (tenant_id, technician_id)
        REFERENCES home_services.technicians (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT technician_availability_day_valid CHECK (day_of_week BETWEEN 0 AND 6),
    CONSTRAINT technician_availability_times_ordered CHECK (end_time > start_time),
    CONSTRAINT technician_availability_dates_ordered CHECK (effective_until IS NULL OR effective_from IS NULL OR effective_until >= effective_from)
);

CREATE INDEX idx_technician_availability_tenant_technician
    ON home_services.technician_availability (tenant_id, technician_id, day_of_week);

-- ---------------------------------------------------------------------------
-- Appointments: the visits that carry out a work order
-- ---------------------------------------------------------------------------
CREATE TABLE home_services.appointments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    work_order_id UUID NOT NULL,
    technician_id UUID,
    scheduled_start TIMESTAMPTZ NOT NULL,
    scheduled_end TIMESTAMPTZ NOT NULL,
    arrival_window_minutes INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'scheduled',
    confirmed_at TIMESTAMPTZ,
    actual_start TIMESTAMPTZ,
    actual_end TIMESTAMPTZ,
    notes TEXT,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT appointments_work_order_fkey FOREIGN KEY (tenant_id, work_order_id)
        REFERENCES home_services.work_orders (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT appointments_technician_fkey FOREIGN KEY (tenant_id, technician_id)
        REFERENCES home_services.technicians (tenant_id, id) ON DELETE SET NULL (technician_id),
    CONSTRAINT appointments_times_ordered CHECK (scheduled_end > scheduled_start),
    CONSTRAINT appointments_actual_times_ordered CHECK (actual_end IS NULL OR actual_start IS NULL OR actual_end >= actual_start),
    CONSTRAINT appointments_arrival_window_valid CHECK (arrival_window_minutes >= 0),
    CONSTRAINT appointments_status_valid CHECK (status IN ('scheduled', 'confirmed', 'en_route', 'in_progress', 'completed', 'cancelled', 'no_show'))
);

-- a technician's day, and the board of open appointments
CREATE INDEX idx_appointments_tenant_technician_start ON home_services.appointments (tenant_id, technician_id, scheduled_start)
    WHERE status NOT IN ('cancelled', 'no_show');
CREATE INDEX idx_appointments_tenant_start ON home_services.appointments (tenant_id, scheduled_start)
    WHERE status IN ('scheduled', 'confirmed');
CREATE INDEX idx_appointments_tenant_work_order ON home_services.appointments (tenant_id, work_order_id);

-- ---------------------------------------------------------------------------
-- updated_at and audit triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_technician_availability
    BEFORE UPDATE ON home_services.technician_availability
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_appointments
    BEFORE UPDATE ON home_services.appointments
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_technician_availability_changes
    AFTER INSERT OR UPDATE OR DELETE ON home_services.technician_availability
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_appointments_changes
    AFTER INSERT OR UPDATE OR DELETE ON home_services.appointments
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE home_services.technician_availability ENABLE ROW LEVEL SECURITY;
ALTER TABLE home_services.technician_availability FORCE ROW LEVEL SECURITY;
ALTER TABLE home_services.appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE home_services.appointments FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_technician_availability" ON home_services.technician_availability
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_appointments" ON home_services.appointments
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role (USAGE on home_services was granted
-- by 20250104100000_add_home_services_schema)
-- ---------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON home_services.technician_availability, home_services.appointments TO thorbis_app;
