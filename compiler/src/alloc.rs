//! Allocation: every number and address the intent does not fix.
//!
//! The previous allocation is an input and the new one an output. An entry
//! survives as long as its object exists and the entry is still valid, so
//! adding, changing or removing one tenant, network or router never moves
//! anything that belongs to another. New entries take the lowest free value,
//! visiting objects in name order, which makes the result deterministic.

use crate::diag::{Diagnostics, Pointer};
use crate::ids::{Vni, VrfTable, Vrid};
use crate::intent::{Intent, Network, Tenant};
use crate::mesh::MeshState;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;

/// Tenant ids map to VRF table `TABLE_BASE + id` and L3 VNI `L3_VNI_BASE + id`.
pub const TABLE_BASE: u32 = 100;
pub const MAX_TENANT_ID: u32 = VrfTable::MAX - TABLE_BASE;
/// L2 VNIs (one per tenant network) come from this range.
pub const L2_VNI_FIRST: u32 = 10_000;
pub const L2_VNI_LAST: u32 = 8_999_999;
pub const L3_VNI_BASE: u32 = 9_000_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    #[serde(default)]
    pub routers: BTreeMap<String, RouterAlloc>,
    #[serde(default)]
    pub hypervisors: BTreeMap<String, HypervisorAlloc>,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantAlloc>,
    /// Which WireGuard mesh slot carries traffic and which is held during
    /// a mesh change (`crate::mesh`): the worker moves it, the allocator
    /// carries it over.
    #[serde(default, skip_serializing_if = "MeshState::is_default")]
    pub mesh: MeshState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterAlloc {
    /// WireGuard mesh address, also the BGP router-id, update source and VTEP.
    pub mesh_address: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypervisorAlloc {
    pub vtep_address: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantAlloc {
    pub id: u32,
    pub vrf_table: VrfTable,
    pub l3_vni: Vni,
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkAlloc>,
    /// The tenant's client subnet (inside the overlay pool, per tenant: VRFs isolate).
    #[serde(default)]
    pub client_subnet: Option<Ipv4Net>,
    #[serde(default)]
    pub clients: BTreeMap<String, Ipv4Addr>,
}

impl TenantAlloc {
    /// Route target and the number part of route distinguishers.
    pub fn route_target(&self, asn: u32) -> String {
        format!("{asn}:{}", self.id)
    }
    /// Address of the router's client interface: the subnet's first host.
    pub fn client_gateway(&self) -> Option<Ipv4Addr> {
        self.client_subnet.and_then(|n| n.hosts().next())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkAlloc {
    pub vni: Vni,
    /// Per site: the VRRP group and the addresses of the site's gateways.
    #[serde(default)]
    pub sites: BTreeMap<String, SiteGateway>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteGateway {
    /// Unique within the network's segment, which spans all its sites.
    pub vrid: Vrid,
    /// The tenant's default gateway at this site.
    pub virtual_address: Ipv4Addr,
    /// Each gateway router's own address on the segment.
    pub routers: BTreeMap<String, Ipv4Addr>,
}

/// Runs the allocator. `intent` must have passed the reference checks.
pub fn allocate(intent: &Intent, prev: &Allocation, diags: &mut Diagnostics) -> Allocation {
    let pools = &intent.platform.pools;
    let mut out = Allocation {
        mesh: prev.mesh.clone(),
        ..Allocation::default()
    };

    // --- control-plane addresses: routers and hypervisors share the pool.
    let mut cp = AddrPool::new("control_plane", pools.control_plane);
    let keep_router =
        |name: &str| -> Option<Ipv4Addr> { prev.routers.get(name).map(|r| r.mesh_address) };
    let mut routers: Vec<_> = intent.platform.routers.iter().enumerate().collect();
    routers.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let mut hvs: Vec<_> = intent.platform.hypervisors.iter().enumerate().collect();
    hvs.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    // Fixed and previous addresses are reserved first, so new objects cannot take them.
    for (_, h) in &hvs {
        if let Some(a) = h.vtep_address {
            cp.reserve(a);
        }
    }
    for (_, r) in &routers {
        if let Some(a) = keep_router(r.name.as_str()) {
            if !cp.reserve(a) {
                continue;
            }
            out.routers
                .insert(r.name.to_string(), RouterAlloc { mesh_address: a });
        }
    }
    for (_, h) in &hvs {
        if h.vtep_address.is_none() {
            if let Some(a) = prev
                .hypervisors
                .get(h.name.as_str())
                .map(|x| x.vtep_address)
            {
                if cp.reserve(a) {
                    out.hypervisors
                        .insert(h.name.to_string(), HypervisorAlloc { vtep_address: a });
                }
            }
        }
    }
    for (i, r) in &routers {
        if out.routers.contains_key(r.name.as_str()) {
            continue;
        }
        let p = Pointer::root().join("platform").join("routers").join(i);
        if let Some(a) = cp.take(diags, &p) {
            out.routers
                .insert(r.name.to_string(), RouterAlloc { mesh_address: a });
        }
    }
    for (i, h) in &hvs {
        let addr = match h.vtep_address {
            Some(a) => Some(a),
            None => match out.hypervisors.get(h.name.as_str()) {
                Some(x) => Some(x.vtep_address),
                None => {
                    let p = Pointer::root().join("platform").join("hypervisors").join(i);
                    cp.take(diags, &p)
                }
            },
        };
        if let Some(a) = addr {
            out.hypervisors
                .insert(h.name.to_string(), HypervisorAlloc { vtep_address: a });
        }
    }

    // --- tenant-level numbers.
    let mut tenants: Vec<_> = intent.tenants.iter().enumerate().collect();
    tenants.sort_by(|a, b| a.1.slug.cmp(&b.1.slug));
    let mut used_ids = BTreeSet::new();
    let mut used_vnis = HashSet::new();
    for (_, t) in &tenants {
        if let Some(pt) = prev.tenants.get(t.slug.as_str()) {
            if valid_tenant_numbers(pt) && used_ids.insert(pt.id) {
                used_vnis.insert(pt.l3_vni.get());
            }
        }
    }
    for (_, t) in &tenants {
        if let Some(pt) = prev.tenants.get(t.slug.as_str()) {
            if !used_ids.contains(&pt.id) {
                continue;
            }
            for (name, na) in &pt.networks {
                if t.networks.iter().any(|n| n.name.as_str() == name) {
                    used_vnis.insert(na.vni.get());
                }
            }
        }
    }
    let mut next_id = 1u32;
    let mut next_vni = L2_VNI_FIRST;
    for (ti, t) in &tenants {
        let tp = Pointer::root().join("tenants").join(ti);
        let prev_t = prev
            .tenants
            .get(t.slug.as_str())
            .filter(|pt| valid_tenant_numbers(pt));
        let (id, vrf_table, l3_vni) = match prev_t {
            Some(pt) => (pt.id, pt.vrf_table, pt.l3_vni),
            None => {
                while used_ids.contains(&next_id) {
                    next_id += 1;
                }
                if next_id > MAX_TENANT_ID {
                    diags.error(
                        tp.join("slug"),
                        format!(
                            "no tenant id is free: VRF tables allow at most {MAX_TENANT_ID} tenants; delete a tenant first"
                        ),
                    );
                    continue;
                }
                let id = next_id;
                used_ids.insert(id);
                (
                    id,
                    VrfTable::new(TABLE_BASE + id).expect("in range"),
                    Vni::new(L3_VNI_BASE + id).expect("in range"),
                )
            }
        };
        let mut ta = TenantAlloc {
            id,
            vrf_table,
            l3_vni,
            networks: BTreeMap::new(),
            client_subnet: None,
            clients: BTreeMap::new(),
        };
        let mut nets: Vec<_> = t.networks.iter().enumerate().collect();
        nets.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        for (ni, n) in nets {
            let np = tp.join("networks").join(ni);
            let prev_n = prev_t.and_then(|pt| pt.networks.get(n.name.as_str()));
            let vni = match prev_n {
                Some(pn) => pn.vni,
                None => {
                    while used_vnis.contains(&next_vni) {
                        next_vni += 1;
                    }
                    if next_vni > L2_VNI_LAST {
                        diags.error(
                            np.join("name"),
                            format!("every VNI ({L2_VNI_FIRST}-{L2_VNI_LAST}) is taken; delete a network first"),
                        );
                        continue;
                    }
                    used_vnis.insert(next_vni);
                    Vni::new(next_vni).expect("in range")
                }
            };
            let sites = allocate_gateways(n, prev_n, &np, diags);
            ta.networks
                .insert(n.name.to_string(), NetworkAlloc { vni, sites });
        }
        allocate_clients(intent, t, prev_t, &mut ta, &tp, diags);
        out.tenants.insert(t.slug.to_string(), ta);
    }
    out
}

/// Re-runs the allocator for tenant `ti` alone after a change to it, reusing
/// `prev` (the allocation of the same platform and other tenants) for the
/// rest. A tenant's numbers and addresses depend only on its own intent and
/// previous allocation once it needs no fresh tenant id or VNI, so this
/// equals [`allocate`] then. Gives `prev` back when a full run is needed
/// (new numbers, or the platform's routers or hypervisors differ).
pub fn reallocate_tenant(
    intent: &Intent,
    ti: usize,
    mut prev: Allocation,
    diags: &mut Diagnostics,
) -> Result<Allocation, Allocation> {
    let t = &intent.tenants[ti];
    let platform = &intent.platform;
    let same_platform = prev.routers.len() == platform.routers.len()
        && platform
            .routers
            .iter()
            .all(|r| prev.routers.contains_key(r.name.as_str()))
        && prev.hypervisors.len() == platform.hypervisors.len()
        && platform.hypervisors.iter().all(|h| {
            prev.hypervisors
                .get(h.name.as_str())
                .is_some_and(|a| h.vtep_address.is_none_or(|v| v == a.vtep_address))
        });
    let reusable = prev.tenants.get(t.slug.as_str()).is_some_and(|pt| {
        valid_tenant_numbers(pt)
            && t.networks
                .iter()
                .all(|n| pt.networks.contains_key(n.name.as_str()))
    });
    if !same_platform || !reusable {
        return Err(prev);
    }
    let pt = prev.tenants.remove(t.slug.as_str()).expect("checked above");
    let tp = Pointer::root().join("tenants").join(ti);
    let mut ta = TenantAlloc {
        id: pt.id,
        vrf_table: pt.vrf_table,
        l3_vni: pt.l3_vni,
        networks: BTreeMap::new(),
        client_subnet: None,
        clients: BTreeMap::new(),
    };
    let mut nets: Vec<_> = t.networks.iter().enumerate().collect();
    nets.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (ni, n) in nets {
        let np = tp.join("networks").join(ni);
        let pn = &pt.networks[n.name.as_str()];
        let sites = allocate_gateways(n, Some(pn), &np, diags);
        ta.networks
            .insert(n.name.to_string(), NetworkAlloc { vni: pn.vni, sites });
    }
    allocate_clients(intent, t, Some(&pt), &mut ta, &tp, diags);
    prev.tenants.insert(t.slug.to_string(), ta);
    Ok(prev)
}

/// Numbers other tenants hold: what a tenant allocated on its own (a
/// write that loads no other tenant) may not take.
#[derive(Clone, Debug, Default)]
pub struct Taken {
    /// Tenant ids (each also fixes a VRF table and an L3 VNI).
    pub ids: BTreeSet<u32>,
    /// L2 VNIs of networks.
    pub vnis: HashSet<u32>,
}

/// Allocates tenant `ti` of `intent` alone: what `prev` gives it is kept
/// while valid (as [`allocate`] keeps it), and a new number is the lowest
/// that neither `taken` nor the tenant itself holds. The full [`allocate`]
/// run afterwards with this entry in its previous allocation keeps it all,
/// so a write can allocate without loading every tenant.
pub fn allocate_tenant(
    intent: &Intent,
    ti: usize,
    prev: Option<&TenantAlloc>,
    taken: &Taken,
    diags: &mut Diagnostics,
) -> Option<TenantAlloc> {
    let t = &intent.tenants[ti];
    let tp = Pointer::root().join("tenants").join(ti);
    let prev_t = prev.filter(|pt| valid_tenant_numbers(pt) && !taken.ids.contains(&pt.id));
    let (id, vrf_table, l3_vni) = match prev_t {
        Some(pt) => (pt.id, pt.vrf_table, pt.l3_vni),
        None => {
            let Some(id) = (1..=MAX_TENANT_ID).find(|i| !taken.ids.contains(i)) else {
                diags.error(
                    tp.join("slug"),
                    format!(
                        "no tenant id is free: VRF tables allow at most {MAX_TENANT_ID} tenants; delete a tenant first"
                    ),
                );
                return None;
            };
            (
                id,
                VrfTable::new(TABLE_BASE + id).expect("in range"),
                Vni::new(L3_VNI_BASE + id).expect("in range"),
            )
        }
    };
    let mut used_vnis = taken.vnis.clone();
    used_vnis.insert(l3_vni.get());
    if let Some(pt) = prev_t {
        for (name, na) in &pt.networks {
            if t.networks.iter().any(|n| n.name.as_str() == name)
                && !taken.vnis.contains(&na.vni.get())
            {
                used_vnis.insert(na.vni.get());
            }
        }
    }
    let mut ta = TenantAlloc {
        id,
        vrf_table,
        l3_vni,
        networks: BTreeMap::new(),
        client_subnet: None,
        clients: BTreeMap::new(),
    };
    let mut next_vni = L2_VNI_FIRST;
    let mut nets: Vec<_> = t.networks.iter().enumerate().collect();
    nets.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (ni, n) in nets {
        let np = tp.join("networks").join(ni);
        let prev_n = prev_t
            .and_then(|pt| pt.networks.get(n.name.as_str()))
            .filter(|pn| !taken.vnis.contains(&pn.vni.get()));
        let vni = match prev_n {
            Some(pn) => pn.vni,
            None => {
                while used_vnis.contains(&next_vni) {
                    next_vni += 1;
                }
                if next_vni > L2_VNI_LAST {
                    diags.error(
                        np.join("name"),
                        format!("every VNI ({L2_VNI_FIRST}-{L2_VNI_LAST}) is taken; delete a network first"),
                    );
                    continue;
                }
                used_vnis.insert(next_vni);
                Vni::new(next_vni).expect("in range")
            }
        };
        let sites = allocate_gateways(n, prev_n, &np, diags);
        ta.networks
            .insert(n.name.to_string(), NetworkAlloc { vni, sites });
    }
    allocate_clients(intent, t, prev_t, &mut ta, &tp, diags);
    Some(ta)
}

fn valid_tenant_numbers(t: &TenantAlloc) -> bool {
    (1..=MAX_TENANT_ID).contains(&t.id)
}

/// VRRP groups and gateway addresses of one network, per site.
fn allocate_gateways(
    n: &Network,
    prev: Option<&NetworkAlloc>,
    np: &Pointer,
    diags: &mut Diagnostics,
) -> BTreeMap<String, SiteGateway> {
    let mut used_addrs = HashSet::new();
    let mut used_vrids = BTreeSet::new();
    let mut out = BTreeMap::new();
    // Keep what is still valid: same site, addresses still inside the CIDR.
    if let Some(pn) = prev {
        for s in &n.sites {
            let Some(g) = pn.sites.get(s.site.as_str()) else {
                continue;
            };
            let inside = |a: &Ipv4Addr| host_of(n.cidr, *a);
            if !inside(&g.virtual_address) || used_vrids.contains(&g.vrid.get()) {
                continue;
            }
            let routers: BTreeMap<String, Ipv4Addr> = g
                .routers
                .iter()
                .filter(|(r, a)| s.gateways.iter().any(|x| x.as_str() == *r) && inside(a))
                .map(|(r, a)| (r.clone(), *a))
                .collect();
            used_vrids.insert(g.vrid.get());
            used_addrs.insert(g.virtual_address);
            used_addrs.extend(routers.values().copied());
            out.insert(
                s.site.to_string(),
                SiteGateway {
                    vrid: g.vrid,
                    virtual_address: g.virtual_address,
                    routers,
                },
            );
        }
    }
    let mut hosts = n.cidr.hosts();
    let mut next_free = |used: &mut HashSet<Ipv4Addr>| -> Option<Ipv4Addr> {
        hosts.by_ref().find(|h| used.insert(*h))
    };
    for (si, s) in n.sites.iter().enumerate() {
        let sp = np.join("sites").join(si);
        let key = s.site.to_string();
        if !out.contains_key(&key) {
            let Some(vrid) = (1..=255u8).find(|v| !used_vrids.contains(v)) else {
                diags.error(sp, "every VRRP group number (1-255) of this segment is taken; ask a platform admin");
                continue;
            };
            let Some(vip) = next_free(&mut used_addrs) else {
                diags.error(
                    np.join("cidr"),
                    format!(
                        "network {} has no free address for the gateway of site {}; choose a larger network",
                        n.cidr, s.site
                    ),
                );
                continue;
            };
            used_vrids.insert(vrid);
            out.insert(
                key.clone(),
                SiteGateway {
                    vrid: Vrid::new(vrid).expect("1-255"),
                    virtual_address: vip,
                    routers: BTreeMap::new(),
                },
            );
        }
        let mut gw_sorted: Vec<_> = s.gateways.iter().collect();
        gw_sorted.sort();
        for r in gw_sorted {
            let entry = out.get_mut(&key).expect("inserted above");
            if entry.routers.contains_key(r.as_str()) {
                continue;
            }
            match next_free(&mut used_addrs) {
                Some(a) => {
                    entry.routers.insert(r.to_string(), a);
                }
                None => diags.error(
                    np.join("cidr"),
                    format!(
                        "network {} has no free address for gateway router {r}; choose a larger network",
                        n.cidr
                    ),
                ),
            }
        }
    }
    out
}

/// A usable host address of `net` (not its network or broadcast address).
fn host_of(net: Ipv4Net, a: Ipv4Addr) -> bool {
    net.contains(&a) && (net.prefix_len() >= 31 || (a != net.network() && a != net.broadcast()))
}

fn allocate_clients(
    intent: &Intent,
    t: &Tenant,
    prev: Option<&TenantAlloc>,
    ta: &mut TenantAlloc,
    tp: &Pointer,
    diags: &mut Diagnostics,
) {
    if t.clients.is_empty() {
        return;
    }
    let pools = &intent.platform.pools;
    let overlaps_tenant = |s: &Ipv4Net| {
        t.networks
            .iter()
            .any(|n| n.cidr.contains(s) || s.contains(&n.cidr))
    };
    let subnet = prev
        .and_then(|p| p.client_subnet)
        .filter(|s| pools.wireguard_overlay.contains(s) && !overlaps_tenant(s))
        .or_else(|| {
            pools
                .wireguard_overlay
                .subnets(pools.client_prefix_len)
                .ok()?
                .find(|s| !overlaps_tenant(s))
        });
    let Some(subnet) = subnet else {
        diags.error(
            tp.join("clients"),
            format!(
                "the WireGuard overlay pool ({}) has no /{} free of this tenant's networks; ask a platform admin",
                pools.wireguard_overlay, pools.client_prefix_len
            ),
        );
        return;
    };
    ta.client_subnet = Some(subnet);
    let gateway = ta.client_gateway();
    let mut used: HashSet<Ipv4Addr> = gateway.into_iter().collect();
    let mut clients: Vec<_> = t.clients.iter().enumerate().collect();
    clients.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    if let Some(p) = prev.filter(|p| p.client_subnet == Some(subnet)) {
        for (_, c) in &clients {
            if let Some(a) = p.clients.get(c.name.as_str()) {
                if host_of(subnet, *a) && used.insert(*a) {
                    ta.clients.insert(c.name.to_string(), *a);
                }
            }
        }
    }
    let mut hosts = subnet.hosts();
    for (ci, c) in clients {
        if ta.clients.contains_key(c.name.as_str()) {
            continue;
        }
        match hosts.by_ref().find(|h| !used.contains(h)) {
            Some(a) => {
                used.insert(a);
                ta.clients.insert(c.name.to_string(), a);
            }
            None => diags.error(
                tp.join("clients").join(ci),
                format!(
                    "the client addresses of {} ({subnet}) are all taken; remove a client first",
                    t.slug
                ),
            ),
        }
    }
}

/// Host addresses of a pool, handed out lowest first.
struct AddrPool {
    name: &'static str,
    net: Ipv4Net,
    used: HashSet<Ipv4Addr>,
    cursor: u32,
}

impl AddrPool {
    fn new(name: &'static str, net: Ipv4Net) -> Self {
        Self {
            name,
            net,
            used: HashSet::new(),
            cursor: u32::from(net.network()),
        }
    }
    /// Marks an address used; false when it is outside the pool or taken.
    fn reserve(&mut self, a: Ipv4Addr) -> bool {
        host_of(self.net, a) && self.used.insert(a)
    }
    fn take(&mut self, diags: &mut Diagnostics, who: &Pointer) -> Option<Ipv4Addr> {
        let last = u32::from(self.net.broadcast());
        while self.cursor < last {
            self.cursor += 1;
            let a = Ipv4Addr::from(self.cursor);
            if host_of(self.net, a) && self.used.insert(a) {
                return Some(a);
            }
        }
        diags.error(
            who.clone(),
            format!(
                "the {} pool ({}) is full; ask a platform admin to widen it",
                self.name.replace('_', "-"),
                self.net
            ),
        );
        None
    }
}
