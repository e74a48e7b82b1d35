//! What the intent says should exist on each router: BGP sessions and
//! WireGuard mesh peers (every other router; every hypervisor), VRRP
//! groups (one per tenant network and site, on its gateways) and
//! remote-access clients (on the tenant's client router). Built from the
//! intent and the stored allocation the way the compiler's model builds
//! them (`vxguard_compiler::model`), with `.get()` everywhere: an intent
//! half-allocated is read as far as it goes, never a panic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use vxguard_compiler::alloc::{Allocation, TenantAlloc};
use vxguard_compiler::intent::{Intent, Platform, Tenant};
use vxguard_compiler::model::client_router;

#[cfg(test)]
mod tests;

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

/// Where a tenant's clients are on its client router once its client
/// interface has been rotated (issue 17, item 5;
/// `vxguard_compiler::model::ClientEpoch`): not `wg<tenant id>` any more,
/// and during a rotation on two interfaces. Only interface names and
/// public keys: no key material.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientPlacement {
    /// The interface of every client not in `by_key`.
    pub default: String,
    /// Clients (by public key) on another interface.
    pub by_key: BTreeMap<String, String>,
}

/// By (client router, tenant slug).
pub type ClientPlacements = BTreeMap<(String, String), ClientPlacement>;

impl ClientExpect {
    fn place(&mut self, p: &ClientPlacements) {
        // One lookup per client: the key is built once.
        if let Some(pl) = p.get(&(self.router.clone(), self.tenant.clone())) {
            self.interface = pl
                .by_key
                .get(&self.public_key)
                .unwrap_or(&pl.default)
                .clone();
        }
    }
}

/// One tenant's part of the expectations, from that tenant and its
/// allocation alone: what the collector rebuilds when that tenant's
/// revision moved, and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantExpect {
    pub slug: String,
    /// Its id (the `metadata` of its flows on hypervisors), once allocated.
    pub id: Option<u32>,
    /// Its gateway groups and clients: none until it is allocated.
    pub groups: Vec<GroupExpect>,
    pub clients: Vec<ClientExpect>,
    /// Each allocated network's bridge on the routers (`br<vni>`):
    /// (network, bridge).
    pub bridges: Vec<(String, String)>,
    /// Its hypervisor ports: (hypervisor, port, network).
    pub ports: Vec<(String, String, String)>,
}

/// A tenant's part ([`TenantExpect`]); `ta` is its allocation, if any.
pub fn tenant_expected(t: &Tenant, ta: Option<&TenantAlloc>) -> TenantExpect {
    let mut out = TenantExpect {
        slug: t.slug.to_string(),
        id: ta.map(|a| a.id),
        ..TenantExpect::default()
    };
    for n in &t.networks {
        for p in &n.ports {
            out.ports
                .push((p.hypervisor.to_string(), p.name.clone(), n.name.to_string()));
        }
    }
    let Some(ta) = ta else {
        return out;
    };
    out.bridges = ta
        .networks
        .iter()
        .map(|(n, na)| (n.clone(), format!("br{}", na.vni)))
        .collect();
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
        return out;
    };
    if t.clients.is_empty() || ta.client_subnet.is_none() {
        return out;
    }
    let ifname = format!("wg{}", ta.id);
    for c in &t.clients {
        out.clients.push(ClientExpect {
            tenant: t.slug.to_string(),
            name: c.name.to_string(),
            router: router.clone(),
            interface: ifname.clone(),
            public_key: c.public_key.clone(),
        });
    }
    out
}

/// The platform's part: each allocated router with its sessions and
/// mesh peers (no client interfaces: [`Expected::set_platform`] lists
/// them from the clients), and each hypervisor. `alloc`'s tenants are not
/// read.
pub fn platform_expected(
    p: &Platform,
    alloc: &Allocation,
    public_keys: &BTreeMap<String, String>,
) -> (Vec<RouterExpect>, Vec<HypervisorExpect>) {
    let key = |n: &str| public_keys.get(n).cloned().unwrap_or_default();
    let hypervisors = p
        .hypervisors
        .iter()
        .map(|h| HypervisorExpect {
            name: h.name.to_string(),
            site: h.site.to_string(),
        })
        .collect();
    let mut routers = Vec::new();
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
        routers.push(RouterExpect {
            name: name.to_string(),
            site: r.site.to_string(),
            bgp,
            mesh_interface: alloc.mesh.active.ifname().to_string(),
            mesh_peers,
            client_interfaces: Vec::new(),
        });
    }
    (routers, hypervisors)
}

impl Expected {
    /// Sets the platform's routers and hypervisors ([`platform_expected`]),
    /// keeping the tenants' groups and clients; each router's client
    /// interfaces are listed again from the clients.
    pub fn set_platform(&mut self, routers: Vec<RouterExpect>, hypervisors: Vec<HypervisorExpect>) {
        self.routers = routers;
        self.hypervisors = hypervisors;
        let at: BTreeMap<String, usize> = self
            .routers
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        for c in &self.clients {
            if let Some(&i) = at.get(&c.router) {
                let ifs = &mut self.routers[i].client_interfaces;
                if !ifs.contains(&c.interface) {
                    ifs.push(c.interface.clone());
                }
            }
        }
    }

    /// Puts every client on the interface `p` says (those of tenants it
    /// does not name stay on `wg<tenant id>`) and lists each router's
    /// client interfaces again.
    pub fn place_clients(&mut self, p: &ClientPlacements) {
        if p.is_empty() {
            return;
        }
        for c in &mut self.clients {
            c.place(p);
        }
        let at: BTreeMap<String, usize> = self
            .routers
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        for r in &mut self.routers {
            r.client_interfaces.clear();
        }
        for c in &self.clients {
            if let Some(&i) = at.get(&c.router) {
                let ifs = &mut self.routers[i].client_interfaces;
                if !ifs.contains(&c.interface) {
                    ifs.push(c.interface.clone());
                }
            }
        }
    }

    /// Takes out the groups and clients of the tenants `slugs` (and their
    /// client interfaces from their routers): one pass however many.
    pub fn remove_tenants(&mut self, slugs: &BTreeSet<String>) {
        if slugs.is_empty() {
            return;
        }
        let gone: BTreeSet<(String, String)> = self
            .clients
            .iter()
            .filter(|c| slugs.contains(&c.tenant))
            .map(|c| (c.router.clone(), c.interface.clone()))
            .collect();
        self.groups.retain(|g| !slugs.contains(&g.tenant));
        self.clients.retain(|c| !slugs.contains(&c.tenant));
        for r in &mut self.routers {
            r.client_interfaces
                .retain(|i| !gone.contains(&(r.name.clone(), i.clone())));
        }
    }

    /// Adds a tenant's groups and clients ([`tenant_expected`]); its
    /// client interface joins its router's.
    pub fn add_tenant(&mut self, t: &mut TenantExpect) {
        if let Some(c) = t.clients.first() {
            if let Some(r) = self.routers.iter_mut().find(|r| r.name == c.router) {
                if !r.client_interfaces.contains(&c.interface) {
                    r.client_interfaces.push(c.interface.clone());
                }
            }
        }
        self.groups.append(&mut t.groups);
        self.clients.append(&mut t.clients);
    }
}

/// Builds the expectations. `public_keys` are the devices' WireGuard public
/// keys by name (routers and hypervisors share one namespace of peer
/// names): only public keys, so no private key ever reaches this crate.
pub fn expected(
    intent: &Intent,
    alloc: &Allocation,
    public_keys: &BTreeMap<String, String>,
) -> Expected {
    let mut out = Expected::default();
    for t in &intent.tenants {
        let Some(ta) = alloc.tenants.get(t.slug.as_str()) else {
            continue;
        };
        let mut part = tenant_expected(t, Some(ta));
        out.add_tenant(&mut part);
    }
    let (routers, hypervisors) = platform_expected(&intent.platform, alloc, public_keys);
    out.set_platform(routers, hypervisors);
    out
}

/// Everything a collection round expects, kept between rounds and
/// brought up to date a tenant at a time: the [`Expected`] items, who owns
/// each hypervisor port and tenant id ([`crate::ovs::Owners`]), and each
/// tenant network's bridge on the routers. It holds no intent: each
/// tenant's part is moved in ([`Expectations::add_tenant`]), its
/// expected items are all it keeps of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    pub expected: Expected,
    pub owners: crate::ovs::Owners,
    /// (tenant, network) → its bridge (`br<vni>`), for its traffic.
    pub bridges: BTreeMap<(String, String), String>,
}

impl Expectations {
    /// Takes out the tenants `slugs`, in one pass over each list.
    pub fn remove_tenants(&mut self, slugs: &BTreeSet<String>) {
        if slugs.is_empty() {
            return;
        }
        self.expected.remove_tenants(slugs);
        self.owners.remove_tenants(slugs);
        self.bridges.retain(|(t, _), _| !slugs.contains(t));
    }

    /// Adds a tenant's part ([`tenant_expected`]), taking its items.
    pub fn add_tenant(&mut self, mut t: TenantExpect) {
        self.owners.add_tenant(&t.slug, t.id, &t.ports);
        for (n, b) in t.bridges.drain(..) {
            self.bridges.insert((t.slug.clone(), n), b);
        }
        self.expected.add_tenant(&mut t);
    }
}
