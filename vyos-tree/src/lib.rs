//! A pure (no I/O), deterministic model of a VyOS configuration tree.
//!
//! Design:
//! - Content is the set of command paths. A leaf value is the last word of a path,
//!   stored as a childless node under its leaf, so `Command { op, path }` carries
//!   everything a tree holds and `apply(diff(old, new))` reproduces `new` even without
//!   a schema. See [`tree`] for the order rules (lexical, numeric for numeric tag
//!   values, values in the order they were set).
//! - What each word is ([`Role`]: node, tag, tag value, leaf, valueless leaf, value) is
//!   remembered from config.boot syntax, from quoting in `set` lines and from the
//!   [`Schema`]; a schema passed at render time wins, and a guess from the tree's shape
//!   fills the gaps. Roles steer rendering and VyOS's pruning on delete but are not
//!   part of equality, so `parse_set(render_set(t)) == t` and
//!   `parse_boot(render_boot(t)) == t` hold for every tree, with or without a schema.
//! - Two text forms: `set` commands ([`set_lines`]) and config.boot ([`boot`]).

pub mod boot;
pub mod command;
pub mod diff;
pub mod error;
mod lex;
pub mod schema;
pub mod set_lines;
pub mod tree;

pub use command::{Command, Op};
pub use diff::diff;
pub use error::ParseError;
pub use schema::{NoSchema, NodeKind, Schema, SchemaPos};
pub use tree::{ConfigTree, NodeRef, Role, SetBatch};

impl ConfigTree {
    /// Lines of `set ...` (as printed by `show configuration commands`); blank lines and
    /// `#` comments are skipped; `delete` lines are applied too.
    pub fn parse_set(text: &str, schema: &dyn Schema) -> Result<Self, ParseError> {
        set_lines::parse_set(text, schema)
    }

    /// config.boot curly-brace text; comments are ignored.
    pub fn parse_boot(text: &str) -> Result<Self, ParseError> {
        boot::parse_boot(text)
    }

    /// Either form: command form when the first line that is not blank or a comment
    /// starts with the bare word `set` or `delete`, config.boot otherwise.
    pub fn parse(text: &str, schema: &dyn Schema) -> Result<Self, ParseError> {
        if looks_like_commands(text) {
            Self::parse_set(text, schema)
        } else {
            Self::parse_boot(text)
        }
    }

    /// One `set` line per leaf value, valueless leaf or empty node, in render order,
    /// each ending in a newline; quoted as VyOS prints them.
    pub fn render_set(&self, schema: &dyn Schema) -> String {
        set_lines::render_set(self, schema)
    }

    /// config.boot text with VyOS's 4-space indentation (no version trailer).
    pub fn render_boot(&self, schema: &dyn Schema) -> String {
        boot::render_boot(self, schema)
    }

    /// [`ConfigTree::render_set`], and where every owner's subtree went in
    /// it (owners as given to [`SetBatch::set_owner`]; a subtree is a node
    /// only one owner set, under a node that several did), in render order.
    pub fn render_segments(&self, schema: &dyn Schema) -> (String, Vec<Segment>) {
        boot::render_set_owned(self, schema)
    }

    /// The `set` text of the subtree at `root`, exactly as
    /// the full rendering prints it in any tree that holds the same subtree
    /// at the same path; `None` when that cannot be promised, because the
    /// schema does not say what some node on the way is (its role would be
    /// guessed from the rest of the tree).
    pub fn render_subtree(&self, root: &[&str], schema: &dyn Schema) -> Option<String> {
        boot::render_set_subtree(self, root, schema)
    }
}

/// Where one owner's subtree is in the texts of [`ConfigTree::render_segments`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub owner: u32,
    /// The path of the subtree's top node.
    pub root: Vec<compact_str::CompactString>,
    /// Its byte range in the `set` text.
    pub set: std::ops::Range<usize>,
}

fn looks_like_commands(text: &str) -> bool {
    for line in text.lines() {
        let t = line.trim_start_matches([' ', '\t', '\r']);
        if t.is_empty() || t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        if t.starts_with("/*") {
            return false;
        }
        let first = t.split([' ', '\t', '\r']).next().unwrap_or("");
        return first == "set" || first == "delete";
    }
    false
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
