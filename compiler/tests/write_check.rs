//! A tenant's write check with the routers' platform sketches kept between
//! writes (`PlatformTrees`) gives the verdict of a check that builds every
//! sketch afresh, before and after a platform change that the kept
//! sketches did not see; and a platform's own fault is the platform
//! compile's to refuse, not its tenants' writes'.

mod common;
use common::*;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::diag::Diagnostic;
use vxguard_compiler::model::Secrets;
use vxguard_compiler::{compile, validate_tenant, PlatformTrees};

#[test]
fn kept_platform_trees_give_the_verdict_of_fresh_ones() {
    let intent = example();
    let good = secrets(&intent);
    let defs = Defs::load().set();
    let out = compile(&intent, &Allocation::default(), &good, &defs).expect("the example compiles");
    let check = |secrets: &Secrets, trees: &PlatformTrees| -> Vec<Vec<Diagnostic>> {
        (0..intent.tenants.len())
            .map(|ti| validate_tenant(&intent, ti, &out.allocation, secrets, &defs, trees))
            .collect()
    };
    let errors = |v: &[Vec<Diagnostic>]| -> Vec<String> {
        v.iter()
            .flatten()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect()
    };
    let fresh = check(&good, &PlatformTrees::default());
    assert_eq!(errors(&fresh), Vec::<String>::new());
    let kept = PlatformTrees::default();
    assert_eq!(check(&good, &kept), fresh, "trees built");
    assert_eq!(check(&good, &kept), fresh, "trees kept");

    // A platform change the kept sketches have not seen: two routers hold
    // one mesh key, so every other router's mesh slots name it twice,
    // which VyOS refuses at commit (interfaces_wireguard.py). That is the
    // platform's fault: its compile refuses it, and no tenant's write is
    // refused for it (a tenant's check leaves the mesh peers out).
    let names: Vec<String> = good.routers.keys().cloned().collect();
    let mut bad = good.clone();
    let key = bad.routers[&names[0]].wireguard_public_key.clone();
    bad.routers.get_mut(&names[1]).unwrap().wireguard_public_key = key;
    let refused = compile(&intent, &Allocation::default(), &bad, &defs)
        .expect_err("the platform compile refuses a mesh key held twice");
    assert!(
        refused
            .iter()
            .any(|d| d.to_string().contains("interfaces_wireguard.py")
                && d.to_string().contains("wg0")),
        "the duplicate key is refused: {refused:?}"
    );
    let broken = check(&bad, &PlatformTrees::default());
    assert_eq!(errors(&broken), Vec::<String>::new());
    assert_eq!(check(&bad, &kept), broken, "after the platform change");
    assert_eq!(check(&good, &kept), fresh, "after it is undone");
}
