//! Device health (issue 18, items 1 and 2): what the collector reads to
//! know what to expect (the intent, the allocation, the devices' public
//! keys, what was applied where), and the rounds it writes: each item's
//! latest state (`health_items`) and a 24-hour history at one-minute
//! resolution (`health_history`, the worst status of each minute). The
//! evaluation itself is the pure `vxguard-health` crate.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use vxguard_compiler::alloc::{Allocation, TenantAlloc};
use vxguard_compiler::intent::{Platform, Tenant};
use vxguard_health::eval::{observed_time, Previous, Record, VOLATILE_FACTS};
use vxguard_health::Item;

use crate::error::{Result, StoreError};
use crate::intent::Loaded;
use crate::locks;

/// What a round reads of the devices every time (a few rows per device).
pub struct Devices {
    /// WireGuard public keys by device name (routers and hypervisors):
    /// never a private key.
    pub public_keys: BTreeMap<String, String>,
    /// By device name.
    pub records: BTreeMap<String, Record>,
    /// Where the clients of tenants whose client interface was rotated
    /// are (issue 17, item 5): interface names and public keys only.
    pub client_placements: vxguard_health::expect::ClientPlacements,
}

/// Reads the [`Devices`].
pub async fn devices(db: &PgPool) -> Result<Devices> {
    let mut conn = db.acquire().await?;
    let secrets = crate::sealed::devices(&mut conn).await?;
    let client_placements = placements(&mut conn, &secrets).await?;
    drop(conn);
    let mut public_keys = BTreeMap::new();
    let mut key_since = BTreeMap::new();
    for (name, r) in secrets.routers {
        public_keys.insert(name.clone(), r.wireguard_public_key);
        if let Some(t) = r.api_key_since {
            key_since.insert(name, t);
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
                api_key_since: key_since.get(&d.name).copied(),
            },
        );
    }
    Ok(Devices {
        public_keys,
        records,
        client_placements,
    })
}

/// [`Devices::client_placements`] from the routers' client epochs: a
/// tenant's clients are on its current epoch's interface (`wg<tenant id>`
/// before its first), and during a rotation those the rotation found stay
/// there while every other one is on the next epoch's.
async fn placements(
    conn: &mut sqlx::PgConnection,
    s: &vxguard_compiler::model::Secrets,
) -> Result<vxguard_health::expect::ClientPlacements> {
    use vxguard_health::expect::ClientPlacement;
    let mut out = BTreeMap::new();
    // Tenants in a first rotation are still on their id: read those ids.
    let first: Vec<String> = s
        .routers
        .values()
        .flat_map(|r| r.client_rotation.iter().flat_map(|c| c.tenants.keys()))
        .filter(|t| !s.routers.values().any(|r| r.client_epochs.contains_key(*t)))
        .cloned()
        .collect();
    let ids: BTreeMap<String, i32> = if first.is_empty() {
        BTreeMap::new()
    } else {
        sqlx::query_as::<_, (String, i32)>(
            "SELECT t.slug, a.number FROM tenant_allocations a JOIN tenants t ON t.id = a.tenant_id
             WHERE t.slug = ANY($1) AND a.number IS NOT NULL",
        )
        .bind(&first)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect()
    };
    for (router, r) in &s.routers {
        let next = r.client_rotation.iter().flat_map(|c| &c.tenants);
        let slugs: BTreeSet<&String> = r.client_epochs.keys().chain(next.map(|(t, _)| t)).collect();
        for slug in slugs {
            let current = match (r.client_epochs.get(slug), ids.get(slug)) {
                (Some(e), _) => format!("wg{}", e.number),
                (None, Some(id)) => format!("wg{id}"),
                (None, None) => continue,
            };
            let p = match r.client_next(slug) {
                Some(n) => ClientPlacement {
                    default: format!("wg{}", n.number),
                    by_key: n
                        .stale
                        .iter()
                        .map(|k| (k.clone(), current.clone()))
                        .collect(),
                },
                None => ClientPlacement {
                    default: current,
                    by_key: BTreeMap::new(),
                },
            };
            out.insert((router.clone(), slug.clone()), p);
        }
    }
    Ok(out)
}

/// Where what the collector expects from stands: the platform's and each
/// tenant's intent revision (`intent_rev`, moved by every write: migration
/// 0008) with the version of its allocation row (`xmin`, new with every
/// write of the row), as text. A part whose version did not move since
/// the collector last read it is not read again. Read before the parts
/// it describes, so a write in between is read again next round, never
/// missed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    pub platform: String,
    /// (id, slug, version) of every tenant.
    pub tenants: Vec<(Uuid, String, String)>,
}

pub async fn versions(db: &PgPool) -> Result<Versions> {
    let mut conn = db.acquire().await?;
    let platform: Option<String> = sqlx::query_scalar(
        "SELECT p.intent_rev::text || '/' || coalesce((SELECT xmin::text FROM allocation WHERE id = 1), '')
         FROM platform_intent p WHERE p.id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let tenants = sqlx::query_as(
        "SELECT t.id, t.slug, t.intent_rev::text || '/' || coalesce(a.xmin::text, '')
         FROM tenants t LEFT JOIN tenant_allocations a ON a.tenant_id = t.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Versions {
        platform: platform.unwrap_or_default(),
        tenants,
    })
}

/// The platform (sites, routers, hypervisors) and its allocation, no
/// tenant.
pub async fn platform(db: &PgPool) -> Result<(Platform, Allocation)> {
    let mut conn = db.acquire().await?;
    let loaded = crate::intent::load_scope(&mut conn, Uuid::nil()).await?;
    let alloc = crate::intent::platform_allocation(&mut conn).await?;
    Ok((loaded.intent.platform, alloc))
}

/// Some tenants' networks and clients (no rules, no services) with their
/// allocations; ids that no longer exist are left out.
pub async fn tenants(
    db: &PgPool,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Tenant, Option<TenantAlloc>)>> {
    let mut conn = db.acquire().await?;
    let tenants = crate::intent::load_tenants_topology(&mut conn, ids).await?;
    let mut allocs = crate::intent::tenant_allocations(&mut conn, ids).await?;
    Ok(tenants
        .into_iter()
        .map(|(id, t)| (id, t, allocs.remove(&id)))
        .collect())
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
/// in the transaction the round's results are written in. The round
/// offers every item it evaluates ([`RoundTx::offer`]), one device at a
/// time; only the items that differ from what is stored are kept and
/// written ([`RoundTx::flush`], a batch at a time), and history gets a
/// row only when an item's status differs from its last row's.
pub struct RoundTx {
    tx: crate::Tx,
    /// This round's minute (Unix minutes): its history rows' minute.
    minute: i64,
    round_no: u32,
    upserts: Vec<Item>,
    /// (key, kind, tenant, severity) for this minute.
    history: Vec<(String, &'static str, Option<String>, i16)>,
    /// What [`Known`] becomes once the round is committed.
    staged: Vec<(String, KnownItem)>,
    written: Written,
}

/// What a round wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Items offered (every expected item).
    pub offered: usize,
    /// Items inserted or updated (new, or changed).
    pub items: usize,
    /// History rows inserted or raised.
    pub history: usize,
    /// Items deleted (no longer expected).
    pub deleted: usize,
}

/// Items written per statement: a round at 200 routers has ~130 000 items,
/// and the first one (an empty table, a collector just started) writes
/// them all without holding them all.
const BATCH: usize = 2_000;

/// What is stored, as the collector remembers it between rounds: per
/// item a digest of what it said, its status, `bad_since`, the time its
/// facts hold, and its last history row. Read from the database when the
/// last round was not this collector's (another worker's, or none since
/// it started), kept up to date by its own rounds. ~100 bytes an item.
#[derive(Default)]
pub struct Known {
    items: HashMap<String, KnownItem>,
    /// The round the map reflects (`health_rounds.at`); `None` with
    /// `loaded`: no round yet.
    round_at: Option<DateTime<Utc>>,
    loaded: bool,
    round_no: u32,
}

struct KnownItem {
    digest: u64,
    bad_since: Option<i64>,
    at: Option<i64>,
    /// The last history row: (Unix minute, severity).
    hist: Option<(i64, i16)>,
    /// The last round (`Known::round_no`) that offered it.
    seen: AtomicU32,
}

impl Known {
    pub fn new() -> Known {
        Known::default()
    }

    /// The previous round's `bad_since` and observed time of an item.
    pub fn previous(&self, key: &str) -> Option<Previous> {
        self.items.get(key).map(|k| Previous {
            bad_since: k.bad_since,
            at: k.at,
        })
    }

    /// Items known to be stored.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Feeds `serde_json`'s writer into a hasher, so facts are hashed as
/// their text without making it.
struct HashWriter<'a>(&'a mut DefaultHasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What an item says, hashed: everything stored but its volatile facts
/// ([`VOLATILE_FACTS`]). Facts are hashed as their JSON text: object keys
/// in order (`serde_json` without `preserve_order`), so an item read back
/// from `jsonb` hashes alike.
#[allow(clippy::too_many_arguments)]
fn digest(
    kind: &str,
    dims: [Option<&str>; 5],
    status: &str,
    reason: &str,
    detail: Option<&str>,
    bad_since: Option<i64>,
    facts: &Value,
) -> u64 {
    let mut h = DefaultHasher::new();
    (kind, dims, status, reason, detail, bad_since).hash(&mut h);
    match facts {
        Value::Object(m) => {
            for (k, v) in m {
                if VOLATILE_FACTS.contains(&k.as_str()) {
                    continue;
                }
                k.hash(&mut h);
                let _ = serde_json::to_writer(HashWriter(&mut h), v);
            }
        }
        v => {
            let _ = serde_json::to_writer(HashWriter(&mut h), v);
        }
    }
    h.finish()
}

fn item_digest(i: &Item) -> u64 {
    digest(
        i.kind.as_str(),
        [
            i.device.as_deref(),
            i.peer.as_deref(),
            i.tenant.as_deref(),
            i.network.as_deref(),
            i.site.as_deref(),
        ],
        i.status.as_str(),
        &i.reason,
        i.detail.as_deref(),
        i.bad_since,
        &i.facts,
    )
}

/// Starts a round unless another collector holds the lock, or finished a
/// round less than `min_gap_secs` ago (several workers each run a
/// collector; one round per interval is enough). History rows are dated
/// by this process's clock, in minutes.
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
    Ok(Some(RoundTx {
        tx,
        minute: crate::api_keys::unix_now().div_euclid(60),
        round_no: 0,
        upserts: Vec::new(),
        history: Vec::new(),
        staged: Vec::new(),
        written: Written::default(),
    }))
}

impl RoundTx {
    /// Brings `known` up to what is stored (a full read when the last
    /// round was not the one it remembers) and starts this round in it.
    pub async fn sync(&mut self, known: &mut Known) -> Result<()> {
        let at: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT at FROM health_rounds WHERE id = 1")
                .fetch_optional(&mut *self.tx)
                .await?;
        if !known.loaded || known.round_at != at {
            known.items = load_known(&mut self.tx).await?;
            known.round_at = at;
            known.loaded = true;
        }
        known.round_no = known.round_no.wrapping_add(1);
        self.round_no = known.round_no;
        Ok(())
    }

    /// Offers one evaluated item: kept to be written if it differs from
    /// what is stored, with a history row if its status differs from its
    /// last row's (or, in the last row's minute, is worse).
    pub fn offer(&mut self, known: &Known, item: Item) {
        self.written.offered += 1;
        let d = item_digest(&item);
        let sev = item.status as i16;
        let prev = known.items.get(&item.key);
        if let Some(p) = prev {
            p.seen.store(self.round_no, Ordering::Relaxed);
        }
        let hist = match prev.and_then(|p| p.hist) {
            Some((m, worst)) if m == self.minute => (sev > worst).then_some((m, sev)),
            Some((_, last)) if last == sev => None,
            _ => Some((self.minute, sev)),
        };
        if let Some((_, s)) = hist {
            self.history
                .push((item.key.clone(), item.kind.as_str(), item.tenant.clone(), s));
        }
        let changed = prev.is_none_or(|p| p.digest != d);
        if !changed && hist.is_none() {
            return;
        }
        self.staged.push((
            item.key.clone(),
            KnownItem {
                digest: d,
                bad_since: item.bad_since,
                at: observed_time(&item.facts),
                hist: hist.or(prev.and_then(|p| p.hist)),
                seen: AtomicU32::new(self.round_no),
            },
        ));
        if changed {
            self.upserts.push(item);
        }
    }

    /// Whether enough is kept to be worth a [`RoundTx::flush`].
    pub fn full(&self) -> bool {
        self.upserts.len() >= BATCH || self.history.len() >= BATCH
    }

    /// Writes what was kept so far. Items of a tenant that no longer
    /// exists are skipped.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.upserts.is_empty() {
            let items = std::mem::take(&mut self.upserts);
            self.written.items += items.len();
            upsert(&mut self.tx, &items).await?;
        }
        if !self.history.is_empty() {
            let rows = std::mem::take(&mut self.history);
            self.written.history += rows.len();
            let mut keys = Vec::with_capacity(rows.len());
            let mut kinds = Vec::with_capacity(rows.len());
            let mut tenants = Vec::with_capacity(rows.len());
            let mut sevs = Vec::with_capacity(rows.len());
            for (k, kind, t, s) in rows {
                keys.push(k);
                kinds.push(kind);
                tenants.push(t);
                sevs.push(s);
            }
            sqlx::query(
                "INSERT INTO health_history (key, minute, kind, tenant_id, severity)
                 SELECT u.key, to_timestamp($5::bigint * 60), u.kind, t.id, u.sev
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[]) AS u(key, kind, tenant, sev)
                 LEFT JOIN tenants t ON t.slug = u.tenant
                 WHERE u.tenant IS NULL OR t.id IS NOT NULL
                 ON CONFLICT (key, minute) DO UPDATE
                   SET severity = GREATEST(health_history.severity, EXCLUDED.severity)",
            )
            .bind(&keys)
            .bind(&kinds)
            .bind(&tenants)
            .bind(&sevs)
            .bind(self.minute)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Ends the round: writes what is left, deletes the items no longer
    /// expected (and their history), prunes history older than 24 hours
    /// (but each item's last row before that: its status at the window's
    /// start), records the round's figures and commits; then `known`
    /// holds what is stored. On an error `known` is left to be read again.
    pub async fn end(mut self, known: &mut Known, stats: RoundStats) -> Result<Written> {
        let (at, gone) = match self.end_inner(known, stats).await {
            Ok(x) => x,
            Err(e) => {
                known.loaded = false;
                return Err(e);
            }
        };
        let RoundTx {
            tx,
            staged,
            written,
            ..
        } = self;
        if let Err(e) = tx.commit().await {
            known.loaded = false;
            return Err(e.into());
        }
        for k in &gone {
            known.items.remove(k);
        }
        known.items.extend(staged);
        known.round_at = Some(at);
        Ok(written)
    }

    async fn end_inner(
        &mut self,
        known: &Known,
        stats: RoundStats,
    ) -> Result<(DateTime<Utc>, Vec<String>)> {
        self.flush().await?;
        let round = self.round_no;
        let gone: Vec<String> = known
            .items
            .iter()
            .filter(|(_, v)| v.seen.load(Ordering::Relaxed) != round)
            .map(|(k, _)| k.clone())
            .collect();
        if !gone.is_empty() {
            self.written.deleted = gone.len();
            sqlx::query("DELETE FROM health_items WHERE key = ANY($1::text[])")
                .bind(&gone)
                .execute(&mut *self.tx)
                .await?;
            sqlx::query("DELETE FROM health_history WHERE key = ANY($1::text[])")
                .bind(&gone)
                .execute(&mut *self.tx)
                .await?;
        }
        sqlx::query(
            "DELETE FROM health_history h
             WHERE h.minute < now() - interval '24 hours'
               AND EXISTS (SELECT 1 FROM health_history n
                           WHERE n.key = h.key AND n.minute > h.minute
                             AND n.minute <= now() - interval '24 hours')",
        )
        .execute(&mut *self.tx)
        .await?;
        let at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO health_rounds (id, at, took_ms, routers, answered) VALUES (1, now(), $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, took_ms = EXCLUDED.took_ms,
               routers = EXCLUDED.routers, answered = EXCLUDED.answered
             RETURNING at",
        )
        .bind(stats.took_ms)
        .bind(stats.routers)
        .bind(stats.answered)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok((at, gone))
    }

    /// Writes a whole round at once: every item (those not in `items` are
    /// deleted), as [`RoundTx::offer`] and [`RoundTx::end`] would with
    /// what is stored read first. For tests and small platforms.
    pub async fn finish(mut self, items: &[Item], stats: RoundStats) -> Result<Written> {
        let mut known = Known::new();
        self.sync(&mut known).await?;
        for i in items {
            self.offer(&known, i.clone());
            if self.full() {
                self.flush().await?;
            }
        }
        self.end(&mut known, stats).await
    }
}
/// Writes items (insert or update), skipping those of a tenant that no
/// longer exists. `since` moves only when the status does.
async fn upsert(tx: &mut crate::Tx, items: &[Item]) -> Result<()> {
    let n = items.len();
    let mut keys = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut devices = Vec::with_capacity(n);
    let mut peers = Vec::with_capacity(n);
    let mut tenants = Vec::with_capacity(n);
    let mut networks = Vec::with_capacity(n);
    let mut sites = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut reasons = Vec::with_capacity(n);
    let mut details = Vec::with_capacity(n);
    let mut facts = Vec::with_capacity(n);
    let mut bad = Vec::with_capacity(n);
    for i in items {
        keys.push(i.key.as_str());
        kinds.push(i.kind.as_str());
        devices.push(i.device.as_deref());
        peers.push(i.peer.as_deref());
        tenants.push(i.tenant.as_deref());
        networks.push(i.network.as_deref());
        sites.push(i.site.as_deref());
        statuses.push(i.status.as_str());
        reasons.push(i.reason.as_str());
        details.push(i.detail.as_deref());
        facts.push(i.facts.to_string());
        bad.push(i.bad_since);
    }
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A stored item as [`load_known`] reads it.
#[derive(sqlx::FromRow)]
struct KnownRow {
    key: String,
    kind: String,
    device: Option<String>,
    peer: Option<String>,
    tenant: Option<String>,
    network: Option<String>,
    site: Option<String>,
    status: String,
    reason: String,
    detail: Option<String>,
    facts: Value,
    bad_since: Option<i64>,
    hist_minute: Option<i64>,
    hist_severity: Option<i16>,
}

/// Every stored item's digest and what the next round needs of it, read
/// 10 000 at a time (never every row at once).
async fn load_known(tx: &mut crate::Tx) -> Result<HashMap<String, KnownItem>> {
    let mut out = HashMap::new();
    let mut after = String::new();
    loop {
        let rows: Vec<KnownRow> = sqlx::query_as(
            "SELECT h.key, h.kind, h.device, h.peer, t.slug AS tenant, h.network, h.site,
                    h.status, h.reason, h.detail, h.facts,
                    extract(epoch FROM h.bad_since)::bigint AS bad_since,
                    l.m AS hist_minute, l.severity AS hist_severity
             FROM health_items h LEFT JOIN tenants t ON t.id = h.tenant_id
             LEFT JOIN LATERAL (
               SELECT (extract(epoch FROM x.minute)::bigint / 60) AS m, x.severity
               FROM health_history x WHERE x.key = h.key ORDER BY x.minute DESC LIMIT 1
             ) l ON true
             WHERE h.key > $1 ORDER BY h.key LIMIT 10000",
        )
        .bind(&after)
        .fetch_all(&mut **tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.key.clone();
        for r in rows {
            let d = digest(
                &r.kind,
                [
                    r.device.as_deref(),
                    r.peer.as_deref(),
                    r.tenant.as_deref(),
                    r.network.as_deref(),
                    r.site.as_deref(),
                ],
                &r.status,
                &r.reason,
                r.detail.as_deref(),
                r.bad_since,
                &r.facts,
            );
            out.insert(
                r.key,
                KnownItem {
                    digest: d,
                    bad_since: r.bad_since,
                    at: observed_time(&r.facts),
                    hist: r.hist_minute.zip(r.hist_severity),
                    seen: AtomicU32::new(0),
                },
            );
        }
    }
    Ok(out)
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

/// 0 ok, 1 degraded, 2 down: the order pages are in (worst first).
const SEVERITY: &str = "(CASE h.status WHEN 'down' THEN 2 WHEN 'degraded' THEN 1 ELSE 0 END)";

/// Then devices, links, tenants' items (a key starts with its kind).
const KIND_ORDER: &str = "ARRAY['router','hypervisor','bgp','wireguard','vrrp','client']";

/// Which items: a tenant's (its gateway groups and clients only) or the
/// platform's (every item), narrowed by status, kind, site and device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// `Some`: that tenant's items only.
    pub tenant: Option<Uuid>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub site: Option<String>,
    /// A router's (or hypervisor's) name: the items seen on it and the
    /// links to it.
    pub device: Option<String>,
}

/// The `WHERE` clause of a [`Filter`], its parameters `$1` to `$5`.
const WHERE: &str = "($1::uuid IS NULL OR (h.tenant_id = $1 AND h.kind IN ('vrrp', 'client')))
       AND ($2::text IS NULL OR h.kind = $2)
       AND ($3::text IS NULL OR h.site = $3)
       AND ($4::text IS NULL OR h.device = $4 OR h.peer = $4)
       AND ($5::text IS NULL OR h.status = $5)";

/// Where a page starts: after this severity and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After {
    pub severity: i16,
    pub key: String,
}

/// Up to `limit` items of `f` after `after`: worst first, then devices,
/// links and tenants' items, then by key.
pub async fn page(db: &PgPool, f: &Filter, after: Option<&After>, limit: i64) -> Result<Vec<Row>> {
    let kpos = format!("array_position({KIND_ORDER}, h.kind)");
    let after_kpos = format!("array_position({KIND_ORDER}, split_part($7, ':', 1))");
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE {WHERE}
           AND ($6::smallint IS NULL OR {SEVERITY} < $6
                OR ({SEVERITY} = $6 AND ({kpos} > {after_kpos}
                                          OR ({kpos} = {after_kpos} AND h.key > $7))))
         ORDER BY {SEVERITY} DESC, {kpos}, h.key LIMIT $8"
    ))
    .bind(f.tenant)
    .bind(&f.kind)
    .bind(&f.site)
    .bind(&f.device)
    .bind(&f.status)
    .bind(after.map(|a| a.severity))
    .bind(after.map(|a| a.key.as_str()))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The items of `f` by status: (ok, degraded, down).
pub async fn counts(db: &PgPool, f: &Filter) -> Result<(i64, i64, i64)> {
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT h.status, count(*) FROM health_items h WHERE {WHERE} GROUP BY h.status"
    ))
    .bind(f.tenant)
    .bind(&f.kind)
    .bind(&f.site)
    .bind(&f.device)
    .bind(&f.status)
    .fetch_all(db)
    .await?;
    let mut c = (0, 0, 0);
    for (s, n) in rows {
        match s.as_str() {
            "ok" => c.0 = n,
            "degraded" => c.1 = n,
            _ => c.2 += n,
        }
    }
    Ok(c)
}

/// Every item (platform admins), worst first.
pub async fn all(db: &PgPool) -> Result<Vec<Row>> {
    page(db, &Filter::default(), None, i64::MAX).await
}

/// One tenant's items: its gateway groups and clients, nothing else.
pub async fn of_tenant(db: &PgPool, tenant: Uuid) -> Result<Vec<Row>> {
    let f = Filter {
        tenant: Some(tenant),
        ..Filter::default()
    };
    page(db, &f, None, i64::MAX).await
}

/// The WireGuard mesh between each pair of sites (and within each), for
/// the console's platform map: counted in SQL, not read link by link.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MeshPair {
    /// The two sites, `a <= b`.
    pub a: String,
    pub b: String,
    pub links: i64,
    /// Links not ok.
    pub bad: i64,
    /// The worst status's severity (0 ok, 1 degraded, 2 down).
    pub worst: i16,
    /// The oldest latest handshake among the links that shook hands.
    pub oldest_handshake_at: Option<i64>,
    /// Links read that never shook hands.
    pub never: i64,
}

pub async fn mesh_pairs(db: &PgPool) -> Result<Vec<MeshPair>> {
    Ok(sqlx::query_as(&format!(
        "WITH site_of AS (
           SELECT device, site FROM health_items WHERE kind IN ('router', 'hypervisor')
         ), l AS (
           SELECT least(h.site, p.site) AS a, greatest(h.site, p.site) AS b, {SEVERITY} AS sev,
                  (h.facts->>'handshake_at')::bigint AS hs,
                  coalesce((h.facts->>'observed')::bool, false) AS observed
           FROM health_items h JOIN site_of p ON p.device = h.peer
           WHERE h.kind = 'wireguard' AND h.site IS NOT NULL
         )
         SELECT a, b, count(*) AS links, count(*) FILTER (WHERE sev > 0) AS bad,
                max(sev)::smallint AS worst, min(hs) AS oldest_handshake_at,
                count(*) FILTER (WHERE hs IS NULL AND observed) AS never
         FROM l GROUP BY a, b ORDER BY a, b"
    ))
    .fetch_all(db)
    .await?)
}

/// One point of an item's history: from this minute on (until the next
/// point) its status was this one, the worst of the minute.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub key: String,
    pub minute: DateTime<Utc>,
    /// 0 ok, 1 degraded, 2 down (the worst of the minute).
    pub severity: i16,
}

/// The last `minutes` of history of the items `keys`, oldest first: the
/// status at the window's start (dated then), then each minute the status
/// differed from the one before. A minute not listed had the status of
/// the point before it.
pub async fn history(db: &PgPool, keys: &[String], minutes: i32) -> Result<Vec<HistoryRow>> {
    Ok(sqlx::query_as(
        "WITH w AS (SELECT date_trunc('minute', now()) - make_interval(mins => $2) AS start)
         SELECT key, minute, severity FROM (
           SELECT DISTINCT ON (x.key) x.key, w.start AS minute, x.severity
           FROM health_history x, w
           WHERE x.key = ANY($1) AND x.minute < w.start
           ORDER BY x.key, x.minute DESC
         ) b
         UNION ALL
         SELECT x.key, x.minute, x.severity FROM health_history x, w
         WHERE x.key = ANY($1) AND x.minute >= w.start
         ORDER BY 1, 2",
    )
    .bind(keys)
    .bind(minutes)
    .fetch_all(db)
    .await?)
}

/// An alert firing now, computed from the stored items with the rules
/// `vxguard monitoring rules` writes for Prometheus (the same expression on
/// the same values, each held for its `for`): what the console shows
/// without an Alertmanager to ask.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Firing {
    pub alert: String,
    pub severity: String,
    /// Instances of this alert firing (the rows are the first few).
    pub instances: i64,
    pub key: String,
    pub device: Option<String>,
    pub peer: Option<String>,
    pub tenant: Option<String>,
    pub network: Option<String>,
    pub site: Option<String>,
    /// Since when its condition has held (as far as the items say).
    pub since: Option<DateTime<Utc>>,
}

/// The thresholds [`firing`] applies (the rule file's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertRules {
    pub handshake_max_secs: i64,
    pub memory_warning: f64,
    pub memory_critical: f64,
    pub api_key_max_age_secs: i64,
}

/// The collected-state alerts firing now, critical first, at most
/// `per_alert` instances of each (with the count of all). Each holds for
/// the rule's `for` counted from the item's `bad_since` (when it went
/// not ok; a handshake: from when it got older than the limit); memory
/// and key age have no stored history, so they fire as soon as they hold.
/// `VxguardHealthStale` fires when the last round is over 10 minutes old
/// (5 minutes stale, held 5), and then the handshake alert does not.
pub async fn firing(db: &PgPool, r: AlertRules, per_alert: i64) -> Result<Vec<Firing>> {
    Ok(sqlx::query_as(
        "WITH last AS (SELECT max(at) AS at FROM health_rounds),
         f AS (
           SELECT 'VxguardRouterDown' AS alert, 'critical' AS severity, h.*, h.bad_since AS firing_since
           FROM health_items h
           WHERE h.kind = 'router' AND (h.facts->>'answered')::bool IS FALSE
             AND h.bad_since <= now() - interval '2 minutes'
           UNION ALL
           SELECT 'VxguardBgpSessionDown', 'critical', h.*, h.bad_since
           FROM health_items h
           WHERE h.kind = 'bgp' AND (h.facts->>'expected')::bool
             AND h.facts->>'state' NOT IN ('Established', 'unknown')
             AND h.bad_since <= now() - interval '2 minutes'
           UNION ALL
           SELECT 'VxguardWireguardHandshakeStale', 'critical', h.*,
                  coalesce(to_timestamp((h.facts->>'handshake_at')::bigint + $1::bigint), h.bad_since)
           FROM health_items h, last
           WHERE h.kind = 'wireguard' AND (h.facts->>'expected')::bool
             AND (h.facts->>'observed')::bool
             AND last.at > now() - make_interval(secs => $1::bigint::float8)
             AND CASE WHEN jsonb_typeof(h.facts->'handshake_at') = 'number'
                      THEN (h.facts->>'handshake_at')::bigint
                           < extract(epoch FROM now())::bigint - $1::bigint - 60
                      ELSE h.bad_since <= now() - interval '1 minute' END
           UNION ALL
           SELECT 'VxguardVrrpNoMaster', 'critical', h.*, h.bad_since
           FROM health_items h
           WHERE h.kind = 'vrrp' AND (h.facts->>'expected')::bool
             AND jsonb_array_length(h.facts->'master') = 0
             AND h.bad_since <= now() - interval '1 minute'
           UNION ALL
           SELECT 'VxguardVrrpSplitBrain', 'critical', h.*, h.bad_since
           FROM health_items h
           WHERE h.kind = 'vrrp' AND jsonb_array_length(h.facts->'master') > 1
             AND h.bad_since <= now() - interval '1 minute'
           UNION ALL
           SELECT 'VxguardVrrpNoBackup', 'warning', h.*, h.bad_since
           FROM health_items h
           WHERE h.kind = 'vrrp' AND jsonb_array_length(h.facts->'master') = 1
             AND EXISTS (SELECT 1 FROM jsonb_array_elements(h.facts->'gateways') g
                         WHERE g->>'state' NOT IN ('MASTER', 'BACKUP'))
             AND h.bad_since <= now() - interval '1 minute'
           UNION ALL
           SELECT CASE WHEN m.ratio > $3::float8 THEN 'VxguardRouterMemoryCritical'
                       ELSE 'VxguardRouterMemoryHigh' END,
                  CASE WHEN m.ratio > $3 THEN 'critical' ELSE 'warning' END, h.*, NULL::timestamptz
           FROM health_items h,
                LATERAL (SELECT (h.facts->>'memory_used_bytes')::float8
                                / nullif((h.facts->>'memory_total_bytes')::float8, 0) AS ratio) m
           WHERE h.kind = 'router' AND m.ratio > $2::float8
           UNION ALL
           SELECT 'VxguardApiKeyTooOld', 'warning', h.*,
                  to_timestamp((h.facts->>'api_key_since')::bigint + $4::bigint)
           FROM health_items h
           WHERE h.kind = 'router' AND jsonb_typeof(h.facts->'api_key_since') = 'number'
             AND (h.facts->>'api_key_since')::bigint < extract(epoch FROM now())::bigint - $4::bigint
         ), ranked AS (
           SELECT f.*, count(*) OVER (PARTITION BY f.alert) AS instances,
                  row_number() OVER (PARTITION BY f.alert ORDER BY f.firing_since NULLS LAST, f.key) AS n
           FROM f
         )
         SELECT x.alert, x.severity, x.instances, x.key, x.device, x.peer, t.slug AS tenant,
                x.network, x.site, x.firing_since AS since
         FROM ranked x LEFT JOIN tenants t ON t.id = x.tenant_id
         WHERE x.n <= $5
         UNION ALL
         SELECT 'VxguardHealthStale', 'warning', 1, 'health:collector', NULL, NULL, NULL, NULL, NULL,
                last.at + interval '5 minutes'
         FROM last WHERE last.at <= now() - interval '10 minutes'
         ORDER BY 2, 1, 10 NULLS LAST, 4",
    )
    .bind(r.handshake_max_secs)
    .bind(r.memory_warning)
    .bind(r.memory_critical)
    .bind(r.api_key_max_age_secs)
    .bind(per_alert)
    .fetch_all(db)
    .await?)
}
