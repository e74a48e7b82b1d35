//! A tenant's quotas: everyone in the tenant reads them (to know why a
//! change was refused); platform admins set them. The limits themselves
//! are the store's (`vxguard_store::quotas`); here are their documented
//! shapes on the wire.

use super::extract::{typed, JsonBody};
use crate::audit;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vxguard_store::quotas;

/// A tenant's limits, as they apply (defaults filled in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quotas {
    pub networks: u32,
    /// VM ports over all of the tenant's networks.
    pub ports: u32,
    pub rules: u32,
    pub services: u32,
    pub clients: u32,
    pub api_tokens: u32,
    pub members: u32,
    /// API and portal requests per minute, for the whole tenant (each API
    /// token also gets at most half of it).
    pub requests_per_minute: u32,
}

impl From<quotas::Quotas> for Quotas {
    fn from(q: quotas::Quotas) -> Self {
        Quotas {
            networks: q.networks,
            ports: q.ports,
            rules: q.rules,
            services: q.services,
            clients: q.clients,
            api_tokens: q.api_tokens,
            members: q.members,
            requests_per_minute: q.requests_per_minute,
        }
    }
}

/// What a platform admin sets: a value per limit, or `null` for the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverrides {
    pub networks: Option<u32>,
    pub ports: Option<u32>,
    pub rules: Option<u32>,
    pub services: Option<u32>,
    pub clients: Option<u32>,
    pub api_tokens: Option<u32>,
    pub members: Option<u32>,
    pub requests_per_minute: Option<u32>,
}

impl From<quotas::QuotaOverrides> for QuotaOverrides {
    fn from(o: quotas::QuotaOverrides) -> Self {
        QuotaOverrides {
            networks: o.networks,
            ports: o.ports,
            rules: o.rules,
            services: o.services,
            clients: o.clients,
            api_tokens: o.api_tokens,
            members: o.members,
            requests_per_minute: o.requests_per_minute,
        }
    }
}

impl From<QuotaOverrides> for quotas::QuotaOverrides {
    fn from(o: QuotaOverrides) -> Self {
        quotas::QuotaOverrides {
            networks: o.networks,
            ports: o.ports,
            rules: o.rules,
            services: o.services,
            clients: o.clients,
            api_tokens: o.api_tokens,
            members: o.members,
            requests_per_minute: o.requests_per_minute,
        }
    }
}

/// The limits that apply and the overrides they come from.
#[derive(Serialize, ToSchema)]
pub struct QuotasOut {
    pub effective: Quotas,
    /// `null` fields take the platform default.
    pub overrides: QuotaOverrides,
    pub defaults: Quotas,
}

async fn read(st: &AppState, scope: &TenantScope) -> ApiResult<QuotasOut> {
    let mut conn = st.store.pool().acquire().await?;
    let overrides = quotas::overrides(&mut conn, scope.id()).await?;
    Ok(QuotasOut {
        effective: overrides.apply().into(),
        overrides: overrides.into(),
        defaults: quotas::Quotas::default().into(),
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
    let o: quotas::QuotaOverrides = typed::<QuotaOverrides>(b)?.into();
    let mut tx = st.store.begin().await?;
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
    vxguard_store::Store::commit(tx).await?;
    st.fairness.forget_rate(scope.id());
    read(&st, &scope).await.map(Json)
}

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/tenants/{tenant}/quotas",
        get(get_quotas).put(set_quotas),
    )
}
