-- Migration: 20250102140000_add_rbac_system.sql
-- Description: Role based access control: users, roles, permissions, role permissions and user roles
-- Author: Database Team
-- Date: 2025-01-02

-- The user acting in the session, set by the application next to the tenant:
--   SET app.current_user_id = '...';
CREATE FUNCTION public.get_current_user_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.current_user_id', true), '')::uuid $$;

COMMENT ON FUNCTION public.get_current_user_id() IS 'User of the session (setting app.current_user_id); NULL when unset';

-- ---------------------------------------------------------------------------
-- Users of a tenant (staff accounts; authentication lives elsewhere)
-- ---------------------------------------------------------------------------
CREATE TABLE shared.users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    auth_user_id UUID,          -- id at the identity provider
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    last_login_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,

    CONSTRAINT users_tenant_id_id_unique UNIQUE (tenant_id, id),
    CONSTRAINT users_status_valid CHECK (status IN ('invited', 'active', 'suspended', 'deactivated'))
);

CREATE UNIQUE INDEX idx_users_tenant_email ON shared.users (tenant_id, lower(email)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX idx_users_auth_user ON shared.users (tenant_id, auth_user_id) WHERE auth_user_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Roles, defined per tenant
-- ---------------------------------------------------------------------------
CREATE TABLE shared.roles (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    is_system BOOLEAN NOT NULL DEFAULT FALSE,   -- created by the platform, not editable by the tenant
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT roles_tenant_name_unique UNIQUE (tenant_id, name),
    CONSTRAINT roles_tenant_id_id_unique UNIQUE (tenant_id, id)
);

-- ---------------------------------------------------------------------------
-- Permissions: the platform's catalogue, the same for every tenant (no tenant data)
-- ---------------------------------------------------------------------------
CREATE TABLE shared.permissions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    resource TEXT NOT NULL,
    action TEXT NOT NULL,
    description TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT permissions_resource_action_unique UNIQUE (resource, action),
    CONSTRAINT permissions_action_valid CHECK (action IN ('create', 'read', 'update', 'delete', 'manage'))
);

INSERT INTO shared.permissions (resource, action, description)
SELECT r.resource, a.action, initcap(a.action) || ' ' || replace(r.resource, '_', ' ')
FROM (VALUES ('tenant_settings'), ('locations'), ('customers'), ('users'), ('roles'),
             ('work_orders'), ('restaurant_orders'), ('repair_orders'), ('products'),
             ('inventory'), ('payments'), ('audit_log')) AS r(resource)
CROSS JOIN (VALUES ('create'), ('read'), ('update'), ('delete'), ('manage')) AS a(action);

-- ---------------------------------------------------------------------------
-- Role permissions and user roles. The composite foreign keys on
-- (tenant_id, ...) make a reference to another tenant's row impossible.
-- ---------------------------------------------------------------------------
CREATE TABLE shared.role_permissions (
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    role_id UUID NOT NULL,
    permission_id UUID NOT NULL REFERENCES shared.permissions(id) ON DELETE CASCADE,
    granted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    granted_by UUID,

    CONSTRAINT role_permissions_pkey PRIMARY KEY (role_id, permission_id),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES shared.roles (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX idx_role_permissions_permission ON shared.role_permissions (permission_id);
CREATE INDEX idx_role_permissions_tenant_role ON shared.role_permissions (tenant_id, role_id);

CREATE TABLE shared.user_roles (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id UUID NOT NULL REFERENCES shared.tenants(id) ON DELETE CASCADE,
    user_id UUID NOT NULL,
    role_id UUID NOT NULL,
    location_id UUID,           -- NULL: the role applies at every location
    assigned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    assigned_by UUID,
    expires_at TIMESTAMPTZ,

    CONSTRAINT user_roles_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES shared.users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES shared.roles (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT user_roles_location_fkey FOREIGN KEY (tenant_id, location_id)
        REFERENCES shared.locations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT user_roles_assignment_unique UNIQUE NULLS NOT DISTINCT (tenant_id, user_id, role_id, location_id)
);

CREATE INDEX idx_user_roles_tenant_role ON shared.user_roles (tenant_id, role_id);
CREATE INDEX idx_user_roles_tenant_location ON shared.user_roles (tenant_id, location_id) WHERE location_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Permission check. SECURITY INVOKER: it sees what the caller's tenant sees.
-- 'manage' on a resource implies every action on it.
-- ---------------------------------------------------------------------------
CREATE FUNCTION shared.user_has_permission(p_user_id UUID, p_resource TEXT, p_action TEXT)
    RETURNS BOOLEAN
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (
        SELECT 1
        FROM shared.user_roles ur
        JOIN shared.role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
        JOIN shared.permissions p ON p.id = rp.permission_id
        WHERE ur.user_id = p_user_id
          AND (ur.expires_at IS NULL OR ur.expires_at > now())
          AND p.resource = p_resource
          AND p.action IN (p_action, 'manage')
    )
$$;

-- ---------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------
CREATE TRIGGER set_updated_at_users
    BEFORE UPDATE ON shared.users
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

CREATE TRIGGER set_updated_at_roles
    BEFORE UPDATE ON shared.roles
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at_column();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------
ALTER TABLE shared.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.users FORCE ROW LEVEL SECURITY;
ALTER TABLE shared.roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.roles FORCE ROW LEVEL SECURITY;
ALTER TABLE shared.role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.role_permissions FORCE ROW LEVEL SECURITY;
ALTER TABLE shared.user_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.user_roles FORCE ROW LEVEL SECURITY;

CREATE POLICY "tenant_isolation_users" ON shared.users
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_roles" ON shared.roles
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_role_permissions" ON shared.role_permissions
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

CREATE POLICY "tenant_isolation_user_roles" ON shared.user_roles
    USING (tenant_id = public.get_current_tenant_id())
    WITH CHECK (tenant_id = public.get_current_tenant_id());

-- ---------------------------------------------------------------------------
-- Privileges of the application role
-- ---------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON shared.users, shared.roles, shared.role_permissions, shared.user_roles TO thorbis_app;
GRANT SELECT ON shared.permissions TO thorbis_app;
GRANT EXECUTE ON FUNCTION public.get_current_user_id(), shared.user_has_permission(UUID, TEXT, TEXT) TO thorbis_app;
