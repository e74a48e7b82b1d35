-- vxguard's store. Tenant-scoped rows carry tenant_id; the API reaches them
-- only through a scope resolved from the caller's token (server/src/tenancy.rs).

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE tenants (
    id             uuid PRIMARY KEY,
    slug           text NOT NULL UNIQUE,
    name           text NOT NULL,
    default_action text NOT NULL DEFAULT 'drop' CHECK (default_action IN ('accept', 'drop', 'reject')),
    version        bigint NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('platform_admin', 'tenant_admin', 'tenant_member')),
    tenant_id     uuid REFERENCES tenants (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'platform_admin') = (tenant_id IS NULL))
);

-- Refresh tokens rotate: each use marks the row used and issues a new one in
-- the same family; presenting a used token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family     uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('tenant_admin', 'tenant_member')),
    token_hash   bytea NOT NULL UNIQUE,
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    UNIQUE (tenant_id, name)
);

-- Declared objects, one row each: the spec is the compiler's own type as
-- JSON (sites, routers, hypervisors have no tenant; networks, services,
-- rules and clients belong to one).
CREATE TABLE objects (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL,
    tenant_id  uuid REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL,
    spec       jsonb NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (kind, tenant_id, name)
);

-- Platform-wide settings (AS number, pools, WireGuard, underlay): one row.
CREATE TABLE platform (
    id      int PRIMARY KEY CHECK (id = 1),
    spec    jsonb NOT NULL,
    version bigint NOT NULL DEFAULT 1
);

-- The allocation lock (the compiler's Allocation): written with every
-- accepted change, so numbers handed out are stable across jobs.
CREATE TABLE allocation (
    id         int PRIMARY KEY CHECK (id = 1),
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Device key material (the compiler's Secrets); never served by the API.
CREATE TABLE device_secrets (
    id  int PRIMARY KEY CHECK (id = 1),
    doc jsonb NOT NULL
);

CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid,
    reason       text NOT NULL,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     int NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    claim        uuid,
    locked_until timestamptz,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    errors       jsonb,
    result       jsonb
);
CREATE INDEX jobs_pending ON jobs (id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);

-- Every state change of a job, so tests and operators can prove that no job
-- finished twice.
CREATE TABLE job_events (
    id     bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at     timestamptz NOT NULL DEFAULT now(),
    worker text NOT NULL,
    event  text NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id);

-- Compiled configuration per device, with the diff from the previous one.
CREATE TABLE revisions (
    id          bigserial PRIMARY KEY,
    device_kind text NOT NULL CHECK (device_kind IN ('router', 'hypervisor')),
    device      text NOT NULL,
    seq         int NOT NULL,
    job_id      bigint REFERENCES jobs (id) ON DELETE SET NULL,
    config      text NOT NULL,
    diff        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_kind, device, seq)
);

-- Append-only and hash-chained: hash = sha256(prev_hash || canonical row).
CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    tenant_id uuid,
    action    text NOT NULL,
    object    text NOT NULL,
    source    text NOT NULL,
    before    jsonb,
    after     jsonb,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL UNIQUE
);
CREATE INDEX audit_tenant ON audit_log (tenant_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
