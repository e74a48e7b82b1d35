//! A router's API certificate pin (`api_certificate_sha256`), changed when
//! a platform admin confirms the certificate the router presents now
//! (issue 17, item 7). The caller (the API, the console) reads the
//! certificate off the router and compares it with the operator's value;
//! this writes the new pin through the one write path (its job and
//! `router.update` entry) and, in the same transaction, a
//! `router.certificate.trusted` entry naming both fingerprints, so the
//! audit log says plainly that a pin changed and from what to what.

use serde_json::{json, Value};
use vxguard_compiler::ids::CertSha256;

use crate::audit;
use crate::error::WriteError;
use crate::kind::Kind;
use crate::objects;
use crate::write::{object_path, Op, Writer};
use crate::Store;

/// What [`trust`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trusted {
    /// The pin changed from `before` (`None`: public roots) to the new
    /// fingerprint; `job` compiles and applies it.
    Pinned { job: i64, before: Option<String> },
    /// The router was already pinned to this certificate: nothing written.
    Already,
}

/// The pin stored in a router's spec, as written there.
pub fn pinned(spec: &Value) -> Option<&str> {
    spec["api_certificate_sha256"].as_str()
}

/// Pins `router` to `sha256`. `version` is the spec's version the caller
/// read the endpoint from (it connected there): a spec changed since is
/// [`WriteError::Stale`], as a write with `If-Match`.
pub async fn trust(
    store: &Store,
    who: &impl Writer,
    router: &str,
    version: i64,
    sha256: CertSha256,
) -> Result<Trusted, WriteError> {
    let mut tx = store.pool().begin().await?;
    let existing = objects::get(&mut *tx, Kind::Router, None, router)
        .await?
        .ok_or(WriteError::NotFound)?;
    if existing.version != version {
        return Err(WriteError::Stale);
    }
    let before = pinned(&existing.spec).map(String::from);
    let after = sha256.to_string();
    if before
        .as_deref()
        .and_then(|b| CertSha256::parse(b).ok())
        .is_some_and(|b| b == sha256)
    {
        return Ok(Trusted::Already);
    }
    let mut body = existing.spec;
    body["api_certificate_sha256"] = Value::String(after.clone());
    let (spec, _) = Kind::Router.parse(&body)?;
    let out = store
        .change_in(
            &mut tx,
            who,
            Kind::Router,
            None,
            router,
            Op::Replace(body),
            Some(spec),
            Some(version),
        )
        .await?;
    let object = object_path(Kind::Router, None, router);
    audit::append(
        &mut tx,
        audit::Entry::by(
            who,
            None,
            "router.certificate.trusted",
            &object,
            Some(json!({ "sha256": before })),
            Some(json!({ "sha256": after })),
        )
        .queued(out.job),
    )
    .await?;
    tx.commit().await?;
    Ok(Trusted::Pinned {
        job: out.job,
        before,
    })
}
