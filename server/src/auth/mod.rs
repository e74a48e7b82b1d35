//! Who is calling: passwords (argon2id), short-lived access tokens (JWT),
//! rotating refresh tokens, tenant API tokens, and the login rate limit.

pub mod password;
pub mod principal;
pub mod ratelimit;
pub mod role;
pub mod secret;
pub mod session;
pub mod token;

pub use principal::{Principal, Role};
