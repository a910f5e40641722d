-- Rollback: rollbacks/20250115155000_rollback_optimize_query_performance.sql
-- Description: Drop the query performance indexes, concurrently
-- Author: Database Team
-- Date: 2025-01-15

-- DROP INDEX CONCURRENTLY runs outside a transaction, statement by statement;
-- no data is lost, only the indexes. (The statistics ANALYZE gathered stay:
-- they are not part of the schema.)

DROP INDEX CONCURRENTLY IF EXISTS audit.idx_security_events_tenant_type_time;
DROP INDEX CONCURRENTLY IF EXISTS audit.idx_security_events_user_time_desc;
DROP INDEX CONCURRENTLY IF EXISTS shared.idx_customers_tenant_email_partial;
DROP INDEX CONCURRENTLY IF EXISTS shared.idx_customers_tenant_name_search;
DROP INDEX CONCURRENTLY IF EXISTS restaurants.idx_restaurant_orders_server_date;
DROP INDEX CONCURRENTLY IF EXISTS restaurants.idx_restaurant_orders_tenant_status_table;
DROP INDEX CONCURRENTLY IF EXISTS home_services.idx_work_orders_customer_recent;
DROP INDEX CONCURRENTLY IF EXISTS home_services.idx_work_orders_technician_date;
DROP INDEX CONCURRENTLY IF EXISTS home_services.idx_work_orders_tenant_status_scheduled;
