//! One device more or less in a running lab (issue 17, "Proof on real
//! packets"): `lab check` adds a router and a hypervisor to the platform
//! while traffic runs, and removes them again, so the lab must realise a
//! device after `lab up` and take it away without touching the others.
//!
//! Here are the lab's halves: the machine's namespace on the underlay
//! ([`router_host`], [`hypervisor_host`]), recorded in the inventory
//! before it is made as `lab up` records its own, and the removal of
//! everything one device made ([`remove_router`], [`remove_hypervisor`]):
//! its daemons, namespaces, underlay link, state and inventory entries.
//! Starting the lab router or building OVS and its agent needs vxguard's
//! store (the router's API key, the hypervisor's keys), so that is the lab
//! binary's (`vxguard-lab`), as for `lab up`.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::inventory::{Inventory, InventoryError, RouterNode};
use crate::netns::{apply, NetnsRealiser};
use crate::underlay::{self, Site, UnderlayError};

#[derive(Debug, thiserror::Error)]
pub enum GrowError {
    #[error(transparent)]
    Underlay(#[from] UnderlayError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("{0} is in the lab already")]
    Exists(String),
    #[error("{0} is not in the lab's inventory")]
    Unknown(String),
    #[error("removing {name}: {} step(s) failed: {}", .steps.len(), .steps.join("; "))]
    Steps { name: String, steps: Vec<String> },
}

/// A device's host-unique id (1-3 characters, prefixed to interface names
/// whose sockets are host-wide): the prefix's last character, a kind letter
/// (none for routers, `h` for hypervisors) and the device's number, so two
/// labs with different prefixes never collide.
pub fn node_id(prefix: &str, kind: &str, i: usize) -> String {
    let c = prefix.chars().last().unwrap_or('x');
    format!("{c}{kind}{}", i + 1)
}

/// An id of `kind` no device of the inventory holds (the lowest number
/// from `from`), so a device added after `lab up` never reuses a live one.
pub fn free_id(inv: &Inventory, kind: &str, from: usize) -> String {
    let taken: Vec<&str> = inv
        .routers
        .iter()
        .map(|r| r.id.as_str())
        .chain(inv.hypervisors.iter().map(|h| h.id.as_str()))
        .collect();
    (from..)
        .map(|i| node_id(&inv.prefix, kind, i))
        .find(|id| !taken.contains(&id.as_str()))
        .expect("ids never run out")
}

/// The lowest host address of `site`'s blocks that is neither the site's
/// gateway nor in `used`: where a device added to the lab can live.
pub fn free_address(site: &Site, used: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    site.blocks.iter().find_map(|b| {
        let gw = underlay::gateway(*b);
        b.hosts().find(|a| *a != gw && !used.contains(a))
    })
}

/// The router's namespace `<prefix>-<name>` on the underlay: made (and
/// recorded first), forwarding on, plugged into its site with `addr` on
/// `underlay_if`. Returns the node (not yet in `inv.routers`: the caller
/// adds it with its process). `id` from [`free_id`].
#[allow(clippy::too_many_arguments)]
pub fn router_host(
    inv: &mut Inventory,
    state: &Path,
    sites: &[Site],
    name: &str,
    site: &str,
    version: &str,
    api_url: &str,
    underlay_if: &str,
    addr: Ipv4Addr,
    id: &str,
) -> Result<RouterNode, GrowError> {
    let ns = format!("{}-{name}", inv.prefix);
    if inv.router(name).is_some() || inv.namespaces.contains(&ns) {
        return Err(GrowError::Exists(name.into()));
    }
    underlay::create_ns(inv, state, &ns)?;
    underlay::enable_forwarding(&ns)?;
    underlay::attach(
        inv,
        state,
        sites,
        site,
        name,
        &ns,
        underlay_if,
        &format!("u-{id}"),
        addr,
    )?;
    Ok(RouterNode {
        name: name.into(),
        site: site.into(),
        ns,
        id: id.into(),
        version: version.into(),
        api_url: api_url.into(),
        state_dir: state.join(name),
        underlay_if: underlay_if.into(),
        underlay_address: addr,
    })
}

/// The hypervisor's host namespace `<prefix>-<name>` on the underlay,
/// with `addr` on `eth0` (what `lab up` makes before `hypervisor::build`).
/// Returns the namespace.
pub fn hypervisor_host(
    inv: &mut Inventory,
    state: &Path,
    sites: &[Site],
    name: &str,
    site: &str,
    addr: Ipv4Addr,
    id: &str,
) -> Result<String, GrowError> {
    let ns = format!("{}-{name}", inv.prefix);
    if inv.hypervisors.iter().any(|h| h.name == name) || inv.namespaces.contains(&ns) {
        return Err(GrowError::Exists(name.into()));
    }
    underlay::create_ns(inv, state, &ns)?;
    underlay::attach(
        inv,
        state,
        sites,
        site,
        name,
        &ns,
        "eth0",
        &format!("u-{id}"),
        addr,
    )?;
    Ok(ns)
}

/// The processes the inventory records for device `name` (`lab router
/// NAME`, `lab hypervisor agent NAME`).
fn is_of(what: &str, name: &str) -> bool {
    what.strip_suffix(name)
        .is_some_and(|rest| rest == "lab router " || rest == "lab hypervisor agent ")
}

/// Deletes the wan end of the device's underlay link: a veth goes with its
/// namespace only once the kernel has freed that namespace, which is later
/// than `ip netns del` returns (the first test run found it still there).
fn unplug(inv: &Inventory, name: &str, failed: &mut Vec<String>) {
    let label = format!(" <-> {name}");
    for l in inv
        .underlay_links
        .iter()
        .filter(|l| l.label.ends_with(&label))
    {
        if apply::netns_exists(&l.ns) && apply::ip(&l.ns, &["link", "show", &l.ifname]).is_ok() {
            if let Err(e) = apply::ip(&l.ns, &["link", "del", &l.ifname]) {
                failed.push(e.to_string());
            }
        }
    }
}

/// Drops what names the device from the inventory's namespaces, links and
/// processes (after they were removed).
fn forget(inv: &mut Inventory, name: &str, namespaces: &[String]) {
    inv.namespaces.retain(|n| !namespaces.contains(n));
    let label = format!(" <-> {name}");
    inv.underlay_links.retain(|l| !l.label.ends_with(&label));
    inv.processes.retain(|p| !is_of(&p.what, name));
}

/// Removes router `name` from the running lab: its lab router process, the
/// daemons its realiser started, its namespaces (the wan end of its
/// underlay veth goes with them), its state directory and log, and its
/// inventory entries (saved). Every step is tried; the failures are
/// reported together, and the inventory keeps the router when any failed
/// (so `lab down` still removes it).
pub fn remove_router(inv: &mut Inventory, state: &Path, name: &str) -> Result<(), GrowError> {
    let r = inv
        .router(name)
        .cloned()
        .ok_or_else(|| GrowError::Unknown(name.into()))?;
    for p in inv.processes.iter().filter(|p| is_of(&p.what, name)) {
        crate::down::stop(p.pid, &p.what);
    }
    let mut failed = Vec::new();
    let run = r.state_dir.join("run");
    if apply::netns_exists(&r.ns) {
        match NetnsRealiser::new(&r.ns, &r.id, &run) {
            Ok(real) => {
                if let Err(e) = real.teardown() {
                    failed.push(e.to_string());
                }
            }
            Err(e) => failed.push(e.to_string()),
        }
    }
    crate::down::sweep(&r.ns, &r.id, &run, &mut failed);
    unplug(inv, name, &mut failed);
    if let Err(e) = underlay::delete_ns(&r.ns) {
        failed.push(e.to_string());
    }
    if !failed.is_empty() {
        return Err(GrowError::Steps {
            name: name.into(),
            steps: failed,
        });
    }
    let _ = std::fs::remove_dir_all(&r.state_dir);
    let _ = std::fs::remove_file(r.state_dir.with_extension("log"));
    forget(inv, name, std::slice::from_ref(&r.ns));
    inv.routers.retain(|x| x.name != name);
    inv.save(state)?;
    Ok(())
}

/// Removes hypervisor `name` from the running lab: its agent, what its
/// record names (OVS, wireguard-go, its namespaces), its VMs' namespaces,
/// its run directory and log, and its inventory entries (saved); as
/// [`remove_router`] on failure.
pub fn remove_hypervisor(inv: &mut Inventory, state: &Path, name: &str) -> Result<(), GrowError> {
    let h = inv
        .hypervisors
        .iter()
        .find(|h| h.name == name)
        .cloned()
        .ok_or_else(|| GrowError::Unknown(name.into()))?;
    for p in inv.processes.iter().filter(|p| is_of(&p.what, name)) {
        crate::down::stop(p.pid, &p.what);
    }
    let mut failed = Vec::new();
    if let Err(e) = crate::hypervisor::teardown(&h.run_dir) {
        failed.push(e.to_string());
    }
    let mut namespaces = vec![h.ns.clone(), h.ovs_ns.clone()];
    namespaces.extend(
        inv.vms
            .iter()
            .filter(|v| v.hypervisor == name)
            .map(|v| v.ns.clone()),
    );
    unplug(inv, name, &mut failed);
    for ns in &namespaces {
        if let Err(e) = underlay::delete_ns(ns) {
            failed.push(e.to_string());
        }
    }
    if !failed.is_empty() {
        return Err(GrowError::Steps {
            name: name.into(),
            steps: failed,
        });
    }
    let _ = std::fs::remove_dir_all(&h.run_dir);
    let _ = std::fs::remove_file(h.run_dir.with_extension("agent.log"));
    forget(inv, name, &namespaces);
    inv.vms.retain(|v| v.hypervisor != name);
    inv.hypervisors.retain(|x| x.name != name);
    inv.save(state)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{HypervisorNode, Process};

    #[test]
    fn a_free_id_and_address_skip_what_the_lab_holds() {
        let mut inv = Inventory {
            prefix: "vxt".into(),
            ..Default::default()
        };
        assert_eq!(free_id(&inv, "", 0), "t1");
        inv.hypervisors.push(HypervisorNode {
            name: "hv".into(),
            site: "dc1".into(),
            ns: "vxt-hv".into(),
            ovs_ns: "vxt-hv-ovs".into(),
            id: "th1".into(),
            openflow: String::new(),
            run_dir: "/nonexistent".into(),
            underlay_address: Ipv4Addr::new(5, 254, 54, 20),
            vtep: Ipv4Addr::new(172, 27, 0, 9),
        });
        assert_eq!(free_id(&inv, "h", 0), "th2");
        assert_eq!(free_id(&inv, "h", 4), "th5");
        let site = Site {
            name: "dc2".into(),
            blocks: vec![
                "5.254.43.160/30".parse().unwrap(),
                "5.254.43.208/29".parse().unwrap(),
            ],
        };
        // .161 is the gateway, .162 used: the first block is full.
        let used = [Ipv4Addr::new(5, 254, 43, 162)];
        assert_eq!(
            free_address(&site, &used),
            Some(Ipv4Addr::new(5, 254, 43, 210))
        );
        assert_eq!(
            free_address(&site, &[]),
            Some(Ipv4Addr::new(5, 254, 43, 162))
        );
    }

    #[test]
    fn only_the_removed_devices_processes_and_links_are_forgotten() {
        let mut inv = Inventory::default();
        for what in [
            "lab router r1",
            "lab router r10",
            "lab hypervisor agent r1",
            "lab router xr1",
        ] {
            inv.processes.push(Process {
                pid: 1,
                what: what.into(),
            });
        }
        inv.namespaces = vec!["p-r1".into(), "p-r10".into()];
        for label in ["dc1 <-> r1", "dc1 <-> r10"] {
            inv.underlay_links.push(crate::inventory::Link {
                ns: "p-wan".into(),
                ifname: "u".into(),
                label: label.into(),
            });
        }
        forget(&mut inv, "r1", &["p-r1".into()]);
        let left: Vec<&str> = inv.processes.iter().map(|p| p.what.as_str()).collect();
        assert_eq!(left, ["lab router r10", "lab router xr1"]);
        assert_eq!(inv.namespaces, ["p-r10"]);
        assert_eq!(inv.underlay_links.len(), 1);
        assert_eq!(inv.underlay_links[0].label, "dc1 <-> r10");
    }
}
