//! How vxguard names a WireGuard key where it must not show it.

/// What the audit and the logs name a WireGuard key by: the first 16 hex
/// digits of the SHA-256 of its public half (the public key itself is no
/// secret, but this keeps entries short and alike for every key).
pub fn fingerprint(public_key: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(public_key.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}
