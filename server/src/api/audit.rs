//! The audit log over HTTP: all of it for platform admins, a tenant's own
//! entries for its users.

use super::extract::{Page, Q};
use crate::auth::Principal;
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub source: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    /// The job the change queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    /// The tenant's slug (absent: the platform's own, or an anonymous
    /// login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl From<vxguard_store::audit::Listed> for AuditEntry {
    fn from(e: vxguard_store::audit::Listed) -> Self {
        AuditEntry {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            object: e.object,
            source: e.source,
            before: e.before,
            after: e.after,
            job_id: e.job_id,
            tenant: e.tenant,
        }
    }
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Items per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (newest first).
    pub cursor: Option<i64>,
    /// Only this action, or those under it (`login` keeps `login` and
    /// `login.failed`).
    pub action: Option<String>,
    /// Only entries whose actor, object or action contain this (any case).
    pub q: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
}

/// The store's filter of a query, in `tenant`'s log (all when `None`).
pub fn filter(tenant: Option<Uuid>, q: &AuditQuery) -> vxguard_store::audit::Filter {
    use super::jobs::text_filter;
    vxguard_store::audit::Filter {
        tenant,
        action: text_filter(q.action.as_deref()),
        search: text_filter(q.q.as_deref()),
        since: q.since,
        until: q.until,
        before: q.cursor,
    }
}

/// The log, newest first (one tenant's entries when `tenant` is given), as
/// the query filters it.
pub async fn list(
    st: &AppState,
    tenant: Option<Uuid>,
    q: AuditQuery,
) -> ApiResult<Page<AuditEntry>> {
    let limit = super::extract::page_limit(q.limit)?;
    let rows: Vec<AuditEntry> =
        vxguard_store::audit::list(st.store.pool(), &filter(tenant, &q), limit)
            .await?
            .into_iter()
            .map(AuditEntry::from)
            .collect();
    Ok(Page::new(rows, limit, |e| e.id.to_string()))
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit",
    params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntry>), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem)))]
pub async fn list_all(
    State(st): State<AppState>,
    who: Principal,
    Q(q): Q<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    who.require_platform_admin()?;
    list(&st, None, q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "audit", operation_id = "list_tenant_audit",
    params(("tenant" = String, Path), AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntry>), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn list_tenant(
    State(st): State<AppState>,
    scope: TenantScope,
    Q(q): Q<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    list(&st, Some(scope.id()), q).await.map(Json)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(list_all))
        .route("/api/v1/tenants/{tenant}/audit", get(list_tenant))
}
