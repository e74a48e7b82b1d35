-- A `/metrics` scrape reads only what its series need (issue 18, item 3):
-- at the benchmark platform (200 routers) there are ~130,000 health items
-- and, with no router answering, about 220 of them have a series; reading
-- every item's facts made a scrape take seconds.
--
-- `exported`: the item has a series of its own in `/metrics`
-- (server/src/metrics.rs, `device_metrics`): every router and hypervisor;
-- a BGP session expected up that was read or has a BFD status; a mesh peer
-- expected up whose router's peer list was read; a gateway group expected
-- to have a master; a client whose connection is known. Kept by
-- PostgreSQL from the facts (jsonb comparisons: no cast can fail on a
-- write); the collector writes nothing more. Change it with the exporter.
ALTER TABLE health_items ADD COLUMN exported boolean NOT NULL GENERATED ALWAYS AS (coalesce(
    kind IN ('router', 'hypervisor')
    OR (kind = 'bgp' AND facts->'expected' = 'true'::jsonb
        AND (coalesce(facts->>'state', 'unknown') <> 'unknown' OR facts->>'bfd' IS NOT NULL))
    OR (kind = 'wireguard' AND facts->'expected' = 'true'::jsonb
        AND facts->'observed' = 'true'::jsonb)
    OR (kind = 'vrrp' AND facts->'expected' = 'true'::jsonb)
    OR (kind = 'client' AND jsonb_typeof(facts->'connected') = 'boolean'),
    false)) STORED;
CREATE INDEX health_items_exported ON health_items (key) WHERE exported;

-- The per-kind and status counts (`vxguard_health_items`) from the index
-- alone.
CREATE INDEX health_items_kind_status ON health_items (kind, status);
