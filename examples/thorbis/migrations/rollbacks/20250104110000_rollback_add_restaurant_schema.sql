-- Rollback: rollbacks/20250104110000_rollback_add_restaurant_schema.sql
-- Description: Remove the restaurant schema (tables, menu items, orders, order items)
-- Author: Database Team
-- Date: 2025-01-04

-- WARNING: This rollback will destroy data (restaurant tables, menus and orders)!
-- Ensure you have a backup before proceeding.

REVOKE ALL ON restaurants.tables, restaurants.menu_items, restaurants.orders, restaurants.order_items FROM thorbis_app;
REVOKE ALL ON SCHEMA restaurants FROM thorbis_app;

-- tables (their triggers, policies, indexes and constraints go with them)
DROP TABLE IF EXISTS restaurants.order_items;
DROP TABLE IF EXISTS restaurants.orders;
DROP TABLE IF EXISTS restaurants.menu_items;
DROP TABLE IF EXISTS restaurants.tables;

-- no CASCADE: anything left in the schema makes the rollback fail instead of vanishing
DROP SCHEMA IF EXISTS restaurants;
