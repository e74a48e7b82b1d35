//! Declared objects (networks, rules, clients, …): the counts the overview
//! pages show. Writing objects is the write path's.

use crate::error::Result;
use sqlx::PgPool;
use uuid::Uuid;

/// How many objects of `kind` (`rule`, `network`, …) the tenant declares.
pub async fn count(db: &PgPool, kind: &str, tenant: Uuid) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM objects WHERE kind = $1 AND tenant_id = $2")
            .bind(kind)
            .bind(tenant)
            .fetch_one(db)
            .await?,
    )
}
