//! Connecting to PostgreSQL: creates the database when it is missing and
//! applies the migrations in `migrations/` (embedded in the binary).

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/vxguard";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Creates the database named in `url` if it does not exist yet.
pub async fn ensure_database(url: &str) -> Result<()> {
    let opts = PgConnectOptions::from_str(url).context("DATABASE_URL is not a PostgreSQL URL")?;
    let name = opts.get_database().unwrap_or("postgres").to_string();
    let mut admin = opts
        .clone()
        .database("postgres")
        .connect()
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let q = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        if let Err(e) = sqlx::query(&q).execute(&mut admin).await {
            // Another process may have created it at the same moment.
            let again: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await?;
            if !again {
                return Err(e).context("creating the database");
            }
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Connects (creating the database if needed) and migrates.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    ensure_database(url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
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

/// The token-signing secret given in `VXGUARD_JWT_SECRET` (environment
/// only: a flag would show it in the process list), checked at start.
pub fn jwt_secret_from_env() -> Result<Option<Vec<u8>>> {
    match std::env::var("VXGUARD_JWT_SECRET") {
        Ok(s) => {
            anyhow::ensure!(
                s.len() >= 32,
                "VXGUARD_JWT_SECRET: must be at least 32 characters (it has {})",
                s.len()
            );
            Ok(Some(s.into_bytes()))
        }
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("VXGUARD_JWT_SECRET: not valid UTF-8")
        }
    }
}

/// The token-signing secret kept in the database: generated once, so
/// every API process agrees. Never printed.
pub async fn jwt_secret(pool: &PgPool) -> Result<Vec<u8>> {
    let fresh = crate::auth::secret::new_token("");
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('jwt_secret', $1) ON CONFLICT DO NOTHING",
    )
    .bind(&fresh)
    .execute(pool)
    .await?;
    let s: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'jwt_secret'")
        .fetch_one(pool)
        .await?;
    Ok(s.into_bytes())
}
