//! The expectations kept between rounds, a tenant at a time, equal the
//! ones built from the whole intent.

use super::*;

fn demo() -> (Intent, Allocation) {
    let text = include_str!("../../../examples/two-dc.yaml");
    let (intent, _) = vxguard_compiler::intent::yaml::parse_intent(text).expect("parses");
    let mut d = vxguard_compiler::diag::Diagnostics::default();
    let alloc = vxguard_compiler::alloc::allocate(&intent, &Default::default(), &mut d);
    (intent, alloc)
}

fn keys(intent: &Intent) -> BTreeMap<String, String> {
    let p = &intent.platform;
    p.routers
        .iter()
        .map(|r| r.name.to_string())
        .chain(p.hypervisors.iter().map(|h| h.name.to_string()))
        .map(|n| (n.clone(), format!("{n}-key")))
        .collect()
}

/// The whole thing, from scratch: as `expected`, `ovs::owners` and the
/// allocation's bridges say.
fn full(intent: &Intent, alloc: &Allocation) -> Expectations {
    Expectations {
        expected: expected(intent, alloc, &keys(intent)),
        owners: crate::ovs::owners(intent, alloc),
        bridges: alloc
            .tenants
            .iter()
            .filter(|(t, _)| intent.tenants.iter().any(|x| x.slug.as_str() == t.as_str()))
            .flat_map(|(t, ta)| {
                ta.networks
                    .iter()
                    .map(move |(n, na)| ((t.clone(), n.clone()), format!("br{}", na.vni)))
            })
            .collect(),
    }
}

/// Order aside: a tenant updated alone goes to the end of the lists.
fn sorted(mut e: Expectations) -> Expectations {
    let x = &mut e.expected;
    x.groups
        .sort_by(|a, b| (&a.tenant, &a.network, &a.site).cmp(&(&b.tenant, &b.network, &b.site)));
    x.clients
        .sort_by(|a, b| (&a.tenant, &a.name).cmp(&(&b.tenant, &b.name)));
    for r in &mut x.routers {
        r.client_interfaces.sort();
    }
    e
}

fn part(intent: &Intent, alloc: &Allocation, slug: &str) -> TenantExpect {
    let t = intent
        .tenants
        .iter()
        .find(|t| t.slug.as_str() == slug)
        .unwrap();
    tenant_expected(t, alloc.tenants.get(slug))
}

#[test]
fn tenants_added_in_any_order_then_the_platform_equal_the_whole() {
    let (intent, alloc) = demo();
    let mut e = Expectations::default();
    for t in intent.tenants.iter().rev() {
        e.add_tenant(tenant_expected(t, alloc.tenants.get(t.slug.as_str())));
    }
    let (routers, hypervisors) = platform_expected(&intent.platform, &alloc, &keys(&intent));
    e.expected.set_platform(routers, hypervisors);
    let want = full(&intent, &alloc);
    assert!(!want.expected.clients.is_empty() && !want.owners.ports.is_empty());
    assert_eq!(sorted(e), sorted(want));
}

#[test]
fn a_changed_or_removed_tenant_is_replaced_alone() {
    let (intent, alloc) = demo();
    let mut e = full(&intent, &alloc);
    // finance loses a network's site; globex goes away.
    let mut changed = intent.clone();
    let f = changed
        .tenants
        .iter_mut()
        .find(|t| t.slug.as_str() == "finance")
        .unwrap();
    assert!(!f.clients.is_empty() && f.networks[0].sites.len() > 1);
    f.networks[0].sites.pop();
    changed.tenants.retain(|t| t.slug.as_str() != "globex");
    e.remove_tenants(&["finance".to_string(), "globex".to_string()].into());
    e.add_tenant(part(&changed, &alloc, "finance"));
    assert_eq!(sorted(e.clone()), sorted(full(&changed, &alloc)));
    assert!(e.expected.groups.iter().all(|g| g.tenant != "globex"));
    assert!(e.owners.ports.values().all(|(t, _)| t != "globex"));
    // A tenant with no clients left takes its interface off its router.
    let mut none = changed.clone();
    let f = none
        .tenants
        .iter_mut()
        .find(|t| t.slug.as_str() == "finance")
        .unwrap();
    f.clients.clear();
    e.remove_tenants(&["finance".to_string()].into());
    e.add_tenant(part(&none, &alloc, "finance"));
    assert_eq!(sorted(e.clone()), sorted(full(&none, &alloc)));
    let wg = format!("wg{}", alloc.tenants["finance"].id);
    assert!(e
        .expected
        .routers
        .iter()
        .all(|r| !r.client_interfaces.contains(&wg)));
}

#[test]
fn a_new_platform_keeps_the_tenants_and_their_client_interfaces() {
    let (intent, alloc) = demo();
    let mut e = full(&intent, &alloc);
    let mut switched = alloc.clone();
    switched.mesh = switched.mesh.switched();
    let (routers, hypervisors) = platform_expected(&intent.platform, &switched, &keys(&intent));
    e.expected.set_platform(routers, hypervisors);
    assert_eq!(sorted(e), sorted(full(&intent, &switched)));
}

/// Issue 17, item 5: a rotated tenant's clients are looked for on the
/// interface their configuration names, and the router lists both of the
/// tenant's interfaces during the rotation and only the new one after.
#[test]
fn rotated_clients_are_expected_on_their_epochs_interface() {
    let (intent, alloc) = demo();
    let mut x = expected(&intent, &alloc, &keys(&intent));
    let c = x
        .clients
        .iter()
        .find(|c| c.tenant == "finance")
        .unwrap()
        .clone();
    let old = format!("wg{}", alloc.tenants["finance"].id);
    assert_eq!(c.interface, old);
    let at = |x: &Expected| {
        let r = x.routers.iter().find(|r| r.name == c.router).unwrap();
        let mut v = r.client_interfaces.clone();
        v.sort();
        v
    };
    // During the rotation: the client the rotation found stays on the
    // old interface, any other on the new one.
    let key = (c.router.clone(), "finance".to_string());
    let mut during = ClientPlacements::new();
    during.insert(
        key.clone(),
        ClientPlacement {
            default: "wg65000".into(),
            by_key: [(c.public_key.clone(), old.clone())].into(),
        },
    );
    x.clients.push(ClientExpect {
        name: "new-phone".into(),
        public_key: "new-phone-key".into(),
        ..c.clone()
    });
    x.place_clients(&during);
    let on = |x: &Expected, n: &str| {
        x.clients
            .iter()
            .find(|k| k.tenant == "finance" && k.name == n)
            .unwrap()
            .interface
            .clone()
    };
    assert_eq!(on(&x, c.name.as_str()), old);
    assert_eq!(on(&x, "new-phone"), "wg65000");
    assert!(at(&x).contains(&old) && at(&x).contains(&"wg65000".to_string()));
    // Released: every client on the new epoch's interface.
    let mut after = ClientPlacements::new();
    after.insert(
        key,
        ClientPlacement {
            default: "wg65000".into(),
            by_key: BTreeMap::new(),
        },
    );
    x.place_clients(&after);
    assert_eq!(on(&x, c.name.as_str()), "wg65000");
    assert!(!at(&x).contains(&old), "{:?}", at(&x));
}
