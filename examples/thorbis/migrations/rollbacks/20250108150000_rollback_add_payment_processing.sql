-- Rollback: rollbacks/20250108150000_rollback_add_payment_processing.sql
-- Description: Remove the payments schema (payment methods, payments, refunds)
-- Author: Database Team
-- Date: 2025-01-08

-- WARNING: This rollback will destroy data (payment records)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON payments.payment_methods, payments.payments, payments.refunds FROM thorbis_app;
REVOKE ALL ON SCHEMA payments FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS payments.refunds;
DROP TABLE IF EXISTS payments.payments;
DROP TABLE IF EXISTS payments.payment_methods;

-- no CASCADE: anything left in the schema makes the rollback fail instead of vanishing
DROP SCHEMA IF EXISTS payments;
