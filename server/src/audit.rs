//! The audit log lives in the store (`vxguard_store::audit`: the hash
//! chain, its append and its verification); this module keeps the
//! `crate::audit` path the write path and the API use, and makes a
//! request's principal an audit actor.

pub use vxguard_store::audit::{append, canonical, verify, Actor, Broken, Entry};

impl Actor for crate::auth::Principal {
    fn subject(&self) -> &str {
        &self.subject
    }
    fn source(&self) -> &str {
        &self.source
    }
}
