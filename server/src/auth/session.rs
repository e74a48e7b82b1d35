//! Logging in, refreshing and logging out. Access tokens are JWTs that live
//! 15 minutes; refresh tokens are opaque, stored hashed, single-use and
//! grouped in families: presenting a used one again (a stolen copy racing
//! its owner) revokes the whole family.

use super::principal::Role;
use super::{password, secret};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vxguard_store::sessions::{self, LoginUser, Refreshed};
use vxguard_store::users;

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

/// The token pair for `u`: the refresh token's secret (already stored,
/// hashed, by the store) and a fresh access token.
fn pair(st: &AppState, u: &LoginUser, refresh: String) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        access_token: st.jwt.issue(&super::principal::Subject {
            user: u.id,
            email: &u.email,
            role: Role::parse(&u.role).ok_or_else(Problem::internal)?,
            tenant: u.tenant_id,
            generation: u.token_generation,
        }),
        token_type: "Bearer".into(),
        expires_in: super::principal::ACCESS_TTL_SECS,
        refresh_token: refresh,
    })
}

fn refresh_expiry() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(REFRESH_TTL_DAYS)
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
    let row = users::signing_in(st.store.pool(), &email).await?;
    let stored = row.as_ref().map(|r| r.password_hash.clone());
    let pw = req.password;
    let ok = tokio::task::spawn_blocking(move || {
        password::verify(&pw, stored.as_deref().unwrap_or(password::dummy_hash()))
            && stored.is_some()
    })
    .await
    .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
    let Some(u) = row.filter(|_| ok) else {
        st.store.login_failed(&email, source).await?;
        return Err(Problem::unauthorized("wrong email or password"));
    };
    st.login_failures.clear(&by_acct);
    Role::parse(&u.role).ok_or_else(Problem::internal)?;
    let refresh = secret::new_token(secret::REFRESH_PREFIX);
    st.store
        .logged_in(&u, &secret::hash(&refresh), refresh_expiry(), source)
        .await?;
    pair(st, &u.into(), refresh)
}

pub async fn refresh(st: &AppState, token: &str, source: &str) -> ApiResult<TokenPair> {
    let fresh = secret::new_token(secret::REFRESH_PREFIX);
    let r = st
        .store
        .refresh(
            &secret::hash(token),
            &secret::hash(&fresh),
            refresh_expiry(),
            source,
        )
        .await?;
    match r {
        Refreshed::Unknown => Err(Problem::unauthorized("unknown refresh token")),
        Refreshed::Revoked => Err(Problem::unauthorized("refresh token revoked")),
        Refreshed::Reused => Err(Problem::unauthorized(
            "refresh token already used: every session of this login is revoked; log in again",
        )),
        Refreshed::Expired => Err(Problem::unauthorized("refresh token expired")),
        Refreshed::Rotated { user, .. } => pair(st, &user, fresh),
    }
}

/// Revokes the refresh token's whole family (this login on every device
/// that shares it). Unknown tokens are ignored: logging out is idempotent.
pub async fn logout(st: &AppState, token: &str) -> ApiResult<()> {
    sessions::revoke_family_of(st.store.pool(), &secret::hash(token)).await?;
    Ok(())
}

/// The login (refresh-token family) a refresh token belongs to.
pub async fn family_of(st: &AppState, token: &str) -> ApiResult<Option<Uuid>> {
    Ok(sessions::family_of(st.store.pool(), &secret::hash(token)).await?)
}

/// Revokes one login: every refresh token of the family (and with them the
/// portal sessions that belong to it). Idempotent.
pub async fn revoke_family(st: &AppState, family: Uuid) -> ApiResult<()> {
    Ok(st.store.revoke_login(family).await?)
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
    let user = users::credentials(st.store.pool(), user)
        .await?
        .ok_or_else(Problem::not_found)?;
    let (email, stored) = (user.email.clone(), user.password_hash.clone());
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
    st.store
        .password_changed(&user, &hash, keep, source)
        .await?;
    Ok(())
}
