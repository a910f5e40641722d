-- Migration: 20250115143000_add_inventory_management.sql
-- Description: Add inventory management tables for retail operations
-- Author: Database Team
-- Date: 2025-01-15

-- The guide's schema creation template, corrected for pgshift:
--   * no `\c thorbis_business_os;` - a psql meta-command, not SQL; pgshift
--     connects to the database of the environment (pgshift.toml);
--   * no BEGIN/COMMIT - pgshift runs the file in one transaction;
--   * no INSERT/UPDATE of shared.migration_log - pgshift records the run in
--     the same transaction as the changes;
--   * the policies have WITH CHECK as well as USING, and row level security is
--     FORCEd, so neither a wrong tenant_id nor the table owner slips through;
--   * stock_levels references products and locations of its own tenant only
--     (composite foreign keys), and its unique key treats a NULL location as
--     one value (NULLS NOT DISTINCT), so "no location" cannot be stocked twice;
--   * idx_products_tenant_sku is left out: the UNIQUE (tenant_id, sku)
--     constraint already is that index;
--   * the trailing verification SELECT is left out.

-- Create new schema if needed
CREATE SCHEMA IF NOT EXISTS retail_inventory;

-- Create new tables
CREATE TABLE retail_inventory.products (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    category TEXT,
    brand TEXT,
    cost_price DECIMAL(10,4) NOT NULL DEFAULT 0.00,
    retail_price DECIMAL(10,4) NOT NULL DEFAULT 0.00,
    weight DECIMAL(8,3),
    dimensions JSONB, -- {length, width, height, unit}
    attributes JSONB DEFAULT '{}',
    active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),

    -- Constraints
    CONSTRAINT products_sku_tenant_unique UNIQUE (tenant_id, sku),
    CONSTRAINT products_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT products_cost_positive CHECK (cost_price >= 0),
    CONSTRAINT products_price_positive CHECK (retail_price >= 0)
);

CREATE TABLE retail_inventory.stock_levels (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    product_id UUID NOT NULL,
    location_id UUID,
    quantity_on_hand INTEGER NOT NULL DEFAULT 0,
    quantity_allocated INTEGER NOT NULL DEFAULT 0,
    -- STORED: PostgreSQL 18 makes a generated column VIRTUAL by default, and a
    -- virtual column cannot appear in an index (see idx_stock_levels_low_stock)
    quantity_available INTEGER GENERATED ALWAYS AS (quantity_on_hand - quantity_allocated) STORED,
    reorder_level INTEGER DEFAULT 0,
    max_stock_level INTEGER,
    last_counted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),

    -- Constraints
    CONSTRAINT stock_levels_product_fkey FOREIGN KEY (tenant_id, product_id)
        REFERENCES retail_inventory.products (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT stock_levels_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id),
    CONSTRAINT stock_levels_tenant_product_location_unique UNIQUE NULLS NOT DISTINCT (tenant_id, product_id, location_id),
    CONSTRAINT stock_levels_quantities_non_negative CHECK (
        quantity_on_hand >= 0 AND
        quantity_allocated >= 0 AND
        quantity_allocated <= quantity_on_hand
    )
);

-- Enable RLS
ALTER TABLE retail_inventory.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE retail_inventory.products FORCE ROW LEVEL SECURITY;
ALTER TABLE retail_inventory.stock_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE retail_inventory.stock_levels FORCE ROW LEVEL SECURITY;

-- Create RLS policies
CREATE POLICY "tenant_isolation_products" ON retail_inventory.products
    USING (tenant_id = get_current_tenant_id())
    WITH CHECK (tenant_id = get_current_tenant_id());

CREATE POLICY "tenant_isolation_stock_levels" ON retail_inventory.stock_levels
    USING (tenant_id = get_current_tenant_id())
    WITH CHECK (tenant_id = get_current_tenant_id());

-- Create indexes for performance (plain CREATE INDEX: the tables are new and empty)
CREATE INDEX idx_products_tenant_category ON retail_inventory.products(tenant_id, category) WHERE active = TRUE;
CREATE INDEX idx_stock_levels_tenant_product ON retail_inventory.stock_levels(tenant_id, product_id);
CREATE INDEX idx_stock_levels_tenant_location ON retail_inventory.stock_levels(tenant_id, location_id) WHERE location_id IS NOT NULL;
CREATE INDEX idx_stock_levels_low_stock ON retail_inventory.stock_levels(tenant_id)
    WHERE quantity_available <= reorder_level;

-- Create triggers
CREATE TRIGGER set_updated_at_products
    BEFORE UPDATE ON retail_inventory.products
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at_column();

CREATE TRIGGER set_updated_at_stock_levels
    BEFORE UPDATE ON retail_inventory.stock_levels
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at_column();

-- Create audit triggers
CREATE TRIGGER audit_products_changes
    AFTER INSERT OR UPDATE OR DELETE ON retail_inventory.products
    FOR EACH ROW
    EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_stock_levels_changes
    AFTER INSERT OR UPDATE OR DELETE ON retail_inventory.stock_levels
    FOR EACH ROW
    EXECUTE FUNCTION audit.log_table_changes();

-- Privileges of the application role
GRANT USAGE ON SCHEMA retail_inventory TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON retail_inventory.products, retail_inventory.stock_levels TO thorbis_app;
