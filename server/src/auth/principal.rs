//! The caller of a request, from its bearer token: a user's JWT access token
//! or a tenant API token. Handlers take a `Principal` and never look at
//! headers themselves.

use super::secret;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    TenantAdmin,
    TenantMember,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::TenantMember => "tenant_member",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "platform_admin" => Some(Role::PlatformAdmin),
            "tenant_admin" => Some(Role::TenantAdmin),
            "tenant_member" => Some(Role::TenantMember),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Principal {
    /// For the audit log: `user:alice@example.com` or `token:ci`.
    pub subject: String,
    pub user_id: Option<Uuid>,
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

/// Lifetime of access tokens: short, since they cannot be revoked.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub email: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
        }
    }
    pub fn issue(&self, user: Uuid, email: &str, role: Role, tenant: Option<Uuid>) -> String {
        self.issue_at(user, email, role, tenant, chrono::Utc::now().timestamp())
    }
    /// As `issue`, as if it were `now` (tests use it to make expired tokens).
    pub fn issue_at(
        &self,
        user: Uuid,
        email: &str,
        role: Role,
        tenant: Option<Uuid>,
        now: i64,
    ) -> String {
        let c = Claims {
            sub: user,
            email: email.into(),
            role,
            tenant,
            iat: now,
            exp: now + ACCESS_TTL_SECS,
        };
        encode(&Header::new(Algorithm::HS256), &c, &self.enc).expect("HS256 signing cannot fail")
    }
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        decode::<Claims>(token, &self.dec, &v)
            .ok()
            .map(|d| d.claims)
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
            let row: Option<(Uuid, Uuid, String, String)> = sqlx::query_as(
                "UPDATE api_tokens SET last_used_at = now()
                 WHERE token_hash = $1 AND revoked_at IS NULL
                 RETURNING id, tenant_id, name, role",
            )
            .bind(secret::hash(token))
            .fetch_optional(&st.db)
            .await?;
            let (_, tenant, name, role) =
                row.ok_or_else(|| Problem::unauthorized("unknown or revoked API token"))?;
            return Ok(Principal {
                subject: format!("token:{name}"),
                user_id: None,
                role: Role::parse(&role).ok_or_else(Problem::internal)?,
                tenant_id: Some(tenant),
                source,
            });
        }
        let c = st
            .jwt
            .verify(token)
            .ok_or_else(|| Problem::unauthorized("invalid or expired access token"))?;
        Ok(Principal {
            subject: format!("user:{}", c.email),
            user_id: Some(c.sub),
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
