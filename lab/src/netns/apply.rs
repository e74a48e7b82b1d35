//! Applying the difference between two [`Plan`]s to the host with
//! iproute2, `wg` and wireguard-go.
//!
//! Granularity: an interface is deleted and created again exactly when
//! VyOS's commit scripts do it (`rebuilt_by` in [`super::types`] cites
//! them), and changed in place otherwise, so that a change's effects on
//! real VyOS (sessions dropped, a bridge losing its carrier, VRRP going to
//! FAULT) happen in the lab too, and only there:
//! - a VRF namespace: created when new, deleted (with everything in it)
//!   when gone; never rebuilt for a change of `table`/`vni` (unused on
//!   the host);
//! - a VXLAN interface: rebuilt for a change of its VNI, port, remotes,
//!   source address or parameters; MTU and description in place (a VRF's
//!   L3 VNI is created in the router namespace and then moved into the
//!   VRF's);
//! - a dummy interface: created, changed in place (addresses,
//!   description), deleted when gone;
//! - a bridge: changed in place (addresses, members, MTU, description);
//!   members are (re)enslaved after every apply, so a member that was
//!   rebuilt finds its bridge again, as VyOS's `update` puts it back. A
//!   bridge in a VRF has one more port, the lab's layer-3 veth, which
//!   would keep its carrier on: [`follow_carrier`] keeps that veth down
//!   while no other port has carrier, so keepalived, running on its VRF
//!   end, sees what it sees on VyOS's bridge;
//! - a WireGuard interface: rebuilt (wireguard-go stopped and started
//!   again) when anything under `peer` changes; keys, port, addresses,
//!   MTU and description in place (`wg syncconf`; only addresses that
//!   differ are removed or added).
//!
//! - the nftables ruleset: replaced atomically in every namespace when it
//!   changes, loaded into a new VRF namespace;
//! - keepalived: one per namespace with VRRP groups, reloaded with
//!   `SIGHUP` when its text changes (see [`super::vrrp`]);
//! - FRR: started when `protocols bgp` appears, stopped when it goes,
//!   changes applied with `frr-reload.py` (see [`super::frr`]); a VRF
//!   namespace that goes or is made again is first unbound from FRR's
//!   private `/run/netns` (the binding would keep it alive).
//!
//! Every create first removes a leftover of the same name, so applying
//! from an empty plan over a half-built host (after a crash) converges.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The command helpers live in `run` (the renderers use them too); the lab's
// hypervisors, underlay and checks keep reaching them through `apply`.
pub use super::run::{alive, netns_exists, write_private, ApplyError, RunDir};
pub(crate) use super::run::{del_link, in_ns, ip, link_exists, run, run_env};
use super::types::{BridgeIf, DummyIf, Place, Plan, VxlanIf, WgIf};

/// wireguard-go's control socket directory (not per namespace).
pub const WG_SOCKET_DIR: &str = "/var/run/wireguard";

/// Makes the host match `new`, where it matched `old`.
pub fn apply(old: &Plan, new: &Plan, rd: &RunDir) -> Result<(), ApplyError> {
    let r = &new.router_ns;
    // Removals first: names may be reused by what is created next.
    // keepalived before the namespaces: a process would keep a deleted
    // namespace alive.
    for k in &old.keepalived {
        if !new.keepalived.iter().any(|n| n.netns == k.netns) {
            super::vrrp::stop(rd, &k.netns);
        }
    }
    for w in &old.wireguard {
        if !new
            .wireguard
            .iter()
            .any(|n| n.dev == w.dev && !w.rebuilt_by(n))
        {
            remove_wg(&old.netns_of(&w.place), &w.dev, rd)?;
        }
    }
    for b in &old.bridges {
        if !new
            .bridges
            .iter()
            .any(|n| n.dev == b.dev && !b.rebuilt_by(n))
        {
            remove_bridge(&old.netns_of(&b.place), b)?;
        }
    }
    for v in &old.vxlans {
        if !new
            .vxlans
            .iter()
            .any(|n| n.dev == v.dev && !v.rebuilt_by(n))
        {
            del_link(&old.netns_of(&v.place), &v.dev)?;
        }
    }
    for d in &old.dummies {
        if !new.dummies.iter().any(|n| n.dev == d.dev) {
            del_link(r, &d.dev)?;
        }
    }
    // A bridge kept whose VXLAN just went has no carrier now, as on VyOS.
    for b in &new.bridges {
        follow_carrier(&new.netns_of(&b.place), b)?;
    }
    // FRR lets go of the VRF namespaces that go or are made again (or
    // stops now, when it goes: nothing then can keep it running).
    if new.frr.is_none() {
        super::frr::stop(r)?;
    } else {
        let kept: Vec<_> = new
            .vrfs
            .iter()
            .filter(|v| old.vrf(&v.vrf).is_some() && netns_exists(&v.netns))
            .cloned()
            .collect();
        super::frr::map_vrfs(r, &kept)?;
    }
    for v in &old.vrfs {
        if new.vrf(&v.vrf).is_none() && netns_exists(&v.netns) {
            run(&["ip", "netns", "del", &v.netns])?;
        }
    }

    let mut fresh = Vec::new();
    for v in &new.vrfs {
        if old.vrf(&v.vrf).is_none() || !netns_exists(&v.netns) {
            create_vrf_ns(&v.netns, &new.wireguard, new, rd)?;
            fresh.push(v.netns.clone());
        }
    }
    // The ruleset, into every namespace of the router (see firewall.rs).
    let all_ns = std::iter::once(r.clone()).chain(new.vrfs.iter().map(|v| v.netns.clone()));
    for ns in all_ns {
        let changed = old.firewall != new.firewall || old.router_ns != new.router_ns;
        if changed || (fresh.contains(&ns) && new.firewall.is_some()) {
            super::firewall::load(&ns, new.firewall.as_deref(), rd)?;
        }
    }
    // Dummies before the VXLANs whose source address they hold.
    for d in &new.dummies {
        let prev = old.dummies.iter().find(|o| o.dev == d.dev);
        if prev != Some(d) || !link_exists(r, &d.dev) {
            ensure_dummy(r, d)?;
        }
    }
    for v in &new.vxlans {
        let ns = new.netns_of(&v.place);
        let kept = old
            .vxlans
            .iter()
            .find(|o| o.dev == v.dev && !o.rebuilt_by(v));
        match kept {
            Some(o) if link_exists(&ns, &v.dev) => {
                if o != v {
                    set_mtu_alias(&ns, &v.dev, v.mtu, &v.description)?;
                }
            }
            _ => create_vxlan(r, &ns, v)?,
        }
    }
    for b in &new.bridges {
        let ns = new.netns_of(&b.place);
        let kept = old
            .bridges
            .iter()
            .find(|o| o.dev == b.dev && !o.rebuilt_by(b));
        match kept {
            Some(o) if link_exists(&ns, &b.dev) => {
                if o != b {
                    update_bridge(&ns, o, b)?;
                }
            }
            _ => create_bridge(&ns, b)?,
        }
    }
    for b in &new.bridges {
        let ns = new.netns_of(&b.place);
        for m in &b.members {
            ip(&ns, &["link", "set", "dev", m, "master", &b.dev])?;
            ip(&ns, &["link", "set", "dev", m, "up"])?;
        }
        follow_carrier(&ns, b)?;
    }
    for w in &new.wireguard {
        let ns = new.netns_of(&w.place);
        let prev = old.wireguard.iter().find(|o| o.dev == w.dev);
        if prev != Some(w) || !link_exists(&ns, &w.dev) {
            ensure_wg(&new.router_ns, &ns, w, rd)?;
        }
    }
    super::vrrp::apply(&old.keepalived, &new.keepalived, rd)?;
    super::frr::apply(r, old.frr.as_deref(), new.frr.as_deref(), &new.vrfs)?;
    if new.frr.is_some() {
        l3vnis_up(new)?;
        repair_rmacs(new)?;
    }
    Ok(())
}

/// Installs, for every route through a VRF's L3 VNI, the router MAC of
/// its next hop when zebra has not: the neighbour entry on the SVI and
/// the FDB entries on the L3 VNI's VXLAN, as zebra makes them.
///
/// Why: FRR 8.4's zebra counts a next hop's routes per prefix, so when a
/// prefix's route gains a path (`{A}` becomes `{A, B}`, the second
/// gateway's type-5 route arriving) it adds A again (no change), then
/// removes the old route's A: the route via A stays, A's router MAC goes
/// (seen in the lab on most start-ups: one site's routers lost the other
/// site's first router, its neighbour entry `FAILED`, and routing between
/// a tenant's networks across sites broke). VyOS ships a later FRR; the
/// lab puts back what zebra removed, from the route's own `Rmac`
/// extended community in BGP.
pub fn repair_rmacs(plan: &Plan) -> Result<(), ApplyError> {
    for b in &plan.bridges {
        let Place::Vrf(vrf) = &b.place else {
            continue;
        };
        let ns = plan.netns_of(&b.place);
        let Some(vxlan) = b.members.first() else {
            continue;
        };
        // Next hop -> one prefix routed through it on the SVI.
        let routes = ip(&ns, &["-j", "route", "show"])?;
        let routes: serde_json::Value = serde_json::from_str(&routes).unwrap_or_default();
        let mut hops = std::collections::BTreeMap::new();
        for r in routes.as_array().into_iter().flatten() {
            let Some(dst) = r["dst"].as_str() else {
                continue;
            };
            let nhs = match r["nexthops"].as_array() {
                Some(n) => n.clone(),
                None => vec![r.clone()],
            };
            for nh in nhs {
                if let (Some(gw), Some(dev)) = (nh["gateway"].as_str(), nh["dev"].as_str()) {
                    if dev == b.dev {
                        hops.entry(gw.to_string())
                            .or_insert_with(|| dst.to_string());
                    }
                }
            }
        }
        if hops.is_empty() {
            continue;
        }
        let neigh = ip(&ns, &["neigh", "show", "dev", &b.dev])?;
        let lost = hops.iter().filter(|(h, _)| {
            !neigh.lines().any(|l| {
                l.split_whitespace().next() == Some(h.as_str()) && l.contains("extern_learn")
            })
        });
        for (h, prefix) in lost {
            let h = h.as_str();
            let Some(mac) = super::frr::route_rmac(&plan.router_ns, vrf, prefix, h)? else {
                continue;
            };
            let mac = mac.as_str();
            ip(
                &ns,
                &[
                    "neigh",
                    "replace",
                    h,
                    "lladdr",
                    mac,
                    "dev",
                    &b.dev,
                    "nud",
                    "noarp",
                    "extern_learn",
                ],
            )?;
            run(&[
                "bridge", "-n", &ns, "fdb", "replace", mac, "dev", vxlan, "master", "static",
            ])?;
            run(&[
                "bridge", "-n", &ns, "fdb", "replace", mac, "dev", vxlan, "dst", h, "self",
                "static",
            ])?;
            tracing::warn!(vrf, next_hop = h, rmac = %mac, "installed a router MAC zebra lost");
        }
    }
    Ok(())
}

/// Waits (at most 10 s) until zebra has every L3 VNI up with its SVI.
/// zebra that takes a VRF namespace made again may find the L3 VNI but
/// not its SVI (seen with FRR 8.4: `show vrf vni` says SVI None, Down);
/// taking the L3 VNI's links down and up again makes it look again.
fn l3vnis_up(plan: &Plan) -> Result<(), ApplyError> {
    let svis: Vec<(String, &BridgeIf, String)> = plan
        .bridges
        .iter()
        .filter_map(|b| match &b.place {
            Place::Vrf(v) => Some((plan.netns_of(&b.place), b, v.clone())),
            Place::Router => None,
        })
        .collect();
    let t = Instant::now();
    let mut flapped = Instant::now() - Duration::from_secs(10);
    loop {
        let states = super::frr::l3vni_states(&plan.router_ns)?;
        let down: Vec<_> = svis
            .iter()
            .filter(|(_, b, vrf)| {
                !states
                    .iter()
                    .any(|(v, svi, up)| v == vrf && svi == &b.dev && *up)
            })
            .collect();
        if down.is_empty() {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(10) {
            let names: Vec<_> = down.iter().map(|(_, _, v)| v.as_str()).collect();
            return Err(ApplyError::Command {
                cmd: format!("vtysh -N {} -c 'show vrf vni'", plan.router_ns),
                stderr: format!("the L3 VNI of VRF {names:?} is not up after 10 s"),
            });
        }
        if flapped.elapsed() > Duration::from_secs(2) {
            for (ns, b, _) in &down {
                for m in &b.members {
                    ip(ns, &["link", "set", "dev", m, "down"])?;
                }
                ip(ns, &["link", "set", "dev", &b.dev, "down"])?;
                ip(ns, &["link", "set", "dev", &b.dev, "up"])?;
                for m in &b.members {
                    ip(ns, &["link", "set", "dev", m, "up"])?;
                }
            }
            flapped = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A fresh namespace for a VRF, forwarding on (a VRF routes). A leftover
/// of the same name is deleted first, with the wireguard-go processes
/// this realiser started in it.
fn create_vrf_ns(ns: &str, wgs: &[WgIf], plan: &Plan, rd: &RunDir) -> Result<(), ApplyError> {
    if netns_exists(ns) {
        super::vrrp::stop(rd, ns);
        for w in wgs {
            if plan.netns_of(&w.place) == ns {
                remove_wg(ns, &w.dev, rd)?;
            }
        }
        // An L3 VNI's VXLAN goes now, not with the namespace (freed later,
        // when nothing holds it): its VNI is taken until then.
        for v in &plan.vxlans {
            if plan.netns_of(&v.place) == ns {
                del_link(ns, &v.dev)?;
            }
        }
        run(&["ip", "netns", "del", ns])?;
    }
    run(&["ip", "netns", "add", ns])?;
    ip(ns, &["link", "set", "dev", "lo", "up"])?;
    in_ns(ns, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
    Ok(())
}

/// Creates `d` when missing, else changes it in place, as VyOS does: only
/// the addresses that differ are touched. The lab's kernel has no `dummy`
/// module: an `ifb` device stands in, the same to routing (always up,
/// carrier on, no neighbours, never forwards what it does not own).
fn ensure_dummy(ns: &str, d: &DummyIf) -> Result<(), ApplyError> {
    if !link_exists(ns, &d.dev) {
        ip(ns, &["link", "add", &d.dev, "type", "ifb"])?;
    }
    sync_addresses(ns, &d.dev, &d.addresses)?;
    set_alias(ns, &d.dev, &d.description)?;
    ip(ns, &["link", "set", "dev", &d.dev, "up"])?;
    Ok(())
}

fn set_alias(ns: &str, dev: &str, description: &Option<String>) -> Result<(), ApplyError> {
    if let Some(d) = description {
        ip(ns, &["link", "set", "dev", dev, "alias", d])?;
    }
    Ok(())
}

/// Creates `v` in the router namespace `r` (where its underlay socket
/// stays) and moves it to `ns` when that is another namespace.
fn create_vxlan(r: &str, ns: &str, v: &VxlanIf) -> Result<(), ApplyError> {
    del_link(r, &v.dev)?;
    del_link(ns, &v.dev)?;
    let (vni, port) = (v.vni.to_string(), v.port.to_string());
    let mut a = vec![
        "link", "add", &v.dev, "type", "vxlan", "id", &vni, "dstport", &port, "ttl", "16",
    ];
    if let Some(s) = &v.source_address {
        a.extend(["local", s.as_str()]);
    }
    if v.nolearning {
        a.push("nolearning");
    }
    if let Some(first) = v.remotes.first() {
        a.extend(["remote", first.as_str()]);
    }
    ip(r, &a)?;
    if ns != r {
        ip(r, &["link", "set", "dev", &v.dev, "netns", ns])?;
    }
    for rem in v.remotes.iter().skip(1) {
        let mut b = vec!["bridge", "-n", ns, "fdb", "append", "00:00:00:00:00:00"];
        b.extend([
            "dev",
            v.dev.as_str(),
            "dst",
            rem.as_str(),
            "port",
            port.as_str(),
        ]);
        run(&b)?;
    }
    ip(
        ns,
        &["link", "set", "dev", &v.dev, "mtu", &v.mtu.to_string()],
    )?;
    set_alias(ns, &v.dev, &v.description)?;
    ip(ns, &["link", "set", "dev", &v.dev, "up"])?;
    Ok(())
}

fn set_mtu_alias(
    ns: &str,
    dev: &str,
    mtu: u32,
    description: &Option<String>,
) -> Result<(), ApplyError> {
    ip(ns, &["link", "set", "dev", dev, "mtu", &mtu.to_string()])?;
    set_alias(ns, dev, description)
}

/// Changes a bridge in place, as VyOS's `BridgeIf.update` does: members
/// that left are released, addresses that differ between the two plans
/// removed or added (never the host's others: keepalived's virtual
/// address is on the same interface), MTU and alias set. The veth's MTU
/// follows the bridge's.
fn update_bridge(ns: &str, old: &BridgeIf, new: &BridgeIf) -> Result<(), ApplyError> {
    for m in old.members.iter().filter(|m| !new.members.contains(m)) {
        if link_exists(ns, m) {
            ip(ns, &["link", "set", "dev", m, "nomaster"])?;
        }
    }
    let (l3ns, l3dev) = match &new.l3 {
        Some(l3) => {
            set_mtu_alias(ns, &l3.port, new.mtu, &None)?;
            set_mtu_alias(&l3.netns, &l3.dev, new.mtu, &new.description)?;
            (l3.netns.as_str(), l3.dev.as_str())
        }
        None => (ns, new.dev.as_str()),
    };
    for a in old.addresses.iter().filter(|a| !new.addresses.contains(a)) {
        ip(l3ns, &["addr", "del", a, "dev", l3dev])?;
    }
    for a in new.addresses.iter().filter(|a| !old.addresses.contains(a)) {
        ip(l3ns, &["addr", "add", a, "dev", l3dev])?;
    }
    set_mtu_alias(ns, &new.dev, new.mtu, &new.description)
}

/// Keeps a VRF bridge's layer-3 veth up exactly while another port of the
/// bridge has carrier.
///
/// Why: VyOS runs VRRP on the bridge itself, and a Linux bridge has
/// carrier only while one of its ports does; a VXLAN member rebuilt (see
/// [`super::types::VxlanIf::rebuilt_by`]) leaves it without any for a
/// moment, and keepalived goes to FAULT and drops the gateway address. In
/// the lab the bridge's layer 3 is a veth port of the bridge, which would
/// keep the carrier on by itself; with this, its VRF end (where keepalived
/// runs) loses carrier when VyOS's bridge would. Followed at each apply,
/// not continuously: a bridge configured with no member is left up, for
/// the tests that plug hosts into it after the apply.
fn follow_carrier(ns: &str, b: &BridgeIf) -> Result<(), ApplyError> {
    let Some(l3) = &b.l3 else {
        return Ok(());
    };
    if b.members.is_empty() {
        return Ok(());
    }
    if !link_exists(ns, &b.dev) || !link_exists(ns, &l3.port) {
        return Ok(());
    }
    let out = ip(ns, &["-j", "link", "show", "master", &b.dev])?;
    let ports: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let carrier = ports.as_array().into_iter().flatten().any(|p| {
        p["ifname"].as_str().is_some_and(|n| n != l3.port)
            && p["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "LOWER_UP"))
    });
    ip(
        ns,
        &[
            "link",
            "set",
            "dev",
            &l3.port,
            if carrier { "up" } else { "down" },
        ],
    )?;
    Ok(())
}

fn remove_bridge(ns: &str, b: &BridgeIf) -> Result<(), ApplyError> {
    if let Some(l3) = &b.l3 {
        del_link(ns, &l3.port)?;
    }
    del_link(ns, &b.dev)
}

fn create_bridge(ns: &str, b: &BridgeIf) -> Result<(), ApplyError> {
    remove_bridge(ns, b)?;
    let mtu = b.mtu.to_string();
    ip(ns, &["link", "add", &b.dev, "type", "bridge"])?;
    if let Some(mac) = &b.mac {
        ip(ns, &["link", "set", "dev", &b.dev, "address", mac])?;
    }
    ip(ns, &["link", "set", "dev", &b.dev, "mtu", &mtu])?;
    set_alias(ns, &b.dev, &b.description)?;
    match &b.l3 {
        None => {
            for a in &b.addresses {
                ip(ns, &["addr", "add", a, "dev", &b.dev])?;
            }
        }
        Some(l3) => {
            // A leftover of the VRF end (the namespace outlived a crash).
            del_link(&l3.netns, &l3.dev)?;
            ip(
                ns,
                &[
                    "link", "add", &l3.port, "mtu", &mtu, "type", "veth", "peer", "name", &l3.dev,
                    "mtu", &mtu, "netns", &l3.netns,
                ],
            )?;
            ip(ns, &["link", "set", "dev", &l3.port, "master", &b.dev])?;
            ip(ns, &["link", "set", "dev", &l3.port, "up"])?;
            set_alias(&l3.netns, &l3.dev, &b.description)?;
            for a in &b.addresses {
                ip(&l3.netns, &["addr", "add", a, "dev", &l3.dev])?;
            }
            ip(&l3.netns, &["link", "set", "dev", &l3.dev, "up"])?;
        }
    }
    ip(ns, &["link", "set", "dev", &b.dev, "up"])?;
    Ok(())
}

/// Stops the wireguard-go this realiser started for `dev` (by its pid
/// file, checking the pid is still that program), deletes the link and
/// the control socket.
pub fn remove_wg(ns: &str, dev: &str, rd: &RunDir) -> Result<(), ApplyError> {
    let pidfile = rd.file(dev, "pid");
    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        let pid = pid.trim();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "wireguard-go" {
            let _ = run(&["kill", pid]);
            let t = Instant::now();
            while alive(pid) && t.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_file(&pidfile);
    }
    del_link(ns, dev)?;
    let _ = std::fs::remove_file(Path::new(WG_SOCKET_DIR).join(format!("{dev}.sock")));
    Ok(())
}

/// Starts wireguard-go for `w` unless its link is in `ns` and it runs,
/// then sets keys, port and peers (`wg syncconf`), addresses, MTU and
/// alias. It starts in the router namespace `home` (see [`move_link`]
/// for a `w` in a VRF).
fn ensure_wg(home: &str, ns: &str, w: &WgIf, rd: &RunDir) -> Result<(), ApplyError> {
    if !link_exists(ns, &w.dev) || !running_pid(rd, &w.dev) {
        remove_wg(ns, &w.dev, rd)?;
        start_wireguard_go(home, &w.dev, rd)?;
        if ns != home {
            move_link(home, ns, &w.dev)?;
        }
    }
    let conf = rd.file(&w.dev, "conf");
    write_private(&conf, &w.wg_conf())?;
    let out = in_ns(ns, &["wg", "syncconf", &w.dev, &conf.to_string_lossy()]);
    let _ = std::fs::remove_file(&conf);
    out?;
    sync_addresses(ns, &w.dev, &w.addresses)?;
    ip(
        ns,
        &["link", "set", "dev", &w.dev, "mtu", &w.mtu.to_string()],
    )?;
    set_alias(ns, &w.dev, &w.description)?;
    ip(ns, &["link", "set", "dev", &w.dev, "up"])?;
    Ok(())
}

/// Makes `dev`'s global addresses exactly `want`, touching only those
/// that differ: an address in use (the mesh address under VXLAN and BGP)
/// is never taken away for a change elsewhere, e.g. a new peer.
fn sync_addresses(ns: &str, dev: &str, want: &[String]) -> Result<(), ApplyError> {
    let out = ip(ns, &["-j", "addr", "show", "dev", dev])?;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let have: Vec<String> = json
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["scope"] != "link")
        .filter_map(|a| {
            Some(format!(
                "{}/{}",
                a["local"].as_str()?,
                a["prefixlen"].as_u64()?
            ))
        })
        .collect();
    for a in have.iter().filter(|a| !want.contains(a)) {
        ip(ns, &["addr", "del", a, "dev", dev])?;
    }
    for a in want.iter().filter(|a| !have.contains(a)) {
        ip(ns, &["addr", "add", a, "dev", dev])?;
    }
    Ok(())
}

fn running_pid(rd: &RunDir, dev: &str) -> bool {
    std::fs::read_to_string(rd.file(dev, "pid"))
        .ok()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{}/comm", pid.trim())).ok())
        .is_some_and(|c| c.trim() == "wireguard-go")
}

/// Moves `dev` from namespace `from` into `to`, waiting until it is there.
///
/// A VyOS WireGuard interface with `vrf T` carries T's traffic, but its
/// UDP socket stays in the default VRF, on the underlay: a remote-access
/// client reaches the router's public address. wireguard-go opens its
/// socket in the namespace it runs in and keeps it when its TUN device is
/// moved (verified here: a peer in a third namespace handshakes with the
/// socket in the first and pings the interface in the second), so it is
/// started in the router namespace and its link moved, as the realiser
/// does for an L3 VNI's VXLAN.
fn move_link(from: &str, to: &str, dev: &str) -> Result<(), ApplyError> {
    ip(from, &["link", "set", "dev", dev, "netns", to])?;
    let t = Instant::now();
    while !link_exists(to, dev) {
        if t.elapsed() > Duration::from_secs(5) {
            return Err(ApplyError::Command {
                cmd: format!("ip -n {from} link set dev {dev} netns {to}"),
                stderr: format!("{dev} did not appear in {to} within 5 s"),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// wireguard-go in the foreground (`-f`), so its pid is known; a thread
/// reaps it when it exits. It outlives this realiser's process, as a
/// daemon does; [`remove_wg`] stops it.
pub(crate) fn start_wireguard_go(ns: &str, dev: &str, rd: &RunDir) -> Result<(), ApplyError> {
    let log = rd.file(dev, "log");
    let io = |source| ApplyError::Io {
        path: log.clone(),
        source,
    };
    let out = std::fs::File::create(&log).map_err(io)?;
    let err = out.try_clone().map_err(io)?;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "wireguard-go", "-f", dev])
        .env("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|source| ApplyError::Spawn {
            cmd: format!("ip netns exec {ns} wireguard-go -f {dev}"),
            source,
        })?;
    let pidfile = rd.file(dev, "pid");
    std::fs::write(&pidfile, child.id().to_string()).map_err(|source| ApplyError::Io {
        path: pidfile,
        source,
    })?;
    let sock = Path::new(WG_SOCKET_DIR).join(format!("{dev}.sock"));
    let t = Instant::now();
    while !(sock.exists() && link_exists(ns, dev)) {
        if t.elapsed() > Duration::from_secs(5) || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ApplyError::WgStart {
                dev: dev.into(),
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}
