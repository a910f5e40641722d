-- Rollback: rollbacks/20250106140000_rollback_add_work_order_scheduling.sql
-- Description: Remove technician availability and appointments
-- Author: Database Team
-- Date: 2025-01-06

-- WARNING: This rollback will destroy data (appointments and technician availability)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON home_services.technician_availability, home_services.appointments FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS home_services.appointments;
DROP TABLE IF EXISTS home_services.technician_availability;
