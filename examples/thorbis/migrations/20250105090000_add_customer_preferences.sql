-- Migration: 20250105090000_add_customer_preferences.sql
-- Description: Customer preferences: contact channel, marketing consent, language, preferred location
-- Author: Database Team
-- Date: 2025-01-05

-- A table of its own rather than new columns on shared.customers: no
-- ALTER TABLE on a large, busy table, and one row per customer at most.
CREATE TABLE shared.customer_preferences (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL,
    preferred_contact_method TEXT NOT NULL DEFAULT 'email',
    marketing_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    marketing_opt_in_at TIMESTAMPTZ,
    preferred_language TEXT NOT NULL DEFAULT 'en',
    timezone TEXT,
    preferred_location_id UUID,
    contact_window JSONB,       -- e.g. {"days": ["mon", "tue"], "from": "09:00", "to": "17:00"}
    preferences JSONB NOT NULL DEFAULT '{}',
    notes TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT customer_preferences_customer_unique UNIQUE (tenant_id, customer_id),
    CONSTRAINT customer_preferences_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT customer_preferences_location_fkey FOREIGN KEY (tenant_id, preferred_location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE SET NULL (preferred_location_id),
    CONSTRAINT customer_preferences_contact_method_valid CHECK (preferred_contact_method IN ('email', 'phone', 'sms', 'mail', 'none')),
    CONSTRAINT customer_preferences_language_format CHECK (preferred_language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    CONSTRAINT customer_preferences_opt_in_dated CHECK (NOT marketing_opt_in OR marketing_opt_in_at IS NOT NULL)
);

CREATE INDEX idx_customer_preferences_marketing ON shared.customer_preferences (tenant_id, preferred_contact_method)
    WHERE marketing_opt_in;
CREATE INDEX idx_customer_preferences_location ON shared.customer_preferences (tenant_id, preferred_location_id)
    WHERE preferred_location_id IS NOT NULL;

CREATE TRIGGER set_updated_at_customer_preferences
    BEFORE UPDATE ON shared.customer_preferences
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_customer_preferences_changes
    AFTER INSERT OR UPDATE OR DELETE ON shared.customer_preferences
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

ALTER TABLE shared.customer_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.customer_preferences FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_customer_preferences" ON shared.customer_preferences
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON shared.customer_preferences TO thorbis_app;
