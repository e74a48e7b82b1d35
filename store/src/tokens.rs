//! API tokens: scoped to one tenant and a role, stored as hashes (the
//! caller hashes), revocable, with their last use.

use crate::error::{conflict_on, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A token as listed (never its hash).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Token {
    pub id: Uuid,
    pub name: String,
    /// `tenant_admin` or `tenant_member`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, name, role, created_at, last_used_at, revoked_at";

/// What a presented token stands for.
pub struct Authenticated {
    pub tenant_id: Uuid,
    pub name: String,
    pub role: String,
    /// The user whose authority it carries.
    pub maker: Option<Uuid>,
}

/// The live token with this hash, its last use recorded. A token never
/// carries more than its maker may do now: the maker must still exist, in
/// the token's tenant (or as a platform admin), and still be an admin for
/// an admin token (this also covers a demotion). One write by the unique
/// hash, one read by key.
pub async fn authenticate(db: &PgPool, token_hash: &[u8]) -> Result<Option<Authenticated>> {
    let row: Option<(Uuid, String, String, Option<Uuid>)> = sqlx::query_as(
        "UPDATE api_tokens a SET last_used_at = now()
         WHERE a.token_hash = $1 AND a.revoked_at IS NULL
           AND (a.created_by IS NULL OR EXISTS (
                SELECT 1 FROM users u WHERE u.id = a.created_by
                  AND (u.role = 'platform_admin'
                       OR (u.tenant_id = a.tenant_id
                           AND (u.role = 'tenant_admin' OR a.role = 'tenant_member')))))
         RETURNING a.tenant_id, a.name, a.role, a.created_by",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(tenant_id, name, role, maker)| Authenticated {
        tenant_id,
        name,
        role,
        maker,
    }))
}

/// The tenant's tokens by name, after `after`.
pub async fn list(
    db: &PgPool,
    tenant: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Token>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM api_tokens WHERE tenant_id = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3"
    ))
    .bind(tenant)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Locks the tenant's row and counts its live tokens (see
/// [`crate::users::lock_tenant_and_count`]).
pub async fn lock_tenant_and_count(conn: &mut PgConnection, tenant: Uuid) -> Result<i64> {
    crate::tenants::lock(conn, tenant).await?;
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await?)
}

/// A new token of a tenant.
pub struct NewToken<'a> {
    pub tenant_id: Uuid,
    pub name: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    /// The user behind the caller (also when a token makes a token), so
    /// that deleting them revokes it.
    pub maker: Option<Uuid>,
}

/// Inserts a token inside the caller's transaction;
/// [`StoreError::Conflict`] on `name` when the tenant has one by that name.
///
/// [`StoreError::Conflict`]: crate::StoreError::Conflict
pub async fn insert(conn: &mut PgConnection, t: &NewToken<'_>) -> Result<Token> {
    sqlx::query_as(&format!(
        "INSERT INTO api_tokens (id, tenant_id, name, role, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLS}"
    ))
    .bind(Uuid::new_v4())
    .bind(t.tenant_id)
    .bind(t.name)
    .bind(t.role)
    .bind(t.token_hash)
    .bind(t.maker)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict_on("name"))
}

/// Revokes one of the tenant's tokens (another tenant's: `None`); revoking
/// twice keeps the first time.
pub async fn revoke(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> Result<Option<Token>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND tenant_id = $2 RETURNING {COLS}"
    ))
    .bind(id)
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?)
}
