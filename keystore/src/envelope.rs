//! Sealing one secret: a fresh data key per record encrypts the plaintext
//! (XChaCha20-Poly1305, 24-byte random nonce), the master key wraps the
//! data key; the record's context is the associated data of both.

use crate::error::{Error, Result};
use crate::{random_bytes, Key, MasterKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// Associated data of a secret's ciphertext: this prefix, then the context.
const SEAL_AD: &[u8] = b"vxguard sealed secret v1\0";
const NONCE_LEN: usize = 24;

/// A sealed secret as stored: which master key wrapped its data key, the
/// wrapped data key, the nonce and the ciphertext (with its tag).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub master_key: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("master_key", &self.master_key)
            .field("wrapped_key_len", &self.wrapped_key.len())
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

fn ad(context: &str) -> Vec<u8> {
    [SEAL_AD, context.as_bytes()].concat()
}

/// Seals `plaintext` for the record named `context` under `master`.
pub fn seal(master: &dyn MasterKey, context: &str, plaintext: &[u8]) -> Result<Sealed> {
    let dk = Key::random()?;
    let nonce = random_bytes::<NONCE_LEN>()?;
    let ciphertext = XChaCha20Poly1305::new(dk.as_bytes().into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &ad(context),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any plaintext this size");
    Ok(Sealed {
        master_key: master.id().to_string(),
        wrapped_key: master.wrap(&dk, context.as_bytes())?,
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// The plaintext of a record sealed for `context`, whose data key `master`
/// wrapped. Fails for another master key, another context (a record moved
/// to another row), or altered bytes.
pub fn open(master: &dyn MasterKey, context: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>> {
    let dk = unwrap_key(master, context, sealed)?;
    if sealed.nonce.len() != NONCE_LEN {
        return Err(Error::Malformed {
            context: context.into(),
            reason: "its nonce is not 24 bytes",
        });
    }
    XChaCha20Poly1305::new(dk.as_bytes().into())
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &ad(context),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Decrypt {
            context: context.into(),
        })
}

fn unwrap_key(master: &dyn MasterKey, context: &str, sealed: &Sealed) -> Result<Key> {
    if sealed.master_key != master.id() {
        return Err(Error::OtherMasterKey {
            context: context.into(),
            has: sealed.master_key.clone(),
            given: master.id().into(),
        });
    }
    master.unwrap(&sealed.wrapped_key, context.as_bytes())
}

/// The record with its data key wrapped under `to` instead of `from`; the
/// ciphertext is unchanged. The whole record is opened first, so a record
/// that does not open is never rewrapped.
pub fn rewrap(
    from: &dyn MasterKey,
    to: &dyn MasterKey,
    context: &str,
    sealed: &Sealed,
) -> Result<Sealed> {
    open(from, context, sealed)?;
    let dk = unwrap_key(from, context, sealed)?;
    Ok(Sealed {
        master_key: to.id().to_string(),
        wrapped_key: to.wrap(&dk, context.as_bytes())?,
        nonce: sealed.nonce.clone(),
        ciphertext: sealed.ciphertext.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileMasterKey;

    fn key() -> FileMasterKey {
        FileMasterKey::from_key(Key::random().unwrap(), "test")
    }

    #[test]
    fn round_trip() {
        let m = key();
        let s = seal(&m, "sealed_secrets/router/r1", b"wg private key").unwrap();
        assert_eq!(s.master_key, m.id());
        assert_eq!(
            &open(&m, "sealed_secrets/router/r1", &s).unwrap()[..],
            b"wg private key"
        );
        // Nothing of the plaintext in the record.
        let all = [&s.wrapped_key[..], &s.nonce, &s.ciphertext].concat();
        assert!(!all.windows(14).any(|w| w == b"wg private key"));
        // A fresh data key and nonce each time.
        let t = seal(&m, "sealed_secrets/router/r1", b"wg private key").unwrap();
        assert_ne!(s.ciphertext, t.ciphertext);
        assert_ne!(s.wrapped_key, t.wrapped_key);
        // Empty secrets too.
        let e = seal(&m, "c", b"").unwrap();
        assert!(open(&m, "c", &e).unwrap().is_empty());
        assert!(!format!("{s:?}").contains("wg private"));
    }

    #[test]
    fn a_wrong_master_key_fails() {
        let m = key();
        let other = key();
        let s = seal(&m, "ctx", b"secret").unwrap();
        assert!(matches!(
            open(&other, "ctx", &s),
            Err(Error::OtherMasterKey { .. })
        ));
        // Even when the record claims the other key's id.
        let mut lying = s.clone();
        lying.master_key = other.id().into();
        assert!(matches!(
            open(&other, "ctx", &lying),
            Err(Error::Unwrap { .. })
        ));
    }

    #[test]
    fn tampering_fails() {
        let m = key();
        let s = seal(&m, "ctx", b"secret value").unwrap();
        for i in 0..s.ciphertext.len() {
            let mut t = s.clone();
            t.ciphertext[i] ^= 0x01;
            assert!(matches!(open(&m, "ctx", &t), Err(Error::Decrypt { .. })));
        }
        for i in 0..s.nonce.len() {
            let mut t = s.clone();
            t.nonce[i] ^= 0x80;
            assert!(open(&m, "ctx", &t).is_err());
        }
        for i in 0..s.wrapped_key.len() {
            let mut t = s.clone();
            t.wrapped_key[i] ^= 0x01;
            assert!(matches!(open(&m, "ctx", &t), Err(Error::Unwrap { .. })));
        }
        let mut t = s.clone();
        t.ciphertext.truncate(4);
        assert!(open(&m, "ctx", &t).is_err());
        let mut t = s.clone();
        t.nonce.pop();
        assert!(matches!(open(&m, "ctx", &t), Err(Error::Malformed { .. })));
    }

    #[test]
    fn swapped_rows_fail() {
        let m = key();
        let a = seal(&m, "sealed_secrets/router/r1", b"key of r1").unwrap();
        let b = seal(&m, "sealed_secrets/router/r2", b"key of r2").unwrap();
        // The whole record on the other row.
        assert!(open(&m, "sealed_secrets/router/r2", &a).is_err());
        // Only the ciphertext moved (with its nonce), keeping the row's data key.
        let mixed = Sealed {
            nonce: a.nonce.clone(),
            ciphertext: a.ciphertext.clone(),
            ..b.clone()
        };
        assert!(matches!(
            open(&m, "sealed_secrets/router/r2", &mixed),
            Err(Error::Decrypt { .. })
        ));
        // Only the wrapped data key moved.
        let mixed = Sealed {
            wrapped_key: a.wrapped_key.clone(),
            ..b.clone()
        };
        assert!(matches!(
            open(&m, "sealed_secrets/router/r2", &mixed),
            Err(Error::Unwrap { .. })
        ));
        assert_eq!(
            &open(&m, "sealed_secrets/router/r2", &b).unwrap()[..],
            b"key of r2"
        );
    }

    #[test]
    fn rewrap_moves_the_record_to_the_new_key() {
        let old = key();
        let new = key();
        let s = seal(&old, "ctx", b"secret").unwrap();
        let r = rewrap(&old, &new, "ctx", &s).unwrap();
        assert_eq!(r.master_key, new.id());
        assert_eq!(r.ciphertext, s.ciphertext);
        assert_eq!(&open(&new, "ctx", &r).unwrap()[..], b"secret");
        assert!(open(&old, "ctx", &r).is_err());
        // A record that does not open is not rewrapped.
        let mut t = s.clone();
        t.ciphertext[0] ^= 1;
        assert!(rewrap(&old, &new, "ctx", &t).is_err());
        assert!(rewrap(&new, &old, "ctx", &s).is_err());
    }
}
