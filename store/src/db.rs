//! Connecting to PostgreSQL: creates the database when it is missing and
//! applies the migrations in the workspace's `migrations/` (embedded in the
//! binary); the settings the processes share (the token-signing secret,
//! sealed);
//! whether the schema is current (readiness).

use crate::error::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/vxguard";

/// The schema, from the workspace's `migrations/` (where they stay: the
/// server's history and the packaging refer to them there).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Creates the database named in `url` if it does not exist yet.
pub async fn ensure_database(url: &str) -> Result<()> {
    let opts = PgConnectOptions::from_str(url).map_err(StoreError::BadUrl)?;
    let name = opts.get_database().unwrap_or("postgres").to_string();
    let mut admin = opts
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(|source| StoreError::Connect {
            target: format!("PostgreSQL at {}", redact(url)),
            source,
        })?;
    if !exists(&mut admin, &name).await? {
        let q = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        if let Err(e) = sqlx::query(&q).execute(&mut admin).await {
            // Another process may have created it at the same moment.
            if !exists(&mut admin, &name).await? {
                return Err(StoreError::CreateDatabase(e));
            }
        }
    }
    admin.close().await.ok();
    Ok(())
}

async fn exists(admin: &mut sqlx::PgConnection, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(admin)
        .await
}

/// Connects (creating the database if needed) and migrates.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    ensure_database(url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect(url)
        .await
        .map_err(|source| StoreError::Connect {
            target: redact(url),
            source,
        })?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable url>".into(),
    }
}

/// The token-signing secret kept in the database, sealed
/// ([`crate::sealed`]): `fresh` is stored the first time, so every API
/// process agrees on whichever came first.
pub async fn jwt_secret(pool: &PgPool, fresh: &str) -> Result<Vec<u8>> {
    crate::sealed::signing_secret(pool, fresh).await
}

/// Whether every migration this binary knows is applied (readiness).
pub async fn migrated(pool: &PgPool) -> Result<bool> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(applied.is_some_and(|v| v >= latest))
}

/// How big the database is (the API benchmark's growth figures).
pub struct Sizes {
    /// The whole database, bytes.
    pub total: i64,
    /// Each table with its indexes and TOAST, bytes.
    pub tables: std::collections::BTreeMap<String, i64>,
    /// Revisions stored, and the bytes of their configurations and diffs.
    pub revisions: i64,
    pub revision_bytes: i64,
}

/// The database's size now. A plain `VACUUM` first, so that space freed
/// by updated rows is reused rather than counted as growth.
pub async fn sizes(db: &PgPool) -> Result<Sizes> {
    use sqlx::Executor;
    db.execute("VACUUM").await?;
    let total: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(db)
        .await?;
    let tables: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.relname::text, pg_total_relation_size(c.oid)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname = 'public'",
    )
    .fetch_all(db)
    .await?;
    let (revisions, revision_bytes): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(octet_length(config) + octet_length(diff)), 0)::bigint FROM revisions",
    )
    .fetch_one(db)
    .await?;
    Ok(Sizes {
        total,
        tables: tables.into_iter().collect(),
        revisions,
        revision_bytes,
    })
}
