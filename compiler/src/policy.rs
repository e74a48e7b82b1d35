//! A tenant policy resolved against the tenant's services and networks: the
//! one form both the VyOS firewall and the OVS security-group flows are
//! rendered from, so the two enforcement points cannot disagree.

use crate::intent::{Action, Endpoint, PortItem, PortSpec, Protocol, Tenant};
use ipnet::Ipv4Net;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange(pub u16, pub u16);

/// What one side of a rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    Any,
    /// Named address set (a service or a network), rendered as a group.
    Set {
        group: String,
        prefixes: Vec<Ipv4Net>,
    },
    Cidr(Ipv4Net),
    /// Not from any of the tenant's own prefixes (networks and client subnet).
    External,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledRule {
    pub id: u32,
    /// Firewall rule number: position-based, so reordering rules reorders numbers.
    pub number: u32,
    pub description: Option<String>,
    pub action: Action,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub source: Match,
    pub destination: Match,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledPolicy {
    pub default_action: Action,
    pub rules: Vec<CompiledRule>,
    /// The tenant's own prefixes (what `external` excludes).
    pub internal: Vec<Ipv4Net>,
    /// The tenant's networks: every address in them is a VM port behind a
    /// hypervisor, whose OVS flows judge the whole policy statefully in
    /// both directions (`ovs`). Routers leave internal traffic to and from
    /// these to the hypervisors (`vyos::render_chain` says why).
    pub networks: Vec<Ipv4Net>,
}

/// Group name of a service or network: `VXG-<tenant>-S-<service>` / `-N-`.
pub fn group_name(tenant: &str, kind: char, name: &str) -> String {
    format!("VXG-{tenant}-{kind}-{name}")
}

/// Resolves a checked tenant's policy (references exist; see `checks`).
pub fn compile(t: &Tenant, client_subnet: Option<Ipv4Net>) -> CompiledPolicy {
    let slug = t.slug.as_str();
    let resolve = |e: &Endpoint| -> Match {
        match e {
            Endpoint::Any => Match::Any,
            Endpoint::External => Match::External,
            Endpoint::Cidr { cidr } => Match::Cidr(*cidr),
            Endpoint::Service { service } => Match::Set {
                group: group_name(slug, 'S', service.as_str()),
                prefixes: t
                    .services
                    .iter()
                    .find(|s| s.id == *service)
                    .map(|s| s.addresses.clone())
                    .unwrap_or_default(),
            },
            Endpoint::Network { network } => Match::Set {
                group: group_name(slug, 'N', network.as_str()),
                prefixes: t
                    .networks
                    .iter()
                    .find(|n| n.name == *network)
                    .map(|n| vec![n.cidr])
                    .unwrap_or_default(),
            },
        }
    };
    let rules = t
        .policy
        .rules
        .iter()
        .filter(|r| !r.disabled)
        .enumerate()
        .map(|(i, r)| CompiledRule {
            id: r.id,
            number: 100 + 10 * i as u32,
            description: r.description.clone(),
            action: r.action,
            protocol: r.protocol,
            ports: r
                .destination_port
                .as_ref()
                .and_then(|p| port_ranges(p).ok())
                .unwrap_or_default(),
            source: resolve(&r.source),
            destination: resolve(&r.destination),
        })
        .collect();
    let mut networks: Vec<Ipv4Net> = t.networks.iter().map(|n| n.cidr).collect();
    networks.sort();
    let mut internal = networks.clone();
    internal.extend(client_subnet);
    internal.sort();
    CompiledPolicy {
        default_action: t.policy.default_action,
        rules,
        internal,
        networks,
    }
}

/// The port ranges of a `destination_port`, checked.
pub fn port_ranges(spec: &PortSpec) -> Result<Vec<PortRange>, String> {
    fn range(s: &str) -> Result<PortRange, String> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let parse = |x: &str| {
            x.trim()
                .parse::<u16>()
                .map_err(|_| format!("“{s}” is not a port or a range; give a port such as 443 or a range such as 8000-8080"))
        };
        let (a, b) = (parse(a)?, parse(b)?);
        if a == 0 || a > b {
            return Err(format!(
                "“{s}” is not a valid range; give low-high, both 1-65535"
            ));
        }
        Ok(PortRange(a, b))
    }
    let item = |i: &PortItem| match i {
        PortItem::Single(0) => Err("port 0 is not a valid port; give 1-65535".to_string()),
        PortItem::Single(p) => Ok(PortRange(*p, *p)),
        PortItem::Range(s) => range(s),
    };
    match spec {
        PortSpec::Single(p) => item(&PortItem::Single(*p)).map(|r| vec![r]),
        PortSpec::Range(s) => range(s).map(|r| vec![r]),
        PortSpec::List(items) if items.is_empty() => Err("the port list is empty".into()),
        PortSpec::List(items) => items.iter().map(item).collect(),
    }
}
