//! A hostile tenant's writes (issue 14): whatever acme writes (port names,
//! descriptions, addresses, client keys), the write-time checks either
//! refuse it, naming a field of acme's, or accept it, and then the whole
//! platform compiles and validates as the worker compiles it, and the
//! devices change only in acme's own commands and flows: no other
//! tenant's part, no platform part, no reserved or foreign port.

mod common;
use common::*;
use proptest::prelude::*;
use std::sync::OnceLock;
use vxguard_compiler::alloc::{self, Allocation};
use vxguard_compiler::diag::Diagnostics;
use vxguard_compiler::ids::Name;
use vxguard_compiler::intent::{Client, Intent, Port, Rule, Service};
use vxguard_compiler::{checks, compile, validate_tenant, Output, PlatformTrees};

const ME: &str = "acme";

fn base() -> &'static (Intent, Output) {
    static B: OnceLock<(Intent, Output)> = OnceLock::new();
    B.get_or_init(|| {
        let i = example();
        let out = compile(
            &i,
            &Allocation::default(),
            &secrets(&i),
            &Defs::load().set(),
        )
        .expect("the example compiles");
        (i, out)
    })
}

#[derive(Clone, Debug)]
enum Edit {
    Port {
        hv: usize,
        name: String,
    },
    Rule {
        description: String,
        cidr: String,
    },
    Service {
        address: String,
        description: String,
    },
    Client {
        name: String,
        key: Key,
    },
}

#[derive(Clone, Debug)]
enum Key {
    Fresh([u8; 32]),
    /// Another tenant's client's key.
    Foreign,
    /// acme's own existing client's key.
    Own,
    /// A router's WireGuard key.
    Router,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("x\nset system login user evil authentication plaintext-password x".to_string()),
        Just("a\u{2028}b".to_string()),
        Just("\u{202E}txet".to_string()),
        Just("tab\there".to_string()),
        Just("'\"$`\\".to_string()),
        Just("d".repeat(201)),
        Just("é".repeat(200)),
        "\\PC{0,30}",
    ]
}

fn port_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("fin-web1".to_string()),
        Just("globex-app1".to_string()),
        Just("vxg-tun".to_string()),
        Just("br-int".to_string()),
        Just("NORMAL".to_string()),
        Just("local".to_string()),
        Just("In_Port".to_string()),
        Just("1".to_string()),
        Just("acme-app1".to_string()),
        "[A-Za-z0-9._-]{0,17}",
        "[a-z][a-z0-9-]{0,12}",
    ]
}

fn cidr() -> impl Strategy<Value = String> {
    (any::<[u8; 4]>(), 0u8..=33)
        .prop_map(|(a, l)| format!("{}.{}.{}.{}/{l}", a[0], a[1], a[2], a[3]))
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (0usize..2, port_name()).prop_map(|(hv, name)| Edit::Port { hv, name }),
        1 => (text(), cidr()).prop_map(|(description, cidr)| Edit::Rule { description, cidr }),
        1 => (cidr(), text()).prop_map(|(address, description)| Edit::Service { address, description }),
        2 => (
            "[a-z][a-z0-9-]{0,8}",
            prop_oneof![
                any::<[u8; 32]>().prop_map(Key::Fresh),
                Just(Key::Foreign),
                Just(Key::Own),
                Just(Key::Router),
            ]
        )
            .prop_map(|(name, key)| Edit::Client { name, key }),
    ]
}

/// Puts the edit into acme's part of the intent as the API's body parser
/// would (values it cannot parse are refused there: `None`).
fn apply(intent: &mut Intent, e: &Edit) -> Option<()> {
    let ti = intent.tenants.iter().position(|t| t.slug.as_str() == ME)?;
    let secrets = secrets(intent);
    let foreign_key = intent.tenants[0].clients[0].public_key.clone();
    let t = &mut intent.tenants[ti];
    match e {
        Edit::Port { hv, name } => {
            let hv = ["hv-dc1-01", "hv-dc2-01"][*hv];
            t.networks[0].ports.push(Port {
                hypervisor: Name::new(hv).ok()?,
                name: name.clone(),
                address: None,
            });
        }
        Edit::Rule { description, cidr } => {
            let r: Rule = serde_json::from_value(serde_json::json!({
                "id": 900, "description": description, "action": "accept",
                "source": {"type": "cidr", "cidr": cidr},
            }))
            .ok()?;
            t.policy.rules.push(r);
        }
        Edit::Service {
            address,
            description,
        } => {
            let s: Service = serde_json::from_value(serde_json::json!({
                "id": "svc", "description": description, "addresses": [address],
            }))
            .ok()?;
            t.services.push(s);
        }
        Edit::Client { name, key } => {
            let public_key = match key {
                Key::Fresh(b) => base64_lite::encode(b),
                Key::Foreign => foreign_key,
                Key::Own => t.clients[0].public_key.clone(),
                Key::Router => secrets.routers["vyos-dc1-01"].wireguard_public_key.clone(),
            };
            t.clients.push(Client {
                name: Name::new(name).ok()?,
                public_key,
                allowed_networks: vec![],
                expires_at: None,
            });
        }
    }
    Some(())
}

/// The write path's verdict: `Err` holds the refused pointers.
fn write_checks(intent: &Intent, prev: &Allocation) -> Result<Allocation, Vec<String>> {
    let secrets = secrets(intent);
    let mut d = Diagnostics::default();
    checks::check_intent(intent, &mut d);
    let refused = |d: &Diagnostics| -> Vec<String> {
        d.0.iter()
            .filter(|x| x.is_error())
            .map(|x| x.pointer.0.clone())
            .collect()
    };
    if d.has_errors() {
        return Err(refused(&d));
    }
    let a = alloc::allocate(intent, prev, &mut d);
    checks::check_allocation(&a, &mut d);
    if d.has_errors() {
        return Err(refused(&d));
    }
    let ti = intent
        .tenants
        .iter()
        .position(|t| t.slug.as_str() == ME)
        .unwrap();
    // One set of kept platform trees for every generated write, as a
    // server keeps them between writes.
    static TREES: OnceLock<PlatformTrees> = OnceLock::new();
    let v = Diagnostics(validate_tenant(
        intent,
        ti,
        &a,
        &secrets,
        &Defs::load().set(),
        TREES.get_or_init(PlatformTrees::default),
    ));
    if v.has_errors() {
        return Err(refused(&v));
    }
    Ok(a)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_tenant_write_is_refused_at_its_field_or_touches_only_that_tenant(e in edit()) {
        let (intent0, before) = base();
        let mut intent = intent0.clone();
        if apply(&mut intent, &e).is_none() {
            return Ok(()); // the body parser refuses it (names are checked by type)
        }
        let ti = intent.tenants.iter().position(|t| t.slug.as_str() == ME).unwrap();
        let mine = format!("/tenants/{ti}/");
        match write_checks(&intent, &before.allocation) {
            Err(pointers) => {
                // Refused: at a field of acme's own (the other side of a
                // clash may be reported too, but never alone).
                prop_assert!(pointers.iter().any(|p| p.starts_with(&mine)), "{e:?}: {pointers:?}");
                for p in &pointers {
                    prop_assert!(p.starts_with("/tenants/"), "{e:?}: platform error {p}");
                }
            }
            Ok(_) => {
                let after = compile(&intent, &before.allocation, &secrets(&intent), &Defs::load().set());
                let after = match after {
                    Ok(o) => o,
                    Err(d) => return Err(TestCaseError::fail(format!(
                        "{e:?} was accepted but the worker's compile fails: {}",
                        d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; ")
                    ))),
                };
                for (name, r) in &after.routers {
                    // No character that could split a `set` line or hide
                    // what it says reaches a router.
                    let sneaky = r.set.chars().find(|&c| {
                        (c.is_control() && c != '\n')
                            || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{61C}')
                            || ('\u{202A}'..='\u{202E}').contains(&c)
                            || ('\u{2066}'..='\u{2069}').contains(&c)
                    });
                    prop_assert!(sneaky.is_none(), "{:?}: {:?} reaches {}", e, sneaky, name);
                    let b = &before.routers[name];
                    for (owner, part) in &r.parts {
                        if owner != ME {
                            prop_assert_eq!(Some(&part.paths), b.parts.get(owner).map(|p| &p.paths), "{:?} changed {}'s part on {}", e, owner, name);
                        }
                    }
                }
                for (name, h) in &after.hypervisors {
                    let b = &before.hypervisors[name];
                    for s in h.tenants.iter().filter(|s| s.tenant != ME) {
                        let old = b.tenants.iter().find(|x| x.tenant == s.tenant).unwrap();
                        prop_assert_eq!(&h.flows[s.flows.clone()], &b.flows[old.flows.clone()], "{:?} changed {}'s flows on {}", e, s.tenant, name);
                        prop_assert_eq!(&h.groups[s.groups.clone()], &b.groups[old.groups.clone()]);
                    }
                    // acme's flows name only the tunnel and ports that are
                    // acme's alone: no other tenant's, no OpenFlow reserved
                    // port, no number, not the bridge itself.
                    let on_hv = |t: &vxguard_compiler::intent::Tenant| -> Vec<String> {
                        t.networks.iter().flat_map(|n| &n.ports)
                            .filter(|p| p.hypervisor.as_str() == name).map(|p| p.name.clone()).collect()
                    };
                    let own = on_hv(&intent.tenants[ti]);
                    let others: Vec<String> = intent.tenants.iter().filter(|t| t.slug.as_str() != ME).flat_map(on_hv).collect();
                    let reserved = ["IN_PORT", "TABLE", "NORMAL", "FLOOD", "ALL", "CONTROLLER", "LOCAL", "ANY", "NONE"];
                    let ok = |v: &str| {
                        v == "vxg-tun"
                            || (own.iter().any(|o| o == v)
                                && !others.iter().any(|o| o == v)
                                && !reserved.iter().any(|r| r.eq_ignore_ascii_case(v))
                                && !v.to_ascii_lowercase().starts_with("vxg")
                                && !v.starts_with(|c: char| c.is_ascii_digit())
                                && v != "br-int")
                    };
                    if let Some(s) = h.tenants.iter().find(|s| s.tenant == ME) {
                        let text = format!("{}{}", &h.flows[s.flows.clone()], &h.groups[s.groups.clone()]);
                        for key in ["in_port=", "output:"] {
                            for (i, _) in text.match_indices(key) {
                                let v: String = text[i + key.len()..].chars().take_while(|c| !matches!(c, ',' | '\n' | ' ')).collect();
                                prop_assert!(ok(&v), "{e:?}: acme's flows on {name} use port {v}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_known_attacks_are_each_refused_at_the_field() {
    let (intent0, before) = base();
    let cases: Vec<(Edit, &str)> = vec![
        (
            Edit::Port {
                hv: 0,
                name: "fin-web1".into(),
            },
            "/networks/0/ports/2/name",
        ),
        (
            Edit::Port {
                hv: 0,
                name: "vxg-tun".into(),
            },
            "/networks/0/ports/2/name",
        ),
        (
            Edit::Port {
                hv: 0,
                name: "NORMAL".into(),
            },
            "/networks/0/ports/2/name",
        ),
        (
            Edit::Port {
                hv: 0,
                name: "LOCAL".into(),
            },
            "/networks/0/ports/2/name",
        ),
        (
            Edit::Port {
                hv: 0,
                name: "br-int".into(),
            },
            "/networks/0/ports/2/name",
        ),
        (
            Edit::Port {
                hv: 0,
                name: "7".into(),
            },
            "/networks/0/ports/2/name",
        ),
        (
            Edit::Rule {
                description: "x\nset system login user evil".into(),
                cidr: "10.0.0.0/8".into(),
            },
            "/policy/rules/1/description",
        ),
        (
            Edit::Rule {
                description: "x".repeat(256),
                cidr: "10.0.0.0/8".into(),
            },
            "/policy/rules/1/description",
        ),
        (
            Edit::Rule {
                description: "a\u{2028}b".into(),
                cidr: "10.0.0.0/8".into(),
            },
            "/policy/rules/1/description",
        ),
        (
            Edit::Rule {
                description: "\u{202E}x".into(),
                cidr: "10.0.0.0/8".into(),
            },
            "/policy/rules/1/description",
        ),
        (
            Edit::Rule {
                description: "ok".into(),
                cidr: "10.1.2.3/8".into(),
            },
            "/policy/rules/1/source/cidr",
        ),
        (
            Edit::Service {
                address: "100.65.0.9/24".into(),
                description: "ok".into(),
            },
            "/services/0/addresses/0",
        ),
        (
            Edit::Client {
                name: "dup".into(),
                key: Key::Own,
            },
            "/clients/1/public_key",
        ),
        (
            Edit::Client {
                name: "rtr".into(),
                key: Key::Router,
            },
            "/clients/1/public_key",
        ),
    ];
    for (e, want) in cases {
        let mut intent = intent0.clone();
        apply(&mut intent, &e).expect("parses");
        // acme's new port comes after its two (index 2); a clash with
        // finance's port is reported on both sides, acme's is what acme sees.
        let ti = intent
            .tenants
            .iter()
            .position(|t| t.slug.as_str() == ME)
            .unwrap();
        let got = write_checks(&intent, &before.allocation).expect_err(&format!("{e:?} accepted"));
        let want = format!("/tenants/{ti}{want}");
        assert!(got.contains(&want), "{e:?}: want {want}, got {got:?}");
    }
}
