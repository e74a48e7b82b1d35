//! Previewing a policy change: which rules are shadowed, and what a changed
//! rule does to the routers' commands and the hypervisors' flows.

mod common;
use common::*;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::checks::{shadowed_rules, Shadowed};
use vxguard_compiler::intent::PortSpec;
use vxguard_compiler::preview::{preview, DeviceKind};

#[test]
fn shadowed_rules_name_the_rule_that_covers_them() {
    let mut rules = example().tenants[0].policy.rules.clone();
    assert!(shadowed_rules(&rules).is_empty());
    let mut r = rules[0].clone();
    r.id = 99;
    rules.push(r);
    assert_eq!(
        shadowed_rules(&rules),
        vec![Shadowed {
            index: 3,
            rule: 99,
            by: 1
        }]
    );
    assert!(shadowed_rules(&rules)[0]
        .reason()
        .contains("shadowed by rule 1"));
    // A disabled rule shadows nothing.
    rules[0].disabled = true;
    assert!(shadowed_rules(&rules).is_empty());
}

#[test]
fn a_changed_port_shows_on_routers_and_hypervisors() {
    let defs = Defs::load();
    let current = example();
    let alloc = Allocation::default();
    let secrets = secrets(&current);
    let mut proposed = current.clone();
    proposed.tenants[0].policy.rules[0].destination_port = Some(PortSpec::Single(8443));
    let slug = current.tenants[0].slug.to_string();
    let p = preview(&current, &proposed, &slug, &alloc, &secrets, &defs.set()).unwrap();
    let routers: Vec<_> = p
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Router)
        .collect();
    let hvs: Vec<_> = p
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Hypervisor)
        .collect();
    assert_eq!(routers.len(), 4, "{:#?}", p.devices);
    assert!(!hvs.is_empty());
    for d in &routers {
        assert!(
            d.added
                .iter()
                .any(|l| l.starts_with("set firewall") && l.contains("8443")),
            "{d:#?}"
        );
        assert!(d.removed.iter().any(|l| l.contains("443")), "{d:#?}");
        assert!(d.added.iter().all(|l| !l.contains("private-key")));
    }
    for d in &hvs {
        assert!(d.added.iter().any(|l| l.contains("tp_dst=8443")), "{d:#?}");
    }
    // No change, no diff.
    let p = preview(&current, &current, &slug, &alloc, &secrets, &defs.set()).unwrap();
    assert!(p.devices.is_empty(), "{:#?}", p.devices);
}

#[test]
fn a_shadowing_change_warns_and_a_bad_one_is_an_error() {
    let defs = Defs::load();
    let current = example();
    let secrets = secrets(&current);
    let slug = current.tenants[0].slug.to_string();
    let mut proposed = current.clone();
    let mut r = proposed.tenants[0].policy.rules[0].clone();
    r.id = 99;
    proposed.tenants[0].policy.rules.push(r);
    let p = preview(
        &current,
        &proposed,
        &slug,
        &Allocation::default(),
        &secrets,
        &defs.set(),
    )
    .unwrap();
    assert!(p.warnings.iter().any(|w| w.message.contains("shadowed")));
    proposed.tenants[0].policy.rules[3].destination_port = Some(PortSpec::Range("9-1".into()));
    let e = preview(
        &current,
        &proposed,
        &slug,
        &Allocation::default(),
        &secrets,
        &defs.set(),
    )
    .unwrap_err();
    assert!(
        e.iter()
            .any(|d| d.is_error() && d.pointer.0.starts_with("/tenants/0/policy/rules/3")),
        "{e:#?}"
    );
}
