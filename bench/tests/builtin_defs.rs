//! The definitions built into vxguard judge exactly as vyos-1x's XML does,
//! on whole compiles: the plan's example and the benchmark platform (10
//! sites, 200 routers, 5,000 tenants) compile to the same bytes and the
//! same diagnostics with either, and the commands of their output (every
//! one of the example's, every tenth router's of the platform, and a broken
//! variant of a sample) get the same verdict and message.
//! vyos-1x is the generator's input, not a run-time need: without a copy
//! at hand (../shared/vyos-1x or $VXGUARD_VYOS_1X) this test says so and
//! passes without comparing.
//! Here, beside the benchmarks, because it compiles their platform
//! (`vxguard_bench::platform`); the server does not depend on them.

use std::collections::BTreeMap;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::{yaml, Intent, VyosVersion};
use vxguard_compiler::model::Secrets;
use vxguard_compiler::{compile, Output};
use vyos_defs::Definitions;

fn xml() -> Option<BTreeMap<VyosVersion, Definitions>> {
    let Some(dir) = vyos_defs::vyos_1x_dir() else {
        eprintln!("SKIPPED: no vyos-1x folder (shared/vyos-1x or VXGUARD_VYOS_1X): built-in definitions not compared with XML");
        return None;
    };
    let specs = [
        format!("1.4={}", dir.join("sagitta").display()),
        format!("1.5={}", dir.join("current").display()),
    ];
    Some(vxguard::definitions::load(&specs).expect("vyos-1x XML loads"))
}

fn compiled(
    intent: &Intent,
    secrets: &Secrets,
    defs: &BTreeMap<VyosVersion, Definitions>,
) -> Output {
    compile(
        intent,
        &Allocation::default(),
        secrets,
        &vxguard::definitions::set(defs),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// Same output, then, on every `routers`th router, the same verdict on
/// every command and on every `sample`th command with its last word broken.
fn same_judgement(
    what: &str,
    intent: &Intent,
    secrets: &Secrets,
    xml: &BTreeMap<VyosVersion, Definitions>,
    routers: usize,
    sample: usize,
) {
    let builtin = vxguard::definitions::load(&[]).unwrap();
    let a = compiled(intent, secrets, &builtin);
    let b = compiled(intent, secrets, xml);
    assert!(
        a == b,
        "{what}: output differs between built-in and XML definitions"
    );
    assert!(a.unvalidated.is_empty());
    let (mut commands, mut broken, mut rejected) = (0, 0, 0);
    for r in a.routers.values().step_by(routers) {
        let (x, y) = (&builtin[&r.version], &xml[&r.version]);
        for (i, c) in r.tree().commands().into_iter().enumerate() {
            let path = c.path;
            assert_eq!(
                x.validate(&path),
                y.validate(&path),
                "{what}: {}",
                path.join(" ")
            );
            commands += 1;
            if i % sample == 0 {
                let mut bad = path.clone();
                let last = bad.last_mut().unwrap();
                *last = format!("{last}!x");
                let (p, q) = (x.validate(&bad), y.validate(&bad));
                assert_eq!(p, q, "{what}: {}", bad.join(" "));
                broken += 1;
                rejected += p.is_err() as usize;
            }
        }
    }
    eprintln!(
        "{what}: {commands} commands, {broken} broken variants ({rejected} rejected by both)"
    );
    assert!(
        rejected * 2 > broken,
        "{what}: most broken commands must be rejected"
    );
}

#[test]
fn example_and_benchmark_platform_are_judged_the_same() {
    let Some(xml) = xml() else { return };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("examples/two-dc.yaml")).unwrap();
    let intent = yaml::parse_intent(&text)
        .map_err(|e| format!("{e:?}"))
        .unwrap()
        .0;
    let mut secrets = Secrets::default();
    vxguard_store::device_keys::reconcile(&mut secrets, &intent).unwrap();
    same_judgement("example", &intent, &secrets, &xml, 1, 1);
    let (intent, secrets) = vxguard_bench::platform::generate(10, 200, 20, 5000);
    same_judgement("benchmark platform", &intent, &secrets, &xml, 10, 97);
}
