//! The plan's example: golden output, validation against both VyOS
//! versions' definitions, determinism, and real `ovs-ofctl` parsing.

mod common;
use common::*;
use std::collections::BTreeMap;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::compile;
use vxguard_compiler::intent::VyosVersion;

#[test]
fn example_compiles_and_every_command_validates_against_its_version() {
    let defs = Defs::load();
    let intent = example();
    let versions: Vec<_> = intent.platform.routers.iter().map(|r| r.version).collect();
    assert!(versions.contains(&VyosVersion::V1_4) && versions.contains(&VyosVersion::V1_5));
    let out = compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &defs.set(),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert!(out.unvalidated.is_empty());
    // Belt and braces: re-validate every rendered line as a user would.
    for (name, r) in &out.routers {
        let d = match r.version {
            VyosVersion::V1_4 => &defs.v14,
            VyosVersion::V1_5 => &defs.v15,
        };
        let n = r.tree().commands().len();
        assert!(n > 150, "{name} has only {n} commands");
        for c in r.tree().commands() {
            d.validate(&c.path)
                .unwrap_or_else(|e| panic!("{name}: {c}: {e}"));
        }
        // 1.5 needs `service https api rest`; 1.4 does not know it.
        assert_eq!(
            r.set.contains("set service https api rest"),
            r.version == VyosVersion::V1_5,
            "{name}"
        );
        // 1.5 serves its own Prometheus exporters, on the mesh address
        // only (issue 18, item 3); 1.4 has none.
        let mesh = out.allocation.routers[name.as_str()].mesh_address;
        for exporter in vxguard_compiler::vyos::MONITORING_EXPORTERS {
            let line = format!("set service monitoring {exporter} listen-address '{mesh}'");
            assert_eq!(
                r.set.contains(&line),
                r.version == VyosVersion::V1_5,
                "{name}: {line}"
            );
            let path: Vec<String> = ["service", "monitoring", exporter, "listen-address"]
                .iter()
                .map(|w| w.to_string())
                .chain([mesh.to_string()])
                .collect();
            assert!(defs.v15.validate(&path).is_ok());
            assert!(defs.v14.validate(&path).is_err(), "1.4 has {exporter}");
        }
        assert_eq!(
            r.set.matches("set service monitoring ").count(),
            if r.version == VyosVersion::V1_5 { 2 } else { 0 },
            "{name}"
        );
    }
    assert_eq!(out.tenant_mtu, 1390);
}

#[test]
fn overlapping_tenants_get_separate_vrfs_tables_and_vnis() {
    let defs = Defs::load();
    let intent = example();
    let out = compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &defs.set(),
    )
    .unwrap();
    let a = &out.allocation.tenants["acme"];
    let g = &out.allocation.tenants["globex"];
    assert_ne!(a.vrf_table, g.vrf_table);
    assert_ne!(a.l3_vni, g.l3_vni);
    assert_ne!(a.networks["app"].vni, g.networks["app"].vni);
    let set = &out.routers["vyos-dc1-01"].set;
    assert!(set.contains("set vrf name acme table"), "{set}");
    assert!(set.contains("set vrf name globex table"));
    assert!(set.contains(
        "set vrf name acme protocols bgp address-family l2vpn-evpn route-target import '65000:"
    ));
}

#[test]
fn output_is_deterministic_byte_for_byte() {
    let defs = Defs::load();
    let intent = example();
    let s = secrets(&intent);
    let a = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    let b = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    assert_eq!(a, b);
    // Reordering the intent's lists does not change the configuration.
    let mut shuffled = intent.clone();
    shuffled.tenants.reverse();
    shuffled.platform.routers.reverse();
    let c = compile(&shuffled, &Allocation::default(), &s, &defs.set()).unwrap();
    assert_eq!(a.allocation, c.allocation);
    for (n, r) in &a.routers {
        assert_eq!(r.set, c.routers[n].set, "{n}");
    }
}

#[test]
fn golden_files_match() {
    let defs = Defs::load();
    let intent = example();
    let out = compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &defs.set(),
    )
    .unwrap();
    let dir = root().join("compiler/tests/golden");
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (n, r) in &out.routers {
        files.insert(format!("{n}.set"), r.set.clone());
        files.insert(format!("{n}.boot"), r.boot(&defs.set()));
    }
    for (n, h) in &out.hypervisors {
        files.insert(format!("{n}.flows"), h.flows.clone());
        files.insert(format!("{n}.groups"), h.groups.clone());
        files.insert(format!("{n}.meters"), h.meters.clone());
        files.insert(format!("{n}.wg"), h.wireguard.clone());
    }
    files.insert(
        "allocation.json".into(),
        serde_json::to_string_pretty(&out.allocation).unwrap() + "\n",
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (n, t) in &files {
            std::fs::write(dir.join(n), t).unwrap();
        }
    }
    for (n, t) in &files {
        let want = std::fs::read_to_string(dir.join(n))
            .unwrap_or_else(|_| panic!("missing golden {n}: run with UPDATE_GOLDEN=1"));
        assert_eq!(
            &want, t,
            "golden {n} differs: review and run with UPDATE_GOLDEN=1"
        );
    }
}

#[test]
fn boot_and_set_forms_describe_the_same_tree() {
    let defs = Defs::load();
    let intent = example();
    let out = compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &defs.set(),
    )
    .unwrap();
    for (n, r) in &out.routers {
        let from_boot = vyos_tree::ConfigTree::parse_boot(&r.boot(&defs.set())).unwrap();
        let from_set = vyos_tree::ConfigTree::parse_set(&r.set, &defs.v15).unwrap();
        assert_eq!(from_boot.commands(), from_set.commands(), "{n}");
        assert_eq!(from_boot.commands(), r.tree().commands(), "{n}");
    }
}

/// Real `ovs-ofctl` parses every flow (port names mapped to numbers, since
/// offline parsing cannot resolve names). Skipped with a message only when
/// ovs-ofctl is absent; `scripts/test` installs it.
#[test]
fn flows_parse_with_ovs_ofctl() {
    let Ok(status) = std::process::Command::new("ovs-ofctl")
        .arg("--version")
        .output()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ovs-ofctl must be installed in CI"
        );
        eprintln!("ovs-ofctl not installed: skipping");
        return;
    };
    assert!(status.status.success());
    let defs = Defs::load();
    let intent = example();
    let out = compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &defs.set(),
    )
    .unwrap();
    for (n, h) in &out.hypervisors {
        let mut names: Vec<String> = intent
            .tenants
            .iter()
            .flat_map(|t| &t.networks)
            .flat_map(|x| &x.ports)
            .map(|p| p.name.clone())
            .collect();
        names.push(vxguard_compiler::ovs::TUNNEL_PORT.into());
        let mut flows = h.flows.clone();
        names.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for (i, p) in names.iter().enumerate() {
            flows = flows.replace(&format!("in_port={p},"), &format!("in_port={},", i + 1));
        }
        let f = std::env::temp_dir().join(format!("vxguard-test-{n}-{}.flows", std::process::id()));
        std::fs::write(&f, &flows).unwrap();
        let o = std::process::Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow13", "parse-flows"])
            .arg(&f)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&f);
        assert!(
            o.status.success(),
            "{n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let parsed = String::from_utf8_lossy(&o.stdout);
        let n_flows = flows
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert!(
            parsed.matches("OFPT_FLOW_MOD").count() >= n_flows,
            "{n}: {parsed}"
        );
        assert!(
            h.meters.is_empty() || h.meters.contains("burst_size="),
            "meter lines need burst_size with burst"
        );
    }
}

/// The stored revision text of every hypervisor reads back as what was
/// compiled (VTEP and bridge included), and its WireGuard section names
/// the site's routers as peers with the right keys.
#[test]
fn hypervisor_revision_text_round_trips() {
    use vxguard_compiler::hypervisor_config::HypervisorConfig;
    let defs = Defs::load();
    let intent = example();
    let s = secrets(&intent);
    let out = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    for (n, h) in &out.hypervisors {
        let c = HypervisorConfig::from(h);
        let back = HypervisorConfig::parse_text(&c.render_text()).unwrap();
        assert_eq!(back, c, "{n}");
        assert_eq!(back.vtep, out.allocation.hypervisors[n].vtep_address, "{n}");
        assert_eq!(back.bridge, "br-int");
        let wg = &c.wireguard;
        assert!(wg.contains(&format!(
            "PrivateKey = {}\n",
            s.hypervisors[n].wireguard_private_key
        )));
        assert!(wg.contains("ListenPort = 51820\n"), "{wg}");
    }
    let text = &out.hypervisors["hv-dc1-01"].wireguard;
    // Two mesh slots (vxguard_compiler::mesh), the same peers on each at
    // rest, on their own ports; the mesh routed into slot A.
    let slots = vxguard_compiler::wireguard::slots(text);
    assert_eq!(vxguard_compiler::wireguard::active(text), "wg0");
    assert_eq!(slots.len(), 2, "{text}");
    assert_eq!(slots[1].0, "wg65536");
    assert_eq!(
        slots[1]
            .1
            .replace(":51819\n", ":51820\n")
            .replace("ListenPort = 51819", "ListenPort = 51820"),
        slots[0].1
    );
    let wg = &slots[0].1;
    // Every other VTEP is a direct peer, each with its own address alone:
    // the four routers of both sites and the other hypervisor.
    assert_eq!(wg.matches("[Peer]").count(), 5, "{wg}");
    assert!(
        wg.contains("Endpoint = 5.254.54.10:51820\nAllowedIPs = 172.27.0.1/32\n"),
        "{wg}"
    );
    assert!(
        wg.contains("Endpoint = 5.254.43.170:51820\nAllowedIPs = 172.27.0.3/32\n"),
        "a router of the other site, directly: {wg}"
    );
    assert!(
        wg.contains(&format!(
            "Endpoint = 5.254.43.180:51820\nAllowedIPs = {}/32\n",
            out.allocation.hypervisors["hv-dc2-01"].vtep_address
        )),
        "the other site's hypervisor, directly: {wg}"
    );
    assert!(!wg.contains("/20"), "no pool through one router: {wg}");
    assert!(wg.contains(&format!(
        "PublicKey = {}\n",
        s.routers["vyos-dc1-02"].wireguard_public_key
    )));
    // And every router has every hypervisor as a direct peer, its VTEP on
    // that peer alone, once per mesh slot.
    for (n, r) in &out.routers {
        for (hv, a) in &out.allocation.hypervisors {
            let line = format!("allowed-ips '{}/32'", a.vtep_address);
            assert_eq!(r.set.matches(&line).count(), 2, "{n}: {hv}");
            assert!(
                r.set
                    .contains(&format!("peer {hv} allowed-ips '{}/32'", a.vtep_address)),
                "{n}: {hv}"
            );
        }
    }
}

/// An incremental compile must equal the full one in everything it outputs.
fn assert_same_output(full: &vxguard_compiler::Output, inc: &vxguard_compiler::Output) {
    for (n, r) in &full.routers {
        assert_eq!(r.set, inc.routers[n].set, "{n}");
    }
    for (n, h) in &full.hypervisors {
        assert_eq!(h, &inc.hypervisors[n], "{n}");
    }
    assert_eq!(full.warnings, inc.warnings);
    assert_eq!(full.allocation, inc.allocation);
    // Bookkeeping too: the next change must start from the same place.
    assert_eq!(full.routers, inc.routers);
}

/// Every kind of one-tenant change, one after the other on every tenant
/// (and a tenant removed and added back): each incremental result equals a
/// full compile of the same intent, and a change that stays inside the
/// tenant's own lines is done in place on every device it touches.
#[test]
fn one_tenant_changes_of_every_kind_match_full_compiles() {
    use vxguard_compiler::ids::Name;
    use vxguard_compiler::intent::{Action, PortSpec, Tenant};
    let defs = Defs::load();
    let mut intent = example();
    let s = secrets(&intent);
    let mut out = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    type Change = fn(&mut Tenant);
    let changes: [(&str, Change); 11] = [
        ("rule port", |t| {
            t.policy.rules[0].destination_port = Some(PortSpec::Single(4242))
        }),
        ("rule added", |t| {
            let mut r = t.policy.rules[0].clone();
            r.id = 999;
            r.destination_port = Some(PortSpec::Range("6000-6100".parse().unwrap()));
            t.policy.rules.push(r);
        }),
        ("rule disabled", |t| t.policy.rules[0].disabled = true),
        ("rules reordered", |t| t.policy.rules.reverse()),
        ("default action", |t| {
            t.policy.default_action = Action::Reject
        }),
        ("rate limit", |t| t.networks[0].rate_limit_pps = Some(777)),
        ("network added", |t| {
            let mut n = t.networks[0].clone();
            n.name = Name::new("extra").unwrap();
            n.cidr = "100.65.200.0/24".parse().unwrap();
            n.ports.clear();
            t.networks.push(n);
        }),
        ("network removed", |t| {
            t.networks.retain(|n| n.name.as_str() != "extra")
        }),
        ("client removed", |t| {
            t.clients.pop();
        }),
        ("rule removed", |t| t.policy.rules.retain(|r| r.id != 999)),
        ("port moved", |t| {
            let last = t.networks.len() - 1;
            t.networks[last].ports.pop();
        }),
    ];
    let mut in_place = 0;
    for ti in 0..intent.tenants.len() {
        for (what, change) in changes {
            change(&mut intent.tenants[ti]);
            let slug = intent.tenants[ti].slug.to_string();
            let lock = out.allocation.clone();
            let (inc, touched) =
                vxguard_compiler::recompile_tenant(&intent, &slug, out, &s, &defs.set())
                    .unwrap_or_else(|e| panic!("{slug}: {what}: {e:?}"));
            let full = compile(&intent, &lock, &s, &defs.set()).unwrap();
            assert_same_output(&full, &inc);
            if what == "rule port" {
                let devices = touched.routers.len() + touched.hypervisors.len();
                assert_eq!(touched.in_place, devices, "{slug}: {what}");
            }
            in_place += touched.in_place;
            out = inc;
        }
    }
    assert!(in_place > 20, "{in_place} devices updated in place");
    // A tenant removed, then added back with the same name.
    let globex = intent.tenants.remove(2);
    let lock = out.allocation.clone();
    let (inc, _) =
        vxguard_compiler::recompile_tenant(&intent, "globex", out, &s, &defs.set()).unwrap();
    assert_same_output(&compile(&intent, &lock, &s, &defs.set()).unwrap(), &inc);
    intent.tenants.push(globex);
    let lock = inc.allocation.clone();
    let (inc, _) =
        vxguard_compiler::recompile_tenant(&intent, "globex", inc, &s, &defs.set()).unwrap();
    assert_same_output(&compile(&intent, &lock, &s, &defs.set()).unwrap(), &inc);
}

/// A one-tenant change re-renders only that tenant's devices and gives the
/// same configuration as a full compile of the changed intent.
#[test]
fn one_tenant_change_matches_a_full_compile() {
    let defs = Defs::load();
    let mut intent = example();
    let s = secrets(&intent);
    let before = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    let lock = before.allocation.clone();
    intent.tenants[1].policy.rules[0].destination_port =
        Some(vxguard_compiler::intent::PortSpec::Single(2323));
    let intent_acme_only = {
        let mut i = example();
        i.tenants[1] = intent.tenants[1].clone();
        i
    };
    let (inc, touched) =
        vxguard_compiler::recompile_tenant(&intent_acme_only, "acme", before, &s, &defs.set())
            .unwrap();
    let full = compile(&intent_acme_only, &lock, &s, &defs.set()).unwrap();
    assert_eq!(touched.routers.len(), 4);
    assert_eq!(touched.hypervisors.len(), 2);
    assert_same_output(&full, &inc);
    assert!(inc.routers["vyos-dc1-01"]
        .set
        .contains("destination port '2323'"));
}

/// The same when the change needs numbers: a new client (an address) and a
/// network leaving a site (its VRID and gateway addresses freed).
#[test]
fn one_tenant_change_with_new_numbers_matches_a_full_compile() {
    let defs = Defs::load();
    let intent = example();
    let s = secrets(&intent);
    let before = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    let lock = before.allocation.clone();
    let mut changed = intent.clone();
    let acme = &mut changed.tenants[1];
    let mut extra = acme.clients[0].clone();
    extra.name = vxguard_compiler::ids::Name::new("ops2").unwrap();
    extra.public_key = "NPs4prNuh3R44DBISKBfnMJjtjrP0gsuoxKE4dg0HiI=".into();
    acme.clients.push(extra);
    acme.networks[0].sites.truncate(1);
    acme.networks[0]
        .ports
        .retain(|p| p.hypervisor.as_str() == "hv-dc1-01");
    let (inc, _) =
        vxguard_compiler::recompile_tenant(&changed, "acme", before, &s, &defs.set()).unwrap();
    let full = compile(&changed, &lock, &s, &defs.set()).unwrap();
    assert_same_output(&full, &inc);
    assert!(inc.allocation.tenants["acme"].clients.contains_key("ops2"));
}

/// Checking paths in a row (reusing the shared prefix) answers exactly as
/// checking each alone, on the example's commands and on broken variants of
/// them (a bad tag value, an unknown node, a bad leaf value, a missing value).
#[test]
fn path_checker_agrees_with_validating_each_path() {
    let defs = Defs::load();
    let intent = example();
    let s = secrets(&intent);
    let out = compile(&intent, &Allocation::default(), &s, &defs.set()).unwrap();
    let mut paths: Vec<Vec<String>> = Vec::new();
    for r in out.routers.values() {
        for part in r.parts.values() {
            for p in part.paths.to_vecs() {
                paths.push(p.clone());
                let n = p.len();
                for (i, bad) in [
                    (n - 1, "not a value !"),
                    (1, "no-such-node"),
                    (n.min(6) - 1, "x"),
                ] {
                    let mut q = p.clone();
                    q[i] = bad.to_string();
                    paths.push(q.clone());
                    paths.push(p.clone());
                }
                paths.push(p[..n - 1].to_vec());
            }
        }
    }
    let mut errors = 0;
    for version in [VyosVersion::V1_4, VyosVersion::V1_5] {
        let d = defs.set().by_version[&version];
        let mut checker = d.checker();
        for p in &paths {
            let words: Vec<&str> = p.iter().map(String::as_str).collect();
            let alone = d.validate_words(&words);
            errors += alone.is_err() as usize;
            assert_eq!(checker.check(&words), alone, "{}", p.join(" "));
        }
    }
    assert!(
        errors > paths.len() / 2,
        "the variants are invalid: {errors}"
    );
}

/// Finding 4 of the lab (README): the two directions of a tenant-internal
/// connection may cross different routers, so routers accept it before
/// their state checks and the hypervisors judge it. Only the tenant's
/// networks (behind OVS) qualify, never client-to-client traffic.
#[test]
fn tenant_internal_traffic_is_accepted_before_the_state_checks() {
    let defs = Defs::load();
    let intent = example();
    let out = compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &defs.set(),
    )
    .unwrap();
    let set = &out.routers["vyos-dc1-01"].set;
    let lines = |prefix: &str| -> Vec<&str> {
        set.lines().filter_map(|l| l.strip_prefix(prefix)).collect()
    };
    let finance = intent
        .tenants
        .iter()
        .find(|t| t.slug.as_str() == "finance")
        .unwrap();
    let mut nets: Vec<String> = finance
        .networks
        .iter()
        .map(|n| format!(" '{}'", n.cidr))
        .collect();
    nets.sort();
    assert_eq!(
        lines("set firewall group network-group VXG-finance-NET network"),
        nets.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let int = lines("set firewall group network-group VXG-finance-INT network");
    assert_eq!(
        int.len(),
        nets.len() + 1,
        "the client subnet is internal: {int:?}"
    );
    let chain = lines("set firewall ipv4 name VXG-finance rule ");
    let pos = |l: &str| {
        chain
            .iter()
            .position(|c| *c == l)
            .unwrap_or_else(|| panic!("no `{l}` in {chain:#?}"))
    };
    let a = pos("2 source group network-group 'VXG-finance-INT'");
    let b = pos("2 destination group network-group 'VXG-finance-NET'");
    let c = pos("3 source group network-group 'VXG-finance-NET'");
    let d = pos("3 destination group network-group 'VXG-finance-INT'");
    let inv = pos("4 state 'invalid'");
    assert!(a.max(b).max(c).max(d) < inv);
    assert!(chain.contains(&"2 action 'accept'") && chain.contains(&"3 action 'accept'"));
    assert!(chain.contains(&"4 action 'drop'"));
}

/// Issue 17, item 8: compiled with placeholder secrets, every command
/// still validates (the placeholders are keys to VyOS), no private or API
/// key is in any text, and each text is the real compile's with its keys
/// sealed: what rewriting a stored revision gives, so an upgraded
/// database's next compile finds nothing changed.
#[test]
fn placeholder_secrets_compile_to_the_real_texts_sealed() {
    use vxguard_compiler::hypervisor_config::HypervisorConfig;
    use vxguard_compiler::sealed::{placeholder_secrets, seal_text, Vault};
    let defs = Defs::load();
    let intent = example();
    let real = secrets(&intent);
    let compiled = |s| compile(&intent, &Allocation::default(), s, &defs.set()).unwrap();
    let (with_keys, sealed) = (compiled(&real), compiled(&placeholder_secrets(&real)));
    let mut keys: Vec<&str> = real
        .routers
        .values()
        .flat_map(|r| [r.wireguard_private_key.as_str(), r.api_key.as_str()])
        .collect();
    keys.extend(
        real.hypervisors
            .values()
            .map(|h| h.wireguard_private_key.as_str()),
    );
    for (name, r) in &sealed.routers {
        for k in &keys {
            assert!(!r.set.contains(k), "{name} holds a key");
        }
        assert_eq!(
            r.set,
            seal_text(&with_keys.routers[name].set, &mut Vault::default()),
            "{name}"
        );
        assert!(r.set.contains("private-key 'vxguardSealedKey"), "{name}");
    }
    for (name, h) in &sealed.hypervisors {
        let text = HypervisorConfig::from(h).render_text();
        for k in &keys {
            assert!(!text.contains(k), "{name} holds a key");
        }
        let before = HypervisorConfig::from(&with_keys.hypervisors[name]).render_text();
        assert_ne!(before, text);
        assert_eq!(text, seal_text(&before, &mut Vault::default()), "{name}");
    }
}
