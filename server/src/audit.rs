//! The audit log lives in the store (`vxguard_store::audit`: the hash
//! chain, its append and its verification); this module keeps the
//! `crate::audit` path the API uses, and makes a request's principal an
//! audit actor and a writer of declared state (`vxguard_store::write`).

pub use vxguard_store::audit::{append, canonical, verify, Actor, Broken, Entry};

impl Actor for crate::auth::Principal {
    fn subject(&self) -> &str {
        &self.subject
    }
    fn source(&self) -> &str {
        &self.source
    }
}

impl vxguard_store::write::Writer for crate::auth::Principal {
    fn tenant(&self) -> Option<uuid::Uuid> {
        self.tenant_id
    }
    fn user(&self) -> Option<uuid::Uuid> {
        self.owner
    }
    fn own_objects_only(&self) -> bool {
        self.role == crate::auth::Role::TenantMember
    }
}
