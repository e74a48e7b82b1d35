//! What can go wrong: every message names the file or the record and the
//! reason, and none carries key material.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The master key file does not exist.
    #[error("master key file {}: missing", path.display())]
    Missing { path: PathBuf },
    /// The master key file exists but cannot be read.
    #[error("master key file {}: cannot read it", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path is a directory, a device, ...
    #[error("master key file {}: not a regular file", path.display())]
    NotAFile { path: PathBuf },
    /// Group or others may read or write the file.
    #[error(
        "master key file {}: mode {mode:04o} lets group or others at it; \
         it must be readable by its owner only (chmod 600 {})",
        path.display(), path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    /// The file holds something other than a key.
    #[error("master key file {}: {reason}", path.display())]
    Format { path: PathBuf, reason: &'static str },
    /// Creating a new key file failed.
    #[error("master key file {}: cannot create it", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system")]
    Random,
    /// A record wrapped under one master key was given another.
    #[error("{context}: its data key is wrapped under master key {has}, not {given}")]
    OtherMasterKey {
        context: String,
        has: String,
        given: String,
    },
    /// The wrapped data key does not open: a wrong master key (with the
    /// same id: only a corrupt key file), or a record altered or moved.
    #[error(
        "{context}: its data key does not unwrap with master key {master_key} \
         (a wrong master key, or the record was altered or moved from another row)"
    )]
    Unwrap { master_key: String, context: String },
    /// The ciphertext does not open with its data key: altered or moved.
    #[error("{context}: does not decrypt (the record was altered or moved from another row)")]
    Decrypt { context: String },
    /// A stored field has the wrong shape (a nonce of the wrong length).
    #[error("{context}: {reason}")]
    Malformed {
        context: String,
        reason: &'static str,
    },
    /// A record names a master key this process does not hold.
    #[error("{context}: sealed under master key {id}, which this process does not hold (it holds {held})")]
    Unknown {
        context: String,
        id: String,
        held: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
