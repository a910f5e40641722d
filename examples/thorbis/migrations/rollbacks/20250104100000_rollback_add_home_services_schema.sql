-- Rollback: rollbacks/20250104100000_rollback_add_home_services_schema.sql
-- Description: Remove the home services schema (technicians, work orders)
-- Author: Database Team
-- Date: 2025-01-04

-- WARNING: This rollback will destroy data (technicians and work orders)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON home_services.technicians, home_services.work_orders FROM thorbis_app;
REVOKE ALL ON SCHEMA home_services FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS home_services.work_orders;
DROP TABLE IF EXISTS home_services.technicians;

-- no CASCADE: anything left in the schema makes the rollback fail instead of vanishing
DROP SCHEMA IF EXISTS home_services;
