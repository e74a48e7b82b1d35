//! Arbitrary text into `ConfigTree::parse`: it must never panic, an error's position
//! must be inside the text, and whatever parses must come back equal from both of its
//! renderings. The assertions live in vyos-tree's tests, which replay the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../vyos-tree/tests/fuzz_check/mod.rs"]
mod fuzz_check;

fuzz_target!(|text: &str| fuzz_check::check(text));
