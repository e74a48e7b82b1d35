//! The intent: what operators (platform) and tenants declare. Plain data,
//! deserialised from YAML by the CLI and from PostgreSQL rows by the server;
//! the compiler never mutates it.

pub mod yaml;

use crate::ids::{Asn, CertSha256, Name};
use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// The whole declared world: one platform and its tenants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub platform: Platform,
    #[serde(default)]
    pub tenants: Vec<Tenant>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// BGP AS number of the whole platform (iBGP between all routers).
    #[serde(default = "default_asn")]
    #[schemars(with = "u32")]
    pub asn: Asn,
    #[serde(default)]
    pub pools: Pools,
    #[serde(default)]
    pub wireguard: WireguardSettings,
    #[serde(default)]
    pub underlay: Underlay,
    pub sites: Vec<Site>,
    pub routers: Vec<Router>,
    #[serde(default)]
    pub hypervisors: Vec<Hypervisor>,
}

fn default_asn() -> Asn {
    Asn::new(65000).expect("65000 is a valid AS number")
}

/// The address plan; defaults are the operator plan's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Pools {
    /// WireGuard mesh and VTEP addresses of routers and hypervisors.
    #[schemars(with = "String")]
    pub control_plane: Ipv4Net,
    /// Reserved for point-to-point backbone links (not allocated from yet).
    #[schemars(with = "String")]
    pub backbone: Ipv4Net,
    /// Tenant WireGuard remote-access clients; per tenant, since VRFs isolate.
    #[schemars(with = "String")]
    pub wireguard_overlay: Ipv4Net,
    #[schemars(with = "String")]
    pub tenant_networks: Ipv4Net,
    #[schemars(with = "String")]
    pub services: Ipv4Net,
    #[schemars(with = "String")]
    pub migration: Ipv4Net,
    /// Prefix length of each tenant's client subnet inside `wireguard_overlay`.
    pub client_prefix_len: u8,
}

impl Default for Pools {
    fn default() -> Self {
        let p = |s: &str| s.parse().expect("valid default pool");
        Self {
            control_plane: p("172.27.0.0/20"),
            backbone: p("172.16.0.0/20"),
            wireguard_overlay: p("100.64.0.0/16"),
            tenant_networks: p("100.65.0.0/16"),
            services: p("100.80.0.0/16"),
            migration: p("100.96.0.0/16"),
            client_prefix_len: 24,
        }
    }
}

impl Pools {
    /// The pools a tenant network may be carved from, with their names.
    pub fn tenant_facing(&self) -> [(&'static str, Ipv4Net); 4] {
        [
            ("tenant_networks", self.tenant_networks),
            ("services", self.services),
            ("migration", self.migration),
            ("wireguard_overlay", self.wireguard_overlay),
        ]
    }

    /// A subnet a new tenant network could take, for the portal's hint (an
    /// example the checks would refuse misleads): the first /24, else /28,
    /// of the tenant networks pool, then of the services and migration
    /// pools, that overlaps nothing in `taken` (the tenant's networks and
    /// its client subnet) nor the platform's own pools. Never the WireGuard
    /// overlay pool: its addresses go to the tenant's remote-access clients.
    pub fn suggest_network(&self, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
        let overlaps =
            |a: &Ipv4Net, b: &Ipv4Net| a.contains(&b.network()) || b.contains(&a.network());
        let reserved = [self.control_plane, self.backbone, self.wireguard_overlay];
        let free = |s: &Ipv4Net| !taken.iter().chain(&reserved).any(|t| overlaps(s, t));
        [24u8, 28].into_iter().find_map(|len| {
            [self.tenant_networks, self.services, self.migration]
                .into_iter()
                .filter(|pool| pool.prefix_len() <= len)
                .find_map(|pool| pool.subnets(len).ok()?.find(|s| free(s)))
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WireguardSettings {
    pub port: u16,
    pub keepalive: u16,
    /// How every router's and hypervisor's mesh key is rotated.
    pub key_rotation: KeyRotation,
}

impl Default for WireguardSettings {
    fn default() -> Self {
        Self {
            port: 51820,
            keepalive: 25,
            key_rotation: KeyRotation::default(),
        }
    }
}

/// The mesh keys' schedule (issue 17, item 4): each device's key is
/// replaced once it is `interval_secs` old, a few devices at a time, and
/// the old key keeps working for at most `grace_secs` after traffic moved
/// to the new one (less once every peer has shown it holds the new one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeyRotation {
    /// Seconds; 0 turns scheduled rotation off (a rotation can still be
    /// asked for). Default 7 days.
    pub interval_secs: u64,
    /// Seconds. Default 48 hours.
    pub grace_secs: u64,
}

impl Default for KeyRotation {
    fn default() -> Self {
        Self {
            interval_secs: 7 * 24 * 3600,
            grace_secs: 48 * 3600,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IpVersion {
    #[serde(rename = "4")]
    V4,
    #[serde(rename = "6")]
    V6,
}

/// The physical network between sites; decides the MTU budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Underlay {
    pub mtu: u16,
    /// IP version of WireGuard's outer header: 60 bytes of overhead with 4, 80 with 6.
    pub ip_version: IpVersion,
}

impl Default for Underlay {
    fn default() -> Self {
        Self {
            mtu: 1500,
            ip_version: IpVersion::V4,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub name: Name,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub public_blocks: Vec<Ipv4Net>,
}

// A VyOS release vxguard compiles for: one whose definitions are built
// in (vyos-defs/schemas/); anything else is refused when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub enum VyosVersion {
    #[serde(rename = "1.4")]
    V1_4,
    #[serde(rename = "1.5")]
    V1_5,
}

impl<'de> Deserialize<'de> for VyosVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VyosVersion::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "VyOS `{s}` has no built-in definitions: the releases vxguard compiles for are {}",
                VyosVersion::ALL.map(|v| v.as_str()).join(" and ")
            ))
        })
    }
}

impl VyosVersion {
    /// Every release, oldest first.
    pub const ALL: [VyosVersion; 2] = [Self::V1_4, Self::V1_5];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_4 => "1.4",
            Self::V1_5 => "1.5",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "1.4" => Some(Self::V1_4),
            "1.5" => Some(Self::V1_5),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Router {
    pub name: Name,
    pub site: Name,
    pub version: VyosVersion,
    /// Public address WireGuard peers connect to.
    #[schemars(with = "String")]
    pub underlay_address: IpAddr,
    /// Base URL of the VyOS HTTPS API, e.g. `https://5.254.54.10`.
    pub api_endpoint: String,
    /// The SHA-256 fingerprint of the certificate the router's API serves
    /// (VyOS's own self-signed one, typically). When set, the driver
    /// accepts that certificate and no other; when absent, the certificate
    /// must chain to a public root and name the endpoint's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_certificate_sha256: Option<CertSha256>,
    /// The router's underlay interface (where `underlay_address` lives).
    #[serde(default = "default_underlay_interface")]
    pub underlay_interface: String,
}

fn default_underlay_interface() -> String {
    "eth0".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hypervisor {
    pub name: Name,
    pub site: Name,
    #[schemars(with = "String")]
    pub underlay_address: IpAddr,
    /// VTEP (and WireGuard) address inside the control-plane pool; allocated when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub vtep_address: Option<Ipv4Addr>,
    /// The OVS integration bridge tenant ports attach to.
    #[serde(default = "default_bridge")]
    pub bridge: String,
    /// Where the OVS driver reaches the integration bridge: an `ovs-ofctl`
    /// target starting with `unix:`, `tcp:` or `ssl:`. Default
    /// `unix:/var/run/openvswitch/<bridge>.mgmt`.
    #[serde(default)]
    pub openflow_endpoint: Option<String>,
}

impl Hypervisor {
    /// The `ovs-ofctl` target of the integration bridge: the configured
    /// endpoint, else OVS's management socket of the bridge.
    pub fn openflow_target(&self) -> String {
        self.openflow_endpoint
            .clone()
            .unwrap_or_else(|| format!("unix:/var/run/openvswitch/{}.mgmt", self.bridge))
    }
}

fn default_bridge() -> String {
    "br-int".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub slug: Name,
    pub name: String,
    #[serde(default)]
    pub networks: Vec<Network>,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Router where the tenant's WireGuard clients terminate; defaults to the
    /// first gateway of the first network.
    #[serde(default)]
    pub client_router: Option<Name>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub name: Name,
    #[schemars(with = "String")]
    pub cidr: Ipv4Net,
    pub sites: Vec<NetworkSite>,
    /// Requested tenant MTU; must fit the budget left by WireGuard and VXLAN.
    #[serde(default)]
    pub mtu: Option<u16>,
    /// Tenant VM ports on hypervisors.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// Per-port packet rate limit (packets/s), enforced by OVS meters.
    #[serde(default)]
    pub rate_limit_pps: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSite {
    pub site: Name,
    /// The gateway router pair: first is the preferred VRRP master.
    pub gateways: Vec<Name>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub hypervisor: Name,
    /// OVS port (interface) name on the hypervisor's bridge.
    pub name: String,
    /// The VM's address, when known: used for anti-spoofing.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub address: Option<Ipv4Addr>,
}

/// A named set of addresses, as in the plan's `services`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: Name,
    #[serde(default)]
    pub description: Option<String>,
    #[schemars(with = "Vec<String>")]
    pub addresses: Vec<Ipv4Net>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Drop,
    Reject,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Drop => "drop",
            Self::Reject => "reject",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "default_drop")]
    pub default_action: Action,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            default_action: Action::Drop,
            rules: Vec::new(),
        }
    }
}

fn default_drop() -> Action {
    Action::Drop
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    #[default]
    Any,
}

impl Protocol {
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Tcp | Self::Udp)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: u32,
    #[serde(default)]
    pub description: Option<String>,
    pub action: Action,
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub destination_port: Option<PortSpec>,
    #[serde(default)]
    pub source: Endpoint,
    #[serde(default)]
    pub destination: Endpoint,
    #[serde(default)]
    pub disabled: bool,
}

/// `443`, `"8000-8080"` or a list of either.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortSpec {
    Single(u16),
    Range(String),
    List(Vec<PortItem>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortItem {
    Single(u16),
    Range(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Endpoint {
    #[default]
    Any,
    Service {
        service: Name,
    },
    Network {
        network: Name,
    },
    Cidr {
        #[schemars(with = "String")]
        cidr: Ipv4Net,
    },
    /// Anything outside the tenant's own networks and clients.
    External,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub name: Name,
    /// Base64 Curve25519 public key; the private key never reaches vxguard.
    pub public_key: String,
    /// Networks the client may reach; empty means all of the tenant's networks.
    #[serde(default)]
    pub allowed_networks: Vec<Name>,
    /// When the client stops working (RFC 3339, kept in UTC): the store
    /// checks it is a time in the future, and the applying worker removes
    /// the client once it has passed. The compiler never reads the clock:
    /// until it is removed, an expired client compiles as any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn a_suggested_network_is_free_and_outside_the_overlay_pool() {
        let p = Pools::default();
        assert_eq!(p.suggest_network(&[]), Some(net("100.65.0.0/24")));
        // The tenant's networks and client subnet are skipped, whatever
        // their size; the overlay pool is never suggested.
        let taken = [
            net("100.65.0.0/24"),
            net("100.65.1.16/28"),
            net("100.64.0.0/24"),
        ];
        let s = p.suggest_network(&taken).unwrap();
        assert_eq!(s, net("100.65.2.0/24"));
        assert!(!p.wireguard_overlay.contains(&s));
        // A full tenant networks pool: the next tenant-facing pool.
        assert_eq!(
            p.suggest_network(&[net("100.65.0.0/16")]),
            Some(net("100.80.0.0/24"))
        );
        // No /24 left anywhere but a /28: the /28.
        let tiny = Pools {
            tenant_networks: net("10.1.0.0/24"),
            services: net("10.2.0.0/28"),
            migration: net("10.3.0.0/28"),
            ..Pools::default()
        };
        assert_eq!(
            tiny.suggest_network(&[net("10.1.0.0/25")]),
            Some(net("10.1.0.128/28"))
        );
        assert_eq!(
            tiny.suggest_network(&[net("10.1.0.0/24"), net("10.2.0.0/28"), net("10.3.0.0/28")]),
            None
        );
    }
}
