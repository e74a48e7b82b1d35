//! The master keys a process holds, by id: normally one; two while a
//! rotation is under way (the one it started with and the new one it
//! learnt), so every record opens whichever key wrapped it.

use crate::envelope::{open, seal, Sealed};
use crate::error::{Error, Result};
use crate::MasterKey;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

#[derive(Default)]
pub struct Keyring {
    keys: RwLock<BTreeMap<String, Arc<dyn MasterKey>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("ids", &self.ids()).finish()
    }
}

impl Keyring {
    /// Adds (or replaces) the key with its id.
    pub fn add(&self, key: Arc<dyn MasterKey>) {
        let id = key.id().to_string();
        self.keys.write().expect("keyring lock").insert(id, key);
    }

    pub fn get(&self, id: &str) -> Option<Arc<dyn MasterKey>> {
        self.keys.read().expect("keyring lock").get(id).cloned()
    }

    /// The ids of the keys held, in order.
    pub fn ids(&self) -> Vec<String> {
        self.keys
            .read()
            .expect("keyring lock")
            .keys()
            .cloned()
            .collect()
    }

    fn need(&self, id: &str, context: &str) -> Result<Arc<dyn MasterKey>> {
        self.get(id).ok_or_else(|| {
            let held = self.ids();
            Error::Unknown {
                context: context.into(),
                id: id.into(),
                held: if held.is_empty() {
                    "none".into()
                } else {
                    held.join(", ")
                },
            }
        })
    }

    /// Opens a record with the key that wrapped it.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>> {
        open(&*self.need(&sealed.master_key, context)?, context, sealed)
    }

    /// Seals under the key with id `master_key`.
    pub fn seal(&self, master_key: &str, context: &str, plaintext: &[u8]) -> Result<Sealed> {
        seal(&*self.need(master_key, context)?, context, plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileMasterKey, Key};

    #[test]
    fn opens_with_whichever_key_wrapped() {
        let a: Arc<dyn MasterKey> = Arc::new(FileMasterKey::from_key(Key::random().unwrap(), "a"));
        let b: Arc<dyn MasterKey> = Arc::new(FileMasterKey::from_key(Key::random().unwrap(), "b"));
        let ring = Keyring::default();
        ring.add(a.clone());
        let sa = ring.seal(a.id(), "ctx", b"one").unwrap();
        let sb = seal(&*b, "ctx", b"two").unwrap();
        assert_eq!(&ring.open("ctx", &sa).unwrap()[..], b"one");
        let e = ring.open("ctx", &sb).unwrap_err();
        assert!(matches!(e, Error::Unknown { .. }));
        assert!(e.to_string().contains(b.id()) && e.to_string().contains(a.id()));
        ring.add(b.clone());
        assert_eq!(&ring.open("ctx", &sb).unwrap()[..], b"two");
        assert_eq!(ring.ids().len(), 2);
        assert!(matches!(
            Keyring::default().seal(a.id(), "ctx", b"x"),
            Err(Error::Unknown { .. })
        ));
    }
}
