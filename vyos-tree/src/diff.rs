//! The commands that turn one tree into another.
//!
//! Deletes come first, each at the highest subtree that `new` lacks, in `old`'s render
//! order; then sets, one per terminal path of `new` that is missing, in `new`'s render
//! order. Deletes are replayed on a copy of `old` so that VyOS's pruning (a leaf that
//! loses its last value disappears) is accounted for: a delete made moot by an earlier
//! one is dropped, and a pruned node that `new` still has is set again. Where the schema
//! says a leaf holds a single value, a changed value is one `set` (VyOS replaces it).

use crate::schema::{replaces_value, Schema};
use crate::tree::{ordered, resolve, ConfigTree, Node, Role};
use crate::{Command, Op};

fn owned(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| s.to_string()).collect()
}

fn collect_deletes<'a>(
    old: &'a Node,
    new: &Node,
    role: Role,
    known: bool,
    schema: &dyn Schema,
    path: &mut Vec<&'a str>,
    out: &mut Vec<Command>,
) {
    // A single-value leaf that gets a new value: the `set` replaces the old one.
    let replaced = !path.is_empty()
        && replaces_value(schema, path)
        && new.children.keys().any(|k| !old.children.contains_key(k));
    for (name, oc) in ordered(old, role) {
        path.push(name);
        match new.children.get(name) {
            None if replaced && oc.is_terminal() => {}
            None => out.push(Command {
                op: Op::Delete,
                path: owned(path),
            }),
            Some(nc) => {
                let (crole, cknown) = resolve(|| schema.kind(path), role, known, oc);
                collect_deletes(oc, nc, crole, cknown, schema, path, out);
            }
        }
        path.pop();
    }
}

fn collect_sets<'a>(
    new: &'a Node,
    have: Option<&Node>,
    role: Role,
    known: bool,
    schema: &dyn Schema,
    path: &mut Vec<&'a str>,
    out: &mut Vec<Command>,
) {
    for (name, nc) in ordered(new, role) {
        path.push(name);
        let hc = have.and_then(|h| h.children.get(name));
        if nc.is_terminal() {
            if hc.is_none() {
                out.push(Command {
                    op: Op::Set,
                    path: owned(path),
                });
            }
        } else {
            let (crole, cknown) = resolve(|| schema.kind(path), role, known, nc);
            collect_sets(nc, hc, crole, cknown, schema, path, out);
        }
        path.pop();
    }
}

/// Minimal ordered list of commands turning `old` into `new`: applying it to old
/// yields new (tree equality). `new` is assumed consistent with `schema` (at most one
/// value in a single-value leaf), as any tree built with that schema is.
pub fn diff(old: &ConfigTree, new: &ConfigTree, schema: &dyn Schema) -> Vec<Command> {
    let mut deletes = Vec::new();
    collect_deletes(
        &old.root,
        &new.root,
        Role::Node,
        true,
        schema,
        &mut Vec::new(),
        &mut deletes,
    );
    let mut after = old.clone();
    deletes.retain(|cmd| after.delete(&cmd.path));
    let mut sets = Vec::new();
    collect_sets(
        &new.root,
        Some(&after.root),
        Role::Node,
        true,
        schema,
        &mut Vec::new(),
        &mut sets,
    );
    deletes.extend(sets);
    deletes
}
