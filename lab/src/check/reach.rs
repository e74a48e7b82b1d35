//! Checks 1-3: who reaches whom. Every ordered pair of VMs, ICMP and TCP
//! to each checked port, against what the tenant's policy says (same
//! tenant) or "never" (other tenant); plus the outside host to every VM.
//! A TCP probe counts as reaching only when the target VM's own listener
//! received the probe's unique token: acme and globex share addresses, so
//! an answer alone does not say who answered.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use vxguard_compiler::policy::CompiledPolicy;

use super::expect::{evaluate, Probe};
use super::probe::{self, Listeners};
use super::report::Row;
use crate::inventory::Vm;

/// TCP ports every VM listens on: the Finance policy's (443, 5432, 22),
/// acme's reject range (23) and one no rule names (8080).
pub const PORTS: [u16; 5] = [22, 23, 443, 5432, 8080];

/// A probe source or target: a VM, the outside host, a client.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    /// `None`: not a tenant's (the outside host).
    pub tenant: Option<String>,
    pub site: String,
    /// The tenant network and hypervisor of a VM (empty otherwise).
    pub network: String,
    pub hypervisor: String,
    pub ns: String,
    pub address: Ipv4Addr,
}

impl Node {
    pub fn vm(v: &Vm) -> Node {
        Node {
            name: v.port.clone(),
            tenant: Some(v.tenant.clone()),
            site: v.site.clone(),
            network: v.network.clone(),
            hypervisor: v.hypervisor.clone(),
            ns: v.ns.clone(),
            address: v.address,
        }
    }
}

/// Starts a listener on every port of [`PORTS`] in every VM.
pub fn listen_all(vms: &[Vm], l: &mut Listeners) -> Result<(), probe::ProbeError> {
    for v in vms {
        for p in PORTS {
            l.add(&v.ns, &v.port, SocketAddr::from(([0, 0, 0, 0], p)))?;
        }
    }
    Ok(())
}

/// One probe to run: from, to, what, and the expectation.
#[derive(Clone, Debug)]
pub struct Job {
    pub check: String,
    pub from: Node,
    pub to: Node,
    pub probe: Probe,
    pub expect_reach: bool,
    pub why: String,
}

/// The jobs of checks 1-3 for these VMs and the outside host.
/// `outside_routed`: whether the lab routes the internet into tenant
/// networks (vxguard's intent has no such path; without it, the outside
/// host reaches nothing, whatever the policy allows).
pub fn jobs(
    vms: &[Node],
    outside: Option<&Node>,
    policies: &BTreeMap<String, CompiledPolicy>,
    outside_routed: bool,
) -> Vec<Job> {
    let mut out = Vec::new();
    let probes: Vec<Probe> = std::iter::once(Probe::Icmp)
        .chain(PORTS.iter().map(|p| Probe::Tcp(*p)))
        .collect();
    for a in vms {
        for b in vms {
            if a.name == b.name {
                continue;
            }
            let same = a.tenant == b.tenant;
            for &p in &probes {
                if !same
                    && p == Probe::Icmp
                    && vms
                        .iter()
                        .any(|c| c.tenant == a.tenant && c.address == b.address)
                {
                    // An echo reply does not say who answered: the address
                    // is also one of a's own tenant (same CIDR). TCP, with
                    // tokens, covers this pair.
                    continue;
                }
                let (expect_reach, why, check) = if same {
                    let tenant = a.tenant.clone().unwrap_or_default();
                    let e = policies
                        .get(&tenant)
                        .map(|pol| evaluate(pol, a.address, b.address, p));
                    let where_ = if a.network == b.network && a.hypervisor == b.hypervisor {
                        // No router between them: only the OVS flows decide.
                        "east-west on one hypervisor (OVS)"
                    } else if a.site == b.site {
                        "same site"
                    } else {
                        "across sites"
                    };
                    match e {
                        Some(e) => (e.allowed(), e.why(), format!("1+3 {tenant} {where_}")),
                        None => (
                            false,
                            "tenant has no policy in vxguard".into(),
                            format!("1+3 {tenant}"),
                        ),
                    }
                } else {
                    (
                        false,
                        "other tenant".to_string(),
                        "2 across tenants".to_string(),
                    )
                };
                out.push(Job {
                    check,
                    from: a.clone(),
                    to: b.clone(),
                    probe: p,
                    expect_reach,
                    why,
                });
            }
        }
    }
    if let Some(o) = outside {
        for b in vms {
            for p in [Probe::Icmp, Probe::Tcp(22), Probe::Tcp(443)] {
                let e = b
                    .tenant
                    .as_ref()
                    .and_then(|t| policies.get(t))
                    .map(|pol| evaluate(pol, o.address, b.address, p));
                let (reach, why) = match e {
                    Some(e) if outside_routed => (e.allowed(), e.why()),
                    Some(e) => (
                        false,
                        format!("no route from the internet; policy: {}", e.why()),
                    ),
                    None => (false, "tenant has no policy in vxguard".into()),
                };
                out.push(Job {
                    check: "3 outside host".into(),
                    from: o.clone(),
                    to: b.clone(),
                    probe: p,
                    expect_reach: reach,
                    why,
                });
            }
        }
    }
    out
}

/// Runs jobs on `parallel` threads; each TCP probe carries `marker` and a
/// unique token. Rows come back in job order.
pub fn run(
    jobs: &[Job],
    listeners: &Listeners,
    marker: &str,
    timeout: Duration,
    parallel: usize,
) -> Vec<Row> {
    let next = Mutex::new(0usize);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("job counter");
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(j) = jobs.get(i) else { break };
                if super::signal::interrupted() {
                    break;
                }
                let row = run_one(j, i, listeners, marker, timeout);
                rows.lock().expect("rows")[i] = Some(row);
            });
        }
    });
    // Jobs left undone (interrupted) are left out; the caller reports it.
    rows.into_inner()
        .expect("rows")
        .into_iter()
        .flatten()
        .collect()
}

/// Runs one job (also used by the client and change checks).
pub fn run_one(j: &Job, i: usize, listeners: &Listeners, marker: &str, timeout: Duration) -> Row {
    let (reached, detail) = match j.probe {
        Probe::Icmp => {
            let ok = probe::ping(&j.from.ns, j.to.address, 2);
            (
                ok,
                if ok { "echo replied" } else { "no echo reply" }.to_string(),
            )
        }
        Probe::Tcp(port) => {
            let token = format!("t{}-{i}-{}", std::process::id(), probe::random_hex(4));
            let out = probe::connect(
                &j.from.ns,
                SocketAddr::from((j.to.address, port)),
                &format!("{marker} {token} {} -> {}", j.from.name, j.to.name),
                timeout,
            );
            let got = listeners.who_got(&token);
            let reached = got.contains(&j.to.name);
            let mut d = out.short();
            if !got.is_empty() && !reached {
                d.push_str(&format!(" (received by {})", got.join(", ")));
            }
            (reached, d)
        }
    };
    Row {
        check: j.check.clone(),
        from: j.from.name.clone(),
        to: j.to.name.clone(),
        probe: j.probe.to_string(),
        expect_reach: j.expect_reach,
        why: j.why.clone(),
        reached,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, tenant: &str, site: &str, addr: &str) -> Node {
        Node {
            name: name.into(),
            tenant: Some(tenant.into()),
            site: site.into(),
            network: name.trim_end_matches(char::is_numeric).into(),
            hypervisor: format!("hv-{site}"),
            ns: format!("ns-{name}"),
            address: addr.parse().unwrap(),
        }
    }

    #[test]
    fn jobs_expect_policy_inside_a_tenant_and_nothing_across() {
        let text = include_str!("../../../examples/two-dc.yaml");
        let intent = vxguard_compiler::intent::yaml::parse_intent(text)
            .map_err(|_| ())
            .unwrap()
            .0;
        let policies: BTreeMap<String, CompiledPolicy> = intent
            .tenants
            .iter()
            .map(|t| {
                (
                    t.slug.as_str().to_string(),
                    vxguard_compiler::policy::compile(t, None),
                )
            })
            .collect();
        let vms = vec![
            node("fin-web1", "finance", "dc1", "100.64.1.10"),
            node("fin-db1", "finance", "dc2", "100.64.1.20"),
            node("fin-db2", "finance", "dc2", "100.64.1.21"),
            node("acme-app1", "acme", "dc1", "100.65.0.10"),
            node("globex-app2", "globex", "dc2", "100.65.0.11"),
            node("acme-app2", "acme", "dc2", "100.65.0.11"),
        ];
        let outside = Node {
            name: "outside".into(),
            tenant: None,
            site: "internet".into(),
            network: String::new(),
            hypervisor: String::new(),
            ns: "ns-out".into(),
            address: "198.51.100.10".parse().unwrap(),
        };
        let js = jobs(&vms, Some(&outside), &policies, false);
        let find = |f: &str, t: &str, p: Probe| {
            js.iter()
                .find(|j| j.from.name == f && j.to.name == t && j.probe == p)
                .cloned()
        };
        let j = find("fin-web1", "fin-db1", Probe::Tcp(5432)).unwrap();
        assert!(j.expect_reach && j.check == "1+3 finance across sites");
        assert!(
            !find("fin-db1", "fin-web1", Probe::Tcp(5432))
                .unwrap()
                .expect_reach
        );
        assert!(
            find("fin-db1", "fin-web1", Probe::Tcp(443))
                .unwrap()
                .expect_reach
        );
        assert!(
            find("acme-app1", "acme-app2", Probe::Icmp)
                .unwrap()
                .expect_reach
        );
        let ew = find("fin-db1", "fin-db2", Probe::Tcp(5432)).unwrap();
        assert_eq!(ew.check, "1+3 finance east-west on one hypervisor (OVS)");
        assert!(!ew.expect_reach);
        let x = find("acme-app1", "globex-app2", Probe::Tcp(8080)).unwrap();
        assert_eq!(
            (x.expect_reach, x.check.as_str()),
            (false, "2 across tenants")
        );
        // Same address as acme-app2: ICMP cannot tell, so only TCP runs.
        assert!(find("acme-app1", "globex-app2", Probe::Icmp).is_none());
        assert!(find("fin-web1", "acme-app1", Probe::Icmp).is_some());
        let o = find("outside", "fin-web1", Probe::Tcp(443)).unwrap();
        assert!(
            !o.expect_reach && o.why.contains("rule 1 accept"),
            "{}",
            o.why
        );
        assert!(jobs(&vms, Some(&outside), &policies, true)
            .iter()
            .any(|j| j.from.name == "outside" && j.probe == Probe::Tcp(443) && j.expect_reach));
    }
}
