-- Device health, expected versus observed (issue 18, items 1 and 2): the
-- collector (server/src/health/) writes every item's latest state each
-- round, and one row per item and minute of history (the worst status of
-- the minute), pruned after 24 hours. Self-contained.

-- The latest state of every item the intent expects. Items the intent no
-- longer has are deleted by the next round; a tenant's go with it.
CREATE TABLE health_items (
    key         text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('router', 'hypervisor', 'bgp', 'wireguard', 'vrrp', 'client')),
    device      text,
    peer        text,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    network     text,
    site        text,
    status      text NOT NULL CHECK (status IN ('ok', 'degraded', 'down')),
    -- For the item's audience (a tenant reads its own items' reasons).
    reason      text NOT NULL,
    -- Device errors behind the reason: operators only.
    detail      text,
    facts       jsonb NOT NULL DEFAULT '{}',
    -- Since when it has been seen not ok (the 30 s BGP rule is timed by it).
    bad_since   timestamptz,
    -- When the status last changed.
    since       timestamptz NOT NULL,
    observed_at timestamptz NOT NULL,
    -- Tenant items (gateway groups, clients) name their tenant; platform
    -- items (devices, links) never do.
    CHECK ((kind IN ('vrrp', 'client')) = (tenant_id IS NOT NULL))
);
CREATE INDEX health_items_tenant ON health_items (tenant_id) WHERE tenant_id IS NOT NULL;

-- One row per item and minute: the worst status seen in that minute
-- (0 ok, 1 degraded, 2 down).
CREATE TABLE health_history (
    key       text NOT NULL,
    minute    timestamptz NOT NULL,
    kind      text NOT NULL,
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    severity  smallint NOT NULL CHECK (severity BETWEEN 0 AND 2),
    PRIMARY KEY (key, minute)
);
CREATE INDEX health_history_minute ON health_history (minute);
CREATE INDEX health_history_tenant ON health_history (tenant_id, minute) WHERE tenant_id IS NOT NULL;

-- The last collection round (one row): when it ran, how long it took, how
-- many routers answered; a second collector skips a round another just did.
CREATE TABLE health_rounds (
    id        int PRIMARY KEY CHECK (id = 1),
    at        timestamptz NOT NULL,
    took_ms   bigint NOT NULL,
    routers   int NOT NULL,
    answered  int NOT NULL
);
