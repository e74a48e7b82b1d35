//! The check of one tenant's write, before its 201: that tenant's commands
//! on each of its routers, judged as the devices would judge them (VyOS's
//! definitions and commit rules) on top of the router's platform commands.
//!
//! The platform's part of a router (two mesh slots with a peer for every
//! other VTEP, a BGP neighbour for every other router) is most of each
//! check's tree, and no tenant's write changes it. [`PlatformTrees`] keeps
//! each router's platform tree between writes, keyed by the router's model
//! (everything its platform commands are rendered from), so a write
//! renders, validates and builds only its own commands, and VyOS's commit
//! rules run on the union of both trees (`vyos_defs::commit_check_union`).
//! The verdict is the same as building the whole tree
//! (`compiler/tests/write_check.rs` compares both across platform changes).
//! Measured at the benchmark platform, keeping the trees saves no CPU (a
//! kept tree is cold in the cache, a fresh one hot: "Benchmarks", session
//! 11); the union and the rules' lookups are what made checks cheaper.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vyos_tree::{ConfigTree, Schema};

use crate::alloc::Allocation;
use crate::diag::{Diagnostic, Diagnostics, Pointer};
use crate::intent::Intent;
use crate::model::{self, Ctx, RouterModel, Secrets};
use crate::{vyos, DefinitionSet, Part};

/// Routers whose platform trees are kept, the least recently used going
/// first: about 1 MiB each at the benchmark platform's size (220 mesh
/// peers), so at most 64 MiB, and every router ten tenants' writes touch.
const KEPT: usize = 64;

/// Each router's platform commands and their configuration tree, as of the
/// last write that checked it. Shared by the writes of one process; cheap
/// to share (`Arc`), safe to use from many threads.
#[derive(Default)]
pub struct PlatformTrees {
    by_router: Mutex<HashMap<String, Kept>>,
}

struct Kept {
    /// When it was last used: the least recently used goes first.
    used: u64,
    tree: Arc<PlatformTree>,
}

/// One router's platform part and the tree it builds, under the schema of
/// the definitions it was built with.
pub(crate) struct PlatformTree {
    /// The model the part was rendered from, when it was (a worker's
    /// compile has the part alone).
    model: Option<RouterModel>,
    /// The definitions' address, to tell two schemas apart (a process
    /// judges with one set; tests may use two).
    schema: usize,
    pub(crate) part: Part,
    pub(crate) tree: ConfigTree,
}

fn schema_id(schema: &dyn Schema) -> usize {
    schema as *const dyn Schema as *const () as usize
}

impl PlatformTrees {
    /// Router `model.name`'s platform tree for `model`: the kept one when
    /// it was built from that model (or from the part it renders), else
    /// built and kept.
    fn of_model(&self, ri: usize, model: &RouterModel, schema: &dyn Schema) -> Arc<PlatformTree> {
        let id = schema_id(schema);
        if let Some(kept) = self.kept(&model.name, |k| {
            k.schema == id && k.model.as_ref() == Some(model)
        }) {
            return kept;
        }
        let part = crate::platform_part(ri, model);
        self.build(&model.name, Some(model.clone()), part, schema)
    }

    /// Router `name`'s platform tree for its platform part `part` (a
    /// worker's one-tenant change, which keeps the part).
    pub(crate) fn of_part(
        &self,
        name: &str,
        part: &Part,
        schema: &dyn Schema,
    ) -> Arc<PlatformTree> {
        let id = schema_id(schema);
        if let Some(kept) = self.kept(name, |k| k.schema == id && k.part == *part) {
            return kept;
        }
        self.build(name, None, part.clone(), schema)
    }

    fn kept(&self, name: &str, fits: impl Fn(&PlatformTree) -> bool) -> Option<Arc<PlatformTree>> {
        let mut map = self.by_router.lock().unwrap_or_else(|e| e.into_inner());
        let tick = map.values().map(|k| k.used).max().unwrap_or(0) + 1;
        let k = map.get_mut(name)?;
        if !fits(&k.tree) {
            return None;
        }
        k.used = tick;
        Some(k.tree.clone())
    }

    /// Builds the tree of `part` and keeps it in place of the router's
    /// kept one (and of the least recently used router's when full).
    fn build(
        &self,
        name: &str,
        model: Option<RouterModel>,
        part: Part,
        schema: &dyn Schema,
    ) -> Arc<PlatformTree> {
        let tree = crate::build_tree(std::iter::once(&part), schema);
        let built = Arc::new(PlatformTree {
            model,
            schema: schema_id(schema),
            part,
            tree,
        });
        let mut map = self.by_router.lock().unwrap_or_else(|e| e.into_inner());
        let tick = map.values().map(|k| k.used).max().unwrap_or(0) + 1;
        if map.len() >= KEPT && !map.contains_key(name) {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, k)| k.used)
                .map(|(n, _)| n.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            name.to_string(),
            Kept {
                used: tick,
                tree: built.clone(),
            },
        );
        built
    }
}

/// VyOS's commit rules on the router's platform commands and `tenant`'s
/// together: on the union of the platform's kept tree and the tenant's own
/// (nothing copied), unless a leaf would hold values of both (then a
/// single-valued leaf keeps one: a copy of the platform's tree with the
/// tenant's commands set into it tells which).
pub(crate) fn commit_check(
    platform: &PlatformTree,
    tenant: &Part,
    schema: &dyn Schema,
) -> Vec<vyos_defs::CommitError> {
    if shares_a_leaf(&platform.tree, tenant) {
        let mut tree = platform.tree.clone();
        let mut batch = vyos_tree::SetBatch::new(&mut tree, schema);
        batch.set_owner(2);
        tenant
            .paths
            .for_each_sharing(|shared, p| batch.set_sharing(p, shared));
        drop(batch);
        return vyos_defs::commit_check(&tree);
    }
    let own = crate::build_tree(std::iter::once(tenant), schema);
    vyos_defs::commit_check_union(&platform.tree, &own)
}

/// Whether one of `tenant`'s commands gives a value to a leaf that holds
/// other values in `platform` (a node whose children are all childless:
/// values). Cautious: it may say so of a tag whose entries are all empty,
/// which only costs the copy.
fn shares_a_leaf(platform: &ConfigTree, tenant: &Part) -> bool {
    let root = platform.root();
    let mut found = false;
    tenant.paths.for_each(|p| {
        if found || p.len() < 2 {
            return;
        }
        let (value, leaf) = p.split_last().expect("two words or more");
        if let Some(node) = root.get(leaf) {
            let mut values = node.children().peekable();
            found = values.peek().is_some()
                && node.child(value).is_none()
                && values.all(|(_, v)| v.children().next().is_none());
        }
    });
    found
}

/// Checks tenant `ti`'s commands on each of its routers as the devices
/// would: its client keys, each command against the router's VyOS
/// definitions, and VyOS's commit rules on the router's platform commands
/// and this tenant's together. Other tenants are not looked at (what spans
/// tenants is the allocation's to check), so a tenant's write is never
/// refused for another tenant's state, and a value the devices would
/// refuse is refused where it is written, never failing the worker's
/// compile. `intent` must pass [`crate::checks::check_intent`] and
/// `allocation` must be its allocation; `trees` keeps the platform trees
/// between calls.
pub fn validate_tenant(
    intent: &Intent,
    ti: usize,
    allocation: &Allocation,
    secrets: &Secrets,
    defs: &DefinitionSet,
    trees: &PlatformTrees,
) -> Vec<Diagnostic> {
    let mut d = Diagnostics::default();
    let Some(t) = intent.tenants.get(ti) else {
        return Vec::new();
    };
    crate::check_client_keys(intent, Some(ti), secrets, &mut d);
    let ctx = Ctx::new(intent, allocation, secrets);
    let owner = Pointer::root().join("tenants").join(ti);
    let routers = model::tenant_routers(t);
    let found = crate::par_map(&routers, |name| {
        let mut d = Diagnostics::default();
        let Some((ri, r)) = intent
            .platform
            .routers
            .iter()
            .enumerate()
            .find(|(_, r)| r.name.as_str() == name)
        else {
            return d;
        };
        let model = ctx.router(name);
        let Some(tm) = ctx.tenant_on_router(t, name) else {
            return d;
        };
        let dfs = defs.by_version.get(&r.version).copied();
        let tenant = Part {
            owner: owner.clone(),
            paths: vyos::render_tenant(&model, &tm),
        };
        crate::validate_paths(
            name,
            r.version,
            &owner,
            &tenant.paths,
            dfs,
            |_| true,
            &mut d,
        );
        let schema = crate::schema_of(dfs);
        let platform = trees.of_model(ri, &model, schema);
        let found = commit_check(&platform, &tenant, schema);
        crate::commit_errors(name, found, Some(&platform.part.owner), &[&tenant], &mut d);
        d
    });
    for x in found {
        d.0.extend(x.0);
    }
    crate::sorted(d)
}
