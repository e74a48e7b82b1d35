//! Checks on the intent before allocation (references, address plan, MTU,
//! policy) and on the allocation after it (uniqueness). Every check reports
//! and goes on, so one run shows every problem.

use crate::alloc::Allocation;
use crate::diag::{Diagnostics, Pointer};
use crate::intent::{Endpoint, Intent, Rule, Tenant};
use crate::mtu::{mtu_budget, MIN_TENANT_MTU, VXLAN_OVERHEAD};
use crate::policy::port_ranges;
use std::collections::{HashMap, HashSet};

fn dup_names<'a>(
    d: &mut Diagnostics,
    base: Pointer,
    field: &str,
    names: impl Iterator<Item = &'a str>,
) {
    let mut seen = HashSet::new();
    for (i, n) in names.enumerate() {
        if !seen.insert(n) {
            d.error(
                base.join(i).join(field),
                format!("the name “{n}” is already taken; choose another name"),
            );
        }
    }
}

/// HTTPS, or plain HTTP to this machine's loopback: the API key must never
/// cross a wire in clear, but the lab's routers listen on 127.0.0.1. A
/// base URL only: the driver appends the API's paths.
fn api_endpoint_ok(url: &str) -> bool {
    let (rest, https) = if let Some(r) = url.strip_prefix("https://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, false)
    } else {
        return false;
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() || host.contains('/') {
        return false;
    }
    if https {
        return true;
    }
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

pub fn check_intent(intent: &Intent, d: &mut Diagnostics) {
    check_intent_for(intent, None, d)
}

/// [`check_intent`] with only tenant `ti` checked on its own: the platform
/// and cross-tenant checks still run, per-tenant ones for `ti` alone (they
/// read no other tenant). For a one-tenant change.
pub fn check_intent_tenant(intent: &Intent, ti: usize, d: &mut Diagnostics) {
    check_intent_for(intent, Some(ti), d)
}

fn check_intent_for(intent: &Intent, only: Option<usize>, d: &mut Diagnostics) {
    let p = &intent.platform;
    let pp = Pointer::root().join("platform");
    dup_names(
        d,
        pp.join("sites"),
        "name",
        p.sites.iter().map(|s| s.name.as_str()),
    );
    dup_names(
        d,
        pp.join("routers"),
        "name",
        p.routers.iter().map(|s| s.name.as_str()),
    );
    dup_names(
        d,
        pp.join("hypervisors"),
        "name",
        p.hypervisors.iter().map(|s| s.name.as_str()),
    );
    match only {
        // One tenant changed: only its slug can be new among the others'
        // (compared, not hashed: 5,000 slugs per change otherwise).
        Some(o) => {
            let mine = intent.tenants[o].slug.as_str();
            for (i, t) in intent.tenants.iter().enumerate() {
                if i != o && t.slug.as_str() == mine {
                    d.error(
                        Pointer::root().join("tenants").join(i.max(o)).join("slug"),
                        format!("the name “{mine}” is already taken; choose another name"),
                    );
                }
            }
        }
        None => dup_names(
            d,
            Pointer::root().join("tenants"),
            "slug",
            intent.tenants.iter().map(|t| t.slug.as_str()),
        ),
    }

    let sites: HashSet<&str> = p.sites.iter().map(|s| s.name.as_str()).collect();
    let router_site: HashMap<&str, &str> = p
        .routers
        .iter()
        .map(|r| (r.name.as_str(), r.site.as_str()))
        .collect();
    let hv_site: HashMap<&str, &str> = p
        .hypervisors
        .iter()
        .map(|h| (h.name.as_str(), h.site.as_str()))
        .collect();

    for (i, r) in p.routers.iter().enumerate() {
        let rp = pp.join("routers").join(i);
        if !sites.contains(r.site.as_str()) {
            d.error(
                rp.join("site"),
                format!(
                    "site “{}” does not exist; choose one of the platform's sites",
                    r.site
                ),
            );
        }
        if !api_endpoint_ok(&r.api_endpoint) {
            d.error(
                rp.join("api_endpoint"),
                "the VyOS API is served over HTTPS: the endpoint must be https://HOST[:PORT], \
                 without a path (plain http:// only to a loopback address, where lab routers listen)",
            );
        }
        if r.api_certificate_sha256.is_some() && !r.api_endpoint.starts_with("https://") {
            d.error(
                rp.join("api_certificate_sha256"),
                "a pinned certificate needs an https:// API endpoint; change the endpoint to https:// or remove the certificate",
            );
        }
    }
    let mut vteps = HashSet::new();
    for (i, h) in p.hypervisors.iter().enumerate() {
        let hp = pp.join("hypervisors").join(i);
        if !sites.contains(h.site.as_str()) {
            d.error(
                hp.join("site"),
                format!(
                    "site “{}” does not exist; choose one of the platform's sites",
                    h.site
                ),
            );
        }
        if let Some(e) = &h.openflow_endpoint {
            let rest = ["unix:", "tcp:", "ssl:"]
                .iter()
                .find_map(|p| e.strip_prefix(p));
            if rest.is_none_or(str::is_empty) {
                d.error(
                    hp.join("openflow_endpoint"),
                    format!("{e:?} is not an ovs-ofctl target: it must start with unix:, tcp: or ssl: and name a socket or address"),
                );
            }
        }
        if let Some(a) = h.vtep_address {
            if !p.pools.control_plane.contains(&a) {
                d.error(
                    hp.join("vtep_address"),
                    format!(
                        "{a} is outside the control-plane pool {}; choose a VTEP address inside it",
                        p.pools.control_plane
                    ),
                );
            } else if !vteps.insert(a) {
                d.error(
                    hp.join("vtep_address"),
                    format!(
                        "{a} is already another hypervisor's VTEP address; choose a free address"
                    ),
                );
            }
        }
    }
    if !(1..=65535).contains(&p.wireguard.keepalive) {
        d.error(
            pp.join("wireguard").join("keepalive"),
            "must be 1-65535 seconds",
        );
    }
    if p.wireguard.port == 0 {
        d.error(pp.join("wireguard").join("port"), "must be 1-65535");
    }
    let plen = p.pools.client_prefix_len;
    if !(p.pools.wireguard_overlay.prefix_len()..=30).contains(&plen) {
        d.error(
            pp.join("pools").join("client_prefix_len"),
            format!(
                "must be between the overlay pool's /{} and /30",
                p.pools.wireguard_overlay.prefix_len()
            ),
        );
    }
    let (wg_mtu, tenant_mtu) = mtu_budget(intent);
    if tenant_mtu < MIN_TENANT_MTU {
        d.error(
            pp.join("underlay").join("mtu"),
            format!(
                "underlay MTU {} leaves a tenant MTU of {tenant_mtu} (WireGuard {} bytes, VXLAN {VXLAN_OVERHEAD}); at least {MIN_TENANT_MTU} is needed, so the underlay needs {}",
                p.underlay.mtu,
                p.underlay.mtu - wg_mtu,
                MIN_TENANT_MTU + VXLAN_OVERHEAD + (p.underlay.mtu - wg_mtu)
            ),
        );
    }

    // Tenants are checked each on its own (on all cores; diagnostics are
    // sorted by the caller, so the order of the results does not matter).
    let tenants: Vec<usize> = (0..intent.tenants.len())
        .filter(|ti| only.is_none_or(|o| o == *ti))
        .collect();
    let found = crate::par_map(&tenants, |&ti| {
        let mut td = Diagnostics::default();
        check_tenant(
            intent,
            &intent.tenants[ti],
            Pointer::root().join("tenants").join(ti),
            &sites,
            &router_site,
            &hv_site,
            tenant_mtu,
            &mut td,
        );
        td
    });
    for td in found {
        d.0.extend(td.0);
    }
    check_port_owners(intent, only, d);
}

/// A port of a hypervisor belongs to one network of one tenant: a second
/// network naming it would put its flows on another's VM. Both sides are
/// reported (each caller sees the one in its own object); the message
/// names no tenant, since the other side may be another tenant's. With
/// `only`, just the clashes of that tenant's ports (the others were checked
/// when they changed): a one-tenant change at 5,000 tenants hashes only
/// its own ports into the map.
fn check_port_owners(intent: &Intent, only: Option<usize>, d: &mut Diagnostics) {
    // Sorted, and searched by comparing (most names differ in their first
    // bytes): cheaper than hashing every port of every tenant.
    let mine: Option<Vec<(&str, &str)>> = only.map(|ti| {
        let mut v: Vec<_> = intent.tenants[ti]
            .networks
            .iter()
            .flat_map(|n| &n.ports)
            .map(|p| (p.name.as_str(), p.hypervisor.as_str()))
            .collect();
        v.sort_unstable();
        v
    });
    if mine.as_ref().is_some_and(Vec::is_empty) {
        return;
    }
    // A 256-bit filter of the changed tenant's port names: most other
    // ports are passed over on a short hash, not searched for.
    fn bit(name: &str) -> (usize, u64) {
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        (((h >> 6) & 3) as usize, 1u64 << (h & 63))
    }
    let mut filter = [0u64; 4];
    for (name, _) in mine.iter().flatten() {
        let (w, b) = bit(name);
        filter[w] |= b;
    }
    let mut owners: HashMap<(&str, &str), Vec<(usize, usize, usize)>> = HashMap::new();
    for (ti, t) in intent.tenants.iter().enumerate() {
        for (ni, n) in t.networks.iter().enumerate() {
            for (pi, p) in n.ports.iter().enumerate() {
                let key = (p.hypervisor.as_str(), p.name.as_str());
                if mine.is_some() {
                    let (w, b) = bit(key.1);
                    if filter[w] & b == 0 {
                        continue;
                    }
                }
                let theirs = (key.1, key.0);
                if mine
                    .as_ref()
                    .is_some_and(|m| m.binary_search(&theirs).is_err())
                {
                    continue;
                }
                let v = owners.entry(key).or_default();
                // The same port twice in one network is that network's own error.
                if !v.iter().any(|&(a, b, _)| (a, b) == (ti, ni)) {
                    v.push((ti, ni, pi));
                }
            }
        }
    }
    let mut clashes: Vec<_> = owners.into_iter().filter(|(_, v)| v.len() > 1).collect();
    clashes.sort();
    for ((hv, name), v) in clashes {
        for (ti, ni, pi) in v {
            d.conflict(
                Pointer::root()
                    .join("tenants")
                    .join(ti)
                    .join("networks")
                    .join(ni)
                    .join("ports")
                    .join(pi)
                    .join("name"),
                format!(
                    "port “{name}” on hypervisor “{hv}” is already attached to another network; choose another port"
                ),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_tenant(
    intent: &Intent,
    t: &Tenant,
    tp: Pointer,
    sites: &HashSet<&str>,
    router_site: &HashMap<&str, &str>,
    hv_site: &HashMap<&str, &str>,
    tenant_mtu: u16,
    d: &mut Diagnostics,
) {
    dup_names(
        d,
        tp.join("networks"),
        "name",
        t.networks.iter().map(|n| n.name.as_str()),
    );
    dup_names(
        d,
        tp.join("services"),
        "id",
        t.services.iter().map(|n| n.id.as_str()),
    );
    dup_names(
        d,
        tp.join("clients"),
        "name",
        t.clients.iter().map(|n| n.name.as_str()),
    );
    let pools = intent.platform.pools.tenant_facing();
    for (ni, n) in t.networks.iter().enumerate() {
        let np = tp.join("networks").join(ni);
        if n.cidr.network() != n.cidr.addr() {
            d.error(
                np.join("cidr"),
                format!(
                    "{} has host bits set; did you mean {}?",
                    n.cidr,
                    n.cidr.trunc()
                ),
            );
        }
        if !pools.iter().any(|(_, pool)| pool.contains(&n.cidr)) {
            let names: Vec<String> = pools
                .iter()
                .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
                .collect();
            d.error(
                np.join("cidr"),
                format!(
                    "{} is outside the address pools for tenant networks ({}); choose a network inside one of them",
                    n.cidr,
                    names.join(", ")
                ),
            );
        }
        if n.cidr.prefix_len() > 28 {
            d.error(
                np.join("cidr"),
                format!(
                    "{} is too small: a network needs at least a /28 for its gateways; choose a shorter prefix",
                    n.cidr
                ),
            );
        }
        for (oi, o) in t.networks.iter().enumerate().take(ni) {
            if o.cidr.contains(&n.cidr.network()) || n.cidr.contains(&o.cidr.network()) {
                d.error(
                    np.join("cidr"),
                    format!(
                        "{} overlaps this tenant's network “{}” ({}); choose addresses outside it",
                        n.cidr, o.name, o.cidr
                    ),
                );
                let _ = oi;
            }
        }
        if n.sites.is_empty() {
            d.error(
                np.join("sites"),
                "a network needs at least one site; choose where it lives",
            );
        }
        let mut seen_sites = HashSet::new();
        for (si, s) in n.sites.iter().enumerate() {
            let sp = np.join("sites").join(si);
            if !sites.contains(s.site.as_str()) {
                d.error(
                    sp.join("site"),
                    format!(
                        "site “{}” does not exist; choose one of the platform's sites",
                        s.site
                    ),
                );
            }
            if !seen_sites.insert(s.site.as_str()) {
                d.error(
                    sp.join("site"),
                    format!("site “{}” is listed twice; list each site once", s.site),
                );
            }
            if !(1..=2).contains(&s.gateways.len()) {
                d.error(
                    sp.join("gateways"),
                    "a site needs one gateway router or a pair; choose one or two routers",
                );
            }
            if s.gateways.len() == 2 && s.gateways[0] == s.gateways[1] {
                d.error(
                    sp.join("gateways").join(1),
                    "a gateway pair needs two different routers; choose another second router",
                );
            }
            for (gi, g) in s.gateways.iter().enumerate() {
                match router_site.get(g.as_str()) {
                    None => d.error(
                        sp.join("gateways").join(gi),
                        format!("router “{g}” does not exist; choose one of the site's routers"),
                    ),
                    Some(rs) if *rs != s.site.as_str() => d.error(
                        sp.join("gateways").join(gi),
                        format!("router “{g}” is in site “{rs}”, not “{}”; choose a router of that site", s.site),
                    ),
                    _ => {}
                }
            }
        }
        if let Some(m) = n.mtu {
            if m > tenant_mtu {
                d.error(np.join("mtu"), format!("MTU {m} does not fit: the underlay leaves {tenant_mtu} after WireGuard and VXLAN; choose {tenant_mtu} or less"));
            } else if m < MIN_TENANT_MTU {
                d.error(
                    np.join("mtu"),
                    format!("MTU {m} is below {MIN_TENANT_MTU}; choose {MIN_TENANT_MTU} or more"),
                );
            }
        }
        let mut port_names = HashSet::new();
        for (pi, port) in n.ports.iter().enumerate() {
            let pp = np.join("ports").join(pi);
            match hv_site.get(port.hypervisor.as_str()) {
                None => d.error(
                    pp.join("hypervisor"),
                    format!("hypervisor “{}” does not exist; choose one of the platform's hypervisors", port.hypervisor),
                ),
                Some(hs) if !n.sites.iter().any(|s| s.site.as_str() == *hs) => d.error(
                    pp.join("hypervisor"),
                    format!(
                        "hypervisor “{}” is in site “{hs}”, where this network does not live; add that site to the network or choose another hypervisor",
                        port.hypervisor
                    ),
                ),
                _ => {}
            }
            let bridge = intent
                .platform
                .hypervisors
                .iter()
                .find(|h| h.name == port.hypervisor)
                .map_or("", |h| h.bridge.as_str());
            if let Some(why) = crate::ovs::port_name_problem(&port.name, bridge) {
                d.error(pp.join("name"), why);
            }
            if !port_names.insert((port.hypervisor.as_str(), port.name.as_str())) {
                d.error(
                    pp.join("name"),
                    format!("port “{}” is listed twice; list each port once", port.name),
                );
            }
            if let Some(a) = port.address {
                if !n.cidr.contains(&a) {
                    d.error(
                        pp.join("address"),
                        format!(
                            "{a} is outside the network {}; choose an address inside it",
                            n.cidr
                        ),
                    );
                }
            }
        }
        if n.rate_limit_pps == Some(0) {
            d.error(
                np.join("rate_limit_pps"),
                "the rate limit must be at least 1 packet/s; leave it empty for no limit",
            );
        }
    }
    let services: HashSet<&str> = t.services.iter().map(|s| s.id.as_str()).collect();
    let networks: HashSet<&str> = t.networks.iter().map(|s| s.name.as_str()).collect();
    for (si, s) in t.services.iter().enumerate() {
        let sp = tp.join("services").join(si);
        if s.addresses.is_empty() {
            d.error(
                sp.join("addresses"),
                "a service needs at least one address; add the addresses it is reached at",
            );
        }
        for (ai, a) in s.addresses.iter().enumerate() {
            if let Some(why) = host_bits(a) {
                d.error(sp.join("addresses").join(ai), why);
            }
        }
        if let Some(why) = s.description.as_deref().and_then(description_problem) {
            d.error(sp.join("description"), why);
        }
    }
    let mut ids = HashSet::new();
    for (ri, r) in t.policy.rules.iter().enumerate() {
        let rp = tp.join("policy").join("rules").join(ri);
        if !ids.insert(r.id) {
            d.error(
                rp.join("id"),
                format!("rule id {} is used twice; give each rule its own id", r.id),
            );
        }
        if let Some(why) = r.description.as_deref().and_then(description_problem) {
            d.error(rp.join("description"), why);
        }
        for (side, ep) in [("source", &r.source), ("destination", &r.destination)] {
            if let Endpoint::Cidr { cidr } = ep {
                if let Some(why) = host_bits(cidr) {
                    d.error(rp.join(side).join("cidr"), why);
                }
            }
            match ep {
                Endpoint::Service { service } if !services.contains(service.as_str()) => d.error(
                    rp.join(side).join("service"),
                    format!("service “{service}” does not exist; create it, or make the rule's {side} another service"),
                ),
                Endpoint::Network { network } if !networks.contains(network.as_str()) => d.error(
                    rp.join(side).join("network"),
                    format!("network “{network}” does not exist; create it, or make the rule's {side} another network"),
                ),
                _ => {}
            }
        }
        if matches!(r.destination, Endpoint::External) {
            d.error(
                rp.join("destination").join("type"),
                "the internet (“external”) can only be a rule's source; choose another destination",
            );
        }
        if let Some(spec) = &r.destination_port {
            if !r.protocol.has_ports() {
                d.error(
                    rp.join("destination_port"),
                    "ports need protocol tcp or udp; choose one of them or remove the ports",
                );
            }
            if let Err(e) = port_ranges(spec) {
                d.error(rp.join("destination_port"), e);
            }
        }
    }
    check_shadowing(&t.policy.rules, &tp, d);
    let mut client_keys: HashMap<&str, &str> = HashMap::new();
    for (ci, c) in t.clients.iter().enumerate() {
        let cp = tp.join("clients").join(ci);
        if !is_wg_key(&c.public_key) {
            d.error(
                cp.join("public_key"),
                "not a WireGuard public key (44 characters of base64 encoding 32 bytes)",
            );
        } else if let Some(other) = client_keys.insert(c.public_key.as_str(), c.name.as_str()) {
            // All of a tenant's clients are peers of one WireGuard interface,
            // where VyOS refuses a key twice.
            d.conflict(
                cp.join("public_key"),
                format!("client “{other}” already has this public key; each device needs its own key pair, so make a new one"),
            );
        }
        for (ai, a) in c.allowed_networks.iter().enumerate() {
            if !networks.contains(a.as_str()) {
                d.error(
                    cp.join("allowed_networks").join(ai),
                    format!("network “{a}” does not exist; create it, or allow the client another network"),
                );
            }
        }
    }
    if let Some(r) = &t.client_router {
        let gw = t
            .networks
            .iter()
            .flat_map(|n| &n.sites)
            .flat_map(|s| &s.gateways)
            .any(|g| g == r);
        if !gw {
            d.error(
                tp.join("client_router"),
                format!("router “{r}” is not a gateway of any of this tenant's networks; choose one that is"),
            );
        }
    }
    if !t.clients.is_empty() && t.networks.is_empty() {
        d.error(
            tp.join("clients"),
            "clients need at least one network to terminate on; create a network first",
        );
    }
}

/// Longest free text a tenant may give a rule or service: VyOS keeps 255
/// characters of a description, and vxguard prefixes `policy rule ID: `.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// Why `s` cannot be a description, or `None`. Descriptions reach the
/// devices inside VyOS `set` lines, so only what VyOS's `.{0,255}` takes
/// and what cannot change how the line reads: no control characters (a
/// newline would start another command), no line or paragraph separators
/// (Python's `splitlines()` splits on them), no bidirectional controls
/// (which make a line display differently from what it holds).
pub fn description_problem(s: &str) -> Option<String> {
    let n = s.chars().count();
    if n > MAX_DESCRIPTION_CHARS {
        return Some(format!(
            "the description is {n} characters long; shorten it to at most {MAX_DESCRIPTION_CHARS}"
        ));
    }
    let bad = s.chars().find(|&c| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    });
    bad.map(|c| {
        format!(
            "the description holds the character U+{:04X}, which is not allowed (control, line-separator or text-direction characters); remove it",
            c as u32
        )
    })
}

/// `Some(reason)` when a prefix has bits set after its length (VyOS
/// refuses `10.1.2.3/8` where a network is expected).
pub fn host_bits(n: &ipnet::Ipv4Net) -> Option<String> {
    (n.network() != n.addr()).then(|| format!("{n} has host bits set; did you mean {}?", n.trunc()))
}

fn is_wg_key(k: &str) -> bool {
    k.len() == 44
        && k.ends_with('=')
        && k[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && matches!(
            k.as_bytes()[42],
            b'A' | b'E'
                | b'I'
                | b'M'
                | b'Q'
                | b'U'
                | b'Y'
                | b'c'
                | b'g'
                | b'k'
                | b'o'
                | b's'
                | b'w'
                | b'0'
                | b'4'
                | b'8'
        )
}

/// A rule that never applies: an earlier enabled rule matches everything
/// it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shadowed {
    /// The shadowed rule's index in the policy (its position in order).
    pub index: usize,
    pub rule: u32,
    /// The first earlier rule that covers it.
    pub by: u32,
}

impl Shadowed {
    /// Why the rule never applies, as the checks and the portal say it.
    pub fn reason(&self) -> String {
        format!(
            "rule {} is shadowed by rule {}, which matches everything it matches: it never applies",
            self.rule, self.by
        )
    }
}

/// The enabled rules that are shadowed, in policy order (rules in the order
/// they are evaluated, as `Policy::rules` holds them). Disabled rules
/// neither shadow nor are shadowed.
pub fn shadowed_rules(rules: &[Rule]) -> Vec<Shadowed> {
    let mut out = Vec::new();
    for (j, rj) in rules.iter().enumerate() {
        if rj.disabled {
            continue;
        }
        if let Some(ri) = rules[..j]
            .iter()
            .filter(|r| !r.disabled)
            .find(|ri| covers(ri, rj))
        {
            out.push(Shadowed {
                index: j,
                rule: rj.id,
                by: ri.id,
            });
        }
    }
    out
}

fn check_shadowing(rules: &[Rule], tp: &Pointer, d: &mut Diagnostics) {
    for s in shadowed_rules(rules) {
        d.warning(tp.join("policy").join("rules").join(s.index), s.reason());
    }
}

fn covers(a: &Rule, b: &Rule) -> bool {
    let proto = a.protocol == crate::intent::Protocol::Any || a.protocol == b.protocol;
    let ports = match (&a.destination_port, &b.destination_port) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(pa), Some(pb)) => match (port_ranges(pa), port_ranges(pb)) {
            (Ok(ra), Ok(rb)) => rb
                .iter()
                .all(|r| ra.iter().any(|q| q.0 <= r.0 && r.1 <= q.1)),
            _ => false,
        },
    };
    proto && ports && ep_covers(&a.source, &b.source) && ep_covers(&a.destination, &b.destination)
}

fn ep_covers(a: &Endpoint, b: &Endpoint) -> bool {
    match (a, b) {
        (Endpoint::Any, _) => true,
        (Endpoint::Cidr { cidr: x }, Endpoint::Cidr { cidr: y }) => x.contains(y),
        _ => a == b,
    }
}

/// Uniqueness of allocated numbers, which a hand-edited lock file could break.
pub fn check_allocation(a: &Allocation, d: &mut Diagnostics) {
    /// Who holds a number; borrowed, and formatted only for a clash, since
    /// a platform has tens of thousands of numbers and clashes are rare.
    #[derive(Clone, Copy)]
    enum Who<'a> {
        Router(&'a str),
        Hypervisor(&'a str),
        Tenant(&'a str),
        TenantL3(&'a str),
        Network(&'a str, &'a str),
    }
    impl std::fmt::Display for Who<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Who::Router(r) => write!(f, "router {r}"),
                Who::Hypervisor(h) => write!(f, "hypervisor {h}"),
                Who::Tenant(t) => write!(f, "tenant {t}"),
                Who::TenantL3(t) => write!(f, "tenant {t} (L3)"),
                Who::Network(t, n) => write!(f, "network {t}/{n}"),
            }
        }
    }
    fn clash<'a, K: std::hash::Hash + Eq>(
        map: &mut HashMap<K, Who<'a>>,
        key: K,
        who: Who<'a>,
        what: &str,
        d: &mut Diagnostics,
    ) {
        if let Some(other) = map.insert(key, who) {
            d.error(
                Pointer::root().join("allocation"),
                format!("duplicate {what}: {who} and {other}"),
            );
        }
    }
    let mut vnis: HashMap<u32, Who> = HashMap::new();
    let mut tables: HashMap<u32, Who> = HashMap::new();
    let mut ids: HashMap<u32, Who> = HashMap::new();
    let mut mesh: HashMap<std::net::Ipv4Addr, Who> = HashMap::new();
    for (r, ra) in &a.routers {
        clash(
            &mut mesh,
            ra.mesh_address,
            Who::Router(r),
            "mesh address",
            d,
        );
    }
    for (h, ha) in &a.hypervisors {
        clash(
            &mut mesh,
            ha.vtep_address,
            Who::Hypervisor(h),
            "mesh address",
            d,
        );
    }
    for (t, ta) in &a.tenants {
        clash(
            &mut ids,
            ta.id,
            Who::Tenant(t),
            "route target (tenant id)",
            d,
        );
        clash(
            &mut tables,
            ta.vrf_table.get(),
            Who::Tenant(t),
            "VRF table",
            d,
        );
        clash(&mut vnis, ta.l3_vni.get(), Who::TenantL3(t), "VNI", d);
        for (n, na) in &ta.networks {
            clash(&mut vnis, na.vni.get(), Who::Network(t, n), "VNI", d);
            let mut vrids = HashSet::new();
            for (s, g) in &na.sites {
                if !vrids.insert(g.vrid) {
                    d.error(
                        Pointer::root().join("allocation"),
                        format!("duplicate VRID {} in segment {t}/{n} (site {s})", g.vrid),
                    );
                }
            }
        }
    }
}

/// [`check_allocation`] after a change to tenant `slug` alone, whose
/// numbers are the only ones that moved (the others' were checked when
/// they were taken): its numbers against every other holder's, compared
/// rather than hashed, since a one-tenant change at 5,000 tenants would
/// otherwise hash some 25,000 numbers. Each clash is named as the full
/// check names it (the holder later in slug order first).
pub fn check_allocation_tenant(a: &Allocation, slug: &str, d: &mut Diagnostics) {
    let Some(mine) = a.tenants.get(slug) else {
        return;
    };
    let vnis_of = |t: &str, ta: &'_ crate::alloc::TenantAlloc| -> Vec<(u32, String)> {
        std::iter::once((ta.l3_vni.get(), format!("tenant {t} (L3)")))
            .chain(
                ta.networks
                    .iter()
                    .map(|(n, na)| (na.vni.get(), format!("network {t}/{n}"))),
            )
            .collect()
    };
    let my_vnis = vnis_of(slug, mine);
    let err = |d: &mut Diagnostics, what: &str, a: String, b: String| {
        d.error(
            Pointer::root().join("allocation"),
            format!("duplicate {what}: {a} and {b}"),
        );
    };
    // Inside the tenant: its own VNIs and each network's VRIDs.
    for (i, (v, who)) in my_vnis.iter().enumerate() {
        if let Some((_, other)) = my_vnis[..i].iter().find(|(w, _)| w == v) {
            err(d, "VNI", who.clone(), other.clone());
        }
    }
    for (n, na) in &mine.networks {
        let mut vrids = HashSet::new();
        for (s, g) in &na.sites {
            if !vrids.insert(g.vrid) {
                d.error(
                    Pointer::root().join("allocation"),
                    format!("duplicate VRID {} in segment {slug}/{n} (site {s})", g.vrid),
                );
            }
        }
    }
    for (t, ta) in &a.tenants {
        if t == slug {
            continue;
        }
        // The full check names the later holder first.
        let pair = |m: String, o: String| if slug > t.as_str() { (m, o) } else { (o, m) };
        if ta.id == mine.id {
            let (x, y) = pair(format!("tenant {slug}"), format!("tenant {t}"));
            err(d, "route target (tenant id)", x, y);
        }
        if ta.vrf_table == mine.vrf_table {
            let (x, y) = pair(format!("tenant {slug}"), format!("tenant {t}"));
            err(d, "VRF table", x, y);
        }
        let clashes =
            |v: u32| ta.l3_vni.get() == v || ta.networks.values().any(|n| n.vni.get() == v);
        if my_vnis.iter().any(|(v, _)| clashes(*v)) {
            for (v, who) in &my_vnis {
                for (w, other) in vnis_of(t, ta) {
                    if w == *v {
                        let (x, y) = pair(who.clone(), other);
                        err(d, "VNI", x, y);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_endpoints_are_https_or_loopback_http() {
        for ok in [
            "https://5.254.54.10",
            "http://127.0.0.1:18441",
            "http://[::1]:80/",
            "http://localhost",
        ] {
            assert!(api_endpoint_ok(ok), "{ok}");
        }
        for bad in [
            "http://5.254.54.10",
            "http://127.0.0.1.example.com",
            "https://5.254.54.10/retrieve",
            "https://",
            "ftp://127.0.0.1",
            "127.0.0.1",
        ] {
            assert!(!api_endpoint_ok(bad), "{bad}");
        }
    }
}
