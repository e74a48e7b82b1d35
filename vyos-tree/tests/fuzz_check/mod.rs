//! The assertions of the `config_tree` fuzz target (`fuzz/fuzz_targets/config_tree.rs`
//! includes this file), replayed on the committed corpus by `tests/fuzz_corpus.rs`.
//!
//! Arbitrary text into `ConfigTree::parse`: it must never panic; an error's
//! line and column must be inside the text; whatever parses must come back
//! equal from both of its renderings.

use vyos_tree::{ConfigTree, NoSchema};

pub fn check(text: &str) {
    let tree = match ConfigTree::parse(text, &NoSchema) {
        Ok(tree) => tree,
        Err(e) => {
            assert_inside(text, e.line, e.column, &e.message);
            return;
        }
    };

    let set = tree.render_set(&NoSchema);
    let back = ConfigTree::parse(&set, &NoSchema).unwrap_or_else(|e| panic!("{e}\n{set}"));
    assert_eq!(back, tree, "set form:\n{set}");

    let boot = tree.render_boot(&NoSchema);
    let back = ConfigTree::parse(&boot, &NoSchema).unwrap_or_else(|e| panic!("{e}\n{boot}"));
    assert_eq!(back, tree, "boot form:\n{boot}");
}

/// 1-based `line` and `column` (in characters; lines end at LF) are a place in
/// `text`: at one of a line's characters or just after its last one.
fn assert_inside(text: &str, line: usize, column: usize, what: &str) {
    let lines: Vec<usize> = text.split('\n').map(|l| l.chars().count()).collect();
    let ok = line >= 1 && line <= lines.len() && column >= 1 && column <= lines[line - 1] + 1;
    assert!(
        ok,
        "{line}:{column} is outside the text (line lengths {lines:?}): {what}"
    );
}
