//! Key material for routers and hypervisors compiled from a file: generated
//! once (`vxguard_store::device_keys`, as for stored intents), kept in a
//! 0600 file next to the intent (`NAME.secrets.json`), never printed.

use anyhow::{Context, Result};
use std::path::Path;
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::Secrets;
use vxguard_store::device_keys;

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
    device_keys::reconcile(&mut s, intent)?;
    if s != before {
        write_private(path, &serde_json::to_string_pretty(&s)?)?;
    }
    Ok(s)
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
