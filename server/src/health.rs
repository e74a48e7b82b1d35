//! Health collection (issue 18, items 1 and 2): every
//! `VXGUARD_HEALTH_INTERVAL_SECS` a collector asks each router of the
//! intent, over the VyOS HTTP API, the op-mode `show` commands the
//! evaluation needs (`bgp summary`, `vrrp`, `interfaces wireguard <wg>
//! summary` for the mesh and each client interface, `system memory`; and
//! `bfd peers`, `interfaces counters`, `system uptime`:
//! [`crate::health_vitals`]),
//! compares the answers with the intent (`vxguard-health`) and writes
//! what changed since the last round (`store::health`).
//!
//! Routers are asked side by side, [`Settings::concurrency`] at a time,
//! each within [`Settings::device_timeout`]: a dead or slow router is
//! down with its reason when its time is up, never a delay for the
//! others. One round at a time across all workers (an advisory lock), and
//! one per interval (a worker that finds a round just done skips).
//! Hypervisors are judged from their apply records; their bridges'
//! port, flow and meter statistics are read over OpenFlow
//! (`vxguard_drivers::ovs::stats`) side by side with the routers and kept
//! as the hypervisor item's fact `ovs` ([`vxguard_health::ovs`]). Each
//! tenant network's bridge counters on its gateways are kept a minute at
//! a time for the dashboard's traffic plot (`store::traffic`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;
use vxguard_drivers::ovs::OvsTarget;
use vxguard_health::eval::{evaluate_unit, units, Answers, Round, Rules, Seen};
use vxguard_health::expect::{platform_expected, tenant_expected, Expectations, RouterExpect};
use vxguard_health::parse;
use vxguard_health::vitals::{self, VitalRules, Vitals};
use vxguard_store::health as store;
use vxguard_store::traffic;
use vyos_api::{Client, Show};

use crate::rollout::reconcile::{self, Access};

/// How the collector runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub every: Duration,
    /// Routers asked at once.
    pub concurrency: usize,
    /// How long one router may take to answer all its shows.
    pub device_timeout: Duration,
    pub rules: Rules,
}

impl Settings {
    /// The defaults for an interval: routers get at most a third of it
    /// (10 s at most), so a round with dead routers still fits.
    pub fn every(every: Duration) -> Settings {
        Settings {
            every,
            concurrency: 16,
            device_timeout: (every / 3).clamp(Duration::from_secs(1), Duration::from_secs(10)),
            rules: Rules::default(),
        }
    }
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub routers: usize,
    pub answered: usize,
    /// Items evaluated.
    pub items: usize,
    /// What was written: only the items that changed, history rows only
    /// where a status did.
    pub written: store::Written,
    /// Tenants whose networks and clients were read this round (their
    /// revision or allocation moved, or the collector just started).
    pub tenants_read: usize,
    /// Whether the platform (routers, hypervisors, its allocation) was.
    pub platform_read: bool,
    pub took: Duration,
}

/// What the collector keeps between rounds: what is stored
/// ([`store::Known`]) and what is expected ([`Expecting`]).
#[derive(Default)]
pub struct State {
    known: store::Known,
    expecting: Expecting,
}

/// What a round expects, brought up to date from the intent's revisions
/// ([`store::versions`]) rather than read whole: a tenant's networks and
/// clients are read again only when its revision or allocation moved, the
/// platform only when its own did or a device's public key changed.
/// Kept compact: the expected items and owners themselves, no intent.
#[derive(Default)]
struct Expecting {
    /// The platform's version, `None` before the first read.
    platform: Option<String>,
    /// The public keys the routers' mesh peers were built with.
    public_keys: BTreeMap<String, String>,
    /// Each hypervisor's OpenFlow target (name, target).
    bridges: Vec<(String, String)>,
    /// Where the rotated tenants' clients were placed last.
    placements: vxguard_health::expect::ClientPlacements,
    /// Each tenant's (slug, version) as last read.
    tenants: HashMap<Uuid, (String, String)>,
    /// Shared with the round's futures while it polls; no other holder
    /// between rounds, so updating it copies nothing.
    now: Arc<Expectations>,
}

/// Tenants read at once: the first round reads every tenant, a chunk at a
/// time, so it never holds every tenant's intent at once.
const TENANT_CHUNK: usize = 250;

impl Expecting {
    /// Reads what moved since the last round. Returns the tenants read and
    /// whether the platform was.
    async fn refresh(
        &mut self,
        db: &PgPool,
        public_keys: &BTreeMap<String, String>,
        placements: &vxguard_health::expect::ClientPlacements,
    ) -> Result<(usize, bool)> {
        let v = store::versions(db).await?;
        let e = Arc::make_mut(&mut self.now);
        let mut seen: HashSet<Uuid> = HashSet::with_capacity(v.tenants.len());
        let mut stale: BTreeSet<String> = BTreeSet::new();
        let mut read: Vec<Uuid> = Vec::new();
        let mut versions: HashMap<Uuid, (String, String)> = HashMap::new();
        for (id, slug, version) in v.tenants {
            seen.insert(id);
            match self.tenants.get(&id) {
                Some((s, ver)) if *s == slug && *ver == version => {}
                Some((s, _)) => {
                    stale.insert(s.clone());
                    read.push(id);
                    versions.insert(id, (slug, version));
                }
                None => {
                    read.push(id);
                    versions.insert(id, (slug, version));
                }
            }
        }
        // Gone tenants.
        self.tenants.retain(|id, (slug, _)| {
            let keep = seen.contains(id);
            if !keep {
                stale.insert(slug.clone());
            }
            keep
        });
        e.remove_tenants(&stale);
        for ids in read.chunks(TENANT_CHUNK) {
            let got = store::tenants(db, ids).await?;
            let mut found: HashSet<Uuid> = HashSet::with_capacity(got.len());
            for (id, t, ta) in got {
                found.insert(id);
                e.add_tenant(tenant_expected(&t, ta.as_ref()));
            }
            for id in ids {
                // Deleted between the versions and this read: next round.
                if let (true, Some(ver)) = (found.contains(id), versions.remove(id)) {
                    self.tenants.insert(*id, ver);
                } else {
                    self.tenants.remove(id);
                }
            }
        }
        let platform = self.platform.as_deref() != Some(v.platform.as_str())
            || self.public_keys != *public_keys;
        if platform {
            let (p, alloc) = store::platform(db).await?;
            let (routers, hypervisors) = platform_expected(&p, &alloc, public_keys);
            e.expected.set_platform(routers, hypervisors);
            self.bridges = p
                .hypervisors
                .iter()
                .map(|h| (h.name.to_string(), h.openflow_target()))
                .collect();
            self.platform = Some(v.platform);
            self.public_keys = public_keys.clone();
        }
        // Rotated tenants' clients (issue 17, item 5): placed again when a
        // tenant was read, the platform was, or the placements moved.
        if !read.is_empty() || platform || *placements != self.placements {
            e.expected.place_clients(placements);
            self.placements = placements.clone();
        }
        Ok((read.len(), platform))
    }
}

/// Runs rounds forever, one per interval, remembering between rounds
/// what is stored (so a round writes only what changed without reading
/// every item back).
pub fn spawn(db: PgPool, s: Settings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(db, s))
}

/// [`spawn`] on a thread of its own below request serving, with its own
/// pool of `connections` (`vxguard_store::background::spawn_runtime`): a
/// round's evaluation (tenths of a second of CPU at the benchmark
/// platform's size, between two writes) then never holds a thread that
/// answers requests.
pub fn spawn_background(database_url: String, connections: u32, s: Settings) -> Result<()> {
    vxguard_store::background::spawn_runtime("vxguard-health", move || async move {
        match vxguard_store::db::connect(&database_url, connections).await {
            Ok(db) => run(db, s).await,
            Err(e) => tracing::error!(error = format!("{e:#}"), "health collector stopped"),
        }
    })
    .context("starting the health collector's thread")
}

async fn run(db: PgPool, s: Settings) {
    let mut tick = tokio::time::interval(s.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = State::default();
    loop {
        tick.tick().await;
        match round_with(&db, &s, &mut state).await {
            Ok(Some(r)) => tracing::debug!(
                routers = r.routers,
                answered = r.answered,
                items = r.items,
                items_written = r.written.items,
                tenants_read = r.tenants_read,
                platform_read = r.platform_read,
                history_written = r.written.history,
                deleted = r.written.deleted,
                took_ms = r.took.as_millis() as u64,
                rss_mib = rss_mib(),
                "health round"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "health round failed"),
        }
    }
}

/// This process's resident memory in MiB (Linux; 0 elsewhere), for the
/// round's log line.
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// One round, reading what is stored first: `None` when another
/// collector holds the round or did one less than 80 % of an interval ago.
pub async fn round(db: &PgPool, s: &Settings) -> Result<Option<Summary>> {
    round_with(db, s, &mut State::default()).await
}

/// One round with what the collector remembers of the stored items.
/// Routers are asked side by side; then the items are evaluated one
/// router (group, client) at a time and only those that changed are
/// kept, and written a batch at a time.
pub async fn round_with(db: &PgPool, s: &Settings, state: &mut State) -> Result<Option<Summary>> {
    let Some(mut tx) = store::begin_round(db, s.every.as_secs_f64() * 0.8).await? else {
        return Ok(None);
    };
    let started = Instant::now();
    let State { known, expecting } = state;
    tx.sync(known).await?;
    let store::Devices {
        public_keys,
        records,
        client_placements,
    } = store::devices(db).await?;
    let refreshed = expecting
        .refresh(db, &public_keys, &client_placements)
        .await;
    let (tenants_read, platform_read) = match refreshed {
        Ok(r) => r,
        Err(e) => {
            // Half updated: read everything again next round.
            *expecting = Expecting::default();
            return Err(e);
        }
    };
    drop(public_keys);
    let all = Arc::clone(&expecting.now);
    let expect = &all.expected;
    let owners = &all.owners;
    let network_bridges = &all.bridges;
    let bridges = expecting.bridges.clone();
    let mut access = reconcile::routers(db).await?;
    let timeout = s.device_timeout;
    // Owned (shared, not copied), so the futures borrow nothing across
    // the stream.
    let jobs: Vec<(usize, Option<Access>)> = expect
        .routers
        .iter()
        .enumerate()
        .map(|(i, r)| (i, access.remove(&r.name)))
        .collect();
    let routers = futures::stream::iter(jobs)
        .map(|(i, a)| {
            let e = Arc::clone(&all);
            async move {
                let r = &e.expected.routers[i];
                let (seen, vitals) = poll(a.as_ref(), r, timeout).await;
                (r.name.clone(), seen, vitals)
            }
        })
        .buffer_unordered(s.concurrency.max(1))
        .collect::<Vec<(String, Seen, Option<Vitals>)>>();
    // Each hypervisor's bridge, over its OpenFlow connection, as many at
    // once and within the same time as routers.
    let hypervisors = futures::stream::iter(bridges)
        .map(|(name, openflow)| async move {
            let t = OvsTarget { name, openflow };
            let a = vxguard_drivers::ovs::stats(&t, timeout).await;
            (t.name, a)
        })
        .buffer_unordered(s.concurrency.max(1))
        .collect::<BTreeMap<String, Result<vxguard_health::ovs::OvsStats, String>>>();
    let (polled, bridges) = tokio::join!(routers, hypervisors);
    // BFD, interface counters and load ([`crate::health_vitals`]), added
    // to the items as they are evaluated.
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut vital: BTreeMap<String, Vitals> = BTreeMap::new();
    for (name, s, v) in polled {
        if let Some(v) = v {
            vital.insert(name.clone(), v);
        }
        seen.insert(name, s);
    }
    let traffic = traffic_samples(expect, &vital, network_bridges);
    let answered = seen
        .values()
        .filter(|s| matches!(s, Seen::Answered(_)))
        .count();
    {
        let known: &store::Known = known;
        let previous = |k: &str| known.previous(k);
        let r = Round {
            expected: expect,
            seen: &seen,
            records: &records,
            previous: &previous,
            now: vxguard_store::api_keys::unix_now(),
            rules: s.rules,
        };
        for u in units(expect) {
            evaluate_unit(&r, u, &mut |mut item| {
                vitals::apply_item(&mut item, &vital, expect, r.now, VitalRules::default());
                vxguard_health::ovs::apply_item(&mut item, &bridges, owners);
                tx.offer(known, item)
            });
            if tx.full() {
                tx.flush().await?;
            }
        }
    }
    let took = started.elapsed();
    let written = tx
        .end(
            known,
            store::RoundStats {
                took_ms: took.as_millis() as i64,
                routers: seen.len() as i32,
                answered: answered as i32,
            },
        )
        .await?;
    drop(all);
    traffic::record(db, &traffic).await?;
    Ok(Some(Summary {
        routers: seen.len(),
        answered,
        items: written.offered,
        written,
        tenants_read,
        platform_read,
        took,
    }))
}

/// Each tenant network's bridge counters on each of its gateways that
/// answered (once per gateway and network), for the dashboard's traffic plot.
fn traffic_samples(
    expect: &vxguard_health::expect::Expected,
    vital: &BTreeMap<String, Vitals>,
    network_bridges: &BTreeMap<(String, String), String>,
) -> Vec<traffic::Sample> {
    let mut out: BTreeMap<(String, String, String), traffic::Sample> = BTreeMap::new();
    for g in &expect.groups {
        let Some(ifname) = network_bridges.get(&(g.tenant.clone(), g.network.clone())) else {
            continue;
        };
        for gw in &g.gateways {
            let Some(Ok(ifs)) = vital.get(gw).map(|v| &v.interfaces) else {
                continue;
            };
            let Some(c) = ifs.iter().find(|i| &i.interface == ifname) else {
                continue;
            };
            out.insert(
                (g.tenant.clone(), g.network.clone(), gw.clone()),
                traffic::Sample {
                    tenant: g.tenant.clone(),
                    network: g.network.clone(),
                    router: gw.clone(),
                    rx_bytes: c.rx_bytes,
                    tx_bytes: c.tx_bytes,
                },
            );
        }
    }
    out.into_values().collect()
}

/// Asks one router everything, within `timeout`: what the evaluation
/// reads and, side by side, its vitals (`None` when it did not answer).
async fn poll(
    access: Option<&Access>,
    r: &RouterExpect,
    timeout: Duration,
) -> (Seen, Option<Vitals>) {
    let Some(access) = access else {
        return (
            Seen::Unreachable("not in the platform's routers".into()),
            None,
        );
    };
    let mut client = match access.client() {
        Ok(c) => c,
        Err(e) => return (Seen::Unreachable(e), None),
    };
    client.timeout = timeout;
    let both = async { tokio::join!(ask(&client, r), crate::health_vitals::ask(&client)) };
    match tokio::time::timeout(timeout, both).await {
        Ok((seen @ Seen::Answered(_), v)) => (seen, Some(v)),
        Ok((seen, _)) => (seen, None),
        Err(_) => (
            Seen::Unreachable(format!("no answer within {timeout:?}")),
            None,
        ),
    }
}

/// One op-mode command's text, or why there is none; `Err(Err(_))`: the
/// router did not answer at all.
async fn show(client: &Client, path: &[&str]) -> Result<Result<String, String>, String> {
    let s = Show {
        path: path.iter().map(|p| p.to_string()).collect(),
    };
    match client.show(&s).await {
        Ok(a) if a.ok() => Ok(Ok(a.envelope.data.as_str().unwrap_or("").to_string())),
        Ok(a) => Ok(Err(format!(
            "show {} answered {}: {}",
            path.join(" "),
            a.status,
            a.error().unwrap_or("").trim()
        ))),
        Err(e) => Err(e.to_string()),
    }
}

async fn ask(client: &Client, r: &RouterExpect) -> Seen {
    // The first answer tells whether the router is there at all.
    let bgp = match show(client, &["bgp", "summary"]).await {
        Err(e) => return Seen::Unreachable(e),
        Ok(t) => t.map(|t| parse::bgp_summary(&t)),
    };
    let flat = |r: Result<Result<String, String>, String>| r.and_then(|x| x);
    let interfaces: Vec<String> = std::iter::once(r.mesh_interface.clone())
        .chain(r.client_interfaces.iter().cloned())
        .collect();
    let (vrrp, memory, wg) = tokio::join!(
        show(client, &["vrrp"]),
        show(client, &["system", "memory"]),
        futures::future::join_all(interfaces.into_iter().map(|i| async move {
            let t = show(client, &["interfaces", "wireguard", &i, "summary"]).await;
            (i, flat(t).map(|t| parse::wireguard(&t)))
        })),
    );
    Seen::Answered(Answers {
        at: Some(vxguard_store::api_keys::unix_now()),
        bgp,
        vrrp: flat(vrrp).map(|t| parse::vrrp(&t)),
        wireguard: wg.into_iter().collect(),
        memory: flat(memory)
            .and_then(|t| parse::memory(&t).ok_or_else(|| format!("not understood: {t:?}"))),
    })
}
