-- Migration: 20250104110000_add_restaurant_schema.sql
-- Description: Restaurant industry schema: tables, menu items, orders and order items
-- Author: Database Team
-- Date: 2025-01-04

CREATE SCHEMA restaurants;

COMMENT ON SCHEMA restaurants IS 'Restaurants: dining room, menu and orders';

-- ---------------------------------------------------------------------------
-- Dining tables
-- ---------------------------------------------------------------------------
CREATE TABLE restaurants.tables (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    location_id UUID NOT NULL,
    table_number TEXT NOT NULL,
    capacity INTEGER NOT NULL DEFAULT 4,
    section TEXT,
    status TEXT NOT NULL DEFAULT 'available',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT tables_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT tables_number_location_unique UNIQUE (tenant_id, location_id, table_number),
    CONSTRAINT tables_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT tables_capacity_positive CHECK (capacity > 0),
    CONSTRAINT tables_status_valid CHECK (status IN ('available', 'occupied', 'reserved', 'out_of_service'))
);

-- ---------------------------------------------------------------------------
-- Menu items (location_id NULL: offered at every location)
-- ---------------------------------------------------------------------------
CREATE TABLE restaurants.menu_items (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    location_id UUID,
    name TEXT NOT NULL,
    description TEXT,
    category TEXT,
    price DECIMAL(10,2) NOT NULL,
    available BOOLEAN NOT NULL DEFAULT TRUE,
    dietary_flags TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT menu_items_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT menu_items_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT menu_items_price_positive CHECK (price >= 0)
);

CREATE INDEX idx_menu_items_tenant_category ON restaurants.menu_items (tenant_id, category, name)
    WHERE available AND deleted_at IS NULL;
CREATE INDEX idx_menu_items_tenant_location ON restaurants.menu_items (tenant_id, location_id) WHERE location_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Orders. table_number is copied from the table when the order is opened,
-- so that the order keeps it when tables are renumbered.
-- ---------------------------------------------------------------------------
CREATE TABLE restaurants.orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    location_id UUID NOT NULL,
    order_number TEXT NOT NULL,
    order_type TEXT NOT NULL DEFAULT 'dine_in',
    status TEXT NOT NULL DEFAULT 'pending',
    table_id UUID,
    table_number TEXT,
    server_id UUID,             -- the user serving the table
    customer_id UUID,
    guest_count INTEGER,
    subtotal DECIMAL(12,2) NOT NULL DEFAULT 0,
    tax_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    tip_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    total_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    notes TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at TIMESTAMPTZ,

    CONSTRAINT orders_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT orders_number_tenant_unique UNIQUE (tenant_id, order_number),
    CONSTRAINT orders_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id),
    CONSTRAINT orders_table_fkey FOREIGN KEY (tenant_id, table_id)
        REFERENCES restaurants.tables (tenant_id, id) ON DELETE SET NULL (table_id),
    CONSTRAINT orders_server_fkey FOREIGN KEY (tenant_id, server_id)
        REFERENCES shared.users (tenant_id, id) ON DELETE SET NULL (server_id),
    CONSTRAINT orders_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id) ON DELETE SET NULL (customer_id),
    CONSTRAINT orders_type_valid CHECK (order_type IN ('dine_in', 'takeout', 'delivery', 'catering')),
    CONSTRAINT orders_status_valid CHECK (status IN ('pending', 'preparing', 'ready', 'served', 'completed', 'cancelled')),
    CONSTRAINT orders_guest_count_positive CHECK (guest_count > 0),
    CONSTRAINT orders_amounts_positive CHECK (subtotal >= 0 AND tax_amount >= 0 AND tip_amount >= 0 AND total_amount >= 0)
);

-- foreign key lookups; the query indexes come with 20250115155000_optimize_query_performance
CREATE INDEX idx_restaurant_orders_tenant_location ON restaurants.orders (tenant_id, location_id, created_at DESC);
CREATE INDEX idx_restaurant_orders_tenant_table ON restaurants.orders (tenant_id, table_id) WHERE table_id IS NOT NULL;
CREATE INDEX idx_restaurant_orders_tenant_customer ON restaurants.orders (tenant_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX idx_restaurant_orders_tenant_server ON restaurants.orders (tenant_id, server_id) WHERE server_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Order items (name and unit price copied from the menu at ordering time)
-- ---------------------------------------------------------------------------
CREATE TABLE restaurants.order_items (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    order_id UUID NOT NULL,
    menu_item_id UUID,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    unit_price DECIMAL(10,2) NOT NULL,
    modifiers JSONB NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'pending',
    notes TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT order_items_order_fkey FOREIGN KEY (tenant_id, order_id)
        REFERENCES restaurants.orders (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT order_items_menu_item_fkey FOREIGN KEY (tenant_id, menu_item_id)
        REFERENCES restaurants.menu_items (tenant_id, id) ON DELETE SET NULL (menu_item_id),
    CONSTRAINT order_items_quantity_positive CHECK (quantity > 0),
    CONSTRAINT order_items_price_positive CHECK (unit_price >= 0),
    CONSTRAINT order_items_status_valid CHECK (status IN ('pending', 'preparing', 'ready', 'served', 'cancelled'))
);

CREATE INDEX idx_order_items_tenant_order ON restaurants.order_items (tenant_id, order_id);
CREATE INDEX idx_order_items_tenant_menu_item ON restaurants.order_items (tenant_id, menu_item_id) WHERE menu_item_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- updated_at and audit triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_tables
    BEFORE UPDATE ON restaurants.tables
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_menu_items
    BEFORE UPDATE ON restaurants.menu_items
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_orders
    BEFORE UPDATE ON restaurants.orders
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_order_items
    BEFORE UPDATE ON restaurants.order_items
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_tables_changes
    AFTER INSERT OR UPDATE OR DELETE ON restaurants.tables
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_menu_items_changes
    AFTER INSERT OR UPDATE OR DELETE ON restaurants.menu_items
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_orders_changes
    AFTER INSERT OR UPDATE OR DELETE ON restaurants.orders
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_order_items_changes
    AFTER INSERT OR UPDATE OR DELETE ON restaurants.order_items
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE restaurants.tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE restaurants.tables FORCE ROW LEVEL SECURITY;
ALTER TABLE restaurants.menu_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE restaurants.menu_items FORCE ROW LEVEL SECURITY;
ALTER TABLE restaurants.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE restaurants.orders FORCE ROW LEVEL SECURITY;
ALTER TABLE restaurants.order_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE restaurants.order_items FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_tables" ON restaurants.tables
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_menu_items" ON restaurants.menu_items
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_orders" ON restaurants.orders
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_order_items" ON restaurants.order_items
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA restaurants TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON restaurants.tables, restaurants.menu_items, restaurants.orders, restaurants.order_items
    TO thorbis_app;
