-- Migration: 20250108150000_add_payment_processing.sql
-- Description: Payment processing schema: payment methods, payments and refunds
-- Author: Database Team
-- Date: 2025-01-08

CREATE SCHEMA payments;

COMMENT ON SCHEMA payments IS 'Payments taken by tenants from their customers';

-- ---------------------------------------------------------------------------
-- Stored payment methods. Card data stays at the payment provider: only its
-- token and the display details (brand, last four digits, expiry) are kept.
-- ---------------------------------------------------------------------------
CREATE TABLE payments.payment_methods (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL,
    method_type TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_token TEXT NOT NULL,
    card_brand TEXT,
    last_four TEXT,
    exp_month SMALLINT,
    exp_year SMALLINT,
    billing_address JSONB,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT payment_methods_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT payment_methods_provider_token_unique UNIQUE (tenant_id, provider, provider_token),
    CONSTRAINT payment_methods_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT payment_methods_type_valid CHECK (method_type IN ('card', 'ach', 'wallet', 'check', 'cash')),
    CONSTRAINT payment_methods_last_four_format CHECK (last_four ~ '^[0-9]{4}$'),
    CONSTRAINT payment_methods_exp_month_valid CHECK (exp_month BETWEEN 1 AND 12),
    CONSTRAINT payment_methods_exp_year_valid CHECK (exp_year BETWEEN 2000 AND 2100)
);

-- one default payment method per customer
CREATE UNIQUE INDEX idx_payment_methods_one_default ON payments.payment_methods (tenant_id, customer_id)
    WHERE is_default AND deleted_at IS NULL;
CREATE INDEX idx_payment_methods_tenant_customer ON payments.payment_methods (tenant_id, customer_id)
    WHERE deleted_at IS NULL;

-- ---------------------------------------------------------------------------
-- Payments. source_type/source_id name what was paid for (a work order, a
-- restaurant order, a repair order, ...), which lives in another schema.
-- ---------------------------------------------------------------------------
CREATE TABLE payments.payments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    customer_id UUID,
    payment_method_id UUID,
    location_id UUID,
    amount DECIMAL(12,2) NOT NULL,
    currency TEXT NOT NULL DEFAULT 'USD',
    status TEXT NOT NULL DEFAULT 'pending',
    source_type TEXT NOT NULL DEFAULT 'other',
    source_id UUID,
    provider TEXT,
    provider_transaction_id TEXT,
    failure_reason TEXT,
    idempotency_key TEXT,
    processed_at TIMESTAMPTZ,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT payments_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT payments_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES shared.customers (tenant_id, id) ON DELETE SET NULL (customer_id),
    CONSTRAINT payments_payment_method_fkey FOREIGN KEY (tenant_id, payment_method_id)
        REFERENCES payments.payment_methods (tenant_id, id) ON DELETE SET NULL (payment_method_id),
    CONSTRAINT payments_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE SET NULL (location_id),
    CONSTRAINT payments_amount_positive CHECK (amount > 0),
    CONSTRAINT payments_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT payments_status_valid CHECK (status IN ('pending', 'authorized', 'captured', 'failed', 'refunded', 'partially_refunded', 'voided')),
    CONSTRAINT payments_source_type_valid CHECK (source_type IN ('work_order', 'restaurant_order', 'repair_order', 'retail_sale', 'invoice', 'other'))
);

-- a retried request never charges twice
CREATE UNIQUE INDEX idx_payments_tenant_idempotency ON payments.payments (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX idx_payments_provider_transaction ON payments.payments (tenant_id, provider, provider_transaction_id)
    WHERE provider_transaction_id IS NOT NULL;
CREATE INDEX idx_payments_tenant_status_created ON payments.payments (tenant_id, status, created_at DESC);
CREATE INDEX idx_payments_tenant_customer ON payments.payments (tenant_id, customer_id, created_at DESC)
    WHERE customer_id IS NOT NULL;
CREATE INDEX idx_payments_tenant_source ON payments.payments (tenant_id, source_type, source_id)
    WHERE source_id IS NOT NULL;
CREATE INDEX idx_payments_tenant_payment_method ON payments.payments (tenant_id, payment_method_id)
    WHERE payment_method_id IS NOT NULL;
CREATE INDEX idx_payments_tenant_location ON payments.payments (tenant_id, location_id)
    WHERE location_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Refunds of a payment
-- ---------------------------------------------------------------------------
CREATE TABLE payments.refunds (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    payment_id UUID NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    reason TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    provider_refund_id TEXT,
    processed_at TIMESTAMPTZ,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT refunds_payment_fkey FOREIGN KEY (tenant_id, payment_id)
        REFERENCES payments.payments (tenant_id, id),
    CONSTRAINT refunds_amount_positive CHECK (amount > 0),
    CONSTRAINT refunds_status_valid CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled'))
);

CREATE INDEX idx_refunds_tenant_payment ON payments.refunds (tenant_id, payment_id);

-- ---------------------------------------------------------------------------
-- updated_at and audit triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_payment_methods
    BEFORE UPDATE ON payments.payment_methods
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_payments
    BEFORE UPDATE ON payments.payments
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_refunds
    BEFORE UPDATE ON payments.refunds
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER audit_payment_methods_changes
    AFTER INSERT OR UPDATE OR DELETE ON payments.payment_methods
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_payments_changes
    AFTER INSERT OR UPDATE OR DELETE ON payments.payments
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

CREATE TRIGGER audit_refunds_changes
    AFTER INSERT OR UPDATE OR DELETE ON payments.refunds
    FOR EACH ROW EXECUTE FUNCTION audit.log_table_changes();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE payments.payment_methods ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.payment_methods FORCE ROW LEVEL SECURITY;
ALTER TABLE payments.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.payments FORCE ROW LEVEL SECURITY;
ALTER TABLE payments.refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.refunds FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_payment_methods" ON payments.payment_methods
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_payments" ON payments.payments
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_refunds" ON payments.refunds
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA payments TO thorbis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON payments.payment_methods, payments.payments, payments.refunds TO thorbis_app;
