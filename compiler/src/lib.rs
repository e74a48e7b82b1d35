//! vxguard's compiler: tenant intent in, device configuration out.
//!
//! Pure and deterministic: no I/O (definitions and keys are passed in), and
//! the same input gives the same output byte for byte. The pipeline:
//! `checks` (intent) → `alloc` (stable numbers and addresses) →
//! `checks::check_allocation` → `model` (device-neutral) → `vyos` / `ovs`
//! renderers → validation of every VyOS command against VyOS's own
//! definitions and commit-time rules. All problems are reported together.

pub mod alloc;
pub mod checks;
pub mod diag;
pub mod ids;
pub mod intent;
pub mod model;
pub mod ovs;
pub mod policy;
pub mod vyos;

use alloc::Allocation;
use diag::{Diagnostic, Diagnostics, Pointer};
use intent::{Intent, VyosVersion};
use model::{Ctx, Secrets};
use std::collections::BTreeMap;
use vyos_defs::Definitions;
use vyos_tree::{ConfigTree, NoSchema, Schema};

/// VyOS definitions per version; a version without definitions is rendered
/// but not validated, and the output says so.
#[derive(Default)]
pub struct DefinitionSet<'a> {
    pub by_version: BTreeMap<VyosVersion, &'a Definitions>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterOutput {
    pub version: VyosVersion,
    /// `set` commands as `show configuration commands` prints them.
    pub set: String,
    /// The same configuration as `config.boot` text.
    pub boot: String,
    pub tree: ConfigTree,
    /// The commands each owner contributed (key "" is the platform, else a
    /// tenant slug): what a one-tenant change replaces.
    pub parts: BTreeMap<String, (Pointer, Vec<vyos::Path>)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub allocation: Allocation,
    pub routers: BTreeMap<String, RouterOutput>,
    pub hypervisors: BTreeMap<String, ovs::OvsConfig>,
    /// Warnings (errors make `compile` fail).
    pub warnings: Vec<Diagnostic>,
    /// Tenant MTU left by the underlay after WireGuard and VXLAN.
    pub tenant_mtu: u16,
    /// VyOS versions whose commands were not validated (no definitions given).
    pub unvalidated: Vec<VyosVersion>,
}

/// Compiles the whole intent.
pub fn compile(
    intent: &Intent,
    prev: &Allocation,
    secrets: &Secrets,
    defs: &DefinitionSet,
) -> Result<Output, Vec<Diagnostic>> {
    let mut d = Diagnostics::default();
    checks::check_intent(intent, &mut d);
    if d.has_errors() {
        return Err(sorted(d));
    }
    let allocation = alloc::allocate(intent, prev, &mut d);
    checks::check_allocation(&allocation, &mut d);
    if d.has_errors() {
        return Err(sorted(d));
    }
    check_secrets(intent, secrets, &mut d);
    let ctx = Ctx::new(intent, &allocation, secrets);
    let mut routers = BTreeMap::new();
    let mut unvalidated = Vec::new();
    for (ri, r) in intent.platform.routers.iter().enumerate() {
        let name = r.name.as_str();
        let model = ctx.router(name);
        let mut parts = BTreeMap::new();
        parts.insert(
            String::new(),
            (
                Pointer::root().join("platform").join("routers").join(ri),
                vyos::render_platform(&model),
            ),
        );
        for (ti, t) in intent.tenants.iter().enumerate() {
            if let Some(tm) = ctx.tenant_on_router(t, name) {
                parts.insert(
                    t.slug.to_string(),
                    (
                        Pointer::root().join("tenants").join(ti),
                        vyos::render_tenant(&model, &tm),
                    ),
                );
            }
        }
        let defs_for = defs.by_version.get(&r.version).copied();
        if defs_for.is_none() && !unvalidated.contains(&r.version) {
            unvalidated.push(r.version);
        }
        let out = render_router(name, r.version, parts, defs_for, &mut d);
        routers.insert(name.to_string(), out);
    }
    let mut hypervisors = BTreeMap::new();
    for h in &intent.platform.hypervisors {
        hypervisors.insert(
            h.name.to_string(),
            ovs::render(&ctx.hypervisor(h.name.as_str())),
        );
    }
    if d.has_errors() {
        return Err(sorted(d));
    }
    let tenant_mtu = ctx.tenant_mtu;
    drop(ctx);
    Ok(Output {
        allocation,
        routers,
        hypervisors,
        warnings: sorted(d),
        tenant_mtu,
        unvalidated,
    })
}

fn sorted(d: Diagnostics) -> Vec<Diagnostic> {
    let mut v = d.0;
    v.sort();
    v.dedup();
    v
}

fn schema_of(defs: Option<&Definitions>) -> &dyn Schema {
    match defs {
        Some(x) => x,
        None => &NoSchema,
    }
}

fn validate_paths<'p>(
    name: &str,
    version: VyosVersion,
    owner: &Pointer,
    paths: impl Iterator<Item = &'p vyos::Path>,
    defs: Option<&Definitions>,
    d: &mut Diagnostics,
) {
    let Some(defs) = defs else { return };
    for p in paths {
        if let Err(e) = defs.validate(p) {
            d.error(
                owner.clone(),
                format!(
                    "router {name} (VyOS {}): `set {}` is invalid: {}",
                    version.as_str(),
                    p.join(" "),
                    e.reason
                ),
            );
        }
    }
}

fn commit_rules(name: &str, out: &RouterOutput, d: &mut Diagnostics) {
    let platform = out.parts.get("").map(|p| p.0.clone()).unwrap_or_default();
    for e in vyos_defs::commit_check(&out.tree) {
        d.error(
            platform.clone(),
            format!(
                "router {name}: VyOS would refuse the commit at `{}`: {}",
                e.path.join(" "),
                e.reason
            ),
        );
    }
}

/// Validates one router's commands and builds its tree and texts.
pub fn render_router(
    name: &str,
    version: VyosVersion,
    parts: BTreeMap<String, (Pointer, Vec<vyos::Path>)>,
    defs: Option<&Definitions>,
    d: &mut Diagnostics,
) -> RouterOutput {
    let schema = schema_of(defs);
    let mut tree = ConfigTree::new();
    for (owner, paths) in parts.values() {
        validate_paths(name, version, owner, paths.iter(), defs, d);
        for p in paths {
            tree.set(p, schema);
        }
    }
    let out = RouterOutput {
        version,
        set: tree.render_set(schema),
        boot: tree.render_boot(schema),
        tree,
        parts,
    };
    commit_rules(name, &out, d);
    out
}

/// Devices a one-tenant change re-rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub routers: Vec<String>,
    pub hypervisors: Vec<String>,
}

/// Recompiles after a change to one tenant only (added, changed or removed):
/// re-renders just the routers and hypervisors that tenant touched before
/// or touches now, and validates only the commands that changed. `prev` is
/// the output of the previous compile of the same platform, taken by value
/// so that nothing is copied: on error it is dropped, so callers that need
/// it afterwards keep their own.
pub fn recompile_tenant(
    intent: &Intent,
    slug: &str,
    prev: Output,
    secrets: &Secrets,
    defs: &DefinitionSet,
) -> Result<(Output, Touched), Vec<Diagnostic>> {
    let mut d = Diagnostics::default();
    let found = intent
        .tenants
        .iter()
        .enumerate()
        .find(|(_, t)| t.slug.as_str() == slug);
    let (ti, t) = match found {
        Some((i, t)) => (i, Some(t)),
        None => (0, None), // removed: its parts are deleted below
    };
    // Checks are per tenant, but cross-tenant ones are cheap: run them all.
    checks::check_intent(intent, &mut d);
    if d.has_errors() {
        return Err(sorted(d));
    }
    let allocation = alloc::allocate(intent, &prev.allocation, &mut d);
    checks::check_allocation(&allocation, &mut d);
    if d.has_errors() {
        return Err(sorted(d));
    }
    let ctx = Ctx::new(intent, &allocation, secrets);
    let prev_hvs = prev_hypervisors_of(&prev, slug);
    let mut out = Output {
        allocation: allocation.clone(),
        ..prev
    };
    let mut touched = Touched::default();
    let mut routers: Vec<String> = out
        .routers
        .iter()
        .filter(|(_, r)| r.parts.contains_key(slug))
        .map(|(n, _)| n.clone())
        .collect();
    if let Some(t) = t {
        routers.extend(model::tenant_routers(t));
    }
    routers.sort();
    routers.dedup();
    for name in routers {
        let Some(r) = intent
            .platform
            .routers
            .iter()
            .find(|r| r.name.as_str() == name)
        else {
            continue;
        };
        let Some(ro) = out.routers.get_mut(&name) else {
            continue;
        };
        let dfs = defs.by_version.get(&r.version).copied();
        let schema = schema_of(dfs);
        let new_part = t.and_then(|t| {
            let model = ctx.router(&name);
            ctx.tenant_on_router(t, &name)
                .map(|tm| vyos::render_tenant(&model, &tm))
        });
        let old: std::collections::HashSet<&vyos::Path> = ro
            .parts
            .get(slug)
            .map(|p| p.1.iter().collect())
            .unwrap_or_default();
        let new: std::collections::HashSet<&vyos::Path> = new_part.iter().flatten().collect();
        let owner = Pointer::root().join("tenants").join(ti);
        validate_paths(
            &name,
            r.version,
            &owner,
            new.iter().copied().filter(|p| !old.contains(p)),
            dfs,
            &mut d,
        );
        let stale: Vec<vyos::Path> = old
            .iter()
            .filter(|p| !new.contains(*p))
            .map(|p| (*p).clone())
            .collect();
        drop(old);
        drop(new);
        for p in &stale {
            ro.tree.delete(p);
        }
        for p in new_part.iter().flatten() {
            ro.tree.set(p, schema);
        }
        match new_part {
            Some(p) => {
                ro.parts.insert(slug.to_string(), (owner, p));
            }
            None => {
                ro.parts.remove(slug);
            }
        }
        ro.set = ro.tree.render_set(schema);
        ro.boot = ro.tree.render_boot(schema);
        commit_rules(&name, ro, &mut d);
        touched.routers.push(name);
    }
    let mut hvs: Vec<String> = prev_hvs;
    if let Some(t) = t {
        hvs.extend(model::tenant_hypervisors(t));
    }
    hvs.sort();
    hvs.dedup();
    for h in hvs {
        if intent
            .platform
            .hypervisors
            .iter()
            .any(|x| x.name.as_str() == h)
        {
            out.hypervisors
                .insert(h.clone(), ovs::render(&ctx.hypervisor(&h)));
            touched.hypervisors.push(h);
        }
    }
    if d.has_errors() {
        return Err(sorted(d));
    }
    out.warnings = sorted(d);
    Ok((out, touched))
}

/// Hypervisors whose flows mention a tenant (by its flow comments).
fn prev_hypervisors_of(prev: &Output, slug: &str) -> Vec<String> {
    let marker = format!("# tenant {slug} ");
    prev.hypervisors
        .iter()
        .filter(|(_, h)| h.flows.contains(&marker))
        .map(|(n, _)| n.clone())
        .collect()
}

fn check_secrets(intent: &Intent, s: &Secrets, d: &mut Diagnostics) {
    for (i, r) in intent.platform.routers.iter().enumerate() {
        if !s.routers.contains_key(r.name.as_str()) {
            d.error(
                Pointer::root().join("platform").join("routers").join(i),
                format!(
                    "no key material for router {} (WireGuard key and API key)",
                    r.name
                ),
            );
        }
    }
    for (i, h) in intent.platform.hypervisors.iter().enumerate() {
        if !s.hypervisors.contains_key(h.name.as_str()) {
            d.error(
                Pointer::root().join("platform").join("hypervisors").join(i),
                format!("no WireGuard key for hypervisor {}", h.name),
            );
        }
    }
}
