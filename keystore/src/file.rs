//! The file master key: 32 random bytes in a file only its owner may read
//! or write (mode 0600 or stricter; anything more open is refused, as ssh
//! refuses a private key). The file holds the key as 64 hexadecimal digits
//! and a newline (as [`FileMasterKey::create`] writes it) or as the 32 raw
//! bytes.

use crate::error::{Error, Result};
use crate::{random_bytes, Key, MasterKey, KEY_LEN};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// Associated data of a wrapped data key: this prefix, then the record's
/// context.
const WRAP_AD: &[u8] = b"vxguard data key v1\0";
const NONCE_LEN: usize = 24;

/// A master key read from (or created in) a file.
pub struct FileMasterKey {
    key: Key,
    id: String,
    origin: String,
}

impl std::fmt::Debug for FileMasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileMasterKey")
            .field("id", &self.id)
            .field("origin", &self.origin)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Refuses a key file that is not a regular file, or that its group or
/// anyone else may read, write or execute.
pub fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.into() });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::Permissions {
            path: path.into(),
            mode,
        });
    }
    Ok(())
}

/// The key in a file's bytes: 64 hex digits (surrounding whitespace
/// allowed) or exactly 32 raw bytes.
fn parse(bytes: &[u8]) -> Option<Key> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim);
    if let Some(t) = text.filter(|t| t.len() == 2 * KEY_LEN) {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        if hex::decode_to_slice(t, k.as_mut()).is_ok() {
            return Key::from_slice(k.as_ref());
        }
    }
    Key::from_slice(bytes)
}

impl FileMasterKey {
    /// A master key from its bytes; `origin` says where it came from in
    /// messages (`file PATH`, or a rotation's bridge).
    pub fn from_key(key: Key, origin: impl Into<String>) -> Self {
        let mut h = Sha256::new();
        h.update(b"vxguard master key id v1\0");
        h.update(key.as_bytes());
        let id = format!("file:{}", &hex::encode(h.finalize())[..16]);
        FileMasterKey {
            key,
            id,
            origin: origin.into(),
        }
    }

    /// Reads the key at `path`, refusing a file its group or others may
    /// read or write (checked on the open file).
    pub fn load(path: &Path) -> Result<Self> {
        let f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Missing { path: path.into() })
            }
            Err(source) => {
                return Err(Error::Read {
                    path: path.into(),
                    source,
                })
            }
        };
        let read = |source| Error::Read {
            path: path.into(),
            source,
        };
        let meta = f.metadata().map_err(read)?;
        check_permissions(path, &meta)?;
        let mut buf = Zeroizing::new(Vec::new());
        f.take(1024).read_to_end(&mut buf).map_err(read)?;
        let key = parse(&buf).ok_or(Error::Format {
            path: path.into(),
            reason: "not a master key (expected 64 hexadecimal digits, or 32 bytes)",
        })?;
        Ok(Self::from_key(key, format!("file {}", path.display())))
    }

    /// Makes a new random key at `path` (mode 0600; missing directories
    /// are made 0700), or reads the one there if the file exists already
    /// (another process made it first). The file appears whole or not at
    /// all. True when this call made it.
    pub fn create_or_load(path: &Path) -> Result<(Self, bool)> {
        let create = |source| Error::Create {
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(create)?;
            }
        }
        let key = Key::random()?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".new-{}", hex::encode(random_bytes::<8>()?)));
        let tmp = std::path::PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            let text = Zeroizing::new(format!("{}\n", hex::encode(key.as_bytes())));
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        let written = write();
        // No-clobber: a file another process made first stays.
        let linked = written.map(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(Ok(())) => Ok((
                Self::from_key(key, format!("file {}", path.display())),
                true,
            )),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Self::load(path)?, false))
            }
            Ok(Err(e)) | Err(e) => Err(create(e)),
        }
    }

    /// The key itself (a rotation seals it for the processes still
    /// running with the previous one).
    pub fn key(&self) -> &Key {
        &self.key
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_bytes().into())
    }
}

fn ad(context: &[u8]) -> Vec<u8> {
    [WRAP_AD, context].concat()
}

impl MasterKey for FileMasterKey {
    fn id(&self) -> &str {
        &self.id
    }

    fn source(&self) -> String {
        self.origin.clone()
    }

    /// 24 random nonce bytes, then the data key encrypted and its tag.
    fn wrap(&self, data_key: &Key, context: &[u8]) -> Result<Vec<u8>> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let ad = ad(context);
        let ct = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data_key.as_bytes(),
                    aad: &ad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any 32 bytes");
        Ok([&nonce[..], &ct].concat())
    }

    fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Key> {
        let failed = || Error::Unwrap {
            master_key: self.id.clone(),
            context: String::from_utf8_lossy(context).into_owned(),
        };
        if wrapped.len() <= NONCE_LEN {
            return Err(failed());
        }
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let ad = ad(context);
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &ad })
                .map_err(|_| failed())?,
        );
        Key::from_slice(&plain).ok_or_else(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8], mode: u32) {
        std::fs::write(path, bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn created_owner_only_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/vxguard/master.key");
        let (k, made) = FileMasterKey::create_or_load(&path).unwrap();
        assert!(made);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        let back = FileMasterKey::load(&path).unwrap();
        assert_eq!(back.id(), k.id());
        assert_eq!(back.key().as_bytes(), k.key().as_bytes());
        assert!(
            k.id().starts_with("file:") && k.id().len() == 21,
            "{}",
            k.id()
        );
        // Made once: a second call reads the first one's key.
        let (again, made) = FileMasterKey::create_or_load(&path).unwrap();
        assert!(!made);
        assert_eq!(again.id(), k.id());
        // No temporary file left beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("master.key")]);
        // Debug names the key, never shows it.
        let dbg = format!("{k:?}");
        assert!(dbg.contains(k.id()) && !dbg.contains(text.trim()), "{dbg}");
    }

    #[test]
    fn made_once_under_a_race() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let got: Vec<(String, bool)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let (k, made) = FileMasterKey::create_or_load(&path).unwrap();
                        (k.id().to_string(), made)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(got.iter().filter(|(_, made)| *made).count(), 1, "{got:?}");
        assert!(got.iter().all(|(id, _)| *id == got[0].0), "{got:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn permissions_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        for mode in [0o640, 0o604, 0o644, 0o660, 0o602, 0o610] {
            write(&path, &[1u8; 32], mode);
            match FileMasterKey::load(&path) {
                Err(Error::Permissions { mode: m, .. }) => assert_eq!(m, mode),
                other => panic!("mode {mode:o}: {other:?}"),
            }
        }
        let msg = FileMasterKey::load(&path).unwrap_err().to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("0610"),
            "{msg}"
        );
        for mode in [0o600, 0o400] {
            write(&path, &[1u8; 32], mode);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            FileMasterKey::load(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(
            FileMasterKey::load(dir.path()),
            Err(Error::NotAFile { .. }) | Err(Error::Permissions { .. })
        ));
        let missing = dir.path().join("nope");
        let e = FileMasterKey::load(&missing).unwrap_err();
        assert!(matches!(e, Error::Missing { .. }));
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn formats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write(&path, &[9u8; 32], 0o600);
        let raw = FileMasterKey::load(&path).unwrap();
        write(&path, format!("  {}\n", "09".repeat(32)).as_bytes(), 0o600);
        let hexed = FileMasterKey::load(&path).unwrap();
        assert_eq!(raw.id(), hexed.id());
        for bad in [&b""[..], &[1u8; 31], &[1u8; 33], "zz".repeat(32).as_bytes()] {
            write(&path, bad, 0o600);
            assert!(
                matches!(FileMasterKey::load(&path), Err(Error::Format { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn wrap_binds_the_context_and_the_key() {
        let a = FileMasterKey::from_key(Key::random().unwrap(), "test a");
        let b = FileMasterKey::from_key(Key::random().unwrap(), "test b");
        assert_ne!(a.id(), b.id());
        let dk = Key::random().unwrap();
        let w = a.wrap(&dk, b"row/1").unwrap();
        assert_eq!(a.unwrap(&w, b"row/1").unwrap().as_bytes(), dk.as_bytes());
        assert!(matches!(a.unwrap(&w, b"row/2"), Err(Error::Unwrap { .. })));
        assert!(matches!(b.unwrap(&w, b"row/1"), Err(Error::Unwrap { .. })));
        let mut t = w.clone();
        *t.last_mut().unwrap() ^= 1;
        assert!(a.unwrap(&t, b"row/1").is_err());
        assert!(a.unwrap(&w[..20], b"row/1").is_err());
        // Fresh nonce each time.
        assert_ne!(w, a.wrap(&dk, b"row/1").unwrap());
    }
}
