//! The caller of a request, from its bearer token: a user's JWT access token
//! or a tenant API token. Handlers take a `Principal` and never look at
//! headers themselves.

use super::secret;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use uuid::Uuid;

pub use super::role::Role;
pub use super::token::{Claims, JwtKeys, Subject, ACCESS_TTL_SECS};

#[derive(Clone, Debug)]
pub struct Principal {
    /// For the audit log: `user:alice@example.com` or `token:ci`.
    pub subject: String,
    pub user_id: Option<Uuid>,
    /// The user whose authority the caller carries: the user, or the user
    /// who made the API token (a token made by a token passes its maker
    /// on), so deleting that user revokes the tokens.
    pub owner: Option<Uuid>,
    pub role: Role,
    /// `None` only for platform admins.
    pub tenant_id: Option<Uuid>,
    /// Where the request came from (for the audit log).
    pub source: String,
}

impl Principal {
    pub fn require_platform_admin(&self) -> Result<(), Problem> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(Problem::forbidden("only platform admins may do this"))
        }
    }
    /// Writes inside a tenant: platform admins and that tenant's admins.
    pub fn can_write_tenant(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::TenantAdmin)
    }
}

pub fn source_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Problem> {
        let h = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Problem::unauthorized("missing Authorization: Bearer token"))?;
        let token = h
            .strip_prefix("Bearer ")
            .ok_or_else(|| Problem::unauthorized("Authorization must be `Bearer <token>`"))?
            .trim();
        let source = source_of(parts);
        if token.starts_with(secret::API_PREFIX) {
            // A token never carries more than its maker may do now: the
            // maker must still exist, in the token's tenant (or as a
            // platform admin), and still be an admin for an admin token.
            // Deleting a user revokes their tokens besides; this also
            // covers a demotion (the store checks it in one statement).
            let t = vxguard_store::tokens::authenticate(st.store.pool(), &secret::hash(token))
                .await?
                .ok_or_else(|| Problem::unauthorized("unknown or revoked API token"))?;
            let (tenant, name, role, maker) = (t.tenant_id, t.name, t.role, t.maker);
            // Every call of a tenant's token spends the tenant's budget.
            crate::tenancy::admit(st, tenant, Some(&name)).await?;
            parts.extensions.insert(crate::tenancy::Admitted);
            return Ok(Principal {
                subject: format!("token:{name}"),
                user_id: None,
                owner: maker,
                role: Role::parse(&role).ok_or_else(Problem::internal)?,
                tenant_id: Some(tenant),
                source,
            });
        }
        let c = st
            .jwt
            .verify(token)
            .ok_or_else(|| Problem::unauthorized("invalid or expired access token"))?;
        // Every call of a tenant's user spends the tenant's budget, counted
        // from the signed claims before the database is read, so a flood
        // is refused from memory.
        if c.role != Role::PlatformAdmin {
            if let Some(t) = c.tenant {
                crate::tenancy::admit(st, t, None).await?;
                parts.extensions.insert(crate::tenancy::Admitted);
            }
        }
        // The token is good only while it still tells the truth about its
        // user: deleted, moved to another role or tenant, or a password
        // changed since (generation bumped), and it is refused at once,
        // not when it expires. One read by primary key.
        let row = vxguard_store::users::token_state(st.store.pool(), c.sub).await?;
        let current = row.is_some_and(|(role, tenant, generation)| {
            Role::parse(&role) == Some(c.role) && tenant == c.tenant && generation == c.generation
        });
        if !current {
            return Err(Problem::unauthorized(
                "access token revoked (the account changed); log in again",
            ));
        }
        Ok(Principal {
            subject: format!("user:{}", c.email),
            user_id: Some(c.sub),
            owner: Some(c.sub),
            role: c.role,
            tenant_id: c.tenant,
            source,
        })
    }
}

/// Where a request came from (the peer address), for rate limits and audit.
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(source_of(parts)))
    }
}
