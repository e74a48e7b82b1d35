//! The tree, its editing operations and its canonical order.
//!
//! Content is the set of paths: a leaf value is stored as a childless node under its
//! leaf, exactly as it appears as the last word of a `set` command. This makes
//! `Command { op, path }` (which cannot say whether its last word is a value) and
//! tree equality agree, with or without a schema. What each word *is* (node, tag,
//! tag value, leaf, value) is kept as a [`Role`] remembered from syntax or the schema
//! and used only to render faithfully and to prune on delete; it is not part of
//! equality, because VyOS itself considers two configs equal when their commands are.
//!
//! Order (deterministic, independent of construction order except for values):
//! children sort lexically by byte order, except that when every child name is a
//! number (firewall `rule 9`, `rule 10`) they sort numerically; the values of a leaf
//! keep the order they were set in, as VyOS does (address and name-server order can
//! matter). Value order is a rendering property, not part of equality.

use compact_str::CompactString;
use std::cmp::Ordering;

use crate::schema::{NodeKind, Schema, SchemaPos};

/// What a word in a path is known to be; `Unknown` when neither syntax nor schema said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    #[default]
    Unknown,
    /// A plain node (`name {` in config.boot).
    Node,
    /// A tag node whose children are tag values (`name value {`).
    Tag,
    /// A value of a tag node (`wg0` in `wireguard wg0 {`).
    TagValue,
    /// A leaf that holds values (`name value`).
    Leaf,
    /// A leaf without a value (`name` alone, e.g. `disable`).
    ValuelessLeaf,
    /// A value of a leaf.
    Value,
}

impl Role {
    pub(crate) fn from_kind(kind: NodeKind) -> Role {
        match kind {
            NodeKind::Node => Role::Node,
            NodeKind::Tag => Role::Tag,
            NodeKind::Leaf {
                valueless: true, ..
            } => Role::ValuelessLeaf,
            NodeKind::Leaf {
                valueless: false, ..
            } => Role::Leaf,
        }
    }
}

/// Per-node facts that are not configuration content; always compare equal.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta {
    pub role: Role,
    /// Insertion rank among siblings, for value order.
    /// (u32 keeps a node and its name in one cache line; a node that took
    /// 4 billion sets would give its later values equal ranks, ordered by
    /// word then.)
    pub seq: u32,
    pub next_seq: u32,
    /// Who set this node and everything below it (see [`SetBatch::set_owner`]);
    /// 0 when several owners did, or nobody said.
    pub owner: u32,
}

impl PartialEq for Meta {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Meta {}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub children: Children,
    pub meta: Meta,
}

/// A node's children, sorted by word: a sorted vector rather than a `BTreeMap`
/// because most nodes have one child (a leaf's value), where a B-tree's
/// eleven-slot node wastes most of its allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Children(Vec<(CompactString, Node)>);

impl Children {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(name))
    }
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }
    pub fn remove(&mut self, name: &str) -> Option<Node> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Node) -> bool) {
        self.0.retain(|(k, n)| keep(k, n));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Children in byte order of their words.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Node)> {
        self.0.iter().map(|(k, n)| (&**k, n))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }
    pub fn values(&self) -> impl Iterator<Item = &Node> {
        self.0.iter().map(|(_, n)| n)
    }
    /// The child named `name`, created by `make` (at its sorted place) if missing.
    fn get_or_insert_with(&mut self, name: &str, make: impl FnOnce() -> Node) -> &mut Node {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name.into(), make()));
                i
            }
        };
        &mut self.0[i].1
    }
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        let next_seq = &mut self.meta.next_seq;
        self.children.get_or_insert_with(name, || {
            let mut node = Node::default();
            node.meta.seq = *next_seq;
            *next_seq = next_seq.saturating_add(1);
            node
        })
    }

    /// Where the child named `name` is among the children, created if missing.
    fn child_index(&mut self, name: &str, owner: u32) -> usize {
        match self.children.find(name) {
            Ok(i) => {
                let child = &mut self.children.0[i].1.meta;
                if child.owner != owner {
                    child.owner = 0;
                }
                i
            }
            Err(i) => {
                let mut node = Node::default();
                node.meta.seq = self.meta.next_seq;
                node.meta.owner = owner;
                self.meta.next_seq = self.meta.next_seq.saturating_add(1);
                self.children.0.insert(i, (name.into(), node));
                i
            }
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.children.is_empty()
    }
}

/// A VyOS configuration tree. Equality compares content (paths and values), not the
/// remembered roles or value order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigTree {
    pub(crate) root: Node,
}

/// The roles the schema assigns along `path`.
pub(crate) fn schema_roles(path: &[&str], schema: &dyn Schema) -> Vec<Role> {
    let mut kinds = Vec::with_capacity(path.len());
    schema.prefix_kinds(path, &mut kinds);
    roles_from_kinds(&kinds)
}

/// Roles from the schema's kinds of every prefix: the word after a leaf is a
/// value and the word after a tag a tag value, whatever the schema says.
fn roles_from_kinds(kinds: &[Option<NodeKind>]) -> Vec<Role> {
    let mut roles = Vec::with_capacity(kinds.len());
    let mut parent = Role::Node;
    for kind in kinds {
        let role = match parent {
            Role::Leaf => Role::Value,
            Role::Tag => Role::TagValue,
            Role::Value | Role::ValuelessLeaf => Role::Unknown,
            _ => kind.map_or(Role::Unknown, Role::from_kind),
        };
        roles.push(role);
        parent = role;
    }
    roles
}

/// A read-only view of one node of a [`ConfigTree`], for rules that inspect a
/// tree without copying its paths out (children come in byte order).
#[derive(Clone, Copy, Debug)]
pub struct NodeRef<'a>(&'a Node);

impl<'a> NodeRef<'a> {
    /// The child named `word` (a node name, tag value or leaf value).
    pub fn child(self, word: &str) -> Option<NodeRef<'a>> {
        self.0.children.get(word).map(NodeRef)
    }

    /// The node at `path` below this one.
    pub fn get(self, path: &[&str]) -> Option<NodeRef<'a>> {
        path.iter().try_fold(self, |n, w| n.child(w))
    }

    /// Children by word, in byte order of the word.
    pub fn children(self) -> impl Iterator<Item = (&'a str, NodeRef<'a>)> {
        self.0.children.iter().map(|(k, v)| (k, NodeRef(v)))
    }
}

impl ConfigTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.root.children.is_empty()
    }

    /// The unnamed root, for read-only walks.
    pub fn root(&self) -> NodeRef<'_> {
        NodeRef(&self.root)
    }

    /// Whether the path (node names, tag values and possibly a final value) exists.
    pub fn contains(&self, path: &[String]) -> bool {
        self.node(path).is_some()
    }

    pub(crate) fn node(&self, path: &[String]) -> Option<&Node> {
        let mut node = &self.root;
        for word in path {
            node = node.children.get(word)?;
        }
        Some(node)
    }

    /// What the tree remembers about the word at `path` (from syntax or a schema).
    pub fn role(&self, path: &[String]) -> Option<Role> {
        if path.is_empty() {
            return None;
        }
        self.node(path).map(|n| n.meta.role)
    }

    /// The words directly under `path`, in render order as far as the tree knows it
    /// (values in the order they were set). `None` if the path does not exist.
    pub fn children(&self, path: &[String]) -> Option<Vec<&str>> {
        let node = self.node(path)?;
        let role = if path.is_empty() {
            Role::Node
        } else {
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            resolve(|| crate::NoSchema.kind(&refs), Role::Node, true, node).0
        };
        Some(ordered(node, role).map(|(k, _)| k).collect())
    }

    /// Like a VyOS `set`: creates the path; where the schema says the last word's
    /// parent is a single-value leaf, the new value replaces the old one.
    pub fn set(&mut self, path: &[String], schema: &dyn Schema) {
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        self.set_inner(&words, schema, false);
    }

    /// [`ConfigTree::set`] for borrowed words.
    pub fn set_words(&mut self, path: &[&str], schema: &dyn Schema) {
        self.set_inner(path, schema, false);
    }

    /// `set` where the text told us the last word was quoted, i.e. a leaf value.
    pub(crate) fn set_inner(&mut self, path: &[&str], schema: &dyn Schema, quoted_last: bool) {
        if path.is_empty() {
            return;
        }
        let mut kinds = Vec::with_capacity(path.len());
        schema.prefix_kinds(path, &mut kinds);
        let mut roles = roles_from_kinds(&kinds);
        let n = path.len();
        if quoted_last && roles[n - 1] == Role::Unknown {
            roles[n - 1] = Role::Value;
            if n >= 2 && roles[n - 2] == Role::Unknown {
                roles[n - 2] = Role::Leaf;
            }
        }
        // Same test as `replaces_value` on `path[..n - 1]`, from the kinds at hand.
        let replace = n >= 2
            && matches!(
                kinds[n - 2],
                Some(NodeKind::Leaf {
                    multi: false,
                    valueless: false
                })
            );
        self.insert(path, &roles, replace);
    }

    /// Creates `path`, recording every known role; with `replace`, the last word
    /// becomes the only child of its parent.
    pub(crate) fn insert<S: AsRef<str>>(&mut self, path: &[S], roles: &[Role], replace: bool) {
        let mut node = &mut self.root;
        let last = path.len().saturating_sub(1);
        for (i, word) in path.iter().enumerate() {
            let word = word.as_ref();
            if i == last && replace {
                node.children.retain(|k, _| k == word);
            }
            node = node.child(word);
            if let Some(&role) = roles.get(i) {
                if role != Role::Unknown {
                    node.meta.role = role;
                }
            }
        }
    }

    /// Removes the subtree or value at `path`; returns whether it existed. Then, like
    /// VyOS, a leaf left without values disappears, and so does a tag node left without
    /// tag values (repeatedly, upwards). Plain nodes stay: their presence is meaningful
    /// (`service ssh` enables SSH).
    pub fn delete(&mut self, path: &[String]) -> bool {
        fn rec(node: &mut Node, path: &[String]) -> Option<Option<Role>> {
            let (first, rest) = path.split_first()?;
            if rest.is_empty() {
                return node.children.remove(first).map(|n| Some(n.meta.role));
            }
            let child = node.children.get_mut(first)?;
            let removed = rec(child, rest)?;
            let Some(removed_role) = removed else {
                return Some(None);
            };
            let prune = child.children.is_empty()
                && (matches!(child.meta.role, Role::Leaf | Role::Tag)
                    || matches!(removed_role, Role::Value | Role::TagValue));
            if prune {
                let role = child.meta.role;
                node.children.remove(first);
                Some(Some(role))
            } else {
                Some(None)
            }
        }
        rec(&mut self.root, path).is_some()
    }

    /// Applies commands in order.
    pub fn apply(&mut self, cmds: &[crate::Command], schema: &dyn Schema) {
        for cmd in cmds {
            match cmd.op {
                crate::Op::Set => self.set(&cmd.path, schema),
                crate::Op::Delete => {
                    self.delete(&cmd.path);
                }
            }
        }
    }

    /// The `set` commands that rebuild this tree, in render order (roles as remembered).
    pub fn commands(&self) -> Vec<crate::Command> {
        terminal_paths(self, &crate::NoSchema)
            .into_iter()
            .map(|(path, _)| crate::Command {
                op: crate::Op::Set,
                path: path.into_iter().map(str::to_string).collect(),
            })
            .collect()
    }
}

/// Sets many paths in a row, with the same result as [`ConfigTree::set_words`] on
/// each in turn, but faster when consecutive paths share leading words (as a
/// compile's do: `firewall ipv4 name X rule 10 ...` again and again): the nodes and
/// schema answers of the prefix shared with the previous path are reused instead of
/// being searched for again from the root.
pub struct SetBatch<'t, 's> {
    tree: &'t mut ConfigTree,
    schema: &'s dyn Schema,
    /// The previous path's words back to back, and where each one ends.
    text: String,
    ends: Vec<usize>,
    /// Per word of the previous path: where it sits among its parent's children
    /// (indices stay valid: only the path being set inserts or removes nodes, and
    /// it re-records every level from the first one it changes), what the schema
    /// said of it, the role it got and where its own children stand in the schema.
    at: Vec<(usize, Option<NodeKind>, Role, Here)>,
    owner: u32,
}

impl<'t, 's> SetBatch<'t, 's> {
    pub fn new(tree: &'t mut ConfigTree, schema: &'s dyn Schema) -> Self {
        SetBatch {
            tree,
            schema,
            text: String::new(),
            ends: Vec::new(),
            at: Vec::new(),
            owner: 0,
        }
    }

    /// Records that the paths set from now on come from `owner` (not 0): a node
    /// only one owner set is that owner's, any other is shared. Renderers then
    /// report each owner's subtrees ([`ConfigTree::render_segments`]), so that a
    /// change to one owner can re-render just those.
    pub fn set_owner(&mut self, owner: u32) {
        self.owner = owner;
        // The next path walks from the root, marking every node it passes.
        self.text.clear();
        self.ends.clear();
        self.at.clear();
    }

    /// Like [`ConfigTree::set_words`].
    pub fn set(&mut self, path: &[&str]) {
        self.set_sharing(path, 0)
    }

    /// [`SetBatch::set`] when the caller knows that the first `shared` words
    /// equal the previous path's (as a prefix-compressed list does): they are
    /// not compared again.
    pub fn set_sharing(&mut self, path: &[&str], shared: usize) {
        let n = path.len();
        let mut k = shared.min(n).min(self.ends.len());
        while k < n.min(self.ends.len()) {
            let start = if k == 0 { 0 } else { self.ends[k - 1] };
            if &self.text[start..self.ends[k]] != path[k] {
                break;
            }
            k += 1;
        }
        if k == n {
            // Same path again, or a prefix of the previous one: it exists, and
            // setting it again changes nothing (not even a replaced value).
            return;
        }
        self.at.truncate(k);
        self.ends.truncate(k);
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
        let mut node = &mut self.tree.root;
        for &(i, ..) in &self.at {
            node = &mut node.children.0[i].1;
        }
        let (mut here, mut parent) = match self.at.last() {
            Some(&(_, _, role, here)) => (here, role),
            None => (Here::root(self.schema), Role::Node),
        };
        for i in k..n {
            let word = path[i];
            let (kind, child_here) = here.child(self.schema, parent, &path[..=i]);
            let role = match parent {
                Role::Leaf => Role::Value,
                Role::Tag => Role::TagValue,
                Role::Value | Role::ValuelessLeaf => Role::Unknown,
                _ => kind.map_or(Role::Unknown, Role::from_kind),
            };
            // Same test as `set_inner`: the parent is a single-value leaf.
            let replace = i == n - 1
                && i >= 1
                && matches!(
                    self.at[i - 1].1,
                    Some(NodeKind::Leaf {
                        multi: false,
                        valueless: false
                    })
                );
            if replace {
                node.children.retain(|k, _| k == word);
            }
            let index = node.child_index(word, self.owner);
            node = &mut node.children.0[index].1;
            if role != Role::Unknown {
                node.meta.role = role;
            }
            self.text.push_str(word);
            self.ends.push(self.text.len());
            self.at.push((index, kind, role, child_here));
            here = child_here;
            parent = role;
        }
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn numeric_cmp(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    ta.len()
        .cmp(&tb.len())
        .then_with(|| ta.cmp(tb))
        .then_with(|| a.cmp(b))
}

/// Children in render order for a node that plays `role`; borrowed as stored
/// (byte order) unless values or numbers need sorting.
pub(crate) fn ordered(node: &Node, role: Role) -> Ordered<'_> {
    let c = &node.children;
    if role == Role::Leaf {
        let in_seq = c
            .values()
            .zip(c.values().skip(1))
            .all(|(a, b)| a.meta.seq < b.meta.seq);
        if !in_seq {
            let mut v: Vec<(&str, &Node)> = c.iter().collect();
            v.sort_by_key(|(_, n)| n.meta.seq);
            return Ordered::Sorted(v.into_iter());
        }
    } else if c.len() > 1 && c.keys().all(is_number) {
        let mut v: Vec<(&str, &Node)> = c.iter().collect();
        v.sort_by(|a, b| numeric_cmp(a.0, b.0));
        return Ordered::Sorted(v.into_iter());
    }
    Ordered::Direct(c.0.iter())
}

/// Iterator of [`ordered`].
pub(crate) enum Ordered<'a> {
    Direct(std::slice::Iter<'a, (CompactString, Node)>),
    Sorted(std::vec::IntoIter<(&'a str, &'a Node)>),
}

impl<'a> Iterator for Ordered<'a> {
    type Item = (&'a str, &'a Node);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Ordered::Direct(it) => it.next().map(|(k, n)| (&**k, n)),
            Ordered::Sorted(it) => it.next(),
        }
    }
}

/// Where a renderer stands in the schema, so that each node's kind costs one
/// step from its parent rather than a walk from the root.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Here {
    /// The schema cannot walk: ask `kind(path)`.
    NoWalk,
    /// At this position (a tag value stands at its tag's position).
    At(SchemaPos),
    /// Below something the schema does not know (or a leaf): every kind is `None`.
    Unknown,
}

impl Here {
    pub fn root(schema: &dyn Schema) -> Here {
        schema.walk_root().map_or(Here::NoWalk, Here::At)
    }

    /// For the last word of `path`, a child of a node at `self` playing
    /// `parent`: its kind as `schema.kind(path)` says it (`None` where
    /// `resolve` does not ask) and where its own children stand.
    pub fn child(
        self,
        schema: &dyn Schema,
        parent: Role,
        path: &[&str],
    ) -> (Option<NodeKind>, Here) {
        match self {
            Here::NoWalk => {
                let kind = match parent {
                    Role::Leaf | Role::Tag => None,
                    _ => schema.kind(path),
                };
                (kind, Here::NoWalk)
            }
            Here::Unknown => (None, Here::Unknown),
            Here::At(p) => match parent {
                Role::Tag => (None, Here::At(p)),
                Role::Leaf => (None, Here::Unknown),
                _ => match schema.step(p, path[path.len() - 1]) {
                    Some((k @ (NodeKind::Node | NodeKind::Tag), cp)) => (Some(k), Here::At(cp)),
                    Some((k, _)) => (Some(k), Here::Unknown),
                    None => (None, Here::Unknown),
                },
            },
        }
    }
}

/// The role a node plays when rendering: the parent's role decides for values and tag
/// values, then the schema (`kind` is what it says about the node's path), then the
/// remembered role, then a guess from shape. The flag says whether it is known rather
/// than guessed.
pub(crate) fn resolve(
    kind: impl FnOnce() -> Option<NodeKind>,
    parent: Role,
    parent_known: bool,
    node: &Node,
) -> (Role, bool) {
    match parent {
        Role::Leaf => return (Role::Value, parent_known || node.meta.role == Role::Value),
        Role::Tag => return (Role::TagValue, true),
        _ => {}
    }
    if let Some(kind) = kind() {
        return (Role::from_kind(kind), true);
    }
    match node.meta.role {
        r @ (Role::Node | Role::Tag | Role::Leaf | Role::ValuelessLeaf) => (r, true),
        _ if node.is_terminal() => (Role::ValuelessLeaf, false),
        _ if node
            .children
            .values()
            .all(|c| c.is_terminal() && matches!(c.meta.role, Role::Unknown | Role::Value)) =>
        {
            (Role::Leaf, false)
        }
        _ => (Role::Node, false),
    }
}

/// Every path that ends the tree (a value, a valueless leaf, an empty node), in render
/// order, with whether its last word is known to be a leaf value; `f` gets each.
pub(crate) fn for_each_terminal<'a>(
    tree: &'a ConfigTree,
    schema: &dyn Schema,
    mut f: impl FnMut(&[&'a str], bool),
) {
    let mut walk = Walk {
        schema,
        path: Vec::new(),
        f: &mut f,
    };
    walk.children(&tree.root, Role::Node, true, Here::root(schema));
}

/// The terminal walk.
struct Walk<'a, 'f> {
    schema: &'f dyn Schema,
    path: Vec<&'a str>,
    f: &'f mut dyn FnMut(&[&'a str], bool),
}

impl<'a> Walk<'a, '_> {
    fn children(&mut self, node: &'a Node, role: Role, known: bool, here: Here) {
        for (name, child) in ordered(node, role) {
            self.path.push(name);
            let (kind, chere) = here.child(self.schema, role, &self.path);
            let (crole, cknown) = resolve(|| kind, role, known, child);
            if child.is_terminal() {
                (self.f)(&self.path, crole == Role::Value && cknown);
            } else {
                self.children(child, crole, cknown, chere);
            }
            self.path.pop();
        }
    }
}

/// How a walk from the root reaches the node at `path`: the node, the role it
/// plays, whether that is known, its schema position, its parent's role, and
/// its depth in config.boot. `None` if the path is missing or if the role of
/// some node on the way would be guessed from the tree's shape rather than
/// told by the schema (then the same path in a bigger tree might render
/// differently).
pub(crate) fn reach<'a>(
    tree: &'a ConfigTree,
    path: &[&str],
    schema: &dyn Schema,
) -> Option<Reached<'a>> {
    let mut at = Reached {
        node: &tree.root,
        role: Role::Node,
        known: true,
        here: Here::root(schema),
        parent: Role::Node,
        parent_known: true,
        depth: 0,
    };
    for i in 0..path.len() {
        let child = at.node.children.get(path[i])?;
        let (kind, here) = at.here.child(schema, at.role, &path[..=i]);
        let told = kind.is_some() || matches!(at.role, Role::Tag | Role::Leaf);
        if !told || (at.role == Role::Leaf && !child.is_terminal()) {
            return None;
        }
        let (role, known) = resolve(|| kind, at.role, at.known, child);
        // config.boot prints tag values and leaf values at their tag's or
        // leaf's depth; everything else one level below its parent.
        let depth = match at.role {
            _ if i == 0 => 0,
            Role::Tag | Role::Leaf => at.depth,
            _ => at.depth + 1,
        };
        at = Reached {
            node: child,
            role,
            known,
            here,
            parent: at.role,
            parent_known: at.known,
            depth,
        };
    }
    Some(at)
}

pub(crate) struct Reached<'a> {
    pub node: &'a Node,
    pub role: Role,
    pub known: bool,
    pub here: Here,
    pub parent: Role,
    pub parent_known: bool,
    pub depth: usize,
}

/// [`for_each_terminal`], collected.
pub(crate) fn terminal_paths<'a>(
    tree: &'a ConfigTree,
    schema: &dyn Schema,
) -> Vec<(Vec<&'a str>, bool)> {
    let mut out = Vec::new();
    for_each_terminal(tree, schema, |p, v| out.push((p.to_vec(), v)));
    out
}
