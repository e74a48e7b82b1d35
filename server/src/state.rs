//! What every request handler shares.

use crate::auth::ratelimit::RateLimiter;
use crate::auth::token::JwtKeys;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    /// The same pool as the store: handlers call the store, never SQL. It
    /// judges tenants' writes with the process's VyOS definitions.
    pub store: vxguard_store::Store,
    pub jwt: Arc<JwtKeys>,
    /// Login attempts per client address.
    pub login_by_address: Arc<RateLimiter>,
    /// Failed logins per account.
    pub login_failures: Arc<RateLimiter>,
    /// Bumped whenever a job is queued or changes state, once
    /// `job_feed::spawn` feeds it (`vxguard serve` does).
    pub job_changes: tokio::sync::watch::Sender<u64>,
    /// Request budgets per tenant and token; the bound on expensive calls.
    pub fairness: Arc<crate::fairness::Fairness>,
}

impl AppState {
    /// `login_per_minute`: sign-ins allowed per client address per minute.
    pub fn new(db: PgPool, jwt_secret: &[u8], login_per_minute: u32) -> Self {
        Self {
            store: vxguard_store::Store::judging_with(
                db.clone(),
                crate::definitions::installed(),
                crate::definitions::platform_trees(),
            ),
            db,
            jwt: Arc::new(JwtKeys::new(jwt_secret)),
            login_by_address: Arc::new(RateLimiter::new(login_per_minute, Duration::from_secs(60))),
            login_failures: Arc::new(RateLimiter::new(5, Duration::from_secs(15 * 60))),
            job_changes: tokio::sync::watch::Sender::new(0),
            fairness: Arc::new(crate::fairness::Fairness::default()),
        }
    }
}
