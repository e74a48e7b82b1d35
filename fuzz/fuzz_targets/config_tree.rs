//! Arbitrary text into `ConfigTree::parse`: it must never panic, and whatever parses
//! must come back equal from both of its renderings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vyos_tree::{ConfigTree, NoSchema};

fuzz_target!(|text: &str| {
    let Ok(tree) = ConfigTree::parse(text, &NoSchema) else {
        return;
    };

    let set = tree.render_set(&NoSchema);
    let back = ConfigTree::parse(&set, &NoSchema).unwrap_or_else(|e| panic!("{e}\n{set}"));
    assert_eq!(back, tree, "set form:\n{set}");

    let boot = tree.render_boot(&NoSchema);
    let back = ConfigTree::parse(&boot, &NoSchema).unwrap_or_else(|e| panic!("{e}\n{boot}"));
    assert_eq!(back, tree, "boot form:\n{boot}");
});
