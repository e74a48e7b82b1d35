//! What the intent says should exist on each router: BGP sessions and
//! WireGuard mesh peers (every other router; every hypervisor), VRRP
//! groups (one per tenant network and site, on its gateways) and
//! remote-access clients (on the tenant's client router). Built from the
//! intent and the stored allocation the way the compiler's model builds
//! them (`vxguard_compiler::model`), with `.get()` everywhere: an intent
//! half-allocated is read as far as it goes, never a panic.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::client_router;

/// Everything expected, platform-wide.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub routers: Vec<RouterExpect>,
    pub hypervisors: Vec<HypervisorExpect>,
    pub groups: Vec<GroupExpect>,
    pub clients: Vec<ClientExpect>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterExpect {
    pub name: String,
    pub site: String,
    /// iBGP neighbours: (router name, mesh address).
    pub bgp: Vec<(String, Ipv4Addr)>,
    /// The mesh slot that carries traffic (`wg0` or `wg65536`:
    /// `vxguard_compiler::mesh`), whose handshakes say whether the mesh is up.
    pub mesh_interface: String,
    /// Peers of the mesh slot.
    pub mesh_peers: Vec<PeerExpect>,
    /// The client interfaces (`wg<tenant id>`) this router terminates.
    pub client_interfaces: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerExpect {
    /// The peer device's name (VyOS's peer tag).
    pub name: String,
    /// `router` or `hypervisor`.
    pub kind: &'static str,
    /// Empty when the device has no key yet (never compiled).
    pub public_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HypervisorExpect {
    pub name: String,
    pub site: String,
}

/// A tenant network's gateway group at one site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupExpect {
    pub tenant: String,
    pub network: String,
    pub site: String,
    /// The VRRP group name on the routers (`<tenant>-<network>`, as
    /// `model::Segment::vrrp_group`).
    pub group: String,
    pub gateways: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientExpect {
    pub tenant: String,
    pub name: String,
    pub router: String,
    pub interface: String,
    pub public_key: String,
}

/// Builds the expectations. `public_keys` are the devices' WireGuard public
/// keys by name (routers and hypervisors share one namespace of peer
/// names): only public keys, so no private key ever reaches this crate.
pub fn expected(
    intent: &Intent,
    alloc: &Allocation,
    public_keys: &BTreeMap<String, String>,
) -> Expected {
    let p = &intent.platform;
    let key = |n: &str| public_keys.get(n).cloned().unwrap_or_default();
    let mut out = Expected::default();
    for h in &p.hypervisors {
        out.hypervisors.push(HypervisorExpect {
            name: h.name.to_string(),
            site: h.site.to_string(),
        });
    }
    // Client interfaces first: routers list theirs.
    let mut client_ifs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &intent.tenants {
        let Some(ta) = alloc.tenants.get(t.slug.as_str()) else {
            continue;
        };
        for n in &t.networks {
            for s in &n.sites {
                if s.gateways.is_empty() {
                    continue;
                }
                out.groups.push(GroupExpect {
                    tenant: t.slug.to_string(),
                    network: n.name.to_string(),
                    site: s.site.to_string(),
                    group: format!("{}-{}", t.slug, n.name),
                    gateways: s.gateways.iter().map(|g| g.to_string()).collect(),
                });
            }
        }
        let Some(router) = client_router(t) else {
            continue;
        };
        if t.clients.is_empty() || ta.client_subnet.is_none() {
            continue;
        }
        let ifname = format!("wg{}", ta.id);
        client_ifs
            .entry(router.clone())
            .or_default()
            .push(ifname.clone());
        for c in &t.clients {
            out.clients.push(ClientExpect {
                tenant: t.slug.to_string(),
                name: c.name.to_string(),
                router: router.clone(),
                interface: ifname.clone(),
                public_key: c.public_key.clone(),
            });
        }
    }
    for r in &p.routers {
        let name = r.name.as_str();
        if !alloc.routers.contains_key(name) {
            continue;
        }
        let mut bgp = Vec::new();
        let mut mesh_peers = Vec::new();
        for o in &p.routers {
            if o.name.as_str() == name {
                continue;
            }
            let Some(a) = alloc.routers.get(o.name.as_str()) else {
                continue;
            };
            bgp.push((o.name.to_string(), a.mesh_address));
            mesh_peers.push(PeerExpect {
                name: o.name.to_string(),
                kind: "router",
                public_key: key(o.name.as_str()),
            });
        }
        for h in &p.hypervisors {
            if alloc.hypervisors.contains_key(h.name.as_str()) {
                mesh_peers.push(PeerExpect {
                    name: h.name.to_string(),
                    kind: "hypervisor",
                    public_key: key(h.name.as_str()),
                });
            }
        }
        bgp.sort_by_key(|(_, a)| *a);
        mesh_peers.sort_by(|a, b| a.name.cmp(&b.name));
        out.routers.push(RouterExpect {
            name: name.to_string(),
            site: r.site.to_string(),
            bgp,
            mesh_interface: alloc.mesh.active.ifname().to_string(),
            mesh_peers,
            client_interfaces: client_ifs.remove(name).unwrap_or_default(),
        });
    }
    out
}
