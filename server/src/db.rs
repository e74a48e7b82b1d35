//! Connecting to PostgreSQL (the store does it: `vxguard_store::db`), with
//! the command line's error reporting (anyhow), and the token-signing
//! secret: from the environment, or generated once into the database.

use anyhow::Result;
use sqlx::PgPool;

pub use vxguard_store::db::{redact, DEFAULT_URL, MIGRATOR};

/// Creates the database named in `url` if it does not exist yet.
pub async fn ensure_database(url: &str) -> Result<()> {
    Ok(vxguard_store::db::ensure_database(url).await?)
}

/// Connects (creating the database if needed) and migrates.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    Ok(vxguard_store::db::connect(url, max_connections).await?)
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
    Ok(vxguard_store::db::jwt_secret(pool, &fresh).await?)
}
