//! What the tenant's policy says about one connection: the first rule that
//! matches decides, else the default. Evaluated over the compiler's own
//! resolved policy (`vxguard_compiler::policy`), which is what both the
//! routers' firewall and the hypervisors' flows are rendered from, so the
//! check expects exactly what vxguard meant to build.

use std::net::Ipv4Addr;

use vxguard_compiler::intent::{Action, Protocol};
use vxguard_compiler::policy::{CompiledPolicy, Match};

/// A probe's protocol: ICMP echo or a TCP connect to a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    Icmp,
    Tcp(u16),
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probe::Icmp => write!(f, "icmp"),
            Probe::Tcp(p) => write!(f, "tcp/{p}"),
        }
    }
}

/// The verdict and the rule that gave it (`None`: the default action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub action: Action,
    pub rule: Option<u32>,
}

impl Expected {
    pub fn allowed(&self) -> bool {
        self.action == Action::Accept
    }

    /// `rule 1 accept` / `default drop`, for the matrix.
    pub fn why(&self) -> String {
        match self.rule {
            Some(id) => format!("rule {id} {}", self.action.as_str()),
            None => format!("default {}", self.action.as_str()),
        }
    }
}

fn side(m: &Match, a: Ipv4Addr, internal: &[ipnet::Ipv4Net]) -> bool {
    match m {
        Match::Any => true,
        Match::Cidr(c) => c.contains(&a),
        Match::Set { prefixes, .. } => prefixes.iter().any(|p| p.contains(&a)),
        Match::External => !internal.iter().any(|p| p.contains(&a)),
    }
}

/// The policy's verdict on a new connection `src -> dst` of `probe`.
pub fn evaluate(p: &CompiledPolicy, src: Ipv4Addr, dst: Ipv4Addr, probe: Probe) -> Expected {
    for r in &p.rules {
        let proto = matches!(
            (r.protocol, probe),
            (Protocol::Any, _) | (Protocol::Tcp, Probe::Tcp(_)) | (Protocol::Icmp, Probe::Icmp)
        );
        let port = match probe {
            Probe::Tcp(port) => {
                r.ports.is_empty() || r.ports.iter().any(|pr| pr.0 <= port && port <= pr.1)
            }
            // A rule naming ports only matches protocols that have them.
            Probe::Icmp => r.ports.is_empty(),
        };
        if proto
            && port
            && side(&r.source, src, &p.internal)
            && side(&r.destination, dst, &p.internal)
        {
            return Expected {
                action: r.action,
                rule: Some(r.id),
            };
        }
    }
    Expected {
        action: p.default_action,
        rule: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vxguard_compiler::intent::Intent;

    fn intent() -> Intent {
        let text = include_str!("../../../examples/two-dc.yaml");
        vxguard_compiler::intent::yaml::parse_intent(text)
            .map_err(|e| format!("{e:?}"))
            .unwrap()
            .0
    }

    fn policy(slug: &str) -> CompiledPolicy {
        let i = intent();
        let t = i.tenants.iter().find(|t| t.slug.as_str() == slug).unwrap();
        vxguard_compiler::policy::compile(t, Some("100.64.2.0/24".parse().unwrap()))
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn finance_policy_as_the_plan_states_it() {
        let p = policy("finance");
        let (web1, web2, db1, db2) = (
            a("100.64.1.10"),
            a("100.64.1.11"),
            a("100.64.1.20"),
            a("100.64.1.21"),
        );
        let outside = a("198.51.100.10");
        // 443 to the web servers from anywhere.
        for src in [web2, db1, outside, a("100.64.2.5")] {
            let e = evaluate(&p, src, web1, Probe::Tcp(443));
            assert_eq!((e.allowed(), e.rule), (true, Some(1)), "{src}");
        }
        // 5432 to the databases only from the web servers.
        assert!(evaluate(&p, web1, db1, Probe::Tcp(5432)).allowed());
        assert!(evaluate(&p, web2, db2, Probe::Tcp(5432)).allowed());
        let e = evaluate(&p, db1, db2, Probe::Tcp(5432));
        assert_eq!((e.allowed(), e.why()), (false, "default drop".into()));
        // 22 from outside: rule 3; 22 from inside: the default.
        assert_eq!(
            evaluate(&p, outside, web1, Probe::Tcp(22)).why(),
            "rule 3 drop"
        );
        assert_eq!(
            evaluate(&p, web2, web1, Probe::Tcp(22)).why(),
            "default drop"
        );
        // Everything else, ICMP included, dropped.
        assert!(!evaluate(&p, web1, web2, Probe::Icmp).allowed());
        assert!(!evaluate(&p, web1, web2, Probe::Tcp(8080)).allowed());
    }

    #[test]
    fn acme_rejects_telnet_ranges_and_globex_lets_icmp_in_from_its_network() {
        let acme = policy("acme");
        let (x, y) = (a("100.65.0.10"), a("100.65.0.11"));
        assert_eq!(evaluate(&acme, x, y, Probe::Tcp(23)).why(), "rule 1 reject");
        assert_eq!(
            evaluate(&acme, x, y, Probe::Tcp(2350)).why(),
            "rule 1 reject"
        );
        assert!(evaluate(&acme, x, y, Probe::Tcp(2400)).allowed());
        assert!(evaluate(&acme, x, y, Probe::Icmp).allowed());
        let globex = policy("globex");
        assert_eq!(
            evaluate(&globex, x, y, Probe::Tcp(443)).why(),
            "rule 10 accept"
        );
        assert_eq!(evaluate(&globex, x, y, Probe::Icmp).why(), "rule 20 accept");
        assert!(!evaluate(&globex, x, y, Probe::Tcp(8080)).allowed());
        assert!(!evaluate(&globex, a("198.51.100.10"), y, Probe::Icmp).allowed());
    }
}
