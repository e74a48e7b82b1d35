//! Arbitrary text into the YAML intent parser: it must never panic and every position
//! it reports must be inside the text; whatever parses is compiled (without VyOS
//! definitions) and must not panic either. The assertions live in the compiler's
//! tests, which replay the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../compiler/tests/fuzz_check/mod.rs"]
mod fuzz_check;

fuzz_target!(|text: &str| fuzz_check::check(text));
