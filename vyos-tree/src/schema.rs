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
pub trait Schema {
    fn kind(&self, path: &[&str]) -> Option<NodeKind>;
}

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
