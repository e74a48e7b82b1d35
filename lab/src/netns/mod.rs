//! A [`crate::realise::Realiser`] that builds a lab router's committed
//! configuration in network namespaces with the daemons VyOS uses.
//!
//! Design (this kernel has no VRF devices and no kernel WireGuard; see
//! `shared/LAB-NOTES.md`):
//! - The router runs in a namespace the lab made (its underlay links and
//!   addresses are the lab's, not the configuration's: vxguard's
//!   configuration has no `interfaces ethernet`).
//! - Each tenant VRF `T` is its own namespace `<router ns>-T`. Layer 2
//!   stays in the router namespace: VXLAN interfaces and bridges live
//!   there, so FRR's `advertise-all-vni` in the router namespace sees
//!   them. A bridge in a VRF gets its layer-3 side through a veth pair:
//!   one end (`<dev>p`) is a port of the bridge, the other, named as the
//!   bridge (`<id><vyos name>`), is moved into the VRF namespace and
//!   carries the bridge's addresses and VRRP. The exception is the VRF's
//!   L3 VNI (`vrf name T vni N`): its VXLAN is created in the router
//!   namespace (the underlay socket stays there) and moved into the VRF
//!   namespace, where its bridge (the SVI of symmetric IRB) is built.
//!   WireGuard interfaces with `vrf T` live in the VRF namespace, with
//!   their UDP socket in the router namespace (wireguard-go is started
//!   there and its link moved: [`apply`]).
//! - Interface names are `<id><vyos name>` with a 1-3 character router
//!   id, host-unique because wireguard-go's control socket path
//!   (`/var/run/wireguard/<dev>.sock`) is shared by all namespaces.
//! - WireGuard runs as wireguard-go (user space), configured with `wg`.
//! - FRR (zebra, bgpd, bfdd) runs in the router namespace for `protocols
//!   bgp` (EVPN type-2/3 routes for the VNIs in that namespace) and `vrf
//!   name T protocols bgp` (type-5 routes over T's L3 VNI). zebra uses
//!   its netns VRF backend (`-n`), which takes every namespace in
//!   `/run/netns` as a VRF: the router's FRR runs in its own mount
//!   namespace whose `/run/netns` is a private tmpfs holding only the
//!   router's VRF namespaces, bound under their VyOS names (`finance`),
//!   so frr.conf's `vrf finance` and `router bgp ASN vrf finance` are
//!   VyOS's text. See [`frr`].
//! - keepalived runs VRRP where the group's interface has layer 3 (for a
//!   bridge in a VRF: its veth in the VRF namespace).
//! - `firewall ipv4` becomes nftables, the same ruleset in every namespace.
//! - What was built is recorded (`built.boot` in the run directory), so a
//!   restarted router, or `lab down` after a crash, diffs against what
//!   really exists.
//!
//! What this does not prove: kernel VRF behaviour (route leaking, `ip
//! vrf exec`, the VRF's table number: a namespace has its own main
//! table), kernel WireGuard, and that VyOS's scripts issue exactly these
//! commands (they were written from vyos-1x's sources, not observed).
//!
//! Verified here (`tests/netns_l3vni.rs`): a VXLAN interface created in
//! the router namespace and moved into another keeps its underlay socket
//! in the router namespace (`ip -d link` shows `link-netns`) and carries
//! traffic; zebra with `-n` in the private mount namespace finds the L3
//! VNI and its SVI in the VRF namespace, and bgpd exchanges type-5 routes
//! that zebra installs there (route via the SVI, neighbour and FDB entry
//! for the remote router MAC).

pub mod apply;
pub mod carrier;
pub mod firewall;
pub mod frr;
pub mod plan;
pub mod run;
pub mod show;
pub mod types;
pub mod vrrp;

use std::path::Path;
use std::sync::Mutex;

use vyos_tree::ConfigTree;

use crate::realise::{BgpSession, Realiser, Unrealised};
use apply::{ApplyError, RunDir};
use plan::{Plan, PlanError};

/// Why the realiser could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("router namespace {0:?} does not exist (the lab creates it)")]
    NoRouterNs(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// The file in the run directory holding the configuration last built.
const BUILT: &str = "built.boot";

/// Realises configurations of the router living in namespace `router_ns`.
pub struct NetnsRealiser {
    router_ns: String,
    id: String,
    run: RunDir,
    /// What the host holds now (the last plan applied).
    built: Mutex<Plan>,
}

impl NetnsRealiser {
    /// `id`: 1-3 lowercase letters or digits, unique on the host; `run_dir`:
    /// where wireguard-go's pid files and logs go, and `built.boot`, the
    /// configuration last built: a realiser started after a crash (or by
    /// `lab down`) knows what exists and changes or removes exactly that.
    pub fn new(router_ns: &str, id: &str, run_dir: &Path) -> Result<NetnsRealiser, NetnsError> {
        if !apply::netns_exists(router_ns) {
            return Err(NetnsError::NoRouterNs(router_ns.into()));
        }
        let empty = plan::plan(&ConfigTree::new(), router_ns, id)?;
        let run = RunDir::create(run_dir)?;
        let built = std::fs::read_to_string(run.0.join(BUILT))
            .ok()
            .and_then(|text| ConfigTree::parse_boot(&text).ok())
            .and_then(|tree| plan::plan(&tree, router_ns, id).ok())
            .unwrap_or(empty);
        Ok(NetnsRealiser {
            router_ns: router_ns.into(),
            id: id.into(),
            run,
            built: Mutex::new(built),
        })
    }

    /// Records what is built (root-only file: it holds private keys, as
    /// the router's config.boot does).
    fn save_built(&self, tree: Option<&ConfigTree>) {
        let path = self.run.0.join(BUILT);
        let out = match tree {
            Some(t) => apply::write_private(&path, &t.render_boot(&vyos_tree::NoSchema)),
            None => std::fs::remove_file(&path)
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                })
                .map_err(|source| ApplyError::Io { path, source }),
        };
        if let Err(e) = out {
            tracing::error!(error = %e, "recording what the realiser built");
        }
    }

    /// The plan for `tree` on this router.
    pub fn plan(&self, tree: &ConfigTree) -> Result<Plan, PlanError> {
        plan::plan(tree, &self.router_ns, &self.id)
    }

    /// Every VRRP group its keepalived processes run now, with its state
    /// and the seconds since its last transition (`None`: none runs).
    /// `lab check` reads a running router's groups this way from outside
    /// its process (what it built is in its run directory).
    pub fn vrrp_groups(&self) -> Result<Option<Vec<crate::opmode::VrrpRow>>, String> {
        let built = self.built.lock().unwrap().clone();
        show::vrrp_rows(&built, &self.run)
    }

    /// Removes everything the realiser built: wireguard-go processes, the
    /// links it made in the router namespace, the VRF namespaces.
    pub fn teardown(&self) -> Result<(), ApplyError> {
        let mut built = self.built.lock().unwrap();
        let empty = Plan {
            router_ns: self.router_ns.clone(),
            ..Plan::default()
        };
        apply::apply(&built, &empty, &self.run)?;
        *built = empty;
        self.save_built(None);
        Ok(())
    }
}

impl Realiser for NetnsRealiser {
    /// Applies the difference from what was last built to `new`'s plan.
    /// On failure, goes back to what was built (best effort) and fails
    /// the commit. `old` is not trusted: the realiser knows what it built.
    fn realise(&self, _old: &ConfigTree, new: &ConfigTree) -> Result<(), String> {
        let want = self.plan(new).map_err(|e| e.to_string())?;
        let mut built = self.built.lock().unwrap();
        match apply::apply(&built, &want, &self.run) {
            Ok(()) => {
                *built = want;
                self.save_built(Some(new));
                Ok(())
            }
            Err(e) => {
                if let Err(back) = apply::apply(&want, &built, &self.run) {
                    tracing::error!(error = %back, "restoring the previous build failed");
                }
                Err(e.to_string())
            }
        }
    }

    /// From FRR's `show bgp summary json` when FRR runs for this router;
    /// otherwise (no `protocols bgp`, or FRR does not answer) every
    /// configured neighbor as `Unrealised`, never `Established`.
    fn bgp_sessions(&self, running: &ConfigTree) -> Vec<BgpSession> {
        let has_frr = self.built.lock().unwrap().frr.is_some();
        if has_frr {
            match frr::sessions(&self.router_ns) {
                Ok(s) => return s,
                Err(e) => tracing::warn!(error = %e, "asking FRR for BGP sessions"),
            }
        }
        Unrealised.bgp_sessions(running)
    }

    /// From the daemons and the kernel ([`show`]): BGP and BFD from FRR,
    /// VRRP from keepalived, WireGuard from `wg`, interface counters,
    /// uptime and load.
    fn show(&self, path: &[String], running: &ConfigTree) -> Option<Result<String, String>> {
        let built = self.built.lock().unwrap().clone();
        show::show(&built, &self.run, path, running)
    }

    /// Installs the router MACs zebra lost ([`apply::repair_rmacs`]);
    /// skipped while a commit holds the build.
    fn maintain(&self) {
        let Ok(built) = self.built.try_lock() else {
            return;
        };
        if built.frr.is_some() {
            if let Err(e) = apply::repair_rmacs(&built) {
                tracing::warn!(error = %e, "repairing EVPN router MACs");
            }
        }
    }
}
