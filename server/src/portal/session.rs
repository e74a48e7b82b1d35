//! Browser sessions of the portal.
//!
//! Choice: a server-side session row (table `web_sessions`), not the API's
//! access/refresh token pair in cookies. Logging in goes through the API's
//! own `auth::session::login` (password check, rate limits per address and
//! account, audit), which starts a login (a refresh-token family); the
//! portal then records a session for that family and gives the browser a
//! random token in a cookie, stored here only as its SHA-256 hash. Why not
//! the token pair itself: refresh tokens are single-use with reuse
//! detection, and a browser sends requests in parallel (two tabs, a reload
//! during a request), so two requests refreshing with the same token would
//! look like theft and revoke the login. A session row has no such race,
//! reads the user's current role and tenant on every request (a demotion
//! takes effect at once, not after 15 minutes), and is revoked for sure.
//!
//! - The session lives while it is used: `IDLE` after the last request, and
//!   never past the login's refresh-token lifetime; it ends at once when the
//!   login is revoked (logout here or through the API, or reuse detection).
//! - Cookie: `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when the
//!   request came over https (`X-Forwarded-Proto: https` from a proxy, or
//!   `VXGUARD_SECURE_COOKIES=true`), so plain http on localhost works.
//! - CSRF: every form that changes something carries the session's CSRF
//!   token (random, per session) and the server compares it in constant
//!   time; besides, a mutation whose `Origin` (or `Sec-Fetch-Site`) says it
//!   comes from another site is refused. The login form, before any
//!   session, double-submits a token from a short-lived cookie.

use crate::auth::secret;
use crate::auth::{Principal, Role};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{Duration, Utc};
use uuid::Uuid;
use vxguard_store::sessions;

pub const COOKIE: &str = "vxg_session";
pub const LOGIN_CSRF_COOKIE: &str = "vxg_login_csrf";
const PREFIX: &str = "vxs_";
/// Where a session whose password an admin set is sent, whatever it asked.
pub const CHOOSE_PASSWORD: &str = "/account/password?first=1";
/// A session ends after this long without a request.
pub const IDLE_MINUTES: i64 = 60;

pub struct WebSession {
    pub id: Uuid,
    pub family: Uuid,
    pub csrf: String,
    pub email: String,
    pub who: Principal,
    /// The user's tenant slug (`None` for platform admins).
    pub tenant_slug: Option<String>,
    /// An admin set the password: until the user chooses their own, the
    /// session can only change it (`respond::session_or_login`).
    pub must_change_password: bool,
}

impl WebSession {
    pub fn user(&self) -> app::User {
        app::User {
            email: self.email.clone(),
            role: match self.who.role {
                Role::PlatformAdmin => "platform admin",
                Role::TenantAdmin => "tenant admin",
                Role::TenantMember => "tenant member",
            }
            .into(),
            tenant: self.tenant_slug.clone(),
            platform_admin: self.who.role == Role::PlatformAdmin,
        }
    }

    /// Where this user starts: the password page while an admin's
    /// password is still theirs.
    pub fn home(&self) -> String {
        if self.must_change_password {
            return CHOOSE_PASSWORD.into();
        }
        self.start()
    }

    /// Where this user's role starts.
    pub fn start(&self) -> String {
        match &self.tenant_slug {
            Some(t) if self.who.role != Role::PlatformAdmin => format!("/t/{t}"),
            _ => "/admin".into(),
        }
    }
}

/// One cookie's value from the request.
pub fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

static SECURE_COOKIES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Treats every request as https (`--secure-cookies`, at start).
pub fn set_secure_cookies(on: bool) {
    SECURE_COOKIES.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the browser reached us over https (directly or via a proxy).
pub fn is_https(h: &HeaderMap) -> bool {
    if SECURE_COOKIES.load(std::sync::atomic::Ordering::Relaxed) {
        return true;
    }
    h.get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let s = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).expect("cookie values are ASCII")
}

pub fn clear_cookie(name: &str, path: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", path, 0, secure)
}

pub fn new_csrf() -> String {
    secret::new_token("")
}

/// Constant-time comparison of a submitted CSRF token with the expected one.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// False when the browser tells us the request comes from another site:
/// `Origin` not this origin (scheme, host and port: `https://host` posting
/// to `http://host` is another origin, whose script could read a page it
/// gets the user to submit), or `Sec-Fetch-Site` cross-site. Our own origin
/// is the `Host` header with the scheme `is_https` derives. Requests that
/// carry neither header (not from a browser) still need the CSRF token.
pub fn same_origin(h: &HeaderMap) -> bool {
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Ok(u) = url::Url::parse(origin) else {
            return false; // includes "null"
        };
        let scheme = if is_https(h) { "https" } else { "http" };
        let Ok(ours) = url::Url::parse(&format!("{scheme}://{host}")) else {
            return false;
        };
        // `Origin` compares scheme, host and port (default ports filled in).
        if !ours.origin().is_tuple() || u.origin() != ours.origin() {
            return false;
        }
    }
    match h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(s) => s == "same-origin" || s == "none",
        None => true,
    }
}

/// Starts a session for the login `family` of `user`; returns the cookie
/// token (shown to the browser once, stored hashed).
pub async fn start(st: &AppState, user: Uuid, family: Uuid) -> ApiResult<String> {
    let token = secret::new_token(PREFIX);
    let cap = Utc::now() + Duration::days(crate::auth::session::REFRESH_TTL_DAYS);
    let idle = (Utc::now() + Duration::minutes(IDLE_MINUTES)).min(cap);
    let csrf = new_csrf();
    sessions::start_web(
        st.store.pool(),
        sessions::NewWebSession {
            token_hash: &secret::hash(&token),
            user,
            family,
            csrf: &csrf,
            expires_at: idle,
        },
    )
    .await?;
    Ok(token)
}

/// The session of this request, if its cookie names a live one; extends
/// its idle deadline (at most once a minute).
pub async fn current(st: &AppState, h: &HeaderMap, source: &str) -> ApiResult<Option<WebSession>> {
    let Some(token) = cookie(h, COOKIE).filter(|t| t.starts_with(PREFIX)) else {
        return Ok(None);
    };
    let Some(row) =
        sessions::web(st.store.pool(), &secret::hash(token), IDLE_MINUTES as i32).await?
    else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&row.role) else {
        return Ok(None);
    };
    if row.stale {
        sessions::extend_web(
            st.store.pool(),
            row.id,
            IDLE_MINUTES as i32,
            crate::auth::session::REFRESH_TTL_DAYS as i32,
        )
        .await?;
    }
    let sessions::WebSession {
        id,
        family,
        csrf,
        user_id,
        email,
        tenant_id,
        tenant_slug: slug,
        must_change_password,
        ..
    } = row;
    Ok(Some(WebSession {
        id,
        family,
        csrf,
        who: Principal {
            subject: format!("user:{email}"),
            user_id: Some(user_id),
            owner: Some(user_id),
            role,
            tenant_id,
            source: source.to_string(),
        },
        email,
        tenant_slug: slug,
        must_change_password,
    }))
}

/// The session for what a script asks (JSON, event streams): refused
/// while the user must first choose their password.
pub fn usable(s: WebSession) -> ApiResult<WebSession> {
    if s.must_change_password {
        return Err(crate::problem::Problem::forbidden(
            "choose your own password first, at /account/password",
        ));
    }
    Ok(s)
}

/// Ends the session and the login it belongs to.
pub async fn end(st: &AppState, s: &WebSession) -> ApiResult<()> {
    crate::auth::session::revoke_family(st, s.family).await?;
    sessions::end_web(st.store.pool(), s.family).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_origins() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; vxg_session=vxs_abc; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("vxs_abc"));
        assert_eq!(cookie(&h, "c"), None);
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        // Same host and port, another scheme: another origin.
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://127.0.0.1:3000"),
        );
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3001"),
        );
        assert!(!same_origin(&h));
        // Behind a proxy that terminates TLS, https is ours and http is not.
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://127.0.0.1:3000"),
        );
        assert!(same_origin(&h));
        h.remove("x-forwarded-proto");
        // Default ports are the same origin as none.
        h.insert(header::HOST, HeaderValue::from_static("portal.test:80"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://portal.test"),
        );
        assert!(same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        assert!(csrf_matches("abc", "abc"));
        assert!(!csrf_matches("abc", "abd"));
        assert!(!csrf_matches("", ""));
    }

    #[test]
    fn cookie_flags() {
        let c = set_cookie(COOKIE, "v", "/", 60, false);
        assert_eq!(
            c,
            "vxg_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        let c = set_cookie(COOKIE, "v", "/", 60, true);
        assert!(c.to_str().unwrap().ends_with("; Secure"));
    }
}
