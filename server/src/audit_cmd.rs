//! `vxguard audit verify`: checks the audit log's hash chain
//! (`vxguard_store::audit`), the operator's proof that no row was
//! changed or removed behind the API.

use crate::db;
use anyhow::Result;

#[derive(clap::Subcommand)]
pub enum AuditCmd {
    /// Check the audit log's hash chain; exit 1 at the first broken row.
    Verify {
        #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
        database_url: String,
    },
}

/// True when the chain is intact (exit 0), false at a broken row (exit 1).
pub async fn run(cmd: AuditCmd) -> Result<bool> {
    let AuditCmd::Verify { database_url } = cmd;
    let pool = db::connect(&database_url, 2).await?;
    match crate::audit::verify(&pool).await? {
        Ok(n) => {
            println!("audit log intact: {n} entries");
            Ok(true)
        }
        Err(b) => {
            println!("audit log BROKEN at entry {}: {}", b.id, b.reason);
            Ok(false)
        }
    }
}
