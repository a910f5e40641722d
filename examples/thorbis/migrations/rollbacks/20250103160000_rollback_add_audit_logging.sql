-- Rollback: rollbacks/20250103160000_rollback_add_audit_logging.sql
-- Description: Remove the audit triggers, the audit schema and its tables
-- Author: Database Team
-- Date: 2025-01-03

-- WARNING: This rollback will destroy data (the whole change history and the security events)!
-- Ensure you have a backup before proceeding.

DROP TRIGGER IF EXISTS audit_user_roles_changes ON shared.user_roles;
DROP TRIGGER IF EXISTS audit_role_permissions_changes ON shared.role_permissions;
DROP TRIGGER IF EXISTS audit_roles_changes ON shared.roles;
DROP TRIGGER IF EXISTS audit_users_changes ON shared.users;
DROP TRIGGER IF EXISTS audit_customers_changes ON shared.customers;
DROP TRIGGER IF EXISTS audit_locations_changes ON shared.locations;
DROP TRIGGER IF EXISTS audit_tenants_changes ON shared.tenants;

REVOKE ALL ON audit.change_log, audit.security_events FROM thorbis_app;
REVOKE ALL ON FUNCTION audit.log_table_changes() FROM thorbis_app;
REVOKE ALL ON SCHEMA audit FROM thorbis_app;

DROP TABLE IF EXISTS audit.security_events;
DROP FUNCTION IF EXISTS audit.log_table_changes();
DROP TABLE IF EXISTS audit.change_log;

-- no CASCADE: anything left in the schema makes the rollback fail instead of vanishing
DROP SCHEMA IF EXISTS audit;
