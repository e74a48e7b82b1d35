//! Key material for routers and hypervisors: made for a new device in the
//! write that adds it (the device secrets are stored with the intent), and
//! for the command line's compile of an intent file.

use crate::error::{Result, StoreError};
use std::collections::btree_map::Entry;
use std::io::Read;
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(StoreError::Random)?;
    Ok(b)
}

/// A WireGuard key pair, base64 (private, public).
/// The same derivation as the portal's browser-made client keys.
pub fn wireguard_keypair() -> Result<(String, String)> {
    Ok(vxguard_wg_keys::keypair(random32()?))
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
        if let Entry::Vacant(e) = s.routers.entry(r) {
            let (private, public) = wireguard_keypair()?;
            let api: String = random32()?.iter().map(|b| format!("{b:02x}")).collect();
            e.insert(RouterSecrets {
                wireguard_private_key: private,
                wireguard_public_key: public,
                api_key: api,
                api_key_next: None,
                api_key_retired: None,
                api_key_since: Some(crate::api_keys::unix_now()),
                wireguard_previous: None,
                wireguard_since: Some(crate::api_keys::unix_now()),
                client_key: None,
                client_epochs: Default::default(),
                client_rotation: None,
            });
        }
    }
    for h in hvs {
        if let Entry::Vacant(e) = s.hypervisors.entry(h) {
            let (private, public) = wireguard_keypair()?;
            e.insert(HypervisorSecrets {
                wireguard_private_key: private,
                wireguard_public_key: public,
                wireguard_previous: None,
                wireguard_since: Some(crate::api_keys::unix_now()),
            });
        }
    }
    Ok(())
}
