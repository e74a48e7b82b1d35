//! The VyOS commands that turn a router's stored configuration into the
//! next one, and what of that VyOS would refuse to change in place: what a
//! revision records and the rollout commits.
//!
//! Parsing a router's whole `set` text is the largest cost of a one-tenant
//! change at the benchmark platform's size (two 900 KB texts per router).
//! When the engine spliced the change in ([`Spliced`]), only the tenant's
//! subtrees differ and their roots are in both texts, so the tree diff of
//! the pieces is the tree diff of the wholes, command for command and in
//! the same order: deletes in the old text's order, then sets in the new
//! one's, and pruning stays inside the subtrees. `compiler/tests/engine.rs`
//! compares both ways over random changes.

use crate::Spliced;
use vyos_tree::{ConfigTree, Schema};

/// The commands (one per line, as VyOS's CLI takes them) from `old_set` to
/// `new_set`, and VyOS's in-place refusals ([`vyos_defs::transition_check`]).
/// With `spliced`, only its pieces are read: the caller vouches that the
/// texts are the ones the splice was made between.
pub fn commands(
    old_set: &str,
    new_set: &str,
    spliced: Option<&Spliced>,
    schema: &dyn Schema,
) -> (String, Vec<vyos_defs::CommitError>) {
    let (old, new) = match spliced {
        Some(s) => (pieces(old_set, &s.before), pieces(new_set, &s.after)),
        None => (old_set.to_string(), new_set.to_string()),
    };
    let old = ConfigTree::parse_set(&old, schema).unwrap_or_default();
    let new = ConfigTree::parse_set(&new, schema).unwrap_or_default();
    let mut s = String::new();
    for c in vyos_tree::diff(&old, &new, schema) {
        s.push_str(&c.to_cli(schema));
        s.push('\n');
    }
    (s, vyos_defs::transition_check(&old, &new))
}

fn pieces(text: &str, ranges: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(ranges.iter().map(|r| r.len() + 1).sum());
    for r in ranges {
        out.push_str(&text[r.clone()]);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
