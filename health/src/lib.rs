//! Device health, expected versus observed (issue 18, items 1 and 2).
//!
//! Pure: the collector (the server's `health` module) asks each router's
//! op-mode `show` commands over the VyOS HTTP API and hands the texts here;
//! [`parse`] reads them as VyOS prints them, [`expect`] lists what the
//! intent says should exist, and [`eval`] turns both, with what the store
//! knows of each device (last apply, drift, API key age), into
//! [`Item`]s: each ok, degraded or down with a reason; [`vitals`] adds
//! what a router says of itself (BFD, interface counters, CPU load);
//! [`ovs`] what a hypervisor's bridge counts (ports, flows, meters).
//!
//! An item's `reason` is written for its audience: tenant items (gateway
//! groups, clients) name only the tenant's own gateways and never carry a
//! device's error text, which goes to `detail` (operators only).

pub mod eval;
pub mod expect;
pub mod ovs;
pub mod parse;
pub mod vitals;

use serde::{Deserialize, Serialize};

/// Ordered: the worst of several findings is the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Degraded,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "ok" => Status::Ok,
            "degraded" => Status::Degraded,
            "down" => Status::Down,
            _ => return None,
        })
    }
}

/// What an item is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A router: reachable, memory, last apply, drift, API key age.
    Router,
    /// A hypervisor: last apply (its OVS state is not collected yet).
    Hypervisor,
    /// An iBGP session, seen from one router.
    Bgp,
    /// A WireGuard mesh peer, seen from one router.
    Wireguard,
    /// A tenant network's VRRP gateway group at one site.
    Vrrp,
    /// A tenant's remote-access client on its client router.
    Client,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Router => "router",
            Kind::Hypervisor => "hypervisor",
            Kind::Bgp => "bgp",
            Kind::Wireguard => "wireguard",
            Kind::Vrrp => "vrrp",
            Kind::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "router" => Kind::Router,
            "hypervisor" => Kind::Hypervisor,
            "bgp" => Kind::Bgp,
            "wireguard" => Kind::Wireguard,
            "vrrp" => Kind::Vrrp,
            "client" => Kind::Client,
            _ => return None,
        })
    }

    /// Items a tenant may read (its own only, by `tenant`).
    pub fn is_tenant(self) -> bool {
        matches!(self, Kind::Vrrp | Kind::Client)
    }
}

/// One thing that is ok, degraded or down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub kind: Kind,
    /// Unique among all items: `<kind>:<names...>`.
    pub key: String,
    /// The router or hypervisor it is seen on (none for a gateway group,
    /// which spans its gateways).
    pub device: Option<String>,
    /// The other end of a link (BGP, WireGuard).
    pub peer: Option<String>,
    pub tenant: Option<String>,
    pub network: Option<String>,
    pub site: Option<String>,
    pub status: Status,
    /// Why, for the item's audience.
    pub reason: String,
    /// Device errors behind the reason: operators only.
    pub detail: Option<String>,
    /// What was observed (states, ages, bytes), for the item's audience.
    pub facts: serde_json::Value,
    /// Since when (Unix seconds) the item has been seen not ok; carried
    /// from round to round, it times the rules that wait (a BGP session
    /// is down only after 30 s).
    pub bad_since: Option<i64>,
}
