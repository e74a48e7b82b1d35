//! Rendering a hypervisor model as OpenFlow 1.3 flows for `ovs-ofctl -O OpenFlow13`.
//!
//! How tenant traffic reaches the gateway routers, encrypted on every wire:
//! the hypervisor is a WireGuard peer of its site's routers, and its VTEP
//! address is its WireGuard address. Tenant frames leave the integration
//! bridge only through the flow-based VXLAN port `vxg-tun`, addressed to
//! the other VTEPs of the network (its gateway routers in every site and the
//! other hypervisors hosting it). Every VTEP is a WireGuard peer of every
//! other (a full mesh, each peer holding its own VTEP address alone), and the
//! hypervisor routes each VTEP address only into its WireGuard interface. So
//! a VXLAN packet is encrypted before it touches a link between two
//! machines, even when a router VM runs on another hypervisor (when it runs
//! on this one, the packet never leaves the machine), and no VTEP depends on
//! a third one to reach another: losing one router costs only what went
//! through that router. Replication of broadcast and unknown frames is head-end, from
//! the sender to every other VTEP of the network, so no VTEP re-floods
//! (Linux VXLAN split horizon on the routers, `reg4` below on hypervisors).
//!
//! Tables: 0 classifies (port or VNI to tenant metadata, anti-spoofing,
//! meters); 10 sends IPv4 through conntrack in the tenant's zone; 11 is the
//! tenant policy (established/related first, rules in order, default last);
//! 20 forwards by flooding to the network's group. Policy is tenant-wide, so
//! checking it where a packet enters the switch (from a VM or a tunnel) is
//! the same decision the routers make. `reject` is enforced as drop here:
//! OpenFlow has no reject.

use crate::intent::{Action, Protocol};
use crate::model::{HvNetwork, HypervisorModel};
use crate::policy::{Match, PortRange};
use ipnet::Ipv4Net;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// The tunnel port every flow uses; created by the driver with
/// `ovs-vsctl add-port BR vxg-tun -- set interface vxg-tun type=vxlan options:remote_ip=flow options:key=flow options:local_ip=VTEP`.
pub const TUNNEL_PORT: &str = "vxg-tun";

/// Names `ovs-ofctl` reads as OpenFlow's reserved ports rather than as a
/// port of the bridge (OVS's `OFPUTIL_NAMED_PORTS`, compared without case
/// by `ofputil_port_from_string`): a tenant port named `NORMAL` would put
/// the switch's own forwarding into that tenant's flows.
pub const RESERVED_PORT_NAMES: [&str; 9] = [
    "IN_PORT",
    "TABLE",
    "NORMAL",
    "FLOOD",
    "ALL",
    "CONTROLLER",
    "LOCAL",
    "ANY",
    "NONE",
];

/// Ports vxguard itself puts on a bridge start with this (compared without
/// case), so no tenant port can name the tunnel or a later platform port.
pub const PLATFORM_PORT_PREFIX: &str = "vxg";

/// Why `name` cannot be a tenant's port on a hypervisor whose integration
/// bridge is `bridge`, or `None` when it can. Port names go into flows as
/// they are (`in_port=NAME`, `output:NAME`), so a name must denote one
/// ordinary port of the bridge and nothing else: a Linux interface name
/// (1-15 of `[A-Za-z0-9._-]`) starting with a letter (`ovs-ofctl` reads
/// digits as a port number), not a reserved port, not the platform's and
/// not the bridge's own internal port (which bears the bridge's name).
pub fn port_name_problem(name: &str, bridge: &str) -> Option<String> {
    let shown: String = name.escape_debug().collect();
    if name.is_empty()
        || name.len() > 15
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Some(format!(
            "“{shown}” is not a valid OVS interface name; use 1-15 letters, digits, “.”, “_” or “-”"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some(format!(
            "“{name}” must start with a letter (OpenFlow tools read a leading digit or “-” as a port number); rename the port"
        ));
    }
    if let Some(r) = RESERVED_PORT_NAMES
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
    {
        return Some(format!(
            "“{name}” is OpenFlow's reserved port {r}; choose another name"
        ));
    }
    if name
        .get(..PLATFORM_PORT_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PLATFORM_PORT_PREFIX))
    {
        return Some(format!(
            "“{name}” is reserved for the platform's own ports (names starting with “{PLATFORM_PORT_PREFIX}”); choose another name"
        ));
    }
    if name == bridge {
        return Some(format!(
            "“{name}” is the integration bridge's own port; choose another name"
        ));
    }
    None
}

/// Files for one hypervisor: flows, groups and meters (one `ovs-ofctl` line
/// each), and its WireGuard interface (`wg setconf` text, from
/// [`crate::wireguard`]: it does not depend on tenants, so a one-tenant
/// change keeps it as it is). [`crate::hypervisor_config`] makes them one text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OvsConfig {
    /// The integration bridge and the VTEP (tunnel source) address.
    pub bridge: String,
    pub vtep: Ipv4Addr,
    pub flows: String,
    pub groups: String,
    pub meters: String,
    pub wireguard: String,
    /// Where each tenant's lines are, in the order rendered: a one-tenant
    /// change re-renders that tenant's lines alone and splices them in.
    pub tenants: Vec<TenantSpan>,
}

impl Default for OvsConfig {
    fn default() -> Self {
        OvsConfig {
            bridge: String::new(),
            vtep: Ipv4Addr::UNSPECIFIED,
            flows: String::new(),
            groups: String::new(),
            meters: String::new(),
            wireguard: String::new(),
            tenants: Vec::new(),
        }
    }
}

/// One tenant's lines in an [`OvsConfig`] (byte ranges of each text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSpan {
    pub tenant: String,
    pub flows: std::ops::Range<usize>,
    pub groups: std::ops::Range<usize>,
    pub meters: std::ops::Range<usize>,
    /// Meter ids are dense per hypervisor (OVS's userspace datapath caps
    /// them): this tenant's are `first_meter..first_meter + meter_count`.
    pub first_meter: usize,
    pub meter_count: usize,
}

/// The flows, groups and meters of one hypervisor (`wireguard` is left
/// empty: see [`crate::wireguard::render`]).
pub fn render(h: &HypervisorModel) -> OvsConfig {
    let mut out = OvsConfig {
        bridge: h.bridge.clone(),
        vtep: h.vtep,
        ..OvsConfig::default()
    };
    let f = &mut out.flows;
    let _ = writeln!(
        f,
        "# vxguard flows for hypervisor {} (site {}), bridge {}, VTEP {}",
        h.name, h.site, h.bridge, h.vtep
    );
    let _ = writeln!(
        f,
        "# load: ovs-ofctl -O OpenFlow13 --bundle replace-flows {} FILE",
        h.bridge
    );
    let _ = writeln!(f, "# tunnel port: ovs-vsctl add-port {} {TUNNEL_PORT} -- set interface {TUNNEL_PORT} type=vxlan options:remote_ip=flow options:key=flow options:local_ip={}", h.bridge, h.vtep);
    let _ = writeln!(f, "table=0,priority=0,actions=drop");
    let _ = writeln!(f, "table=20,priority=0,actions=drop");
    let _ = writeln!(f, "table=10,priority=0,actions=goto_table:20");
    // A tenant's networks are consecutive (the model lists them tenant by tenant).
    let mut next_meter = 1;
    for run in h.networks.chunk_by(|a, b| a.tenant_id == b.tenant_id) {
        let span = render_tenant(&mut out, run, next_meter);
        next_meter += span.meter_count;
        out.tenants.push(span);
    }
    out.flows.shrink_to_fit();
    out.groups.shrink_to_fit();
    out.meters.shrink_to_fit();
    out.tenants.shrink_to_fit();
    out
}

/// Appends one tenant's lines (its networks on this hypervisor, meters
/// numbered from `first_meter`) and says where they went.
fn render_tenant(out: &mut OvsConfig, networks: &[HvNetwork], first_meter: usize) -> TenantSpan {
    let starts = (out.flows.len(), out.groups.len(), out.meters.len());
    let mut meter_count = 0;
    for (i, n) in networks.iter().enumerate() {
        let meter = n.rate_limit_pps.map(|pps| {
            let id = first_meter + meter_count;
            meter_count += 1;
            let burst = (pps / 10).max(1);
            let _ = writeln!(
                out.meters,
                "meter={id},pktps,burst,stats,bands=type=drop,rate={pps},burst_size={burst}"
            );
            id
        });
        classify(&mut out.flows, n, meter);
        forward(&mut out.flows, &mut out.groups, n);
        if i == 0 {
            policy(&mut out.flows, n);
        }
    }
    TenantSpan {
        tenant: networks
            .first()
            .map(|n| n.tenant.clone())
            .unwrap_or_default(),
        flows: starts.0..out.flows.len(),
        groups: starts.1..out.groups.len(),
        meters: starts.2..out.meters.len(),
        first_meter,
        meter_count,
    }
}

/// What a one-tenant re-render replaced in an [`OvsConfig`]: the tenant's
/// span before, and its old lines of each text (flows, groups, meters).
/// [`put_back`] undoes the re-render; [`Replaced::pieces`] says where the
/// texts differ, so no one needs a copy of the whole configuration (about
/// 3 MB per hypervisor at the benchmark platform) to diff or undo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaced {
    index: usize,
    span: TenantSpan,
    old: [String; 3],
}

impl Replaced {
    /// Per text (flows, groups, meters): the range the tenant's lines take
    /// now, and the lines they replaced.
    pub fn pieces<'a>(&'a self, cfg: &OvsConfig) -> [(std::ops::Range<usize>, &'a str); 3] {
        let now = &cfg.tenants[self.index];
        [
            (now.flows.clone(), self.old[0].as_str()),
            (now.groups.clone(), self.old[1].as_str()),
            (now.meters.clone(), self.old[2].as_str()),
        ]
    }
}

/// Replaces one tenant's lines with its `networks` now, when that leaves every
/// other tenant's lines as a full render would (same meter count, tenant
/// already there, still there); `None` means "render the hypervisor again"
/// (`cfg` is then unchanged).
pub fn rerender_tenant(
    cfg: &mut OvsConfig,
    tenant: &str,
    networks: &[HvNetwork],
) -> Option<Replaced> {
    let i = cfg.tenants.iter().position(|s| s.tenant == tenant)?;
    let old = &cfg.tenants[i];
    let meters = networks
        .iter()
        .filter(|n| n.rate_limit_pps.is_some())
        .count();
    if networks.is_empty() || meters != old.meter_count {
        return None;
    }
    let mut piece = OvsConfig::default();
    let span = render_tenant(&mut piece, networks, old.first_meter);
    Some(replace_span(
        cfg,
        i,
        span,
        [piece.flows, piece.groups, piece.meters],
    ))
}

/// Undoes [`rerender_tenant`] (nothing else may have changed `cfg` since).
pub fn put_back(cfg: &mut OvsConfig, r: Replaced) {
    replace_span(cfg, r.index, r.span, r.old);
}

/// Puts `new` (flows, groups, meters) where tenant `i`'s lines are, its
/// span becoming `span` (ranges counted from where its lines start), and
/// moves the later tenants' spans; gives back what it replaced.
fn replace_span(cfg: &mut OvsConfig, i: usize, span: TenantSpan, new: [String; 3]) -> Replaced {
    let was = cfg.tenants[i].clone();
    let splice = |text: &mut String, range: &std::ops::Range<usize>, new: &str| {
        let old = text[range.clone()].to_string();
        text.replace_range(range.clone(), new);
        (old, new.len() as isize - range.len() as isize)
    };
    let (f, df) = splice(&mut cfg.flows, &was.flows, &new[0]);
    let (g, dg) = splice(&mut cfg.groups, &was.groups, &new[1]);
    let (m, dm) = splice(&mut cfg.meters, &was.meters, &new[2]);
    let at = |start: usize, text: &str| start..start + text.len();
    cfg.tenants[i] = TenantSpan {
        flows: at(was.flows.start, &new[0]),
        groups: at(was.groups.start, &new[1]),
        meters: at(was.meters.start, &new[2]),
        ..span
    };
    let shift = |r: &std::ops::Range<usize>, d: isize| {
        (r.start as isize + d) as usize..(r.end as isize + d) as usize
    };
    for s in &mut cfg.tenants[i + 1..] {
        s.flows = shift(&s.flows, df);
        s.groups = shift(&s.groups, dg);
        s.meters = shift(&s.meters, dm);
    }
    Replaced {
        index: i,
        span: was,
        old: [f, g, m],
    }
}

fn classify(f: &mut String, n: &HvNetwork, meter: Option<usize>) {
    let (id, vni) = (n.tenant_id, n.vni);
    let m = meter.map(|m| format!("meter:{m},")).unwrap_or_default();
    let tag = format!("set_field:{id}->metadata,set_field:{vni}->reg6,set_field:0->reg4");
    for (port, addr) in &n.ports {
        let _ = writeln!(f, "# tenant {} network {} port {port}", n.tenant, n.network);
        match addr {
            Some(a) => {
                // Anti-spoofing: the VM may only send from its own address.
                let _ = writeln!(f, "table=0,priority=110,in_port={port},ip,nw_src={a},actions={m}{tag},goto_table:10");
                let _ = writeln!(f, "table=0,priority=110,in_port={port},arp,arp_spa={a},actions={m}{tag},goto_table:20");
                let _ = writeln!(f, "table=0,priority=105,in_port={port},ip,actions=drop");
                let _ = writeln!(f, "table=0,priority=105,in_port={port},arp,actions=drop");
            }
            None => {
                let _ = writeln!(
                    f,
                    "table=0,priority=110,in_port={port},ip,actions={m}{tag},goto_table:10"
                );
            }
        }
        let _ = writeln!(
            f,
            "table=0,priority=100,in_port={port},actions={m}{tag},goto_table:20"
        );
    }
    let _ = writeln!(f, "table=0,priority=100,in_port={TUNNEL_PORT},tun_id={vni},ip,actions=set_field:{id}->metadata,set_field:{vni}->reg6,set_field:1->reg4,goto_table:10");
    let _ = writeln!(f, "table=0,priority=90,in_port={TUNNEL_PORT},tun_id={vni},actions=set_field:{id}->metadata,set_field:{vni}->reg6,set_field:1->reg4,goto_table:20");
}

fn forward(f: &mut String, groups: &mut String, n: &HvNetwork) {
    let vni = n.vni;
    // Two groups per network: from a VM (local ports and every remote VTEP),
    // from a tunnel (local ports only: split horizon).
    let (g_all, g_local) = (2 * vni, 2 * vni + 1);
    let locals: Vec<String> = n
        .ports
        .iter()
        .map(|(p, _)| format!("bucket=actions=output:{p}"))
        .collect();
    let tunnels: Vec<String> = n
        .remotes
        .iter()
        .map(|r| format!("bucket=actions=set_field:{vni}->tun_id,set_field:{r}->tun_dst,output:{TUNNEL_PORT}"))
        .collect();
    let all: Vec<String> = locals.iter().chain(tunnels.iter()).cloned().collect();
    let _ = writeln!(groups, "group_id={g_all},type=all,{}", all.join(","));
    let _ = writeln!(groups, "group_id={g_local},type=all,{}", locals.join(","));
    let _ = writeln!(
        f,
        "table=20,priority=10,reg4=0,reg6={vni},actions=group:{g_all}"
    );
    let _ = writeln!(
        f,
        "table=20,priority=10,reg4=1,reg6={vni},actions=group:{g_local}"
    );
}

fn policy(f: &mut String, n: &HvNetwork) {
    let id = n.tenant_id;
    let zone = id & 0xffff;
    let p = &n.policy;
    let _ = writeln!(f, "# tenant {} policy", n.tenant);
    // reg5=1 marks a source inside the tenant's own prefixes (not `external`).
    for net in &p.internal {
        let _ = writeln!(f, "table=10,priority=100,ip,metadata={id},nw_src={net},actions=set_field:1->reg5,ct(table=11,zone={zone})");
    }
    let _ = writeln!(
        f,
        "table=10,priority=90,ip,metadata={id},actions=set_field:0->reg5,ct(table=11,zone={zone})"
    );
    let _ = writeln!(
        f,
        "table=11,priority=1000,ct_state=+est+trk,metadata={id},actions=goto_table:20"
    );
    let _ = writeln!(
        f,
        "table=11,priority=1000,ct_state=+rel+trk,metadata={id},actions=goto_table:20"
    );
    let _ = writeln!(
        f,
        "table=11,priority=1000,ct_state=+inv+trk,metadata={id},actions=drop"
    );
    let n_rules = p.rules.len() as u32;
    for (i, r) in p.rules.iter().enumerate() {
        let prio = 900 - (i as u32).min(800);
        let action = verdict(r.action, zone);
        let proto = match r.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Any => "ip",
        };
        let srcs = side(&r.source, "nw_src");
        let dsts = side(&r.destination, "nw_dst");
        let ports: Vec<String> = if r.ports.is_empty() {
            vec![String::new()]
        } else {
            r.ports
                .iter()
                .flat_map(|pr| port_masks(*pr))
                .map(|m| format!(",tp_dst={m}"))
                .collect()
        };
        let _ = writeln!(f, "# rule {} ({})", r.id, r.action.as_str());
        for s in &srcs {
            for d in &dsts {
                for pm in &ports {
                    let _ = writeln!(f, "table=11,priority={prio},ct_state=+new+trk,{proto},metadata={id}{s}{d}{pm},actions={action}");
                }
            }
        }
    }
    let _ = n_rules;
    let _ = writeln!(
        f,
        "table=11,priority=1,ct_state=+new+trk,ip,metadata={id},actions={}",
        verdict(p.default_action, zone)
    );
    let _ = writeln!(f, "table=11,priority=0,metadata={id},actions=drop");
}

fn verdict(a: Action, zone: u32) -> String {
    match a {
        Action::Accept => format!("ct(commit,zone={zone}),goto_table:20"),
        Action::Drop | Action::Reject => "drop".into(),
    }
}

/// Match fragments (leading comma) for one side of a rule; one per prefix.
fn side(m: &Match, field: &str) -> Vec<String> {
    match m {
        Match::Any => vec![String::new()],
        Match::Cidr(c) => vec![format!(",{field}={}", net(c))],
        Match::Set { prefixes, .. } => prefixes
            .iter()
            .map(|c| format!(",{field}={}", net(c)))
            .collect(),
        Match::External => vec![",reg5=0".to_string()],
    }
}

fn net(c: &Ipv4Net) -> String {
    if c.prefix_len() == 32 {
        c.addr().to_string()
    } else {
        c.trunc().to_string()
    }
}

/// A port range as value/mask pairs OpenFlow can match.
pub fn port_masks(r: PortRange) -> Vec<String> {
    if r.0 == r.1 {
        return vec![r.0.to_string()];
    }
    let mut out = Vec::new();
    let (mut lo, hi) = (r.0 as u32, r.1 as u32);
    while lo <= hi {
        let mut size = if lo == 0 {
            1 << 16
        } else {
            lo & lo.wrapping_neg()
        };
        while lo + size - 1 > hi {
            size >>= 1;
        }
        let mask = 0xffffu32 & !(size - 1);
        out.push(if size == 1 {
            lo.to_string()
        } else {
            format!("0x{lo:04x}/0x{mask:04x}")
        });
        lo += size;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_names_that_could_reach_beyond_one_port_are_refused() {
        use super::port_name_problem as p;
        for ok in ["fin-web1", "tap0a1b2c3d-4e", "vnet0", "eth.100", "a"] {
            assert_eq!(p(ok, "br-int"), None, "{ok}");
        }
        for bad in [
            "",
            "NORMAL",
            "local",
            "In_Port",
            "any",
            "none",
            "table",
            "controller",
            "flood",
            "all",
            "vxg-tun",
            "VXG-x",
            "vxgfoo",
            "br-int",
            "123",
            "0x1f",
            "-x",
            ".x",
            "a b",
            "a,b",
            "a\u{0}",
            "sixteen-chars-xx",
            "eth0\n",
        ] {
            assert!(p(bad, "br-int").is_some(), "{bad:?} accepted");
        }
    }

    use super::*;

    #[test]
    fn port_ranges_decompose_into_masks() {
        assert_eq!(port_masks(PortRange(443, 443)), vec!["443"]);
        assert_eq!(port_masks(PortRange(8000, 8007)), vec!["0x1f40/0xfff8"]);
        let m = port_masks(PortRange(1000, 1025));
        // 1000-1023 (8+16) and 1024-1025
        assert_eq!(m, vec!["0x03e8/0xfff8", "0x03f0/0xfff0", "0x0400/0xfffe"]);
        // Every port of a range is covered exactly once.
        for (a, b) in [(1u16, 65535u16), (22, 80), (5000, 5001)] {
            let masks = port_masks(PortRange(a, b));
            for p in [a, b, a + (b - a) / 2] {
                let hits = masks
                    .iter()
                    .filter(|m| match m.split_once('/') {
                        Some((v, k)) => {
                            let v = u16::from_str_radix(&v[2..], 16).unwrap();
                            let k = u16::from_str_radix(&k[2..], 16).unwrap();
                            p & k == v
                        }
                        None => m.parse::<u16>().unwrap() == p,
                    })
                    .count();
                assert_eq!(hits, 1, "port {p} in {a}-{b}: {masks:?}");
            }
        }
    }
}
