-- Rollback: rollbacks/20250104120000_rollback_add_automotive_schema.sql
-- Description: Remove the automotive schema (vehicles, repair orders)
-- Author: Database Team
-- Date: 2025-01-04

-- WARNING: This rollback will destroy data (vehicles and repair orders)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON automotive.vehicles, automotive.repair_orders FROM thorbis_app;
REVOKE ALL ON SCHEMA automotive FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS automotive.repair_orders;
DROP TABLE IF EXISTS automotive.vehicles;

-- no CASCADE: anything left in the schema makes the rollback fail instead of vanishing
DROP SCHEMA IF EXISTS automotive;
