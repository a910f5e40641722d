-- Rollback: rollbacks/20250104130000_rollback_add_retail_schema.sql
-- Description: Remove the retail schema (products, stock)
-- Author: Database Team
-- Date: 2025-01-04

-- WARNING: This rollback will destroy data (products and stock levels)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON retail.products, retail.stock FROM thorbis_app;
REVOKE ALL ON SCHEMA retail FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS retail.stock;
DROP TABLE IF EXISTS retail.products;

-- no CASCADE: anything left in the schema makes the rollback fail instead of vanishing
DROP SCHEMA IF EXISTS retail;
