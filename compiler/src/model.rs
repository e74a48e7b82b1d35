//! The device-neutral model: what each router and hypervisor must do,
//! independent of VyOS or OVS syntax. Built from the checked intent, the
//! allocation and the key material; rendered by `vyos` and `ovs`.
//!
//! A router's model is split into a platform part and one part per tenant it
//! serves, so a one-tenant change rebuilds and re-renders only that tenant's
//! parts on the routers and hypervisors the tenant touches.

use crate::alloc::{Allocation, TenantAlloc};
use crate::intent::{Intent, Tenant, VyosVersion};
use crate::mesh::{Member, MeshState, Slot, View};
use crate::mtu::mtu_budget;
use crate::policy::{self, CompiledPolicy};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

/// Key material, kept apart from the intent: private keys and API keys are
/// secrets the CLI keeps in a 0600 file and the server in its secret store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    #[serde(default)]
    pub routers: BTreeMap<String, RouterSecrets>,
    #[serde(default)]
    pub hypervisors: BTreeMap<String, HypervisorSecrets>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSecrets {
    pub wireguard_private_key: String,
    pub wireguard_public_key: String,
    pub api_key: String,
    /// A router's API key rotates in three checked steps (issue 17, item
    /// 6): the next key is added beside the current one (`api_key_next`,
    /// rendered as a second key id), then made current once the router
    /// accepts it (the old one kept as `api_key_retired`, rendered
    /// nowhere), then the retired one is dropped once the router refuses
    /// it. See `store::api_keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_retired: Option<String>,
    /// When the current API key became current (Unix seconds): its age
    /// decides when it rotates on schedule. `None` for keys made before
    /// vxguard recorded it (stamped with the time it first looks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_since: Option<i64>,
    /// The mesh key being rotated out (`crate::mesh`): the held slot still
    /// runs it until the rotation's release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_previous: Option<KeyPair>,
    /// When the mesh key became current (Unix seconds): its age decides
    /// when it rotates on schedule. `None`: stamped when first looked at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_since: Option<i64>,
    /// The key tenants' remote-access clients know this router by: the
    /// mesh key until the mesh key first rotates, when it is kept here, so
    /// that a mesh rotation never changes what a client was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<KeyPair>,
    /// Per tenant (slug) whose client interface on this router has been
    /// rotated (issue 17, item 5): the key and interface its clients'
    /// configurations name now. A tenant without one is on `client_key`
    /// and its own interface (`wg<tenant id>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_epochs: BTreeMap<String, ClientEpoch>,
    /// A rotation of the tenants' client interfaces under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_rotation: Option<ClientRotation>,
}

/// One key epoch of a tenant's client interface on a router (issue 17,
/// item 5). WireGuard gives an interface one private key, so each epoch
/// is an interface of its own: `wg<number>` listening on the platform's
/// WireGuard port plus `number`. The first epoch's number is the tenant
/// id; a rotation gives the next epoch a number no tenant holds (nor any
/// interface of the router), so its name and port are free on the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEpoch {
    pub key: KeyPair,
    pub number: u32,
    /// The clients (public keys) whose configuration names an earlier
    /// epoch: not current, and not peers of this epoch's interface.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub stale: BTreeSet<String>,
}

/// A rotation of a router's client interfaces: for its grace period each
/// rotated tenant has two interfaces, the current epoch's (the clients
/// whose configuration names it) and the next one's (every other client:
/// those created or given a new key since the rotation began).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRotation {
    /// When it began (Unix seconds): the old interfaces go `grace_secs`
    /// later.
    pub begun_at: i64,
    pub grace_secs: u64,
    /// Per tenant (slug): its next epoch, whose `stale` set is the clients
    /// the rotation found (their configurations name the current epoch).
    #[serde(default)]
    pub tenants: BTreeMap<String, ClientEpoch>,
}

/// Where a tenant's client configurations point on its client router: the
/// router's public key and the interface number (port = platform port +
/// number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientEndpoint {
    pub public_key: String,
    pub number: u32,
}

/// Which configuration a client holds, as the router's state says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientConfigState {
    /// Names the newest key and interface.
    Current,
    /// Names the key being rotated out: works until the grace period ends.
    Previous,
    /// Names a key the router no longer holds: no longer connects.
    Stale,
}

impl RouterSecrets {
    /// The private key of the tenants' client interfaces.
    pub fn client_private_key(&self) -> &str {
        match &self.client_key {
            Some(k) => &k.private_key,
            None => &self.wireguard_private_key,
        }
    }

    /// The public key tenants' client configurations name this router by.
    pub fn client_public_key(&self) -> &str {
        match &self.client_key {
            Some(k) => &k.public_key,
            None => &self.wireguard_public_key,
        }
    }

    /// Tenant `slug`'s (id `tenant_id`) current client epoch: its private
    /// key, public key, interface number and stale clients.
    pub fn client_current(
        &self,
        slug: &str,
        tenant_id: u32,
    ) -> (&str, &str, u32, Option<&BTreeSet<String>>) {
        match self.client_epochs.get(slug) {
            Some(e) => (
                &e.key.private_key,
                &e.key.public_key,
                e.number,
                Some(&e.stale),
            ),
            None => (
                self.client_private_key(),
                self.client_public_key(),
                tenant_id,
                None,
            ),
        }
    }

    /// Tenant `slug`'s next client epoch, while a rotation is under way.
    pub fn client_next(&self, slug: &str) -> Option<&ClientEpoch> {
        self.client_rotation.as_ref()?.tenants.get(slug)
    }

    /// What a configuration made now for a client of tenant `slug` names.
    pub fn client_endpoint(&self, slug: &str, tenant_id: u32) -> ClientEndpoint {
        match self.client_next(slug) {
            Some(n) => ClientEndpoint {
                public_key: n.key.public_key.clone(),
                number: n.number,
            },
            None => {
                let (_, public, number, _) = self.client_current(slug, tenant_id);
                ClientEndpoint {
                    public_key: public.to_string(),
                    number,
                }
            }
        }
    }

    /// Which configuration the client with `public_key` of tenant `slug`
    /// holds.
    pub fn client_config_state(
        &self,
        slug: &str,
        tenant_id: u32,
        public_key: &str,
    ) -> ClientConfigState {
        let (_, _, _, stale) = self.client_current(slug, tenant_id);
        if stale.is_some_and(|s| s.contains(public_key)) {
            return ClientConfigState::Stale;
        }
        match self.client_next(slug) {
            Some(n) if n.stale.contains(public_key) => ClientConfigState::Previous,
            _ => ClientConfigState::Current,
        }
    }
}

/// A WireGuard key pair (base64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPair {
    pub private_key: String,
    pub public_key: String,
}

/// The private key of `name`'s mesh key whose public half is `public`:
/// the current key or the one being rotated out. `None` for neither.
fn mesh_private_key<'s>(
    current: (&'s str, &'s str),
    previous: Option<&'s KeyPair>,
    public: &str,
) -> Option<&'s str> {
    if current.1 == public {
        return Some(current.0);
    }
    previous
        .filter(|k| k.public_key == public)
        .map(|k| k.private_key.as_str())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypervisorSecrets {
    pub wireguard_private_key: String,
    pub wireguard_public_key: String,
    /// As [`RouterSecrets::wireguard_previous`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_previous: Option<KeyPair>,
    /// As [`RouterSecrets::wireguard_since`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_since: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgPeer {
    /// Peer name (router or hypervisor or client), used as the VyOS peer tag.
    pub name: String,
    pub public_key: String,
    pub endpoint: Option<(IpAddr, u16)>,
    pub allowed_ips: Vec<Ipv4Net>,
    pub keepalive: Option<u16>,
}

/// One of a device's two WireGuard mesh interfaces (`crate::mesh`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshSlot {
    pub slot: Slot,
    pub port: u16,
    pub private_key: String,
    pub peers: Vec<WgPeer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterModel {
    pub name: String,
    pub version: VyosVersion,
    pub site: String,
    pub asn: u32,
    pub mesh_address: Ipv4Addr,
    /// The control-plane pool: routed into the active mesh slot.
    pub mesh_pool: Ipv4Net,
    pub wg_mtu: u16,
    /// The interface the underlay (and so the mesh) runs on: the gateway
    /// groups track it.
    pub underlay_interface: String,
    /// Both mesh slots (`crate::mesh`), A then B.
    pub mesh: [MeshSlot; 2],
    /// The slot that carries traffic.
    pub mesh_active: Slot,
    /// iBGP l2vpn-evpn neighbours (every other router's mesh address).
    pub bgp_neighbors: Vec<(String, Ipv4Addr)>,
    pub api_key_id: String,
    pub api_key: String,
    /// The key being rotated in, under id `<api_key_id>-next`.
    pub api_key_next: Option<String>,
    pub tenants: Vec<TenantOnRouter>,
}

/// Everything one tenant needs on one router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantOnRouter {
    pub slug: String,
    pub id: u32,
    pub vrf: String,
    pub table: u32,
    pub l3_vni: u32,
    pub rd: String,
    pub rt: String,
    pub mtu: u16,
    pub segments: Vec<Segment>,
    /// The tenant's client interfaces: none, its current epoch's, and
    /// during a rotation the next epoch's (issue 17, item 5).
    pub clients: Vec<ClientInterface>,
    pub policy: CompiledPolicy,
}

/// A tenant network as seen by one gateway router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub network: String,
    pub vni: u32,
    pub cidr: Ipv4Net,
    pub address: Ipv4Addr,
    /// Hypervisor VTEPs hosting this network (static head-end replication).
    pub remotes: Vec<Ipv4Addr>,
    pub vrrp_group: String,
    pub vrid: u8,
    pub virtual_address: Ipv4Addr,
    pub priority: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInterface {
    pub ifname: String,
    /// The gateway address on the client subnet: on one interface of the
    /// tenant only (the current epoch's while it has peers), so that the
    /// subnet's connected route is unambiguous.
    pub address: Option<Ipv4Net>,
    pub port: u16,
    pub private_key: String,
    pub peers: Vec<WgPeer>,
    /// Clients' addresses routed into this interface (`/32`s in the
    /// tenant's VRF): the next epoch's clients while the current epoch's
    /// interface holds the subnet.
    pub routes: Vec<Ipv4Net>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HypervisorModel {
    pub name: String,
    pub site: String,
    pub bridge: String,
    pub vtep: Ipv4Addr,
    pub tenant_mtu: u16,
    pub networks: Vec<HvNetwork>,
    /// Both mesh slots (`crate::mesh`), A then B: each peers with every
    /// other VTEP (routers and hypervisors, all sites).
    pub mesh: [MeshSlot; 2],
    /// The slot the host routes the mesh into.
    pub mesh_active: Slot,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HvNetwork {
    pub tenant: String,
    pub tenant_id: u32,
    pub network: String,
    pub vni: u32,
    pub cidr: Ipv4Net,
    pub ports: Vec<(String, Option<Ipv4Addr>)>,
    /// Every other VTEP of this network: gateway routers of all its sites and
    /// the other hypervisors hosting it.
    pub remotes: Vec<Ipv4Addr>,
    pub rate_limit_pps: Option<u32>,
    pub policy: CompiledPolicy,
}

/// VRRP priorities: the first gateway of a pair is the preferred master.
pub const PRIORITY_PRIMARY: u8 = 200;
pub const PRIORITY_SECONDARY: u8 = 100;

/// VRF name of a tenant: its slug when it fits Linux's 15-character
/// interface names (a VRF is a device), else `vxg-<tenant id>`; both are stable.
pub fn vrf_name(slug: &str, id: u32) -> String {
    if vyos_defs::validators::vrf_name(slug)
        && !vyos_defs::validators::VRF_RESERVED.contains(&slug)
        && !AVOIDED_VRF_NAMES.contains(&slug)
    {
        slug.to_string()
    } else {
        format!("vxg-{id}")
    }
}

/// Names VyOS accepts for a VRF but a tenant's VRF must not take: `mgmt`
/// is the management VRF operators conventionally configure on VyOS. (The
/// names VyOS refuses are `vyos_defs::validators::VRF_RESERVED`, with
/// vrf.py, and `lo`, with the `vrf-name` validator.)
const AVOIDED_VRF_NAMES: &[&str] = &["mgmt"];

/// Where a tenant's WireGuard clients terminate: the configured router, else
/// the first gateway of its first network.
pub fn client_router(t: &Tenant) -> Option<String> {
    t.client_router.as_ref().map(|r| r.to_string()).or_else(|| {
        t.networks
            .first()?
            .sites
            .first()?
            .gateways
            .first()
            .map(|g| g.to_string())
    })
}

/// The port a tenant's client interface listens on: the platform's
/// WireGuard port plus the interface's number, the tenant id for its first
/// key epoch (each tenant has its own interface; [`ClientEpoch`]).
pub fn client_port(wg_port: u16, number: u32) -> u16 {
    wg_port.wrapping_add(number as u16)
}

/// The routers a tenant touches: gateways of its networks.
pub fn tenant_routers(t: &Tenant) -> Vec<String> {
    let mut v: Vec<String> = t
        .networks
        .iter()
        .flat_map(|n| &n.sites)
        .flat_map(|s| &s.gateways)
        .map(|g| g.to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The hypervisors a tenant touches: those holding its ports.
pub fn tenant_hypervisors(t: &Tenant) -> Vec<String> {
    let mut v: Vec<String> = t
        .networks
        .iter()
        .flat_map(|n| &n.ports)
        .map(|p| p.hypervisor.to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Context shared by all model builders of one compile.
pub struct Ctx<'a> {
    pub intent: &'a Intent,
    pub alloc: &'a Allocation,
    pub secrets: &'a Secrets,
    pub wg_mtu: u16,
    pub tenant_mtu: u16,
    pub router_addr: BTreeMap<&'a str, Ipv4Addr>,
    pub hv_addr: BTreeMap<&'a str, Ipv4Addr>,
    pub hv_site: BTreeMap<&'a str, &'a str>,
    /// The mesh the intent asks for now (`crate::mesh`).
    pub mesh_target: View,
}

/// The mesh the intent asks for: every router and hypervisor with its
/// public key, underlay and mesh address.
pub fn mesh_view(intent: &Intent, alloc: &Allocation, secrets: &Secrets) -> View {
    let p = &intent.platform;
    let mut members = BTreeMap::new();
    for r in &p.routers {
        let Some(a) = alloc.routers.get(r.name.as_str()) else {
            continue;
        };
        members.insert(
            r.name.to_string(),
            Member {
                public_key: secrets
                    .routers
                    .get(r.name.as_str())
                    .map(|s| s.wireguard_public_key.clone())
                    .unwrap_or_default(),
                underlay: r.underlay_address,
                address: a.mesh_address,
            },
        );
    }
    for h in &p.hypervisors {
        let Some(a) = alloc.hypervisors.get(h.name.as_str()) else {
            continue;
        };
        members.insert(
            h.name.to_string(),
            Member {
                public_key: secrets
                    .hypervisors
                    .get(h.name.as_str())
                    .map(|s| s.wireguard_public_key.clone())
                    .unwrap_or_default(),
                underlay: h.underlay_address,
                address: a.vtep_address,
            },
        );
    }
    View {
        port: p.wireguard.port,
        members,
    }
}

/// A device's mesh keys: (private, public) now, and the one being
/// rotated out.
#[derive(Clone, Copy, Default)]
struct MeshKeys<'s> {
    current: (&'s str, &'s str),
    previous: Option<&'s KeyPair>,
}

impl<'a> Ctx<'a> {
    pub fn new(intent: &'a Intent, alloc: &'a Allocation, secrets: &'a Secrets) -> Self {
        let (wg_mtu, tenant_mtu) = mtu_budget(intent);
        Self {
            intent,
            alloc,
            secrets,
            wg_mtu,
            tenant_mtu,
            router_addr: alloc
                .routers
                .iter()
                .map(|(k, v)| (k.as_str(), v.mesh_address))
                .collect(),
            hv_addr: alloc
                .hypervisors
                .iter()
                .map(|(k, v)| (k.as_str(), v.vtep_address))
                .collect(),
            hv_site: intent
                .platform
                .hypervisors
                .iter()
                .map(|h| (h.name.as_str(), h.site.as_str()))
                .collect(),
            mesh_target: mesh_view(intent, alloc, secrets),
        }
    }

    /// Device `name`'s two mesh slots: each renders the view the mesh
    /// state gives it; a device missing from a held view (just added)
    /// renders the intent's there too, so that no slot is left without
    /// peers (VyOS refuses a WireGuard interface without one).
    fn mesh_slots(&self, name: &str, keys: MeshKeys<'_>) -> [MeshSlot; 2] {
        let state: &MeshState = &self.alloc.mesh;
        let keepalive = Some(self.intent.platform.wireguard.keepalive);
        Slot::BOTH.map(|slot| {
            let held = state.view(slot, &self.mesh_target);
            let view = if held.members.contains_key(name) {
                held
            } else {
                &self.mesh_target
            };
            let port = slot.port(view.port);
            // A slot runs the key its view names the device by: a slot
            // held through a key rotation keeps the key being rotated out.
            let private_key = view
                .members
                .get(name)
                .and_then(|m| mesh_private_key(keys.current, keys.previous, &m.public_key))
                .unwrap_or(keys.current.0);
            let mut peers: Vec<WgPeer> = view
                .members
                .iter()
                .filter(|(n, _)| n.as_str() != name)
                .map(|(n, m)| WgPeer {
                    name: n.clone(),
                    public_key: m.public_key.clone(),
                    endpoint: Some((m.underlay, port)),
                    allowed_ips: vec![Self::host32(m.address)],
                    keepalive,
                })
                .collect();
            peers.sort_by(|a, b| a.name.cmp(&b.name));
            MeshSlot {
                slot,
                port,
                private_key: private_key.to_string(),
                peers,
            }
        })
    }

    fn router_keys(&self, name: &str) -> MeshKeys<'a> {
        match self.secrets.routers.get(name) {
            Some(s) => MeshKeys {
                current: (&s.wireguard_private_key, &s.wireguard_public_key),
                previous: s.wireguard_previous.as_ref(),
            },
            None => MeshKeys::default(),
        }
    }

    fn hypervisor_keys(&self, name: &str) -> MeshKeys<'a> {
        match self.secrets.hypervisors.get(name) {
            Some(s) => MeshKeys {
                current: (&s.wireguard_private_key, &s.wireguard_public_key),
                previous: s.wireguard_previous.as_ref(),
            },
            None => MeshKeys::default(),
        }
    }

    fn host32(a: Ipv4Addr) -> Ipv4Net {
        Ipv4Net::new(a, 32).expect("/32")
    }

    /// The platform part of a router: mesh, BGP, API. Tenants are added separately.
    pub fn router(&self, name: &str) -> RouterModel {
        let p = &self.intent.platform;
        let r = p
            .routers
            .iter()
            .find(|r| r.name.as_str() == name)
            .expect("router exists");
        let me = self.router_addr[name];
        let mut bgp_neighbors: Vec<(String, Ipv4Addr)> = p
            .routers
            .iter()
            .filter(|o| o.name.as_str() != name)
            .map(|o| (o.name.to_string(), self.router_addr[o.name.as_str()]))
            .collect();
        bgp_neighbors.sort_by_key(|(_, a)| *a);
        let sec = self.secrets.routers.get(name);
        RouterModel {
            name: name.to_string(),
            version: r.version,
            site: r.site.to_string(),
            asn: p.asn.get(),
            mesh_address: me,
            mesh_pool: p.pools.control_plane,
            wg_mtu: self.wg_mtu,
            underlay_interface: r.underlay_interface.clone(),
            mesh: self.mesh_slots(name, self.router_keys(name)),
            mesh_active: self.alloc.mesh.active,
            bgp_neighbors,
            api_key_id: "vxguard".into(),
            api_key: sec.map(|s| s.api_key.clone()).unwrap_or_default(),
            api_key_next: sec.and_then(|s| s.api_key_next.clone()),
            tenants: Vec::new(),
        }
    }

    /// One tenant's part on one router, or None when the router is not its gateway.
    pub fn tenant_on_router(&self, t: &Tenant, router: &str) -> Option<TenantOnRouter> {
        let ta: &TenantAlloc = self.alloc.tenants.get(t.slug.as_str())?;
        let asn = self.intent.platform.asn.get();
        let mut segments = Vec::new();
        for n in &t.networks {
            let na = &ta.networks[n.name.as_str()];
            for s in &n.sites {
                let Some(pos) = s.gateways.iter().position(|g| g.as_str() == router) else {
                    continue;
                };
                let g = &na.sites[s.site.as_str()];
                // Every other VTEP of the network: hypervisors hosting it and
                // the other gateway routers of all its sites. The routers must
                // be listed too: with a unicast `remote` on the device, FRR's
                // zebra takes it as the device's BUM group and installs no
                // EVPN head-end flood entries, so VRRP adverts and ARP would
                // never reach the other gateways (seen in the lab: two
                // masters per group).
                let mut remotes: Vec<Ipv4Addr> = n
                    .ports
                    .iter()
                    .filter_map(|p| self.hv_addr.get(p.hypervisor.as_str()).copied())
                    .chain(
                        n.sites
                            .iter()
                            .flat_map(|s| &s.gateways)
                            .filter(|g| g.as_str() != router)
                            .filter_map(|g| self.router_addr.get(g.as_str()).copied()),
                    )
                    .collect();
                remotes.sort();
                remotes.dedup();
                segments.push(Segment {
                    network: n.name.to_string(),
                    vni: na.vni.get(),
                    cidr: n.cidr,
                    address: g.routers[router],
                    remotes,
                    vrrp_group: format!("{}-{}", t.slug, n.name),
                    vrid: g.vrid.get(),
                    virtual_address: g.virtual_address,
                    priority: if pos == 0 {
                        PRIORITY_PRIMARY
                    } else {
                        PRIORITY_SECONDARY
                    },
                });
            }
        }
        if segments.is_empty() {
            return None;
        }
        segments.sort_by_key(|s| s.vni);
        let clients = if client_router(t).as_deref() == Some(router) {
            self.client_interfaces(t, ta, router)
        } else {
            Vec::new()
        };
        let me = self.router_addr[router];
        Some(TenantOnRouter {
            slug: t.slug.to_string(),
            id: ta.id,
            vrf: vrf_name(t.slug.as_str(), ta.id),
            table: ta.vrf_table.get(),
            l3_vni: ta.l3_vni.get(),
            rd: format!("{me}:{}", ta.id),
            rt: ta.route_target(asn),
            mtu: self.tenant_mtu,
            segments,
            clients,
            policy: policy::compile(t, ta.client_subnet),
        })
    }

    /// A tenant's client interfaces on its client router (issue 17, item
    /// 5): the current epoch's, with the clients whose configuration names
    /// it, and during a rotation the next epoch's, with every other client.
    /// A client is a peer of one interface only, and its address is routed
    /// into that one: the current interface holds the subnet (its
    /// connected route) while it has peers, and the next one a `/32` per
    /// client; once it has none, the next one holds the subnet. An
    /// interface without peers is not rendered (VyOS requires one).
    fn client_interfaces(
        &self,
        t: &Tenant,
        ta: &TenantAlloc,
        router: &str,
    ) -> Vec<ClientInterface> {
        let Some(subnet) = ta.client_subnet else {
            return Vec::new();
        };
        if t.clients.is_empty() {
            return Vec::new();
        }
        let slug = t.slug.as_str();
        let sec = self.secrets.routers.get(router);
        let (private, _, number, stale) = match sec {
            Some(s) => s.client_current(slug, ta.id),
            None => ("", "", ta.id, None),
        };
        let next = sec.and_then(|s| s.client_next(slug));
        let mut current_peers = Vec::new();
        let mut next_peers = Vec::new();
        let mut clients: Vec<_> = t.clients.iter().collect();
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        for c in clients {
            let Some(addr) = ta.clients.get(c.name.as_str()) else {
                continue;
            };
            let peer = WgPeer {
                name: c.name.to_string(),
                public_key: c.public_key.clone(),
                endpoint: None,
                allowed_ips: vec![Self::host32(*addr)],
                keepalive: None,
            };
            let previous = stale.is_some_and(|s| s.contains(&c.public_key));
            match next {
                // Its configuration names the current epoch: it stays there
                // until the rotation ends (then it no longer connects).
                Some(n) if n.stale.contains(&c.public_key) => {
                    if !previous {
                        current_peers.push(peer)
                    }
                }
                Some(_) => next_peers.push(peer),
                None if previous => {}
                None => current_peers.push(peer),
            }
        }
        let gateway = Ipv4Net::new(
            ta.client_gateway().expect("subnet has hosts"),
            subnet.prefix_len(),
        )
        .expect("valid");
        let port = |n: u32| client_port(self.intent.platform.wireguard.port, n);
        let mut out = Vec::new();
        let current_holds_subnet = !current_peers.is_empty();
        if current_holds_subnet {
            out.push(ClientInterface {
                ifname: format!("wg{number}"),
                address: Some(gateway),
                port: port(number),
                private_key: private.to_string(),
                peers: current_peers,
                routes: Vec::new(),
            });
        }
        if let Some(n) = next.filter(|_| !next_peers.is_empty()) {
            let routes = if current_holds_subnet {
                next_peers
                    .iter()
                    .flat_map(|p| p.allowed_ips.clone())
                    .collect()
            } else {
                Vec::new()
            };
            out.push(ClientInterface {
                ifname: format!("wg{}", n.number),
                address: (!current_holds_subnet).then_some(gateway),
                port: port(n.number),
                private_key: n.key.private_key.clone(),
                peers: next_peers,
                routes,
            });
        }
        out
    }

    pub fn hypervisor(&self, name: &str) -> HypervisorModel {
        let p = &self.intent.platform;
        let h = p
            .hypervisors
            .iter()
            .find(|h| h.name.as_str() == name)
            .expect("hypervisor exists");
        // Every other VTEP, routers and hypervisors of every site, is a
        // direct peer (a full mesh): with a VTEP reachable only through a
        // router of the site, that router's loss would cut the hypervisor
        // off from the other sites (WireGuard gives a prefix to one peer).
        let mut networks = Vec::new();
        for t in &self.intent.tenants {
            networks.extend(self.tenant_on_hypervisor(t, name));
        }
        HypervisorModel {
            name: name.to_string(),
            site: h.site.to_string(),
            bridge: h.bridge.clone(),
            vtep: self.hv_addr[name],
            tenant_mtu: self.tenant_mtu,
            networks,
            mesh: self.mesh_slots(name, self.hypervisor_keys(name)),
            mesh_active: self.alloc.mesh.active,
        }
    }

    /// A tenant's networks with ports on one hypervisor.
    pub fn tenant_on_hypervisor(&self, t: &Tenant, hv: &str) -> Vec<HvNetwork> {
        let Some(ta) = self.alloc.tenants.get(t.slug.as_str()) else {
            return Vec::new();
        };
        let me = self.hv_addr[hv];
        let mut out = Vec::new();
        for n in &t.networks {
            let ports: Vec<(String, Option<Ipv4Addr>)> = n
                .ports
                .iter()
                .filter(|p| p.hypervisor.as_str() == hv)
                .map(|p| (p.name.clone(), p.address))
                .collect();
            if ports.is_empty() {
                continue;
            }
            let mut remotes: Vec<Ipv4Addr> = n
                .sites
                .iter()
                .flat_map(|s| &s.gateways)
                .filter_map(|g| self.router_addr.get(g.as_str()).copied())
                .chain(
                    n.ports
                        .iter()
                        .filter_map(|p| self.hv_addr.get(p.hypervisor.as_str()).copied()),
                )
                .filter(|a| *a != me)
                .collect();
            remotes.sort();
            remotes.dedup();
            out.push(HvNetwork {
                tenant: t.slug.to_string(),
                tenant_id: ta.id,
                network: n.name.to_string(),
                vni: ta.networks[n.name.as_str()].vni.get(),
                cidr: n.cidr,
                ports,
                remotes,
                rate_limit_pps: n.rate_limit_pps,
                policy: policy::compile(t, ta.client_subnet),
            });
        }
        out
    }
}
