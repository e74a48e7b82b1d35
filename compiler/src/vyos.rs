//! Rendering a router model as VyOS `set` commands.
//!
//! Commands are paths of words (the leaf value last), emitted in a fixed
//! order; the configuration tree (`vyos-tree`) sorts and renders them, so
//! the output is byte-for-byte deterministic.
//!
//! WireGuard mesh design: multipoint interfaces with every other router
//! and every hypervisor (of every site) as a peer whose `allowed-ips` are
//! only that peer's own /32: no VTEP is reached through a third device, so
//! losing one router cuts only what went through it (README, "What the lab
//! found" 7). Allowed-ips must be disjoint per interface, which the plan's
//! `allowed-ips 172.27.0.0/20` on every peer violates. Multipoint (instead
//! of one interface per link) keeps the mesh to one address per router in
//! the control-plane pool (a /20 holds 4094 routers; per-link /31s would
//! exhaust it at 64 routers), and one BGP update source. Two such
//! interfaces (slots) and a dummy holding the address make mesh changes
//! make-before-break: see `crate::mesh`.

use crate::intent::{Action, Protocol, VyosVersion};
use crate::model::{RouterModel, TenantOnRouter, WgPeer};
use crate::paths::PathList;
use crate::policy::{CompiledPolicy, Match, PortRange};

/// Seconds a returning gateway waits before it takes the group back from a
/// lower-priority master: BGP sessions (with BFD) came back within 2 s in
/// the lab; the rest is margin.
pub const VRRP_PREEMPT_DELAY_SECS: u32 = 5;

/// The Prometheus exporters configured on VyOS 1.5 routers
/// (`service monitoring <exporter>`, `service_monitoring_*.xml.in`).
pub const MONITORING_EXPORTERS: [&str; 2] = ["node-exporter", "frr-exporter"];

/// The dummy interface holding a router's mesh address (`crate::mesh`).
pub const MESH_DUMMY: &str = "dum0";

/// The administrative distance of the mesh pool's fallback blackhole:
/// above every route VyOS installs by default.
pub const MESH_BLACKHOLE_DISTANCE: u8 = 254;

/// One `set` path (leaf value included).
pub type Path = Vec<String>;

/// Commands as they are rendered, stored compactly.
struct Out(PathList);

impl Out {
    fn set(&mut self, words: &[&dyn std::fmt::Display]) {
        for w in words {
            self.0.word_display(*w);
        }
        self.0.end_path();
    }

    /// A path of borrowed words (no string per word).
    fn words<'w>(&mut self, words: impl IntoIterator<Item = &'w &'w str>) {
        for w in words {
            self.0.word(w);
        }
        self.0.end_path();
    }

    fn done(mut self) -> PathList {
        self.0.shrink_to_fit();
        self.0
    }
}

macro_rules! set {
    ($out:expr, $($w:expr),+ $(,)?) => {
        $out.set(&[$(&$w),+])
    };
}

/// The platform part: system, mesh, BGP, API, base firewall.
pub fn render_platform(r: &RouterModel) -> PathList {
    let mut o = Out(PathList::new());
    set!(o, "system", "host-name", r.name);
    // The VTEP, BGP's update source, on an interface no mesh change
    // touches (`crate::mesh`).
    set!(
        o,
        "interfaces",
        "dummy",
        MESH_DUMMY,
        "address",
        format!("{}/32", r.mesh_address)
    );
    set!(
        o,
        "interfaces",
        "dummy",
        MESH_DUMMY,
        "description",
        "vxguard VTEP"
    );
    for m in &r.mesh {
        let wg = m.slot.ifname();
        set!(
            o,
            "interfaces",
            "wireguard",
            wg,
            "description",
            "vxguard mesh"
        );
        set!(o, "interfaces", "wireguard", wg, "port", m.port);
        set!(o, "interfaces", "wireguard", wg, "mtu", r.wg_mtu);
        set!(
            o,
            "interfaces",
            "wireguard",
            wg,
            "private-key",
            m.private_key
        );
        for p in &m.peers {
            wg_peer(&mut o, wg, p);
        }
    }
    // Which slot carries the mesh: moving this route rebuilds nothing.
    set!(
        o,
        "protocols",
        "static",
        "route",
        r.mesh_pool,
        "interface",
        r.mesh_active.ifname()
    );
    // While that slot is being rebuilt (never by vxguard's own changes, but
    // by an operator's), mesh traffic is dropped rather than sent in clear
    // along the default route: the mesh address lives on `dum0`, so BGP,
    // BFD and VXLAN keep sending (found by the lab's captures).
    set!(
        o,
        "protocols",
        "static",
        "route",
        r.mesh_pool,
        "blackhole",
        "distance",
        MESH_BLACKHOLE_DISTANCE
    );
    let asn = r.asn.to_string();
    set!(o, "protocols", "bgp", "system-as", asn);
    set!(
        o,
        "protocols",
        "bgp",
        "parameters",
        "router-id",
        r.mesh_address
    );
    set!(
        o,
        "protocols",
        "bgp",
        "address-family",
        "l2vpn-evpn",
        "advertise-all-vni"
    );
    for (_, n) in &r.bgp_neighbors {
        let n = n.to_string();
        set!(
            o,
            "protocols",
            "bgp",
            "neighbor",
            n,
            "remote-as",
            "internal"
        );
        set!(
            o,
            "protocols",
            "bgp",
            "neighbor",
            n,
            "update-source",
            r.mesh_address
        );
        set!(o, "protocols", "bgp", "neighbor", n, "bfd");
        set!(
            o,
            "protocols",
            "bgp",
            "neighbor",
            n,
            "address-family",
            "l2vpn-evpn"
        );
    }
    set!(
        o,
        "service",
        "https",
        "api",
        "keys",
        "id",
        r.api_key_id,
        "key",
        r.api_key
    );
    if let Some(next) = &r.api_key_next {
        set!(
            o,
            "service",
            "https",
            "api",
            "keys",
            "id",
            format!("{}-next", r.api_key_id),
            "key",
            next
        );
    }
    if r.version == VyosVersion::V1_5 {
        set!(o, "service", "https", "api", "rest");
        // VyOS 1.5's own Prometheus exporters (1.4 has none), on the mesh
        // address only: never on the underlay, where anyone could read
        // them. Default ports (node 9100, FRR 9342), which
        // `vxguard monitoring scrape-config` lists.
        for exporter in MONITORING_EXPORTERS {
            set!(
                o,
                "service",
                "monitoring",
                exporter,
                "listen-address",
                r.mesh_address
            );
        }
    }
    set!(
        o,
        "firewall",
        "ipv4",
        "forward",
        "filter",
        "default-action",
        "accept"
    );
    o.done()
}

fn wg_peer(o: &mut Out, ifname: &str, p: &WgPeer) {
    let base = ["interfaces", "wireguard", ifname, "peer", p.name.as_str()];
    let with = |o: &mut Out, tail: &[&str]| o.words(base.iter().chain(tail));
    with(o, &["public-key", &p.public_key]);
    for a in &p.allowed_ips {
        with(o, &["allowed-ips", &a.to_string()]);
    }
    if let Some((addr, port)) = p.endpoint {
        with(o, &["address", &addr.to_string()]);
        with(o, &["port", &port.to_string()]);
    }
    if let Some(k) = p.keepalive {
        with(o, &["persistent-keepalive", &k.to_string()]);
    }
}

/// One tenant's part on a router: VRF, L3 VNI, segments, VRRP, clients, firewall.
pub fn render_tenant(r: &RouterModel, t: &TenantOnRouter) -> PathList {
    let mut o = Out(PathList::new());
    let vrf = t.vrf.as_str();
    let desc = format!("vxguard tenant {}", t.slug);
    set!(o, "vrf", "name", vrf, "table", t.table);
    set!(o, "vrf", "name", vrf, "vni", t.l3_vni);
    set!(o, "vrf", "name", vrf, "description", desc);
    let evpn = [
        "vrf",
        "name",
        vrf,
        "protocols",
        "bgp",
        "address-family",
        "l2vpn-evpn",
    ];
    let ev = |o: &mut Out, tail: &[&str]| o.words(evpn.iter().chain(tail));
    ev(&mut o, &["advertise", "ipv4", "unicast"]);
    ev(&mut o, &["rd", &t.rd]);
    ev(&mut o, &["route-target", "import", &t.rt]);
    ev(&mut o, &["route-target", "export", &t.rt]);
    // A VRF's BGP instance needs its own system-as (VyOS commit rule).
    set!(
        o,
        "vrf",
        "name",
        vrf,
        "protocols",
        "bgp",
        "system-as",
        r.asn
    );
    set!(
        o,
        "vrf",
        "name",
        vrf,
        "protocols",
        "bgp",
        "address-family",
        "ipv4-unicast",
        "redistribute",
        "connected"
    );

    // The L3 VNI: symmetric IRB between sites needs a VXLAN + bridge in the VRF.
    let l3 = t.l3_vni;
    vxlan(&mut o, l3, r, t.mtu, &[], true);
    let br = format!("br{l3}");
    set!(
        o,
        "interfaces",
        "bridge",
        br,
        "member",
        "interface",
        format!("vxlan{l3}")
    );
    set!(o, "interfaces", "bridge", br, "vrf", vrf);
    set!(o, "interfaces", "bridge", br, "mtu", t.mtu);
    set!(
        o,
        "interfaces",
        "bridge",
        br,
        "description",
        format!("{desc} L3")
    );

    let mut members = vec![br.clone()];
    for s in &t.segments {
        vxlan(&mut o, s.vni, r, t.mtu, &s.remotes, false);
        let br = format!("br{}", s.vni);
        let plen = s.cidr.prefix_len();
        set!(
            o,
            "interfaces",
            "bridge",
            br,
            "member",
            "interface",
            format!("vxlan{}", s.vni)
        );
        set!(
            o,
            "interfaces",
            "bridge",
            br,
            "address",
            format!("{}/{plen}", s.address)
        );
        set!(o, "interfaces", "bridge", br, "vrf", vrf);
        set!(o, "interfaces", "bridge", br, "mtu", t.mtu);
        set!(
            o,
            "interfaces",
            "bridge",
            br,
            "description",
            format!("{desc} network {}", s.network)
        );
        let g = ["high-availability", "vrrp", "group", s.vrrp_group.as_str()];
        let gp = |o: &mut Out, tail: &[&str]| o.words(g.iter().chain(tail));
        gp(&mut o, &["interface", &br]);
        gp(&mut o, &["vrid", &s.vrid.to_string()]);
        gp(
            &mut o,
            &["address", &format!("{}/{plen}", s.virtual_address)],
        );
        gp(&mut o, &["priority", &s.priority.to_string()]);
        // A router cut off from the underlay gives the gateway up at once
        // (FAULT), and back, waits before taking it from its peer again, so
        // that BGP has brought the other sites' routes back first.
        gp(&mut o, &["track", "interface", &r.underlay_interface]);
        gp(
            &mut o,
            &["preempt-delay", &VRRP_PREEMPT_DELAY_SECS.to_string()],
        );
        members.push(br);
    }
    for c in &t.clients {
        let w = c.ifname.as_str();
        if let Some(a) = c.address {
            set!(o, "interfaces", "wireguard", w, "address", a);
        }
        set!(
            o,
            "interfaces",
            "wireguard",
            w,
            "description",
            format!("{desc} clients")
        );
        set!(o, "interfaces", "wireguard", w, "port", c.port);
        set!(o, "interfaces", "wireguard", w, "mtu", r.wg_mtu);
        set!(
            o,
            "interfaces",
            "wireguard",
            w,
            "private-key",
            c.private_key
        );
        set!(o, "interfaces", "wireguard", w, "vrf", vrf);
        for p in &c.peers {
            wg_peer(&mut o, w, p);
        }
        // The next key epoch's clients while the current one holds the
        // subnet (`model::ModelBuilder::client_interfaces`).
        for route in &c.routes {
            set!(
                o,
                "vrf",
                "name",
                vrf,
                "protocols",
                "static",
                "route",
                route,
                "interface",
                w
            );
        }
        members.push(w.to_string());
    }
    firewall(&mut o, t, &members);
    o.done()
}

fn vxlan(
    o: &mut Out,
    vni: u32,
    r: &RouterModel,
    mtu: u16,
    remotes: &[std::net::Ipv4Addr],
    l3: bool,
) {
    let name = format!("vxlan{vni}");
    set!(o, "interfaces", "vxlan", name, "vni", vni);
    set!(
        o,
        "interfaces",
        "vxlan",
        name,
        "source-address",
        r.mesh_address
    );
    set!(o, "interfaces", "vxlan", name, "mtu", mtu);
    if l3 {
        // Only EVPN-learnt VTEPs: no data-plane learning on the L3 VNI.
        set!(o, "interfaces", "vxlan", name, "parameters", "nolearning");
    }
    for a in remotes {
        set!(o, "interfaces", "vxlan", name, "remote", a);
    }
}

/// Chain name of a tenant's policy.
pub fn chain_name(slug: &str) -> String {
    format!("VXG-{slug}")
}

fn firewall(o: &mut Out, t: &TenantOnRouter, members: &[String]) {
    let slug = t.slug.as_str();
    let chain = chain_name(slug);
    let grp = ["firewall", "group"];
    let g = |o: &mut Out, kind: &str, name: &str, key: &str, v: &str| {
        o.words(grp.iter().chain(&[kind, name, key, v]))
    };
    for m in members {
        g(o, "interface-group", &chain, "interface", m);
    }
    let internal = format!("{chain}-INT");
    for n in &t.policy.internal {
        g(o, "network-group", &internal, "network", &n.to_string());
    }
    let networks = format!("{chain}-NET");
    for n in &t.policy.networks {
        g(o, "network-group", &networks, "network", &n.to_string());
    }
    let mut groups_done = std::collections::BTreeSet::new();
    for r in &t.policy.rules {
        for m in [&r.source, &r.destination] {
            if let Match::Set { group, prefixes } = m {
                if groups_done.insert(group.clone()) {
                    for p in prefixes {
                        g(o, "network-group", group, "network", &p.to_string());
                    }
                }
            }
        }
    }
    render_chain(o, &chain, &internal, &networks, &t.policy);
    // Traffic delivered into any of the tenant's interfaces passes its chain.
    let fwd = t.id.to_string();
    set!(o, "firewall", "ipv4", "forward", "filter", "rule", fwd, "action", "jump");
    set!(
        o,
        "firewall",
        "ipv4",
        "forward",
        "filter",
        "rule",
        fwd,
        "jump-target",
        chain
    );
    set!(
        o,
        "firewall",
        "ipv4",
        "forward",
        "filter",
        "rule",
        fwd,
        "outbound-interface",
        "group",
        chain
    );
    set!(
        o,
        "firewall",
        "ipv4",
        "forward",
        "filter",
        "rule",
        fwd,
        "description",
        format!("vxguard tenant {slug}")
    );
}

/// A tenant's chain. Traffic between the tenant's networks, or between
/// them and its remote-access clients, is accepted before the state
/// checks (rules 2 and 3) and judged by the hypervisors instead: a
/// tenant's networks at one site may have their VRRP primaries on
/// different routers, and a client's tunnel ends on one router while
/// the network it reaches has its gateway on another, so the two
/// directions of one connection cross different routers and neither sees
/// it whole: its conntrack calls the reply `invalid`, and a real VyOS
/// drops it as the lab did. The hypervisor's OVS flows sit on the one
/// path both directions share (the VM's port) and check the same
/// compiled policy with conntrack, where the packet enters the switch
/// from the VM or from a tenant's tunnel. The tenant's own endpoints
/// cannot forge an internal source (anti-spoofing per port, WireGuard's
/// allowed-ips per client); a forged one from elsewhere still meets that
/// policy and conntrack at the VM's switch. Client-to-client and external
/// traffic stay the routers' to judge.
fn render_chain(o: &mut Out, chain: &str, internal: &str, networks: &str, p: &CompiledPolicy) {
    let base = ["firewall", "ipv4", "name", chain];
    let at = |o: &mut Out, tail: &[&str]| o.words(base.iter().chain(tail));
    at(o, &["default-action", p.default_action.as_str()]);
    at(o, &["description", "vxguard tenant policy"]);
    // Established and related first: replies are never judged by the policy.
    at(o, &["rule", "1", "action", "accept"]);
    at(o, &["rule", "1", "state", "established"]);
    at(o, &["rule", "1", "state", "related"]);
    if !p.networks.is_empty() {
        for (n, from, to) in [("2", internal, networks), ("3", networks, internal)] {
            at(o, &["rule", n, "action", "accept"]);
            at(
                o,
                &[
                    "rule",
                    n,
                    "description",
                    "tenant-internal: judged by the hypervisors",
                ],
            );
            at(o, &["rule", n, "source", "group", "network-group", from]);
            at(o, &["rule", n, "destination", "group", "network-group", to]);
        }
    }
    at(o, &["rule", "4", "action", "drop"]);
    at(o, &["rule", "4", "state", "invalid"]);
    let not_internal = format!("!{internal}");
    for r in &p.rules {
        let n = r.number.to_string();
        let head = ["rule", n.as_str()];
        let rule = |o: &mut Out, tail: &[&str]| o.words(base.iter().chain(&head).chain(tail));
        rule(o, &["action", r.action.as_str()]);
        let desc = match &r.description {
            Some(d) => format!("policy rule {}: {d}", r.id),
            None => format!("policy rule {}", r.id),
        };
        rule(o, &["description", &desc]);
        match r.protocol {
            Protocol::Tcp => rule(o, &["protocol", "tcp"]),
            Protocol::Udp => rule(o, &["protocol", "udp"]),
            Protocol::Icmp => rule(o, &["protocol", "icmp"]),
            Protocol::Any => {}
        }
        if !r.ports.is_empty() {
            rule(o, &["destination", "port", &ports(&r.ports)]);
        }
        for (side, m) in [("source", &r.source), ("destination", &r.destination)] {
            match m {
                Match::Any => {}
                Match::Cidr(c) => rule(o, &[side, "address", &c.to_string()]),
                Match::Set { group, .. } => rule(o, &[side, "group", "network-group", group]),
                Match::External => rule(o, &[side, "group", "network-group", &not_internal]),
            }
        }
        if r.action == Action::Reject && r.protocol == Protocol::Tcp {
            // VyOS rejects with ICMP by default; a TCP reset is what clients expect.
        }
    }
}

/// `443`, `8000-8080` or `22,443,8000-8080`, as VyOS's `port-multi` takes them.
pub fn ports(p: &[PortRange]) -> String {
    p.iter()
        .map(|r| {
            if r.0 == r.1 {
                r.0.to_string()
            } else {
                format!("{}-{}", r.0, r.1)
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
