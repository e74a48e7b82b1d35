//! The network's health as the collector last saw it (`crate::health`):
//! every item expected by the intent, ok, degraded or down, with why.
//!
//! `GET /api/v1/health` is the platform admins' (every device and link,
//! with the devices' errors); `GET /api/v1/tenants/{tenant}/health` is a
//! tenant's: its gateway groups and its clients, nothing of the platform's
//! devices and links, nothing of another tenant, no device error (those
//! can quote another tenant's configuration) — the store selects by the
//! tenant's id and kind, and `detail` is dropped here.

use super::extract::Q;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vxguard_store::health as store;

/// Items a page holds by default, and at most.
pub const DEFAULT_LIMIT: u32 = 500;
pub const MAX_LIMIT: u32 = 5000;

#[derive(Deserialize, IntoParams, Default, Clone, Debug)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// Minutes of history to add to each item, 0-1440 (default 0: none):
    /// its status at the window's start, then each minute its status
    /// changed (the worst status of that minute).
    #[param(minimum = 0, maximum = 1440)]
    pub history_minutes: Option<i32>,
    /// Only items with this status (`state` is accepted too).
    #[serde(alias = "state")]
    #[param(value_type = Option<String>, pattern = "^(ok|degraded|down)$")]
    pub status: Option<String>,
    /// Only items of this kind.
    #[param(value_type = Option<String>, pattern = "^(router|hypervisor|bgp|wireguard|vrrp|client)$")]
    pub kind: Option<String>,
    /// Only items at this site.
    pub site: Option<String>,
    /// Only items seen on this router (or hypervisor) and the links to it.
    pub router: Option<String>,
    /// Items per page, 1-5000 (default 500).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Where the page starts: the previous page's `next`.
    pub after: Option<String>,
}

/// Items by status.
#[derive(Serialize, ToSchema, Default, PartialEq, Eq, Debug)]
pub struct HealthCounts {
    pub ok: usize,
    pub degraded: usize,
    pub down: usize,
}

/// The health of what the caller may see: a page of it, worst first.
#[derive(Serialize, ToSchema)]
pub struct HealthReport {
    /// When the last collection round finished (null: none yet). Items are
    /// as that round left them.
    pub collected_at: Option<DateTime<Utc>>,
    /// Every item the caller may see, by status (the filters aside).
    pub counts: HealthCounts,
    /// Items matching the filters (on every page).
    pub total: usize,
    /// This page: worst first, then by key.
    pub items: Vec<HealthItem>,
    /// The next page's `after` (null: this is the last page).
    pub next: Option<String>,
}

/// One thing the intent expects, as last observed.
#[derive(Serialize, ToSchema)]
pub struct HealthItem {
    /// Unique: `<kind>:<names>` (`vrrp:<tenant>:<network>:<site>`,
    /// `client:<tenant>:<client>`, `router:<name>`, `bgp:<router>:<peer>`...).
    pub key: String,
    /// `router`, `hypervisor`, `bgp`, `wireguard` (mesh link), `vrrp` (a
    /// network's gateway group at a site) or `client`.
    pub kind: String,
    /// The router or hypervisor it is seen on (a client: its gateway).
    pub device: Option<String>,
    /// The other end of a link.
    pub peer: Option<String>,
    pub tenant: Option<String>,
    pub network: Option<String>,
    pub site: Option<String>,
    /// `ok`, `degraded` or `down`.
    pub status: String,
    pub reason: String,
    /// The device errors behind the reason (platform admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What was observed, as times rather than ages (compute an age
    /// from `collected_at` or now): a group's gateways and their VRRP
    /// states and its master; a client's `connected`, `handshake_at` (Unix
    /// seconds, null: never), `rx_bytes`, `tx_bytes`; a session's `state`
    /// and `state_since` (Unix seconds); a mesh peer's `handshake_at`; a
    /// router's memory and `api_key_since`. Traffic counters are as of
    /// `changed_at`.
    #[schema(value_type = Object)]
    pub facts: serde_json::Value,
    /// When the status last changed.
    pub since: DateTime<Utc>,
    /// Since when it has been seen not ok.
    pub bad_since: Option<DateTime<Utc>>,
    /// The last round that evaluated it (every round evaluates every
    /// item).
    pub observed_at: DateTime<Utc>,
    /// When what is stored of it last changed (status, reason, facts).
    pub changed_at: DateTime<Utc>,
    /// With `history_minutes`: its status at the window's start, then
    /// each minute it changed, oldest first; a point holds until the next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HealthPoint>,
}

/// A point of an item's history: from this minute on, until the next
/// point, this status.
#[derive(Serialize, ToSchema)]
pub struct HealthPoint {
    pub minute: DateTime<Utc>,
    /// The worst status seen in that minute.
    pub status: String,
}

fn severity_name(s: i16) -> &'static str {
    match s {
        0 => "ok",
        1 => "degraded",
        _ => "down",
    }
}

fn bad_request(m: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, m)
}

/// A page cursor: `<severity>:<key>` of the previous page's last item.
fn parse_after(s: &str) -> Option<store::After> {
    let (sev, key) = s.split_once(':')?;
    let severity: i16 = sev.parse().ok().filter(|s| (0..=2).contains(s))?;
    Some(store::After {
        severity,
        key: key.to_string(),
    })
}

fn severity_of(status: &str) -> i16 {
    match status {
        "ok" => 0,
        "degraded" => 1,
        _ => 2,
    }
}

/// The query's filters for `tenant` (`Some`: that tenant's items only),
/// checked.
pub fn filter(tenant: Option<Uuid>, q: &HealthQuery) -> Result<store::Filter, Problem> {
    fn nonempty(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let status = nonempty(&q.status);
    if status.is_some_and(|s| vxguard_health::Status::parse(s).is_none()) {
        return Err(bad_request("status: ok, degraded or down"));
    }
    let kind = nonempty(&q.kind);
    if kind.is_some_and(|k| vxguard_health::Kind::parse(k).is_none()) {
        return Err(bad_request(
            "kind: router, hypervisor, bgp, wireguard, vrrp or client",
        ));
    }
    Ok(store::Filter {
        tenant,
        status: status.map(str::to_string),
        kind: kind.map(str::to_string),
        site: nonempty(&q.site).map(str::to_string),
        device: nonempty(&q.router).map(str::to_string),
    })
}

/// Builds a page of the report; `tenant` `Some`: that tenant's items,
/// errors left out. Filters and pages are the store's SQL.
pub async fn report(
    st: &AppState,
    tenant: Option<Uuid>,
    q: &HealthQuery,
) -> ApiResult<HealthReport> {
    let minutes = q.history_minutes.unwrap_or(0);
    if !(0..=1440).contains(&minutes) {
        return Err(bad_request("history_minutes: from 0 to 1440"));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_request("limit: from 1 to 5000"));
    }
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(parse_after(a).ok_or_else(|| bad_request("after: a page's next"))?),
        None => None,
    };
    let f = filter(tenant, q)?;
    let db = st.store.pool();
    let mut rows = store::page(db, &f, after.as_ref(), limit as i64 + 1).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| format!("{}:{}", severity_of(&r.status), r.key))
    } else {
        None
    };
    let scope = store::Filter {
        tenant,
        ..Default::default()
    };
    let (ok, degraded, down) = store::counts(db, &scope).await?;
    let total = if f == scope {
        ok + degraded + down
    } else {
        let c = store::counts(db, &f).await?;
        c.0 + c.1 + c.2
    };
    let mut history: BTreeMap<String, Vec<HealthPoint>> = BTreeMap::new();
    if minutes > 0 && !rows.is_empty() {
        let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
        for h in store::history(db, &keys, minutes).await? {
            history.entry(h.key).or_default().push(HealthPoint {
                minute: h.minute,
                status: severity_name(h.severity).into(),
            });
        }
    }
    let collected_at = store::last_round(db).await?.map(|(at, _)| at);
    let items: Vec<HealthItem> = rows
        .into_iter()
        .map(|r| HealthItem {
            history: history.remove(&r.key).unwrap_or_default(),
            key: r.key,
            kind: r.kind,
            device: r.device,
            peer: r.peer,
            tenant: r.tenant,
            network: r.network,
            site: r.site,
            status: r.status,
            reason: r.reason,
            detail: if tenant.is_some() { None } else { r.detail },
            facts: r.facts,
            since: r.since,
            bad_since: r.bad_since,
            observed_at: collected_at.unwrap_or(r.observed_at).max(r.observed_at),
            changed_at: r.observed_at,
        })
        .collect();
    Ok(HealthReport {
        collected_at,
        counts: HealthCounts {
            ok: ok as usize,
            degraded: degraded as usize,
            down: down as usize,
        },
        total: total as usize,
        items,
        next,
    })
}

#[utoipa::path(get, path = "/api/v1/health", tag = "health", operation_id = "platform_health",
    params(HealthQuery), security(("bearer" = [])),
    responses((status = 200, body = HealthReport, description = "A page of every device, link, gateway group and client (worst first, filtered by status, kind, site and router), with the devices' errors"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn platform(
    State(st): State<AppState>,
    who: Principal,
    Q(q): Q<HealthQuery>,
) -> ApiResult<Json<HealthReport>> {
    who.require_platform_admin()?;
    report(&st, None, &q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/health", tag = "health", operation_id = "tenant_health",
    params(("tenant" = String, Path), HealthQuery), security(("bearer" = [])),
    responses((status = 200, body = HealthReport, description = "A page of the tenant's gateway groups (per network and site: gateways, master, status) and clients (connected, last handshake, bytes), worst first"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn tenant(
    State(st): State<AppState>,
    scope: TenantScope,
    Q(q): Q<HealthQuery>,
) -> ApiResult<Json<HealthReport>> {
    report(&st, Some(scope.id()), &q).await.map(Json)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(platform))
        .route("/api/v1/tenants/{tenant}/health", get(tenant))
}
