-- Migration: 20250107110000_optimize_customer_indexes.sql
-- Description: Customer lookup indexes by name, phone and recency, built concurrently
-- Author: Database Team
-- Date: 2025-01-07

-- CREATE INDEX CONCURRENTLY cannot run inside a transaction: pgshift sees it
-- and runs this file statement by statement in autocommit mode. shared.customers
-- is read and written while the indexes build (SHARE UPDATE EXCLUSIVE lock only).
-- Every statement is idempotent, so a rerun after a failure is safe; pgshift
-- reports and drops an index a failed build left INVALID before it retries.
-- The tenant's email lookup comes with 20250115155000_optimize_query_performance.

-- customer search by name within a tenant (ORDER BY last name, first name)
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_tenant_last_first
    ON shared.customers (tenant_id, lower(last_name), lower(first_name))
    WHERE deleted_at IS NULL;

-- caller id: find the customer from an incoming phone number
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_tenant_phone
    ON shared.customers (tenant_id, phone)
    WHERE phone IS NOT NULL AND deleted_at IS NULL;

-- newest customers first
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_tenant_created
    ON shared.customers (tenant_id, created_at DESC)
    WHERE deleted_at IS NULL;
