//! The platform's allocation (VNIs, addresses, …): the platform's row and
//! one row per tenant, which writes and the worker store; read here whole
//! for the pages that show allocated values.

use crate::error::Result;
use serde_json::Value;
use sqlx::PgPool;

/// The stored allocation document, if any change stored one yet.
pub async fn document(db: &PgPool) -> Result<Option<Value>> {
    Ok(
        // The platform's row with every tenant's row put back under
        // `tenants` (migration 0009 keeps one row per tenant).
        sqlx::query_scalar(
            "SELECT jsonb_set(a.doc, '{tenants}', COALESCE(
                 (SELECT jsonb_object_agg(t.slug, ta.doc) FROM tenant_allocations ta
                  JOIN tenants t ON t.id = ta.tenant_id), '{}'::jsonb))
             FROM allocation a WHERE a.id = 1",
        )
        .fetch_optional(db)
        .await?,
    )
}
