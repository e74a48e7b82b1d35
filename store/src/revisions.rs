//! Device revisions (what the worker compiled for each router and
//! hypervisor): the summaries the platform page shows.

use crate::error::Result;
use sqlx::PgPool;

/// The latest revision number of every device: `(kind, device, seq)`.
pub async fn latest(db: &PgPool) -> Result<Vec<(String, String, i32)>> {
    Ok(sqlx::query_as(
        "SELECT device_kind, device, max(seq) FROM revisions GROUP BY device_kind, device",
    )
    .fetch_all(db)
    .await?)
}
