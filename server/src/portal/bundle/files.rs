//! Naming the portal bundle's files by their content (`app.js` is served as
//! `app.<hash>.js`), so that browsers may cache them for good. Shared by
//! `server/build.rs` (the bundle embedded at build time) and the server (a
//! bundle read from disk at start): both name and rewrite alike. Only `std`
//! and `sha2`, since build.rs includes this file with `#[path]`.

use sha2::{Digest, Sha256};
use std::io;
use std::path::Path;

/// The files the boot script loads: a bundle without both is no bundle.
pub const REQUIRED: [&str; 2] = ["app.js", "app_bg.wasm"];

/// One file of the bundle, as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Its path under `pkg/` as wasm-bindgen wrote it, `/`-separated.
    pub name: String,
    /// The path it is served at under `/pkg/`: [`hashed_name`] of `body`.
    pub hashed: String,
    /// What is served: JavaScript's references to other files of the bundle
    /// are rewritten to their hashed names (a relative `import` of a snippet,
    /// `new URL('app_bg.wasm', import.meta.url)`), so its hash covers them.
    pub body: Vec<u8>,
}

/// The first 16 hex digits of the SHA-256 of `body`.
pub fn content_hash(body: &[u8]) -> String {
    Sha256::digest(body)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `dir/name.ext` → `dir/name.<hash>.ext` (the hash before the last
/// extension, so the extension still gives the type).
pub fn hashed_name(name: &str, hash: &str) -> String {
    let (dir, file) = match name.rfind('/') {
        Some(i) => name.split_at(i + 1),
        None => ("", name),
    };
    match file.rfind('.') {
        Some(i) if i > 0 => format!("{dir}{}.{hash}{}", &file[..i], &file[i..]),
        _ => format!("{dir}{file}.{hash}"),
    }
}

/// The `Content-Type` a file is served with, by its extension.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        _ => "application/octet-stream",
    }
}

fn is_js(name: &str) -> bool {
    name.ends_with(".js") || name.ends_with(".mjs")
}

/// The directory part of `name`, with its trailing `/` (`""` at the top).
fn dir_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..=i])
}

/// How JavaScript in `from` may name `to`: the quoted relative specifiers
/// (`'./x.js'`, `"x.wasm"`) of a file in its directory or below.
fn specifiers<'a>(from: &str, to: &'a str) -> Option<[(char, &'static str, &'a str); 4]> {
    let rel = to.strip_prefix(dir_of(from))?;
    Some([
        ('\'', "./", rel),
        ('"', "./", rel),
        ('\'', "", rel),
        ('"', "", rel),
    ])
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Names every file by its content, referenced files first so that a
/// JavaScript file's hash covers the hashed names it refers to. Sorted by
/// name. (A cycle of references would leave the names inside it unhashed;
/// wasm-bindgen's output has none.)
pub fn name_files(mut files: Vec<(String, Vec<u8>)>) -> Vec<File> {
    files.sort();
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    // For each file, the others it refers to.
    let refs: Vec<Vec<usize>> = files
        .iter()
        .map(|(name, body)| {
            if !is_js(name) {
                return vec![];
            }
            (0..names.len())
                .filter(|&j| names[j] != *name)
                .filter(|&j| {
                    specifiers(name, &names[j]).is_some_and(|specs| {
                        specs
                            .iter()
                            .any(|(q, p, r)| contains(body, format!("{q}{p}{r}{q}").as_bytes()))
                    })
                })
                .collect()
        })
        .collect();
    let mut hashed: Vec<Option<String>> = vec![None; files.len()];
    let mut bodies: Vec<Option<Vec<u8>>> = vec![None; files.len()];
    while hashed.iter().any(Option::is_none) {
        let ready: Vec<usize> = (0..files.len())
            .filter(|&i| hashed[i].is_none() && refs[i].iter().all(|&j| hashed[j].is_some()))
            .collect();
        // Only a cycle leaves nothing ready: take the rest as they are.
        let batch = if ready.is_empty() {
            (0..files.len()).filter(|&i| hashed[i].is_none()).collect()
        } else {
            ready
        };
        for i in batch {
            let (name, body) = &files[i];
            let mut body = body.clone();
            for &j in &refs[i] {
                let Some(h) = &hashed[j] else { continue };
                let specs = specifiers(name, &names[j]).expect("a reference");
                let new_rel = h.strip_prefix(dir_of(name)).expect("same directory");
                for (q, p, r) in specs {
                    body = replace(
                        &body,
                        format!("{q}{p}{r}{q}").as_bytes(),
                        format!("{q}{p}{new_rel}{q}").as_bytes(),
                    );
                }
            }
            hashed[i] = Some(hashed_name(name, &content_hash(&body)));
            bodies[i] = Some(body);
        }
    }
    files
        .into_iter()
        .zip(hashed.into_iter().zip(bodies))
        .map(|((name, _), (h, b))| File {
            name,
            hashed: h.expect("named"),
            body: b.expect("named"),
        })
        .collect()
}

/// Every file under `dir` (recursively; dot files skipped), named by
/// [`name_files`]. A missing `dir` is an error of kind `NotFound`.
pub fn read_dir(dir: &Path) -> io::Result<Vec<File>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Some(file) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if file.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let name = format!("{prefix}{file}");
            if std::fs::metadata(&path)?.is_dir() {
                walk(&path, &format!("{name}/"), out)?;
            } else {
                out.push((name, std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = vec![];
    walk(dir, "", &mut out)?;
    Ok(name_files(out))
}

/// Whether `files` hold everything the boot script loads.
pub fn is_complete(files: &[File]) -> bool {
    REQUIRED.iter().all(|r| files.iter().any(|f| f.name == *r))
}
