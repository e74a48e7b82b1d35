//! Every error the compiler reports, triggered, with its object and reason;
//! and allocation stability under adds and removes.

mod common;
use common::*;
use proptest::prelude::*;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::compile;
use vxguard_compiler::diag::Diagnostic;
use vxguard_compiler::intent::{yaml, Intent};

fn errors_of(intent: &Intent) -> Vec<Diagnostic> {
    let defs = Defs::load();
    match compile(
        intent,
        &Allocation::default(),
        &secrets(intent),
        &defs.set(),
    ) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    }
}

fn assert_error(intent: &Intent, pointer: &str, needle: &str) {
    let errs = errors_of(intent);
    assert!(
        errs.iter()
            .any(|d| d.is_error() && d.pointer.0 == pointer && d.message.contains(needle)),
        "expected an error at {pointer} containing {needle:?}, got: {errs:#?}"
    );
}

#[test]
fn overlapping_cidrs_in_one_tenant() {
    let mut i = example();
    i.tenants[0].networks[1].cidr = "100.64.1.0/27".parse().unwrap();
    assert_error(
        &i,
        "/tenants/0/networks/1/cidr",
        "overlaps this tenant's network “web”",
    );
}

#[test]
fn network_outside_every_pool() {
    let mut i = example();
    i.tenants[1].networks[0].cidr = "10.0.0.0/24".parse().unwrap();
    assert_error(
        &i,
        "/tenants/1/networks/0/cidr",
        "outside the address pools for tenant networks",
    );
}

#[test]
fn mtu_budget_that_does_not_fit() {
    let mut i = example();
    i.tenants[1].networks[0].mtu = Some(1500);
    assert_error(&i, "/tenants/1/networks/0/mtu", "leaves 1390");
    let mut i = example();
    i.platform.underlay.mtu = 1300;
    assert_error(&i, "/platform/underlay/mtu", "at least 1280");
    // IPv6 outer headers cost 20 bytes more.
    let mut i = example();
    i.platform.underlay.ip_version = vxguard_compiler::intent::IpVersion::V6;
    i.tenants[1].networks[0].mtu = Some(1390);
    assert_error(&i, "/tenants/1/networks/0/mtu", "leaves 1370");
}

#[test]
fn openflow_endpoint_must_be_an_ovs_ofctl_target() {
    let mut i = example();
    i.platform.hypervisors[1].openflow_endpoint = Some("/run/ovs/br-int.mgmt".into());
    assert_error(
        &i,
        "/platform/hypervisors/1/openflow_endpoint",
        "must start with unix:, tcp: or ssl:",
    );
    i.platform.hypervisors[1].openflow_endpoint = Some("tcp:".into());
    assert_error(&i, "/platform/hypervisors/1/openflow_endpoint", "\"tcp:\"");
    for ok in [
        "unix:/run/ovs/br-int.mgmt",
        "tcp:192.0.2.5:6653",
        "ssl:h:6653",
    ] {
        i.platform.hypervisors[1].openflow_endpoint = Some(ok.into());
        assert!(errors_of(&i).is_empty(), "{ok}");
    }
    assert_eq!(
        i.platform.hypervisors[0].openflow_target(),
        "unix:/var/run/openvswitch/br-int.mgmt"
    );
    assert_eq!(i.platform.hypervisors[1].openflow_target(), "ssl:h:6653");
}

#[test]
fn unknown_service_and_network_in_rules() {
    let text = example_text().replace("service: database-servers }", "service: nope }");
    let (i, _) = yaml::parse_intent(&text).unwrap();
    assert_error(
        &i,
        "/tenants/0/policy/rules/1/destination/service",
        "service “nope” does not exist; create it, or make the rule's destination another service",
    );
}

#[test]
fn shadowed_rule_is_a_warning() {
    let defs = Defs::load();
    let mut i = example();
    let mut r = i.tenants[0].policy.rules[0].clone();
    r.id = 99;
    i.tenants[0].policy.rules.push(r);
    let out = compile(&i, &Allocation::default(), &secrets(&i), &defs.set()).unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.pointer.0 == "/tenants/0/policy/rules/3"
                && w.message.contains("shadowed by rule 1")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn plain_http_endpoints_only_to_loopback() {
    let mut i = example();
    i.platform.routers[1].api_endpoint = "http://127.0.0.1:8443".into();
    let errs = errors_of(&i);
    assert!(
        !errs.iter().any(|d| d.pointer.0.ends_with("/api_endpoint")),
        "{errs:?}"
    );
    i.platform.routers[1].api_endpoint = "http://5.254.54.11".into();
    assert_error(
        &i,
        "/platform/routers/1/api_endpoint",
        "must be https://HOST[:PORT]",
    );
}

#[test]
fn a_pinned_certificate_needs_https() {
    let mut i = example();
    let pin = vxguard_compiler::ids::CertSha256::parse(&"ab".repeat(32)).unwrap();
    i.platform.routers[1].api_certificate_sha256 = Some(pin);
    assert!(
        !errors_of(&i)
            .iter()
            .any(|d| d.pointer.0.ends_with("/api_certificate_sha256")),
        "https with a pin is fine"
    );
    i.platform.routers[1].api_endpoint = "http://127.0.0.1:8443".into();
    assert_error(
        &i,
        "/platform/routers/1/api_certificate_sha256",
        "needs an https:// API endpoint",
    );
}

#[test]
fn references_are_checked() {
    let mut i = example();
    i.tenants[0].networks[0].sites[0].gateways[1] =
        vxguard_compiler::ids::Name::new("vyos-dc2-01").unwrap();
    assert_error(
        &i,
        "/tenants/0/networks/0/sites/0/gateways/1",
        "is in site “dc2”",
    );
    let mut i = example();
    i.platform.routers[0].site = vxguard_compiler::ids::Name::new("dc9").unwrap();
    assert_error(&i, "/platform/routers/0/site", "site “dc9” does not exist");
    let mut i = example();
    i.tenants[0].clients[0].public_key = "not-a-key".into();
    assert_error(
        &i,
        "/tenants/0/clients/0/public_key",
        "not a WireGuard public key",
    );
}

#[test]
fn exhausted_pool_is_named() {
    let mut i = example();
    i.platform.pools.control_plane = "172.27.0.0/30".parse().unwrap();
    let errs = errors_of(&i);
    assert!(
        errs.iter().any(|d| d
            .message
            .contains("the control-plane pool (172.27.0.0/30) is full")),
        "{errs:#?}"
    );
}

#[test]
fn duplicate_numbers_in_a_lock_file_are_refused() {
    let defs = Defs::load();
    let i = example();
    let s = secrets(&i);
    let out = compile(&i, &Allocation::default(), &s, &defs.set()).unwrap();
    let mut lock = out.allocation.clone();
    let vni = lock.tenants["acme"].networks["app"].vni;
    lock.tenants
        .get_mut("globex")
        .unwrap()
        .networks
        .get_mut("app")
        .unwrap()
        .vni = vni;
    let errs = compile(&i, &lock, &s, &defs.set()).unwrap_err();
    assert!(
        errs.iter().any(|d| d.message.contains("duplicate VNI")),
        "{errs:#?}"
    );
}

#[test]
fn yaml_errors_have_line_and_column() {
    let text = example_text().replace("version: \"1.4\"", "version: \"2.0\"");
    let errs = yaml::parse_intent(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.contains("version: \"2.0\""))
        .unwrap()
        + 1;
    assert_eq!(errs[0].0.line, line, "{errs:?}");
    assert_eq!(errs[0].1.pointer.0, "/platform/routers/0/version");
}

#[test]
fn a_bad_certificate_fingerprint_is_located_and_explained() {
    let text = example_text().replace(
        "api_endpoint: https://5.254.54.11\n",
        "api_endpoint: https://5.254.54.11\n      api_certificate_sha256: \"AB:CD\"\n",
    );
    let errs = yaml::parse_intent(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.contains("api_certificate_sha256"))
        .unwrap()
        + 1;
    assert_eq!(errs[0].0.line, line, "{errs:?}");
    assert_eq!(
        errs[0].1.pointer.0,
        "/platform/routers/1/api_certificate_sha256"
    );
    assert!(errs[0].1.message.contains("give 64 hex digits"), "{errs:?}");
}

#[test]
fn all_errors_are_reported_together() {
    let mut i = example();
    i.tenants[1].networks[0].cidr = "10.0.0.0/24".parse().unwrap();
    i.tenants[2].networks[0].mtu = Some(9000);
    let errs = errors_of(&i);
    assert!(errs.len() >= 2, "{errs:#?}");
}

fn compile_alloc(i: &Intent, prev: &Allocation) -> Allocation {
    let defs = Defs::load();
    compile(i, prev, &secrets(i), &defs.set())
        .unwrap()
        .allocation
}

#[test]
fn adding_or_removing_objects_never_moves_others() {
    let i = example();
    let base = compile_alloc(&i, &Allocation::default());
    // Remove the first tenant (alphabetically): the others keep everything.
    let mut fewer = i.clone();
    fewer.tenants.retain(|t| t.slug.as_str() != "acme");
    let a = compile_alloc(&fewer, &base);
    for (k, v) in &a.tenants {
        assert_eq!(v, &base.tenants[k], "{k} moved");
    }
    // Add it back: it gets numbers, and nobody else moves.
    let b = compile_alloc(&i, &a);
    for (k, v) in &a.tenants {
        assert_eq!(v, &b.tenants[k], "{k} moved");
    }
    // Remove a router from a pair: other routers keep their mesh addresses.
    let mut r = i.clone();
    r.platform
        .routers
        .retain(|x| x.name.as_str() != "vyos-dc1-02");
    for t in &mut r.tenants {
        for n in &mut t.networks {
            for s in &mut n.sites {
                s.gateways.retain(|g| g.as_str() != "vyos-dc1-02");
            }
        }
    }
    let c = compile_alloc(&r, &base);
    for (k, v) in &c.routers {
        assert_eq!(v, &base.routers[k]);
    }
    for (k, v) in &c.tenants {
        assert_eq!(v.vrf_table, base.tenants[k].vrf_table);
        for (n, na) in &v.networks {
            assert_eq!(na.vni, base.tenants[k].networks[n].vni);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Random sequences of tenant removals and re-additions: every tenant
    /// that stays keeps its allocation.
    #[test]
    fn allocation_is_stable(ops in proptest::collection::vec((0usize..3, any::<bool>()), 1..8)) {
        let full = example();
        let mut present = vec![true; full.tenants.len()];
        let mut alloc = compile_alloc(&full, &Allocation::default());
        for (idx, add) in ops {
            present[idx] = add;
            let mut i = full.clone();
            i.tenants = full.tenants.iter().zip(&present).filter(|(_, p)| **p).map(|(t, _)| t.clone()).collect();
            let next = compile_alloc(&i, &alloc);
            for (k, v) in &next.tenants {
                if let Some(old) = alloc.tenants.get(k) {
                    prop_assert_eq!(v, old);
                }
            }
            alloc = next;
        }
    }
}

/// A router may name only a release whose definitions are built in.
#[test]
fn a_vyos_release_without_definitions_is_refused_where_it_is_named() {
    let text = example_text();
    let at = text
        .find("version: \"1.5\"")
        .expect("the example names 1.5");
    let bad = format!(
        "{}version: \"1.6\"{}",
        &text[..at],
        &text[at + "version: \"1.5\"".len()..]
    );
    let errs = yaml::parse_intent(&bad).expect_err("1.6 is refused");
    let line = text[..at].matches('\n').count() + 1;
    assert!(
        errs.iter().any(|(pos, d)| pos.line == line
            && d.message.contains("VyOS `1.6` has no built-in definitions")
            && d.message.contains("1.4 and 1.5")),
        "{errs:?}"
    );
}
