//! vxguard's store: every SQL statement of the control plane's identity,
//! access, audit and job domains, their transactions, and every advisory
//! lock of the project ([`locks`]), behind one error type ([`StoreError`]).
//! It knows nothing of HTTP: the API, the portal, the worker and the
//! command line call it and say what its errors mean to their users.
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

pub mod allocation;
pub mod audit;
pub mod db;
pub mod delta;
pub mod error;
pub mod jobs;
pub mod locks;
pub mod objects;
pub mod revisions;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod users;

pub use error::{Result, StoreError};
pub use sqlx::PgPool;

/// A transaction on the store, opened by [`Store::begin`]; pass `&mut tx`
/// to the domain functions and commit it with [`Store::commit`].
pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// The store: the connection pool, and the operations that own their
/// transaction. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Store { pool }
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
