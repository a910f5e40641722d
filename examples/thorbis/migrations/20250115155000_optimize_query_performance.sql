-- Migration: 20250115155000_optimize_query_performance.sql
-- Description: Add indexes to improve query performance for common operations
-- Author: Database Team
-- Date: 2025-01-15

-- The guide's index creation template, corrected for pgshift. CREATE INDEX
-- CONCURRENTLY cannot run inside a transaction block, so the guide's
-- BEGIN ... COMMIT around it fails (and takes the ledger writes with it).
-- Here there is no BEGIN/COMMIT and no ledger write: pgshift sees the
-- CONCURRENTLY statements and runs the file statement by statement in
-- autocommit mode, recording the run itself. Each statement stands on its own
-- and is idempotent; pgshift reports and drops an index that a failed build
-- left INVALID before a retry (IF NOT EXISTS alone would skip it).
--
-- The full text index needs an IMMUTABLE expression: the two-argument
-- to_tsvector with a regconfig constant, and coalesce() so that a NULL name
-- part does not make the whole document NULL.

-- Performance indexes for work orders
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_work_orders_tenant_status_scheduled
    ON home_services.work_orders(tenant_id, status, scheduled_at)
    WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_work_orders_technician_date
    ON home_services.work_orders(technician_id, scheduled_at)
    WHERE status IN ('scheduled', 'in_progress') AND deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_work_orders_customer_recent
    ON home_services.work_orders(customer_id, created_at DESC)
    WHERE deleted_at IS NULL;

-- Performance indexes for restaurant orders
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_restaurant_orders_tenant_status_table
    ON restaurants.orders(tenant_id, status, table_number)
    WHERE order_type = 'dine_in';

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_restaurant_orders_server_date
    ON restaurants.orders(server_id, created_at DESC)
    WHERE status IN ('pending', 'preparing');

-- Performance indexes for customer search
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_tenant_name_search
    ON shared.customers USING gin(
        to_tsvector('english'::regconfig, coalesce(first_name, '') || ' ' || coalesce(last_name, ''))
    ) WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_tenant_email_partial
    ON shared.customers(tenant_id, lower(email))
    WHERE deleted_at IS NULL;

-- Performance indexes for audit queries
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_security_events_user_time_desc
    ON audit.security_events(user_id, "timestamp" DESC)
    WHERE result != 'success';

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_security_events_tenant_type_time
    ON audit.security_events(tenant_id, event_type, "timestamp" DESC);

-- Analyze tables to update statistics
ANALYZE home_services.work_orders;
ANALYZE restaurants.orders;
ANALYZE shared.customers;
ANALYZE audit.security_events;
