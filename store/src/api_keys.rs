//! A router's HTTP API key, rotated in three steps, each checked on the
//! router before the next (issue 17, item 6):
//!
//! 1. **added**: a new key is stored as the router's `api_key_next`; the
//!    compile renders it as a second key id beside the current one, and
//!    the rollout (still with the current key) puts it on the router;
//! 2. **switched**: once the router accepts the new key, it becomes the
//!    current one and the old one is kept as `api_key_retired` (rendered
//!    nowhere); the next rollout authenticates with the new key and its
//!    commit removes the old one;
//! 3. **removed**: once the router refuses the old key, it is dropped.
//!
//! The state lives in the router's sealed secrets (so a crash between
//! steps resumes where it stopped); the worker checks the router and calls
//! [`switch`] and [`removed`] (`server/src/rollout/api_keys.rs`). Each step
//! bumps the platform's intent revision (the worker recompiles) and, when
//! a configuration must change, queues a job; each is audited as
//! `key.rotated` with the key's fingerprint, never the key.

use sqlx::{PgConnection, PgPool};
use vxguard_compiler::sealed::{placeholder, SecretKind};

use crate::audit::{self, Actor};
use crate::error::{Result, StoreError};
use crate::{jobs, locks};

/// A step of a rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Added,
    Switched,
    Removed,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Added => "added",
            Step::Switched => "switched",
            Step::Removed => "removed",
        }
    }
}

/// A router whose rotation waits for a check on the router.
#[derive(Clone, PartialEq, Eq)]
pub struct Pending {
    pub router: String,
    /// The key to check: the next key (accepted: switch) or the retired one
    /// (refused: removed).
    pub key: String,
    pub waits_for: Step,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("router", &self.router)
            .field("key", &fingerprint(&self.key))
            .field("waits_for", &self.waits_for)
            .finish()
    }
}

/// What the audit and the logs name a key by.
pub fn fingerprint(key: &str) -> String {
    placeholder(SecretKind::ApiKey, key)
}

fn random_key() -> Result<String> {
    let mut b = [0u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(StoreError::Random)?,
        &mut b,
    )
    .map_err(StoreError::Random)?;
    Ok(b.iter().map(|b| format!("{b:02x}")).collect())
}

async fn bump_platform(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("UPDATE platform_intent SET intent_rev = nextval('intent_rev') WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What [`begin`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begun {
    /// The new key is stored; this job puts it on the router.
    Queued(i64),
    /// A rotation of this router is already under way (nothing done).
    UnderWay,
    /// No router of this name holds keys.
    NoSuchRouter,
}

/// Step 1 for `router`: a new key beside the current one, and the job that
/// puts it on the router.
pub async fn begin(db: &PgPool, router: &str, who: &impl Actor) -> Result<Begun> {
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let before = crate::sealed::devices(&mut tx).await?;
    let mut after = before.clone();
    let Some(r) = after.routers.get_mut(router) else {
        return Ok(Begun::NoSuchRouter);
    };
    if r.api_key_next.is_some() || r.api_key_retired.is_some() {
        return Ok(Begun::UnderWay);
    }
    let next = random_key()?;
    let fp = fingerprint(&next);
    r.api_key_next = Some(next);
    crate::sealed::store_devices(&mut tx, &before, &after).await?;
    bump_platform(&mut tx).await?;
    let object = format!("routers/{router}/api-key");
    let job = jobs::enqueue(&mut tx, None, &format!("rotate {object}"), who.subject()).await?;
    audit_step(&mut tx, who, &object, Step::Added, &fp).await?;
    tx.commit().await?;
    Ok(Begun::Queued(job))
}

/// Step 2: the router accepted `next`; it becomes the current key.
/// `Ok(None)` when the state moved on meanwhile (nothing done).
pub async fn switch(
    db: &PgPool,
    router: &str,
    next: &str,
    who: &impl Actor,
) -> Result<Option<i64>> {
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let before = crate::sealed::devices(&mut tx).await?;
    let mut after = before.clone();
    let Some(r) = after.routers.get_mut(router) else {
        return Ok(None);
    };
    if r.api_key_next.as_deref() != Some(next) {
        return Ok(None);
    }
    let old = std::mem::replace(&mut r.api_key, next.to_string());
    r.api_key_next = None;
    r.api_key_retired = Some(old);
    crate::sealed::store_devices(&mut tx, &before, &after).await?;
    bump_platform(&mut tx).await?;
    let object = format!("routers/{router}/api-key");
    let job = jobs::enqueue(&mut tx, None, &format!("rotate {object}"), who.subject()).await?;
    audit_step(&mut tx, who, &object, Step::Switched, &fingerprint(next)).await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// Step 3: the router refused `retired`; it is forgotten. Nothing to
/// compile: it was rendered nowhere.
pub async fn removed(db: &PgPool, router: &str, retired: &str, who: &impl Actor) -> Result<bool> {
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let before = crate::sealed::devices(&mut tx).await?;
    let mut after = before.clone();
    let Some(r) = after.routers.get_mut(router) else {
        return Ok(false);
    };
    if r.api_key_retired.as_deref() != Some(retired) {
        return Ok(false);
    }
    r.api_key_retired = None;
    crate::sealed::store_devices(&mut tx, &before, &after).await?;
    let object = format!("routers/{router}/api-key");
    audit_step(&mut tx, who, &object, Step::Removed, &fingerprint(retired)).await?;
    tx.commit().await?;
    Ok(true)
}

/// Every router whose rotation waits for a check.
pub async fn pending(db: &PgPool) -> Result<Vec<Pending>> {
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    let mut out = Vec::new();
    for (name, r) in s.routers {
        if let Some(k) = r.api_key_next {
            out.push(Pending {
                router: name,
                key: k,
                waits_for: Step::Switched,
            });
        } else if let Some(k) = r.api_key_retired {
            out.push(Pending {
                router: name,
                key: k,
                waits_for: Step::Removed,
            });
        }
    }
    Ok(out)
}

async fn audit_step(
    conn: &mut PgConnection,
    who: &impl Actor,
    object: &str,
    step: Step,
    fingerprint: &str,
) -> Result<()> {
    let after = serde_json::json!({"step": step.as_str(), "key": fingerprint});
    audit::append(
        conn,
        audit::Entry::by(who, None, "key.rotated", object, None, Some(after)),
    )
    .await?;
    Ok(())
}
