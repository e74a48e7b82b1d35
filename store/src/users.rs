//! User accounts. Password hashes go in and are read back only to check a
//! password; they never leave through a listing. Roles are the stored
//! strings (`platform_admin`, `tenant_admin`, `tenant_member`; a CHECK
//! constraint keeps them so): what a role allows is the server's business.

use crate::error::{conflict_on, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A user as listed: the tenant by slug, no password hash.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    /// The tenant's slug; absent for platform admins.
    pub tenant: Option<String>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT u.id, u.email, u.role, t.slug AS tenant, u.created_at FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id";

/// What a login needs of an account.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub tenant_id: Option<Uuid>,
    /// Bumped by a password change or a change of role or tenant: access
    /// tokens carry it and are refused once it moved on.
    pub token_generation: i64,
}

/// The account that signs in with `email` (an email may have accounts in
/// several tenants; only one of them signs in).
pub async fn signing_in(db: &PgPool, email: &str) -> Result<Option<Credentials>> {
    let row: Option<(Uuid, String, String, Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT id, password_hash, role, tenant_id, token_generation FROM users
         WHERE email = $1 AND signs_in",
    )
    .bind(email)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(id, password_hash, role, tenant_id, token_generation)| Credentials {
            id,
            email: email.to_string(),
            password_hash,
            role,
            tenant_id,
            token_generation,
        },
    ))
}

/// The account with this id, with its password hash (a password change
/// checks the current one).
pub async fn credentials(db: &PgPool, id: Uuid) -> Result<Option<Credentials>> {
    let row: Option<(String, String, String, Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT email, password_hash, role, tenant_id, token_generation FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(email, password_hash, role, tenant_id, token_generation)| Credentials {
            id,
            email,
            password_hash,
            role,
            tenant_id,
            token_generation,
        },
    ))
}

/// What an access token must still agree with: the user's role, tenant
/// and token generation (`None`: the user is gone). One read by key.
pub async fn token_state(db: &PgPool, id: Uuid) -> Result<Option<(String, Option<Uuid>, i64)>> {
    Ok(
        sqlx::query_as("SELECT role, tenant_id, token_generation FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Locks the tenant's row and counts its users: under the lock, parallel
/// additions cannot all pass a quota check made on the count.
pub async fn lock_tenant_and_count(conn: &mut PgConnection, tenant: Uuid) -> Result<i64> {
    crate::tenants::lock(conn, tenant).await?;
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// A new account, checked and with its password hashed by the caller.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub tenant_id: Option<Uuid>,
    /// An admin chose the password: the user must choose their own at
    /// their first portal login before doing anything else.
    pub must_change_password: bool,
}

/// Inserts a user inside the caller's transaction and reads it back.
///
/// `private`: the caller may not learn whether the email has an account
/// elsewhere, so an email that already signs in elsewhere still gets an
/// account here, one that does not sign in (never linked to the other).
/// Otherwise such an email is a conflict. An email already in the same
/// tenant is a conflict either way: [`StoreError::Conflict`] on `email`.
///
/// [`StoreError::Conflict`]: crate::StoreError::Conflict
pub async fn insert(conn: &mut PgConnection, u: &NewUser<'_>, private: bool) -> Result<User> {
    let id = Uuid::new_v4();
    let made = insert_row(conn, id, u, true, private).await;
    let made = match made {
        Ok(0) => insert_row(conn, id, u, false, false).await,
        r => r,
    };
    made.map_err(conflict_on("email"))?;
    Ok(sqlx::query_as(&format!("{SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// One user row; `quiet`: an email that signs in elsewhere inserts
/// nothing (0 rows) instead of failing.
async fn insert_row(
    conn: &mut PgConnection,
    id: Uuid,
    u: &NewUser<'_>,
    signs_in: bool,
    quiet: bool,
) -> sqlx::Result<u64> {
    let sql = format!(
        "INSERT INTO users (id, email, password_hash, role, tenant_id, signs_in, must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7) {}",
        if quiet {
            "ON CONFLICT (email) WHERE signs_in DO NOTHING"
        } else {
            ""
        }
    );
    let r = sqlx::query(&sql)
        .bind(id)
        .bind(u.email)
        .bind(u.password_hash)
        .bind(u.role)
        .bind(u.tenant_id)
        .bind(signs_in)
        .bind(u.must_change_password)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

/// The user `id` (of `tenant`, when given: another tenant's is `None`).
pub async fn get_in(
    conn: &mut PgConnection,
    id: Uuid,
    tenant: Option<Uuid>,
) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE u.id = $1 AND ($2::uuid IS NULL OR u.tenant_id = $2)"
    ))
    .bind(id)
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?)
}

/// [`get_in`] outside a transaction.
pub async fn find(db: &PgPool, id: Uuid, tenant: Option<Uuid>) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE u.id = $1 AND ($2::uuid IS NULL OR u.tenant_id = $2)"
    ))
    .bind(id)
    .bind(tenant)
    .fetch_optional(db)
    .await?)
}

/// An API token revoked because its maker went away.
pub struct RevokedToken {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub name: String,
}

/// Deletes the user inside the caller's transaction, revoking the API
/// tokens they made (a token is its maker's authority handed to a script,
/// and nobody is left to answer for it); returns those tokens. Refresh
/// tokens and portal sessions go with the row (foreign keys).
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<Vec<RevokedToken>> {
    let revoked: Vec<(Uuid, String, String)> = sqlx::query_as(
        "UPDATE api_tokens a SET revoked_at = now() FROM tenants t
         WHERE a.created_by = $1 AND a.revoked_at IS NULL AND t.id = a.tenant_id
         RETURNING a.tenant_id, t.slug, a.name",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(revoked
        .into_iter()
        .map(|(tenant_id, tenant_slug, name)| RevokedToken {
            tenant_id,
            tenant_slug,
            name,
        })
        .collect())
}

/// Users by email then id (one tenant's when `tenant` is given), after the
/// cursor `(email, id)`; a cursor without an id means after every row with
/// that email.
pub async fn list(
    db: &PgPool,
    tenant: Option<Uuid>,
    after_email: Option<&str>,
    after_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>> {
    let f = Filter {
        tenant,
        ..Filter::default()
    };
    filtered(db, &f, after_email, after_id, limit).await
}

/// What a list of users keeps: every field that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub tenant: Option<Uuid>,
    /// Only accounts of the platform (no tenant).
    pub platform: bool,
    /// `platform_admin`, `tenant_admin` or `member`.
    pub role: Option<String>,
    /// Emails containing this (any case).
    pub search: Option<String>,
}

/// [`list`] as `f` filters it (in SQL).
pub async fn filtered(
    db: &PgPool,
    f: &Filter,
    after_email: Option<&str>,
    after_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE ($1::uuid IS NULL OR u.tenant_id = $1)
           AND ($2::text IS NULL OR (u.email, u.id) > ($2, coalesce($3, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)))
           AND (NOT $5 OR u.tenant_id IS NULL)
           AND ($6::text IS NULL OR u.role = $6)
           AND ($7::text IS NULL OR u.email ILIKE $7)
         ORDER BY u.email, u.id LIMIT $4"
    ))
    .bind(f.tenant)
    .bind(after_email)
    .bind(after_id)
    .bind(limit)
    .bind(f.platform)
    .bind(f.role.as_deref())
    .bind(f.search.as_deref().map(crate::audit::contains_pattern))
    .fetch_all(db)
    .await?)
}

/// Sets a new password hash inside the caller's transaction and ends the
/// user's other logins: every access token (the generation is bumped),
/// every refresh family but `keep`, and the portal sessions of those. The
/// password is the user's own now: a forced change is done.
pub async fn set_password(
    conn: &mut PgConnection,
    user: Uuid,
    password_hash: &str,
    keep: Option<Uuid>,
) -> Result<()> {
    replace_password(conn, user, password_hash, keep, false).await
}

/// An admin's reset: a temporary password hash that the user must replace
/// at their next login, and every login of theirs ended (whoever knew the
/// old password is out).
pub async fn reset_password(
    conn: &mut PgConnection,
    user: Uuid,
    password_hash: &str,
) -> Result<()> {
    replace_password(conn, user, password_hash, None, true).await
}

async fn replace_password(
    conn: &mut PgConnection,
    user: Uuid,
    password_hash: &str,
    keep: Option<Uuid>,
    must_change: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, token_generation = token_generation + 1,
             must_change_password = $3
         WHERE id = $1",
    )
    .bind(user)
    .bind(password_hash)
    .bind(must_change)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND family IS DISTINCT FROM $2",
    )
    .bind(user)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND family IS DISTINCT FROM $2",
    )
    .bind(user)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
