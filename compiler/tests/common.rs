//! Shared test fixtures: the example intent, fixed key material and the
//! built-in VyOS definitions.
#![allow(dead_code)]

use std::path::PathBuf;
use vxguard_compiler::intent::{yaml, Intent, VyosVersion};
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};
use vxguard_compiler::DefinitionSet;
use vyos_defs::Definitions;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn example_text() -> String {
    std::fs::read_to_string(root().join("examples/two-dc.yaml")).unwrap()
}

pub fn example() -> Intent {
    yaml::parse_intent(&example_text())
        .map_err(|e| format!("{:?}", e))
        .unwrap()
        .0
}

/// Deterministic (fake but well-formed) keys, so golden files are stable.
pub fn secrets(intent: &Intent) -> Secrets {
    let key = |s: &str, salt: u8| {
        let mut b = [salt; 32];
        for (i, c) in s.bytes().enumerate() {
            b[i % 32] ^= c;
        }
        b[31] = 0x40;
        use base64_lite::encode;
        encode(&b)
    };
    let mut s = Secrets::default();
    for r in &intent.platform.routers {
        s.routers.insert(
            r.name.to_string(),
            RouterSecrets {
                wireguard_private_key: key(r.name.as_str(), 1),
                wireguard_public_key: key(r.name.as_str(), 2),
                api_key: format!("test-api-key-{}", r.name),
                api_key_next: None,
                api_key_retired: None,
                api_key_since: None,
                wireguard_previous: None,
                wireguard_since: None,
                client_key: None,
                client_epochs: Default::default(),
                client_rotation: None,
            },
        );
    }
    for h in &intent.platform.hypervisors {
        s.hypervisors.insert(
            h.name.to_string(),
            HypervisorSecrets {
                wireguard_private_key: key(h.name.as_str(), 3),
                wireguard_public_key: key(h.name.as_str(), 4),
                wireguard_previous: None,
                wireguard_since: None,
            },
        );
    }
    s
}

pub struct Defs {
    pub v14: Definitions,
    pub v15: Definitions,
}

impl Defs {
    /// Loaded once per test binary.
    pub fn load() -> &'static Self {
        static DEFS: std::sync::OnceLock<Defs> = std::sync::OnceLock::new();
        DEFS.get_or_init(Self::read)
    }
    fn read() -> Self {
        // The schemas built into vxguard (vyos-defs checks them against
        // vyos-1x's XML where that is at hand).
        Self {
            v14: vyos_defs::builtin::definitions("1.4").unwrap().clone(),
            v15: vyos_defs::builtin::definitions("1.5").unwrap().clone(),
        }
    }
    pub fn set(&self) -> DefinitionSet<'_> {
        let mut d = DefinitionSet::default();
        d.by_version.insert(VyosVersion::V1_4, &self.v14);
        d.by_version.insert(VyosVersion::V1_5, &self.v15);
        d
    }
}

/// Minimal standard base64, to avoid a dependency for tests.
pub mod base64_lite {
    pub fn encode(b: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
