-- Tenant isolation (issue 14).

-- Each tenant's spec as it last compiled: when a later change of that
-- tenant no longer compiles (after a definitions upgrade, say), the worker
-- compiles the other tenants with this one, so the devices keep that
-- tenant's last good configuration and no other tenant's job fails.
CREATE TABLE tenant_compiled (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    digest     text NOT NULL,
    spec       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What went wrong on a job in the operators' words (device answers, other
-- tenants' commands): never shown to a tenant; `errors` holds what the
-- job's own tenant may read.
ALTER TABLE jobs ADD COLUMN operator_errors jsonb;

-- Per-tenant limits a platform admin may change (NULL: the default).
CREATE TABLE tenant_quotas (
    tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    networks     int CHECK (networks >= 0),
    ports        int CHECK (ports >= 0),
    rules        int CHECK (rules >= 0),
    services     int CHECK (services >= 0),
    clients      int CHECK (clients >= 0),
    api_tokens   int CHECK (api_tokens >= 0),
    members      int CHECK (members >= 0),
    requests_per_minute int CHECK (requests_per_minute > 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
