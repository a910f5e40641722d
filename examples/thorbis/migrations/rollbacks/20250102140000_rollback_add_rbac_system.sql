-- Rollback: rollbacks/20250102140000_rollback_add_rbac_system.sql
-- Description: Remove the RBAC tables and functions
-- Author: Database Team
-- Date: 2025-01-02

-- WARNING: This rollback will destroy data (users, roles and their assignments)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON shared.users, shared.roles, shared.permissions, shared.role_permissions, shared.user_roles FROM thorbis_app;
REVOKE ALL ON FUNCTION public.get_current_user_id(), shared.user_has_permission(UUID, TEXT, TEXT) FROM thorbis_app;

DROP FUNCTION IF EXISTS shared.user_has_permission(UUID, TEXT, TEXT);

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS shared.user_roles;
DROP TABLE IF EXISTS shared.role_permissions;
DROP TABLE IF EXISTS shared.permissions;
DROP TABLE IF EXISTS shared.roles;
DROP TABLE IF EXISTS shared.users;

DROP FUNCTION IF EXISTS public.get_current_user_id();
