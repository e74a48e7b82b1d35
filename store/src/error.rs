//! What can go wrong in the store, in the store's own words: callers (the
//! API, the portal, the worker, the command line) decide what each means to
//! their user, so no HTTP status lives here (the API maps these in
//! `problem.rs`).

/// An error of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist (or is not the caller's to see).
    #[error("no such object")]
    NotFound,
    /// A unique constraint refused the write: `what` names the clashing
    /// field (`email`, `name`, …) so the caller can point at it.
    #[error("a {what} like this already exists")]
    Conflict { what: &'static str },
    /// The row changed since the caller read it (optimistic concurrency).
    #[error("the object changed since it was read")]
    Stale,
    /// A stored value the store cannot make sense of (a role it does not
    /// know, a document that does not deserialise): a bug or a hand edit.
    #[error("corrupt stored data: {what}")]
    Corrupt { what: String },
    /// PostgreSQL could not be reached: `target` names the server or the
    /// database (password redacted).
    #[error("connecting to {target}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    /// The database URL is not a PostgreSQL URL.
    #[error("DATABASE_URL is not a PostgreSQL URL")]
    BadUrl(#[source] sqlx::Error),
    /// Creating the database named in the URL failed.
    #[error("creating the database")]
    CreateDatabase(#[source] sqlx::Error),
    /// Applying the migrations in `migrations/` failed.
    #[error("applying migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error (unique violations included, for callers
    /// that did not ask for a [`StoreError::Conflict`]).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// The database error underneath, if this is one (callers that map
    /// SQLSTATEs, e.g. a NUL character in a text, look here).
    pub fn as_database(&self) -> Option<&sqlx::Error> {
        match self {
            StoreError::Database(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether `e` is a unique-constraint violation (SQLSTATE 23505).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

/// Turns a unique violation into [`StoreError::Conflict`] naming `what`;
/// any other error stays a database error.
pub(crate) fn conflict_on(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict { what }
        } else {
            StoreError::Database(e)
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
