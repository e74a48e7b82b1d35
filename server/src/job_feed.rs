//! Job changes as they happen, for live pages. One PostgreSQL `LISTEN` per
//! process on [`jobs::CHANGES`] (sent, at commit, by every job insert and
//! status change; the store follows it) bumps a `watch` counter that each
//! open event stream waits on. A watch coalesces bursts: a stream re-reads
//! its jobs at most once per wake-up, however many jobs changed meanwhile.

use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;
use vxguard_store::jobs;

/// Listens until the process ends, reconnecting after a lost connection.
pub fn spawn(db: PgPool, changes: watch::Sender<u64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let bump = || changes.send_modify(|n| *n = n.wrapping_add(1));
            if let Err(e) = jobs::follow_changes(&db, bump).await {
                tracing::warn!(error = %e, "job feed: listening failed; retrying in 1 s");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
