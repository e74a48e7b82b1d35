//! The mesh keys' rotation (issue 17, items 4 and 7), one step of a mesh
//! change on the two slots (`vxguard_compiler::mesh`):
//!
//! 1. **begun** ([`begin`]): each rotated device gets a new key pair; the
//!    old one is kept as `wireguard_previous` (the held slot still runs
//!    it), and a router's client interfaces keep the key their clients
//!    were given (`client_key`). The mesh state records the rotation and
//!    its grace; the job compiles it staged: the standby slots take the
//!    new keys, the slot carrying traffic keeps the old ones;
//! 2. switched and released by the worker's mesh rollout (`store::mesh`
//!    steps), the release waiting for the grace period unless every peer
//!    already shows it holds the new keys;
//! 3. **retired** ([`retire`], in the release's transaction): the old
//!    keys are forgotten: from then on a peer that still holds one gets
//!    no handshake.
//!
//! Every step is audited as `key.rotated` with the new key's fingerprint
//! (of its public half), never a key.

use sqlx::{PgConnection, PgPool};
use vxguard_compiler::intent::KeyRotation;
use vxguard_compiler::mesh::{MeshState, Rotation};
use vxguard_compiler::model::{KeyPair, Secrets};

use crate::api_keys::{due_by_schedule, unix_now};
use crate::audit::{self, Actor};
use crate::error::Result;
use crate::kind::Kind;
use crate::{jobs, locks};

/// A device of the mesh, as the rotation names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Device {
    pub kind: Kind,
    pub name: String,
}

impl Device {
    fn object(&self) -> String {
        format!("{}/{}/wireguard-key", self.kind.plural(), self.name)
    }
}

pub use crate::fingerprint::fingerprint;

/// What [`begin`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begun {
    /// The new keys are stored; this job compiles the rotation staged.
    Queued(i64),
    /// A mesh change or rotation is under way: one at a time.
    Busy,
    /// A device named is not in the mesh.
    NoSuchDevice(Device),
}

async fn mesh_for_update(conn: &mut PgConnection) -> Result<MeshState> {
    let now: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT doc->'mesh' FROM allocation WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(now
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

async fn store_mesh(conn: &mut PgConnection, m: &MeshState) -> Result<()> {
    sqlx::query(
        "UPDATE allocation SET doc = jsonb_set(doc, '{mesh}', $1), updated_at = now() WHERE id = 1",
    )
    .bind(serde_json::to_value(m)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces `device`'s mesh key in `s`; returns the new public key.
fn new_key(s: &mut Secrets, device: &Device, now: i64) -> Result<Option<String>> {
    let (private_key, public_key) = crate::device_keys::wireguard_keypair()?;
    let (current_private, current_public, previous, since) = match device.kind {
        Kind::Router => {
            let Some(r) = s.routers.get_mut(&device.name) else {
                return Ok(None);
            };
            // The clients keep the key they were given (`client_key`).
            if r.client_key.is_none() {
                r.client_key = Some(KeyPair {
                    private_key: r.wireguard_private_key.clone(),
                    public_key: r.wireguard_public_key.clone(),
                });
            }
            (
                &mut r.wireguard_private_key,
                &mut r.wireguard_public_key,
                &mut r.wireguard_previous,
                &mut r.wireguard_since,
            )
        }
        Kind::Hypervisor => {
            let Some(h) = s.hypervisors.get_mut(&device.name) else {
                return Ok(None);
            };
            (
                &mut h.wireguard_private_key,
                &mut h.wireguard_public_key,
                &mut h.wireguard_previous,
                &mut h.wireguard_since,
            )
        }
        _ => return Ok(None),
    };
    *previous = Some(KeyPair {
        private_key: std::mem::replace(current_private, private_key),
        public_key: std::mem::replace(current_public, public_key.clone()),
    });
    *since = Some(now);
    Ok(Some(public_key))
}

/// Step 1 for `devices`: a new key each, the rotation recorded in the mesh
/// state with `grace_secs`, and the job that compiles it staged. One
/// rotation or mesh change at a time ([`Begun::Busy`]).
pub async fn begin(
    db: &PgPool,
    devices: &[Device],
    grace_secs: u64,
    why: &str,
    who: &impl Actor,
) -> Result<Begun> {
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let Some(job) = begin_in(&mut tx, devices, grace_secs, why, who).await? else {
        return Ok(Begun::Busy);
    };
    match job {
        Ok(job) => {
            tx.commit().await?;
            Ok(Begun::Queued(job))
        }
        Err(d) => Ok(Begun::NoSuchDevice(d)),
    }
}

/// [`begin`] in the caller's transaction (under the write lock): `None`
/// when busy, `Some(Err)` when a device is unknown (nothing written).
async fn begin_in(
    conn: &mut PgConnection,
    devices: &[Device],
    grace_secs: u64,
    why: &str,
    who: &impl Actor,
) -> Result<Option<std::result::Result<i64, Device>>> {
    if devices.is_empty() {
        // A rotation of nothing would never stage, and so never end.
        return Ok(None);
    }
    let mesh = mesh_for_update(conn).await?;
    let before = crate::sealed::devices(conn).await?;
    let rotating = before
        .routers
        .values()
        .any(|r| r.wireguard_previous.is_some())
        || before
            .hypervisors
            .values()
            .any(|h| h.wireguard_previous.is_some());
    if !mesh.is_steady() || mesh.rotation.is_some() || rotating {
        return Ok(None);
    }
    let now = unix_now();
    let mut after = before.clone();
    let mut fingerprints = Vec::new();
    for d in devices {
        match new_key(&mut after, d, now)? {
            Some(public) => fingerprints.push(fingerprint(&public)),
            None => return Ok(Some(Err(d.clone()))),
        }
    }
    // The routers' client interfaces rotate with their mesh keys, each
    // tenant's on an interface of its own (`crate::client_keys`).
    let routers: Vec<String> = devices
        .iter()
        .filter(|d| d.kind == Kind::Router)
        .map(|d| d.name.clone())
        .collect();
    let clients = crate::client_keys::begin_in(conn, &mut after, &routers, grace_secs).await?;
    crate::sealed::store_devices(conn, &before, &after).await?;
    store_mesh(
        conn,
        &MeshState {
            rotation: Some(Rotation {
                grace_secs,
                switched_at: None,
            }),
            ..mesh
        },
    )
    .await?;
    crate::platform_rev::bump(conn).await?;
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    let job = jobs::enqueue(
        conn,
        None,
        &format!("rotate mesh keys of {} ({why})", names.join(", ")),
        who.subject(),
    )
    .await?;
    for (d, fp) in devices.iter().zip(&fingerprints) {
        audit_step(conn, who, &d.object(), "begun", fp, Some(job)).await?;
    }
    crate::client_keys::audit_begun(conn, who, &clients, job).await?;
    Ok(Some(Ok(job)))
}

/// Step 3, in the transaction of the mesh's release: every old key is
/// forgotten (audited per device).
pub async fn retire(conn: &mut PgConnection, who: &impl Actor, job: i64) -> Result<usize> {
    let before = crate::sealed::devices(conn).await?;
    let mut after = before.clone();
    let mut retired = Vec::new();
    for (name, r) in after.routers.iter_mut() {
        if r.wireguard_previous.take().is_some() {
            let d = Device {
                kind: Kind::Router,
                name: name.clone(),
            };
            retired.push((d, fingerprint(&r.wireguard_public_key)));
        }
    }
    for (name, h) in after.hypervisors.iter_mut() {
        if h.wireguard_previous.take().is_some() {
            let d = Device {
                kind: Kind::Hypervisor,
                name: name.clone(),
            };
            retired.push((d, fingerprint(&h.wireguard_public_key)));
        }
    }
    if retired.is_empty() {
        return Ok(0);
    }
    crate::sealed::store_devices(conn, &before, &after).await?;
    for (d, fp) in &retired {
        audit_step(conn, who, &d.object(), "retired", fp, Some(job)).await?;
    }
    Ok(retired.len())
}

/// The devices whose key the schedule rotates now: keys at least
/// `interval` old (oldest first), never two devices (routers or
/// hypervisors) of one site at once, and a tenth of them (at least one)
/// per step. A hypervisor's host applies its `## wireguard` section, as
/// the lab's hypervisor does (`vxguard_lab::hypervisor::apply_wireguard`).
/// Keys of unknown age are stamped with now (so due one interval later).
/// `sites`: each device's site.
pub async fn begin_scheduled(
    db: &PgPool,
    sites: &std::collections::BTreeMap<Device, String>,
    schedule: &KeyRotation,
    who: &impl Actor,
) -> Result<Vec<Device>> {
    if schedule.interval_secs == 0 {
        return Ok(Vec::new());
    }
    let now = unix_now();
    let every = std::time::Duration::from_secs(schedule.interval_secs);
    let sites: std::collections::BTreeMap<&Device, &String> = sites
        .iter()
        .filter(|(d, _)| matches!(d.kind, Kind::Router | Kind::Hypervisor))
        .collect();
    let at_once = (sites.len() / 10).max(1);
    let ages = |s: &Secrets| -> Vec<(String, String, Option<i64>, bool)> {
        sites
            .iter()
            .filter_map(|(d, site)| {
                let since = match d.kind {
                    Kind::Router => s.routers.get(&d.name)?.wireguard_since,
                    _ => s.hypervisors.get(&d.name)?.wireguard_since,
                };
                Some((key_of(d), site.to_string(), since, false))
            })
            .collect()
    };
    // Most calls find nothing to do: no lock for those.
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    let unstamped = s.routers.values().any(|r| r.wireguard_since.is_none())
        || s.hypervisors.values().any(|h| h.wireguard_since.is_none());
    if !unstamped && due_by_schedule(&ages(&s), now, every, at_once).is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let before = crate::sealed::devices(&mut tx).await?;
    if unstamped {
        let mut after = before.clone();
        for r in after.routers.values_mut() {
            r.wireguard_since.get_or_insert(now);
        }
        for h in after.hypervisors.values_mut() {
            h.wireguard_since.get_or_insert(now);
        }
        crate::sealed::store_devices(&mut tx, &before, &after).await?;
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let due: Vec<Device> = due_by_schedule(&ages(&before), now, every, at_once)
        .iter()
        .filter_map(|k| sites.keys().find(|d| key_of(d) == *k).map(|d| (*d).clone()))
        .collect();
    if due.is_empty() {
        return Ok(Vec::new());
    }
    match begin_in(&mut tx, &due, schedule.grace_secs, "schedule", who).await? {
        Some(Ok(_)) => {
            tx.commit().await?;
            Ok(due)
        }
        _ => Ok(Vec::new()),
    }
}

fn key_of(d: &Device) -> String {
    format!("{}/{}", d.kind.plural(), d.name)
}

/// A device's mesh key as an operator sees it: never a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyState {
    pub device: Device,
    /// The fingerprint of the current key.
    pub fingerprint: String,
    /// When it became current (Unix seconds), if known.
    pub since: Option<i64>,
    /// An old key is still held (a rotation is under way).
    pub rotating: bool,
}

/// Every mesh device's [`KeyState`].
pub async fn states(db: &PgPool) -> Result<Vec<KeyState>> {
    let s = crate::sealed::devices(&mut *db.acquire().await?).await?;
    let routers = s.routers.iter().map(|(n, r)| KeyState {
        device: Device {
            kind: Kind::Router,
            name: n.clone(),
        },
        fingerprint: fingerprint(&r.wireguard_public_key),
        since: r.wireguard_since,
        rotating: r.wireguard_previous.is_some(),
    });
    let hvs = s.hypervisors.iter().map(|(n, h)| KeyState {
        device: Device {
            kind: Kind::Hypervisor,
            name: n.clone(),
        },
        fingerprint: fingerprint(&h.wireguard_public_key),
        since: h.wireguard_since,
        rotating: h.wireguard_previous.is_some(),
    });
    Ok(routers.chain(hvs).collect())
}

async fn audit_step(
    conn: &mut PgConnection,
    who: &impl Actor,
    object: &str,
    step: &str,
    fingerprint: &str,
    job: Option<i64>,
) -> Result<()> {
    let after = serde_json::json!({"step": step, "key": fingerprint});
    let mut e = audit::Entry::by(who, None, "key.rotated", object, None, Some(after));
    e.job = job;
    audit::append(conn, e).await?;
    Ok(())
}

/// The platform's key schedule (its defaults when the platform has none).
pub async fn schedule(db: &PgPool) -> Result<KeyRotation> {
    let v: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT spec->'wireguard'->'key_rotation' FROM platform WHERE id = 1")
            .fetch_optional(db)
            .await?;
    Ok(v.flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}
