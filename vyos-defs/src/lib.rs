//! VyOS configuration definitions for vxguard.
//!
//! Every `set` command the control plane generates must be one VyOS would
//! accept. VyOS's own ground truth is the `interface-definitions` XML of
//! vyos-1x; this crate loads it (includes, merge), checks command paths
//! against it (structure, regexes, re-implemented validators) and enforces
//! the commit-time rules of the conf_mode scripts the generator relies on.
//! The releases vxguard supports are built in as compact schemas derived
//! from that XML ([`builtin`]), so the product needs no vyos-1x at run time.

pub mod builtin;
pub mod commit;
pub mod load;
pub mod node;
pub mod regex;
pub mod schema;
pub mod validate;
pub mod validators;

use std::collections::BTreeSet;
use std::path::Path;

pub use commit::{
    commit_check, commit_check_paths, commit_check_scoped, commit_check_union, scoped_detail,
    scoped_owner, transition_check, CommitError,
};
pub use load::LoadError;
pub use node::{Check, Constraint, DefKind, DefNode};
pub use schema::{Origin, SchemaError};
pub use validate::PathError;

/// One VyOS version's merged definition tree.
#[derive(Clone, Debug)]
pub struct Definitions {
    root: DefNode,
    /// The vyos-1x commit a schema was derived from; `None` for XML loaded
    /// from a directory (its commit is not known).
    origin: Option<Origin>,
    unchecked: Vec<String>,
    /// The tree flattened for [`vyos_tree::Schema::step`]: positions are indexes.
    flat: Vec<FlatNode>,
}

/// One node of [`Definitions::flat`]: its schema kind and its children by word
/// (sorted, for binary search), as indexes.
#[derive(Clone, Debug)]
struct FlatNode {
    kind: vyos_tree::NodeKind,
    children: Vec<(Box<str>, u32)>,
    /// For nodes with many children, the same by hash: a lookup per word of
    /// every command built or rendered is the schema's hot path.
    index: Option<rustc_hash::FxHashMap<Box<str>, u32>>,
}

impl FlatNode {
    fn child(&self, word: &str) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(word).copied(),
            None => self
                .children
                .iter()
                .find(|(k, _)| k.len() == word.len() && **k == *word)
                .map(|(_, c)| *c),
        }
    }
}

fn flatten(node: &DefNode, kind: vyos_tree::NodeKind, out: &mut Vec<FlatNode>) -> u32 {
    let me = out.len();
    out.push(FlatNode {
        kind,
        children: Vec::new(),
        index: None,
    });
    let mut children: Vec<(Box<str>, u32)> = Vec::with_capacity(node.children.len());
    for (name, c) in &node.children {
        children.push((name.as_str().into(), flatten(c, schema_kind(c), out)));
    }
    // A scan comparing lengths first beats hashing for a few children.
    if children.len() > 8 {
        out[me].index = Some(children.iter().cloned().collect());
    }
    out[me].children = children;
    me as u32
}

fn schema_kind(node: &DefNode) -> vyos_tree::NodeKind {
    match node.kind {
        DefKind::Node => vyos_tree::NodeKind::Node,
        DefKind::Tag => vyos_tree::NodeKind::Tag,
        DefKind::Leaf => vyos_tree::NodeKind::Leaf {
            multi: node.multi,
            valueless: node.valueless,
        },
    }
}

impl Definitions {
    /// Loads `dir`: a vyos-1x checkout (holding `interface-definitions/`) or
    /// the `interface-definitions/` directory itself.
    pub fn load(dir: &Path) -> Result<Definitions, LoadError> {
        Ok(Self::from_root(load::load_dir(dir)?))
    }

    /// Pure core of [`Definitions::load`]: `files` are `(name, contents)` of
    /// `*.xml.in` files, merged in the given order; `includes` resolves an
    /// `#include <path>` (relative to `interface-definitions/`).
    pub fn from_files(
        files: &[(String, String)],
        includes: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Definitions, LoadError> {
        Ok(Self::from_root(load::build_tree(files, includes)?))
    }

    /// Reads a compact schema ([`schema`]): the form built into the binary.
    pub fn from_schema(text: &str) -> Result<Definitions, SchemaError> {
        let (origin, root) = schema::read(text)?;
        let mut d = Self::from_root(root);
        d.origin = Some(origin);
        Ok(d)
    }

    /// Writes these definitions as a compact schema derived from `origin`.
    pub fn to_schema(&self, origin: &Origin) -> String {
        schema::write(&self.root, origin)
    }

    /// Where a schema came from (`None` for XML read from a directory).
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    fn from_root(root: DefNode) -> Definitions {
        let mut names = BTreeSet::new();
        collect_unchecked(&root, &mut names);
        let mut flat = Vec::new();
        flatten(&root, vyos_tree::NodeKind::Node, &mut flat);
        Definitions {
            root,
            origin: None,
            unchecked: names.into_iter().collect(),
            flat,
        }
    }

    /// Checks one `set` path: the words after `set`, tag values and the leaf
    /// value included.
    pub fn validate(&self, path: &[String]) -> Result<(), PathError> {
        validate::validate_path(&self.root, path)
    }

    /// [`Definitions::validate`] for `&str` words (convenience for tests and callers
    /// holding borrowed words).
    pub fn validate_words(&self, path: &[&str]) -> Result<(), PathError> {
        validate::validate_path(&self.root, path)
    }

    /// [`Definitions::validate_words`] for many paths in a row, faster when
    /// consecutive paths share leading words.
    pub fn checker<'w>(&self) -> validate::PathChecker<'_, 'w> {
        validate::PathChecker::new(&self.root)
    }

    /// Validator names used by the definitions that are not re-implemented;
    /// values checked only by them are accepted unchecked.
    pub fn unchecked_validators(&self) -> &[String] {
        &self.unchecked
    }

    /// The unnamed root; its children are the top-level words (`interfaces`, ...).
    pub fn root(&self) -> &DefNode {
        &self.root
    }

    /// Definition node at a *definition* path: tag values omitted, e.g.
    /// `["interfaces", "wireguard", "peer", "allowed-ips"]`.
    pub fn node(&self, def_path: &[&str]) -> Option<&DefNode> {
        def_path.iter().try_fold(&self.root, |n, w| n.child(w))
    }

    /// Node reached by a *config* path (tag values included, no leaf value):
    /// `["interfaces", "wireguard", "wg0", "mtu"]`. For a path ending at a tag
    /// value, the tag node itself.
    pub fn node_at(&self, path: &[&str]) -> Option<&DefNode> {
        let mut node = &self.root;
        let mut i = 0;
        while i < path.len() {
            let child = node.child(path[i])?;
            match child.kind {
                DefKind::Node => i += 1,
                DefKind::Tag => i += 2,
                DefKind::Leaf => return (i + 1 == path.len()).then_some(child),
            }
            node = child;
        }
        Some(node)
    }

    /// Checks a single value against the constraints of a definition node.
    pub fn check_value(node: &DefNode, value: &str) -> Result<(), String> {
        validate::check_value(node, value)
    }
}

fn collect_unchecked(node: &DefNode, out: &mut BTreeSet<String>) {
    let all = node.constraint.iter().chain(node.constraint_groups.iter());
    for c in all {
        for ch in &c.checks {
            if let Check::Validator { name, .. } = ch {
                if !validators::known(name) {
                    out.insert(name.clone());
                }
            }
        }
    }
    for c in node.children.values() {
        collect_unchecked(c, out);
    }
}

/// Lets `vyos_tree` parse `set` text and render configs with VyOS's shape.
impl vyos_tree::Schema for Definitions {
    fn kind(&self, path: &[&str]) -> Option<vyos_tree::NodeKind> {
        use vyos_tree::NodeKind;
        let mut node = &self.root;
        let mut i = 0;
        while i < path.len() {
            let child = node.child(path[i])?;
            match child.kind {
                DefKind::Node => i += 1,
                DefKind::Tag => {
                    if i + 1 == path.len() {
                        return Some(NodeKind::Tag);
                    }
                    i += 2;
                }
                DefKind::Leaf => {
                    return (i + 1 == path.len()).then_some(NodeKind::Leaf {
                        multi: child.multi,
                        valueless: child.valueless,
                    });
                }
            }
            node = child;
        }
        Some(NodeKind::Node)
    }

    /// One walk for all prefixes (same answers as `kind` on each).
    fn prefix_kinds(&self, path: &[&str], out: &mut Vec<Option<vyos_tree::NodeKind>>) {
        use vyos_tree::NodeKind;
        out.clear();
        let mut node = Some(&self.root);
        let mut tag_value_next = false;
        for word in path {
            if tag_value_next {
                // A tag value: `kind` skips it and calls the path a node.
                tag_value_next = false;
                out.push(Some(NodeKind::Node));
                continue;
            }
            let child = node.and_then(|n| n.child(word));
            node = child;
            match child {
                None => out.push(None),
                Some(c) => {
                    let k = schema_kind(c);
                    out.push(Some(k));
                    match c.kind {
                        DefKind::Node => {}
                        DefKind::Tag => tag_value_next = true,
                        // Nothing lies below a leaf in the definitions.
                        DefKind::Leaf => node = None,
                    }
                }
            }
        }
    }

    fn walk_root(&self) -> Option<vyos_tree::SchemaPos> {
        Some(vyos_tree::SchemaPos(0))
    }

    fn step(
        &self,
        at: vyos_tree::SchemaPos,
        word: &str,
    ) -> Option<(vyos_tree::NodeKind, vyos_tree::SchemaPos)> {
        let c = self.flat.get(at.0 as usize)?.child(word)?;
        Some((self.flat[c as usize].kind, vyos_tree::SchemaPos(c)))
    }
}

/// A vyos-1x folder (holding `current/` for 1.5 and `sagitta/` for 1.4)
/// for the generator's staleness test and the tests that compare vxguard
/// with VyOS's own files: `$VXGUARD_VYOS_1X`, else `shared/vyos-1x` beside
/// the repository or beside one of its parents. `None` on a machine
/// without one: the product itself never needs it ([`builtin`]).
pub fn vyos_1x_dir() -> Option<std::path::PathBuf> {
    let ok = |d: &Path| {
        d.join("current/interface-definitions").is_dir()
            && d.join("sagitta/interface-definitions").is_dir()
    };
    if let Some(d) = std::env::var_os("VXGUARD_VYOS_1X").filter(|d| !d.is_empty()) {
        // Said explicitly: used even when wrong, so its tests fail loudly.
        return Some(d.into());
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/vyos-1x"))
        .find(|d| ok(d))
}
