//! `vxguard bench`: a generated platform (default 200 routers and 20
//! hypervisors in 10 sites, 5,000 tenants with 2 networks on 2 sites, 10 rules and 5 clients each),
//! timed for a full compile with validation and for one-tenant changes.
//! Figures are printed, never asserted: timings here are noisy.

use anyhow::Result;
use base64::Engine;
use std::time::Instant;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::ids::Name;
use vxguard_compiler::intent::*;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};
use vxguard_compiler::{compile, recompile_tenant_or_keep, validate_tenant, PlatformTrees};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 10)]
    sites: usize,
    #[arg(long, default_value_t = 200)]
    routers: usize,
    /// Hypervisors, spread evenly over the sites (at least one a site).
    #[arg(long, default_value_t = 20)]
    hypervisors: usize,
    #[arg(long, default_value_t = 5000)]
    tenants: usize,
    /// One-tenant changes to time.
    #[arg(long, default_value_t = 50)]
    changes: usize,
    /// A vyos-1x tree to judge one VyOS release with instead of its
    /// built-in definitions (`VERSION=DIR`, repeatable).
    #[arg(long = "vyos-defs", value_name = "VERSION=DIR")]
    vyos_defs: Vec<String>,
}

fn name(s: String) -> Name {
    Name::new(&s).expect("generated names are valid")
}

fn key(i: u64) -> String {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&i.to_le_bytes());
    b[31] = 0x40;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The generated platform and its key material: `routers` and
/// `hypervisors` spread evenly over `sites` (at least 2 routers and 1
/// hypervisor a site); each tenant has 2 networks on 2 neighbouring sites
/// (2 gateways each, a port on a hypervisor of each site), 2 services,
/// 10 rules and 5 clients. Shared by `vxguard bench` (in memory) and
/// `vxguard bench-api load` (into PostgreSQL), so both measure one shape.
pub fn generate(
    sites: usize,
    routers: usize,
    hypervisors: usize,
    tenants: usize,
) -> (Intent, Secrets) {
    let per_site = (routers / sites).max(2);
    let hv_per_site = (hypervisors / sites).max(1);
    let mut secrets = Secrets::default();
    let mut k = 0u64;
    let mut nk = || {
        k += 1;
        key(k)
    };
    let site_list: Vec<Site> = (0..sites)
        .map(|s| Site {
            name: name(format!("s{s}")),
            public_blocks: vec![],
        })
        .collect();
    let mut rs = Vec::new();
    for s in 0..sites {
        for r in 0..per_site {
            let n = format!("r{s}-{r}");
            rs.push(Router {
                name: name(n.clone()),
                site: name(format!("s{s}")),
                version: if r % 2 == 0 {
                    VyosVersion::V1_4
                } else {
                    VyosVersion::V1_5
                },
                underlay_address: format!("198.18.{s}.{}", r + 1).parse().unwrap(),
                api_endpoint: format!("https://198.18.{s}.{}", r + 1),
                api_certificate_sha256: None,
                underlay_interface: "eth0".into(),
            });
            secrets.routers.insert(
                n,
                RouterSecrets {
                    wireguard_private_key: nk(),
                    wireguard_public_key: nk(),
                    api_key: "k".repeat(32),
                    api_key_next: None,
                    api_key_retired: None,
                    api_key_since: None,
                    wireguard_previous: None,
                    wireguard_since: None,
                    client_key: None,
                    client_epochs: Default::default(),
                    client_rotation: None,
                },
            );
        }
    }
    let mut hvs = Vec::new();
    for s in 0..sites {
        for h in 0..hv_per_site {
            let n = format!("h{s}-{h}");
            hvs.push(Hypervisor {
                name: name(n.clone()),
                site: name(format!("s{s}")),
                underlay_address: format!("198.19.{s}.{}", h + 1).parse().unwrap(),
                vtep_address: None,
                bridge: "br-int".into(),
                openflow_endpoint: None,
            });
            secrets.hypervisors.insert(
                n,
                HypervisorSecrets {
                    wireguard_private_key: nk(),
                    wireguard_public_key: nk(),
                    wireguard_previous: None,
                    wireguard_since: None,
                },
            );
        }
    }
    let mut ts = Vec::new();
    for t in 0..tenants {
        let s1 = t % sites;
        let s2 = (t + 1) % sites;
        let gw = |s: usize| {
            let a = (t / sites) % per_site;
            let b = (a + 1) % per_site;
            NetworkSite {
                site: name(format!("s{s}")),
                gateways: vec![name(format!("r{s}-{a}")), name(format!("r{s}-{b}"))],
            }
        };
        let networks: Vec<Network> = (0..2)
            .map(|n| Network {
                name: name(format!("net{n}")),
                cidr: format!("100.65.{n}.0/24").parse().unwrap(),
                sites: vec![gw(s1), gw(s2)],
                mtu: None,
                ports: vec![
                    Port {
                        hypervisor: name(format!("h{s1}-{}", t % hv_per_site)),
                        name: format!("t{t}n{n}a"),
                        address: Some(format!("100.65.{n}.10").parse().unwrap()),
                    },
                    Port {
                        hypervisor: name(format!("h{s2}-{}", t % hv_per_site)),
                        name: format!("t{t}n{n}b"),
                        address: Some(format!("100.65.{n}.11").parse().unwrap()),
                    },
                ],
                rate_limit_pps: Some(10_000),
            })
            .collect();
        let services = vec![
            Service {
                id: name("web".into()),
                description: None,
                addresses: vec![
                    "100.65.0.10/32".parse().unwrap(),
                    "100.65.1.11/32".parse().unwrap(),
                ],
            },
            Service {
                id: name("db".into()),
                description: None,
                addresses: vec!["100.65.1.10/32".parse().unwrap()],
            },
        ];
        let rules = (0..10)
            .map(|i| Rule {
                id: i + 1,
                description: Some(format!("rule {i}")),
                action: if i % 3 == 2 {
                    Action::Drop
                } else {
                    Action::Accept
                },
                protocol: Protocol::Tcp,
                destination_port: Some(PortSpec::Single(1000 + i as u16)),
                source: if i % 2 == 0 {
                    Endpoint::Any
                } else {
                    Endpoint::Service {
                        service: name("web".into()),
                    }
                },
                destination: if i % 2 == 0 {
                    Endpoint::Service {
                        service: name("web".into()),
                    }
                } else {
                    Endpoint::Service {
                        service: name("db".into()),
                    }
                },
                disabled: false,
            })
            .collect();
        let clients = (0..5)
            .map(|c| Client {
                name: name(format!("c{c}")),
                public_key: nk(),
                allowed_networks: vec![],
                expires_at: None,
            })
            .collect();
        ts.push(Tenant {
            slug: name(format!("t{t}")),
            name: format!("Tenant {t}"),
            networks,
            services,
            policy: Policy {
                default_action: Action::Drop,
                rules,
            },
            clients,
            client_router: None,
        });
    }
    let intent = Intent {
        platform: Platform {
            asn: vxguard_compiler::ids::Asn::new(65000).unwrap(),
            pools: Pools::default(),
            wireguard: WireguardSettings::default(),
            underlay: Underlay::default(),
            sites: site_list,
            routers: rs,
            hypervisors: hvs,
        },
        tenants: ts,
    };
    (intent, secrets)
}

/// This process's CPU time so far, user and system (from /proc, in clock
/// ticks of 10 ms): CPU per operation holds better than wall time on a
/// machine shared with other work.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The fields after the command name (which may hold spaces).
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let ticks = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn peak_rss_mib() -> f64 {
    rss_mib("VmHWM:")
}

/// A memory figure of this process from /proc (`VmRSS:` now, `VmHWM:` peak).
fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub fn run(a: BenchArgs) -> Result<bool> {
    let loaded = crate::definitions::load(&a.vyos_defs)?;
    let defs = crate::definitions::set(&loaded);
    println!("definitions loaded: RSS {:.0} MiB", rss_mib("VmRSS:"));
    let t0 = Instant::now();
    let (mut intent, secrets) = generate(a.sites, a.routers, a.hypervisors, a.tenants);
    let gen = t0.elapsed();
    let t1 = Instant::now();
    let out = compile(&intent, &Allocation::default(), &secrets, &defs).map_err(|e| {
        anyhow::anyhow!(
            "generated platform does not compile: {}",
            e.iter()
                .take(5)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let full = t1.elapsed();
    println!("after the full compile: RSS {:.0} MiB", rss_mib("VmRSS:"));
    let commands: usize = out.routers.values().map(|r| r.set.lines().count()).sum();
    let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
    println!(
        "output text: set {:.0} MiB, flows {:.0} MiB",
        mib(out.routers.values().map(|r| r.set.len()).sum()),
        mib(out.hypervisors.values().map(|h| h.flows.len()).sum()),
    );
    let parts: usize = out
        .routers
        .values()
        .flat_map(|r| r.parts.values())
        .map(|p| p.paths.heap_bytes())
        .sum();
    let segments: usize = out.routers.values().map(|r| r.segments.len()).sum();
    println!(
        "kept for one-tenant changes: commands by owner {:.0} MiB, {segments} owner subtrees",
        mib(parts)
    );
    let flows: usize = out
        .hypervisors
        .values()
        .map(|h| h.flows.lines().count())
        .sum();
    println!("platform: {} routers, {} hypervisors, {} tenants; {commands} VyOS commands, {flows} flow lines", out.routers.len(), out.hypervisors.len(), intent.tenants.len());
    println!("generate: {:.1} ms", gen.as_secs_f64() * 1e3);
    println!(
        "full compile + validation: {:.1} ms",
        full.as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    let mut prev = out;
    let cpu = cpu_secs();
    // One set of platform trees, as serve's engine and write checks share.
    let trees = PlatformTrees::default();
    let mut touched_max = 0;
    let (mut in_place, mut devices) = (0, 0);
    for i in 0..a.changes {
        let ti = (i * 97) % intent.tenants.len();
        let t = &mut intent.tenants[ti];
        let slug = t.slug.to_string();
        t.policy.rules[0].destination_port = Some(PortSpec::Single(2000 + i as u16));
        let s = Instant::now();
        let (o, touched) = recompile_tenant_or_keep(&intent, &slug, prev, &secrets, &defs, &trees)
            .map_err(|e| anyhow::anyhow!("change {i}: {}", e.0[0]))?;
        times.push(s.elapsed().as_secs_f64() * 1e3);
        touched_max = touched_max.max(touched.routers.len() + touched.hypervisors.len());
        in_place += touched.in_place;
        devices += touched.routers.len() + touched.hypervisors.len();
        prev = o;
    }
    let cpu = (cpu_secs() - cpu) * 1e3 / a.changes.max(1) as f64;
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if !times.is_empty() {
        let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!("one-tenant change ({} runs, at most {touched_max} devices touched, {in_place} of {devices} updated in place): p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms; CPU {cpu:.2} ms each", times.len(), p(0.5), p(0.9), p(1.0));
    }
    // A tenant's write is judged before its 201 as the devices would
    // judge it (`validate_tenant`): its cost is part of every write. First
    // with no platform sketch kept (each check renders and sketches its
    // routers' platform commands), then with the sketches kept (as a
    // server's writes find them, once each router has been checked).
    for pass in ["no platform sketch kept", "platform sketches kept"] {
        let fresh = pass.starts_with("no");
        let mut times = Vec::new();
        let cpu = cpu_secs();
        for i in 0..a.changes {
            let ti = (i * 97) % intent.tenants.len();
            let s = Instant::now();
            let none = PlatformTrees::default();
            let trees = if fresh { &none } else { &trees };
            let found = validate_tenant(&intent, ti, &prev.allocation, &secrets, &defs, trees);
            times.push(s.elapsed().as_secs_f64() * 1e3);
            if let Some(e) = found.iter().find(|d| d.is_error()) {
                anyhow::bail!("write check {i}: {e}");
            }
        }
        let cpu = (cpu_secs() - cpu) * 1e3 / a.changes.max(1) as f64;
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if let (Some(first), Some(last)) = (times.first(), times.last()) {
            let p50 = times[(times.len() - 1) / 2];
            println!(
                "a write's device check, {pass} ({} runs): min {first:.2} ms, p50 {p50:.2} ms, max {last:.2} ms; CPU {cpu:.2} ms each",
                times.len(),
            );
        }
    }
    println!(
        "RSS {:.0} MiB (with the routers' platform sketches kept)",
        rss_mib("VmRSS:")
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    Ok(true)
}
