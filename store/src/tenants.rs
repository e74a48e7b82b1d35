//! Tenant rows. A tenant's declared network state lives with the write
//! path (objects, allocation); this is the row itself: slug, name, policy
//! default, version, and the reads the pages need.

use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A tenant as shown.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Tenant {
    pub slug: String,
    pub name: String,
    /// What the policy does with traffic no rule matches.
    pub default_action: String,
    /// Whether its members may add their own WireGuard clients (and
    /// revoke or re-key those they added).
    pub members_add_clients: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str =
    "slug, name, default_action, members_add_clients, version, created_at, updated_at";

/// Locks the tenant's row until the transaction on `conn` ends (counts
/// checked against quotas are taken under it).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Tenants by slug after `after` (only `only` when given: a tenant user
/// sees their own).
pub async fn list(
    db: &PgPool,
    only: Option<Uuid>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Tenant>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM tenants WHERE ($1::uuid IS NULL OR id = $1) AND ($2::text IS NULL OR slug > $2)
         ORDER BY slug LIMIT $3"
    ))
    .bind(only)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The tenant `id` (inside a transaction, or on the pool).
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Tenant>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLS} FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The tenant's id and slug, by slug.
pub async fn by_slug(db: &PgPool, slug: &str) -> Result<Option<(Uuid, String)>> {
    Ok(
        sqlx::query_as("SELECT id, slug FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_optional(db)
            .await?,
    )
}

/// The tenant's slug, by id.
pub async fn slug(db: &PgPool, id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT slug FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// Every tenant's slug, by id.
pub async fn slugs(db: &PgPool) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as("SELECT id, slug FROM tenants")
        .fetch_all(db)
        .await?)
}

/// The tenant's display name and policy default, by id.
pub async fn name_and_default(db: &PgPool, id: Uuid) -> Result<Option<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT name, default_action FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Inserts a tenant row inside the caller's transaction (the write path
/// checks and allocates its intent around it).
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    slug: &str,
    name: &str,
    default_action: &str,
) -> Result<Tenant> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO tenants (id, slug, name, default_action) VALUES ($1, $2, $3, $4) RETURNING {COLS}"
    ))
    .bind(id)
    .bind(slug)
    .bind(name)
    .bind(default_action)
    .fetch_one(&mut *conn)
    .await?)
}

/// Renames the tenant and sets its policy default and whether its members
/// may add clients, bumping its version.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    default_action: &str,
    members_add_clients: bool,
) -> Result<Tenant> {
    Ok(sqlx::query_as(&format!(
        "UPDATE tenants SET name = $2, default_action = $3, members_add_clients = $4,
           version = version + 1, updated_at = now() WHERE id = $1 RETURNING {COLS}"
    ))
    .bind(id)
    .bind(name)
    .bind(default_action)
    .bind(members_add_clients)
    .fetch_one(&mut *conn)
    .await?)
}

/// Deletes the tenant row (its objects, users and tokens go with it).
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One line of the platform admins' tenant list.
pub struct Summary {
    pub slug: String,
    pub name: String,
    pub default_action: String,
    pub networks: i64,
    pub users: i64,
}

/// Every tenant with its counts of networks and users, by slug.
pub async fn summaries(db: &PgPool) -> Result<Vec<Summary>> {
    summaries_filtered(db, None, None, i64::MAX).await
}

/// Tenants with their counts, by slug, after slug `after`, whose slug or
/// name contain `search` (any case; filtered in SQL), at most `limit`.
pub async fn summaries_filtered(
    db: &PgPool,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Summary>> {
    let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT t.slug, t.name, t.default_action,
                (SELECT count(*) FROM objects o WHERE o.tenant_id = t.id AND o.kind = 'network'),
                (SELECT count(*) FROM users u WHERE u.tenant_id = t.id)
         FROM tenants t
         WHERE ($1::text IS NULL OR t.slug ILIKE $1 OR t.name ILIKE $1)
           AND ($2::text IS NULL OR t.slug > $2)
         ORDER BY t.slug LIMIT $3",
    )
    .bind(search.map(crate::audit::contains_pattern))
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, default_action, networks, users)| Summary {
            slug,
            name,
            default_action,
            networks,
            users,
        })
        .collect())
}

/// Whether the tenant's members may add their own clients (`false` for
/// no such tenant).
pub async fn members_add_clients(db: &PgPool, id: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT members_add_clients FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?
            .unwrap_or(false),
    )
}

/// The tenant's display name, by id.
pub async fn name(db: &PgPool, id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}
