//! Reading the built guides (scripts/build-docs's output, `site/docs`).
//! Shared by `server/build.rs` (the guides embedded at build time) and the
//! server (guides read from disk at start in a debug build), so both see
//! the same files. Only `std`, since build.rs includes this file with
//! `#[path]`.

use std::io;
use std::path::Path;

/// The page `/docs/` serves: a directory without it holds no book.
pub const INDEX: &str = "index.html";

/// Every file under `dir` (recursively; dot files skipped, as the build's
/// lock and half-written directories are), by its `/`-separated path,
/// sorted. A missing `dir` is an error of kind `NotFound`.
pub fn read_dir(dir: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
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
    out.sort();
    Ok(out)
}

/// Whether `files` are a built book (they have its index page).
pub fn is_complete(files: &[(String, Vec<u8>)]) -> bool {
    files.iter().any(|(n, _)| n == INDEX)
}

/// The `Content-Type` a file of the book is served with, by its extension.
pub fn content_type(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("otf") => "font/otf",
        Some("eot") => "application/vnd.ms-fontobject",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
