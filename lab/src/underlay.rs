//! The lab's underlay: the wires between datacenters, in namespaces.
//!
//! One namespace `<prefix>-wan` is the provider network: per site a bridge
//! holding the first address of each of the site's public blocks (the
//! site's gateway), routing between sites, and one more link to the outside
//! host (TEST-NET-2, `198.51.100.0/24`: the internet, where remote-access
//! clients live). Every router and hypervisor is a namespace with one veth
//! into its site's bridge, its underlay address on it and a default route
//! to the site's gateway. The wan-side end of every veth is an underlay
//! link: `lab check` captures there, so everything between two machines
//! (and between a machine and the internet) is seen.
//!
//! Every namespace is written into the [`Inventory`] before it is created,
//! so `lab down` after a crash finds it.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::inventory::{Host, Inventory, InventoryError, Link};
use crate::netns::apply::{self, ApplyError};

/// The outside host's network (RFC 5737 TEST-NET-2).
pub const OUTSIDE_NET: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(198, 51, 100, 0), 24) {
    Ok(n) => n,
    Err(_) => panic!("valid prefix"),
};
/// The wan's address on the outside link.
pub const OUTSIDE_GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The outside host's address.
pub const OUTSIDE_HOST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

#[derive(Debug, thiserror::Error)]
pub enum UnderlayError {
    #[error(transparent)]
    Command(#[from] ApplyError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("{node}: underlay address {addr} is in none of site {site}'s public blocks")]
    NotInSite {
        node: String,
        addr: Ipv4Addr,
        site: String,
    },
    #[error("site {0} has no IPv4 public block")]
    NoBlock(String),
}

/// A site as the underlay sees it: its public blocks.
#[derive(Clone, Debug)]
pub struct Site {
    pub name: String,
    pub blocks: Vec<Ipv4Net>,
}

impl Site {
    /// The block holding `addr` and the site's gateway in it (its first host).
    pub fn block_of(&self, addr: Ipv4Addr) -> Option<(Ipv4Net, Ipv4Addr)> {
        self.blocks
            .iter()
            .find(|b| b.contains(&addr))
            .map(|b| (*b, gateway(*b)))
    }
}

/// A block's gateway: its first host address.
pub fn gateway(block: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(block.network()) + 1)
}

/// The wan namespace's name.
pub fn wan_ns(prefix: &str) -> String {
    format!("{prefix}-wan")
}

/// Records `ns` in the inventory (saved), then creates it with `lo` up.
pub fn create_ns(inv: &mut Inventory, dir: &Path, ns: &str) -> Result<(), UnderlayError> {
    if !inv.namespaces.iter().any(|n| n == ns) {
        inv.namespaces.push(ns.to_string());
        inv.save(dir)?;
    }
    if apply::netns_exists(ns) {
        apply::run(&["ip", "netns", "del", ns])?;
    }
    apply::run(&["ip", "netns", "add", ns])?;
    apply::ip(ns, &["link", "set", "lo", "up"])?;
    Ok(())
}

/// Deletes a namespace if it exists (its interfaces go with it).
pub fn delete_ns(ns: &str) -> Result<(), UnderlayError> {
    if apply::netns_exists(ns) {
        apply::run(&["ip", "netns", "del", ns])?;
    }
    Ok(())
}

/// Turns IPv4 forwarding on in `ns`: a router namespace forwards, as VyOS
/// does unless `system ip disable-forwarding` (which vxguard never sets);
/// the mesh carries hypervisors' VXLAN from one WireGuard peer to another.
pub fn enable_forwarding(ns: &str) -> Result<(), UnderlayError> {
    sysctl(ns, "net.ipv4.ip_forward", "1")
}

fn sysctl(ns: &str, key: &str, value: &str) -> Result<(), UnderlayError> {
    apply::in_ns(ns, &["sysctl", "-qw", &format!("{key}={value}")])?;
    Ok(())
}

/// Builds the wan: its namespace, one bridge per site holding the sites'
/// gateways, and the outside host on its own link. Returns the outside host.
pub fn build_wan(inv: &mut Inventory, dir: &Path, sites: &[Site]) -> Result<Host, UnderlayError> {
    let wan = wan_ns(&inv.prefix);
    create_ns(inv, dir, &wan)?;
    sysctl(&wan, "net.ipv4.ip_forward", "1")?;
    for (i, s) in sites.iter().enumerate() {
        if s.blocks.is_empty() {
            return Err(UnderlayError::NoBlock(s.name.clone()));
        }
        let br = format!("s{i}");
        apply::ip(&wan, &["link", "add", &br, "type", "bridge"])?;
        apply::ip(
            &wan,
            &["link", "set", &br, "alias", &format!("site {}", s.name)],
        )?;
        for b in &s.blocks {
            let a = format!("{}/{}", gateway(*b), b.prefix_len());
            apply::ip(&wan, &["addr", "add", &a, "dev", &br])?;
        }
        apply::ip(&wan, &["link", "set", &br, "up"])?;
    }
    let outside = format!("{}-outside", inv.prefix);
    create_ns(inv, dir, &outside)?;
    let link = Link {
        ns: wan.clone(),
        ifname: "u-out".into(),
        label: "wan <-> outside host".into(),
    };
    veth(&wan, &link.ifname, &outside, "eth0")?;
    let gw = format!("{OUTSIDE_GATEWAY}/{}", OUTSIDE_NET.prefix_len());
    apply::ip(&wan, &["addr", "add", &gw, "dev", &link.ifname])?;
    apply::ip(&wan, &["link", "set", &link.ifname, "up"])?;
    let host = format!("{OUTSIDE_HOST}/{}", OUTSIDE_NET.prefix_len());
    apply::ip(&outside, &["addr", "add", &host, "dev", "eth0"])?;
    apply::ip(&outside, &["link", "set", "eth0", "up"])?;
    apply::ip(
        &outside,
        &[
            "route",
            "add",
            "default",
            "via",
            &OUTSIDE_GATEWAY.to_string(),
        ],
    )?;
    inv.underlay_links.push(link);
    inv.outside = Host {
        ns: outside,
        address: OUTSIDE_HOST,
    };
    inv.save(dir)?;
    Ok(inv.outside.clone())
}

fn veth(ns_a: &str, a: &str, ns_b: &str, b: &str) -> Result<(), UnderlayError> {
    apply::ip(
        ns_a,
        &[
            "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b,
        ],
    )?;
    Ok(())
}

/// Plugs machine namespace `node_ns` into its site: a veth whose wan end
/// `wan_if` joins the site's bridge and whose other end `node_if` gets
/// `addr` and a default route to the site's gateway.
#[allow(clippy::too_many_arguments)]
pub fn attach(
    inv: &mut Inventory,
    dir: &Path,
    sites: &[Site],
    site: &str,
    node: &str,
    node_ns: &str,
    node_if: &str,
    wan_if: &str,
    addr: Ipv4Addr,
) -> Result<(), UnderlayError> {
    let (i, s) = sites
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == site)
        .ok_or_else(|| UnderlayError::NoBlock(site.to_string()))?;
    let (block, gw) = s.block_of(addr).ok_or_else(|| UnderlayError::NotInSite {
        node: node.to_string(),
        addr,
        site: site.to_string(),
    })?;
    let wan = wan_ns(&inv.prefix);
    veth(&wan, wan_if, node_ns, node_if)?;
    apply::ip(&wan, &["link", "set", wan_if, "master", &format!("s{i}")])?;
    apply::ip(&wan, &["link", "set", wan_if, "up"])?;
    let a = format!("{addr}/{}", block.prefix_len());
    apply::ip(node_ns, &["addr", "add", &a, "dev", node_if])?;
    apply::ip(node_ns, &["link", "set", node_if, "up"])?;
    apply::ip(
        node_ns,
        &["route", "add", "default", "via", &gw.to_string()],
    )?;
    inv.underlay_links.push(Link {
        ns: wan,
        ifname: wan_if.to_string(),
        label: format!("{site} <-> {node}"),
    });
    inv.save(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_finds_the_block_and_gateway_of_an_address() {
        let s = Site {
            name: "dc2".into(),
            blocks: vec![
                "5.254.43.160/27".parse().unwrap(),
                "5.254.43.208/29".parse().unwrap(),
            ],
        };
        let (b, gw) = s.block_of(Ipv4Addr::new(5, 254, 43, 170)).unwrap();
        assert_eq!(b.to_string(), "5.254.43.160/27");
        assert_eq!(gw, Ipv4Addr::new(5, 254, 43, 161));
        assert!(s.block_of(Ipv4Addr::new(5, 254, 54, 10)).is_none());
        assert_eq!(OUTSIDE_NET.to_string(), "198.51.100.0/24");
    }
}
