-- Rollback: rollbacks/20250115143000_rollback_add_inventory_management.sql
-- Description: Rollback inventory management tables
-- Author: Database Team
-- Date: 2025-01-15

-- WARNING: This rollback will destroy data!
-- Ensure you have a backup before proceeding

-- The guide's rollback template, corrected for pgshift: no BEGIN/COMMIT (one
-- transaction opened by pgshift), no writes to shared.migration_log (pgshift
-- records the rollback and marks the migration rolled_back), no bare RAISE
-- after COMMIT (a syntax error outside PL/pgSQL), and DROP SCHEMA without
-- CASCADE, as its comment says: only if empty.

-- Revoke the application role's privileges
REVOKE ALL ON retail_inventory.stock_levels, retail_inventory.products FROM thorbis_app;
REVOKE ALL ON SCHEMA retail_inventory FROM thorbis_app;

-- Remove triggers first
DROP TRIGGER IF EXISTS audit_stock_levels_changes ON retail_inventory.stock_levels;
DROP TRIGGER IF EXISTS audit_products_changes ON retail_inventory.products;
DROP TRIGGER IF EXISTS set_updated_at_stock_levels ON retail_inventory.stock_levels;
DROP TRIGGER IF EXISTS set_updated_at_products ON retail_inventory.products;

-- Remove indexes
DROP INDEX IF EXISTS retail_inventory.idx_stock_levels_low_stock;
DROP INDEX IF EXISTS retail_inventory.idx_stock_levels_tenant_location;
DROP INDEX IF EXISTS retail_inventory.idx_stock_levels_tenant_product;
DROP INDEX IF EXISTS retail_inventory.idx_products_tenant_category;

-- Remove RLS policies
DROP POLICY IF EXISTS "tenant_isolation_stock_levels" ON retail_inventory.stock_levels;
DROP POLICY IF EXISTS "tenant_isolation_products" ON retail_inventory.products;

-- Drop tables (stock_levels first: it references products)
DROP TABLE IF EXISTS retail_inventory.stock_levels;
DROP TABLE IF EXISTS retail_inventory.products;

-- Drop schema if empty
DROP SCHEMA IF EXISTS retail_inventory;

DO $$
BEGIN
    RAISE NOTICE 'Rollback completed - inventory management tables removed';
END
$$;
