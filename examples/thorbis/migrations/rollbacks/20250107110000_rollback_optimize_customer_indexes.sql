-- Rollback: rollbacks/20250107110000_rollback_optimize_customer_indexes.sql
-- Description: Drop the customer lookup indexes, concurrently
-- Author: Database Team
-- Date: 2025-01-07

-- DROP INDEX CONCURRENTLY runs outside a transaction, statement by statement;
-- no data is lost, only the indexes.

DROP INDEX CONCURRENTLY IF EXISTS shared.idx_customers_tenant_created;
DROP INDEX CONCURRENTLY IF EXISTS shared.idx_customers_tenant_phone;
DROP INDEX CONCURRENTLY IF EXISTS shared.idx_customers_tenant_last_first;
