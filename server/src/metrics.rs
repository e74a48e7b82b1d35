//! `GET /metrics` (issue 18, item 3, the first part): vxguard's own
//! metrics in the OpenMetrics text format (`prometheus-client`).
//!
//! - HTTP requests by method, route and status, and their latency as a
//!   histogram by method and route. The route is the matched pattern
//!   (`/api/v1/tenants/{tenant}/networks`), never the path: a label never
//!   carries a tenant's name or any other value a caller chose, so series
//!   stay few and nothing one tenant does shows in another's.
//! - Read from the database at each scrape, as counts
//!   (`vxguard_store::metrics`): jobs by state, the workers' lag, device
//!   applies by outcome, drift, each device's state (applied, pending,
//!   failed, drifted) and each router's API key age.
//!
//! - The collected device state, from the latest health items
//!   ([`device_metrics`]): routers' sessions, BFD, load and interface
//!   counters; hypervisors' bridge port, flow-table, tenant and meter
//!   statistics (read over OpenFlow by the collector). Only the items
//!   with a series of their own are read, the rest counted in SQL.
//!
//! With `VXGUARD_METRICS_TOKEN` set, a scrape must send it as a bearer
//! token (compared in constant time); with `VXGUARD_METRICS_LISTEN` set,
//! `/metrics` is served on that address only (`serve.rs`).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// The process's own metrics and how scrapes are let in.
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    token: Option<String>,
}

impl Metrics {
    /// `token`: the bearer token a scrape must send (`None`: open).
    pub fn new(token: Option<String>) -> Arc<Metrics> {
        Arc::new(Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// `app` with every request to one of its routes counted and timed
    /// (call it on the finished router: only routes present are wrapped).
    pub fn instrument(self: &Arc<Self>, app: Router) -> Router {
        app.route_layer(axum::middleware::from_fn_with_state(self.clone(), record))
    }

    /// The `/metrics` route.
    pub fn routes(self: &Arc<Self>, db: PgPool) -> Router {
        Router::new()
            .route("/metrics", get(scrape))
            .with_state((self.clone(), db))
    }
}

async fn record(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    m.latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16().to_string(),
        })
        .inc();
    res
}

fn authorised(m: &Metrics, headers: &HeaderMap) -> bool {
    let Some(want) = &m.token else {
        return true;
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant time over the expected length.
    let (a, b) = (want.as_bytes(), got.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= (x ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

async fn scrape(State((m, db)): State<(Arc<Metrics>, PgPool)>, headers: HeaderMap) -> Response {
    if !authorised(&m, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required (VXGUARD_METRICS_TOKEN)\n",
        )
            .into_response();
    }
    match render(&m, &db).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "metrics: reading the database failed"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database could not be read\n",
            )
                .into_response()
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApplyLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    kind: String,
    device: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouterLabel {
    router: String,
}

/// One registry per scrape: the long-lived HTTP families (shared, not
/// copied) and gauges filled from the database now.
async fn render(m: &Metrics, db: &PgPool) -> anyhow::Result<String> {
    let snap = vxguard_store::metrics::snapshot(db).await?;
    let devices = crate::rollout::status::list(db).await?;
    let keys = vxguard_store::metrics::api_key_ages(db).await?;
    let mut r = Registry::with_prefix("vxguard");
    r.register(
        "http_requests",
        "HTTP requests by method, matched route and status",
        m.requests.clone(),
    );
    r.register(
        "http_request_duration_seconds",
        "HTTP request latency by method and matched route",
        m.latency.clone(),
    );
    let jobs = Family::<StatusLabel, Gauge>::default();
    for (status, n) in &snap.jobs {
        jobs.get_or_create(&StatusLabel {
            status: status.clone(),
        })
        .set(*n);
    }
    r.register("jobs", "Jobs by status", jobs);
    let lag = Gauge::<f64, AtomicU64>::default();
    lag.set(snap.oldest_queued_secs);
    r.register(
        "job_queue_oldest_seconds",
        "Age of the oldest runnable queued job (0: none): the workers' lag",
        lag,
    );
    let applies = Family::<ApplyLabels, Gauge>::default();
    for (kind, outcome, n) in &snap.applies {
        applies
            .get_or_create(&ApplyLabels {
                kind: kind.clone(),
                outcome: outcome.clone(),
            })
            .set(*n);
    }
    r.register(
        "device_applies_recorded",
        "Finished device applies on record by device kind and outcome",
        applies,
    );
    let drifted = Family::<KindLabel, Gauge>::default();
    let unreadable = Family::<KindLabel, Gauge>::default();
    for kind in ["router", "hypervisor"] {
        let get = |v: &[(String, i64)]| v.iter().find(|(k, _)| k == kind).map_or(0, |x| x.1);
        let label = KindLabel { kind: kind.into() };
        drifted.get_or_create(&label).set(get(&snap.drifted));
        unreadable.get_or_create(&label).set(get(&snap.unreadable));
    }
    r.register(
        "devices_drifted",
        "Devices whose running configuration differs from their applied revision",
        drifted,
    );
    r.register(
        "devices_unreadable",
        "Devices whose last drift check could not read them",
        unreadable,
    );
    let state = Family::<DeviceLabels, Gauge>::default();
    for d in devices {
        state
            .get_or_create(&DeviceLabels {
                kind: d.kind,
                device: d.name,
                state: d.state.as_str().into(),
            })
            .set(1);
    }
    r.register(
        "device_state",
        "1 for each device's state (applied, pending, failed, drifted)",
        state,
    );
    let age = Family::<RouterLabel, Gauge>::default();
    let rotating = Family::<RouterLabel, Gauge>::default();
    for (router, secs, busy) in keys {
        let label = RouterLabel { router };
        if let Some(s) = secs {
            age.get_or_create(&label).set(s);
        }
        rotating.get_or_create(&label).set(i64::from(busy));
    }
    r.register(
        "router_api_key_age_seconds",
        "Age of each router's current HTTP API key",
        age,
    );
    r.register(
        "router_api_key_rotating",
        "1 while a router's API key rotation is under way",
        rotating,
    );
    // Only the items with series of their own, and the others counted in
    // SQL: a few hundred rows at 200 routers when none answers, not
    // ~130,000.
    let rows = vxguard_store::metrics::health_series(db).await?;
    let counts = vxguard_store::metrics::health_counts(db).await?;
    let round = vxguard_store::health::last_round(db).await?;
    device_metrics(&mut r, &rows, &counts, round);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &r)?;
    Ok(out)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ItemsLabels {
    kind: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteRouter {
    site: String,
    router: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteHypervisor {
    site: String,
    hypervisor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkLabels {
    site: String,
    router: String,
    peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    tenant: String,
    network: String,
    site: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabels {
    tenant: String,
    network: String,
    site: String,
    router: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientLabels {
    tenant: String,
    client: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InterfaceLabels {
    site: String,
    router: String,
    interface: String,
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OvsPortLabels {
    site: String,
    hypervisor: String,
    port: String,
    tenant: String,
    network: String,
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OvsTableLabels {
    site: String,
    hypervisor: String,
    table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OvsTenantLabels {
    site: String,
    hypervisor: String,
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OvsMeterLabels {
    site: String,
    hypervisor: String,
    meter: String,
    port: String,
    tenant: String,
    network: String,
}

type GaugeF = Gauge<f64, AtomicU64>;

/// Counters read from a device this scrape: each family is new per
/// scrape, so a counter is set once to the device's value.
type Counters<L> = Family<L, Counter>;

/// The families of the vitals and OVS statistics ([`vitals`], [`ovs`]).
#[derive(Default)]
struct Stats {
    bfd: Family<LinkLabels, Gauge>,
    cpu: Family<SiteRouter, GaugeF>,
    if_bytes: Counters<InterfaceLabels>,
    if_dropped: Counters<InterfaceLabels>,
    if_errors: Counters<InterfaceLabels>,
    ovs_up: Family<SiteHypervisor, Gauge>,
    port_packets: Counters<OvsPortLabels>,
    port_bytes: Counters<OvsPortLabels>,
    port_dropped: Counters<OvsPortLabels>,
    port_errors: Counters<OvsPortLabels>,
    table_flows: Family<OvsTableLabels, Gauge>,
    table_packets: Counters<OvsTableLabels>,
    table_bytes: Counters<OvsTableLabels>,
    tenant_flows: Family<OvsTenantLabels, Gauge>,
    tenant_packets: Counters<OvsTenantLabels>,
    tenant_bytes: Counters<OvsTenantLabels>,
    meter_packets: Counters<OvsMeterLabels>,
    meter_dropped: Counters<OvsMeterLabels>,
}

fn u(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
}

/// A router's vitals: BFD of each session (on its BGP items), load and
/// interface counters (on its own item).
fn vitals(st: &Stats, i: &vxguard_store::metrics::HealthSeries) {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match i.kind.as_str() {
        "bgp" if i.expected == Some(true) => {
            if let Some(b) = &i.bfd {
                st.bfd
                    .get_or_create(&LinkLabels {
                        site: text(&i.site),
                        router: text(&i.device),
                        peer: text(&i.peer),
                    })
                    .set(i64::from(b == "up"));
            }
        }
        "router" if i.answered != Some(false) => {
            let (site, router) = (text(&i.site), text(&i.device));
            if let Some(p) = i.cpu_load_percent {
                st.cpu
                    .get_or_create(&SiteRouter {
                        site: site.clone(),
                        router: router.clone(),
                    })
                    .set(p / 100.0);
            }
            let Some(ifs) = i.interfaces.as_ref().and_then(|v| v.as_object()) else {
                return;
            };
            for (name, c) in ifs {
                for dir in ["rx", "tx"] {
                    let l = InterfaceLabels {
                        site: site.clone(),
                        router: router.clone(),
                        interface: name.clone(),
                        direction: dir.into(),
                    };
                    for (family, what) in [
                        (&st.if_bytes, "bytes"),
                        (&st.if_dropped, "dropped"),
                        (&st.if_errors, "errors"),
                    ] {
                        if let Some(v) = u(&c[format!("{dir}_{what}")]) {
                            family.get_or_create(&l).inc_by(v);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// A hypervisor's bridge statistics (the fact `ovs`): ports and meters
/// labelled with the tenant and network they belong to, when one does.
fn ovs(st: &Stats, i: &vxguard_store::metrics::HealthSeries) {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let (site, hypervisor) = (text(&i.site), text(&i.device));
    let Some(o) = &i.ovs else {
        return;
    };
    st.ovs_up
        .get_or_create(&SiteHypervisor {
            site: site.clone(),
            hypervisor: hypervisor.clone(),
        })
        .set(i64::from(o.is_object()));
    let list = |k: &str| o[k].as_array().cloned().unwrap_or_default();
    for p in list("ports") {
        for dir in ["rx", "tx"] {
            let l = OvsPortLabels {
                site: site.clone(),
                hypervisor: hypervisor.clone(),
                port: s(&p["port"]),
                tenant: s(&p["tenant"]),
                network: s(&p["network"]),
                direction: dir.into(),
            };
            for (family, what) in [
                (&st.port_packets, "packets"),
                (&st.port_bytes, "bytes"),
                (&st.port_dropped, "dropped"),
                (&st.port_errors, "errors"),
            ] {
                if let Some(v) = u(&p[format!("{dir}_{what}")]) {
                    family.get_or_create(&l).inc_by(v);
                }
            }
        }
    }
    for t in list("tables") {
        let l = OvsTableLabels {
            site: site.clone(),
            hypervisor: hypervisor.clone(),
            table: t["table"].to_string(),
        };
        st.table_flows
            .get_or_create(&l)
            .set(u(&t["flows"]).unwrap_or(0) as i64);
        st.table_packets
            .get_or_create(&l)
            .inc_by(u(&t["packets"]).unwrap_or(0));
        st.table_bytes
            .get_or_create(&l)
            .inc_by(u(&t["bytes"]).unwrap_or(0));
    }
    for t in list("tenants") {
        let l = OvsTenantLabels {
            site: site.clone(),
            hypervisor: hypervisor.clone(),
            tenant: s(&t["tenant"]),
        };
        st.tenant_flows
            .get_or_create(&l)
            .set(u(&t["flows"]).unwrap_or(0) as i64);
        st.tenant_packets
            .get_or_create(&l)
            .inc_by(u(&t["packets"]).unwrap_or(0));
        st.tenant_bytes
            .get_or_create(&l)
            .inc_by(u(&t["bytes"]).unwrap_or(0));
    }
    for m in list("meters") {
        let l = OvsMeterLabels {
            site: site.clone(),
            hypervisor: hypervisor.clone(),
            meter: m["meter"].to_string(),
            port: s(&m["port"]),
            tenant: s(&m["tenant"]),
            network: s(&m["network"]),
        };
        st.meter_packets
            .get_or_create(&l)
            .inc_by(u(&m["packets"]).unwrap_or(0));
        st.meter_dropped
            .get_or_create(&l)
            .inc_by(u(&m["dropped"]).unwrap_or(0));
    }
}

impl Stats {
    fn register(self, r: &mut Registry) {
        r.register(
            "bfd_peer_up",
            "1 if FRR's BFD session to the iBGP peer is up; only sessions expected up that have BFD",
            self.bfd,
        );
        r.register(
            "router_cpu_load_ratio",
            "The router's 5-minute load average over all its cores (1 is every core busy)",
            self.cpu,
        );
        r.register(
            "router_interface_bytes",
            "Bytes through the router's interface by direction (show interfaces counters)",
            self.if_bytes,
        );
        r.register(
            "router_interface_dropped",
            "Packets dropped on the router's interface by direction",
            self.if_dropped,
        );
        r.register(
            "router_interface_errors",
            "Errors on the router's interface by direction",
            self.if_errors,
        );
        r.register(
            "hypervisor_ovs_up",
            "1 if the hypervisor's bridge answered the last round's OpenFlow statistics requests",
            self.ovs_up,
        );
        r.register(
            "ovs_port_packets",
            "Packets through the bridge's port by direction (OpenFlow port statistics)",
            self.port_packets,
        );
        r.register(
            "ovs_port_bytes",
            "Bytes through the bridge's port by direction",
            self.port_bytes,
        );
        r.register(
            "ovs_port_dropped",
            "Packets the bridge's port dropped by direction",
            self.port_dropped,
        );
        r.register(
            "ovs_port_errors",
            "Errors on the bridge's port by direction",
            self.port_errors,
        );
        r.register(
            "ovs_table_flows",
            "Flows in the bridge's flow table",
            self.table_flows,
        );
        r.register(
            "ovs_table_packets",
            "Packets matched by the flows of the bridge's table (OpenFlow flow statistics)",
            self.table_packets,
        );
        r.register(
            "ovs_table_bytes",
            "Bytes matched by the flows of the bridge's table",
            self.table_bytes,
        );
        r.register(
            "ovs_tenant_flows",
            "The tenant's flows on the bridge (matching or setting its metadata)",
            self.tenant_flows,
        );
        r.register(
            "ovs_tenant_packets",
            "Packets matched by the tenant's flows on the bridge",
            self.tenant_packets,
        );
        r.register(
            "ovs_tenant_bytes",
            "Bytes matched by the tenant's flows on the bridge",
            self.tenant_bytes,
        );
        r.register(
            "ovs_meter_packets",
            "Packets into the meter (OpenFlow meter statistics), with the port whose flow uses it",
            self.meter_packets,
        );
        r.register(
            "ovs_meter_dropped_packets",
            "Packets the meter's drop band dropped (over the network's rate limit)",
            self.meter_dropped,
        );
    }
}

fn severity(status: &str) -> i64 {
    vxguard_health::Status::parse(status).map_or(2, |s| s as i64)
}

/// The collected device state (issue 18, item 3), from the latest stored
/// health items: platform series labelled `site` and `router` (links add
/// `peer`), tenant series `tenant` (and `network`, `site`), each carrying
/// only that tenant's own groups and clients. A link's or group's series
/// is there only while it is expected up (both ends applied) and was read
/// this round: a router that does not answer loses its own link series
/// (`vxguard_router_up` 0 says why), its peers' links to it go stale.
/// `rows` are the items with series of their own
/// ([`vxguard_store::metrics::health_series`]); `counts` every item by kind
/// and status (`vxguard_health_items`).
fn device_metrics(
    r: &mut Registry,
    rows: &[vxguard_store::metrics::HealthSeries],
    counts: &[(String, String, i64)],
    round: Option<(
        chrono::DateTime<chrono::Utc>,
        vxguard_store::health::RoundStats,
    )>,
) {
    if let Some((at, stats)) = round {
        let g = GaugeF::default();
        g.set(at.timestamp_millis() as f64 / 1000.0);
        r.register(
            "health_round_timestamp_seconds",
            "Unix time of the last health collection round",
            g,
        );
        let g = GaugeF::default();
        g.set(stats.took_ms as f64 / 1000.0);
        r.register(
            "health_round_duration_seconds",
            "How long the last health collection round took",
            g,
        );
        let g = Gauge::<i64>::default();
        g.set(stats.routers.into());
        r.register("health_round_routers", "Routers asked in the last round", g);
        let g = Gauge::<i64>::default();
        g.set(stats.answered.into());
        r.register(
            "health_round_routers_answered",
            "Routers that answered in the last round",
            g,
        );
    }
    let items = Family::<ItemsLabels, Gauge>::default();
    for kind in ["router", "hypervisor", "bgp", "wireguard", "vrrp", "client"] {
        for status in ["ok", "degraded", "down"] {
            items
                .get_or_create(&ItemsLabels {
                    kind: kind.into(),
                    status: status.into(),
                })
                .set(0);
        }
    }
    for (kind, status, n) in counts {
        items
            .get_or_create(&ItemsLabels {
                kind: kind.clone(),
                status: status.clone(),
            })
            .set(*n);
    }
    let router_up = Family::<SiteRouter, Gauge>::default();
    let router_status = Family::<SiteRouter, Gauge>::default();
    let memory = Family::<SiteRouter, GaugeF>::default();
    let hv_status = Family::<SiteHypervisor, Gauge>::default();
    let bgp = Family::<LinkLabels, Gauge>::default();
    let handshake = Family::<LinkLabels, GaugeF>::default();
    let masters = Family::<GroupLabels, Gauge>::default();
    let backups = Family::<GroupLabels, Gauge>::default();
    let gateways = Family::<GroupLabels, Gauge>::default();
    let gateway = Family::<GatewayLabels, Gauge>::default();
    let clients = Family::<ClientLabels, Gauge>::default();
    let stats = Stats::default();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    for i in rows {
        vitals(&stats, i);
        if i.kind == "hypervisor" {
            ovs(&stats, i);
        }
        match i.kind.as_str() {
            "router" => {
                let l = SiteRouter {
                    site: text(&i.site),
                    router: text(&i.device),
                };
                router_status.get_or_create(&l).set(severity(&i.status));
                if let Some(a) = i.answered {
                    router_up.get_or_create(&l).set(i64::from(a));
                }
                if let (Some(u), Some(t)) = (i.memory_used_bytes, i.memory_total_bytes) {
                    if t > 0.0 && i.answered != Some(false) {
                        memory.get_or_create(&l).set(u / t);
                    }
                }
            }
            "hypervisor" => {
                hv_status
                    .get_or_create(&SiteHypervisor {
                        site: text(&i.site),
                        hypervisor: text(&i.device),
                    })
                    .set(severity(&i.status));
            }
            "bgp" if i.expected == Some(true) => {
                let Some(state) = i.state.as_deref().filter(|s| *s != "unknown") else {
                    continue;
                };
                bgp.get_or_create(&LinkLabels {
                    site: text(&i.site),
                    router: text(&i.device),
                    peer: text(&i.peer),
                })
                .set(i64::from(state == "Established"));
            }
            "wireguard" if i.expected == Some(true) => {
                if let Some(at) = i.handshake_at {
                    handshake
                        .get_or_create(&LinkLabels {
                            site: text(&i.site),
                            router: text(&i.device),
                            peer: text(&i.peer),
                        })
                        .set(at.max(0.0).round());
                }
            }
            "vrrp" if i.expected == Some(true) => {
                let states: Vec<(String, String)> = i
                    .gateways
                    .as_ref()
                    .and_then(|g| g.as_array())
                    .map(|a| {
                        a.iter()
                            .map(|g| {
                                (
                                    g["router"].as_str().unwrap_or("").to_string(),
                                    g["state"].as_str().unwrap_or("").to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let (tenant, network, site) = (text(&i.tenant), text(&i.network), text(&i.site));
                let n = states.iter().filter(|(_, s)| s == "MASTER").count();
                let group = GroupLabels {
                    tenant: tenant.clone(),
                    network: network.clone(),
                    site: site.clone(),
                };
                masters.get_or_create(&group).set(n as i64);
                let b = states.iter().filter(|(_, s)| s == "BACKUP").count();
                backups.get_or_create(&group).set(b as i64);
                gateways.get_or_create(&group).set(states.len() as i64);
                for (router, state) in states {
                    if state.starts_with("unknown") {
                        continue;
                    }
                    gateway
                        .get_or_create(&GatewayLabels {
                            tenant: tenant.clone(),
                            network: network.clone(),
                            site: site.clone(),
                            router,
                        })
                        .set(i64::from(state == "MASTER"));
                }
            }
            "client" => {
                let (Some(tenant), Some(connected)) = (&i.tenant, i.connected) else {
                    continue;
                };
                let Some(name) = i.key.strip_prefix(&format!("client:{tenant}:")) else {
                    continue;
                };
                clients
                    .get_or_create(&ClientLabels {
                        tenant: tenant.clone(),
                        client: name.to_string(),
                    })
                    .set(i64::from(connected));
            }
            _ => {}
        }
    }
    r.register(
        "health_items",
        "Collected health items by kind and status (ok, degraded, down)",
        items,
    );
    r.register(
        "router_up",
        "1 if the router answered the last health round's show commands",
        router_up,
    );
    r.register(
        "router_health_status",
        "The router's health: 0 ok, 1 degraded, 2 down",
        router_status,
    );
    r.register(
        "router_memory_used_ratio",
        "Share of the router's memory used (show system memory)",
        memory,
    );
    r.register(
        "hypervisor_health_status",
        "The hypervisor's health (its last apply): 0 ok, 1 degraded, 2 down",
        hv_status,
    );
    r.register(
        "bgp_session_up",
        "1 if the iBGP session to peer is Established; only sessions expected up",
        bgp,
    );
    r.register(
        "wireguard_latest_handshake_timestamp_seconds",
        "Unix time of the latest handshake with the mesh peer (0: never); only peers expected up",
        handshake,
    );
    r.register(
        "vrrp_masters",
        "Gateways reporting MASTER for the tenant network's group at the site (1 is healthy)",
        masters,
    );
    r.register(
        "vrrp_backups",
        "Gateways reporting BACKUP for the tenant network's group at the site (ready to take over)",
        backups,
    );
    r.register(
        "vrrp_gateways",
        "Gateways of the tenant network's group at the site (the intent's)",
        gateways,
    );
    r.register(
        "vrrp_gateway_master",
        "1 if this gateway is the group's master, 0 if it reports another state",
        gateway,
    );
    r.register(
        "client_connected",
        "1 if the remote-access client shook hands within the limit (180 s)",
        clients,
    );
    stats.register(r);
}
