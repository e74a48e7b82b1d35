//! vxguard's store: every SQL statement of the control plane (identity,
//! access, audit, jobs, declared state, revisions, what was applied where),
//! their transactions, and every advisory lock of the project ([`locks`]),
//! behind one error type ([`StoreError`]). It knows nothing of HTTP: the
//! API, the portal, the worker and the command line call it and say what
//! its errors mean to their users.
//!
//! Shape, and why: each domain module (`users`, `sessions`, `tokens`,
//! `tenants`, `audit`, `jobs`, …) is a set of functions over a connection.
//! A change often spans domains and must land whole — a tenant's row, the
//! job that compiles it and its audit entry commit together — so a domain
//! function takes the caller's `&mut PgConnection` (a transaction) and never
//! commits. Plain reads take the pool. Where the store itself must own the
//! transaction because the steps only make sense together (logging in,
//! rotating a refresh token, changing a password, claiming a job), there
//! is one function or [`Store`] method doing all of it, so a caller cannot
//! commit half. [`Store`] owns the pool and opens transactions.
//!
//! Declared state (the intent) is written through one path ([`write`]),
//! whose refusals are a [`WriteError`] naming the fields; it is read back
//! as the compiler's `Intent` ([`intent`]).

pub mod allocation;
pub mod api_keys;
pub mod applies;
pub mod audit;
pub mod background;
pub mod certificates;
pub mod client_keys;
pub mod db;
pub mod delta;
pub mod demo;
pub mod device_keys;
pub mod error;
pub mod fingerprint;
pub mod health;
pub mod intent;
pub mod jobs;
pub mod kind;
pub mod locks;
pub mod mesh;
pub mod mesh_keys;
pub mod metrics;
pub mod objects;
pub mod platform_rev;
pub mod policy;
pub mod quotas;
pub mod revisions;
pub mod sealed;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod traffic;
pub mod users;
pub mod write;

pub use error::{Result, StoreError, WriteError};
pub use sqlx::PgPool;

use std::collections::BTreeMap;
use std::sync::Arc;
use vxguard_compiler::intent::VyosVersion;
use vxguard_compiler::{DefinitionSet, PlatformTrees};
use vyos_defs::Definitions;

/// A transaction on the store, opened by [`Store::begin`]; pass `&mut tx`
/// to the domain functions and commit it with [`Store::commit`].
pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// The store: the connection pool, and the operations that own their
/// transaction. Cheap to clone (the pool and the definitions are shared).
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
    /// What a tenant's write is judged with: the VyOS definitions the
    /// worker compiles with, so that what the API accepts the devices
    /// accept ([`write::check_and_allocate_in`]).
    defs: Arc<BTreeMap<VyosVersion, Definitions>>,
    /// Each router's platform tree, kept between tenants' writes.
    trees: Arc<PlatformTrees>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pool", &self.pool)
            .field("defs", &self.defs.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Store {
    /// A store that judges tenants' writes with no VyOS definitions (the
    /// command line's platform writes need none).
    pub fn new(pool: PgPool) -> Self {
        Self::judging_with(pool, Arc::default(), Arc::default())
    }

    /// A store that judges tenants' writes with `defs`, keeping the
    /// routers' platform trees in `trees` between writes.
    pub fn judging_with(
        pool: PgPool,
        defs: Arc<BTreeMap<VyosVersion, Definitions>>,
        trees: Arc<PlatformTrees>,
    ) -> Self {
        Store { pool, defs, trees }
    }

    /// What writes are judged with: the definitions, as the compiler
    /// takes them, and the platform trees kept between writes.
    pub fn judge(&self) -> write::Judge<'_> {
        write::Judge {
            defs: DefinitionSet {
                by_version: self.defs.iter().map(|(k, v)| (*k, v)).collect(),
            },
            trees: &self.trees,
        }
    }

    /// The pool, for the domain functions' plain reads.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Opens a transaction for a change spanning domains.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// Commits a transaction opened by [`Store::begin`].
    pub async fn commit(tx: Tx) -> Result<()> {
        Ok(tx.commit().await?)
    }
}
