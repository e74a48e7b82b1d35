//! What VyOS's interface definitions say a node is.
//!
//! The tree itself cannot tell a leaf value from a node name in `set` syntax
//! (`set service https api rest` vs `set system host-name vyos`), so callers that have
//! the definitions (the `vyos-defs` crate) pass a [`Schema`]; everything else uses
//! [`NoSchema`] and the tree falls back to what the text's syntax said.

/// What VyOS's definitions say a node is. Paths name nodes, tag values included, never
/// leaf values: e.g. `["interfaces"]` -> `Node`, `["interfaces","wireguard"]` -> `Tag`,
/// `["interfaces","wireguard","wg0"]` -> the tag value's node (`Node`),
/// `["interfaces","wireguard","wg0","address"]` -> `Leaf{multi:true,valueless:false}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Node,
    Tag,
    Leaf { multi: bool, valueless: bool },
}

/// Source of node kinds; `None` means "not known", never "invalid".
///
/// Only `kind` is required. The other methods let a schema backed by a tree
/// answer walks in one step per word instead of one root-to-word walk per
/// word (which is quadratic in the depth); their defaults fall back to `kind`.
pub trait Schema {
    fn kind(&self, path: &[&str]) -> Option<NodeKind>;

    /// `out[i] = self.kind(&path[..=i])` for every `i` (`out` is cleared first).
    fn prefix_kinds(&self, path: &[&str], out: &mut Vec<Option<NodeKind>>) {
        out.clear();
        out.extend((0..path.len()).map(|i| self.kind(&path[..=i])));
    }

    /// Where a walk down from the root starts, if the schema supports
    /// [`Schema::step`]; `None` makes walkers call `kind` instead.
    fn walk_root(&self) -> Option<SchemaPos> {
        None
    }

    /// One step of a walk: `at` is the position of a node path `p` (a tag's
    /// position also stands for its tag values), and the answer is
    /// `kind(p + [word])` with the position of that path, or `None` if unknown.
    fn step(&self, _at: SchemaPos, _word: &str) -> Option<(NodeKind, SchemaPos)> {
        None
    }
}

/// An opaque position in a schema, meaningful only to the schema that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaPos(pub u32);

/// No definitions: kinds are guessed from syntax.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSchema;

impl Schema for NoSchema {
    fn kind(&self, _path: &[&str]) -> Option<NodeKind> {
        None
    }
}

impl<S: Schema + ?Sized> Schema for &S {
    fn kind(&self, path: &[&str]) -> Option<NodeKind> {
        (**self).kind(path)
    }
    fn prefix_kinds(&self, path: &[&str], out: &mut Vec<Option<NodeKind>>) {
        (**self).prefix_kinds(path, out)
    }
    fn walk_root(&self) -> Option<SchemaPos> {
        (**self).walk_root()
    }
    fn step(&self, at: SchemaPos, word: &str) -> Option<(NodeKind, SchemaPos)> {
        (**self).step(at, word)
    }
}

/// True when a `set` under `parent_path` replaces the leaf's value instead of adding one.
/// Shared by `set` and `diff` so that diff's "just set it" shortcut matches what set does.
pub(crate) fn replaces_value(schema: &dyn Schema, parent_path: &[&str]) -> bool {
    matches!(
        schema.kind(parent_path),
        Some(NodeKind::Leaf {
            multi: false,
            valueless: false
        })
    )
}
