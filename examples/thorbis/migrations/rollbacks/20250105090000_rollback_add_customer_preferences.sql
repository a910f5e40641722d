-- Rollback: rollbacks/20250105090000_rollback_add_customer_preferences.sql
-- Description: Remove the customer preferences table
-- Author: Database Team
-- Date: 2025-01-05

-- WARNING: This rollback will destroy data (customer preferences)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON shared.customer_preferences FROM thorbis_app;

-- its triggers, policy, indexes and constraints go with it
DROP TABLE IF EXISTS shared.customer_preferences;
