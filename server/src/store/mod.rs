//! PostgreSQL persistence of the intent: declared objects, tenants, the
//! allocation lock and device secrets, and the one validated write path.

pub mod change;
pub mod intent;
pub mod kind;
pub mod objects;
pub mod policy;
pub mod quotas;
