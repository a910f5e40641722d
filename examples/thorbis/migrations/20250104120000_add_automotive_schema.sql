-- Migration: 20250104120000_add_automotive_schema.sql
-- Description: Automotive industry schema: vehicles and repair orders
-- Author: Database Team
-- Date: 2025-01-04

CREATE SCHEMA automotive;

COMMENT ON SCHEMA automotive IS 'Automotive service shops: customer vehicles and repair orders';

-- ---------------------------------------------------------------------------
-- Vehicles
-- ---------------------------------------------------------------------------
CREATE TABLE automotive.vehicles (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL,
    vin TEXT,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    year SMALLINT,
    trim_level TEXT,
    color TEXT,
    license_plate TEXT,
    license_state TEXT,
    mileage INTEGER,
    notes TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT vehicles_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT vehicles_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id),
    CONSTRAINT vehicles_vin_format CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
    CONSTRAINT vehicles_year_valid CHECK (year BETWEEN 1886 AND 2100),
    CONSTRAINT vehicles_mileage_positive CHECK (mileage >= 0)
);

CREATE UNIQUE INDEX idx_vehicles_tenant_vin ON automotive.vehicles (tenant_id, vin)
    WHERE vin IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX idx_vehicles_tenant_customer ON automotive.vehicles (tenant_id, customer_id);
CREATE INDEX idx_vehicles_tenant_plate ON automotive.vehicles (tenant_id, upper(license_plate))
    WHERE license_plate IS NOT NULL AND deleted_at IS NULL;

-- ---------------------------------------------------------------------------
-- Repair orders
-- ---------------------------------------------------------------------------
CREATE TABLE automotive.repair_orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    repair_order_number TEXT NOT NULL,
    vehicle_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    location_id UUID,
    service_advisor_id UUID,    -- the user who wrote the order
    status TEXT NOT NULL DEFAULT 'estimate',
    mileage_in INTEGER,
    mileage_out INTEGER,
    customer_concern TEXT,
    diagnosis TEXT,
    labor_total DECIMAL(12,2) NOT NULL DEFAULT 0,
    parts_total DECIMAL(12,2) NOT NULL DEFAULT 0,
    tax_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    total_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    promised_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT repair_orders_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT repair_orders_number_tenant_unique UNIQUE (tenant_id, repair_order_number),
    CONSTRAINT repair_orders_vehicle_fkey FOREIGN KEY (tenant_id, vehicle_id)
        REFERENCES automotive.vehicles (tenant_id, id),
    CONSTRAINT repair_orders_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id),
    CONSTRAINT repair_orders_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE SET NULL (location_id),
    CONSTRAINT repair_orders_advisor_fkey FOREIGN KEY (tenant_id, service_advisor_id)
        REFERENCES shared.users (tenant_id, id) ON DELETE SET NULL (service_advisor_id),
    CONSTRAINT repair_orders_status_valid CHECK (status IN ('estimate', 'approved', 'in_progress', 'waiting_parts', 'completed', 'delivered', 'cancelled')),
    CONSTRAINT repair_orders_mileage_valid CHECK (mileage_in >= 0 AND (mileage_out IS NULL OR mileage_out >= mileage_in)),
    CONSTRAINT repair_orders_amounts_positive CHECK (labor_total >= 0 AND parts_total >= 0 AND tax_amount >= 0 AND total_amount >= 0)
);

CREATE INDEX idx_repair_orders_tenant_status ON automotive.repair_orders (tenant_id, status, promised_at)
    WHERE deleted_at IS NULL;
CREATE INDEX idx_repair_orders_tenant_vehicle ON automotive.repair_orders (tenant_id, vehicle_id, created_at DESC);
CREATE INDEX idx_repair_orders_tenant_customer ON automotive.repair_orders (tenant_id, customer_id);
CREATE INDEX idx_repair_orders_tenant_location ON automotive.repair_orders (tenant_id, location_id) WHERE location_id IS NOT NULL;
CREATE INDEX idx_repair_orders_tenant_advisor ON automotive.repair_orders (tenant_id, service_advisor_id) WHERE service_advisor_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- updated_at and audit triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_vehicles
    BEFORE UPDATE ON automotive.vehicles
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_repair_orders
    BEFORE UPDATE ON automotive.repair_orders
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_vehicles_changes
    AFTER INSERT OR UPDATE OR DELETE ON automotive.vehicles
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_repair_orders_changes
    AFTER INSERT OR UPDATE OR DELETE ON automotive.repair_orders
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE automotive.vehicles ENABLE ROW LEVEL SECURITY;
ALTER TABLE automotive.vehicles FORCE ROW LEVEL SECURITY;
ALTER TABLE automotive.repair_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE automotive.repair_orders FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_vehicles" ON automotive.vehicles
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_repair_orders" ON automotive.repair_orders
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA automotive TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON automotive.vehicles, automotive.repair_orders TO thorbis_app;
