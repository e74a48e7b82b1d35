//! Replays the committed corpus of the `config_tree` fuzz target (fuzz/corpus/config_tree)
//! through the target's own assertions, so CI covers it on stable without cargo-fuzz.

mod fuzz_check;

#[test]
fn config_tree_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config_tree");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{} has too few files", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        // The target takes `&str`: libFuzzer's inputs that are not UTF-8 never reach it.
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        eprintln!("{}", path.display());
        fuzz_check::check(text);
    }
}
