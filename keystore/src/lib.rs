//! Envelope encryption of the secrets vxguard stores (issue 17, item 3):
//! device WireGuard private keys, router API keys, the token-signing
//! secret.
//!
//! Each secret is sealed on its own ([`seal`]): a fresh random data key
//! encrypts it with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`),
//! and the data key is stored wrapped by a master key ([`MasterKey`]). Both
//! encryptions carry the record's *context* as associated data (a string
//! naming the row, e.g. `sealed_secrets/router/vyos-dc1-01`), so a
//! ciphertext or a wrapped key copied onto another row does not open there.
//! A record also names the master key that wrapped its data key
//! ([`Sealed::master_key`]), so that a [`Keyring`] can hold the old and the
//! new key while a rotation ([`rewrap`]) is under way.
//!
//! The master key is a trait so that other sources can be added: the file
//! one ([`FileMasterKey`]: 32 random bytes in a file only its owner may
//! read) is the only one today. A Vault/OpenBao transit key or a cloud KMS
//! key would implement [`MasterKey`] with `wrap`/`unwrap` as the service's
//! encrypt/decrypt of the 32-byte data key (the context as the transit
//! `context`/KMS encryption context) and `id` as the key's name and
//! version; the master key then never enters vxguard's memory.
//!
//! Key material is zeroized when dropped where this crate holds it
//! ([`Key`], the plaintexts [`open`] returns) and no type here prints any:
//! `Debug` shows ids and lengths only.
//!
//! Pure except [`FileMasterKey::load`] and [`FileMasterKey::create`], which
//! read and create the key file.

mod envelope;
mod error;
mod file;
mod keyring;
pub mod leaks;

pub use envelope::{open, rewrap, seal, Sealed};
pub use error::{Error, Result};
pub use file::{check_permissions, FileMasterKey};
pub use keyring::Keyring;
pub use zeroize::Zeroizing;

use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::OsRng;

/// Bytes in a key (data keys and the file master key): 256 bits.
pub const KEY_LEN: usize = 32;

/// 32 bytes of key material: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; KEY_LEN]>);

impl Key {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<Key> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        OsRng
            .try_fill_bytes(k.as_mut())
            .map_err(|_| Error::Random)?;
        Ok(Key(k))
    }

    /// A key from its bytes (taken, so the caller's copy can be the only
    /// other one; zeroize it).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(Zeroizing::new(bytes))
    }

    /// A key from a slice that must be [`KEY_LEN`] bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Key> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        k.copy_from_slice(bytes);
        Some(Key(k))
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Random bytes from the operating system (nonces).
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    OsRng.try_fill_bytes(&mut b).map_err(|_| Error::Random)?;
    Ok(b)
}

/// A master key: wraps and unwraps data keys. Implement it for another
/// source (Vault/OpenBao transit, a cloud KMS): `wrap` encrypts the data
/// key with `context` bound to it (transit's `context`, a KMS encryption
/// context), `unwrap` reverses it and fails for any other context, `id`
/// names the key *and its version* (it is stored with every wrapped key, so
/// a rotation can tell which records are done). The calls are synchronous:
/// a networked source blocks for one round trip per record (the store
/// wraps or unwraps one data key per secret it writes or reads).
pub trait MasterKey: Send + Sync {
    /// Stable identifier of this key (and version), stored with each key it
    /// wraps. Not secret; must not reveal the key.
    fn id(&self) -> &str;
    /// Where the key comes from, for messages (`file /var/lib/vxguard/master.key`).
    fn source(&self) -> String;
    /// The data key, encrypted under this master key with `context` bound.
    fn wrap(&self, data_key: &Key, context: &[u8]) -> Result<Vec<u8>>;
    /// The data key `wrap` made with this key and the same `context`; an
    /// error for anything else (another key, another context, altered bytes).
    fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Key>;
}

impl std::fmt::Debug for dyn MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id())
            .field("source", &self.source())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_never_printed() {
        let a = Key::random().unwrap();
        let b = Key::random().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "Key(<redacted>)");
        assert!(Key::from_slice(&[0u8; 31]).is_none());
        assert_eq!(
            Key::from_slice(&[7u8; 32]).unwrap().as_bytes(),
            Key::from_bytes([7u8; 32]).as_bytes()
        );
    }
}
