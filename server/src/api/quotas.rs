//! A tenant's quotas: everyone in the tenant reads them (to know why a
//! change was refused); platform admins set them.

use super::extract::{typed, JsonBody};
use crate::audit;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::store::quotas::{self, QuotaOverrides, Quotas};
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

/// The limits that apply and the overrides they come from.
#[derive(Serialize, ToSchema)]
pub struct QuotasOut {
    pub effective: Quotas,
    /// `null` fields take the platform default.
    pub overrides: QuotaOverrides,
    pub defaults: Quotas,
}

async fn read(st: &AppState, scope: &TenantScope) -> ApiResult<QuotasOut> {
    let mut conn = st.db.acquire().await?;
    let overrides = quotas::overrides(&mut conn, scope.id()).await?;
    Ok(QuotasOut {
        effective: overrides.apply(),
        overrides,
        defaults: Quotas::default(),
    })
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/quotas", tag = "tenants", operation_id = "get_tenant_quotas",
    params(("tenant" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = QuotasOut), (status = 401, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn get_quotas(
    State(st): State<AppState>,
    scope: TenantScope,
) -> ApiResult<Json<QuotasOut>> {
    read(&st, &scope).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/quotas", tag = "tenants", operation_id = "set_tenant_quotas",
    params(("tenant" = String, Path)), request_body = QuotaOverrides, security(("bearer" = [])),
    responses((status = 200, body = QuotasOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn set_quotas(
    State(st): State<AppState>,
    scope: TenantScope,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<QuotasOut>> {
    scope.who.require_platform_admin()?;
    let o: QuotaOverrides = typed(b)?;
    let mut tx = st.db.begin().await?;
    let before = quotas::overrides(&mut tx, scope.id()).await?;
    quotas::set(&mut tx, scope.id(), &o).await?;
    audit::append(
        &mut tx,
        audit::Entry::by(
            &scope.who,
            Some(scope.id()),
            "tenant.quotas",
            &format!("tenants/{}/quotas", scope.tenant.slug),
            serde_json::to_value(before).ok(),
            serde_json::to_value(o).ok(),
        ),
    )
    .await?;
    tx.commit().await?;
    st.fairness.forget_rate(scope.id());
    read(&st, &scope).await.map(Json)
}

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/tenants/{tenant}/quotas",
        get(get_quotas).put(set_quotas),
    )
}
