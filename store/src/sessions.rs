//! Logins and portal sessions. A login is a family of refresh tokens:
//! opaque, stored only as hashes (the caller hashes), single-use; a used
//! one presented again revokes its whole family. A portal session
//! (`web_sessions`) belongs to one login and ends with it.

use crate::error::Result;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The account behind a login, as a refresh needs it to issue new tokens.
#[derive(Clone, Debug)]
pub struct LoginUser {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub tenant_id: Option<Uuid>,
    pub token_generation: i64,
}

impl From<crate::users::Credentials> for LoginUser {
    fn from(c: crate::users::Credentials) -> Self {
        LoginUser {
            id: c.id,
            email: c.email,
            role: c.role,
            tenant_id: c.tenant_id,
            token_generation: c.token_generation,
        }
    }
}

/// Stores a new refresh token of `family` inside the caller's transaction.
pub async fn insert_refresh(
    conn: &mut PgConnection,
    user: Uuid,
    family: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(user)
    .bind(family)
    .bind(token_hash)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What presenting a refresh token found.
pub enum Presented {
    /// No such token.
    Unknown,
    Revoked,
    /// Already used: a stolen copy racing its owner. Nothing changed yet;
    /// the caller revokes the family ([`revoke_family`]).
    Reused {
        family: Uuid,
        user: LoginUser,
    },
    Expired,
    /// Good: now marked used (the caller stores its successor in the same
    /// transaction, then commits).
    Fresh {
        family: Uuid,
        user: LoginUser,
    },
}

/// Takes the refresh token with this hash (locking its row until the
/// transaction on `conn` ends) and marks it used if it is good.
pub async fn present_refresh(conn: &mut PgConnection, token_hash: &[u8]) -> Result<Presented> {
    #[allow(clippy::type_complexity)]
    let row: Option<(Uuid, Uuid, Uuid, bool, bool, bool, String, String, Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT r.id, r.user_id, r.family, r.used_at IS NOT NULL, r.revoked_at IS NOT NULL, r.expires_at < now(),
                u.email, u.role, u.tenant_id, u.token_generation
         FROM refresh_tokens r JOIN users u ON u.id = r.user_id
         WHERE r.token_hash = $1 FOR UPDATE OF r",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, user_id, family, used, revoked, expired, email, role, tenant, generation)) = row
    else {
        return Ok(Presented::Unknown);
    };
    let user = LoginUser {
        id: user_id,
        email,
        role,
        tenant_id: tenant,
        token_generation: generation,
    };
    if revoked {
        return Ok(Presented::Revoked);
    }
    if used {
        return Ok(Presented::Reused { family, user });
    }
    if expired {
        return Ok(Presented::Expired);
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Presented::Fresh { family, user })
}

/// Revokes one login: every refresh token of the family (and with them the
/// portal sessions that belong to it). Idempotent.
pub async fn revoke_family(conn: &mut PgConnection, family: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Revokes the login of the refresh token with this hash; unknown tokens
/// are ignored (logging out is idempotent).
pub async fn revoke_family_of(db: &PgPool, token_hash: &[u8]) -> Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// The login (refresh-token family) a refresh token belongs to.
pub async fn family_of(db: &PgPool, token_hash: &[u8]) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(db)
            .await?,
    )
}

/// The user a login (refresh-token family) belongs to.
pub async fn user_of_family(db: &PgPool, family: Uuid) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM refresh_tokens WHERE family = $1 LIMIT 1")
            .bind(family)
            .fetch_optional(db)
            .await?,
    )
}

/// A new portal session of the login `family`.
pub struct NewWebSession<'a> {
    pub token_hash: &'a [u8],
    pub user: Uuid,
    pub family: Uuid,
    pub csrf: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn start_web(db: &PgPool, s: NewWebSession<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_sessions (id, token_hash, user_id, family, csrf, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(s.token_hash)
    .bind(s.user)
    .bind(s.family)
    .bind(s.csrf)
    .bind(s.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A live portal session and its user, as of now.
pub struct WebSession {
    pub id: Uuid,
    pub family: Uuid,
    pub csrf: String,
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
    pub tenant_id: Option<Uuid>,
    pub tenant_slug: Option<String>,
    /// Its idle deadline is due to be pushed ([`extend_web`]).
    pub stale: bool,
    /// The user's password was set by an admin: the session may only
    /// change it ([`crate::users::set_password`] clears this).
    pub must_change_password: bool,
}

/// The live session with this token hash: not revoked, not past its idle
/// deadline, and its login still live. `idle_minutes`: the idle window
/// (a session is stale once less than a minute of it has gone by).
pub async fn web(db: &PgPool, token_hash: &[u8], idle_minutes: i32) -> Result<Option<WebSession>> {
    type Row = (
        Uuid,
        Uuid,
        String,
        Uuid,
        String,
        String,
        Option<Uuid>,
        Option<String>,
        bool,
        bool,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id, s.family, s.csrf, u.id, u.email, u.role, u.tenant_id, t.slug,
                s.expires_at < now() + make_interval(mins => $2) - interval '1 minute',
                u.must_change_password
         FROM web_sessions s
         JOIN users u ON u.id = s.user_id
         LEFT JOIN tenants t ON t.id = u.tenant_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
           AND EXISTS (SELECT 1 FROM refresh_tokens r
                       WHERE r.family = s.family AND r.revoked_at IS NULL AND r.expires_at > now())",
    )
    .bind(token_hash)
    .bind(idle_minutes)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(
            id,
            family,
            csrf,
            user_id,
            email,
            role,
            tenant_id,
            tenant_slug,
            stale,
            must_change_password,
        )| WebSession {
            id,
            family,
            csrf,
            user_id,
            email,
            role,
            tenant_id,
            tenant_slug,
            stale,
            must_change_password,
        },
    ))
}

/// Pushes the session's idle deadline to `idle_minutes` from now, never
/// past `max_days` after it started (the login's lifetime).
pub async fn extend_web(db: &PgPool, id: Uuid, idle_minutes: i32, max_days: i32) -> Result<()> {
    sqlx::query(
        "UPDATE web_sessions SET expires_at = least(now() + make_interval(mins => $2),
             created_at + make_interval(days => $3))
         WHERE id = $1",
    )
    .bind(id)
    .bind(idle_minutes)
    .bind(max_days)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends every portal session of the login `family`.
pub async fn end_web(db: &PgPool, family: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(db)
    .await?;
    Ok(())
}

/// What a refresh did.
pub enum Refreshed {
    Unknown,
    Revoked,
    /// A used token came back: its whole login is now revoked (and the
    /// reuse audited).
    Reused,
    Expired,
    /// The old token is used up and the new one stored.
    Rotated {
        family: Uuid,
        user: LoginUser,
    },
}

impl crate::Store {
    /// A failed login, audited (`login.failed`, by `anonymous`).
    pub async fn login_failed(&self, email: &str, source: &str) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        crate::audit::append(
            &mut tx,
            crate::audit::Entry {
                actor: "anonymous",
                tenant_id: None,
                action: "login.failed",
                object: &format!("users/{email}"),
                source,
                before: None,
                after: None,
                job: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A successful login: starts a new login (refresh family) with its
    /// first refresh token and audits it. Returns the family.
    pub async fn logged_in(
        &self,
        user: &crate::users::Credentials,
        refresh_hash: &[u8],
        expires_at: DateTime<Utc>,
        source: &str,
    ) -> Result<Uuid> {
        let family = Uuid::new_v4();
        let mut tx = self.pool().begin().await?;
        insert_refresh(&mut tx, user.id, family, refresh_hash, expires_at).await?;
        crate::audit::own_account(&mut tx, &user.email, user.tenant_id, "login", source).await?;
        tx.commit().await?;
        Ok(family)
    }

    /// Exchanges the refresh token `old_hash` for `new_hash` in one
    /// transaction: the old one is used up only if the new one is stored.
    /// A reused token revokes its family (audited as
    /// `refresh.reuse_detected`).
    pub async fn refresh(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        expires_at: DateTime<Utc>,
        source: &str,
    ) -> Result<Refreshed> {
        let mut tx = self.pool().begin().await?;
        Ok(match present_refresh(&mut tx, old_hash).await? {
            Presented::Unknown => Refreshed::Unknown,
            Presented::Revoked => Refreshed::Revoked,
            Presented::Expired => Refreshed::Expired,
            Presented::Reused { family, user } => {
                revoke_family(&mut tx, family).await?;
                crate::audit::own_account(
                    &mut tx,
                    &user.email,
                    user.tenant_id,
                    "refresh.reuse_detected",
                    source,
                )
                .await?;
                tx.commit().await?;
                Refreshed::Reused
            }
            Presented::Fresh { family, user } => {
                insert_refresh(&mut tx, user.id, family, new_hash, expires_at).await?;
                tx.commit().await?;
                Refreshed::Rotated { family, user }
            }
        })
    }

    /// Revokes one login (every refresh token of the family). Idempotent.
    pub async fn revoke_login(&self, family: Uuid) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        revoke_family(&mut conn, family).await
    }

    /// Sets `user`'s new password hash, ends their other logins (all but
    /// `keep`) and access tokens, and audits `user.password_changed`.
    pub async fn password_changed(
        &self,
        user: &crate::users::Credentials,
        new_hash: &str,
        keep: Option<Uuid>,
        source: &str,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        crate::users::set_password(&mut tx, user.id, new_hash, keep).await?;
        crate::audit::own_account(
            &mut tx,
            &user.email,
            user.tenant_id,
            "user.password_changed",
            source,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
