//! Access tokens: short-lived JWTs signed with the process's secret,
//! issued at sign-in and verified on every request.

use super::role::Role;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Lifetime of access tokens. They are checked against the user's row on
/// every request (`Claims::generation`), so revoking them needs no wait.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub email: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<Uuid>,
    /// The user's `token_generation` when this was issued: a password
    /// change or a new role bumps it, and older tokens stop working.
    #[serde(rename = "gen", default)]
    pub generation: i64,
    pub iat: i64,
    pub exp: i64,
}

/// Whom an access token is for.
pub struct Subject<'a> {
    pub user: Uuid,
    pub email: &'a str,
    pub role: Role,
    pub tenant: Option<Uuid>,
    /// `users.token_generation`.
    pub generation: i64,
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
    pub fn issue(&self, s: &Subject<'_>) -> String {
        self.issue_at(s, chrono::Utc::now().timestamp())
    }
    /// As `issue`, as if it were `now` (tests use it to make expired tokens).
    pub fn issue_at(&self, s: &Subject<'_>, now: i64) -> String {
        let c = Claims {
            sub: s.user,
            email: s.email.into(),
            role: s.role,
            tenant: s.tenant,
            generation: s.generation,
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
