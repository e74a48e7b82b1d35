//! The rotation of the routers' tenant client interfaces (issue 17, item
//! 5), beside the mesh keys' (`crate::mesh_keys`). A client's
//! configuration names its router's public key and port, and WireGuard
//! gives an interface one private key, so each key is an interface of its
//! own: a *client epoch* (`vxguard_compiler::model::ClientEpoch`).
//!
//! 1. **begun** ([`begin_in`], in the transaction that begins the
//!    router's mesh key rotation): each tenant whose clients the router
//!    terminates gets a next epoch: a new key pair and an interface number
//!    that no tenant holds as its id nor any of the router's interfaces
//!    uses (the tenant's own id when its current epoch is on another), so
//!    its name `wg<n>` and port (the platform's plus `n`) are free on the
//!    router. The clients the rotation finds are the epoch's `stale` set:
//!    their configurations name the current interface, which keeps them
//!    until the release; every client made or given a new key since is a
//!    peer of the next one, and the portal offers the new configuration;
//! 2. **released** ([`release_due`], the worker every few seconds) once
//!    the grace period since the beginning is over: the next epochs become
//!    current, the old interfaces go (their keys forgotten), and a client
//!    still on the old configuration no longer connects.
//!
//! Each step is audited as `key.rotated` on `routers/NAME/client-key` with
//! the tenant and the new key's fingerprint, never a key.

use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};
use vxguard_compiler::alloc::MAX_TENANT_ID;
use vxguard_compiler::model::{client_router, ClientEpoch, ClientRotation, KeyPair, Secrets};

use crate::api_keys::unix_now;
use crate::audit::{self, Actor};
use crate::error::Result;
use crate::fingerprint::fingerprint;
use crate::{jobs, locks};

/// A tenant whose clients a router terminates, as a rotation needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTenant {
    pub slug: String,
    pub id: u32,
    /// Its clients' public keys.
    pub clients: BTreeSet<String>,
}

/// The next epoch's interface number for each of `tenants` on a router
/// whose current epochs are `current` (slug: number): the tenant's own id
/// when its current epoch is elsewhere, else the highest number that no
/// tenant holds as its id (`ids`) and the router does not use. Highest,
/// so that new tenants (which take the lowest free id) meet it last.
pub fn next_numbers(
    tenants: &[ClientTenant],
    current: &BTreeMap<String, u32>,
    ids: &BTreeSet<u32>,
) -> BTreeMap<String, u32> {
    let mut used: BTreeSet<u32> = current.values().copied().collect();
    used.extend(
        tenants
            .iter()
            .map(|t| current.get(&t.slug).copied().unwrap_or(t.id)),
    );
    let mut out = BTreeMap::new();
    let mut free = (1..=MAX_TENANT_ID)
        .rev()
        .filter(|n| !ids.contains(n) && !used.contains(n));
    for t in tenants {
        let now = current.get(&t.slug).copied().unwrap_or(t.id);
        let n = if now != t.id && !used_by_other(current, &t.slug, t.id) {
            t.id
        } else {
            match free.next() {
                Some(n) => n,
                None => continue,
            }
        };
        out.insert(t.slug.clone(), n);
    }
    out
}

fn used_by_other(current: &BTreeMap<String, u32>, slug: &str, n: u32) -> bool {
    current.iter().any(|(s, v)| s != slug && *v == n)
}

/// The tenants whose clients each router terminates, and every tenant id.
async fn client_tenants(
    conn: &mut PgConnection,
) -> Result<(BTreeMap<String, Vec<ClientTenant>>, BTreeSet<u32>)> {
    let loaded = crate::intent::load(conn).await?;
    let allocs = crate::intent::tenant_allocations(conn, &loaded.tenant_ids).await?;
    let mut ids = BTreeSet::new();
    let mut out: BTreeMap<String, Vec<ClientTenant>> = BTreeMap::new();
    for (t, uuid) in loaded.intent.tenants.iter().zip(&loaded.tenant_ids) {
        let Some(a) = allocs.get(uuid) else {
            continue;
        };
        ids.insert(a.id);
        if t.clients.is_empty() {
            continue;
        }
        let Some(router) = client_router(t) else {
            continue;
        };
        out.entry(router).or_default().push(ClientTenant {
            slug: t.slug.to_string(),
            id: a.id,
            clients: t.clients.iter().map(|c| c.public_key.clone()).collect(),
        });
    }
    Ok((out, ids))
}

/// Begins the client rotation of each of `routers` in `after` (the
/// secrets the caller stores): routers with one under way keep it.
/// Returns what to audit: (router, tenant, new key's fingerprint).
pub async fn begin_in(
    conn: &mut PgConnection,
    after: &mut Secrets,
    routers: &[String],
    grace_secs: u64,
) -> Result<Vec<(String, String, String)>> {
    let (by_router, ids) = client_tenants(conn).await?;
    let now = unix_now();
    let mut begun = Vec::new();
    for name in routers {
        let Some(r) = after.routers.get_mut(name) else {
            continue;
        };
        if r.client_rotation.is_some() {
            continue;
        }
        let Some(tenants) = by_router.get(name) else {
            continue;
        };
        let current: BTreeMap<String, u32> = r
            .client_epochs
            .iter()
            .map(|(s, e)| (s.clone(), e.number))
            .collect();
        let numbers = next_numbers(tenants, &current, &ids);
        let mut next = BTreeMap::new();
        for t in tenants {
            let Some(number) = numbers.get(&t.slug) else {
                continue;
            };
            let (private_key, public_key) = crate::device_keys::wireguard_keypair()?;
            begun.push((name.clone(), t.slug.clone(), fingerprint(&public_key)));
            next.insert(
                t.slug.clone(),
                ClientEpoch {
                    key: KeyPair {
                        private_key,
                        public_key,
                    },
                    number: *number,
                    stale: t.clients.clone(),
                },
            );
        }
        if !next.is_empty() {
            r.client_rotation = Some(ClientRotation {
                begun_at: now,
                grace_secs,
                tenants: next,
            });
        }
    }
    Ok(begun)
}

/// Audits [`begin_in`]'s result.
pub async fn audit_begun(
    conn: &mut PgConnection,
    who: &impl Actor,
    begun: &[(String, String, String)],
    job: i64,
) -> Result<()> {
    for (router, tenant, fp) in begun {
        audit_step(conn, who, router, tenant, "begun", fp, job).await?;
    }
    Ok(())
}

/// Releases every client rotation whose grace period is over: the next
/// epochs become current, the old interfaces and keys go. Returns the
/// routers released and the platform job that applies it.
pub async fn release_due(db: &PgPool, who: &impl Actor) -> Result<Option<(Vec<String>, i64)>> {
    let now = unix_now();
    let due = |s: &Secrets| -> Vec<String> {
        s.routers
            .iter()
            .filter(|(_, r)| {
                r.client_rotation
                    .as_ref()
                    .is_some_and(|c| now >= c.begun_at.saturating_add(c.grace_secs as i64))
            })
            .map(|(n, _)| n.clone())
            .collect()
    };
    // Most calls find nothing to do: no lock for those.
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    if due(&s).is_empty() {
        return Ok(None);
    }
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let before = crate::sealed::devices(&mut tx).await?;
    let routers = due(&before);
    if routers.is_empty() {
        return Ok(None);
    }
    let mut after = before.clone();
    let mut released = Vec::new();
    for name in &routers {
        let r = after.routers.get_mut(name).expect("due");
        let rot = r.client_rotation.take().expect("due");
        for (slug, e) in rot.tenants {
            released.push((name.clone(), slug.clone(), fingerprint(&e.key.public_key)));
            r.client_epochs.insert(slug, e);
        }
    }
    crate::sealed::store_devices(&mut tx, &before, &after).await?;
    crate::platform_rev::bump(&mut tx).await?;
    let job = jobs::enqueue(
        &mut tx,
        None,
        &format!(
            "release the client interfaces' old keys on {}",
            routers.join(", ")
        ),
        who.subject(),
    )
    .await?;
    for (router, tenant, fp) in &released {
        audit_step(&mut tx, who, router, tenant, "released", fp, job).await?;
    }
    tx.commit().await?;
    Ok(Some((routers, job)))
}

async fn audit_step(
    conn: &mut PgConnection,
    who: &impl Actor,
    router: &str,
    tenant: &str,
    step: &str,
    fingerprint: &str,
    job: i64,
) -> Result<()> {
    let after = serde_json::json!({"step": step, "tenant": tenant, "key": fingerprint});
    let object = format!("routers/{router}/client-key");
    let mut e = audit::Entry::by(who, None, "key.rotated", &object, None, Some(after));
    e.job = Some(job);
    audit::append(conn, e).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(slug: &str, id: u32) -> ClientTenant {
        ClientTenant {
            slug: slug.into(),
            id,
            clients: BTreeSet::new(),
        }
    }

    #[test]
    fn next_numbers_are_free_on_the_router_and_alternate_with_the_tenant_id() {
        let ids: BTreeSet<u32> = [1, 2, 3, MAX_TENANT_ID].into();
        let tenants = [t("a", 1), t("b", 2), t("c", 3)];
        // First rotation: the highest numbers no tenant holds.
        let first = next_numbers(&tenants, &BTreeMap::new(), &ids);
        assert_eq!(first["a"], MAX_TENANT_ID - 1);
        assert_eq!(first["b"], MAX_TENANT_ID - 2);
        assert_eq!(first["c"], MAX_TENANT_ID - 3);
        // The next one: back to each tenant's own id.
        let second = next_numbers(&tenants, &first, &ids);
        assert_eq!(
            second,
            BTreeMap::from([("a".into(), 1), ("b".into(), 2), ("c".into(), 3)])
        );
        // A tenant still on its id next to one that is not: never a
        // number the router uses.
        let mixed = BTreeMap::from([("a".to_string(), MAX_TENANT_ID - 1)]);
        let n = next_numbers(&tenants, &mixed, &ids);
        assert_eq!(n["a"], 1);
        let mut all: Vec<u32> = n.values().copied().collect();
        all.extend([MAX_TENANT_ID - 1, 2, 3]);
        let distinct: BTreeSet<u32> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len(), "{n:?}");
    }
}
