//! Embeds the portal's browser bundle (scripts/build-portal) in the binary,
//! so that `vxguard serve` hydrates its pages from any working directory.
//! Reads `$LEPTOS_SITE_ROOT/pkg` (relative to the workspace; default
//! `site/pkg`) and writes `$OUT_DIR/bundle.rs`: each file's name, hashed name
//! and `include_bytes!`. A release build without the bundle fails; a debug
//! build embeds none (tests build the server before the bundle exists) and
//! the server then reads `--site-root` at start. The guides (docs/, built
//! by scripts/build-docs into `$LEPTOS_SITE_ROOT/docs`) are embedded the
//! same way, as `$OUT_DIR/docs.rs`.

#[allow(dead_code)]
#[path = "src/portal/bundle/files.rs"]
mod files;

#[allow(dead_code)]
#[path = "src/portal/docs/files.rs"]
mod docs_files;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LEPTOS_SITE_ROOT");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest.parent().expect("server/ is in the workspace");
    let site = match std::env::var_os("LEPTOS_SITE_ROOT") {
        Some(s) if !s.is_empty() => workspace.join(s),
        _ => workspace.join("site"),
    };
    let pkg = site.join("pkg");
    // Cargo reruns a build script watching a missing path on every build,
    // and recompiles this crate with it: make the (git-ignored) directory,
    // dated in the past, or the next build would see it as changed.
    if !pkg.exists() && std::fs::create_dir_all(&pkg).is_ok() {
        let _ = std::fs::File::open(&pkg)
            .and_then(|d| d.set_modified(std::time::SystemTime::UNIX_EPOCH));
    }
    if pkg.is_dir() {
        println!("cargo:rerun-if-changed={}", pkg.display());
    }
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let found = match files::read_dir(&pkg) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => panic!("reading the portal bundle {}: {e}", pkg.display()),
    };
    let complete = files::is_complete(&found);
    if release && !complete {
        // Loud, without a panic's backtrace around it.
        eprintln!(
            "\nerror: the portal bundle is missing from {} (a release build embeds it):\n\
             run scripts/build-portal first (it needs scripts/setup).\n",
            pkg.display()
        );
        std::process::exit(1);
    }
    if !complete && !found.is_empty() {
        println!(
            "cargo:warning=the portal bundle in {} lacks {:?}: not embedded",
            pkg.display(),
            files::REQUIRED
        );
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    write_table(&out, if complete { &found } else { &[] });
    embed_docs(&site.join("docs"), &out, release);
}

/// `$OUT_DIR/docs.rs`: `EMBEDDED_DOCS`, the built guides in `dir` (none
/// in a debug build without them; a release build without them fails).
fn embed_docs(dir: &Path, out: &Path, release: bool) {
    if !dir.exists() && std::fs::create_dir_all(dir).is_ok() {
        let _ = std::fs::File::open(dir)
            .and_then(|d| d.set_modified(std::time::SystemTime::UNIX_EPOCH));
    }
    if dir.is_dir() {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    // scripts/build-docs swaps in a whole new directory: read until the
    // directory is the same one before and after, or a swap in the middle
    // of the walk would mix two books.
    let inode = || {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(dir).map(|m| m.ino()).ok()
    };
    let found = loop {
        let before = inode();
        let found = match docs_files::read_dir(dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => panic!("reading the guides {}: {e}", dir.display()),
        };
        if inode() == before {
            break found;
        }
    };
    let complete = docs_files::is_complete(&found);
    if release && !complete {
        eprintln!(
            "\nerror: the guides are missing from {} (a release build embeds them):\n\
             run scripts/build-docs first (scripts/build-portal runs it; it needs scripts/setup).\n",
            dir.display()
        );
        std::process::exit(1);
    }
    let copy = out.join("docs");
    let _ = std::fs::remove_dir_all(&copy);
    let mut src = String::from(
        "/// The embedded guides: (path under /docs/, content).\n\
         pub static EMBEDDED_DOCS: &[(&str, &[u8])] = &[\n",
    );
    // Copied aside: what is compiled in is what was read.
    for (name, body) in found.iter().filter(|_| complete) {
        let path = copy.join(name);
        std::fs::create_dir_all(path.parent().expect("in dir")).expect("OUT_DIR is writable");
        std::fs::write(&path, body).expect("OUT_DIR is writable");
        writeln!(
            src,
            "    ({:?}, include_bytes!({:?})),",
            name,
            path.display().to_string()
        )
        .expect("a String");
    }
    src.push_str("];\n");
    std::fs::write(out.join("docs.rs"), src).expect("OUT_DIR is writable");
}

/// `$OUT_DIR/bundle.rs`: `EMBEDDED`, the files (as served: rewritten
/// JavaScript included) copied under `$OUT_DIR/bundle/`.
fn write_table(out: &Path, found: &[files::File]) {
    let dir = out.join("bundle");
    let _ = std::fs::remove_dir_all(&dir);
    let mut src = String::from(
        "/// The embedded portal bundle: (name, hashed name, content).\n\
         pub static EMBEDDED: &[(&str, &str, &[u8])] = &[\n",
    );
    for f in found {
        let path = dir.join(&f.hashed);
        std::fs::create_dir_all(path.parent().expect("in dir")).expect("OUT_DIR is writable");
        std::fs::write(&path, &f.body).expect("OUT_DIR is writable");
        writeln!(
            src,
            "    ({:?}, {:?}, include_bytes!({:?})),",
            f.name,
            f.hashed,
            path.display().to_string()
        )
        .expect("a String");
    }
    src.push_str("];\n");
    std::fs::write(out.join("bundle.rs"), src).expect("OUT_DIR is writable");
}
