//! The realisation plan: a pure function from a router's configuration
//! tree to what must exist on the host (namespaces, links, addresses,
//! WireGuard settings). No I/O here, so every mapping rule is unit-tested
//! without root; [`super::apply`] turns the difference between two plans
//! into commands.
//!
//! VyOS semantics kept (vyos-1x `interfaces_*.py`, `vyos/ifconfig/*.py`):
//! - WireGuard: `private-key`, `port` (listen port), per peer `public-key`,
//!   `allowed-ips`, endpoint `address`:`port`, `persistent-keepalive`;
//!   interface `address`es and `mtu` (default 1420). Like VyOS (and unlike
//!   wg-quick) no route is installed for a peer's allowed-ips: only the
//!   connected routes of the interface's addresses.
//! - VXLAN: `ip link add ... type vxlan id VNI dstport PORT(4789) local
//!   SOURCE ttl 16 [nolearning] [remote FIRST]`, then one all-zero flood
//!   entry (`bridge fdb append 00:00:00:00:00:00 dst R`) per further
//!   remote, as `vyos/ifconfig/vxlan.py` does; `mtu` default 1450.
//! - Bridge: members enslaved, `mtu` (default 1500), `address`es. The
//!   bridge of a VRF's L3 VNI (in VRF `T`, a member is the VXLAN of `vrf
//!   name T vni`) is built in the VRF's namespace with that VXLAN.
//! - `description` becomes the link's alias, as VyOS sets `ifalias`.
//!
//! - `high-availability vrrp`: keepalived.conf texts, see [`super::vrrp`].
//! - `firewall ipv4`: an nftables ruleset, see [`super::firewall`].
//! - `protocols bgp`, `vrf name T protocols bgp`: frr.conf text, see
//!   [`super::frr`].
//!
//! Subtrees and nodes this plan does not cover are listed in
//! [`Plan::not_realised`] instead of being silently dropped.

use std::collections::BTreeMap;

use vyos_tree::{ConfigTree, NodeRef};

// The plan's types live in `types` (shared with the renderers and `apply`);
// re-exported here, where they have always been named.
pub use super::types::vrf_netns;
pub use super::types::{
    BridgeIf, DummyIf, Keepalived, L3Port, Place, Plan, PlanError, VrfNs, VxlanIf, WgIf, WgPeer,
    IFNAME_MAX,
};

/// Builds the plan for `tree` on a router whose namespace is `router_ns`
/// and whose interfaces get the host-unique prefix `id`.
pub fn plan(tree: &ConfigTree, router_ns: &str, id: &str) -> Result<Plan, PlanError> {
    if id.is_empty()
        || id.len() > 3
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(PlanError::BadId(id.into()));
    }
    let mut p = Plan {
        router_ns: router_ns.into(),
        ..Plan::default()
    };
    let root = tree.root();
    let r = Reader { tree };

    if let Some(vrfs) = root.get(&["vrf", "name"]) {
        for (name, v) in vrfs.children() {
            let path = format!("vrf name {name}");
            for (k, _) in v.children() {
                if !matches!(k, "table" | "vni" | "description" | "protocols") {
                    p.not_realised.push(format!("{path} {k}"));
                }
            }
            p.vrfs.push(VrfNs {
                vrf: name.into(),
                netns: vrf_netns(router_ns, name),
                table: r.num(&["vrf", "name", name, "table"])?,
                vni: r.num(&["vrf", "name", name, "vni"])?,
            });
        }
    }

    let mut devs: BTreeMap<String, String> = BTreeMap::new();
    if let Some(ifaces) = root.get(&["interfaces"]) {
        for (kind, tag) in ifaces.children() {
            if !matches!(kind, "wireguard" | "vxlan" | "bridge" | "dummy") {
                p.not_realised.push(format!("interfaces {kind}"));
                continue;
            }
            for (name, _) in tag.children() {
                let dev = format!("{id}{name}");
                check_len(&format!("interfaces {kind} {name}"), &dev)?;
                devs.insert(name.into(), dev);
            }
        }
    }
    let place_of = |kind: &str, name: &str, p: &Plan| -> Result<Place, PlanError> {
        match r.one(&["interfaces", kind, name, "vrf"]) {
            None => Ok(Place::Router),
            Some(v) if p.vrf(&v).is_some() => Ok(Place::Vrf(v)),
            Some(v) => Err(PlanError::Invalid {
                path: format!("interfaces {kind} {name} vrf"),
                reason: format!("VRF {v:?} is not configured under `vrf name`"),
            }),
        }
    };

    if let Some(ds) = root.get(&["interfaces", "dummy"]) {
        for (name, n) in ds.children() {
            let base = ["interfaces", "dummy", name];
            let path = base.join(" ");
            p.not_realised
                .extend(unknown(n, &path, &["address", "description"]));
            p.dummies.push(DummyIf {
                vyos: name.into(),
                dev: devs[name].clone(),
                description: r.one(&[&base[..], &["description"]].concat()),
                addresses: r.all(&[&base[..], &["address"]].concat()),
            });
        }
    }

    if let Some(wgs) = root.get(&["interfaces", "wireguard"]) {
        for (name, n) in wgs.children() {
            let base = ["interfaces", "wireguard", name];
            let path = base.join(" ");
            p.not_realised.extend(unknown(
                n,
                &path,
                &[
                    "address",
                    "description",
                    "mtu",
                    "peer",
                    "port",
                    "private-key",
                    "vrf",
                ],
            ));
            let private_key = r
                .one(&[&base[..], &["private-key"]].concat())
                .ok_or_else(|| PlanError::Invalid {
                    path: path.clone(),
                    reason: "WireGuard private-key is required".into(),
                })?;
            let mut peers = Vec::new();
            if let Some(ps) = n.child("peer") {
                for (peer, pn) in ps.children() {
                    let pb = [&base[..], &["peer", peer]].concat();
                    let ppath = pb.join(" ");
                    p.not_realised.extend(unknown(
                        pn,
                        &ppath,
                        &[
                            "address",
                            "allowed-ips",
                            "persistent-keepalive",
                            "port",
                            "public-key",
                        ],
                    ));
                    let public_key =
                        r.one(&[&pb[..], &["public-key"]].concat()).ok_or_else(|| {
                            PlanError::Invalid {
                                path: ppath.clone(),
                                reason: "peer public-key is required".into(),
                            }
                        })?;
                    let addr = r.one(&[&pb[..], &["address"]].concat());
                    let port: Option<u16> = r.num(&[&pb[..], &["port"]].concat())?;
                    let endpoint = match (addr, port) {
                        (Some(a), Some(pt)) if a.contains(':') => Some(format!("[{a}]:{pt}")),
                        (Some(a), Some(pt)) => Some(format!("{a}:{pt}")),
                        (None, None) => None,
                        _ => {
                            return Err(PlanError::Invalid {
                                path: ppath,
                                reason: "peer address and port must be set together".into(),
                            })
                        }
                    };
                    peers.push(WgPeer {
                        name: peer.into(),
                        public_key,
                        endpoint,
                        allowed_ips: r.all(&[&pb[..], &["allowed-ips"]].concat()),
                        keepalive: r.num(&[&pb[..], &["persistent-keepalive"]].concat())?,
                    });
                }
            }
            p.wireguard.push(WgIf {
                vyos: name.into(),
                dev: devs[name].clone(),
                place: place_of("wireguard", name, &p)?,
                description: r.one(&[&base[..], &["description"]].concat()),
                addresses: r.all(&[&base[..], &["address"]].concat()),
                mtu: r.num(&[&base[..], &["mtu"]].concat())?.unwrap_or(1420),
                private_key,
                port: r.num(&[&base[..], &["port"]].concat())?,
                peers,
                peer_config: n.child("peer").map(lines).unwrap_or_default(),
            });
        }
    }

    if let Some(vxs) = root.get(&["interfaces", "vxlan"]) {
        for (name, n) in vxs.children() {
            let base = ["interfaces", "vxlan", name];
            let path = base.join(" ");
            p.not_realised.extend(unknown(
                n,
                &path,
                &[
                    "description",
                    "mtu",
                    "parameters",
                    "port",
                    "remote",
                    "source-address",
                    "vni",
                ],
            ));
            if let Some(params) = n.child("parameters") {
                p.not_realised.extend(unknown(
                    params,
                    &format!("{path} parameters"),
                    &["nolearning"],
                ));
            }
            if n.child("vrf").is_some() {
                p.not_realised.push(format!("{path} vrf"));
            }
            let vni =
                r.num(&[&base[..], &["vni"]].concat())?
                    .ok_or_else(|| PlanError::Invalid {
                        path: path.clone(),
                        reason: "vni is required".into(),
                    })?;
            p.vxlans.push(VxlanIf {
                vyos: name.into(),
                dev: devs[name].clone(),
                place: Place::Router,
                description: r.one(&[&base[..], &["description"]].concat()),
                vni,
                port: r.num(&[&base[..], &["port"]].concat())?.unwrap_or(4789),
                source_address: r.one(&[&base[..], &["source-address"]].concat()),
                remotes: r.all(&[&base[..], &["remote"]].concat()),
                nolearning: n.get(&["parameters", "nolearning"]).is_some(),
                mtu: r.num(&[&base[..], &["mtu"]].concat())?.unwrap_or(1450),
            });
        }
    }

    if let Some(brs) = root.get(&["interfaces", "bridge"]) {
        for (name, n) in brs.children() {
            let base = ["interfaces", "bridge", name];
            let path = base.join(" ");
            p.not_realised.extend(unknown(
                n,
                &path,
                &["address", "description", "member", "mtu", "vrf"],
            ));
            let mut members = Vec::new();
            if let Some(ms) = n.get(&["member", "interface"]) {
                for (m, _) in ms.children() {
                    let dev = devs.get(m).ok_or_else(|| PlanError::Invalid {
                        path: format!("{path} member interface {m}"),
                        reason: "not an interface this router has".into(),
                    })?;
                    members.push(dev.clone());
                }
            }
            let dev = devs[name].clone();
            let place = place_of("bridge", name, &p)?;
            if let Some(vrf) = l3vni_bridge(&p, &place, &members) {
                // The SVI of the VRF's L3 VNI: the bridge and its VXLAN
                // move into the VRF's namespace, as FRR's netns VRF
                // backend wants them next to the VRF's routes.
                for m in &members {
                    match p.vxlans.iter_mut().find(|v| &v.dev == m) {
                        Some(v) => v.place = Place::Vrf(vrf.clone()),
                        None => {
                            return Err(PlanError::Invalid {
                                path: format!("{path} member"),
                                reason: format!(
                                    "{m:?}: the bridge of VRF {vrf:?}'s L3 VNI may only have \
                                     VXLAN members"
                                ),
                            })
                        }
                    }
                }
                p.bridges.push(BridgeIf {
                    vyos: name.into(),
                    dev,
                    place,
                    description: r.one(&[&base[..], &["description"]].concat()),
                    members,
                    mtu: r.num(&[&base[..], &["mtu"]].concat())?.unwrap_or(1500),
                    addresses: r.all(&[&base[..], &["address"]].concat()),
                    l3: None,
                    mac: Some(lab_mac(router_ns, name)),
                });
                continue;
            }
            let l3 = match place {
                Place::Router => None,
                Place::Vrf(vrf) => {
                    let port = format!("{dev}p");
                    check_len(&path, &port)?;
                    Some(L3Port {
                        netns: vrf_netns(router_ns, &vrf),
                        vrf,
                        port,
                        dev: dev.clone(),
                    })
                }
            };
            p.bridges.push(BridgeIf {
                vyos: name.into(),
                dev,
                place: Place::Router,
                description: r.one(&[&base[..], &["description"]].concat()),
                members,
                mtu: r.num(&[&base[..], &["mtu"]].concat())?.unwrap_or(1500),
                addresses: r.all(&[&base[..], &["address"]].concat()),
                l3,
                mac: None,
            });
        }
    }

    for (top, _) in root.children() {
        match top {
            "interfaces" | "vrf" => {}
            // The API key is the lab router's own business; the host name
            // goes to FRR only.
            "service" | "system" => {}
            "high-availability" | "firewall" => {}
            "protocols" => {
                for (proto, _) in root
                    .get(&["protocols"])
                    .into_iter()
                    .flat_map(|n| n.children())
                {
                    if !matches!(proto, "bgp" | "static") {
                        p.not_realised.push(format!("protocols {proto}"));
                    }
                }
            }
            other => p.not_realised.push(other.into()),
        }
    }
    let dev_of = |v: &str| devs.get(v).cloned().unwrap_or_else(|| v.to_string());
    p.frr = super::frr::frr_conf(tree, &dev_of, &mut p.not_realised);
    let statics = static_routes(tree, &devs, &mut p.not_realised);
    if !statics.is_empty() {
        let conf = p.frr.take().unwrap_or_else(|| super::frr::header(tree));
        p.frr = Some(super::frr::with_statics(&conf, &statics));
    }
    let mut nr = Vec::new();
    p.keepalived = super::vrrp::keepalived(tree, &p, &mut nr)?;
    let dev = |v: &str| devs.get(v).cloned().unwrap_or_else(|| v.to_string());
    p.firewall = super::firewall::ruleset(tree, &dev, &mut nr)?;
    p.not_realised.extend(nr);
    Ok(p)
}

/// A locally administered unicast MAC fixed by router and interface
/// (FNV-1a of both).
fn lab_mac(router_ns: &str, vyos: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in router_ns.bytes().chain([b'/']).chain(vyos.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    let b = h.to_be_bytes();
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4]
    )
}

/// The VRF whose L3 VNI this bridge carries: the bridge is in VRF `T`
/// and a member is the VXLAN of `vrf name T vni`.
fn l3vni_bridge(p: &Plan, place: &Place, members: &[String]) -> Option<String> {
    let Place::Vrf(vrf) = place else {
        return None;
    };
    let vni = p.vrf(vrf)?.vni?;
    p.vxlans
        .iter()
        .any(|v| v.vni == vni && members.contains(&v.dev))
        .then(|| vrf.clone())
}

/// Every leaf below `n` as its words joined by spaces, in byte order:
/// two subtrees are the same configuration when their lines are.
fn lines(n: NodeRef<'_>) -> Vec<String> {
    fn walk(n: NodeRef<'_>, path: &mut Vec<String>, out: &mut Vec<String>) {
        let mut leaf = true;
        for (w, c) in n.children() {
            leaf = false;
            path.push(w.to_string());
            walk(c, path, out);
            path.pop();
        }
        if leaf {
            out.push(path.join(" "));
        }
    }
    let mut out = Vec::new();
    walk(n, &mut Vec::new(), &mut out);
    out
}

fn check_len(path: &str, name: &str) -> Result<(), PlanError> {
    if name.len() > IFNAME_MAX {
        return Err(PlanError::NameTooLong {
            path: path.into(),
            name: name.into(),
        });
    }
    Ok(())
}

/// `path child` for every child of `n` not in `known`.
fn unknown(n: NodeRef<'_>, path: &str, known: &[&str]) -> Vec<String> {
    n.children()
        .filter(|(k, _)| !known.contains(k))
        .map(|(k, _)| format!("{path} {k}"))
        .collect()
}

/// Reads leaf values in configuration order.
struct Reader<'a> {
    tree: &'a ConfigTree,
}

impl Reader<'_> {
    fn all(&self, path: &[&str]) -> Vec<String> {
        let p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.tree
            .children(&p)
            .unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn one(&self, path: &[&str]) -> Option<String> {
        self.all(path).into_iter().next()
    }

    fn num<T: std::str::FromStr>(&self, path: &[&str]) -> Result<Option<T>, PlanError> {
        match self.one(path) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| PlanError::Invalid {
                path: path.join(" "),
                reason: format!("{v:?} is not a number in range"),
            }),
        }
    }
}

/// `protocols static route P interface I` as VyOS's `staticd.frr.j2`
/// renders it for FRR's staticd (`ip route P I`), with the lab's name of
/// the interface. Other static route forms are not generated by vxguard
/// and are listed as not realised.
fn static_routes(
    tree: &ConfigTree,
    devs: &BTreeMap<String, String>,
    not_realised: &mut Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(st) = tree.root().get(&["protocols", "static"]) else {
        return out;
    };
    for (k, n) in st.children() {
        if k != "route" {
            not_realised.push(format!("protocols static {k}"));
            continue;
        }
        for (prefix, rn) in n.children() {
            for (what, wn) in rn.children() {
                if what == "blackhole" {
                    // `static_routes_macro.j2`: `ip route P blackhole [D]`.
                    let distance = wn
                        .get(&["distance"])
                        .and_then(|d| d.children().next().map(|(v, _)| format!(" {v}")))
                        .unwrap_or_default();
                    for (k, _) in wn.children() {
                        if k != "distance" {
                            not_realised
                                .push(format!("protocols static route {prefix} blackhole {k}"));
                        }
                    }
                    out.push(format!("ip route {prefix} blackhole{distance}"));
                    continue;
                }
                if what != "interface" {
                    not_realised.push(format!("protocols static route {prefix} {what}"));
                    continue;
                }
                for (ifname, inode) in wn.children() {
                    if inode.children().next().is_some() {
                        not_realised.push(format!(
                            "protocols static route {prefix} interface {ifname} (options)"
                        ));
                    }
                    let dev = devs.get(ifname).map_or(ifname, |d| d.as_str());
                    out.push(format!("ip route {prefix} {dev}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyos_tree::NoSchema;

    fn tree(text: &str) -> ConfigTree {
        ConfigTree::parse_set(text, &NoSchema).unwrap()
    }

    const R1: &str = "\
set interfaces wireguard wg0 address '172.27.0.1/20'
set interfaces wireguard wg0 description 'vxguard mesh'
set interfaces wireguard wg0 mtu '1440'
set interfaces wireguard wg0 peer b address '10.9.0.2'
set interfaces wireguard wg0 peer b allowed-ips '172.27.0.2/32'
set interfaces wireguard wg0 peer b allowed-ips '172.27.0.6/32'
set interfaces wireguard wg0 peer b persistent-keepalive '25'
set interfaces wireguard wg0 peer b port '51820'
set interfaces wireguard wg0 peer b public-key 'PUB'
set interfaces wireguard wg0 port '51820'
set interfaces wireguard wg0 private-key 'PRIV'
set interfaces wireguard wg1 address '100.64.0.1/24'
set interfaces wireguard wg1 peer ops allowed-ips '100.64.0.2/32'
set interfaces wireguard wg1 peer ops public-key 'OPS'
set interfaces wireguard wg1 port '51821'
set interfaces wireguard wg1 private-key 'PRIV'
set interfaces wireguard wg1 vrf 'acme'
set interfaces vxlan vxlan10000 mtu '1390'
set interfaces vxlan vxlan10000 remote '172.27.0.6'
set interfaces vxlan vxlan10000 remote '172.27.0.5'
set interfaces vxlan vxlan10000 source-address '172.27.0.1'
set interfaces vxlan vxlan10000 vni '10000'
set interfaces vxlan vxlan9000001 parameters nolearning
set interfaces vxlan vxlan9000001 source-address '172.27.0.1'
set interfaces vxlan vxlan9000001 vni '9000001'
set interfaces bridge br10000 address '100.65.0.2/24'
set interfaces bridge br10000 member interface vxlan10000
set interfaces bridge br10000 mtu '1390'
set interfaces bridge br10000 vrf 'acme'
set interfaces bridge br20 address '192.0.2.1/24'
set interfaces bridge br20 member interface vxlan9000001
set vrf name acme table '101'
set vrf name acme vni '9000001'
set vrf name acme protocols bgp system-as '65000'
set protocols bgp system-as '65000'
set system host-name 'r1'
";

    /// Which of R1's links a one-line change rebuilds (wg0, vxlan10000,
    /// br10000), per VyOS's commit scripts (see `rebuilt_by`).
    #[test]
    fn rebuilds_exactly_where_vyos_does() {
        let before = plan(&tree(R1), "lab-r1", "r1").unwrap();
        let after = |from: &str, to: &str| {
            assert!(R1.contains(from), "{from}");
            let p = plan(&tree(&R1.replace(from, to)), "lab-r1", "r1").unwrap();
            let wg = |p: &Plan| p.wireguard[0].clone();
            let vx = |p: &Plan| p.vxlans[0].clone();
            let br = |p: &Plan| p.bridges[0].clone();
            (
                wg(&before).rebuilt_by(&wg(&p)),
                vx(&before).rebuilt_by(&vx(&p)),
                br(&before).rebuilt_by(&br(&p)),
            )
        };
        let none = (false, false, false);
        assert_eq!(after("description 'vxguard mesh'", "description 'x'"), none);
        assert_eq!(after("wg0 mtu '1440'", "wg0 mtu '1400'"), none);
        assert_eq!(after("wg0 port '51820'", "wg0 port '51822'"), none);
        assert_eq!(
            after("wg0 private-key 'PRIV'", "wg0 private-key 'NEW'"),
            none
        );
        assert_eq!(after("'172.27.0.1/20'", "'172.27.0.9/20'"), none);
        assert_eq!(
            after(
                "peer b persistent-keepalive '25'",
                "peer b persistent-keepalive '20'"
            ),
            (true, false, false)
        );
        assert_eq!(
            after("peer b public-key 'PUB'", "peer b public-key 'PUB2'"),
            (true, false, false)
        );
        assert_eq!(
            after(
                "peer b port '51820'",
                "peer b description 'x'\nset interfaces wireguard wg0 peer b port '51820'"
            ),
            (true, false, false)
        );
        assert_eq!(
            after("vxlan10000 mtu '1390'", "vxlan10000 mtu '1380'"),
            none
        );
        assert_eq!(
            after("remote '172.27.0.5'", "remote '172.27.0.7'"),
            (false, true, false)
        );
        assert_eq!(
            after(
                "vxlan10000 source-address '172.27.0.1'",
                "vxlan10000 source-address '172.27.0.2'"
            ),
            (false, true, false)
        );
        assert_eq!(
            after("vxlan10000 vni '10000'", "vxlan10000 vni '10001'"),
            (false, true, false)
        );
        assert_eq!(
            after(
                "br10000 address '100.65.0.2/24'",
                "br10000 address '100.65.0.3/24'"
            ),
            none
        );
        assert_eq!(after("br10000 mtu '1390'", "br10000 mtu '1380'"), none);
    }

    #[test]
    fn maps_vyos_interfaces_to_host_links() {
        let p = plan(&tree(R1), "lab-r1", "r1").unwrap();
        assert_eq!(
            p.vrfs,
            vec![VrfNs {
                vrf: "acme".into(),
                netns: "lab-r1-acme".into(),
                table: Some(101),
                vni: Some(9000001),
            }]
        );
        let wg0 = &p.wireguard[0];
        assert_eq!((wg0.dev.as_str(), &wg0.place), ("r1wg0", &Place::Router));
        assert_eq!(wg0.mtu, 1440);
        assert_eq!(wg0.description.as_deref(), Some("vxguard mesh"));
        assert_eq!(
            wg0.peers[0],
            WgPeer {
                name: "b".into(),
                public_key: "PUB".into(),
                endpoint: Some("10.9.0.2:51820".into()),
                allowed_ips: vec!["172.27.0.2/32".into(), "172.27.0.6/32".into()],
                keepalive: Some(25),
            }
        );
        let wg1 = &p.wireguard[1];
        assert_eq!(wg1.place, Place::Vrf("acme".into()));
        assert_eq!(p.netns_of(&wg1.place), "lab-r1-acme");
        assert_eq!(wg1.mtu, 1420, "VyOS's default WireGuard MTU");
        assert_eq!(wg1.peers[0].endpoint, None);

        let vx = &p.vxlans[0];
        assert_eq!(vx.dev, "r1vxlan10000");
        assert_eq!(
            vx.remotes,
            vec!["172.27.0.6", "172.27.0.5"],
            "configuration order"
        );
        assert_eq!((vx.port, vx.nolearning, vx.mtu), (4789, false, 1390));
        let l3vni = &p.vxlans[1];
        assert_eq!(
            (l3vni.vni, l3vni.nolearning, l3vni.mtu),
            (9000001, true, 1450)
        );

        let br = p.bridges.iter().find(|b| b.vyos == "br10000").unwrap();
        assert_eq!(br.members, vec!["r1vxlan10000"]);
        assert_eq!(br.addresses, vec!["100.65.0.2/24"]);
        assert_eq!(
            br.l3,
            Some(L3Port {
                vrf: "acme".into(),
                netns: "lab-r1-acme".into(),
                port: "r1br10000p".into(),
                dev: "r1br10000".into(),
            })
        );
        let plain = p.bridges.iter().find(|b| b.vyos == "br20").unwrap();
        assert_eq!((plain.l3.is_none(), plain.mtu), (true, 1500));

        assert!(p.not_realised.is_empty(), "{:?}", p.not_realised);
        assert_eq!(p.vxlans[1].place, Place::Router, "br20 is in no VRF");
        assert!(p.frr.as_deref().unwrap().contains("router bgp 65000\n"));
    }

    #[test]
    fn the_mesh_dummy_and_static_routes_are_realised() {
        let t = tree(
            "set interfaces dummy dum0 address '172.27.0.1/32'\n\
             set interfaces dummy dum0 description 'vxguard VTEP'\n\
             set interfaces wireguard wg65536 private-key 'K'\n\
             set interfaces wireguard wg65536 peer x public-key 'P'\n\
             set interfaces wireguard wg65536 peer x allowed-ips '172.27.0.2/32'\n\
             set protocols static route 172.27.0.0/20 interface wg65536\n\
             set protocols static route 172.27.0.0/20 blackhole distance '254'\n\
             set protocols static route 10.0.0.0/8 next-hop 10.9.0.1\n",
        );
        let p = plan(&t, "lab-r1", "r1").unwrap();
        assert_eq!(
            p.dummies,
            vec![DummyIf {
                vyos: "dum0".into(),
                dev: "r1dum0".into(),
                description: Some("vxguard VTEP".into()),
                addresses: vec!["172.27.0.1/32".into()],
            }]
        );
        let frr = p.frr.unwrap();
        assert!(
            frr.contains(
                "ip route 172.27.0.0/20 blackhole 254\nip route 172.27.0.0/20 r1wg65536\n"
            ),
            "{frr}"
        );
        assert_eq!(
            p.not_realised,
            vec!["protocols static route 10.0.0.0/8 next-hop"]
        );
    }

    #[test]
    fn wg_conf_carries_keys_peers_and_endpoints() {
        let p = plan(&tree(R1), "lab-r1", "r1").unwrap();
        assert_eq!(
            p.wireguard[0].wg_conf(),
            "[Interface]\nPrivateKey = PRIV\nListenPort = 51820\n\n[Peer]\nPublicKey = PUB\n\
             AllowedIPs = 172.27.0.2/32, 172.27.0.6/32\nEndpoint = 10.9.0.2:51820\n\
             PersistentKeepalive = 25\n"
        );
    }

    #[test]
    fn refuses_what_cannot_be_built() {
        let t = tree(R1);
        assert_eq!(plan(&t, "n", "R1"), Err(PlanError::BadId("R1".into())));
        assert_eq!(plan(&t, "n", "abcd"), Err(PlanError::BadId("abcd".into())));
        // "abc" + "vxlan9000001" is 15 characters: fits; "br9000001p" too.
        assert!(plan(&t, "n", "abc").is_ok());
        let long = tree("set interfaces vxlan vxlan90000010 vni '90000010'\n");
        assert!(matches!(
            plan(&long, "n", "abc"),
            Err(PlanError::NameTooLong { .. })
        ));
        let novrf = tree("set interfaces bridge br1 vrf 'ghost'\n");
        assert_eq!(
            plan(&novrf, "n", "r1").unwrap_err().to_string(),
            "interfaces bridge br1 vrf: VRF \"ghost\" is not configured under `vrf name`"
        );
        let half = tree(
            "set interfaces wireguard wg0 private-key 'K'\n\
             set interfaces wireguard wg0 peer x public-key 'P'\n\
             set interfaces wireguard wg0 peer x address '10.0.0.1'\n",
        );
        assert!(plan(&half, "n", "r1")
            .unwrap_err()
            .to_string()
            .contains("address and port must be set together"));
    }

    #[test]
    fn lists_what_it_does_not_realise() {
        let t = tree(
            "set interfaces ethernet eth0 address '10.0.0.1/24'\n\
             set interfaces vxlan vxlan1 vni '1'\n\
             set interfaces vxlan vxlan1 parameters ip df 'set'\n\
             set nat source rule 10 translation address 'masquerade'\n",
        );
        let p = plan(&t, "n", "r1").unwrap();
        assert_eq!(
            p.not_realised,
            vec![
                "interfaces ethernet",
                "interfaces vxlan vxlan1 parameters ip",
                "nat"
            ]
        );
    }

    /// The compiler's own output for the example platform plans cleanly.
    #[test]
    fn plans_the_compilers_example_router() {
        let text = include_str!("testdata/vyos-dc1-01.set");
        let p = plan(&tree(text), "lab-dc1-01", "a1").unwrap();
        assert_eq!(p.vrfs.len(), 3);
        assert_eq!(p.wireguard.len(), 3);
        assert_eq!(p.vxlans.len(), 6);
        assert_eq!(p.bridges.len(), 6);
        assert!(p.not_realised.is_empty(), "{:?}", p.not_realised);
        // Each tenant's L3 VNI and its bridge (the SVI) live in the VRF's
        // namespace; the networks' bridges get a veth into it.
        let finance = Place::Vrf("finance".into());
        let l3 = p.bridges.iter().find(|b| b.vyos == "br9000002").unwrap();
        assert_eq!(
            (&l3.place, &l3.l3, &l3.members[..]),
            (&finance, &None, &["a1vxlan9000002".to_string()][..])
        );
        let mac = l3.mac.as_deref().unwrap();
        assert!(mac.starts_with("02:") && mac.len() == 17, "{mac}");
        let again = plan(&tree(text), "lab-dc1-01", "a1").unwrap();
        assert_eq!(again.bridges, p.bridges, "the router MAC is fixed");
        let vx = p.vxlans.iter().find(|v| v.vni == 9000002).unwrap();
        assert_eq!(vx.place, finance);
        assert_eq!(p.netns_of(&vx.place), "lab-dc1-01-finance");
        let web = p.bridges.iter().find(|b| b.vyos == "br10002").unwrap();
        assert_eq!(web.place, Place::Router);
        assert!(web.l3.is_some());
        assert_eq!(p.bridges.iter().filter(|b| b.l3.is_some()).count(), 3);
        assert_eq!(
            p.vxlans.iter().filter(|v| v.place != Place::Router).count(),
            3
        );
    }

    #[test]
    fn an_l3vni_bridge_takes_only_vxlan_members() {
        let t = tree(
            "set interfaces vxlan vxlan9 vni '9'\n\
             set interfaces wireguard wg1 private-key 'K'\n\
             set interfaces bridge br9 member interface vxlan9\n\
             set interfaces bridge br9 member interface wg1\n\
             set interfaces bridge br9 vrf 'blue'\n\
             set vrf name blue vni '9'\n",
        );
        assert!(plan(&t, "n", "r1")
            .unwrap_err()
            .to_string()
            .contains("may only have VXLAN members"));
    }
}
