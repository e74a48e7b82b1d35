//! The generated platform both benchmarks measure: `compile` in memory,
//! `api load` written into PostgreSQL, so that both measure one shape
//! (and `tests/builtin_defs.rs` judges it with either set of definitions).

use base64::Engine;
use vxguard_compiler::ids::Name;
use vxguard_compiler::intent::*;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};

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
/// 10 rules and 5 clients.
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
