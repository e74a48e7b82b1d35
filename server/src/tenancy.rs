//! Tenant scope: the one place where a request's `{tenant}` path segment is
//! checked against the caller. A tenant user naming another tenant gets 404
//! (not 403), so the existence of other tenants does not leak. Every
//! tenant-scoped handler takes a `TenantScope` and queries with its id.

use crate::auth::{Principal, Role};
use crate::problem::Problem;
use crate::state::AppState;
use crate::store::change::TenantRef;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use std::collections::HashMap;
use uuid::Uuid;

pub struct TenantScope {
    pub tenant: TenantRef,
    pub who: Principal,
}

impl TenantScope {
    pub fn id(&self) -> Uuid {
        self.tenant.id
    }
    /// Writes need a platform admin or this tenant's admin.
    pub fn require_write(&self) -> Result<(), Problem> {
        if self.who.can_write_tenant() {
            Ok(())
        } else {
            Err(Problem::forbidden("tenant members have read-only access"))
        }
    }
}

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Problem> {
        let who = Principal::from_request_parts(parts, st).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, st)
            .await
            .map_err(|_| Problem::not_found())?;
        let slug = params.get("tenant").ok_or_else(Problem::not_found)?;
        resolve(st, who, slug).await
    }
}

/// Resolves `slug` for `who`: the tenant, if it exists and `who` may see
/// it; else 404, the same answer for a missing tenant and another's. The
/// portal uses this too.
pub async fn resolve(st: &AppState, who: Principal, slug: &str) -> Result<TenantScope, Problem> {
    let row: Option<(Uuid, String, Option<i32>)> = sqlx::query_as(
        "SELECT t.id, t.slug, q.requests_per_minute FROM tenants t
         LEFT JOIN tenant_quotas q ON q.tenant_id = t.id WHERE t.slug = $1",
    )
    .bind(slug)
    .fetch_optional(&st.db)
    .await?;
    let (id, slug, rpm) = row.ok_or_else(Problem::not_found)?;
    if who.role != Role::PlatformAdmin && who.tenant_id != Some(id) {
        return Err(Problem::not_found());
    }
    // The tenant's own calls spend its budget; platform admins' do not.
    if who.role != Role::PlatformAdmin {
        let per_minute = rpm
            .map(|n| n.max(1) as u32)
            .unwrap_or(crate::store::quotas::Quotas::default().requests_per_minute);
        let token = who.subject.strip_prefix("token:");
        st.fairness.admit(id, token, per_minute, 1)?;
    }
    Ok(TenantScope {
        tenant: TenantRef { id, slug },
        who,
    })
}
