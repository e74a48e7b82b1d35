//! What `/metrics` reads from the database at each scrape (issue 18, item
//! 3): counts, never rows, so a scrape costs a few aggregate queries
//! whatever the platform's size.

use sqlx::PgPool;

use crate::error::Result;

/// The platform's state as counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Jobs by status (`queued`, `running`, `done`, `failed`).
    pub jobs: Vec<(String, i64)>,
    /// Age of the oldest runnable queued job, in seconds: the workers' lag.
    pub oldest_queued_secs: f64,
    /// Finished device applies by device kind and outcome.
    pub applies: Vec<(String, String, i64)>,
    /// Devices whose last drift check found a difference (kind, count), and
    /// those it could not read.
    pub drifted: Vec<(String, i64)>,
    pub unreadable: Vec<(String, i64)>,
}

pub async fn snapshot(db: &PgPool) -> Result<Snapshot> {
    let jobs = sqlx::query_as("SELECT status, count(*) FROM jobs GROUP BY status ORDER BY status")
        .fetch_all(db)
        .await?;
    let oldest: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM jobs \
         WHERE status = 'queued' AND run_after <= now()",
    )
    .fetch_one(db)
    .await?;
    let applies = sqlx::query_as(
        "SELECT device_kind, outcome, count(*) FROM device_applies WHERE outcome IS NOT NULL \
         GROUP BY device_kind, outcome ORDER BY device_kind, outcome",
    )
    .fetch_all(db)
    .await?;
    let drifted = sqlx::query_as(
        "SELECT device_kind, count(*) FROM device_drift WHERE error IS NULL AND drift <> '' \
         GROUP BY device_kind ORDER BY device_kind",
    )
    .fetch_all(db)
    .await?;
    let unreadable = sqlx::query_as(
        "SELECT device_kind, count(*) FROM device_drift WHERE error IS NOT NULL \
         GROUP BY device_kind ORDER BY device_kind",
    )
    .fetch_all(db)
    .await?;
    Ok(Snapshot {
        jobs,
        oldest_queued_secs: oldest.unwrap_or(0.0),
        applies,
        drifted,
        unreadable,
    })
}

/// Each router's API key age in seconds (`None`: not recorded yet) and
/// whether a rotation is under way, by router name.
pub async fn api_key_ages(db: &PgPool) -> Result<Vec<(String, Option<i64>, bool)>> {
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    let now = crate::api_keys::unix_now();
    Ok(s.routers
        .into_iter()
        .map(|(name, r)| {
            let rotating = r.api_key_next.is_some() || r.api_key_retired.is_some();
            (name, r.api_key_since.map(|t| now - t), rotating)
        })
        .collect())
}

/// One collected health item as `/metrics` exports it (issue 18, item 3):
/// the values read out of its facts in SQL, so a scrape at 200 routers
/// (~80 000 link items) moves a few numbers per item, not its JSON.
/// Only items with a series of their own are read ([`health_series`]).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct HealthSeries {
    pub key: String,
    pub kind: String,
    pub device: Option<String>,
    pub peer: Option<String>,
    /// The tenant's slug (gateway groups and clients only).
    pub tenant: Option<String>,
    pub network: Option<String>,
    pub site: Option<String>,
    pub status: String,
    /// Routers: answered the last round.
    pub answered: Option<bool>,
    /// Links and gateway groups: expected up (both ends applied).
    pub expected: Option<bool>,
    /// Mesh peers: the router's peer list was read.
    pub observed: Option<bool>,
    /// BGP sessions: the state FRR printed (`unknown`: not read).
    pub state: Option<String>,
    /// Mesh peers: Unix time of the latest handshake (0: never), when
    /// observed.
    pub handshake_at: Option<f64>,
    pub memory_used_bytes: Option<f64>,
    pub memory_total_bytes: Option<f64>,
    /// Clients: a handshake within the limit.
    pub connected: Option<bool>,
    /// Gateway groups: `[{"router": .., "state": ..}]`.
    pub gateways: Option<serde_json::Value>,
    /// BGP sessions: FRR's status of the BFD session to the peer, when
    /// there is one (`up`, `down`, ...).
    pub bfd: Option<String>,
    /// Routers: the 5-minute load over all cores, whole percent.
    pub cpu_load_percent: Option<f64>,
    /// Routers: `{interface: {rx_bytes, tx_bytes, ...}}` (`show
    /// interfaces counters`), when it answered.
    pub interfaces: Option<serde_json::Value>,
    /// Hypervisors: the bridge's statistics (`vxguard_health::ovs`), or
    /// as a JSON string why it did not answer.
    pub ovs: Option<serde_json::Value>,
}

/// The exported values of the stored health items that have a series of
/// their own (the column `exported`, kept by PostgreSQL from the facts:
/// every router and hypervisor; links and gateway groups expected up and
/// read; clients whose connection is known), in no particular order. The
/// others count in [`health_counts`] only: at the benchmark platform with
/// no router answering that is 220 rows of ~130,000, read through the
/// partial index `health_items_exported` (migration 0018).
pub async fn health_series(db: &PgPool) -> Result<Vec<HealthSeries>> {
    Ok(sqlx::query_as(
        "SELECT h.key, h.kind, h.device, h.peer, t.slug AS tenant, h.network, h.site, h.status,
                (h.facts->>'answered')::bool AS answered,
                (h.facts->>'expected')::bool AS expected,
                (h.facts->>'observed')::bool AS observed,
                CASE WHEN h.kind = 'bgp' THEN h.facts->>'state' END AS state,
                CASE WHEN h.kind = 'wireguard' AND (h.facts->>'observed')::bool THEN
                  coalesce((h.facts->>'handshake_at')::float8, 0)
                END AS handshake_at,
                (h.facts->>'memory_used_bytes')::float8 AS memory_used_bytes,
                (h.facts->>'memory_total_bytes')::float8 AS memory_total_bytes,
                (h.facts->>'connected')::bool AS connected,
                CASE WHEN h.kind = 'vrrp' THEN h.facts->'gateways' END AS gateways,
                CASE WHEN h.kind = 'bgp' THEN h.facts->>'bfd' END AS bfd,
                CASE WHEN h.kind = 'router' THEN (h.facts->>'cpu_load_percent')::float8 END AS cpu_load_percent,
                CASE WHEN h.kind = 'router' THEN h.facts->'interfaces' END AS interfaces,
                CASE WHEN h.kind = 'hypervisor' THEN coalesce(h.facts->'ovs', h.facts->'ovs_error') END AS ovs
         FROM health_items h LEFT JOIN tenants t ON t.id = h.tenant_id
         WHERE h.exported",
    )
    .fetch_all(db)
    .await?)
}

/// Every stored health item counted by kind and status (`router`, `ok`,
/// n), ordered (from the index on both: no item's facts are read).
pub async fn health_counts(db: &PgPool) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT kind, status, count(*) FROM health_items GROUP BY kind, status ORDER BY kind, status",
    )
    .fetch_all(db)
    .await?)
}
