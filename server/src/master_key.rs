//! The master key a process seals and opens the stored secrets with
//! (secrets at rest: `vxguard_store::sealed`, `vxguard-keystore`): where
//! its file is, making it on a first start, and checking it against the
//! database before anything else runs. Every command that reads or writes
//! secrets opens it right after connecting (`serve`, `worker`, `demo`,
//! `vxguard-bench api load`, `keys`, `vxguard-lab up`); a missing, unreadable,
//! too-open or wrong key file stops the command with a message naming the
//! file and the reason.
//!
//! The file is made (32 random bytes as hex, mode 0600, directories 0700)
//! only when it is missing *and* the database has no master key yet (a
//! fresh database, or one from before secrets were sealed), so a typo in
//! the path of an existing deployment is an error, never a new key.

use anyhow::{anyhow, bail, Result};
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::Arc;
use vxguard_keystore::{FileMasterKey, MasterKey};
use vxguard_store::StoreError;

/// The master key file's flag and variable.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct MasterKeyArgs {
    /// The master key file: the secrets kept in the database (device keys,
    /// the token-signing secret) are sealed under it. Owner-only (0600),
    /// or refused. Made when missing on the first start with a database
    /// that has no master key. Default: $STATE_DIRECTORY/master.key (under
    /// systemd), else $XDG_STATE_HOME/vxguard/master.key, else
    /// ~/.local/state/vxguard/master.key. Back it up: without it the
    /// database's secrets are lost.
    #[arg(long, env = "VXGUARD_MASTER_KEY_FILE", value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

impl MasterKeyArgs {
    /// `VXGUARD_MASTER_KEY_FILE` alone (for commands without the flag).
    pub fn from_env() -> Self {
        MasterKeyArgs {
            master_key_file: std::env::var_os("VXGUARD_MASTER_KEY_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    /// The file: the one given, else the default.
    pub fn path(&self) -> Result<PathBuf> {
        match &self.master_key_file {
            Some(p) => Ok(p.clone()),
            None => default_path(),
        }
    }
}

/// Where the master key lives when no file is named.
pub fn default_path() -> Result<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    // systemd's StateDirectory= (may list several, colon-separated).
    if let Some(d) = std::env::var("STATE_DIRECTORY")
        .ok()
        .and_then(|s| s.split(':').next().map(PathBuf::from))
        .filter(|p| p.is_absolute())
    {
        return Ok(d.join("master.key"));
    }
    if let Some(d) = var("XDG_STATE_HOME") {
        return Ok(d.join("vxguard/master.key"));
    }
    if let Some(h) = var("HOME") {
        return Ok(h.join(".local/state/vxguard/master.key"));
    }
    bail!("no master key file: set VXGUARD_MASTER_KEY_FILE (or --master-key-file); there is no HOME to keep one under")
}

/// Whether the process runs for long (`serve`, `worker`): such a start
/// with the current master key removes a rotation's bridges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Service,
    Command,
}

/// Says something to the operator: in the log when there is one, else on
/// standard error (the one-shot commands log nothing).
fn tell(warn: bool, msg: &str) {
    if tracing::dispatcher::has_been_set() {
        if warn {
            tracing::warn!("{msg}");
        } else {
            tracing::info!("{msg}");
        }
    } else {
        eprintln!("vxguard: {msg}");
    }
}

/// Reads the master key file `a` names (making it on a first start),
/// checks it against the database and makes it the process's. Returns the
/// file's path.
pub async fn open(pool: &PgPool, a: &MasterKeyArgs, start: Start) -> Result<PathBuf> {
    let path = a.path()?;
    let current = vxguard_store::sealed::current(pool).await?;
    let key = match FileMasterKey::load(&path) {
        Ok(k) => k,
        Err(vxguard_keystore::Error::Missing { .. }) if current.is_none() => {
            let (k, made) = FileMasterKey::create_or_load(&path)?;
            if made {
                tell(
                    true,
                    &format!(
                        "made a new master key in {} (master key {}): back this file up, \
                         the database's secrets cannot be opened without it",
                        path.display(),
                        k.id()
                    ),
                );
            }
            k
        }
        Err(vxguard_keystore::Error::Missing { .. }) => bail!(
            "master key file {}: missing, and this database's secrets are sealed under \
             master key {}: restore the file from its backup, or point \
             VXGUARD_MASTER_KEY_FILE (--master-key-file) at it",
            path.display(),
            current.unwrap_or_default()
        ),
        Err(e) => return Err(e.into()),
    };
    let opened = vxguard_store::sealed::open(pool, Arc::new(key), start == Start::Service)
        .await
        .map_err(|e| match e {
            StoreError::WrongMasterKey { .. } => anyhow!(e),
            e => anyhow!(e).context(format!(
                "master key file {}: it does not open this database's secrets",
                path.display()
            )),
        })?;
    if opened.first {
        tell(
            false,
            &format!(
                "the database's secrets are sealed under master key {} ({})",
                opened.master_key,
                path.display()
            ),
        );
    }
    if opened.sealed_devices > 0 || opened.sealed_signing_secret {
        tell(
            true,
            &format!(
                "sealed what was stored in plain text (one-time upgrade): the keys of {} \
                 devices{}",
                opened.sealed_devices,
                if opened.sealed_signing_secret {
                    " and the token-signing secret"
                } else {
                    ""
                }
            ),
        );
    }
    if opened.sealed_revisions > 0 {
        tell(
            true,
            &format!(
                "took the keys out of the stored revisions of {} devices (one-time upgrade: \
                 revisions name keys by placeholder)",
                opened.sealed_revisions
            ),
        );
    }
    if opened.through_bridge {
        tell(
            true,
            &format!(
                "{} holds a previous master key: the database was rotated to master key {} \
                 (`vxguard keys rewrap`); this process works through the rotation's bridge \
                 until it is restarted with the new key file",
                path.display(),
                opened.master_key
            ),
        );
    }
    if opened.bridges_removed > 0 {
        tell(
            false,
            "removed the master key rotation's bridge: the previous master key opens \
             nothing now (restart any process still running with it)",
        );
    }
    Ok(path)
}

/// The id of the master key in a file (for messages and `keys status`).
pub fn id_of(path: &std::path::Path) -> Result<String> {
    Ok(FileMasterKey::load(path)?.id().to_string())
}
