//! Logging in, refreshing and logging out. Access tokens are JWTs that live
//! 15 minutes; refresh tokens are opaque, stored hashed, single-use and
//! grouped in families: presenting a used one again (a stolen copy racing
//! its owner) revokes the whole family.

use super::principal::Role;
use super::{password, secret};
use crate::audit;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const REFRESH_TTL_DAYS: i64 = 7;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use: exchange it at `/auth/refresh` for a new pair.
    pub refresh_token: String,
}

struct UserRow {
    id: Uuid,
    email: String,
    role: Role,
    tenant: Option<Uuid>,
    generation: i64,
}

async fn issue(
    st: &AppState,
    conn: &mut sqlx::PgConnection,
    u: &UserRow,
    family: Uuid,
) -> ApiResult<TokenPair> {
    let refresh = secret::new_token(secret::REFRESH_PREFIX);
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(u.id)
    .bind(family)
    .bind(secret::hash(&refresh))
    .bind(Utc::now() + Duration::days(REFRESH_TTL_DAYS))
    .execute(&mut *conn)
    .await?;
    Ok(TokenPair {
        access_token: st.jwt.issue(&super::principal::Subject {
            user: u.id,
            email: &u.email,
            role: u.role,
            tenant: u.tenant,
            generation: u.generation,
        }),
        token_type: "Bearer".into(),
        expires_in: super::principal::ACCESS_TTL_SECS,
        refresh_token: refresh,
    })
}

pub async fn login(st: &AppState, req: LoginRequest, source: &str) -> ApiResult<TokenPair> {
    let email = req.email.trim().to_lowercase();
    let by_addr = format!("addr:{source}");
    let by_acct = format!("acct:{email}");
    st.login_by_address
        .try_hit(&by_addr)
        .map_err(Problem::too_many)?;
    // Counted as a failure before the password is checked, and cleared on
    // success: parallel attempts cannot all pass the lockout check first.
    st.login_failures
        .try_hit(&by_acct)
        .map_err(Problem::too_many)?;
    let row: Option<(Uuid, String, String, Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT id, password_hash, role, tenant_id, token_generation FROM users
         WHERE email = $1 AND signs_in",
    )
    .bind(&email)
    .fetch_optional(&st.db)
    .await?;
    let stored = row.as_ref().map(|r| r.1.clone());
    let pw = req.password;
    let ok = tokio::task::spawn_blocking(move || {
        password::verify(&pw, stored.as_deref().unwrap_or(password::dummy_hash()))
            && stored.is_some()
    })
    .await
    .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
    let mut tx = st.db.begin().await?;
    let Some((id, _, role, tenant, generation)) = row.filter(|_| ok) else {
        audit::append(
            &mut tx,
            audit::Entry {
                actor: "anonymous",
                tenant_id: None,
                action: "login.failed",
                object: &format!("users/{email}"),
                source,
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        return Err(Problem::unauthorized("wrong email or password"));
    };
    st.login_failures.clear(&by_acct);
    let u = UserRow {
        id,
        email,
        role: Role::parse(&role).ok_or_else(Problem::internal)?,
        tenant,
        generation,
    };
    let pair = issue(st, &mut tx, &u, Uuid::new_v4()).await?;
    audit_user(&mut *tx, &u.email, u.tenant, "login", source).await?;
    tx.commit().await?;
    Ok(pair)
}

pub async fn refresh(st: &AppState, token: &str, source: &str) -> ApiResult<TokenPair> {
    let mut tx = st.db.begin().await?;
    #[allow(clippy::type_complexity)]
    let row: Option<(Uuid, Uuid, Uuid, bool, bool, bool, String, String, Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT r.id, r.user_id, r.family, r.used_at IS NOT NULL, r.revoked_at IS NOT NULL, r.expires_at < now(),
                u.email, u.role, u.tenant_id, u.token_generation
         FROM refresh_tokens r JOIN users u ON u.id = r.user_id
         WHERE r.token_hash = $1 FOR UPDATE OF r",
    )
    .bind(secret::hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, user_id, family, used, revoked, expired, email, role, tenant, generation)) = row
    else {
        return Err(Problem::unauthorized("unknown refresh token"));
    };
    if revoked {
        return Err(Problem::unauthorized("refresh token revoked"));
    }
    if used {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
        )
        .bind(family)
        .execute(&mut *tx)
        .await?;
        audit_user(&mut *tx, &email, tenant, "refresh.reuse_detected", source).await?;
        tx.commit().await?;
        return Err(Problem::unauthorized(
            "refresh token already used: every session of this login is revoked; log in again",
        ));
    }
    if expired {
        return Err(Problem::unauthorized("refresh token expired"));
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let u = UserRow {
        id: user_id,
        email,
        role: Role::parse(&role).ok_or_else(Problem::internal)?,
        tenant,
        generation,
    };
    let pair = issue(st, &mut tx, &u, family).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Revokes the refresh token's whole family (this login on every device
/// that shares it). Unknown tokens are ignored: logging out is idempotent.
pub async fn logout(st: &AppState, token: &str) -> ApiResult<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL",
    )
    .bind(secret::hash(token))
    .execute(&st.db)
    .await?;
    Ok(())
}

/// The login (refresh-token family) a refresh token belongs to.
pub async fn family_of(st: &AppState, token: &str) -> ApiResult<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE token_hash = $1")
            .bind(secret::hash(token))
            .fetch_optional(&st.db)
            .await?,
    )
}

/// Revokes one login: every refresh token of the family (and with them the
/// portal sessions that belong to it). Idempotent.
pub async fn revoke_family(st: &AppState, family: Uuid) -> ApiResult<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(&st.db)
    .await?;
    Ok(())
}

/// A password change: the current password (proof that the person at the
/// keyboard is the user, not someone at an unlocked screen) and the new one
/// twice.
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
}

/// Changes `user`'s password. Errors name the field they concern
/// (`/current_password`, `/new_password`, `/confirm_password`). A wrong
/// current password counts against the account's login rate limit, so this
/// is no way around it. On success every other login of the user (refresh
/// families, and with them portal sessions) is revoked; `keep` (the login
/// that made the change) stays. Every access token issued before ends at
/// once (the token generation is bumped; `keep` refreshes to a new one).
/// Audited as `user.password_changed`.
pub async fn change_password(
    st: &AppState,
    user: Uuid,
    keep: Option<Uuid>,
    c: PasswordChange<'_>,
    source: &str,
) -> ApiResult<()> {
    let row: Option<(String, String, Option<Uuid>)> =
        sqlx::query_as("SELECT email, password_hash, tenant_id FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&st.db)
            .await?;
    let (email, stored, tenant) = row.ok_or_else(Problem::not_found)?;
    let by_acct = format!("acct:{email}");
    // As in `login`: counted before the check, cleared when it passes.
    st.login_failures
        .try_hit(&by_acct)
        .map_err(Problem::too_many)?;
    let current = c.current.to_string();
    let ok = tokio::task::spawn_blocking(move || password::verify(&current, &stored))
        .await
        .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
    let mut errors = Vec::new();
    let mut err = |pointer: &str, detail: &str| {
        errors.push(crate::problem::FieldError {
            pointer: Some(pointer.into()),
            object: None,
            detail: detail.into(),
        })
    };
    if ok {
        st.login_failures.clear(&by_acct);
    } else {
        err("/current_password", "is not your current password");
    }
    if let Err(e) = password::check_strength(c.new) {
        err("/new_password", e);
    } else if ok && c.new == c.current {
        err("/new_password", "must differ from the current password");
    }
    if c.new != c.confirm {
        err("/confirm_password", "does not match the new password");
    }
    if !errors.is_empty() {
        return Err(Problem::invalid("the password was not changed", errors));
    }
    let new = c.new.to_string();
    let hash = tokio::task::spawn_blocking(move || password::hash(&new))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
    let mut tx = st.db.begin().await?;
    sqlx::query(
        "UPDATE users SET password_hash = $2, token_generation = token_generation + 1 WHERE id = $1",
    )
        .bind(user)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND family IS DISTINCT FROM $2",
    )
    .bind(user)
    .bind(keep)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND family IS DISTINCT FROM $2",
    )
    .bind(user)
    .bind(keep)
    .execute(&mut *tx)
    .await?;
    audit_user(&mut *tx, &email, tenant, "user.password_changed", source).await?;
    tx.commit().await?;
    Ok(())
}

/// An audit entry for something a user did to their own account.
async fn audit_user(
    tx: &mut sqlx::PgConnection,
    email: &str,
    tenant_id: Option<Uuid>,
    action: &str,
    source: &str,
) -> sqlx::Result<()> {
    audit::append(
        tx,
        audit::Entry {
            actor: &format!("user:{email}"),
            tenant_id,
            action,
            object: &format!("users/{email}"),
            source,
            before: None,
            after: None,
        },
    )
    .await
}
