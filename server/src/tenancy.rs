//! Tenant scope: the one place where a request's `{tenant}` path segment is
//! checked against the caller. A tenant user naming another tenant gets 404
//! (not 403), so the existence of other tenants does not leak. Every
//! tenant-scoped handler takes a `TenantScope` and queries with its id.

use crate::auth::{Principal, Role};
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use std::collections::HashMap;
use uuid::Uuid;
use vxguard_store::write::TenantRef;

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
    /// Adding a WireGuard client (and revoking or re-keying one): a
    /// platform admin, this tenant's admin, or one of its members when the
    /// tenant allows it (`members_add_clients`). A member then changes only
    /// the clients they added: the store refuses the others
    /// (`Writer::own_objects_only`).
    pub async fn require_client_write(&self, st: &AppState) -> Result<(), Problem> {
        if self.who.can_write_tenant() {
            return Ok(());
        }
        if self.who.role == Role::TenantMember
            && vxguard_store::tenants::members_add_clients(st.store.pool(), self.id()).await?
        {
            return Ok(());
        }
        Err(Problem::forbidden(MEMBERS_MAY_NOT_ADD_CLIENTS))
    }
}

/// Why a member may not add a client.
pub const MEMBERS_MAY_NOT_ADD_CLIENTS: &str = "this tenant's admins have not allowed members to add their own clients (the tenant setting members_add_clients is off): ask one of them";

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Problem> {
        let who = Principal::from_request_parts(parts, st).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, st)
            .await
            .map_err(|_| Problem::not_found())?;
        let slug = params.get("tenant").ok_or_else(Problem::not_found)?;
        let counted = parts.extensions.get::<Admitted>().is_some();
        resolve_counted(st, who, slug, counted).await
    }
}

/// Marks a request whose principal has already spent its tenant's budget
/// (the API's extractor admits before it reads the database).
#[derive(Clone, Copy)]
pub struct Admitted;

/// Spends one request of `tenant`'s budget (and of its API token's), or
/// refuses with 429 naming the quota.
pub async fn admit(st: &AppState, tenant: Uuid, token: Option<&str>) -> Result<(), Problem> {
    let per_minute = request_rate(st, tenant).await?;
    st.fairness.admit(tenant, token, per_minute, 1)
}

/// Resolves `slug` for `who`: the tenant, if it exists and `who` may see
/// it; else 404, the same answer for a missing tenant and another's. The
/// portal uses this too.
pub async fn resolve(st: &AppState, who: Principal, slug: &str) -> Result<TenantScope, Problem> {
    resolve_counted(st, who, slug, false).await
}

async fn resolve_counted(
    st: &AppState,
    who: Principal,
    slug: &str,
    counted: bool,
) -> Result<TenantScope, Problem> {
    // A tenant's own calls spend its budget (platform admins' do not),
    // counted before anything else is read: a tenant flooding the API is
    // refused from memory, without a database round trip.
    if who.role != Role::PlatformAdmin {
        let Some(mine) = who.tenant_id else {
            return Err(Problem::not_found());
        };
        if !counted {
            admit(st, mine, who.subject.strip_prefix("token:")).await?;
        }
    }
    let row = vxguard_store::tenants::by_slug(st.store.pool(), slug).await?;
    let (id, slug) = row.ok_or_else(Problem::not_found)?;
    if who.role != Role::PlatformAdmin && who.tenant_id != Some(id) {
        return Err(Problem::not_found());
    }
    Ok(TenantScope {
        tenant: TenantRef { id, slug },
        who,
    })
}

/// A tenant's requests per minute: its quota, read at most every few
/// seconds (see `fairness`).
pub async fn request_rate(st: &AppState, tenant: Uuid) -> Result<u32, Problem> {
    if let Some(r) = st.fairness.cached_rate(tenant) {
        return Ok(r);
    }
    let mut conn = st.store.pool().acquire().await?;
    let r = vxguard_store::quotas::of(&mut conn, tenant)
        .await?
        .requests_per_minute;
    st.fairness.cache_rate(tenant, r);
    Ok(r)
}
