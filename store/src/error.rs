//! What can go wrong in the store, in the store's own words: callers (the
//! API, the portal, the worker, the command line) decide what each means to
//! their user, so no HTTP status lives here (the API maps these in
//! `problem.rs`). [`StoreError`] for every operation; [`WriteError`] for a
//! change of declared state, which may also be refused.

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
    /// A document the store writes (or one it was handed) does not
    /// (de)serialise as its type: a bug, never the caller's input.
    #[error("encoding a document")]
    Encode(#[from] serde_json::Error),
    /// Work the store ran off the async threads (`what`: a preview's
    /// compile) panicked: a bug.
    #[error("{what} panicked: {why}")]
    Panicked { what: &'static str, why: String },
    /// No random bytes for new key material.
    #[error("reading /dev/urandom")]
    Random(#[source] std::io::Error),
    /// The database URL is not a PostgreSQL URL.
    #[error("DATABASE_URL is not a PostgreSQL URL")]
    BadUrl(#[source] sqlx::Error),
    /// Creating the database named in the URL failed.
    #[error("creating the database")]
    CreateDatabase(#[source] sqlx::Error),
    /// Applying the migrations in `migrations/` failed.
    #[error("applying migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The master key given is not the one the database's secrets are
    /// sealed under (nor a previous one with a rotation's bridge to it).
    #[error(
        "{origin} holds master key {given}, but this database's secrets are sealed \
         under master key {expected}: a wrong master key file (restore the right one \
         from its backup)"
    )]
    WrongMasterKey {
        origin: String,
        given: String,
        expected: String,
    },
    /// A sealed record's master key is not one this process holds (it
    /// opened none, or another one).
    #[error(
        "the secrets are sealed under master key {id}, which this process has not \
         opened (it holds: {held})"
    )]
    NoMasterKey { id: String, held: String },
    /// Secrets are to be written before the database has a master key.
    #[error(
        "the database has no master key yet: open one first (any start of `vxguard serve` does)"
    )]
    NotSealed,
    /// A rotation to the key the secrets are sealed under already.
    #[error("the secrets are sealed under master key {id} already")]
    SameMasterKey { id: String },
    /// Sealing or opening a secret failed (a record altered or moved, a
    /// wrong key): the message names the record.
    #[error(transparent)]
    Keystore(#[from] vxguard_keystore::Error),
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

/// Whether a refusal is a clash with state someone else holds (a name or
/// port taken: the HTTP layer's 409) or a value wrong in itself (422).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Conflict,
    Invalid,
}

/// One bad field of a refused change: where (a JSON pointer into the
/// change's body, or the path of another object it conflicts with) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer into the body (`/cidr`); `None` when the problem lies
    /// in another object.
    pub pointer: Option<String>,
    /// The other object involved, e.g. `tenants/acme/networks/web`.
    pub object: Option<String>,
    pub detail: String,
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The object (or tenant) does not exist, or is not the caller's.
    #[error("no such object")]
    NotFound,
    /// The object changed since the caller read it (its version).
    #[error("the object changed since it was read")]
    Stale,
    /// Creating an object whose name is taken; the text names it.
    #[error("{0}")]
    Exists(String),
    /// One field of the body is wrong: `pointer` into it (`""`: the body).
    #[error("{pointer}: {detail}")]
    Field {
        refusal: Refusal,
        pointer: String,
        detail: String,
    },
    /// Another write took a port of this network between this write's
    /// check and its insert (the claims' key refused it).
    #[error("a port of this network is already attached to another network")]
    PortTaken,
    /// The change as a whole is refused (by the compiler's checks, the
    /// allocation, the devices' rules, or the quotas' own bounds);
    /// `detail` says which, `errors` name the fields.
    #[error("{detail}")]
    Invalid {
        refusal: Refusal,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The caller may not make this change; the text says why.
    #[error("{0}")]
    Forbidden(String),
    /// The change would take the tenant over a quota (each one named).
    #[error("the change is over the tenant's quota")]
    OverQuota(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Store(StoreError::Database(e))
    }
}

impl From<serde_json::Error> for WriteError {
    fn from(e: serde_json::Error) -> Self {
        WriteError::Store(StoreError::Encode(e))
    }
}

/// A body that does not deserialise as the compiler's type: the field (a
/// JSON pointer into the body, `/sites/0/site`) and serde's reason.
impl From<serde_path_to_error::Error<serde_json::Error>> for WriteError {
    fn from(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        use serde_path_to_error::Segment;
        let mut pointer = String::new();
        for seg in e.path().iter() {
            let s = match seg {
                Segment::Seq { index } => index.to_string(),
                Segment::Map { key } => key.clone(),
                Segment::Enum { variant } => variant.clone(),
                Segment::Unknown => continue,
            };
            pointer.push('/');
            pointer.push_str(&s.replace('~', "~0").replace('/', "~1"));
        }
        WriteError::Field {
            refusal: Refusal::Invalid,
            pointer,
            detail: e.inner().to_string(),
        }
    }
}
