//! Traffic per tenant network (issue 18): the byte counters of each
//! network's bridge on its gateways, one sample per gateway and minute,
//! for the dashboard's plot of the last hour. Written by the health
//! collector, read only by the network's own tenant.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// One reading of a network's bridge on one gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The tenant's slug.
    pub tenant: String,
    pub network: String,
    pub router: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// A stored sample.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Row {
    pub network: String,
    pub router: String,
    pub at: DateTime<Utc>,
    pub rx_bytes: i64,
    pub tx_bytes: i64,
}

/// Keeps this round's samples (the minute's latest wins) and drops those
/// older than two hours. Samples of a tenant that no longer exists are
/// skipped.
pub async fn record(db: &PgPool, samples: &[Sample]) -> Result<()> {
    let col = |f: fn(&Sample) -> String| samples.iter().map(f).collect::<Vec<String>>();
    let tenants = col(|s| s.tenant.clone());
    let networks = col(|s| s.network.clone());
    let routers = col(|s| s.router.clone());
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let rx: Vec<i64> = samples.iter().map(|s| clamp(s.rx_bytes)).collect();
    let tx: Vec<i64> = samples.iter().map(|s| clamp(s.tx_bytes)).collect();
    let mut tx_db = db.begin().await?;
    if !samples.is_empty() {
        sqlx::query(
            "INSERT INTO network_traffic (tenant_id, network, router, minute, at, rx_bytes, tx_bytes)
             SELECT t.id, s.network, s.router, date_trunc('minute', now()), now(), s.rx, s.tx
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
                  AS s (tenant, network, router, rx, tx)
             JOIN tenants t ON t.slug = s.tenant
             ON CONFLICT (tenant_id, network, router, minute)
             DO UPDATE SET at = excluded.at, rx_bytes = excluded.rx_bytes, tx_bytes = excluded.tx_bytes",
        )
        .bind(&tenants)
        .bind(&networks)
        .bind(&routers)
        .bind(&rx)
        .bind(&tx)
        .execute(&mut *tx_db)
        .await?;
    }
    sqlx::query("DELETE FROM network_traffic WHERE minute < now() - interval '2 hours'")
        .execute(&mut *tx_db)
        .await?;
    tx_db.commit().await?;
    Ok(())
}

/// The tenant's samples of the last `minutes` (and the one before, for
/// the first difference), by network, router and time.
pub async fn of_tenant(db: &PgPool, tenant: Uuid, minutes: i32) -> Result<Vec<Row>> {
    Ok(sqlx::query_as(
        "SELECT network, router, at, rx_bytes, tx_bytes FROM network_traffic
         WHERE tenant_id = $1 AND minute >= date_trunc('minute', now()) - make_interval(mins => $2 + 1)
         ORDER BY network, router, at",
    )
    .bind(tenant)
    .bind(minutes)
    .fetch_all(db)
    .await?)
}
