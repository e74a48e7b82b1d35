//! Reading declared objects. Every query takes the tenant id explicitly
//! (`None` for platform kinds): there is no query that spans tenants.

use super::kind::Kind;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgExecutor;
use utoipa::ToSchema;
use uuid::Uuid;

/// A declared object as the API returns it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Declared {
    pub name: String,
    /// Increases with every change; the ETag is `"<version>"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The object itself, as it was accepted (defaults filled in).
    #[schema(value_type = Object)]
    pub spec: Value,
}

const COLS: &str = "name, version, created_at, updated_at, spec";

/// One page, ordered by name; `after` is the cursor (the last name seen).
pub async fn list(
    db: impl PgExecutor<'_>,
    kind: Kind,
    tenant: Option<Uuid>,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Declared>> {
    // Rules sort by number, everything else by name.
    let order = if kind == Kind::Rule {
        "(spec->>'id')::bigint, name"
    } else {
        "name"
    };
    let cursor = if kind == Kind::Rule {
        "($3::text IS NULL OR (spec->>'id')::bigint > $3::bigint)"
    } else {
        "($3::text IS NULL OR name > $3)"
    };
    let owner = owner_is(tenant);
    let q = format!(
        "SELECT {COLS} FROM objects
         WHERE kind = $1 AND {owner} AND {cursor}
         ORDER BY {order} LIMIT $4"
    );
    sqlx::query_as(&q)
        .bind(kind.as_str())
        .bind(tenant)
        .bind(after)
        .bind(limit)
        .fetch_all(db)
        .await
}

pub async fn get(
    db: impl PgExecutor<'_>,
    kind: Kind,
    tenant: Option<Uuid>,
    name: &str,
) -> sqlx::Result<Option<Declared>> {
    let owner = owner_is(tenant);
    let q = format!("SELECT {COLS} FROM objects WHERE kind = $1 AND {owner} AND name = $3");
    sqlx::query_as(&q)
        .bind(kind.as_str())
        .bind(tenant)
        .bind(name)
        .fetch_optional(db)
        .await
}

/// The condition on `$2` (the owning tenant, or none for the platform's
/// objects). Not `IS NOT DISTINCT FROM`: PostgreSQL uses no index for it,
/// so one tenant's list would scan every tenant's rows (12 ms instead of
/// 0.05 ms at 5,000 tenants).
pub(crate) fn owner_is(tenant: Option<Uuid>) -> &'static str {
    match tenant {
        Some(_) => "tenant_id = $2",
        None => "(tenant_id IS NULL AND $2::uuid IS NULL)",
    }
}
