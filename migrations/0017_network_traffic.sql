-- Traffic per tenant network (issue 18: the dashboard's plot of the last
-- hour): each round, the byte counters of the network's bridge (`br<vni>`)
-- on each of its gateways, one row per gateway and minute. The plot takes
-- the rates from the differences. Kept two hours; a tenant's rows go with it.
CREATE TABLE network_traffic (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    network   text NOT NULL,
    router    text NOT NULL,
    minute    timestamptz NOT NULL,
    -- When the counters were read (the rate's time base), and the counters.
    at        timestamptz NOT NULL,
    rx_bytes  bigint NOT NULL CHECK (rx_bytes >= 0),
    tx_bytes  bigint NOT NULL CHECK (tx_bytes >= 0),
    PRIMARY KEY (tenant_id, network, router, minute)
);
CREATE INDEX network_traffic_minute ON network_traffic (minute);
