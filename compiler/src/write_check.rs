//! The check of one tenant's write, before its 201: that tenant's commands
//! on each of its routers, judged as the devices would judge them (VyOS's
//! definitions and commit rules) on top of the router's platform commands.
//!
//! The platform's part of a router (two mesh slots with a peer for every
//! other VTEP, a BGP neighbour for every other router) is most of each
//! check's tree, and no tenant's write changes it or reads its insides.
//! So a check judges the tenant's commands on the router's *sketch*: its
//! platform commands with those peers' and neighbours' insides left out
//! (`vyos_defs::scoped_detail`: about a tenth of the commands at the
//! benchmark platform's size), with VyOS's rules run on the union of the
//! sketch and the tenant's own tree (`vyos_defs::commit_check_scoped`). The
//! rules about an instance only the platform holds read only its words, so
//! they could find only the platform's own errors, and the platform is
//! validated when it is compiled. [`PlatformTrees`] keeps every router's
//! sketch between writes (small enough to keep them all), keyed by what it
//! was made from. When a tenant's command lands in a platform instance or
//! on one of its leaves, the check builds the whole tree as the device
//! would (`compiler/tests/write_check.rs` compares the verdicts).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use vyos_tree::{ConfigTree, Schema};

use crate::alloc::Allocation;
use crate::diag::{Diagnostic, Diagnostics, Pointer};
use crate::intent::Intent;
use crate::model::{self, Ctx, RouterModel, Secrets};
use crate::{vyos, DefinitionSet, Part};

/// Routers whose sketches are kept, the least recently used going first.
/// A sketch is tens of KiB at the benchmark platform's size (its model,
/// kept to tell whether it still fits, is most of it), so every router of
/// a large platform is kept.
const KEPT: usize = 1024;

/// Each router's platform sketch, as of the last write that checked it.
/// Shared by the writes of one process; cheap to share (`Arc`), safe to
/// use from many threads.
#[derive(Default)]
pub struct PlatformTrees {
    by_router: Mutex<HashMap<String, Kept>>,
}

struct Kept {
    /// When it was last used: the least recently used goes first.
    used: u64,
    tree: Arc<PlatformTree>,
}

/// One router's platform sketch, under the schema of the definitions it
/// was built with, and what it was made from: a write check has the
/// router's model, a worker's one-tenant change the platform part it
/// keeps, told by a digest of its words (the platform's commands, which
/// no tenant writes). Either finds a sketch the other made.
pub(crate) struct PlatformTree {
    model: Option<RouterModel>,
    digest: Digest,
    /// The definitions' address, to tell two schemas apart (a process
    /// judges with one set; tests may use two).
    schema: usize,
    /// The platform's owner pointer (for diagnostics).
    pub(crate) owner: Pointer,
    sketch: Arc<ConfigTree>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Digest {
    hash: u64,
    paths: usize,
}

fn schema_id(schema: &dyn Schema) -> usize {
    schema as *const dyn Schema as *const () as usize
}

fn digest(part: &Part) -> Digest {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut paths = 0;
    part.paths.for_each(|p| {
        p.hash(&mut h);
        paths += 1;
    });
    Digest {
        hash: h.finish(),
        paths,
    }
}

impl PlatformTrees {
    /// Router `model.name`'s sketch for `model`: the kept one when it was
    /// made from that model (or from the part it renders), else made and
    /// kept.
    fn of_model(&self, ri: usize, model: &RouterModel, schema: &dyn Schema) -> Arc<PlatformTree> {
        let id = schema_id(schema);
        if let Some(kept) = self.kept(&model.name, |k| {
            k.schema == id && k.model.as_ref() == Some(model)
        }) {
            return kept;
        }
        let part = crate::platform_part(ri, model);
        self.build(&model.name, Some(model.clone()), &part, schema)
    }

    /// Router `name`'s sketch for its platform part `part` (a worker's
    /// one-tenant change, which keeps the part).
    pub(crate) fn of_part(
        &self,
        name: &str,
        part: &Part,
        schema: &dyn Schema,
    ) -> Arc<PlatformTree> {
        let id = schema_id(schema);
        let d = digest(part);
        if let Some(kept) = self.kept(name, |k| k.schema == id && k.digest == d) {
            return kept;
        }
        self.build(name, None, part, schema)
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

    /// The sketch of `part` (the kept one when its digest matches, else
    /// built), kept in place of the router's kept one (and of the least
    /// recently used router's when full).
    fn build(
        &self,
        name: &str,
        model: Option<RouterModel>,
        part: &Part,
        schema: &dyn Schema,
    ) -> Arc<PlatformTree> {
        let d = digest(part);
        let id = schema_id(schema);
        let same = self
            .kept(name, |k| k.schema == id && k.digest == d)
            .map(|k| k.sketch.clone());
        let built = Arc::new(PlatformTree {
            model,
            digest: d,
            schema: id,
            owner: part.owner.clone(),
            sketch: same.unwrap_or_else(|| Arc::new(sketch(part, schema))),
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

/// The platform's tree with the insides of its peers and neighbours left
/// out (`vyos_defs::scoped_detail`): their keys stay.
fn sketch(part: &Part, schema: &dyn Schema) -> ConfigTree {
    let mut tree = ConfigTree::new();
    let mut batch = vyos_tree::SetBatch::new(&mut tree, schema);
    batch.set_owner(1);
    let mut last: Vec<&str> = Vec::new();
    part.paths.for_each(|p| {
        let keep = vyos_defs::scoped_detail(p).map_or(p.len(), |(_, k)| k);
        let p = &p[..keep];
        if p == last.as_slice() {
            return;
        }
        let shared = p.iter().zip(&last).take_while(|(a, b)| a == b).count();
        batch.set_sharing(p, shared);
        last.clear();
        last.extend_from_slice(p);
    });
    drop(batch);
    tree
}

/// VyOS's commit rules on the router's platform commands and `tenant`'s
/// together, with `platform_part` the router's platform commands: on the
/// router's sketch and the tenant's own tree (nothing copied), unless a
/// tenant's command lands in a platform instance the sketch leaves out,
/// or gives a value to a leaf the platform holds (a single-valued leaf
/// keeps one): then on the whole tree, as the device builds it.
pub(crate) fn commit_check(
    platform: &PlatformTree,
    platform_part: impl FnOnce() -> Part,
    tenant: &Part,
    schema: &dyn Schema,
) -> Vec<vyos_defs::CommitError> {
    if enters_the_platform(&platform.sketch, tenant) {
        let whole = crate::build_tree([&platform_part(), tenant].into_iter(), schema);
        return vyos_defs::commit_check(&whole);
    }
    let own = crate::build_tree(std::iter::once(tenant), schema);
    vyos_defs::commit_check_scoped(&platform.sketch, &own)
}

/// Whether one of `tenant`'s commands lies under a platform instance whose
/// insides the sketch leaves out, or gives a value to a leaf that holds
/// other values in the platform (a node whose children are all childless:
/// values). Cautious: it may say so of a tag whose entries are all empty,
/// which only costs the whole tree.
fn enters_the_platform(sketch: &ConfigTree, tenant: &Part) -> bool {
    let root = sketch.root();
    let mut found = false;
    tenant.paths.for_each(|p| {
        if found || p.len() < 2 {
            return;
        }
        if let Some(owner) = vyos_defs::scoped_owner(p) {
            if root.get(&p[..owner]).is_some() {
                found = true;
                return;
            }
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
        let found = commit_check(
            &platform,
            || crate::platform_part(ri, &model),
            &tenant,
            schema,
        );
        crate::commit_errors(name, found, Some(&platform.owner), &[&tenant], &mut d);
        d
    });
    for x in found {
        d.0.extend(x.0);
    }
    crate::sorted(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "YAnXwJPvC+b7aIX8gSlHOh7Jbnd5m3X1f0DxrfYvO0I=";

    fn part(lines: &[&str]) -> Part {
        let mut paths = crate::paths::PathList::new();
        for l in lines {
            paths.push(&l.split_whitespace().collect::<Vec<_>>());
        }
        Part {
            owner: Pointer::root().join("platform"),
            paths,
        }
    }

    fn platform(port: u16) -> Part {
        part(&[
            &format!("interfaces wireguard wg0 private-key {KEY}"),
            &format!("interfaces wireguard wg0 port {port}"),
            "interfaces wireguard wg0 peer r2 public-key Yg==",
            "interfaces wireguard wg0 peer r2 allowed-ips 172.27.0.2/32",
            "protocols bgp system-as 65000",
            "protocols bgp neighbor 172.27.0.2 remote-as internal",
        ])
    }

    fn check(trees: &PlatformTrees, p: &Part, tenant: &Part) -> Vec<String> {
        let schema = &vyos_tree::NoSchema;
        let kept = trees.of_part("r1", p, schema);
        let mut found: Vec<String> = commit_check(&kept, || p.clone(), tenant, schema)
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        found.sort();
        found
    }

    fn whole(p: &Part, tenant: &Part) -> Vec<String> {
        let tree = crate::build_tree([p, tenant].into_iter(), &vyos_tree::NoSchema);
        let mut found: Vec<String> = vyos_defs::commit_check(&tree)
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        found.sort();
        found
    }

    /// A kept sketch follows its platform part: a platform change that
    /// takes the tenant's port is seen by the next check, and undoing it
    /// too; every verdict is the whole tree's.
    #[test]
    fn a_kept_sketch_follows_the_platform_part() {
        let tenant = part(&[
            &format!("interfaces wireguard wg5 private-key {KEY}"),
            "interfaces wireguard wg5 port 51825",
            "interfaces wireguard wg5 peer c public-key Yw==",
            "interfaces wireguard wg5 peer c allowed-ips 10.0.0.2/32",
        ]);
        let trees = PlatformTrees::default();
        let (free, taken) = (platform(51820), platform(51825));
        assert_eq!(check(&trees, &free, &tenant), Vec::<String>::new());
        let busy = check(&trees, &taken, &tenant);
        assert!(
            busy.len() == 1 && busy[0].contains("UDP port 51825 is busy"),
            "{busy:?}"
        );
        assert_eq!(busy, whole(&taken, &tenant));
        assert_eq!(check(&trees, &free, &tenant), Vec::<String>::new());
        let sketch = &trees.of_part("r1", &free, &vyos_tree::NoSchema).sketch;
        assert!(sketch
            .root()
            .get(&["interfaces", "wireguard", "wg0", "peer", "r2"])
            .is_some_and(|p| p.children().next().is_none()));
    }

    /// A tenant's command inside a platform instance the sketch leaves out
    /// (a peer on the mesh slot, a neighbour of the platform's) is judged
    /// on the whole tree: the duplicate key and the missing remote-as the
    /// sketch alone could not show.
    #[test]
    fn a_command_inside_the_platform_is_judged_on_the_whole_tree() {
        let trees = PlatformTrees::default();
        let p = platform(51820);
        let peer = part(&[
            "interfaces wireguard wg0 peer x public-key Yg==",
            "interfaces wireguard wg0 peer x allowed-ips 10.9.0.1/32",
        ]);
        let found = check(&trees, &p, &peer);
        assert!(
            found.iter().any(|e| e.contains("duplicate public-key")),
            "{found:?}"
        );
        assert_eq!(found, whole(&p, &peer));
        let neighbour = part(&["protocols bgp neighbor 172.27.0.2 update-source dum0"]);
        assert_eq!(check(&trees, &p, &neighbour), whole(&p, &neighbour));
        let other = part(&["protocols bgp neighbor 172.27.0.9 update-source dum0"]);
        let found = check(&trees, &p, &other);
        assert!(
            found.iter().any(|e| e.contains("remote-as must be set")),
            "{found:?}"
        );
        assert_eq!(found, whole(&p, &other));
    }
}
