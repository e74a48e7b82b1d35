//! Commit-time rules. The XML definitions only check syntax; VyOS's
//! conf_mode scripts reject more at `commit`. These are the ones a control
//! plane's output depends on, each named after the vyos-1x script
//! (`src/conf_mode/<script>.py`) whose `verify()` it mirrors.
//!
//! The rules work on the set paths only (leaf values are the last words), so
//! they need no definitions: a path trie answers "is X set" and "values of X".

use std::collections::HashMap;

use ipnet::IpNet;

/// A configuration VyOS would refuse to commit. `path` points at the node
/// at fault (tag values included); `reason` starts with `[script.py]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.join(" "))]
pub struct CommitError {
    pub path: Vec<String>,
    pub reason: String,
}

/// Runs every rule over a config tree (leaf values are its childless nodes).
pub fn commit_check(tree: &vyos_tree::ConfigTree) -> Vec<CommitError> {
    run(&Trie::of(tree, None))
}

/// [`commit_check`] on the union of two trees, without building it: the
/// verdict on the tree both trees' paths make together, as long as no leaf
/// holds values from both (a single-valued leaf would then keep one value
/// in the combined tree, and show two here). A router's platform commands
/// and one tenant's are checked this way, the platform's tree kept
/// between checks.
pub fn commit_check_union(
    a: &vyos_tree::ConfigTree,
    b: &vyos_tree::ConfigTree,
) -> Vec<CommitError> {
    run(&Trie::of(a, Some(b)))
}

/// Instances whose insides are most of a router's platform commands (a
/// mesh slot's peer for every other VTEP, a BGP neighbour for every other
/// router) and whose rules read nothing outside them but their own key.
/// For path `path`: the length of the instance's owner (the prefix a
/// tenant's tree must not hold for its insides to be left out of the
/// platform's side of a [`commit_check_scoped`]) and the words of the
/// path kept there (the instance's key), when the path lies inside one.
pub fn scoped_detail(path: &[&str]) -> Option<(usize, usize)> {
    match path {
        // `interfaces wireguard W peer P ...`: the peer rules read the
        // peer and its interface's own key (W is the owner).
        ["interfaces", "wireguard", _, "peer", _, _, ..] => Some((3, 5)),
        // `protocols bgp neighbor N ...`: `remote-as` or its peer-group;
        // the local-address rule reads the key alone.
        ["protocols", "bgp", "neighbor", _, _, ..] => Some((4, 4)),
        _ => None,
    }
}

/// The owner prefix of [`scoped_detail`] that `path` is at or under (a
/// tenant's path there makes a scoped check need the platform's whole
/// instance).
pub fn scoped_owner(path: &[&str]) -> Option<usize> {
    match path {
        ["interfaces", "wireguard", _, ..] => Some(3),
        ["protocols", "bgp", "neighbor", _, ..] => Some(4),
        _ => None,
    }
}

/// The errors `b` can cause on top of `a`, where `a` is a configuration
/// VyOS commits (a router's platform commands, validated when compiled)
/// whose instances' insides under [`scoped_detail`] may be left out (only
/// their keys kept), and `b` holds nothing under the owner of an instance
/// left out. The union is judged as [`commit_check_union`] judges it,
/// except that the rules about an instance only `a` holds are not run on
/// its insides: they read only `a`'s words there, so what they find is
/// `a`'s own (none, `a` being valid); what spans instances (ports, local
/// addresses, tables, VNIs, groups) is checked on both as before. A
/// tenant's write is checked this way without building the mesh.
pub fn commit_check_scoped(
    a: &vyos_tree::ConfigTree,
    b: &vyos_tree::ConfigTree,
) -> Vec<CommitError> {
    let mut t = Trie::of(a, Some(b));
    t.scoped = true;
    run(&t)
}

fn run(t: &Trie) -> Vec<CommitError> {
    let mut out = Vec::new();
    for rule in RULES {
        rule(t, &mut out);
    }
    out
}

/// Same as [`commit_check`] on plain set paths (words after `set`, leaf value last).
pub fn commit_check_paths(paths: &[Vec<String>]) -> Vec<CommitError> {
    let mut tree = vyos_tree::ConfigTree::new();
    // Without a schema `set` only adds words, never replaces a value.
    for p in paths {
        tree.set(p, &vyos_tree::NoSchema);
    }
    commit_check(&tree)
}

/// The rules that depend on the running configuration as well as the
/// proposed one: what VyOS refuses to change in place. `old` is what the
/// router runs (its last applied configuration), `new` what a commit
/// would make of it.
pub fn transition_check(
    old: &vyos_tree::ConfigTree,
    new: &vyos_tree::ConfigTree,
) -> Vec<CommitError> {
    let (o, n) = (Trie::of(old, None), Trie::of(new, None));
    let mut out = Vec::new();
    // vrf.py: "VRF X table id modification not possible!" (the kernel
    // keeps a VRF device's table for its life; VyOS checks the running one).
    for name in n.keys(&["vrf", "name"]) {
        let was = o.value(&["vrf", "name", name, "table"]);
        let now = n.value(&["vrf", "name", name, "table"]);
        if let (Some(was), Some(now)) = (was, now) {
            if was != now {
                e(
                    &mut out,
                    &["vrf", "name", name, "table"],
                    "vrf.py",
                    format!("VRF `{name}` table id modification not possible ({was} to {now}): the VRF must be removed first"),
                );
            }
        }
    }
    out
}

type Rule = fn(&Trie, &mut Vec<CommitError>);
const RULES: &[Rule] = &[
    vrf,
    interfaces_vrf,
    high_availability,
    interfaces_vxlan,
    interfaces_wireguard,
    protocols_bgp,
    firewall,
    https,
];

/// Set paths as a tree of words; leaf values are childless entries. A view
/// of the tree under check (or of two trees as one: their union), so
/// checking copies nothing.
#[derive(Clone, Copy, Debug)]
struct Trie<'a> {
    a: Option<vyos_tree::NodeRef<'a>>,
    b: Option<vyos_tree::NodeRef<'a>>,
    /// [`commit_check_scoped`]: `a`'s instances under [`scoped_detail`]
    /// may hold their keys alone.
    scoped: bool,
}

impl<'a> Trie<'a> {
    fn of(a: &'a vyos_tree::ConfigTree, b: Option<&'a vyos_tree::ConfigTree>) -> Self {
        Trie {
            a: Some(a.root()),
            b: b.map(|b| b.root()),
            scoped: false,
        }
    }
    fn get(&self, path: &[&str]) -> Option<Trie<'a>> {
        let a = self.a.and_then(|n| n.get(path));
        let b = self.b.and_then(|n| n.get(path));
        (a.is_some() || b.is_some()).then_some(Trie {
            a,
            b,
            scoped: self.scoped,
        })
    }
    /// In a scoped check, a node only the (valid) first tree holds: its
    /// instance's insides may be left out, and are its own.
    fn platform_only(&self) -> bool {
        self.scoped && self.b.is_none()
    }
    fn has(&self, path: &[&str]) -> bool {
        self.get(path).is_some()
    }
    /// Child words (tag values, or a leaf's values).
    fn keys(&self, path: &[&str]) -> Vec<&'a str> {
        self.get(path)
            .map(|n| n.children().map(|(k, _)| k).collect())
            .unwrap_or_default()
    }
    fn value(&self, path: &[&str]) -> Option<&'a str> {
        self.get(path)?.children().next().map(|(k, _)| k)
    }
    /// Children by word, in byte order; a word under both trees once.
    fn children(&self) -> impl Iterator<Item = (&'a str, Trie<'a>)> {
        let scoped = self.scoped;
        let mut a = self.a.into_iter().flat_map(|n| n.children()).peekable();
        let mut b = self.b.into_iter().flat_map(|n| n.children()).peekable();
        std::iter::from_fn(move || {
            let order = match (a.peek(), b.peek()) {
                (None, None) => return None,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((x, _)), Some((y, _))) => x.as_bytes().cmp(y.as_bytes()),
            };
            Some(match order {
                std::cmp::Ordering::Less => {
                    let (k, n) = a.next()?;
                    (
                        k,
                        Trie {
                            a: Some(n),
                            b: None,
                            scoped,
                        },
                    )
                }
                std::cmp::Ordering::Greater => {
                    let (k, n) = b.next()?;
                    (
                        k,
                        Trie {
                            a: None,
                            b: Some(n),
                            scoped,
                        },
                    )
                }
                std::cmp::Ordering::Equal => {
                    let (k, x) = a.next()?;
                    let (_, y) = b.next()?;
                    (
                        k,
                        Trie {
                            a: Some(x),
                            b: Some(y),
                            scoped,
                        },
                    )
                }
            })
        })
    }
}

fn cat<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    a.iter().chain(b).copied().collect()
}

fn e(out: &mut Vec<CommitError>, path: &[&str], script: &str, reason: String) {
    out.push(CommitError {
        path: path.iter().map(|s| s.to_string()).collect(),
        reason: format!("[{script}] {reason}"),
    });
}

/// vrf.py: names not reserved, `table` mandatory, in 100-65535, unique; `vni` unique.
fn vrf(t: &Trie, out: &mut Vec<CommitError>) {
    let mut tables: HashMap<&str, &str> = HashMap::new();
    let mut vnis: HashMap<&str, &str> = HashMap::new();
    for name in t.keys(&["vrf", "name"]) {
        let p = ["vrf", "name", name];
        if crate::validators::VRF_RESERVED.contains(&name) {
            e(
                out,
                &p,
                "vrf.py",
                format!("VRF name `{name}` is reserved and cannot be used"),
            );
        }
        match t.value(&["vrf", "name", name, "table"]) {
            None => e(
                out,
                &p,
                "vrf.py",
                format!("VRF `{name}` table id is mandatory"),
            ),
            Some(table) => {
                if !table
                    .parse::<u32>()
                    .is_ok_and(|n| (100..=65535).contains(&n))
                {
                    e(
                        out,
                        &p,
                        "vrf.py",
                        format!("VRF `{name}` table `{table}` must be in 100-65535"),
                    );
                }
                if let Some(other) = tables.insert(table, name) {
                    e(
                        out,
                        &p,
                        "vrf.py",
                        format!(
                            "VRF `{name}` table id {table} is not unique (also used by `{other}`)"
                        ),
                    );
                }
            }
        }
        if let Some(vni) = t.value(&["vrf", "name", name, "vni"]) {
            if let Some(other) = vnis.insert(vni, name) {
                e(
                    out,
                    &p,
                    "vrf.py",
                    format!("VRF `{name}` VNI {vni} is not unique (also used by `{other}`)"),
                );
            }
        }
    }
}

/// verify_vrf() (vyos.configverify, used by every interfaces_*.py): a
/// referenced VRF must exist.
fn interfaces_vrf(t: &Trie, out: &mut Vec<CommitError>) {
    for ty in t.keys(&["interfaces"]) {
        for ifname in t.keys(&["interfaces", ty]) {
            if let Some(v) = t.value(&["interfaces", ty, ifname, "vrf"]) {
                if !t.has(&["vrf", "name", v]) {
                    e(
                        out,
                        &["interfaces", ty, ifname, "vrf"],
                        "configverify.py",
                        format!("VRF `{v}` does not exist"),
                    );
                }
            }
        }
    }
}

/// high-availability.py: a VRRP group needs `interface`, `vrid` and an
/// `address`; the same VRID may not repeat on one interface (per address family).
fn high_availability(t: &Trie, out: &mut Vec<CommitError>) {
    let mut seen: HashMap<(&str, &str, bool), &str> = HashMap::new();
    for g in t.keys(&["high-availability", "vrrp", "group"]) {
        let base = ["high-availability", "vrrp", "group", g];
        let at = |k: &'static str| [base[0], base[1], base[2], base[3], k];
        let iface = t.value(&at("interface"));
        let vrid = t.value(&at("vrid"));
        let addrs = t.keys(&at("address"));
        if iface.is_none() {
            e(
                out,
                &base,
                "high-availability.py",
                format!("Interface is required but not set in VRRP group `{g}`"),
            );
        }
        if vrid.is_none() {
            e(
                out,
                &base,
                "high-availability.py",
                format!("VRID is required but not set in VRRP group `{g}`"),
            );
        }
        if addrs.is_empty() {
            e(
                out,
                &base,
                "high-availability.py",
                format!("Virtual IP address is required but not set in VRRP group `{g}`"),
            );
        }
        if let (Some(i), Some(v)) = (iface, vrid) {
            let v6 = addrs.first().is_some_and(|a| a.contains(':'));
            if let Some(other) = seen.insert((i, v, v6), g) {
                e(
                    out,
                    &base,
                    "high-availability.py",
                    format!("VRID {v} is used by groups `{other}` and `{g}` on interface {i}"),
                );
            }
        }
    }
}

/// interfaces_vxlan.py: `vni` unless `parameters external` (or 1.5
/// `vni-filter`); one of `group`/`remote`/`source-address`/`source-interface`.
fn interfaces_vxlan(t: &Trie, out: &mut Vec<CommitError>) {
    for name in t.keys(&["interfaces", "vxlan"]) {
        let p = ["interfaces", "vxlan", name];
        let has = |k: &[&str]| t.has(&[&p[..], k].concat());
        if !has(&["vni"])
            && !has(&["parameters", "external"])
            && !has(&["parameters", "vni-filter"])
        {
            e(
                out,
                &p,
                "interfaces_vxlan.py",
                format!("vxlan `{name}`: must either configure `vni` or use `parameters external`"),
            );
        }
        if !["group", "remote", "source-address", "source-interface"]
            .iter()
            .any(|k| has(&[k]))
        {
            e(out, &p, "interfaces_vxlan.py", format!("vxlan `{name}`: group, remote, source-address or source-interface must be configured"));
        }
    }
}

/// A WireGuard key's 32 bytes, from its base64 text.
fn wg_key_bytes(k: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    let v = base64::engine::general_purpose::STANDARD.decode(k).ok()?;
    v.try_into().ok()
}

/// The public key of a WireGuard private key (Curve25519), as bytes.
fn wg_public_of(private: &str) -> Option<[u8; 32]> {
    let secret = x25519_dalek::StaticSecret::from(wg_key_bytes(private)?);
    Some(x25519_dalek::PublicKey::from(&secret).to_bytes())
}

/// interfaces_wireguard.py: `private-key`; at least one peer; per peer
/// `public-key` (unique, and not the interface's own unless the peer is
/// disabled) and `allowed-ips`; an allowed-ips prefix may not be on two
/// peers; the listen `port` must be free (VyOS asks the kernel; a second
/// interface of the same configuration on it is what a generator can cause).
fn interfaces_wireguard(t: &Trie, out: &mut Vec<CommitError>) {
    let mut ports: HashMap<&str, &str> = HashMap::new();
    let Some(all) = t.get(&["interfaces", "wireguard"]) else {
        return;
    };
    // Lookups relative to each interface and peer: a mesh interface has a
    // peer for every other VTEP, looked up many times per write.
    for (name, wg) in all.children() {
        let p = ["interfaces", "wireguard", name];
        if let Some(port) = wg.value(&["port"]) {
            if let Some(other) = ports.insert(port, name) {
                e(
                    out,
                    &cat(&p, &["port"]),
                    "interfaces_wireguard.py",
                    format!("UDP port {port} is busy: interface `{other}` listens on it"),
                );
            }
        }
        if wg.platform_only() {
            // Its key, its peers and their keys and prefixes are the
            // valid platform's alone.
            continue;
        }
        let private = wg.value(&["private-key"]);
        if private.is_none() {
            e(
                out,
                &p,
                "interfaces_wireguard.py",
                format!("wireguard private-key not defined on `{name}`"),
            );
        }
        let peers = wg.get(&["peer"]);
        if peers.is_none() {
            e(
                out,
                &p,
                "interfaces_wireguard.py",
                format!("at least one WireGuard peer is required on `{name}`"),
            );
        }
        let own = private.and_then(wg_public_of);
        let mut keys: HashMap<&str, &str> = HashMap::new();
        let mut ips: HashMap<IpNet, &str> = HashMap::new();
        for (peer, pt) in peers.iter().flat_map(|x| x.children()) {
            let pp = ["interfaces", "wireguard", name, "peer", peer];
            match pt.value(&["public-key"]) {
                None => e(
                    out,
                    &pp,
                    "interfaces_wireguard.py",
                    format!("wireguard public-key required for peer `{peer}`"),
                ),
                Some(k) => {
                    let disabled = pt.has(&["disable"]);
                    if !disabled && own.is_some() && own == wg_key_bytes(k) {
                        e(
                            out,
                            &pp,
                            "interfaces_wireguard.py",
                            format!(
                                "peer `{peer}` has the same public key as the interface `{name}`"
                            ),
                        );
                    }
                    if let Some(other) = keys.insert(k, peer) {
                        e(
                            out,
                            &pp,
                            "interfaces_wireguard.py",
                            format!("duplicate public-key on peers `{other}` and `{peer}`"),
                        );
                    }
                }
            }
            let allowed = pt.keys(&["allowed-ips"]);
            if allowed.is_empty() {
                e(
                    out,
                    &pp,
                    "interfaces_wireguard.py",
                    format!("wireguard allowed-ips required for peer `{peer}`"),
                );
            }
            for a in allowed {
                let Ok(net) = a.parse::<IpNet>() else {
                    continue;
                };
                if let Some(other) = ips.insert(net.trunc(), peer) {
                    if other != peer {
                        e(
                            out,
                            &pp,
                            "interfaces_wireguard.py",
                            format!("allowed-ips {a} is on peers `{other}` and `{peer}`"),
                        );
                    }
                }
            }
        }
    }
}

/// Addresses of the interfaces in each VRF (`None`: the default VRF), as
/// `is_addr_assigned(peer, vrf)` sees them after the commit: one walk of
/// the interfaces for every BGP instance (a router has one per tenant).
fn local_addresses<'a>(
    t: &Trie<'a>,
) -> HashMap<Option<&'a str>, std::collections::HashSet<std::net::IpAddr>> {
    let mut out: HashMap<Option<&str>, std::collections::HashSet<_>> = HashMap::new();
    let Some(all) = t.get(&["interfaces"]) else {
        return out;
    };
    for (_, of_type) in all.children() {
        for (_, iface) in of_type.children() {
            let vrf = iface.value(&["vrf"]);
            for a in iface.keys(&["address"]) {
                if let Ok(net) = a.parse::<IpNet>() {
                    out.entry(vrf).or_default().insert(net.addr());
                }
            }
        }
    }
    out
}

/// protocols_bgp.py: `system-as` required (also per VRF instance); each
/// neighbor needs `remote-as`, `interface remote-as`, or a peer-group that has one,
/// and may not be one of the router's own addresses in that VRF.
fn protocols_bgp(t: &Trie, out: &mut Vec<CommitError>) {
    let mut bases: Vec<Vec<&str>> = Vec::new();
    if t.has(&["protocols", "bgp"]) {
        bases.push(vec!["protocols", "bgp"]);
    }
    for v in t.keys(&["vrf", "name"]) {
        if t.has(&["vrf", "name", v, "protocols", "bgp"]) {
            bases.push(vec!["vrf", "name", v, "protocols", "bgp"]);
        }
    }
    let locals = local_addresses(t);
    let none = std::collections::HashSet::new();
    for b in bases {
        if !t.has(&cat(&b, &["system-as"])) {
            e(
                out,
                &b,
                "protocols_bgp.py",
                "BGP system-as number must be defined".into(),
            );
        }
        let vrf = (b[0] == "vrf").then(|| b[2]);
        let local = locals.get(&vrf).unwrap_or(&none);
        let neighbours = t.get(&cat(&b, &["neighbor"]));
        for (n, nt) in neighbours.iter().flat_map(|x| x.children()) {
            let np = cat(&b, &["neighbor", n]);
            if n.parse::<std::net::IpAddr>()
                .is_ok_and(|a| local.contains(&a))
            {
                e(
                    out,
                    &np,
                    "protocols_bgp.py",
                    format!("can not configure local address as neighbor `{n}`"),
                );
            }
            if nt.platform_only() || nt.has(&["remote-as"]) || nt.has(&["interface", "remote-as"]) {
                continue;
            }
            match nt
                .value(&["peer-group"])
                .or_else(|| nt.value(&["interface", "peer-group"]))
            {
                Some(g) if t.has(&cat(&b, &["peer-group", g, "remote-as"])) => {}
                Some(g) if !t.has(&cat(&b, &["peer-group", g])) => e(
                    out,
                    &np,
                    "protocols_bgp.py",
                    format!("peer-group `{g}` used by neighbor `{n}` does not exist"),
                ),
                _ => e(
                    out,
                    &np,
                    "protocols_bgp.py",
                    format!("neighbor `{n}` remote-as must be set"),
                ),
            }
        }
    }
}

/// firewall.py verify_rule(): every rule needs an `action`; `action jump`
/// needs `jump-target`, and `jump-target` only goes with `action jump`;
/// the jump-target chain exists (verify_jump_target()), and so does every
/// group a rule matches on (`Invalid ... group "X" on firewall rule`).
fn firewall(t: &Trie, out: &mut Vec<CommitError>) {
    fn walk<'a>(
        root: &Trie<'a>,
        t: Trie<'a>,
        path: &mut Vec<&'a str>,
        out: &mut Vec<CommitError>,
        depth: usize,
    ) {
        if depth > 4 {
            return;
        }
        for (k, child) in t.children() {
            if k == "rule" {
                for (n, rule) in child.children() {
                    let rp = || {
                        let mut rp = path.clone();
                        rp.extend(["rule", n]);
                        rp
                    };
                    let action = rule.value(&["action"]);
                    match action {
                        None => e(
                            out,
                            &rp(),
                            "firewall.py",
                            format!("firewall rule {n}: action must be defined"),
                        ),
                        Some("jump") if !rule.has(&["jump-target"]) => e(
                            out,
                            &rp(),
                            "firewall.py",
                            format!("firewall rule {n}: action jump needs jump-target"),
                        ),
                        Some(a) if a != "jump" && rule.has(&["jump-target"]) => e(
                            out,
                            &rp(),
                            "firewall.py",
                            format!("firewall rule {n}: jump-target needs action jump (got `{a}`)"),
                        ),
                        _ => {}
                    }
                    let fam = path[1];
                    if let Some(target) = rule.value(&["jump-target"]) {
                        if !root.has(&["firewall", fam, "name", target]) {
                            e(
                                out,
                                &cat(&rp(), &["jump-target"]),
                                "firewall.py",
                                format!("invalid jump-target: firewall {fam} name `{target}` does not exist"),
                            );
                        }
                    }
                    for side in ["source", "destination"] {
                        for (kind, name) in rule
                            .get(&[side, "group"])
                            .map(|g| g.children().collect::<Vec<_>>())
                            .unwrap_or_default()
                        {
                            let Some(name) = name.children().next().map(|(k, _)| k) else {
                                continue;
                            };
                            let group = match (fam, kind) {
                                ("ipv6", "address-group" | "network-group") => {
                                    format!("ipv6-{kind}")
                                }
                                ("bridge", "ipv4-address-group") => "address-group".into(),
                                ("bridge", "ipv4-network-group") => "network-group".into(),
                                _ => kind.to_string(),
                            };
                            let bare = name.strip_prefix('!').unwrap_or(name);
                            if !root.has(&["firewall", "group", &group, bare]) {
                                e(
                                    out,
                                    &cat(&rp(), &[side, "group", kind]),
                                    "firewall.py",
                                    format!("invalid {group} `{bare}` on firewall rule {n}"),
                                );
                            }
                        }
                    }
                    for dir in ["inbound-interface", "outbound-interface"] {
                        if let Some(g) = rule.value(&[dir, "group"]) {
                            let bare = g.strip_prefix('!').unwrap_or(g);
                            if !root.has(&["firewall", "group", "interface-group", bare]) {
                                e(
                                    out,
                                    &cat(&rp(), &[dir, "group"]),
                                    "firewall.py",
                                    format!(
                                        "invalid interface group `{bare}` on firewall rule {n}"
                                    ),
                                );
                            }
                        }
                    }
                }
            } else {
                path.push(k);
                walk(root, child, path, out, depth + 1);
                path.pop();
            }
        }
    }
    for fam in ["ipv4", "ipv6", "bridge"] {
        if let Some(sub) = t.get(&["firewall", fam]) {
            walk(t, sub, &mut vec!["firewall", fam], out, 0);
        }
    }
}

/// https.py: `service https api` needs at least one `keys id X key K`.
fn https(t: &Trie, out: &mut Vec<CommitError>) {
    let api = ["service", "https", "api"];
    if !t.has(&api) {
        return;
    }
    let ids = t.keys(&["service", "https", "api", "keys", "id"]);
    if ids.is_empty() {
        e(
            out,
            &api,
            "https.py",
            "at least one HTTPS API key (`keys id X key K`) is required".into(),
        );
    }
    for id in ids {
        if !t.has(&["service", "https", "api", "keys", "id", id, "key"]) {
            e(
                out,
                &["service", "https", "api", "keys", "id", id],
                "https.py",
                format!("missing HTTPS API key string for key id `{id}`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cmds: &[&str]) -> Vec<CommitError> {
        let paths: Vec<Vec<String>> = cmds
            .iter()
            .map(|c| c.split_whitespace().map(str::to_string).collect())
            .collect();
        commit_check_paths(&paths)
    }
    fn has(errs: &[CommitError], needle: &str) -> bool {
        errs.iter().any(|e| e.reason.contains(needle))
    }

    #[test]
    fn vrf_rules() {
        assert!(run(&[
            "vrf name red table 100",
            "vrf name blue table 101 ",
            "vrf name red vni 10",
            "vrf name blue vni 11"
        ])
        .is_empty());
        assert!(has(&run(&["vrf name red table 99"]), "100-65535"));
        assert!(has(&run(&["vrf name red table 70000"]), "100-65535"));
        assert!(has(
            &run(&["vrf name red table 100", "vrf name blue table 100"]),
            "not unique"
        ));
        assert!(has(
            &run(&[
                "vrf name red table 100",
                "vrf name blue table 101",
                "vrf name red vni 5",
                "vrf name blue vni 5"
            ]),
            "VNI 5"
        ));
        assert!(has(&run(&["vrf name default table 100"]), "reserved"));
        assert!(has(&run(&["vrf name red description x"]), "mandatory"));
    }

    #[test]
    fn interface_vrf_must_exist() {
        assert!(has(
            &run(&[
                "interfaces vxlan vxlan1 vrf red",
                "interfaces vxlan vxlan1 vni 1",
                "interfaces vxlan vxlan1 remote 192.0.2.1"
            ]),
            "does not exist"
        ));
        assert!(run(&["interfaces bridge br1 vrf red", "vrf name red table 100"]).is_empty());
    }

    #[test]
    fn vrrp_rules() {
        let ok = [
            "high-availability vrrp group G interface eth1",
            "high-availability vrrp group G vrid 10",
            "high-availability vrrp group G address 192.0.2.1/24",
        ];
        assert!(run(&ok).is_empty());
        let e = run(&["high-availability vrrp group G priority 200"]);
        assert!(
            has(&e, "Interface is required")
                && has(&e, "VRID is required")
                && has(&e, "Virtual IP address")
        );
        let mut dup = ok.to_vec();
        dup.extend([
            "high-availability vrrp group H interface eth1",
            "high-availability vrrp group H vrid 10",
            "high-availability vrrp group H address 192.0.2.2/24",
        ]);
        assert!(has(&run(&dup), "VRID 10 is used by groups"));
    }

    #[test]
    fn vxlan_rules() {
        assert!(run(&[
            "interfaces vxlan vxlan1 vni 100",
            "interfaces vxlan vxlan1 source-address 192.0.2.1"
        ])
        .is_empty());
        assert!(run(&[
            "interfaces vxlan vxlan1 parameters external",
            "interfaces vxlan vxlan1 source-interface eth0"
        ])
        .is_empty());
        let e = run(&["interfaces vxlan vxlan1 mtu 1450"]);
        assert!(has(&e, "`vni`") && has(&e, "source-address"));
    }

    #[test]
    fn wireguard_rules() {
        let base = [
            "interfaces wireguard wg0 private-key aGVsbG8=",
            "interfaces wireguard wg0 peer a public-key YQ==",
            "interfaces wireguard wg0 peer a allowed-ips 10.0.0.0/24",
        ];
        assert!(run(&base).is_empty());
        assert!(has(&run(&base[1..]), "private-key not defined"));
        assert!(has(
            &run(&[
                "interfaces wireguard wg0 private-key x",
                "interfaces wireguard wg0 peer b allowed-ips 10.1.0.0/24"
            ]),
            "public-key required"
        ));
        assert!(has(
            &run(&[
                "interfaces wireguard wg0 private-key x",
                "interfaces wireguard wg0 peer b public-key Yg=="
            ]),
            "allowed-ips required"
        ));
        let mut dup = base.to_vec();
        dup.extend([
            "interfaces wireguard wg0 peer b public-key Yg==",
            "interfaces wireguard wg0 peer b allowed-ips 10.0.0.0/24",
        ]);
        assert!(has(&run(&dup), "allowed-ips 10.0.0.0/24 is on peers"));
        // same prefix on peers of *different* interfaces is fine
        let mut other = base.to_vec();
        other.extend([
            "interfaces wireguard wg1 private-key x",
            "interfaces wireguard wg1 peer b public-key Yg==",
            "interfaces wireguard wg1 peer b allowed-ips 10.0.0.0/24",
        ]);
        assert!(run(&other).is_empty());
    }

    #[test]
    fn bgp_rules() {
        assert!(run(&[
            "protocols bgp system-as 65000",
            "protocols bgp neighbor 192.0.2.1 remote-as 65001"
        ])
        .is_empty());
        assert!(has(
            &run(&["protocols bgp neighbor 192.0.2.1 remote-as 65001"]),
            "system-as"
        ));
        assert!(has(
            &run(&[
                "protocols bgp system-as 65000",
                "protocols bgp neighbor 192.0.2.1 update-source lo"
            ]),
            "remote-as must be set"
        ));
        assert!(run(&[
            "protocols bgp system-as 1",
            "protocols bgp peer-group PG remote-as internal",
            "protocols bgp neighbor 192.0.2.1 peer-group PG"
        ])
        .is_empty());
        assert!(has(
            &run(&[
                "protocols bgp system-as 1",
                "protocols bgp neighbor 192.0.2.1 peer-group NOPE"
            ]),
            "does not exist"
        ));
        assert!(has(
            &run(&[
                "vrf name red table 100",
                "vrf name red protocols bgp address-family ipv4-unicast redistribute connected"
            ]),
            "system-as"
        ));
    }

    #[test]
    fn firewall_rules() {
        assert!(run(&[
            "firewall ipv4 name IN rule 10 action accept",
            "firewall ipv4 forward filter rule 5 action jump",
            "firewall ipv4 forward filter rule 5 jump-target IN"
        ])
        .is_empty());
        assert!(has(
            &run(&["firewall ipv4 name IN rule 10 protocol tcp"]),
            "action must be defined"
        ));
        assert!(has(
            &run(&["firewall ipv4 forward filter rule 5 action jump"]),
            "needs jump-target"
        ));
        assert!(has(
            &run(&[
                "firewall ipv6 input filter rule 5 action accept",
                "firewall ipv6 input filter rule 5 jump-target X"
            ]),
            "needs action jump"
        ));
    }

    #[test]
    fn https_rules() {
        assert!(run(&["service https api keys id k1 key secret"]).is_empty());
        assert!(has(
            &run(&["service https api rest"]),
            "at least one HTTPS API key"
        ));
        assert!(has(
            &run(&["service https api keys id k1"]),
            "missing HTTPS API key string"
        ));
        assert!(run(&["service https listen-address 192.0.2.1"]).is_empty());
    }

    /// A real key pair (RFC 7748's Alice), base64 as `wg` prints it.
    const PRIV: &str = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
    const PUB: &str = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

    #[test]
    fn wireguard_verify_rules() {
        let base = [
            "interfaces wireguard wg0 private-key PRIVATE",
            "interfaces wireguard wg0 port 51820",
        ];
        let peer = |k: &str| {
            vec![
                format!("interfaces wireguard wg0 peer p public-key {k}"),
                "interfaces wireguard wg0 peer p allowed-ips 10.0.0.1/32".to_string(),
            ]
        };
        let with = |extra: Vec<String>| {
            let mut v: Vec<String> = base.iter().map(|l| l.replace("PRIVATE", PRIV)).collect();
            v.extend(extra);
            v
        };
        let r = |v: Vec<String>| run(&v.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(has(&r(with(vec![])), "at least one WireGuard peer"));
        assert!(r(with(peer("Yg=="))).is_empty());
        assert!(has(&r(with(peer(PUB))), "same public key as the interface"));
        // A disabled peer may hold it (VyOS skips the check).
        let mut disabled = peer(PUB);
        disabled.push("interfaces wireguard wg0 peer p disable".into());
        assert!(r(with(disabled)).is_empty());
        let mut two = peer("Yg==");
        two.extend([
            format!("interfaces wireguard wg1 private-key {PRIV}"),
            "interfaces wireguard wg1 port 51820".into(),
            "interfaces wireguard wg1 peer q public-key Yw==".into(),
            "interfaces wireguard wg1 peer q allowed-ips 10.0.0.2/32".into(),
        ]);
        assert!(has(&r(with(two)), "UDP port 51820 is busy"));
    }

    #[test]
    fn firewall_references_must_exist() {
        let ok = [
            "firewall group network-group N network 10.0.0.0/8",
            "firewall group interface-group I interface br1",
            "firewall ipv4 name C rule 1 action accept",
            "firewall ipv4 name C rule 1 source group network-group N",
            "firewall ipv4 name C rule 2 action accept",
            "firewall ipv4 name C rule 2 destination group network-group !N",
            "firewall ipv4 forward filter rule 5 action jump",
            "firewall ipv4 forward filter rule 5 jump-target C",
            "firewall ipv4 forward filter rule 5 outbound-interface group I",
        ];
        assert!(run(&ok).is_empty(), "{:?}", run(&ok));
        let drop_line = |gone: &str| -> Vec<CommitError> {
            run(&ok
                .iter()
                .copied()
                .filter(|l| !l.starts_with(gone))
                .collect::<Vec<_>>())
        };
        assert!(has(
            &drop_line("firewall ipv4 name C"),
            "invalid jump-target"
        ));
        assert!(has(
            &drop_line("firewall group network-group"),
            "invalid network-group `N`"
        ));
        assert!(has(
            &drop_line("firewall group interface-group"),
            "invalid interface group `I`"
        ));
    }

    #[test]
    fn bgp_neighbour_may_not_be_a_local_address() {
        let base = [
            "interfaces dummy dum0 address 172.27.0.1/32",
            "protocols bgp system-as 65000",
        ];
        let mut v: Vec<&str> = base.to_vec();
        v.extend(["protocols bgp neighbor 172.27.0.2 remote-as internal"]);
        assert!(run(&v).is_empty());
        let mut v: Vec<&str> = base.to_vec();
        v.extend(["protocols bgp neighbor 172.27.0.1 remote-as internal"]);
        assert!(has(&run(&v), "local address as neighbor `172.27.0.1`"));
        // An address in a VRF is local to that VRF only.
        let v = [
            "interfaces dummy dum0 address 172.27.0.1/32",
            "interfaces dummy dum0 vrf red",
            "vrf name red table 100",
            "protocols bgp system-as 65000",
            "protocols bgp neighbor 172.27.0.1 remote-as internal",
        ];
        assert!(run(&v).is_empty(), "{:?}", run(&v));
    }

    #[test]
    fn a_vrf_table_cannot_change_in_place() {
        let tree = |lines: &[&str]| {
            let mut t = vyos_tree::ConfigTree::new();
            for l in lines {
                let w: Vec<String> = l.split_whitespace().map(str::to_string).collect();
                t.set(&w, &vyos_tree::NoSchema);
            }
            t
        };
        let old = tree(&["vrf name red table 100", "vrf name blue table 101"]);
        let same = tree(&["vrf name red table 100", "vrf name green table 102"]);
        assert!(transition_check(&old, &same).is_empty());
        let moved = tree(&["vrf name red table 105"]);
        let errs = transition_check(&old, &moved);
        assert_eq!(errs.len(), 1);
        assert!(errs[0]
            .reason
            .contains("table id modification not possible"));
        assert_eq!(errs[0].path, vec!["vrf", "name", "red", "table"]);
    }

    /// The union of two trees is judged as the tree of both: every split of
    /// a configuration whose errors span the two halves (a port busy on
    /// both sides, a jump to a chain or a group on the other side, a VRF
    /// or a local address on the other side) gives the same errors.
    #[test]
    fn a_union_of_two_trees_is_judged_as_one_tree() {
        let lines = [
            "interfaces wireguard wg0 private-key PRIVATE",
            "interfaces wireguard wg0 port 51820",
            "interfaces wireguard wg0 peer p public-key Yg==",
            "interfaces wireguard wg0 peer p allowed-ips 10.0.0.1/32",
            "interfaces wireguard wg1 private-key PRIVATE",
            "interfaces wireguard wg1 port 51820",
            "interfaces wireguard wg1 peer q public-key Yw==",
            "interfaces wireguard wg1 peer q allowed-ips 10.0.0.1/32",
            "interfaces wireguard wg1 vrf blue",
            "interfaces dummy dum0 address 172.27.0.1/32",
            "protocols bgp system-as 65000",
            "protocols bgp neighbor 172.27.0.1 remote-as internal",
            "vrf name red table 100",
            "vrf name red vni 10",
            "vrf name green table 100",
            "firewall ipv4 forward filter rule 5 action jump",
            "firewall ipv4 forward filter rule 5 jump-target C",
            "firewall ipv4 forward filter rule 6 action jump",
            "firewall ipv4 forward filter rule 6 jump-target D",
            "firewall ipv4 name C rule 1 action accept",
            "firewall ipv4 name C rule 1 source group network-group N",
            "firewall group network-group M network 10.0.0.0/8",
        ];
        let paths: Vec<Vec<String>> = lines
            .iter()
            .map(|l| {
                l.replace("PRIVATE", PRIV)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        let tree = |ps: &mut dyn Iterator<Item = &Vec<String>>| {
            let mut t = vyos_tree::ConfigTree::new();
            for p in ps {
                t.set(p, &vyos_tree::NoSchema);
            }
            t
        };
        let sorted = |mut v: Vec<CommitError>| {
            v.sort_by(|x, y| (&x.path, &x.reason).cmp(&(&y.path, &y.reason)));
            v
        };
        let whole = sorted(commit_check(&tree(&mut paths.iter())));
        for needle in [
            "UDP port 51820 is busy",
            "VRF `blue` does not exist",
            "local address as neighbor",
            "not unique",
            "invalid jump-target",
            "invalid network-group `N`",
        ] {
            assert!(has(&whole, needle), "{needle}: {whole:?}");
        }
        // Every split by a bit pattern, both trees non-empty; the last
        // patterns cut each line from all the others.
        let n = paths.len();
        let mut masks: Vec<u64> = (0..n).map(|i| 1u64 << i).collect();
        masks.extend((1..64u64).map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - n)));
        masks.extend([0x5555_5555 & ((1 << n) - 1), 0xAAAA_AAAA & ((1 << n) - 1)]);
        for mask in masks {
            let a = tree(
                &mut paths
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 1)
                    .map(|(_, p)| p),
            );
            let b = tree(
                &mut paths
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 0)
                    .map(|(_, p)| p),
            );
            assert_eq!(sorted(commit_check_union(&a, &b)), whole, "split {mask:#x}");
            assert_eq!(
                sorted(commit_check_union(&b, &a)),
                whole,
                "split {mask:#x}, swapped"
            );
        }
    }

    /// A scoped check on the platform's sketch (its mesh peers' and BGP
    /// neighbours' insides left out) finds what the union finds, for a
    /// valid platform and tenants' trees that stay off its instances: a
    /// busy port either side of the platform's, a tenant's address that is
    /// a platform neighbour's, a tenant's own bad peer and neighbour.
    #[test]
    fn a_scoped_check_on_the_sketch_finds_what_the_union_finds() {
        let words = |l: &str| -> Vec<String> {
            l.replace("PRIVATE", PRIV)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        let tree = |lines: &[&str], sketch: bool| {
            let mut t = vyos_tree::ConfigTree::new();
            for l in lines {
                let w = words(l);
                let r: Vec<&str> = w.iter().map(String::as_str).collect();
                let keep = if sketch {
                    scoped_detail(&r).map_or(r.len(), |(_, k)| k)
                } else {
                    r.len()
                };
                t.set(&w[..keep], &vyos_tree::NoSchema);
            }
            t
        };
        let platform = [
            "interfaces wireguard wg0 private-key PRIVATE",
            "interfaces wireguard wg0 port 51820",
            "interfaces wireguard wg0 address 172.27.1.1/24",
            "interfaces wireguard wg0 peer r2 public-key Yg==",
            "interfaces wireguard wg0 peer r2 allowed-ips 172.27.0.2/32",
            "interfaces wireguard wg0 peer r3 public-key Yw==",
            "interfaces wireguard wg0 peer r3 allowed-ips 172.27.0.3/32",
            "interfaces dummy dum0 address 172.27.0.1/32",
            "protocols bgp system-as 65000",
            "protocols bgp neighbor 172.27.0.2 remote-as internal",
            "protocols bgp neighbor 172.27.0.2 update-source dum0",
            "protocols bgp neighbor 172.27.0.3 peer-group MESH",
            "protocols bgp peer-group MESH remote-as internal",
        ];
        assert!(commit_check(&tree(&platform, false)).is_empty());
        let sketch = tree(&platform, true);
        assert!(
            sketch
                .root()
                .get(&["interfaces", "wireguard", "wg0", "peer", "r2", "public-key"])
                .is_none(),
            "the sketch leaves the peers' insides out"
        );
        let tenants: [(&[&str], &str); 5] = [
            (
                &[
                    "interfaces wireguard wg7 private-key PRIVATE",
                    "interfaces wireguard wg7 port 51820",
                    "interfaces wireguard wg7 peer c public-key Yg==",
                    "interfaces wireguard wg7 peer c allowed-ips 10.0.0.2/32",
                ],
                "is busy",
            ),
            (
                &[
                    "interfaces wireguard wf7 private-key PRIVATE",
                    "interfaces wireguard wf7 port 51820",
                    "interfaces wireguard wf7 peer c allowed-ips 10.0.0.2/32",
                ],
                "public-key required",
            ),
            (
                &["interfaces dummy dum9 address 172.27.0.3/32"],
                "local address as neighbor",
            ),
            (
                &["protocols bgp neighbor 192.0.2.9 update-source dum0"],
                "remote-as must be set",
            ),
            (
                &[
                    "vrf name red table 100",
                    "interfaces bridge br1 vrf red",
                    "interfaces bridge br1 address 10.1.0.1/24",
                ],
                "",
            ),
        ];
        for (lines, needle) in tenants {
            let b = tree(lines, false);
            let union = commit_check_union(&tree(&platform, false), &b);
            let scoped = commit_check_scoped(&sketch, &b);
            assert_eq!(scoped, union, "{lines:?}");
            assert_eq!(union.is_empty(), needle.is_empty(), "{lines:?}: {union:?}");
            assert!(
                needle.is_empty() || has(&union, needle),
                "{needle}: {union:?}"
            );
        }
        // The unscoped rules on the sketch would see peers with no key.
        assert!(has(&commit_check(&sketch), "public-key required"));
    }
}
