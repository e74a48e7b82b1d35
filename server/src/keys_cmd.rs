//! `vxguard keys`: the master key the stored secrets are sealed under
//! (`master_key.rs`, `vxguard_store::sealed`).
//!
//! `keys rewrap --new-master-key-file PATH` rotates it online: in one
//! transaction every data key is unwrapped with the current master key
//! (`VXGUARD_MASTER_KEY_FILE`) and wrapped under the new one, which is
//! made at PATH when the file is missing. Processes running with the
//! previous key keep working: the rewrap stores the new key sealed under
//! the previous one (a bridge), and they learn it from the database the
//! first time they meet a record wrapped under it. Restart them with the
//! new file; the first `serve` or `worker` started with it removes the
//! bridge, after which the previous key opens nothing and can be
//! destroyed.

use crate::db;
use crate::master_key::{self, MasterKeyArgs, Start};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use vxguard_keystore::{FileMasterKey, MasterKey};

#[derive(clap::Subcommand)]
pub enum KeysCmd {
    /// Rotate the master key: re-wrap every stored data key under a new
    /// master key, in one transaction, while the servers keep running.
    Rewrap(RewrapArgs),
    /// Which master key the database's secrets are sealed under, and
    /// whether the master key file is that one.
    Status(StatusArgs),
    /// Rotate a router's HTTP API key: a new key is added beside the
    /// current one, made current once the router takes it, and the old
    /// one removed once the router refuses it (the worker takes and checks
    /// each step; `vxguard_store::api_keys`). Audited as `key.rotated`.
    RotateApiKey(RotateApiKeyArgs),
    /// Rotate a router's or hypervisor's WireGuard mesh key now (a key
    /// that may be compromised): the new key is staged on the standby mesh
    /// slot, traffic moves to it once every live peer handshakes there,
    /// and the old key stops working right after, with no grace period
    /// (`vxguard_store::mesh_keys`). Audited as `key.rotated`.
    Rotate(RotateArgs),
    /// Look for every secret vxguard holds in files (logs, a database
    /// dump, captured responses), in every encoding (raw, hex, base64):
    /// names the file and which key, never the key; exits 1 on any find.
    Scan(ScanArgs),
}

#[derive(clap::Args)]
pub struct ScanArgs {
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
    /// The files to search.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct RotateApiKeyArgs {
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
    /// The router, by name.
    #[arg(long)]
    pub router: String,
}

#[derive(clap::Args)]
pub struct RotateArgs {
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
    /// The router, by name.
    #[arg(long)]
    pub device: String,
}

#[derive(clap::Args)]
pub struct RewrapArgs {
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    /// The current master key.
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
    /// The new master key file (owner-only); made, with a new random key,
    /// when it does not exist.
    #[arg(long, value_name = "PATH")]
    pub new_master_key_file: PathBuf,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
}

pub async fn run(cmd: KeysCmd) -> Result<bool> {
    match cmd {
        KeysCmd::Rewrap(a) => rewrap(a).await,
        KeysCmd::Status(a) => status(a).await,
        KeysCmd::RotateApiKey(a) => rotate_api_key(a).await,
        KeysCmd::Rotate(a) => rotate(a).await,
        KeysCmd::Scan(a) => scan(a).await,
    }
}

async fn scan(a: ScanArgs) -> Result<bool> {
    let pool = db::connect(&a.database_url, 2).await?;
    master_key::open(&pool, &a.master_key, Start::Command).await?;
    let secrets =
        vxguard_keystore::Zeroizing::new(vxguard_store::sealed::every_secret(&pool).await?);
    let mut clean = true;
    for f in &a.files {
        let text = vxguard_keystore::Zeroizing::new(
            std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        );
        let found = vxguard_keystore::leaks::find(&text, &secrets);
        if found.is_empty() {
            println!("{}: none of {} secrets", f.display(), secrets.len());
        } else {
            clean = false;
            for what in found {
                println!("{}: holds the {what}", f.display());
            }
        }
    }
    Ok(clean)
}

/// The operator at the command line, as the audit names them.
struct Operator(String);

impl vxguard_store::audit::Actor for Operator {
    fn subject(&self) -> &str {
        &self.0
    }
    fn source(&self) -> &str {
        "local"
    }
}

async fn rotate_api_key(a: RotateApiKeyArgs) -> Result<bool> {
    use vxguard_store::api_keys::Begun;
    let pool = db::connect(&a.database_url, 2).await?;
    master_key::open(&pool, &a.master_key, Start::Command).await?;
    let who = Operator(format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    ));
    match vxguard_store::api_keys::begin(&pool, &a.router, &who).await? {
        Begun::Queued(job) => {
            println!(
                "router {}: a new API key is added beside the current one (job {job}); the \
                 worker makes it current once the router takes it and removes the old one \
                 once the router refuses it (audit: key.rotated)",
                a.router
            );
            Ok(true)
        }
        Begun::UnderWay => {
            println!(
                "router {}: a rotation of its API key is already under way",
                a.router
            );
            Ok(true)
        }
        Begun::NoSuchRouter => bail!(
            "--router {}: no router of that name holds keys (is it in the intent, and compiled?)",
            a.router
        ),
    }
}

async fn rotate(a: RotateArgs) -> Result<bool> {
    use vxguard_store::kind::Kind;
    use vxguard_store::mesh_keys::{self, Begun, Device};
    let pool = db::connect(&a.database_url, 2).await?;
    master_key::open(&pool, &a.master_key, Start::Command).await?;
    let who = Operator(format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    ));
    let mut kind = None;
    for k in [Kind::Router, Kind::Hypervisor] {
        if vxguard_store::objects::platform_spec(&pool, k, &a.device)
            .await?
            .is_some()
        {
            kind = Some(k);
        }
    }
    let Some(kind) = kind else {
        bail!(
            "--device {}: no router or hypervisor of that name",
            a.device
        );
    };
    let device = Device {
        kind,
        name: a.device.clone(),
    };
    match mesh_keys::begin(&pool, &[device], 0, "asked by an operator", &who).await? {
        Begun::Queued(job) => {
            println!(
                "{} {}: a new mesh key is staged on the standby slot (job {job}); traffic \
                 moves to it once every live peer has handshaken there, and the old key \
                 stops working right after (audit: key.rotated)",
                kind.as_str(),
                a.device
            );
            Ok(true)
        }
        Begun::Busy => bail!(
            "--device {}: a mesh change or key rotation is under way; ask again once it is \
             released (the audit log shows its mesh.changed steps)",
            a.device
        ),
        Begun::NoSuchDevice(_) => bail!(
            "--device {}: it holds no key yet (is it compiled?)",
            a.device
        ),
    }
}

async fn rewrap(a: RewrapArgs) -> Result<bool> {
    let pool = db::connect(&a.database_url, 2).await?;
    let old_path = master_key::open(&pool, &a.master_key, Start::Command).await?;
    let same_file = match (
        std::fs::canonicalize(&old_path),
        std::fs::canonicalize(&a.new_master_key_file),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    };
    if same_file {
        bail!(
            "--new-master-key-file {} is the current master key file: name a new file",
            a.new_master_key_file.display()
        );
    }
    let (new, made) = match FileMasterKey::load(&a.new_master_key_file) {
        Ok(k) => (k, false),
        Err(vxguard_keystore::Error::Missing { .. }) => {
            FileMasterKey::create_or_load(&a.new_master_key_file)?
        }
        Err(e) => return Err(e.into()),
    };
    if made {
        println!(
            "made a new master key in {} (master key {})",
            a.new_master_key_file.display(),
            new.id()
        );
    }
    let new = Arc::new(new);
    let bridge = new.key().clone();
    let done = vxguard_store::sealed::rewrap(&pool, new.clone(), Some(&bridge)).await?;
    println!(
        "rewrapped {} sealed records from master key {} to master key {}",
        done.records, done.from, done.to
    );
    println!(
        "Running servers and workers keep working (they learn the new key from the \
         database). Now:\n  \
         1. back up {new}\n  \
         2. point VXGUARD_MASTER_KEY_FILE at it (or move it over {old}) and restart every \
         vxguard serve and worker; the first one started removes the rotation's bridge\n  \
         3. then destroy the previous key ({old}, and its backups): it opens nothing any more",
        new = a.new_master_key_file.display(),
        old = old_path.display()
    );
    Ok(true)
}

async fn status(a: StatusArgs) -> Result<bool> {
    let pool = db::connect(&a.database_url, 2).await?;
    let path = a.master_key.path()?;
    let s = vxguard_store::sealed::status(&pool).await?;
    match (&s.master_key, &s.since) {
        (Some(id), Some(since)) => println!("database: sealed under master key {id} since {since}"),
        _ => println!("database: no master key yet (the first start with one makes it)"),
    }
    for (id, n) in &s.records {
        println!("  {n} sealed records under {id}");
    }
    if !s.bridges.is_empty() {
        println!(
            "  rotation bridge to {} still stored: restart the servers and workers with the new key",
            s.bridges.join(", ")
        );
    }
    if s.unsealed_left {
        println!(
            "  plain text from before is still stored: the next start with a master key seals it"
        );
    }
    let file = master_key::id_of(&path);
    match &file {
        Ok(id) => println!("file {}: master key {id}", path.display()),
        Err(e) => println!("{e:#}"),
    }
    Ok(match (file, s.master_key) {
        (Ok(f), Some(db)) => f == db,
        (Ok(_), None) => true,
        (Err(_), _) => false,
    })
}
