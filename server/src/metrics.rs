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
//! With `VXGUARD_METRICS_TOKEN` set, a scrape must send it as a bearer
//! token (compared in constant time); with `VXGUARD_METRICS_LISTEN` set,
//! `/metrics` is served on that address only (`serve.rs`).
//! Not yet: device metrics collected from the routers (items 1-2).

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
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &r)?;
    Ok(out)
}
