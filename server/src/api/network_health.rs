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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// Minutes of history to add to each item, 0-1440 (default 0: none);
    /// one point per minute, the worst status of that minute.
    #[param(minimum = 0, maximum = 1440)]
    pub history_minutes: Option<i32>,
}

/// Items by status.
#[derive(Serialize, ToSchema, Default, PartialEq, Eq, Debug)]
pub struct HealthCounts {
    pub ok: usize,
    pub degraded: usize,
    pub down: usize,
}

/// The health of what the caller may see.
#[derive(Serialize, ToSchema)]
pub struct HealthReport {
    /// When the last collection round finished (null: none yet). Items are
    /// as that round left them.
    pub collected_at: Option<DateTime<Utc>>,
    pub counts: HealthCounts,
    pub items: Vec<HealthItem>,
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
    /// What was observed: a group's gateways and their VRRP states and its
    /// master; a client's `connected`, `handshake_age_secs`, `rx_bytes`,
    /// `tx_bytes`; a session's state; a router's memory and key age.
    #[schema(value_type = Object)]
    pub facts: serde_json::Value,
    /// When the status last changed.
    pub since: DateTime<Utc>,
    /// Since when it has been seen not ok.
    pub bad_since: Option<DateTime<Utc>>,
    pub observed_at: DateTime<Utc>,
    /// With `history_minutes`: the minutes recorded, oldest first. Links
    /// (`bgp`, `wireguard`) record only the minutes they were not ok.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HealthPoint>,
}

/// One minute of an item's history.
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

/// Builds the report; `tenant` `Some`: that tenant's items, errors left out.
pub async fn report(
    st: &AppState,
    tenant: Option<Uuid>,
    q: &HealthQuery,
) -> ApiResult<HealthReport> {
    let minutes = q.history_minutes.unwrap_or(0);
    if !(0..=1440).contains(&minutes) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "history_minutes: from 0 to 1440",
        ));
    }
    let db = st.store.pool();
    let rows = match tenant {
        Some(t) => store::of_tenant(db, t).await?,
        None => store::all(db).await?,
    };
    let mut history: BTreeMap<String, Vec<HealthPoint>> = BTreeMap::new();
    if minutes > 0 {
        for h in store::history(db, tenant, minutes).await? {
            history.entry(h.key).or_default().push(HealthPoint {
                minute: h.minute,
                status: severity_name(h.severity).into(),
            });
        }
    }
    let mut counts = HealthCounts::default();
    let items: Vec<HealthItem> = rows
        .into_iter()
        .map(|r| {
            match r.status.as_str() {
                "ok" => counts.ok += 1,
                "degraded" => counts.degraded += 1,
                _ => counts.down += 1,
            }
            HealthItem {
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
                observed_at: r.observed_at,
            }
        })
        .collect();
    let collected_at = store::last_round(db).await?.map(|(at, _)| at);
    Ok(HealthReport {
        collected_at,
        counts,
        items,
    })
}

#[utoipa::path(get, path = "/api/v1/health", tag = "health", operation_id = "platform_health",
    params(HealthQuery), security(("bearer" = [])),
    responses((status = 200, body = HealthReport, description = "Every device, link, gateway group and client, with the devices' errors"),
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
    responses((status = 200, body = HealthReport, description = "The tenant's gateway groups (per network and site: gateways, master, status) and clients (connected, last handshake, bytes)"),
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
