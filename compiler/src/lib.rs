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
pub mod device;
pub mod diag;
pub mod engine;
pub mod hypervisor_config;
pub mod ids;
pub mod intent;
pub mod mesh;
pub mod model;
pub mod mtu;
pub mod ovs;
pub mod paths;
pub mod policy;
pub mod preview;
pub mod router_diff;
pub mod sealed;
pub mod vyos;
pub mod wireguard;
pub mod write_check;

pub use write_check::{validate_tenant, PlatformTrees};

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
    /// `set` commands as `show configuration commands` prints them. (Its
    /// `config.boot` form is [`RouterOutput::boot`]: made when asked, as no
    /// device reads it, so that a long-lived output does not hold it.)
    pub set: String,
    /// The commands each owner contributed (key "" is the platform, else a
    /// tenant slug), in the order a compile applies them: what a one-tenant
    /// change replaces before the router is rebuilt. The configuration tree
    /// itself is not kept (it is the largest structure of a compile): see
    /// [`RouterOutput::tree`].
    pub parts: BTreeMap<String, Part>,
    /// Where each owner's subtrees are in `set` (owner `i + 1` is
    /// the `i`th of `parts`): a one-tenant change that stays inside its
    /// subtrees re-renders only those and splices them in.
    pub segments: Vec<vyos_tree::Segment>,
}

/// One owner's commands on one router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Where the owner is in the intent (for diagnostics).
    pub owner: Pointer,
    pub paths: paths::PathList,
}

impl RouterOutput {
    /// The router's configuration tree, read back from `set` (content and
    /// order as compiled; roles as the quoting tells them).
    pub fn tree(&self) -> ConfigTree {
        ConfigTree::parse_set(&self.set, &NoSchema).expect("rendered `set` text parses")
    }

    /// The same configuration as `config.boot` text, laid out by the
    /// router's version's definitions (as the compile laid it out).
    pub fn boot(&self, defs: &DefinitionSet) -> String {
        let schema = schema_of(defs.by_version.get(&self.version).copied());
        ConfigTree::parse_set(&self.set, schema)
            .expect("rendered `set` text parses")
            .render_boot(schema)
    }
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

/// Runs `f` on every item on all available cores; results keep item order,
/// so output does not depend on scheduling.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("compile worker panicked"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
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
    check_client_keys(intent, None, secrets, &mut d);
    let ctx = Ctx::new(intent, &allocation, secrets);
    let mut unvalidated = Vec::new();
    for r in &intent.platform.routers {
        if !defs.by_version.contains_key(&r.version) && !unvalidated.contains(&r.version) {
            unvalidated.push(r.version);
        }
    }
    // Which tenants each router serves, found once (not routers x tenants).
    let mut serves: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (ti, t) in intent.tenants.iter().enumerate() {
        for r in model::tenant_routers(t) {
            serves.entry(r).or_default().push(ti);
        }
    }
    let indexed: Vec<(usize, &intent::Router)> =
        intent.platform.routers.iter().enumerate().collect();
    let built = par_map(&indexed, |&(ri, r)| {
        let name = r.name.as_str();
        let model = ctx.router(name);
        let mut parts = BTreeMap::new();
        parts.insert(String::new(), platform_part(ri, &model));
        for &ti in serves.get(name).map_or(&[][..], |v| &v[..]) {
            let t = &intent.tenants[ti];
            if let Some(tm) = ctx.tenant_on_router(t, name) {
                parts.insert(
                    t.slug.to_string(),
                    Part {
                        owner: Pointer::root().join("tenants").join(ti),
                        paths: vyos::render_tenant(&model, &tm),
                    },
                );
            }
        }
        let mut d = Diagnostics::default();
        let dfs = defs.by_version.get(&r.version).copied();
        for part in parts.values() {
            validate_paths(
                name,
                r.version,
                &part.owner,
                &part.paths,
                dfs,
                |_| true,
                &mut d,
            );
        }
        let out = render_router(name, r.version, parts, dfs, &mut d);
        (name.to_string(), out, d)
    });
    let mut routers = BTreeMap::new();
    for (name, out, rd) in built {
        d.0.extend(rd.0);
        routers.insert(name, out);
    }
    let hv_names: Vec<&str> = intent
        .platform
        .hypervisors
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    let hypervisors: BTreeMap<String, ovs::OvsConfig> = par_map(&hv_names, |h| {
        (h.to_string(), render_hypervisor(&ctx.hypervisor(h)))
    })
    .into_iter()
    .collect();
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

/// The mesh state to compile `intent` with, for a caller that stages mesh
/// changes (the worker; `crate::mesh`): `prev.mesh`, with the slot that
/// carries traffic held when the intent's mesh changed, and the intent's
/// mesh as `last`. Allocates to learn new devices' addresses (as
/// [`compile`] will, deterministically); an intent that does not allocate
/// leaves the state as it is (the compile then reports why).
pub fn plan_mesh(intent: &Intent, prev: &Allocation, secrets: &Secrets) -> mesh::MeshState {
    let mut d = Diagnostics::default();
    checks::check_intent(intent, &mut d);
    if d.has_errors() {
        return prev.mesh.clone();
    }
    let allocation = alloc::allocate(intent, prev, &mut d);
    if d.has_errors() {
        return prev.mesh.clone();
    }
    let target = model::mesh_view(intent, &allocation, secrets);
    prev.mesh.staged_for(&target)
}

/// Router `ri`'s platform commands (mesh, BGP, API), owned by the router.
fn platform_part(ri: usize, model: &model::RouterModel) -> Part {
    Part {
        owner: Pointer::root().join("platform").join("routers").join(ri),
        paths: vyos::render_platform(model),
    }
}

/// Everything one hypervisor is given: flows, groups, meters, WireGuard.
fn render_hypervisor(m: &model::HypervisorModel) -> ovs::OvsConfig {
    ovs::OvsConfig {
        wireguard: wireguard::render(m),
        ..ovs::render(m)
    }
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

/// Validates the paths of one part that `wanted` selects.
fn validate_paths(
    name: &str,
    version: VyosVersion,
    owner: &Pointer,
    paths: &paths::PathList,
    defs: Option<&Definitions>,
    wanted: impl Fn(&[&str]) -> bool,
    d: &mut Diagnostics,
) {
    let Some(defs) = defs else { return };
    let mut checker = defs.checker();
    paths.for_each(|p| {
        if !wanted(p) {
            return;
        }
        if let Err(e) = checker.check(p) {
            d.error(
                owner.clone(),
                format!(
                    "router {name} (VyOS {}) would refuse “set {}”: {}",
                    version.as_str(),
                    p.join(" "),
                    e.reason
                ),
            );
        }
    });
}

/// Builds one router's tree from its parts (in order: platform, then
/// tenants by slug), renders its texts and checks VyOS's commit rules. A
/// one-tenant change calls this too, so its result equals a full compile's.
/// Paths are validated by the caller.
pub fn render_router(
    name: &str,
    version: VyosVersion,
    parts: BTreeMap<String, Part>,
    defs: Option<&Definitions>,
    d: &mut Diagnostics,
) -> RouterOutput {
    let schema = schema_of(defs);
    let tree = build_tree(parts.values(), schema);
    commit_errors(
        name,
        vyos_defs::commit_check(&tree),
        parts.get("").map(|p| &p.owner),
        &tenant_parts(&parts),
        d,
    );
    let (mut set, segments) = tree.render_segments(schema);
    drop(tree);
    // Outputs are kept (millions of lines in a large platform): no slack.
    set.shrink_to_fit();
    RouterOutput {
        version,
        set,
        parts,
        segments,
    }
}

/// The tenants' parts of a router (all but the platform's).
fn tenant_parts(parts: &BTreeMap<String, Part>) -> Vec<&Part> {
    parts
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(_, p)| p)
        .collect()
}

/// The tree of some parts, each part's nodes owned by its index + 1 (the
/// owner numbers of [`RouterOutput::segments`] when all parts are given).
fn build_tree<'p>(parts: impl Iterator<Item = &'p Part>, schema: &dyn Schema) -> ConfigTree {
    let mut tree = ConfigTree::new();
    let mut batch = vyos_tree::SetBatch::new(&mut tree, schema);
    for (i, part) in parts.enumerate() {
        batch.set_owner(i as u32 + 1);
        part.paths
            .for_each_sharing(|shared, p| batch.set_sharing(p, shared));
    }
    drop(batch);
    tree
}

/// VyOS's commit-time rules' verdict on a router's tree (`found`), each
/// error reported against its owner.
/// `platform` is the platform's owner (when its commands are in the tree),
/// `tenants` the tenants' parts in it.
fn commit_errors(
    name: &str,
    found: Vec<vyos_defs::CommitError>,
    platform: Option<&Pointer>,
    tenants: &[&Part],
    d: &mut Diagnostics,
) {
    let platform = platform.cloned().unwrap_or_default();
    for e in found {
        // The error is the tenant's when its node is one of the tenant's
        // commands (and no one else's): one tenant's bad value then fails
        // that tenant, not the platform.
        let mut owners = tenants.iter().filter(|part| {
            let mut hit = false;
            part.paths.for_each(|p| {
                hit = hit
                    || (p.len() >= e.path.len()
                        && p.iter().zip(&e.path).all(|(a, b)| *a == b.as_str()));
            });
            hit
        });
        let owner = match (owners.next(), owners.next()) {
            (Some(part), None) => part.owner.clone(),
            _ => platform.clone(),
        };
        d.error(
            owner,
            format!(
                "router {name}: VyOS would refuse the commit at “{}”: {}",
                e.path.join(" "),
                e.reason
            ),
        );
    }
}

/// Replaces one owner's commands on a router by re-rendering only that
/// owner's subtrees and splicing them into the texts, when the change stays
/// inside them: the same subtree roots, and the same commands on nodes it
/// shares with other owners. Then every other line is untouched by the
/// change, and the result is byte for byte what [`render_router`] gives
/// (the tests compare). Commit rules are checked on the platform's and this
/// owner's commands together: rules that span tenants (unique tables, VNIs,
/// ports) are the compiler's own allocation checks. `Err` gives the part
/// back: not applicable, nothing changed, render the router again. `Ok`
/// says where the `set` text changed ([`Spliced`]), with the `set` text it
/// replaced (the change's undo, moved rather than copied).
fn splice_owner(
    name: &str,
    ro: &mut RouterOutput,
    key: &str,
    new: Part,
    schema: &dyn Schema,
    trees: &PlatformTrees,
    d: &mut Diagnostics,
) -> Result<(Spliced, String), Box<Part>> {
    let Some(index) = ro.parts.keys().position(|k| k == key) else {
        return Err(Box::new(new));
    };
    let owner = index as u32 + 1;
    let roots: Vec<Vec<&str>> = ro
        .segments
        .iter()
        .filter(|g| g.owner == owner)
        .map(|g| g.root.iter().map(|w| &**w).collect())
        .collect();
    if roots.is_empty() {
        return Err(Box::new(new));
    }
    let under = |p: &[&str]| roots.iter().any(|r| p.starts_with(r));
    fn shared<'p>(
        paths: &'p paths::PathList,
        under: &dyn Fn(&[&str]) -> bool,
    ) -> Vec<Vec<&'p str>> {
        let mut out = Vec::new();
        paths.for_each(|p| {
            if !under(p) {
                out.push(p.to_vec());
            }
        });
        out
    }
    if shared(&ro.parts[key].paths, &under) != shared(&new.paths, &under) {
        return Err(Box::new(new));
    }
    let mut tree = ConfigTree::new();
    let mut batch = vyos_tree::SetBatch::new(&mut tree, schema);
    batch.set_owner(owner);
    new.paths
        .for_each_sharing(|shared, p| batch.set_sharing(p, shared));
    drop(batch);
    let mut pieces = Vec::with_capacity(roots.len());
    for r in &roots {
        match tree.render_subtree(r, schema) {
            Some(piece) => pieces.push(piece),
            None => return Err(Box::new(new)),
        }
    }
    drop(tree);
    // The commit rules on the platform's commands and the new ones: the
    // platform's tree is kept between changes (it is most of the tree).
    let found = match ro.parts.get("") {
        Some(platform) => write_check::commit_check(
            &trees.of_part(name, platform, schema),
            || platform.clone(),
            &new,
            schema,
        ),
        None => vyos_defs::commit_check(&build_tree(std::iter::once(&new), schema)),
    };
    commit_errors(
        name,
        found,
        ro.parts.get("").map(|p| &p.owner),
        &tenant_parts(&ro.parts),
        d,
    );
    drop(roots);
    let mut set =
        String::with_capacity(ro.set.len() + pieces.iter().map(|p| p.len()).sum::<usize>());
    let mut set_at = 0;
    let mut pieces = pieces.into_iter();
    let mut spliced = Spliced::default();
    for g in ro.segments.iter_mut() {
        if g.owner == owner {
            let piece = pieces.next().expect("one piece per root");
            set.push_str(&ro.set[set_at..g.set.start]);
            set_at = g.set.end;
            spliced.before.push(g.set.clone());
            g.set = set.len()..set.len() + piece.len();
            spliced.after.push(g.set.clone());
            set.push_str(&piece);
        } else {
            let (to, from) = (set.len(), set_at);
            g.set = g.set.start + to - from..g.set.end + to - from;
        }
    }
    set.push_str(&ro.set[set_at..]);
    let old = std::mem::replace(&mut ro.set, set);
    ro.parts.insert(key.to_string(), new);
    Ok((spliced, old))
}

/// Where a one-tenant change spliced into a router's `set` text (see
/// `splice_owner`): the tenant's subtrees, as byte ranges of the text
/// before the change ([`Touched::before_routers`]) and after it, in text
/// order. Every byte outside them is unchanged and the subtrees' roots are
/// in both texts, so the commands between the two whole texts are those
/// between these pieces ([`router_diff::commands`]): a one-rule change at
/// 5,000 tenants then parses a few kilobytes, not two 900 KB texts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spliced {
    pub before: Vec<std::ops::Range<usize>>,
    pub after: Vec<std::ops::Range<usize>>,
}

/// What puts a hypervisor back after a one-tenant change that failed, and
/// says what it was before one that succeeded.
enum HvKept {
    /// The tenant is not on it, before or now.
    Unchanged,
    Replaced(ovs::Replaced),
    /// Rendered whole: its previous configuration.
    Whole(ovs::OvsConfig),
    /// It had none (new to the output).
    New,
}

/// What puts a router back after a one-tenant change that failed: the
/// router's parts other than the tenant's are untouched by the change.
struct RouterUndo {
    set: String,
    segments: Vec<vyos_tree::Segment>,
    part: Option<Part>,
}

impl Spliced {
    /// This splice followed by `next` (made on the text this one gave), as
    /// one splice from this one's text before to `next`'s text after: a
    /// batch of tenants' changes to one router then still reads only the
    /// tenants' pieces, not the two whole texts. Each side's ranges lie in
    /// text the other left unchanged (other tenants' subtrees), so they are
    /// only shifted by the other's growth. `None` when they overlap (the
    /// same subtree changed twice), where only a whole diff is right.
    pub fn then(&self, next: &Spliced) -> Option<Spliced> {
        use std::ops::Range;
        let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
        if self
            .after
            .iter()
            .any(|a| next.before.iter().any(|b| overlaps(a, b)))
        {
            return None;
        }
        // Where a range of the middle text lies in the text on the other
        // side of `pairs` (middle ranges → far ranges): moved by the growth
        // of every pair that ends before it.
        fn moved(r: &Range<usize>, middle: &[Range<usize>], far: &[Range<usize>]) -> Range<usize> {
            let mut by: isize = 0;
            for (m, f) in middle.iter().zip(far) {
                if m.end <= r.start {
                    by += f.len() as isize - m.len() as isize;
                }
            }
            let at = |p: usize| (p as isize + by) as usize;
            at(r.start)..at(r.end)
        }
        let mut before: Vec<Range<usize>> = self.before.clone();
        before.extend(
            next.before
                .iter()
                .map(|r| moved(r, &self.after, &self.before)),
        );
        let mut after: Vec<Range<usize>> = next.after.clone();
        after.extend(
            self.after
                .iter()
                .map(|r| moved(r, &next.before, &next.after)),
        );
        before.sort_by_key(|r| r.start);
        after.sort_by_key(|r| r.start);
        Some(Spliced { before, after })
    }
}

/// Devices a one-tenant change re-rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub routers: Vec<String>,
    pub hypervisors: Vec<String>,
    /// How many of them were updated in place (only the tenant's lines
    /// re-rendered) rather than rendered whole.
    pub in_place: usize,
    /// The routers updated in place, with where their text changed.
    pub spliced: BTreeMap<String, Spliced>,
    /// The routers' `set` texts before the change (copied anyway, to undo
    /// a change that fails): what a caller diffs against without reading
    /// its stored copy back.
    pub before_routers: BTreeMap<String, String>,
    /// The hypervisors as they were before the change (those that existed).
    pub before_hypervisors: BTreeMap<String, HvBefore>,
}

/// A touched hypervisor before a change, kept small: what the re-render
/// replaced, not a copy of the whole configuration (about 3 MB per
/// hypervisor at the benchmark platform).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HvBefore {
    /// Its whole revision text before (it was rendered whole).
    Text(String),
    /// Its tenants' lines were re-rendered in place: per change, in order,
    /// the ranges of the revision text that the new lines took and the
    /// lines they replaced, in text order.
    Spliced(Vec<Vec<(std::ops::Range<usize>, String)>>),
}

impl HvBefore {
    /// The revision text before, from the text `now`; and, when known,
    /// where the two differ (each byte outside the ranges is the same).
    pub fn text(&self, now: &str) -> (std::borrow::Cow<'_, str>, Option<Spliced>) {
        match self {
            HvBefore::Text(t) => (std::borrow::Cow::Borrowed(t), None),
            HvBefore::Spliced(changes) => {
                let mut changes_back = changes.iter().rev();
                let Some(last) = changes_back.next() else {
                    return (std::borrow::Cow::Owned(now.to_string()), None);
                };
                let mut text = reverted(now, last);
                for change in changes_back {
                    text = reverted(&text, change);
                }
                let mut spliced: Option<Spliced> = None;
                for change in changes {
                    let this = splice_of(change);
                    spliced = match spliced {
                        None => Some(this),
                        Some(s) => match s.then(&this) {
                            Some(s) => Some(s),
                            None => return (std::borrow::Cow::Owned(text), None),
                        },
                    };
                }
                (std::borrow::Cow::Owned(text), spliced)
            }
        }
    }
}

/// One change's text before, from its text after: the bytes between its
/// pieces copied once and its replaced lines put back, in one pass (a
/// hypervisor's text is megabytes at the benchmark platform; replacing
/// piece by piece in place moved the whole tail once per piece).
fn reverted(after: &str, change: &[(std::ops::Range<usize>, String)]) -> String {
    let grown: usize = change.iter().map(|(r, _)| r.len()).sum();
    let shrunk: usize = change.iter().map(|(_, old)| old.len()).sum();
    let mut text = String::with_capacity(after.len() - grown + shrunk);
    let mut at = 0;
    for (range, old) in change {
        text.push_str(&after[at..range.start]);
        text.push_str(old);
        at = range.end;
    }
    text.push_str(&after[at..]);
    text
}

/// One change's pieces as a [`Spliced`]: its ranges after, and before (moved
/// by the growth of the pieces ahead of them).
fn splice_of(change: &[(std::ops::Range<usize>, String)]) -> Spliced {
    let mut by: isize = 0;
    let mut s = Spliced::default();
    for (range, old) in change {
        let start = (range.start as isize - by) as usize;
        s.before.push(start..start + old.len());
        s.after.push(range.clone());
        by += range.len() as isize - old.len() as isize;
    }
    s
}

impl Touched {
    /// Adds the next change of a batch, made on the output this one left:
    /// the devices either touched, each seen as it was before the first,
    /// and a router's splices composed ([`Spliced::then`]) while every
    /// change to it was spliced (a router rendered whole once is diffed
    /// whole).
    pub fn absorb(&mut self, next: Touched) {
        let mut spliced = next.spliced;
        for name in &next.routers {
            if self.routers.contains(name) {
                let composed = match (self.spliced.get(name), spliced.get(name)) {
                    (Some(a), Some(b)) => a.then(b),
                    _ => None,
                };
                match composed {
                    Some(c) => self.spliced.insert(name.clone(), c),
                    None => self.spliced.remove(name),
                };
            } else {
                if let Some(s) = spliced.remove(name) {
                    self.spliced.insert(name.clone(), s);
                }
                self.routers.push(name.clone());
            }
        }
        for name in next.hypervisors {
            if !self.hypervisors.contains(&name) {
                self.hypervisors.push(name);
            }
        }
        self.in_place += next.in_place;
        for (n, text) in next.before_routers {
            self.before_routers.entry(n).or_insert(text);
        }
        for (n, h) in next.before_hypervisors {
            // Seen as it was before the first change of the batch.
            let first = match (self.before_hypervisors.remove(&n), h) {
                (None, h) => h,
                (Some(HvBefore::Text(t)), _) => HvBefore::Text(t),
                (Some(HvBefore::Spliced(mut a)), HvBefore::Spliced(b)) => {
                    a.extend(b);
                    HvBefore::Spliced(a)
                }
                (Some(HvBefore::Spliced(a)), HvBefore::Text(t)) => {
                    HvBefore::Text(a.iter().rev().fold(t, |t, change| reverted(&t, change)))
                }
            };
            self.before_hypervisors.insert(n, first);
        }
    }
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
    let trees = PlatformTrees::default();
    recompile_tenant_or_keep(intent, slug, prev, secrets, defs, &trees).map_err(|(d, _)| d)
}

/// [`recompile_tenant`] that gives `prev` back unchanged when the change
/// does not compile, so that a long-lived output (the worker's
/// [`engine::Engine`]) survives a tenant's bad change without a full
/// compile. Only the devices the tenant touches are copied, to be put back.
/// `trees` keeps the routers' platform trees between calls.
pub fn recompile_tenant_or_keep(
    intent: &Intent,
    slug: &str,
    prev: Output,
    secrets: &Secrets,
    defs: &DefinitionSet,
    trees: &PlatformTrees,
) -> Result<(Output, Touched), (Vec<Diagnostic>, Box<Output>)> {
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
    // When the tenant list is the same as before (the tenant changed in
    // place), other tenants' per-tenant checks gave the same answers last
    // time: check this one alone and carry their warnings over.
    let in_place = t.is_some()
        && intent.tenants.len() == prev.allocation.tenants.len()
        && prev.allocation.tenants.contains_key(slug);
    let mut carried = Vec::new();
    if in_place {
        checks::check_intent_tenant(intent, ti, &mut d);
        let mine = Pointer::root().join("tenants").join(ti).0;
        let tenants = Pointer::root().join("tenants").0;
        carried = prev
            .warnings
            .iter()
            .filter(|w| {
                let p = w.pointer.0.as_str();
                let under = |base: &str| {
                    p.strip_prefix(base)
                        .is_some_and(|r| r.is_empty() || r.starts_with('/'))
                };
                under(&tenants) && !under(&mine)
            })
            .cloned()
            .collect();
    } else {
        checks::check_intent(intent, &mut d);
    }
    if d.has_errors() {
        return Err((sorted(d), Box::new(prev)));
    }
    let mut prev = prev;
    let prev_alloc = std::mem::take(&mut prev.allocation);
    // In place, only this tenant needs allocating (unless it needs new numbers).
    let kept_entry = prev_alloc.tenants.get(slug).cloned();
    let fast = match in_place {
        true => alloc::reallocate_tenant(intent, ti, prev_alloc, &mut d),
        false => Err(prev_alloc),
    };
    // What puts the previous allocation back if the change fails.
    let (allocation, mut undo_alloc) = match fast {
        Ok(a) => {
            // Only this tenant's numbers moved.
            checks::check_allocation_tenant(&a, slug, &mut d);
            (a, UndoAlloc::Entry(kept_entry))
        }
        Err(pa) => {
            let a = alloc::allocate(intent, &pa, &mut d);
            checks::check_allocation(&a, &mut d);
            (a, UndoAlloc::Whole(pa))
        }
    };
    if d.has_errors() {
        prev.allocation = undo_alloc.undo(allocation, slug);
        return Err((sorted(d), Box::new(prev)));
    }
    let prev_hvs = prev_hypervisors_of(&prev, slug);
    let mut out = Output { ..prev };
    let ctx = Ctx::new(intent, &allocation, secrets);
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
    let mut jobs = Vec::new();
    for name in routers {
        let Some(r) = intent
            .platform
            .routers
            .iter()
            .find(|r| r.name.as_str() == name)
        else {
            continue;
        };
        let Some(ro) = out.routers.remove(&name) else {
            continue;
        };
        jobs.push((name, r.version, std::sync::Mutex::new(Some(ro))));
    }
    let owner = Pointer::root().join("tenants").join(ti);
    let rebuilt = par_map(&jobs, |(name, version, ro)| {
        let mut ro = ro
            .lock()
            .expect("one worker per router")
            .take()
            .expect("taken once");
        // What puts the router back should the change fail: the texts
        // the change replaces (moved out, not copied: a router carries
        // about 2 MB of text at the benchmark platform's size), where the
        // owners' subtrees were, and the tenant's own commands.
        let mut undo = RouterUndo {
            set: String::new(),
            segments: ro.segments.clone(),
            part: ro.parts.get(slug).cloned(),
        };
        let mut d = Diagnostics::default();
        let dfs = defs.by_version.get(version).copied();
        let new_part = t.and_then(|t| {
            let model = ctx.router(name);
            ctx.tenant_on_router(t, name).map(|tm| Part {
                owner: owner.clone(),
                paths: vyos::render_tenant(&model, &tm),
            })
        });
        // Only commands the tenant did not have before need validating.
        let mut old: std::collections::HashSet<Vec<&str>> = Default::default();
        if let Some(p) = ro.parts.get(slug) {
            p.paths.for_each(|w| {
                old.insert(w.to_vec());
            });
        }
        if let Some(p) = &new_part {
            validate_paths(
                name,
                *version,
                &owner,
                &p.paths,
                dfs,
                |w| !old.contains(w),
                &mut d,
            );
        }
        drop(old);
        if let Some(p) = new_part {
            match splice_owner(name, &mut ro, slug, p, schema_of(dfs), trees, &mut d) {
                Ok((spliced, replaced)) => {
                    undo.set = replaced;
                    return (ro, undo, d, Some(spliced));
                }
                Err(p) => ro.parts.insert(slug.to_string(), *p),
            };
        } else {
            ro.parts.remove(slug);
        }
        undo.set = std::mem::take(&mut ro.set);
        (
            render_router(name, *version, ro.parts, dfs, &mut d),
            undo,
            d,
            None,
        )
    });
    drop(ctx);
    let mut kept_routers = Vec::new();
    for ((name, _, _), (ro, undo, rd, spliced)) in jobs.into_iter().zip(rebuilt) {
        d.0.extend(rd.0);
        if let Some(s) = spliced {
            touched.in_place += 1;
            touched.spliced.insert(name.clone(), s);
        }
        out.routers.insert(name.clone(), ro);
        kept_routers.push((name.clone(), undo));
        touched.routers.push(name);
    }
    let ctx = Ctx::new(intent, &allocation, secrets);
    let mut hvs: Vec<String> = prev_hvs;
    if let Some(t) = t {
        hvs.extend(model::tenant_hypervisors(t));
    }
    hvs.sort();
    hvs.dedup();
    hvs.retain(|h| {
        intent
            .platform
            .hypervisors
            .iter()
            .any(|x| x.name.as_str() == h)
    });
    // Each hypervisor's previous flows, taken out so that workers own them.
    let jobs: Vec<(String, std::sync::Mutex<Option<ovs::OvsConfig>>)> = hvs
        .into_iter()
        .map(|h| {
            let prev = out.hypervisors.remove(&h);
            (h, std::sync::Mutex::new(prev))
        })
        .collect();
    let rendered = par_map(&jobs, |(h, prev)| {
        let prev = prev.lock().expect("one worker per hypervisor").take();
        let networks = t.map_or_else(Vec::new, |t| ctx.tenant_on_hypervisor(t, h));
        // Only this tenant's lines change, unless its meters or presence do.
        match prev {
            Some(cfg) if networks.is_empty() && !cfg.tenants.iter().any(|s| s.tenant == slug) => {
                (cfg, HvKept::Unchanged)
            }
            Some(mut cfg) => match ovs::rerender_tenant(&mut cfg, slug, &networks) {
                Some(r) => (cfg, HvKept::Replaced(r)),
                None => (render_hypervisor(&ctx.hypervisor(h)), HvKept::Whole(cfg)),
            },
            None => (render_hypervisor(&ctx.hypervisor(h)), HvKept::New),
        }
    });
    let mut kept_hvs = Vec::new();
    for ((h, _), (flows, kept)) in jobs.into_iter().zip(rendered) {
        touched.in_place += matches!(kept, HvKept::Unchanged | HvKept::Replaced(_)) as usize;
        out.hypervisors.insert(h.clone(), flows);
        touched.hypervisors.push(h.clone());
        kept_hvs.push((h, kept));
    }
    drop(ctx);
    if d.has_errors() {
        for (name, undo) in kept_routers {
            let ro = out.routers.get_mut(&name).expect("put back above");
            ro.set = undo.set;
            ro.segments = undo.segments;
            match undo.part {
                Some(p) => ro.parts.insert(slug.to_string(), p),
                None => ro.parts.remove(slug),
            };
        }
        for (name, kept) in kept_hvs {
            match kept {
                HvKept::Unchanged => {}
                HvKept::Replaced(r) => {
                    let cfg = out.hypervisors.get_mut(&name).expect("put back above");
                    ovs::put_back(cfg, r);
                }
                HvKept::Whole(cfg) => {
                    out.hypervisors.insert(name, cfg);
                }
                HvKept::New => {
                    out.hypervisors.remove(&name);
                }
            }
        }
        out.allocation = undo_alloc.undo(allocation, slug);
        return Err((sorted(d), Box::new(out)));
    }
    touched.before_routers = kept_routers
        .into_iter()
        .map(|(name, undo)| (name, undo.set))
        .collect();
    touched.before_hypervisors = kept_hvs
        .into_iter()
        .filter_map(|(name, kept)| {
            let before = match kept {
                HvKept::Unchanged | HvKept::New => return None,
                HvKept::Whole(cfg) => HvBefore::Text(hypervisor_config::text_of(&cfg)),
                HvKept::Replaced(r) => {
                    let cfg = &out.hypervisors[&name];
                    let starts = hypervisor_config::body_starts(cfg);
                    let pieces = r
                        .pieces(cfg)
                        .into_iter()
                        .zip(starts)
                        .filter(|((range, old), _)| !range.is_empty() || !old.is_empty())
                        .map(|((range, old), at)| {
                            (range.start + at..range.end + at, old.to_string())
                        })
                        .collect();
                    HvBefore::Spliced(vec![pieces])
                }
            };
            Some((name, before))
        })
        .collect();
    if !in_place {
        // Tenants after this one moved up or down a place: their parts
        // name them by index, as a full compile does.
        let index: std::collections::HashMap<&str, usize> = intent
            .tenants
            .iter()
            .enumerate()
            .map(|(i, t)| (t.slug.as_str(), i))
            .collect();
        for ro in out.routers.values_mut() {
            for (key, part) in ro.parts.iter_mut() {
                if let Some(&i) = index.get(key.as_str()) {
                    part.owner = Pointer::root().join("tenants").join(i);
                }
            }
        }
    }
    out.allocation = allocation;
    d.0.extend(carried);
    out.warnings = sorted(d);
    Ok((out, touched))
}

/// How a failed one-tenant change gets the previous allocation back.
enum UndoAlloc {
    /// Only the tenant's entry changed: its previous one (or none).
    Entry(Option<alloc::TenantAlloc>),
    /// A full run: the whole previous allocation.
    Whole(Allocation),
}

impl UndoAlloc {
    fn undo(&mut self, mut new: Allocation, slug: &str) -> Allocation {
        match std::mem::replace(self, UndoAlloc::Entry(None)) {
            UndoAlloc::Entry(Some(e)) => {
                new.tenants.insert(slug.to_string(), e);
                new
            }
            UndoAlloc::Entry(None) => {
                new.tenants.remove(slug);
                new
            }
            UndoAlloc::Whole(a) => a,
        }
    }
}

/// Hypervisors that had lines of a tenant.
fn prev_hypervisors_of(prev: &Output, slug: &str) -> Vec<String> {
    prev.hypervisors
        .iter()
        .filter(|(_, h)| h.tenants.iter().any(|s| s.tenant == slug))
        .map(|(n, _)| n.clone())
        .collect()
}

/// A client's key may not be one of the platform's own: a tenant's clients
/// are peers of an interface that holds its router's key (VyOS refuses a
/// peer with the interface's own key), and a device key as a client would
/// let that device's holder into the tenant. `only`: one tenant's clients.
fn check_client_keys(intent: &Intent, only: Option<usize>, s: &Secrets, d: &mut Diagnostics) {
    // Every key a device holds: its mesh key, the one being rotated out,
    // and a router's client keys (every epoch's).
    let platform: std::collections::HashSet<&str> = s
        .routers
        .values()
        .flat_map(|r| {
            let epochs = r.client_epochs.values();
            let next = r.client_rotation.iter().flat_map(|c| c.tenants.values());
            [r.wireguard_public_key.as_str(), r.client_public_key()]
                .into_iter()
                .chain(r.wireguard_previous.iter().map(|k| k.public_key.as_str()))
                .chain(epochs.chain(next).map(|e| e.key.public_key.as_str()))
        })
        .chain(s.hypervisors.values().flat_map(|h| {
            std::iter::once(h.wireguard_public_key.as_str())
                .chain(h.wireguard_previous.iter().map(|k| k.public_key.as_str()))
        }))
        .collect();
    for (ti, t) in intent.tenants.iter().enumerate() {
        if only.is_some_and(|o| o != ti) {
            continue;
        }
        for (ci, c) in t.clients.iter().enumerate() {
            if platform.contains(c.public_key.as_str()) {
                d.error(
                    Pointer::root()
                        .join("tenants")
                        .join(ti)
                        .join("clients")
                        .join(ci)
                        .join("public_key"),
                    "is the key of one of the platform's own devices; a client needs its own key pair",
                );
            }
        }
    }
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
