//! Device health (issue 18, items 1 and 2): what the collector reads to
//! know what to expect (the intent, the allocation, the devices' public
//! keys, what was applied where), and the rounds it writes: each item's
//! latest state (`health_items`) and a 24-hour history at one-minute
//! resolution (`health_history`, the worst status of each minute). The
//! evaluation itself is the pure `vxguard-health` crate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use vxguard_compiler::alloc::Allocation;
use vxguard_health::eval::Record;
use vxguard_health::Item;

use crate::error::{Result, StoreError};
use crate::intent::Loaded;
use crate::locks;

/// What an evaluation needs from the database.
pub struct Inputs {
    pub loaded: Loaded,
    pub alloc: Allocation,
    /// WireGuard public keys by device name (routers and hypervisors):
    /// never a private key.
    pub public_keys: BTreeMap<String, String>,
    /// By device name.
    pub records: BTreeMap<String, Record>,
}

/// Reads the [`Inputs`]. The allocation is read without locking it (a
/// write allocating meanwhile is seen next round).
pub async fn inputs(db: &PgPool) -> Result<Inputs> {
    let mut conn = db.acquire().await?;
    // Networks and clients are what is expected; rules are not read.
    let loaded = crate::intent::load_topology(&mut conn).await?;
    let alloc = allocation(&mut conn).await?;
    let secrets = crate::sealed::devices(&mut conn).await?;
    drop(conn);
    let now = crate::api_keys::unix_now();
    let mut public_keys = BTreeMap::new();
    let mut key_ages = BTreeMap::new();
    for (name, r) in secrets.routers {
        public_keys.insert(name.clone(), r.wireguard_public_key);
        if let Some(t) = r.api_key_since {
            key_ages.insert(name, now - t);
        }
    }
    for (name, h) in secrets.hypervisors {
        public_keys.insert(name, h.wireguard_public_key);
    }
    let mut records = BTreeMap::new();
    for d in crate::applies::devices(db).await? {
        let failed = d.outcome.as_deref() == Some("failed");
        records.insert(
            d.name.clone(),
            Record {
                applied: d.applied.is_some(),
                apply_failed: failed
                    .then(|| d.apply_error.clone().unwrap_or_else(|| "failed".into())),
                drift: d.drift.clone().filter(|s| !s.is_empty()),
                api_key_age_secs: key_ages.get(&d.name).copied(),
            },
        );
    }
    Ok(Inputs {
        loaded,
        alloc,
        public_keys,
        records,
    })
}

/// The intent and the whole allocation, unlocked (what `vxguard monitoring
/// scrape-config` lists the routers' exporters from).
pub async fn intent_and_allocation(db: &PgPool) -> Result<(Loaded, Allocation)> {
    let mut conn = db.acquire().await?;
    let loaded = crate::intent::load(&mut conn).await?;
    let alloc = allocation(&mut conn).await?;
    Ok((loaded, alloc))
}

/// The whole allocation (platform and every tenant), unlocked.
async fn allocation(conn: &mut PgConnection) -> Result<Allocation> {
    let doc: Option<Value> = sqlx::query_scalar("SELECT doc FROM allocation WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    let mut a: Allocation = match doc {
        Some(mut d) => {
            d["tenants"] = serde_json::json!({});
            serde_json::from_value(d).map_err(|e| StoreError::Corrupt {
                what: format!("stored allocation does not parse: {e}"),
            })?
        }
        None => Allocation::default(),
    };
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "SELECT t.slug, a.doc FROM tenant_allocations a JOIN tenants t ON t.id = a.tenant_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (slug, doc) in rows {
        let ta = serde_json::from_value(doc).map_err(|e| StoreError::Corrupt {
            what: format!("stored allocation of tenant {slug} does not parse: {e}"),
        })?;
        a.tenants.insert(slug, ta);
    }
    Ok(a)
}

/// A collection round's hold on the database: the [`locks::HEALTH`] lock,
/// in the transaction the round's results are written in.
pub struct RoundTx {
    tx: crate::Tx,
}

/// Starts a round unless another collector holds the lock, or finished a
/// round less than `min_gap_secs` ago (several workers each run a
/// collector; one round per interval is enough).
pub async fn begin_round(db: &PgPool, min_gap_secs: f64) -> Result<Option<RoundTx>> {
    let mut tx = db.begin().await?;
    if !locks::try_xact_lock(&mut tx, locks::HEALTH).await? {
        return Ok(None);
    }
    let recent: Option<bool> = sqlx::query_scalar(
        "SELECT at > now() - make_interval(secs => $1) FROM health_rounds WHERE id = 1",
    )
    .bind(min_gap_secs)
    .fetch_optional(&mut *tx)
    .await?;
    if recent == Some(true) {
        return Ok(None);
    }
    Ok(Some(RoundTx { tx }))
}

impl RoundTx {
    /// Each item's `bad_since` (Unix seconds) as the last round left it.
    pub async fn previous(&mut self) -> Result<BTreeMap<String, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT key, extract(epoch FROM bad_since)::bigint FROM health_items
             WHERE bad_since IS NOT NULL",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Writes the round: every item's latest state (items not in `items`
    /// are deleted), this minute's history, the round's figures, and
    /// prunes history older than 24 hours. Items of a tenant that no
    /// longer exists are skipped. Links (BGP sessions, mesh peers) are
    /// the full mesh, N² of them: their history keeps only the minutes
    /// they were not ok (a minute missing after the first round is ok),
    /// so a healthy 200-router platform writes ~80 000 rows a round to
    /// `health_items` but only its devices, groups and clients to the
    /// history.
    pub async fn finish(mut self, items: &[Item], stats: RoundStats) -> Result<()> {
        let col = |f: &dyn Fn(&Item) -> Option<String>| items.iter().map(f).collect::<Vec<_>>();
        let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
        let kinds: Vec<String> = items.iter().map(|i| i.kind.as_str().into()).collect();
        let devices = col(&|i| i.device.clone());
        let peers = col(&|i| i.peer.clone());
        let tenants = col(&|i| i.tenant.clone());
        let networks = col(&|i| i.network.clone());
        let sites = col(&|i| i.site.clone());
        let statuses: Vec<String> = items.iter().map(|i| i.status.as_str().into()).collect();
        let severities: Vec<i16> = items.iter().map(|i| i.status as i16).collect();
        let reasons: Vec<String> = items.iter().map(|i| i.reason.clone()).collect();
        let details = col(&|i| i.detail.clone());
        let facts: Vec<String> = items.iter().map(|i| i.facts.to_string()).collect();
        let bad: Vec<Option<i64>> = items.iter().map(|i| i.bad_since).collect();
        sqlx::query(
            "INSERT INTO health_items (key, kind, device, peer, tenant_id, network, site, status,
                                       reason, detail, facts, bad_since, since, observed_at)
             SELECT u.key, u.kind, u.device, u.peer, t.id, u.network, u.site, u.status,
                    u.reason, u.detail, u.facts::jsonb, to_timestamp(u.bad), now(), now()
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[])
                  AS u(key, kind, device, peer, tenant, network, site, status, reason, detail, facts, bad)
             LEFT JOIN tenants t ON t.slug = u.tenant
             WHERE u.tenant IS NULL OR t.id IS NOT NULL
             ON CONFLICT (key) DO UPDATE SET
               kind = EXCLUDED.kind, device = EXCLUDED.device, peer = EXCLUDED.peer,
               tenant_id = EXCLUDED.tenant_id, network = EXCLUDED.network, site = EXCLUDED.site,
               since = CASE WHEN health_items.status = EXCLUDED.status
                            THEN health_items.since ELSE EXCLUDED.since END,
               status = EXCLUDED.status, reason = EXCLUDED.reason, detail = EXCLUDED.detail,
               facts = EXCLUDED.facts, bad_since = EXCLUDED.bad_since,
               observed_at = EXCLUDED.observed_at",
        )
        .bind(&keys)
        .bind(&kinds)
        .bind(&devices)
        .bind(&peers)
        .bind(&tenants)
        .bind(&networks)
        .bind(&sites)
        .bind(&statuses)
        .bind(&reasons)
        .bind(&details)
        .bind(&facts)
        .bind(&bad)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM health_items WHERE key <> ALL($1::text[])")
            .bind(&keys)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO health_history (key, minute, kind, tenant_id, severity)
             SELECT u.key, date_trunc('minute', now()), u.kind, t.id, u.sev
             FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[]) AS u(key, kind, tenant, sev)
             LEFT JOIN tenants t ON t.slug = u.tenant
             WHERE (u.tenant IS NULL OR t.id IS NOT NULL)
               AND (u.sev > 0 OR u.kind NOT IN ('bgp', 'wireguard'))
             ON CONFLICT (key, minute) DO UPDATE
               SET severity = GREATEST(health_history.severity, EXCLUDED.severity)",
        )
        .bind(&keys)
        .bind(&kinds)
        .bind(&tenants)
        .bind(&severities)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM health_history WHERE minute < now() - interval '24 hours'")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO health_rounds (id, at, took_ms, routers, answered) VALUES (1, now(), $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, took_ms = EXCLUDED.took_ms,
               routers = EXCLUDED.routers, answered = EXCLUDED.answered",
        )
        .bind(stats.took_ms)
        .bind(stats.routers)
        .bind(stats.answered)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// A round's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RoundStats {
    pub took_ms: i64,
    pub routers: i32,
    pub answered: i32,
}

/// The last round: when, and its figures.
pub async fn last_round(db: &PgPool) -> Result<Option<(DateTime<Utc>, RoundStats)>> {
    let row: Option<(DateTime<Utc>, i64, i32, i32)> =
        sqlx::query_as("SELECT at, took_ms, routers, answered FROM health_rounds WHERE id = 1")
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(at, took_ms, routers, answered)| {
        (
            at,
            RoundStats {
                took_ms,
                routers,
                answered,
            },
        )
    }))
}

/// One item as stored.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Row {
    pub key: String,
    pub kind: String,
    pub device: Option<String>,
    pub peer: Option<String>,
    /// The tenant's slug.
    pub tenant: Option<String>,
    pub network: Option<String>,
    pub site: Option<String>,
    pub status: String,
    pub reason: String,
    pub detail: Option<String>,
    pub facts: Value,
    pub bad_since: Option<DateTime<Utc>>,
    pub since: DateTime<Utc>,
    pub observed_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT h.key, h.kind, h.device, h.peer, t.slug AS tenant, h.network, h.site,
        h.status, h.reason, h.detail, h.facts, h.bad_since, h.since, h.observed_at
     FROM health_items h LEFT JOIN tenants t ON t.id = h.tenant_id";

/// Every item (platform admins), devices first, then links, then tenants'.
pub async fn all(db: &PgPool) -> Result<Vec<Row>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} ORDER BY array_position(ARRAY['router','hypervisor','bgp','wireguard','vrrp','client'], h.kind), h.key"
    ))
    .fetch_all(db)
    .await?)
}

/// One tenant's items: its gateway groups and clients, nothing else.
pub async fn of_tenant(db: &PgPool, tenant: Uuid) -> Result<Vec<Row>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE h.tenant_id = $1 AND h.kind IN ('vrrp', 'client') ORDER BY h.kind DESC, h.key"
    ))
    .bind(tenant)
    .fetch_all(db)
    .await?)
}

/// One minute of one item's history.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub key: String,
    pub minute: DateTime<Utc>,
    /// 0 ok, 1 degraded, 2 down (the worst of the minute).
    pub severity: i16,
}

/// The last `minutes` of history: every item's (`tenant` `None`) or one
/// tenant's items'.
pub async fn history(db: &PgPool, tenant: Option<Uuid>, minutes: i32) -> Result<Vec<HistoryRow>> {
    Ok(sqlx::query_as(
        "SELECT key, minute, severity FROM health_history
         WHERE minute >= date_trunc('minute', now()) - make_interval(mins => $2)
           AND ($1::uuid IS NULL OR (tenant_id = $1 AND kind IN ('vrrp', 'client')))
         ORDER BY key, minute",
    )
    .bind(tenant)
    .bind(minutes)
    .fetch_all(db)
    .await?)
}
