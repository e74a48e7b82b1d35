//! Key material for routers and hypervisors: generated once, kept in a
//! 0600 file next to the intent (`NAME.secrets.json`), never printed.

use anyhow::{Context, Result};
use std::io::Read;
use std::path::Path;
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .context("reading /dev/urandom")?;
    Ok(b)
}

/// A WireGuard key pair, base64 (private, public).
/// The same derivation as the portal's browser-made client keys.
pub fn wireguard_keypair() -> Result<(String, String)> {
    Ok(vxguard_wg_keys::keypair(random32()?))
}

/// Loads the secrets file, adds keys for new devices, drops removed ones,
/// and writes it back (mode 0600) when it changed.
pub fn load_or_create(path: &Path, intent: &Intent) -> Result<Secrets> {
    let mut s: Secrets = match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t)
            .with_context(|| format!("{}: not a secrets file", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Secrets::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let before = s.clone();
    reconcile(&mut s, intent)?;
    if s != before {
        write_private(path, &serde_json::to_string_pretty(&s)?)?;
    }
    Ok(s)
}

/// Adds keys for devices that have none and drops those of removed devices.
pub fn reconcile(s: &mut Secrets, intent: &Intent) -> Result<()> {
    let routers: Vec<String> = intent
        .platform
        .routers
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    let hvs: Vec<String> = intent
        .platform
        .hypervisors
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    s.routers.retain(|k, _| routers.contains(k));
    s.hypervisors.retain(|k, _| hvs.contains(k));
    for r in routers {
        if !s.routers.contains_key(&r) {
            let (private, public) = wireguard_keypair()?;
            let api: String = random32()?.iter().map(|b| format!("{b:02x}")).collect();
            s.routers.insert(
                r,
                RouterSecrets {
                    wireguard_private_key: private,
                    wireguard_public_key: public,
                    api_key: api,
                },
            );
        }
    }
    for h in hvs {
        if !s.hypervisors.contains_key(&h) {
            let (private, public) = wireguard_keypair()?;
            s.hypervisors.insert(
                h,
                HypervisorSecrets {
                    wireguard_private_key: private,
                    wireguard_public_key: public,
                },
            );
        }
    }
    Ok(())
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
