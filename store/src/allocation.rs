//! The platform's allocation (VNIs, addresses, …), one JSON document the
//! write path stores with every change; read here for the pages that show
//! allocated values.

use crate::error::Result;
use serde_json::Value;
use sqlx::PgPool;

/// The stored allocation document, if any change stored one yet.
pub async fn document(db: &PgPool) -> Result<Option<Value>> {
    Ok(
        sqlx::query_scalar("SELECT doc FROM allocation WHERE id = 1")
            .fetch_optional(db)
            .await?,
    )
}
