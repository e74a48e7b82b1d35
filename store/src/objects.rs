//! Declared objects (sites, routers, networks, rules, …). Every query takes
//! the tenant id explicitly (`None` for platform kinds): there is no query
//! that spans tenants. Writing them is the write path's ([`crate::write`]).

use crate::error::Result;
use crate::kind::Kind;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

/// A declared object as stored.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Declared {
    pub name: String,
    /// Increases with every change.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The object itself, as it was accepted (defaults filled in).
    pub spec: Value,
    /// The user who created it (whose authority the caller carried: the
    /// user, or the maker of their API token); `None` when unknown
    /// (created before this was kept, or that user is gone).
    pub created_by: Option<Uuid>,
}

const COLS: &str = "name, version, created_at, updated_at, spec, created_by";

/// One page, ordered by name; `after` is the cursor (the last name seen).
pub async fn list(
    db: impl PgExecutor<'_>,
    kind: Kind,
    tenant: Option<Uuid>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Declared>> {
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
    Ok(sqlx::query_as(&q)
        .bind(kind.as_str())
        .bind(tenant)
        .bind(after)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// The tenant's rules in evaluation order (by position; see
/// [`place_rules`]), where [`list`] gives them by number.
pub async fn rules_in_order(db: impl PgExecutor<'_>, tenant: Uuid) -> Result<Vec<Declared>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM objects WHERE kind = 'rule' AND tenant_id = $1
         ORDER BY position, (spec->>'id')::bigint"
    ))
    .bind(tenant)
    .fetch_all(db)
    .await?)
}

/// Puts the tenant's rules in the order `ids` (their numbers, each rule
/// once): a rule's position is its index there. Writes only the rows whose
/// position changes (a rule added at the end writes one), and neither a
/// rule's spec nor its version: a move is not a change to the rule.
pub(crate) async fn place_rules(conn: &mut PgConnection, tenant: Uuid, ids: &[u32]) -> Result<()> {
    let names: Vec<String> = ids.iter().map(u32::to_string).collect();
    let positions: Vec<i32> = (0..ids.len() as i32).collect();
    sqlx::query(
        "UPDATE objects o SET position = u.pos
           FROM UNNEST($2::text[], $3::integer[]) AS u(name, pos)
          WHERE o.kind = 'rule' AND o.tenant_id = $1 AND o.name = u.name
            AND o.position IS DISTINCT FROM u.pos",
    )
    .bind(tenant)
    .bind(&names)
    .bind(&positions)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(
    db: impl PgExecutor<'_>,
    kind: Kind,
    tenant: Option<Uuid>,
    name: &str,
) -> Result<Option<Declared>> {
    let owner = owner_is(tenant);
    let q = format!("SELECT {COLS} FROM objects WHERE kind = $1 AND {owner} AND name = $3");
    Ok(sqlx::query_as(&q)
        .bind(kind.as_str())
        .bind(tenant)
        .bind(name)
        .fetch_optional(db)
        .await?)
}

/// The query of [`expired_clients`]: its conditions are the predicate of
/// the index `objects_client_expiry` (migration 0020), which it reads
/// rather than every object (a test checks the plan).
pub const EXPIRED_CLIENTS: &str =
    "SELECT t.id, t.slug, o.name FROM objects o JOIN tenants t ON t.id = o.tenant_id
     WHERE o.kind = 'client' AND o.spec ? 'expires_at'
       AND (o.spec->>'expires_at')::timestamptz <= now()
     ORDER BY (o.spec->>'expires_at')::timestamptz, t.slug, o.name";

/// Every tenant's clients whose `expires_at` has passed (tenant id,
/// slug, client name), oldest expiry first: what the worker removes.
pub async fn expired_clients(db: &PgPool) -> Result<Vec<(Uuid, String, String)>> {
    Ok(sqlx::query_as(EXPIRED_CLIENTS).fetch_all(db).await?)
}

/// The platform's objects of `kind` (routers, hypervisors), name and spec,
/// by name.
pub async fn platform_specs(db: &PgPool, kind: Kind) -> Result<Vec<(String, Value)>> {
    Ok(sqlx::query_as(
        "SELECT name, spec FROM objects WHERE kind = $1 AND tenant_id IS NULL ORDER BY name",
    )
    .bind(kind.as_str())
    .fetch_all(db)
    .await?)
}

/// The spec of the platform's object `name` of `kind`.
pub async fn platform_spec(db: &PgPool, kind: Kind, name: &str) -> Result<Option<Value>> {
    Ok(sqlx::query_scalar(
        "SELECT spec FROM objects WHERE kind = $1 AND tenant_id IS NULL AND name = $2",
    )
    .bind(kind.as_str())
    .bind(name)
    .fetch_optional(db)
    .await?)
}

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

/// How many objects are declared at all (zero: an empty platform).
pub async fn total(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM objects")
        .fetch_one(&mut *conn)
        .await?)
}

/// Creates or replaces one object; the version goes up on a replace.
/// `created_by` is kept from the first insert (a replace leaves it).
/// Another write's claim on a port of a network refuses it
/// (`port_claims_pkey`): see [`crate::write`].
pub(crate) async fn upsert(
    conn: &mut PgConnection,
    kind: Kind,
    tenant: Option<Uuid>,
    name: &str,
    spec: &Value,
    created_by: Option<Uuid>,
) -> sqlx::Result<Declared> {
    sqlx::query_as::<_, Declared>(&format!(
        "INSERT INTO objects (id, kind, tenant_id, name, spec, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (kind, tenant_id, name) DO UPDATE
           SET spec = EXCLUDED.spec, version = objects.version + 1, updated_at = now()
         RETURNING {COLS}"
    ))
    .bind(Uuid::new_v4())
    .bind(kind.as_str())
    .bind(tenant)
    .bind(name)
    .bind(spec)
    .bind(created_by)
    .fetch_one(&mut *conn)
    .await
}

/// Deletes one object.
pub(crate) async fn delete(
    conn: &mut PgConnection,
    kind: Kind,
    tenant: Option<Uuid>,
    name: &str,
) -> Result<()> {
    let owner = owner_is(tenant);
    sqlx::query(&format!(
        "DELETE FROM objects WHERE kind = $1 AND {owner} AND name = $3"
    ))
    .bind(kind.as_str())
    .bind(tenant)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Object rows gathered column by column, for one `UNNEST` insert
/// ([`Bulk::insert`]): how a whole intent is loaded ([`crate::demo`]).
#[derive(Default)]
pub(crate) struct Bulk {
    ids: Vec<Uuid>,
    kinds: Vec<String>,
    tenants: Vec<Option<Uuid>>,
    names: Vec<String>,
    specs: Vec<Value>,
}

impl Bulk {
    pub(crate) fn push(&mut self, kind: Kind, tenant: Option<Uuid>, name: String, spec: Value) {
        self.ids.push(Uuid::new_v4());
        self.kinds.push(kind.as_str().to_string());
        self.tenants.push(tenant);
        self.names.push(name);
        self.specs.push(spec);
    }

    /// In chunks, so that no one statement carries hundreds of megabytes.
    pub(crate) async fn insert(&self, tx: &mut PgConnection) -> Result<()> {
        const CHUNK: usize = 10_000;
        for start in (0..self.ids.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(self.ids.len());
            sqlx::query(
                "INSERT INTO objects (id, kind, tenant_id, name, spec)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[])",
            )
            .bind(&self.ids[start..end])
            .bind(&self.kinds[start..end])
            .bind(&self.tenants[start..end])
            .bind(&self.names[start..end])
            .bind(&self.specs[start..end])
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// The condition on `$2` (the owning tenant, or none for the platform's
/// objects). Not `IS NOT DISTINCT FROM`: PostgreSQL uses no index for it,
/// so one tenant's list would scan every tenant's rows (12 ms instead of
/// 0.05 ms at 5,000 tenants).
fn owner_is(tenant: Option<Uuid>) -> &'static str {
    match tenant {
        Some(_) => "tenant_id = $2",
        None => "(tenant_id IS NULL AND $2::uuid IS NULL)",
    }
}
