//! Opaque secrets handed to clients (refresh and API tokens): random, shown
//! once, stored only as SHA-256 hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random token with a prefix that says what it is (`vxr_` refresh,
/// `vxa_` API token), so a leaked one is recognisable in a scanner.
pub fn new_token(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("{prefix}{}", hex::encode(b))
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub const REFRESH_PREFIX: &str = "vxr_";
pub const API_PREFIX: &str = "vxa_";
