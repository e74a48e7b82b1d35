//! Compiled device configuration, per router and hypervisor, with the diff
//! from the previous revision. Platform admins only (a router's
//! configuration holds every tenant on it); key material is redacted.

use super::extract::{Page, P, Q};
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::redact::redact;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vxguard_store::revisions as store_revisions;

#[derive(Serialize, ToSchema)]
pub struct Revision {
    pub device_kind: String,
    pub device: String,
    pub seq: i32,
    pub job_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// VyOS `set`/`delete` commands, or OVS lines prefixed `-`/`+`.
    pub diff: String,
    /// The whole configuration (only when one revision is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

/// A stored revision as the API shows it; the configuration is filled in
/// (redacted) only where one revision is asked for.
impl From<store_revisions::Summary> for Revision {
    fn from(r: store_revisions::Summary) -> Self {
        Revision {
            device_kind: r.device_kind,
            device: r.device,
            seq: r.seq,
            job_id: r.job_id,
            created_at: r.created_at,
            diff: r.diff,
            config: None,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevQuery {
    /// Items per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (newest first).
    pub cursor: Option<i32>,
}

fn check_kind(kind: &str) -> ApiResult<()> {
    if matches!(kind, "router" | "hypervisor") {
        Ok(())
    } else {
        Err(Problem::not_found())
    }
}

#[utoipa::path(get, path = "/api/v1/devices/{kind}/{name}/revisions", tag = "revisions", operation_id = "list_revisions",
    params(("kind" = String, Path, description = "`router` or `hypervisor`"), ("name" = String, Path), RevQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Revision>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    who: Principal,
    path: P<(String, String)>,
    Q(q): Q<RevQuery>,
) -> ApiResult<Json<Page<Revision>>> {
    let P((kind, name)) = path;
    list_revisions(&st, &who, &kind, &name, q).await.map(Json)
}

/// A device's revisions, newest first, without their configuration.
pub async fn list_revisions(
    st: &AppState,
    who: &Principal,
    kind: &str,
    name: &str,
    q: RevQuery,
) -> ApiResult<Page<Revision>> {
    who.require_platform_admin()?;
    check_kind(kind)?;
    let limit = super::extract::page_limit(q.limit)?;
    let mut rows: Vec<Revision> =
        store_revisions::list(st.store.pool(), kind, name, q.cursor, limit)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect();
    for r in &mut rows {
        r.diff = redact(&r.diff);
    }
    Ok(Page::new(rows, limit, |r| r.seq.to_string()))
}

#[utoipa::path(get, path = "/api/v1/devices/{kind}/{name}/revisions/{seq}", tag = "revisions", operation_id = "get_revision",
    params(("kind" = String, Path), ("name" = String, Path), ("seq" = i32, Path)), security(("bearer" = [])),
    responses((status = 200, body = Revision), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_one(
    State(st): State<AppState>,
    who: Principal,
    path: P<(String, String, i32)>,
) -> ApiResult<Json<Revision>> {
    let P((kind, name, seq)) = path;
    get_revision(&st, &who, &kind, &name, seq).await.map(Json)
}

/// One revision with its configuration, key material redacted.
pub async fn get_revision(
    st: &AppState,
    who: &Principal,
    kind: &str,
    name: &str,
    seq: i32,
) -> ApiResult<Revision> {
    who.require_platform_admin()?;
    check_kind(kind)?;
    let mut r: Revision = store_revisions::get_summary(st.store.pool(), kind, name, seq)
        .await?
        .ok_or_else(Problem::not_found)?
        .into();
    r.config = store_revisions::config(st.store.pool(), kind, name, seq).await?;
    r.diff = redact(&r.diff);
    r.config = r.config.as_deref().map(redact);
    Ok(r)
}

/// The revision before `seq` and its configuration (redacted), if any: what
/// a revision's line diff compares against.
pub async fn previous_config(
    st: &AppState,
    who: &Principal,
    kind: &str,
    name: &str,
    seq: i32,
) -> ApiResult<Option<(i32, String)>> {
    who.require_platform_admin()?;
    check_kind(kind)?;
    let before = store_revisions::seq_before(st.store.pool(), kind, name, seq).await?;
    let c = match before {
        Some(b) => store_revisions::config(st.store.pool(), kind, name, b)
            .await?
            .map(|c| (b, c)),
        None => None,
    };
    Ok(c.map(|(seq, c)| (seq, redact(&c))))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices/{kind}/{name}/revisions", get(list))
        .route(
            "/api/v1/devices/{kind}/{name}/revisions/{seq}",
            get(get_one),
        )
}
