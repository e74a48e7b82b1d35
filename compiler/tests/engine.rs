//! The incremental engine against full compiles: after any sequence of
//! one-tenant changes (edits, new tenants, removals, and changes that do
//! not compile), the engine's output is byte for byte a full compile of
//! the same intent from the same allocation, and a rejected change leaves
//! the engine exactly as it was.

mod common;

use common::{example, secrets, Defs};
use proptest::prelude::*;
use vxguard_compiler::compile;
use vxguard_compiler::engine::{Change, Engine};
use vxguard_compiler::ids::Name;
use vxguard_compiler::intent::{Action, Intent, PortSpec, Tenant};
use vxguard_compiler::{router_diff, Output, Touched};

/// One step: which tenant (modulo the count), what, and a number to vary it.
#[derive(Clone, Debug)]
struct Step {
    tenant: usize,
    what: u8,
    n: u16,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0usize..8, 0u8..10, 0u16..200).prop_map(|(tenant, what, n)| Step { tenant, what, n }),
        1..7,
    )
}

/// The change a step makes, on the intent as it stands.
fn change(intent: &Intent, s: &Step) -> Change {
    let t = &intent.tenants[s.tenant % intent.tenants.len()];
    let mut t: Tenant = t.clone();
    match s.what {
        0 => {
            if let Some(r) = t.policy.rules.first_mut() {
                r.destination_port = Some(PortSpec::Single(1024 + s.n));
            }
        }
        1 => {
            if let Some(mut r) = t.policy.rules.first().cloned() {
                r.id = 500 + u32::from(s.n);
                if t.policy.rules.iter().all(|x| x.id != r.id) {
                    t.policy.rules.push(r);
                }
            }
        }
        2 => {
            t.policy.rules.pop();
        }
        3 => t.policy.rules.reverse(),
        4 => {
            t.policy.default_action = match t.policy.default_action {
                Action::Drop => Action::Reject,
                _ => Action::Drop,
            }
        }
        5 => {
            if let Some(mut n) = t.networks.first().cloned() {
                n.name = Name::new(&format!("extra{}", s.n)).unwrap();
                n.cidr = format!("100.66.{}.0/24", s.n).parse().unwrap();
                n.ports.clear();
                if t.networks.iter().all(|x| x.name != n.name) {
                    t.networks.push(n);
                }
            }
        }
        // Removing a network the rules may name: rejected then.
        6 => {
            t.networks.pop();
        }
        7 => return Change::Remove(t.slug.to_string()),
        8 => {
            t.slug = Name::new(&format!("new{}", s.n)).unwrap();
            t.name = format!("New {}", s.n);
            for n in &mut t.networks {
                n.ports.clear();
            }
            t.clients.clear();
            t.client_router = None;
        }
        // A value the devices refuse: rejected.
        _ => {
            if let Some(r) = t.policy.rules.first_mut() {
                r.description = Some("two\nlines".into());
            }
        }
    }
    Change::Upsert(t)
}

/// The intent with the change made, tenants in slug order.
fn changed(intent: &Intent, c: &Change) -> Intent {
    let mut next = intent.clone();
    next.tenants.retain(|t| t.slug.as_str() != c.slug());
    if let Change::Upsert(t) = c {
        next.tenants.push(t.clone());
    }
    vxguard_compiler::engine::sort_tenants(&mut next);
    next
}

fn assert_same(full: &Output, inc: &Output) {
    assert_eq!(
        full.routers.keys().collect::<Vec<_>>(),
        inc.routers.keys().collect::<Vec<_>>()
    );
    for (n, r) in &full.routers {
        assert_eq!(r.set, inc.routers[n].set, "{n}");
    }
    assert_eq!(full.hypervisors, inc.hypervisors);
    assert_eq!(full.warnings, inc.warnings);
    assert_eq!(full.allocation, inc.allocation);
    for (n, r) in &full.routers {
        let owners = |o: &Output| -> Vec<(String, String)> {
            o.routers[n]
                .parts
                .iter()
                .map(|(k, p)| (k.clone(), p.owner.0.clone()))
                .collect()
        };
        assert_eq!(owners(full), owners(inc), "{n}: owners");
        assert!(r == &inc.routers[n], "{n}: bookkeeping differs");
    }
}

/// Where the engine spliced a change in, the commands read from the
/// pieces are the commands read from the whole texts.
fn assert_spliced_diffs(t: &Touched, out: &Output, defs: &Defs) {
    let set = defs.set();
    for (name, spliced) in &t.spliced {
        let r = &out.routers[name];
        let schema = set.by_version[&r.version];
        let before = &t.before_routers[name];
        let whole = router_diff::commands(before, &r.set, None, schema);
        let pieces = router_diff::commands(before, &r.set, Some(spliced), schema);
        assert_eq!(whole.0, pieces.0, "{name}: commands");
        assert_eq!(whole.1, pieces.1, "{name}: refusals");
    }
}

/// Each touched hypervisor's text before, rebuilt from what the engine
/// kept, is its text in `was`; where it says how the texts were spliced,
/// every byte outside the pieces is the same.
fn assert_hypervisors_before(t: &Touched, was: &Output, out: &Output) {
    use vxguard_compiler::hypervisor_config::text_of;
    for name in &t.hypervisors {
        let now = text_of(&out.hypervisors[name]);
        let Some(b) = t.before_hypervisors.get(name) else {
            assert!(
                was.hypervisors.get(name).is_none_or(|h| text_of(h) == now),
                "{name}: changed, but nothing kept of it"
            );
            continue;
        };
        let (before, spliced) = b.text(&now);
        assert_eq!(before, text_of(&was.hypervisors[name]), "{name}: before");
        if let Some(s) = spliced {
            let gaps = |text: &str, ranges: &[std::ops::Range<usize>]| {
                let mut at = 0;
                let mut g = Vec::new();
                for r in ranges {
                    g.push(text[at..r.start].to_string());
                    at = r.end;
                }
                g.push(text[at..].to_string());
                g
            };
            assert_eq!(
                gaps(&before, &s.before),
                gaps(&now, &s.after),
                "{name}: outside the pieces"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_full_compiles_over_random_changes(steps in steps()) {
        let defs = Defs::load();
        let start = example();
        let s = secrets(&start);
        let mut engine = Engine::compile(
            start,
            &Default::default(),
            &s,
            &defs.set(),
        )
        .unwrap();
        // Every step so far as one batch, as a worker's job that carries
        // several tenants' changes sees them: its composed splices read
        // the same commands as the whole texts from before the first.
        let mut batch = Touched::default();
        let batch_start = engine.output().clone();
        for step in &steps {
            if engine.intent().tenants.is_empty() {
                break;
            }
            let c = change(engine.intent(), step);
            let tried = changed(engine.intent(), &c);
            let before_alloc = engine.output().allocation.clone();
            let before = engine.output().clone();
            let before_intent = engine.intent().clone();
            let full = compile(&tried, &before_alloc, &s, &defs.set());
            match engine.apply(c, &s, &defs.set()) {
                Ok(touched) => {
                    let full = full.unwrap_or_else(|e| panic!("{step:?}: engine accepted what a full compile refuses: {e:?}"));
                    prop_assert_eq!(engine.intent(), &tried);
                    assert_same(&full, engine.output());
                    assert_spliced_diffs(&touched, engine.output(), &defs);
                    assert_hypervisors_before(&touched, &before, engine.output());
                    batch.absorb(touched);
                    assert_spliced_diffs(&batch, engine.output(), &defs);
                    assert_hypervisors_before(&batch, &batch_start, engine.output());
                }
                Err(rejected) => {
                    prop_assert!(full.is_err(), "{:?}: engine refused what a full compile accepts: {:?}", step, rejected.diagnostics);
                    prop_assert!(!rejected.diagnostics.is_empty());
                    prop_assert_eq!(engine.intent(), &before_intent);
                    prop_assert_eq!(engine.output(), &before);
                }
            }
        }
    }
}

/// A write allocates its tenant alone (`allocate_tenant`, against the
/// numbers the other tenants hold): a new tenant and a new network get
/// numbers no one holds, and a full allocation from the stored allocation
/// keeps them all, so the worker's compile puts the same numbers on the
/// devices.
#[test]
fn a_tenant_allocated_alone_is_kept_by_a_full_allocation() {
    use vxguard_compiler::alloc::{allocate, allocate_tenant, Taken};
    use vxguard_compiler::diag::Diagnostics;
    let mut intent = example();
    let mut d = Diagnostics::default();
    let stored = allocate(&intent, &Default::default(), &mut d);
    assert!(!d.has_errors());
    // A new tenant (a copy of the first, its ports and clients left out)
    // and a new network in an existing tenant.
    let mut t = intent.tenants[0].clone();
    t.slug = Name::new("aaa-new").unwrap();
    for n in &mut t.networks {
        n.ports.clear();
    }
    t.clients.clear();
    t.client_router = None;
    intent.tenants.insert(0, t);
    let mut extra = intent.tenants[1].networks[0].clone();
    extra.name = Name::new("extra").unwrap();
    extra.cidr = "100.66.9.0/24".parse().unwrap();
    extra.ports.clear();
    intent.tenants[1].networks.push(extra);
    let mut a = stored.clone();
    for ti in [0, 1] {
        let slug = intent.tenants[ti].slug.to_string();
        let mut taken = Taken::default();
        for (s, ta) in &a.tenants {
            if *s != slug {
                taken.ids.insert(ta.id);
                taken.vnis.extend(ta.networks.values().map(|n| n.vni.get()));
                taken.vnis.insert(ta.l3_vni.get());
            }
        }
        let ta = allocate_tenant(&intent, ti, a.tenants.get(&slug), &taken, &mut d).unwrap();
        assert!(!d.has_errors(), "{:?}", d.0);
        assert!(
            !taken.ids.contains(&ta.id),
            "{slug}: a number another holds"
        );
        for n in ta.networks.values() {
            assert!(
                !taken.vnis.contains(&n.vni.get()),
                "{slug}: a VNI another holds"
            );
        }
        if let Some(before) = a.tenants.get(&slug) {
            assert_eq!(before.id, ta.id, "{slug} keeps its number");
            for (name, n) in &before.networks {
                assert_eq!(n.vni, ta.networks[name].vni, "{slug}/{name} keeps its VNI");
            }
        }
        a.tenants.insert(slug, ta);
    }
    let full = allocate(&intent, &a, &mut d);
    assert!(!d.has_errors(), "{:?}", d.0);
    assert_eq!(
        full, a,
        "the full allocation keeps every number the writes took"
    );
}

/// Two tenants' splices on one router, composed: each side's ranges are
/// the two tenants' pieces of the text before the first and after the
/// second; a second change to the same piece cannot be composed.
#[test]
fn splices_compose_across_a_batch() {
    use vxguard_compiler::Spliced;
    let t0 = "h\nA1\nm\nB1\nt\n";
    let t1 = "h\nA22\nm\nB1\nt\n";
    let t2 = "h\nA22\nm\nB\nt\n";
    let a = Spliced {
        before: vec![2..5],
        after: vec![2..6],
    };
    let b = Spliced {
        before: vec![8..11],
        after: vec![8..10],
    };
    assert_eq!(&t1[b.before[0].clone()], "B1\n");
    let c = a.then(&b).expect("disjoint pieces compose");
    let texts = |t: &str, rs: &[std::ops::Range<usize>]| -> Vec<String> {
        rs.iter().map(|r| t[r.clone()].to_string()).collect()
    };
    assert_eq!(texts(t0, &c.before), ["A1\n", "B1\n"]);
    assert_eq!(texts(t2, &c.after), ["A22\n", "B\n"]);
    // The other way round: B first, then A.
    let b0 = Spliced {
        before: vec![7..10],
        after: vec![7..9],
    };
    let a1 = Spliced {
        before: vec![2..5],
        after: vec![2..6],
    };
    let c = b0.then(&a1).expect("disjoint pieces compose");
    assert_eq!(texts(t0, &c.before), ["A1\n", "B1\n"]);
    assert_eq!(texts(t2, &c.after), ["A22\n", "B\n"]);
    // A changed twice: its second splice's piece is the first's result.
    let again = Spliced {
        before: vec![2..6],
        after: vec![2..5],
    };
    assert_eq!(a.then(&again), None);
}

/// A one-tenant change checks only that tenant's numbers against the
/// others' (`check_allocation_tenant`): each clash it can make is found,
/// in the full check's words, and a clash between two other tenants is
/// not its business.
#[test]
fn a_tenants_numbers_are_checked_against_every_other_holder() {
    use vxguard_compiler::alloc::allocate;
    use vxguard_compiler::checks::{check_allocation, check_allocation_tenant};
    use vxguard_compiler::diag::Diagnostics;
    let intent = example();
    let mut d = Diagnostics::default();
    let clean = allocate(&intent, &Default::default(), &mut d);
    let messages = |d: Diagnostics| -> Vec<String> {
        let mut m: Vec<String> = d.0.into_iter().map(|x| x.message).collect();
        m.sort();
        m
    };
    let slugs: Vec<String> = clean.tenants.keys().cloned().collect();
    let (first, last) = (slugs[0].clone(), slugs[slugs.len() - 1].clone());
    let mut none = Diagnostics::default();
    check_allocation_tenant(&clean, &first, &mut none);
    assert!(none.0.is_empty(), "{:?}", none.0);
    type Clash = fn(&mut vxguard_compiler::alloc::Allocation, &str, &str);
    let clashes: [(&str, Clash); 4] = [
        ("tenant id", |a, m, o| {
            a.tenants.get_mut(m).unwrap().id = a.tenants[o].id
        }),
        ("VRF table", |a, m, o| {
            let t = a.tenants[o].vrf_table;
            a.tenants.get_mut(m).unwrap().vrf_table = t
        }),
        ("L3 VNI", |a, m, o| {
            a.tenants.get_mut(m).unwrap().l3_vni = a.tenants[o].l3_vni
        }),
        ("network VNI", |a, m, o| {
            let v = a.tenants[o].l3_vni;
            let n = a
                .tenants
                .get_mut(m)
                .unwrap()
                .networks
                .values_mut()
                .next()
                .unwrap();
            n.vni = v;
        }),
    ];
    for (what, make) in clashes {
        // The changed tenant first in slug order, then last.
        for (mine, other) in [(&first, &last), (&last, &first)] {
            let mut a = clean.clone();
            make(&mut a, mine, other);
            let mut full = Diagnostics::default();
            check_allocation(&a, &mut full);
            let mut one = Diagnostics::default();
            check_allocation_tenant(&a, mine, &mut one);
            let full = messages(full);
            assert!(!full.is_empty(), "{what}: the full check finds it");
            assert_eq!(messages(one), full, "{what}, {mine} changed");
        }
    }
}
