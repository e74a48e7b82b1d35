//! The WireGuard mesh in two slots, changed make-before-break (issue 17,
//! item 2).
//!
//! On VyOS any change under `interfaces wireguard X peer` deletes and
//! recreates `X` (vyos-1x `conf_mode/interfaces_wireguard.py`: a peer
//! change sets `wireguard['rebuild']`, T4702, in 1.4 and 1.5 alike), so a
//! device added to or removed from a single mesh interface would cut every
//! BGP, BFD and VXLAN session of every router at once. Instead:
//!
//! - each VTEP's mesh address lives on a dummy interface (`dum0`), which
//!   BGP's update source and the VXLAN `source-address` use, so nothing
//!   that carries traffic is bound to a WireGuard interface;
//! - each device has two WireGuard interfaces, the *slots* `wg0` (A, the
//!   platform's port) and `wg65536` (B, the port below it; the name is
//!   above every tenant id, so never a tenant's client interface), each a
//!   full mesh with every peer's mesh address alone as its allowed-ips;
//! - one route (`protocols static route <control-plane pool> interface
//!   <slot>`) says which slot carries traffic: changing it rebuilds nothing.
//!
//! A mesh change is then three rollouts: the worker *holds* the active
//! slot at the view it renders now and lets the standby slot take the new
//! view (VyOS rebuilds an interface nothing uses); once the standby's peers
//! have handshaken it *switches* the route (devices may switch in any order:
//! every peer answers on both slots); then it *releases* the old slot, which
//! takes the new view too. [`MeshState`] is that state, kept in the
//! allocation so that every compile renders the same slots.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// One of a device's two mesh interfaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    #[default]
    A,
    B,
}

impl Slot {
    pub const BOTH: [Slot; 2] = [Slot::A, Slot::B];

    /// The interface name: VyOS allows `wg[0-9]+`, and tenants' client
    /// interfaces are `wg<tenant id>` with ids up to 65,435
    /// (`alloc::MAX_TENANT_ID`), so slot B's name can never be one of theirs.
    pub fn ifname(self) -> &'static str {
        match self {
            Slot::A => "wg0",
            Slot::B => "wg65536",
        }
    }

    /// The listen port: slot A the platform's WireGuard port, slot B the
    /// port below it, which no tenant's client port (`port + tenant id`,
    /// wrapping) can be.
    pub fn port(self, platform_port: u16) -> u16 {
        match self {
            Slot::A => platform_port,
            Slot::B => platform_port.wrapping_sub(1),
        }
    }

    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
}

/// A VTEP as its peers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub public_key: String,
    /// Where it is reached (its underlay address).
    pub underlay: IpAddr,
    /// Its mesh address: its peers' allowed-ips for it.
    pub address: Ipv4Addr,
}

/// The whole mesh as one slot holds it: every router and hypervisor by
/// name, and the platform's WireGuard port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    pub port: u16,
    pub members: BTreeMap<String, Member>,
}

/// A slot held at an earlier view while the other one changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Held {
    pub slot: Slot,
    pub view: View,
}

/// Which slot carries traffic, and the slot held back, if any: a slot not
/// held renders the mesh the intent asks for now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshState {
    #[serde(default)]
    pub active: Slot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// The mesh the intent asked for at the last compile that staged
    /// changes ([`crate::plan_mesh`]): what the unheld slots render on
    /// the devices now. `None` before the first such compile (and in the
    /// command line's lock files, which change both slots at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<View>,
    /// A key rotation this change is: its release waits for the grace
    /// period (or for every peer to hold the new keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
}

/// A mesh change that replaces keys (`vxguard_store::mesh_keys`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the old keys may keep working after the switch: the
    /// schedule's grace, 0 for a key rotated because it is compromised.
    pub grace_secs: u64,
    /// When traffic moved to the new keys (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_at: Option<i64>,
}

/// The step a mesh change is at, as [`MeshState::step`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Both slots render the intent's mesh: nothing to do.
    Steady,
    /// The active slot is held and the standby has the new mesh: switch
    /// once the standby's peers have handshaken.
    Staged,
    /// Traffic is on the new mesh and the old slot is still held: release
    /// it (after the grace period, for a key rotation).
    Switched,
}

impl MeshState {
    pub fn is_default(&self) -> bool {
        *self == MeshState::default()
    }

    pub fn is_steady(&self) -> bool {
        self.held.is_none()
    }

    /// The view slot `s` renders when the intent asks for `target`.
    pub fn view<'a>(&'a self, s: Slot, target: &'a View) -> &'a View {
        match &self.held {
            Some(h) if h.slot == s => &h.view,
            _ => target,
        }
    }

    pub fn step(&self) -> Step {
        match &self.held {
            None => Step::Steady,
            Some(h) if h.slot == self.active => Step::Staged,
            Some(_) => Step::Switched,
        }
    }

    /// The state in which the mesh of `target` can be compiled without
    /// touching the slot that carries traffic: when the active slot would
    /// render something else than it does under `self` and `before` (the
    /// previous compile's mesh), it is held at what it renders now. A
    /// change that leaves the active slot's view alone keeps the state.
    pub fn before_change(&self, before: &View, target: &View) -> MeshState {
        let now = self.view(self.active, before);
        if now == self.view(self.active, target) {
            return self.clone();
        }
        MeshState {
            active: self.active,
            held: Some(Held {
                slot: self.active,
                view: now.clone(),
            }),
            last: self.last.clone(),
            rotation: self.rotation.clone(),
        }
    }

    /// Traffic moves to the standby slot, which keeps rendering the
    /// intent's mesh; the old one stays held.
    pub fn switched(&self) -> MeshState {
        MeshState {
            active: self.active.other(),
            ..self.clone()
        }
    }

    /// The held slot is released: both slots render the intent's mesh
    /// (and a rotation is over).
    pub fn released(&self) -> MeshState {
        MeshState {
            held: None,
            rotation: None,
            ..self.clone()
        }
    }

    /// The state to compile `target` with, given that the devices render
    /// `self` with [`MeshState::last`]: the slot carrying traffic is held
    /// if the change would touch it; `last` becomes `target`.
    pub fn staged_for(&self, target: &View) -> MeshState {
        let mut next = match &self.last {
            Some(before) => self.before_change(before, target),
            None => self.clone(),
        };
        next.last = Some(target.clone());
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(names: &[&str]) -> View {
        View {
            port: 51820,
            members: names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        n.to_string(),
                        Member {
                            public_key: format!("K{n}"),
                            underlay: IpAddr::V4(Ipv4Addr::new(192, 0, 2, i as u8 + 1)),
                            address: Ipv4Addr::new(172, 27, 0, i as u8 + 1),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn slot_b_never_takes_a_tenant_name_or_port() {
        use crate::alloc::MAX_TENANT_ID;
        assert!("65536".parse::<u32>().unwrap() > MAX_TENANT_ID);
        for base in [1u16, 51820, 65535] {
            let b = Slot::B.port(base);
            for id in 1..=MAX_TENANT_ID {
                assert_ne!(
                    crate::model::client_port(base, id),
                    b,
                    "base {base} id {id}"
                );
            }
            assert_ne!(Slot::A.port(base), b);
        }
    }

    #[test]
    fn a_change_holds_the_active_slot_then_switches_then_releases() {
        let old = view(&["r1", "r2"]);
        let new = view(&["r1", "r2", "r3"]);
        let s0 = MeshState::default();
        assert_eq!(s0.step(), Step::Steady);
        // An unchanged mesh keeps the state.
        assert_eq!(s0.before_change(&old, &old), s0);
        let s1 = s0.before_change(&old, &new);
        assert_eq!(s1.step(), Step::Staged);
        assert_eq!(s1.view(Slot::A, &new), &old, "traffic's slot unchanged");
        assert_eq!(s1.view(Slot::B, &new), &new, "standby takes the change");
        let s2 = s1.switched();
        assert_eq!(s2.step(), Step::Switched);
        assert_eq!(s2.active, Slot::B);
        assert_eq!(s2.view(Slot::A, &new), &old);
        let s3 = s2.released();
        assert_eq!(s3.step(), Step::Steady);
        assert_eq!(s3.active, Slot::B);
        assert_eq!(s3.view(Slot::A, &new), &new);
    }

    #[test]
    fn staging_holds_only_what_the_devices_render() {
        let v1 = view(&["r1", "r2"]);
        let v2 = view(&["r1", "r2", "r3"]);
        // Nothing known of the devices: nothing to hold.
        let s = MeshState::default().staged_for(&v1);
        assert_eq!((s.step(), s.last.as_ref()), (Step::Steady, Some(&v1)));
        // The same mesh again: nothing held.
        assert_eq!(s.staged_for(&v1), s);
        let t = s.staged_for(&v2);
        assert_eq!(t.step(), Step::Staged);
        assert_eq!(t.view(Slot::A, &v2), &v1);
        assert_eq!(t.last.as_ref(), Some(&v2));
    }

    #[test]
    fn a_second_change_never_touches_the_slot_carrying_traffic() {
        let v1 = view(&["r1", "r2"]);
        let v2 = view(&["r1", "r2", "r3"]);
        let v3 = view(&["r1", "r3"]);
        // Staged (A held at v1, B at v2), then v3 arrives: A stays at v1.
        let staged = MeshState::default().before_change(&v1, &v2);
        let again = staged.before_change(&v2, &v3);
        assert_eq!(again, staged);
        assert_eq!(again.view(Slot::A, &v3), &v1);
        // Switched (traffic on B at v2, A held at v1), then v3: B is held
        // at v2 and A, unused, takes v3.
        let switched = staged.switched();
        let next = switched.before_change(&v2, &v3);
        assert_eq!(next.active, Slot::B);
        assert_eq!(next.view(Slot::B, &v3), &v2);
        assert_eq!(next.view(Slot::A, &v3), &v3);
        assert_eq!(next.step(), Step::Staged);
    }
}
