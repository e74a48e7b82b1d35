//! The plan's data: what must exist on the host for one router, as plain
//! values. In a module of its own so that the plan's builder ([`super::plan`]),
//! the renderers ([`super::frr`], [`super::vrrp`], [`super::firewall`]) and
//! [`super::apply`] all share it without importing each other (no import
//! cycle: `scripts/check-cycles`).

/// Longest Linux interface name (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// Where a link lives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// The router's own namespace (VyOS's default VRF).
    Router,
    /// The namespace standing for VRF `vrf`.
    Vrf(String),
}

/// A tenant VRF, realised as its own network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrfNs {
    pub vrf: String,
    /// `<router namespace>-<vrf>`.
    pub netns: String,
    /// `vrf name T table N`: kept for the record; a namespace has its own
    /// main table, so N is not used on the host.
    pub table: Option<u32>,
    /// `vrf name T vni N`: the L3 VNI (used by FRR, not by the links).
    pub vni: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgPeer {
    /// The peer's tag value in the configuration.
    pub name: String,
    pub public_key: String,
    /// `address:port` (`[v6]:port`), when the peer has both.
    pub endpoint: Option<String>,
    pub allowed_ips: Vec<String>,
    pub keepalive: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgIf {
    /// The VyOS name (`wg0`).
    pub vyos: String,
    /// The host-unique Linux name (`<id>wg0`): wireguard-go's control
    /// socket `/var/run/wireguard/<dev>.sock` is not per namespace.
    pub dev: String,
    pub place: Place,
    pub description: Option<String>,
    pub addresses: Vec<String>,
    pub mtu: u32,
    pub private_key: String,
    pub port: Option<u16>,
    pub peers: Vec<WgPeer>,
    /// The whole `peer` subtree as `path value` lines (nodes the lab does
    /// not realise included): VyOS rebuilds the interface when any of it
    /// changes, see [`WgIf::rebuilt_by`].
    pub peer_config: Vec<String>,
}

impl WgIf {
    /// Whether going from `self` to `new` deletes and creates the
    /// interface again, dropping its address, every session over it and
    /// every peer's handshake. VyOS 1.4 and 1.5 do so when anything under
    /// `peer` changes (`conf_mode/interfaces_wireguard.py`, T4702:
    /// `is_node_changed(conf, base + [ifname, 'peer'])` sets
    /// `rebuild_required`, and `apply` calls `wg.remove()` before
    /// `update`); the key, port, addresses, MTU and description change in
    /// place. The lab adds one case of its own: a move to another VRF,
    /// which is another namespace here (VyOS re-enslaves the interface).
    pub fn rebuilt_by(&self, new: &WgIf) -> bool {
        self.dev != new.dev || self.place != new.place || self.peer_config != new.peer_config
    }

    /// The settings in `wg setconf` format (holds the private key: write
    /// it only to a file readable by root alone).
    pub fn wg_conf(&self) -> String {
        let mut s = format!("[Interface]\nPrivateKey = {}\n", self.private_key);
        if let Some(p) = self.port {
            s.push_str(&format!("ListenPort = {p}\n"));
        }
        for p in &self.peers {
            s.push_str(&format!("\n[Peer]\nPublicKey = {}\n", p.public_key));
            if !p.allowed_ips.is_empty() {
                s.push_str(&format!("AllowedIPs = {}\n", p.allowed_ips.join(", ")));
            }
            if let Some(e) = &p.endpoint {
                s.push_str(&format!("Endpoint = {e}\n"));
            }
            if let Some(k) = p.keepalive {
                s.push_str(&format!("PersistentKeepalive = {k}\n"));
            }
        }
        s
    }
}

/// `interfaces dummy`: a link of its own holding addresses (vxguard's
/// VTEP, `dum0`). VyOS changes its addresses and description in place
/// (`conf_mode/interfaces_dummy.py` has no rebuild).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DummyIf {
    pub vyos: String,
    pub dev: String,
    pub description: Option<String>,
    pub addresses: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VxlanIf {
    pub vyos: String,
    pub dev: String,
    /// Where the link ends up: a VRF's L3 VNI is created in the router
    /// namespace (its underlay socket stays there) and moved into the
    /// VRF's namespace, where FRR finds it with the VRF's SVI.
    pub place: Place,
    pub description: Option<String>,
    pub vni: u32,
    pub port: u16,
    pub source_address: Option<String>,
    /// In configuration order: the first goes into the link, the others
    /// become flood entries.
    pub remotes: Vec<String>,
    pub nolearning: bool,
    pub mtu: u32,
}

impl VxlanIf {
    /// Whether going from `self` to `new` deletes and creates the link
    /// again, leaving its bridge without the port meanwhile. VyOS 1.4 and
    /// 1.5 do so when `parameters`, `gpe`, `group`, `port`, `remote`,
    /// `source-address`, `source-interface` or `vni` changes
    /// (`conf_mode/interfaces_vxlan.py`, `get_config`: "VXLAN interfaces
    /// are picky and require recreation"); the MTU and description change
    /// in place. Of those, vxguard generates `parameters nolearning`,
    /// `remote`, `source-address` and `vni` (and the default port). The
    /// lab's own case: an L3 VNI's VXLAN moving namespace.
    pub fn rebuilt_by(&self, new: &VxlanIf) -> bool {
        self.dev != new.dev
            || self.place != new.place
            || self.vni != new.vni
            || self.port != new.port
            || self.source_address != new.source_address
            || self.remotes != new.remotes
            || self.nolearning != new.nolearning
    }
}

/// The layer-3 side of a bridge that is in a VRF: a veth pair, one end a
/// port of the bridge (router namespace), the other in the VRF's
/// namespace carrying the bridge's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L3Port {
    pub vrf: String,
    pub netns: String,
    /// The end enslaved to the bridge, in the router namespace.
    pub port: String,
    /// The end in the VRF namespace: the VyOS interface as layer 3 sees it.
    pub dev: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeIf {
    pub vyos: String,
    pub dev: String,
    /// Where the bridge itself lives: the router namespace, or for the
    /// bridge of a VRF's L3 VNI (the SVI of symmetric IRB) the VRF's
    /// namespace, with its VXLAN member and addresses.
    pub place: Place,
    pub description: Option<String>,
    /// Linux names of the member interfaces.
    pub members: Vec<String>,
    pub mtu: u32,
    pub addresses: Vec<String>,
    /// Set when the bridge is in a VRF: the addresses go on this port's
    /// VRF-side end instead of the bridge.
    pub l3: Option<L3Port>,
    /// A fixed MAC for an L3 VNI's bridge (lab only): it is the router
    /// MAC of the type-5 routes, so a bridge built again (a lab router
    /// restarted without its record) keeps it, and the other routers'
    /// FRR need not replace their next hop (FRR 8.4 was seen to lose it).
    pub mac: Option<String>,
}

impl BridgeIf {
    /// Whether going from `self` to `new` deletes and creates the bridge.
    /// VyOS never does for a change (`conf_mode/interfaces_bridge.py`:
    /// `br.update(bridge)`, members added and removed in place, a rebuilt
    /// VXLAN member put back by its own `update`); the lab does when the
    /// bridge's VRF changes (its layer-3 end is in the VRF's namespace) or
    /// it becomes or stops being an L3 VNI's SVI (another namespace).
    pub fn rebuilt_by(&self, new: &BridgeIf) -> bool {
        self.dev != new.dev || self.place != new.place || self.l3 != new.l3 || self.mac != new.mac
    }
}

/// Everything the host must hold for one router's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The router's namespace (made by the lab, not by the plan).
    pub router_ns: String,
    pub vrfs: Vec<VrfNs>,
    pub dummies: Vec<DummyIf>,
    pub wireguard: Vec<WgIf>,
    pub vxlans: Vec<VxlanIf>,
    pub bridges: Vec<BridgeIf>,
    /// keepalived per namespace holding VRRP groups.
    pub keepalived: Vec<Keepalived>,
    /// The nftables ruleset for `firewall ipv4`, loaded into the router's
    /// namespace and every VRF namespace.
    pub firewall: Option<String>,
    /// frr.conf for the router namespace (`protocols bgp`, `protocols
    /// static`), if any.
    pub frr: Option<String>,
    /// Configuration paths present but not realised by this plan (shown
    /// to the operator; never silently dropped).
    pub not_realised: Vec<String>,
}

impl Plan {
    pub fn vrf(&self, name: &str) -> Option<&VrfNs> {
        self.vrfs.iter().find(|v| v.vrf == name)
    }

    /// The namespace of a place.
    pub fn netns_of(&self, place: &Place) -> String {
        match place {
            Place::Router => self.router_ns.clone(),
            Place::Vrf(v) => vrf_netns(&self.router_ns, v),
        }
    }
}

/// Why a configuration cannot be realised.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("router id {0:?}: expected 1-3 lowercase letters or digits")]
    BadId(String),
    #[error("{path}: Linux interface name {name:?} is longer than 15 characters")]
    NameTooLong { path: String, name: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// The namespace standing for VRF `vrf` of the router in `router_ns`.
pub fn vrf_netns(router_ns: &str, vrf: &str) -> String {
    format!("{router_ns}-{vrf}")
}

/// One keepalived: the namespace it runs in and its configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keepalived {
    pub netns: String,
    pub conf: String,
    /// Links of other namespaces its groups track: (file name in the run
    /// directory, namespace, device), watched by [`super::carrier`].
    pub carriers: Vec<(String, String, String)>,
}
