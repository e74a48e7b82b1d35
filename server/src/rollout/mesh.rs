//! The worker's half of a mesh change (the slots and their state:
//! `vxguard_compiler::mesh`, stored by `vxguard_store::mesh`). A platform
//! change that touches the mesh is compiled *staged* (the slot carrying
//! traffic held, the standby taking the change); after each rollout this
//! takes the next step once its check passes:
//! - staged → switched: every router holds its latest revision, and on
//!   each, every peer that has a live handshake on the active slot has one
//!   on the standby too (peers dead on both, or new ones not up yet, do
//!   not hold the change back);
//! - switched → released: every router holds its latest revision, and for
//!   a key rotation (`vxguard_store::mesh_keys`) its grace period is over
//!   or every peer is live on the new keys.
//!
//! Any other answer (a router unreachable, not yet applied) leaves the
//! change where it is, to be checked after the next rollout.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use sqlx::PgPool;
use vxguard_compiler::mesh::{MeshState, Step};
use vxguard_health::parse;
use vxguard_store::mesh::{self, MeshStep};
use vyos_api::Show;

use super::reconcile::{self, Access};

/// A handshake older than this is not live (WireGuard re-keys every 2
/// minutes while traffic flows; keepalives every 25 s keep it so).
const LIVE_SECS: u64 = 180;

use super::WorkerActor as Worker;

/// Public key → seconds since its latest handshake, on one interface.
async fn handshakes(a: &Access, ifname: &str) -> Result<BTreeMap<String, Option<u64>>, String> {
    let answer = a
        .client()?
        .show(&Show {
            path: ["interfaces", "wireguard", ifname, "summary"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
        .await
        .map_err(|e| e.to_string())?;
    if !answer.ok() {
        return Err(format!(
            "show interfaces wireguard {ifname} summary: HTTP {}: {}",
            answer.status,
            answer.error().unwrap_or("no VyOS answer")
        ));
    }
    let text = answer.envelope.data.as_str().unwrap_or("");
    Ok(parse::wireguard(text)
        .into_iter()
        .map(|p| (p.public_key, p.handshake_age_secs))
        .collect())
}

/// Whether every peer live on `active` is live on `standby` too; a peer
/// whose key is being rotated is named on the standby by its new key
/// (`renamed`: previous public key -> current one; VyOS 1.4's summary
/// names peers by key only, so the key is what both slots share). A peer
/// the change removes (`removed`: public keys the held slot has and the
/// new mesh has not) is not looked for: the standby never names it, and a
/// device removed while still running would otherwise hold the switch
/// forever (found by `vxguard-lab check`'s check 8).
pub fn standby_ready(
    active: &BTreeMap<String, Option<u64>>,
    standby: &BTreeMap<String, Option<u64>>,
    renamed: &BTreeMap<String, String>,
    removed: &BTreeSet<String>,
) -> Result<(), String> {
    let live = |age: &Option<u64>| age.is_some_and(|a| a < LIVE_SECS);
    let missing: Vec<&str> = active
        .iter()
        .filter(|(k, age)| live(age) && !removed.contains(*k))
        .filter(|(k, _)| {
            let on_standby = renamed.get(*k).unwrap_or(k);
            !standby.get(on_standby).is_some_and(live)
        })
        .map(|(k, _)| k.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} peer(s) live on the active slot have no handshake on the standby yet",
            missing.len()
        ))
    }
}

/// Takes the mesh change's next step if its check passes; returns it.
pub async fn advance(db: &PgPool, hypervisors_applied: bool) -> Result<Option<MeshStep>> {
    let state = mesh::state(db).await?;
    let (to, what) = match state.step() {
        Step::Steady => return Ok(None),
        Step::Staged => (state.switched(), MeshStep::Switched),
        Step::Switched => (state.released(), MeshStep::Released),
    };
    let behind = vxguard_store::applies::due(db)
        .await?
        .into_iter()
        .filter(|d| d.kind == "router" || hypervisors_applied)
        .count();
    if behind > 0 {
        tracing::info!(
            devices = behind,
            step = what.as_str(),
            "mesh change: waiting for devices to apply"
        );
        return Ok(None);
    }
    if what == MeshStep::Switched {
        if let Err(why) = standby_checked(db, &state).await? {
            tracing::info!(why = %why, "mesh change: not switching yet");
            return Ok(None);
        }
    }
    if let (MeshStep::Released, Some(r)) = (what, &state.rotation) {
        if let Err(why) = grace_over(db, &state, r).await? {
            tracing::info!(why = %why, "mesh key rotation: keeping the old keys");
            return Ok(None);
        }
    }
    let job = mesh::step(db, &state, &to, what, &Worker).await?;
    if let Some(job) = job {
        tracing::info!(
            step = what.as_str(),
            active = to.active.ifname(),
            job,
            "mesh change: step taken"
        );
        return Ok(Some(what));
    }
    Ok(None)
}

/// Whether a rotation's old keys may go: its grace is over, or every peer
/// of every router's active slot (which runs the new keys) has a live
/// handshake there, so no peer still needs an old key.
async fn grace_over(
    db: &PgPool,
    state: &MeshState,
    r: &vxguard_compiler::mesh::Rotation,
) -> Result<Result<(), String>> {
    let now = vxguard_store::api_keys::unix_now();
    let left = r
        .switched_at
        .map_or(r.grace_secs as i64, |t| t + r.grace_secs as i64 - now);
    if left <= 0 {
        return Ok(Ok(()));
    }
    let access = reconcile::routers(db).await?;
    let active = state.active.ifname();
    let checks = futures::future::join_all(access.iter().map(|(name, a)| async move {
        let peers = handshakes(a, active).await?;
        let waiting = peers
            .values()
            .filter(|age| !age.is_some_and(|a| a < LIVE_SECS))
            .count();
        if waiting == 0 {
            Ok(())
        } else {
            Err(format!(
                "router {name}: {waiting} peer(s) not yet live on the new keys"
            ))
        }
    }))
    .await;
    Ok(checks
        .into_iter()
        .collect::<Result<Vec<()>, String>>()
        .map(|_| ())
        .map_err(|e| format!("{e}; the grace period ends in {left} s")))
}

/// Each device whose key is being rotated: its previous public key and
/// its current one (public halves only).
async fn renamed_keys(db: &PgPool) -> Result<BTreeMap<String, String>> {
    let s = vxguard_store::intent::secrets(&mut *db.acquire().await?).await?;
    let routers = s
        .routers
        .values()
        .map(|r| (&r.wireguard_previous, &r.wireguard_public_key));
    let hypervisors = s
        .hypervisors
        .values()
        .map(|h| (&h.wireguard_previous, &h.wireguard_public_key));
    Ok(routers
        .chain(hypervisors)
        .filter_map(|(old, new)| Some((old.as_ref()?.public_key.clone(), new.clone())))
        .collect())
}

/// The public keys of the members the held slot names and the new mesh
/// (`last`) does not: the devices a staged change removes.
pub fn removed_keys(state: &MeshState) -> BTreeSet<String> {
    let (Some(held), Some(last)) = (&state.held, &state.last) else {
        return BTreeSet::new();
    };
    held.view
        .members
        .iter()
        .filter(|(name, _)| !last.members.contains_key(*name))
        .map(|(_, m)| m.public_key.clone())
        .collect()
}

/// On every router, the standby slot's handshakes against the active's.
async fn standby_checked(db: &PgPool, state: &MeshState) -> Result<Result<(), String>> {
    let renamed = &renamed_keys(db).await?;
    let removed = &removed_keys(state);
    let access = reconcile::routers(db).await?;
    let (active, standby) = (state.active.ifname(), state.active.other().ifname());
    let checks = futures::future::join_all(access.iter().map(|(name, a)| async move {
        let (on_active, on_standby) = tokio::join!(handshakes(a, active), handshakes(a, standby));
        let r = match (on_active, on_standby) {
            (Ok(x), Ok(y)) => standby_ready(&x, &y, renamed, removed),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        r.map_err(|e| format!("router {name}: {e}"))
    }))
    .await;
    Ok(checks
        .into_iter()
        .collect::<Result<Vec<()>, String>>()
        .map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(v: &[(&str, Option<u64>)]) -> BTreeMap<String, Option<u64>> {
        v.iter().map(|(k, a)| (k.to_string(), *a)).collect()
    }

    #[test]
    fn the_standby_is_ready_when_every_live_peer_handshook_on_it() {
        let active = peers(&[
            ("a", Some(5)),
            ("b", Some(30)),
            ("dead", None),
            ("old", Some(900)),
        ]);
        let none = BTreeMap::new();
        let ready = |standby: &[(&str, Option<u64>)]| {
            standby_ready(&active, &peers(standby), &none, &BTreeSet::new())
        };
        assert!(ready(&[("a", Some(2)), ("b", Some(1))]).is_ok());
        // A live peer without a handshake on the standby holds it back.
        let e = ready(&[("a", Some(2)), ("b", None)]).unwrap_err();
        assert!(e.contains("1 peer(s)"), "{e}");
        assert!(ready(&[("a", Some(2))]).is_err());
        // A stale handshake on the standby is not live either.
        assert!(ready(&[("a", Some(2)), ("b", Some(400))]).is_err());
    }

    /// A rotated peer runs its old key on the active slot and its new one
    /// on the standby (found live in the lab: keyed by the old key alone,
    /// the switch waited forever).
    #[test]
    fn a_rotated_peer_is_ready_by_its_new_key_on_the_standby() {
        let active = peers(&[("a", Some(5)), ("old-b", Some(3))]);
        let standby = peers(&[("a", Some(2)), ("new-b", Some(1))]);
        let no = BTreeSet::new();
        assert!(standby_ready(&active, &standby, &BTreeMap::new(), &no).is_err());
        let renamed: BTreeMap<String, String> = [("old-b".to_string(), "new-b".to_string())].into();
        assert!(standby_ready(&active, &standby, &renamed, &no).is_ok());
        let silent = peers(&[("a", Some(2)), ("new-b", None)]);
        assert!(standby_ready(&active, &silent, &renamed, &no).is_err());
    }

    /// A device removed while it still runs is live on the active slot and
    /// absent from the standby (found by check 8 of `vxguard-lab check`:
    /// the switch waited forever); only it is let go, never a peer the new
    /// mesh keeps.
    #[test]
    fn a_removed_peer_does_not_hold_the_switch() {
        use vxguard_compiler::mesh::{Held, Member, Slot, View};
        let active = peers(&[("a", Some(5)), ("gone", Some(3))]);
        let standby = peers(&[("a", Some(2))]);
        let none = BTreeMap::new();
        assert!(standby_ready(&active, &standby, &none, &BTreeSet::new()).is_err());
        let member = |key: &str| Member {
            public_key: key.into(),
            underlay: "192.0.2.1".parse().unwrap(),
            address: "172.27.0.1".parse().unwrap(),
        };
        let view = |names: &[(&str, &str)]| View {
            port: 51820,
            members: names
                .iter()
                .map(|(n, k)| (n.to_string(), member(k)))
                .collect(),
        };
        let state = MeshState {
            active: Slot::A,
            held: Some(Held {
                slot: Slot::A,
                view: view(&[("r1", "a"), ("hv-old", "gone")]),
            }),
            last: Some(view(&[("r1", "a")])),
            rotation: None,
        };
        let removed = removed_keys(&state);
        assert_eq!(removed, BTreeSet::from(["gone".to_string()]));
        assert!(standby_ready(&active, &standby, &none, &removed).is_ok());
        // A kept peer silent on the standby still holds it back.
        let kept_silent = peers(&[("a", None)]);
        assert!(standby_ready(&active, &kept_silent, &none, &removed).is_err());
        // A steady mesh or one that only adds removes nobody.
        assert!(removed_keys(&MeshState::default()).is_empty());
    }
}
