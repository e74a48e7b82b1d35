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
    crate::platform_rev::bump(&mut tx).await?;
    let object = format!("routers/{router}/api-key");
    let job = jobs::enqueue(&mut tx, None, &format!("rotate {object}"), who.subject()).await?;
    audit_step(&mut tx, who, &object, Step::Added, &fp, Some(job)).await?;
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
    r.api_key_since = Some(unix_now());
    crate::sealed::store_devices(&mut tx, &before, &after).await?;
    crate::platform_rev::bump(&mut tx).await?;
    let object = format!("routers/{router}/api-key");
    let job = jobs::enqueue(&mut tx, None, &format!("rotate {object}"), who.subject()).await?;
    audit_step(
        &mut tx,
        who,
        &object,
        Step::Switched,
        &fingerprint(next),
        Some(job),
    )
    .await?;
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
    audit_step(
        &mut tx,
        who,
        &object,
        Step::Removed,
        &fingerprint(retired),
        None,
    )
    .await?;
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

/// Now, in Unix seconds (the key ages' unit).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Which routers to start rotating now, by the schedule: those whose key
/// is at least `every` old, staggered so that a rotation never runs on two
/// routers of one site at once and at most `max_at_once` run in all (the
/// oldest keys first). A key of unknown age is stamped with now, so it
/// rotates one interval later.
pub fn due_by_schedule(
    keys: &[(String, String, Option<i64>, bool)],
    now: i64,
    every: std::time::Duration,
    max_at_once: usize,
) -> Vec<String> {
    let every = every.as_secs() as i64;
    let busy_sites: std::collections::BTreeSet<&str> =
        keys.iter().filter(|k| k.3).map(|k| k.1.as_str()).collect();
    let mut running = keys.iter().filter(|k| k.3).count();
    let mut old: Vec<&(String, String, Option<i64>, bool)> = keys
        .iter()
        .filter(|k| !k.3 && k.2.is_some_and(|since| now - since >= every))
        .collect();
    old.sort_by_key(|k| (k.2, k.0.clone()));
    let mut sites = busy_sites;
    let mut out = Vec::new();
    for (name, site, _, _) in old {
        if running >= max_at_once {
            break;
        }
        if sites.insert(site.as_str()) {
            out.push(name.clone());
            running += 1;
        }
    }
    out
}

/// Starts the rotations the schedule calls for (see [`due_by_schedule`];
/// `sites`: each router's site) and stamps keys of unknown age; returns
/// the routers begun. Decided and written in one transaction under the
/// write lock, so that workers running it at once never start two
/// routers of a site (nor more than `max_at_once`) between them.
pub async fn begin_scheduled(
    db: &PgPool,
    sites: &std::collections::BTreeMap<String, String>,
    every: std::time::Duration,
    max_at_once: usize,
    who: &impl Actor,
) -> Result<Vec<String>> {
    let now = unix_now();
    let keys = |s: &vxguard_compiler::model::Secrets| -> Vec<(String, String, Option<i64>, bool)> {
        s.routers
            .iter()
            .filter_map(|(name, r)| {
                let site = sites.get(name)?;
                let busy = r.api_key_next.is_some() || r.api_key_retired.is_some();
                Some((name.clone(), site.clone(), r.api_key_since, busy))
            })
            .collect()
    };
    // Most calls find nothing to do: no lock for those.
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    let unstamped = s.routers.values().any(|r| r.api_key_since.is_none());
    if !unstamped && due_by_schedule(&keys(&s), now, every, max_at_once).is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let before = crate::sealed::devices(&mut tx).await?;
    let mut after = before.clone();
    // A key of unknown age starts its age now (so it is not due yet).
    for r in after.routers.values_mut() {
        r.api_key_since.get_or_insert(now);
    }
    let due = due_by_schedule(&keys(&after), now, every, max_at_once);
    let mut fingerprints = Vec::new();
    for name in &due {
        let r = after.routers.get_mut(name).expect("due routers hold keys");
        let next = random_key()?;
        fingerprints.push(fingerprint(&next));
        r.api_key_next = Some(next);
    }
    crate::sealed::store_devices(&mut tx, &before, &after).await?;
    if !due.is_empty() {
        crate::platform_rev::bump(&mut tx).await?;
        let objects: Vec<String> = due.iter().map(|n| format!("routers/{n}/api-key")).collect();
        let job = jobs::enqueue(
            &mut tx,
            None,
            &format!("rotate {} (schedule)", objects.join(", ")),
            who.subject(),
        )
        .await?;
        for (object, fp) in objects.iter().zip(&fingerprints) {
            audit_step(&mut tx, who, object, Step::Added, fp, Some(job)).await?;
        }
    }
    tx.commit().await?;
    Ok(due)
}

async fn audit_step(
    conn: &mut PgConnection,
    who: &impl Actor,
    object: &str,
    step: Step,
    fingerprint: &str,
    job: Option<i64>,
) -> Result<()> {
    let after = serde_json::json!({"step": step.as_str(), "key": fingerprint});
    let mut e = audit::Entry::by(who, None, "key.rotated", object, None, Some(after));
    e.job = job;
    audit::append(conn, e).await?;
    Ok(())
}

/// A router's key as an operator sees it: the current key's fingerprint
/// and the step a rotation is at, never a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The fingerprint of the key the driver authenticates with now.
    pub fingerprint: String,
    /// `Some(Added)`: the new key waits to be taken by the router;
    /// `Some(Switched)`: the old key waits to be refused; `None`: no
    /// rotation under way.
    pub rotation: Option<Step>,
}

/// Every router's [`KeyState`], by name (routers never compiled have no
/// key yet and are absent).
pub async fn states(db: &PgPool) -> Result<std::collections::BTreeMap<String, KeyState>> {
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    Ok(s.routers
        .into_iter()
        .map(|(name, r)| {
            let rotation = if r.api_key_next.is_some() {
                Some(Step::Added)
            } else if r.api_key_retired.is_some() {
                Some(Step::Switched)
            } else {
                None
            };
            let state = KeyState {
                fingerprint: fingerprint(&r.api_key),
                rotation,
            };
            (name, state)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const DAY: i64 = 86_400;

    fn k(
        name: &str,
        site: &str,
        since: Option<i64>,
        busy: bool,
    ) -> (String, String, Option<i64>, bool) {
        (name.into(), site.into(), since, busy)
    }

    #[test]
    fn the_schedule_takes_old_keys_oldest_first_one_router_per_site() {
        let now = 100 * DAY;
        let week = Duration::from_secs(7 * DAY as u64);
        let keys = [
            k("r1", "dc1", Some(now - 8 * DAY), false),
            k("r2", "dc1", Some(now - 9 * DAY), false),
            k("r3", "dc2", Some(now - 7 * DAY), false),
            k("r4", "dc2", Some(now - 6 * DAY), false),
            k("r5", "dc3", None, false),
            k("r6", "dc4", Some(now - 30 * DAY), true),
            k("r7", "dc4", Some(now - 30 * DAY), false),
        ];
        // dc1: r2 (older) alone; dc2: r3 (exactly 7 d); r4 is young; r5's
        // age is unknown; dc4 already rotates r6, so not r7.
        assert_eq!(due_by_schedule(&keys, now, week, 10), vec!["r2", "r3"]);
        // At most 2 at once, r6 counting: the oldest first.
        assert_eq!(due_by_schedule(&keys, now, week, 2), vec!["r2"]);
        assert_eq!(due_by_schedule(&keys, now, week, 1), Vec::<String>::new());
    }
}
