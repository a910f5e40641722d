-- Migration: 20250104130000_add_retail_schema.sql
-- Description: Retail industry schema: products and stock per location
-- Author: Database Team
-- Date: 2025-01-04

CREATE SCHEMA retail;

COMMENT ON SCHEMA retail IS 'Retail stores: product catalogue and stock per location';

-- ---------------------------------------------------------------------------
-- Products
-- ---------------------------------------------------------------------------
CREATE TABLE retail.products (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    barcode TEXT,
    name TEXT NOT NULL,
    description TEXT,
    category TEXT,
    brand TEXT,
    price DECIMAL(12,2) NOT NULL DEFAULT 0,
    cost DECIMAL(12,2) NOT NULL DEFAULT 0,
    taxable BOOLEAN NOT NULL DEFAULT TRUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    attributes JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT products_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT products_sku_tenant_unique UNIQUE (tenant_id, sku),
    CONSTRAINT products_price_positive CHECK (price >= 0),
    CONSTRAINT products_cost_positive CHECK (cost >= 0)
);

CREATE UNIQUE INDEX idx_retail_products_tenant_barcode ON retail.products (tenant_id, barcode)
    WHERE barcode IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX idx_retail_products_tenant_category ON retail.products (tenant_id, category, name)
    WHERE active AND deleted_at IS NULL;

-- ---------------------------------------------------------------------------
-- Stock: one row per product and location
-- ---------------------------------------------------------------------------
CREATE TABLE retail.stock (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    product_id UUID NOT NULL,
    location_id UUID NOT NULL,
    quantity_on_hand INTEGER NOT NULL DEFAULT 0,
    quantity_reserved INTEGER NOT NULL DEFAULT 0,
    reorder_point INTEGER NOT NULL DEFAULT 0,
    last_counted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT stock_product_location_unique UNIQUE (tenant_id, product_id, location_id),
    CONSTRAINT stock_product_fkey FOREIGN KEY (tenant_id, product_id)
        REFERENCES retail.products (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT stock_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT stock_quantities_valid CHECK (
        quantity_on_hand >= 0 AND
        quantity_reserved >= 0 AND
        quantity_reserved <= quantity_on_hand AND
        reorder_point >= 0
    )
);

CREATE INDEX idx_retail_stock_tenant_location ON retail.stock (tenant_id, location_id);

-- ---------------------------------------------------------------------------
-- updated_at and audit triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_products
    BEFORE UPDATE ON retail.products
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_stock
    BEFORE UPDATE ON retail.stock
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_products_changes
    AFTER INSERT OR UPDATE OR DELETE ON retail.products
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_stock_changes
    AFTER INSERT OR UPDATE OR DELETE ON retail.stock
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE retail.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE retail.products FORCE ROW LEVEL SECURITY;
ALTER TABLE retail.stock ENABLE ROW LEVEL SECURITY;
ALTER TABLE retail.stock FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_products" ON retail.products
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_stock" ON retail.stock
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA retail TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON retail.products, retail.stock TO thorbis_app;
