//! The guides (`docs/`, an mdBook built by scripts/build-docs into
//! `site/docs`) as served at `/docs/`: public pages, like the portal's
//! login page. The book embedded by `build.rs` wins; without one (a debug
//! build made before the book existed) `--site-root`'s `docs/` is read
//! once at start; without either, `/docs/` says how to build them. Every
//! file is held in memory and looked up by its exact path, so no request
//! reaches the disk, and a path with `..` or an empty segment is refused
//! before the lookup.

pub mod files;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

// `EMBEDDED_DOCS`: (path, content), from build.rs.
include!(concat!(env!("OUT_DIR"), "/docs.rs"));

/// The book's file names carry no hash: browsers revalidate each file by
/// its `ETag` (a 304 costs no body).
pub const REVALIDATE: &str = "no-cache";

/// mdBook's pages run inline scripts and styles, frame their own table of
/// contents without JavaScript, and its 404 page sets `<base href="/docs/">`;
/// nothing loads from elsewhere, and no other site may frame them.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    frame-ancestors 'self'; base-uri 'self'; object-src 'none'; form-action 'none'";

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("reading the guides in {dir}: {source}")]
    Read {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the guides in {dir} lack {}", files::INDEX)]
    Incomplete { dir: PathBuf },
}

/// Where the served guides came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Embedded,
    Dir(PathBuf),
    /// No guides: why not.
    None(String),
}

struct Served {
    body: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
}

pub struct Docs {
    source: Source,
    /// By path under `/docs/`, e.g. `tenant/policy.html`.
    files: HashMap<String, Served>,
}

impl Docs {
    fn new(source: Source, found: impl IntoIterator<Item = (String, Bytes)>) -> Docs {
        let files = found
            .into_iter()
            .map(|(name, body)| {
                let hash: String = Sha256::digest(&body)[..8]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let served = Served {
                    content_type: files::content_type(&name),
                    etag: HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex"),
                    body,
                };
                (name, served)
            })
            .collect();
        Docs { source, files }
    }

    /// The guides built into the binary, if it was built with them.
    pub fn embedded() -> Option<Arc<Docs>> {
        static D: OnceLock<Option<Arc<Docs>>> = OnceLock::new();
        D.get_or_init(|| {
            (!EMBEDDED_DOCS.is_empty()).then(|| {
                Arc::new(Docs::new(
                    Source::Embedded,
                    EMBEDDED_DOCS
                        .iter()
                        .map(|(n, b)| (n.to_string(), Bytes::from_static(b))),
                ))
            })
        })
        .clone()
    }

    /// The book in `dir` (scripts/build-docs's output directory).
    pub fn from_dir(dir: &Path) -> Result<Docs, DocsError> {
        let found = files::read_dir(dir).map_err(|source| DocsError::Read {
            dir: dir.to_owned(),
            source,
        })?;
        if !files::is_complete(&found) {
            return Err(DocsError::Incomplete {
                dir: dir.to_owned(),
            });
        }
        Ok(Docs::new(
            Source::Dir(dir.to_owned()),
            found.into_iter().map(|(n, b)| (n, Bytes::from(b))),
        ))
    }

    /// No guides: every `/docs/` path answers how to build them.
    pub fn none(why: impl Into<String>) -> Docs {
        Docs::new(Source::None(why.into()), [])
    }

    /// What `vxguard serve` serves: the embedded guides, else
    /// `<site_root>/docs`, else none.
    pub fn load(site_root: &Path) -> Arc<Docs> {
        Docs::embedded().unwrap_or_else(|| {
            Arc::new(
                Docs::from_dir(&site_root.join("docs"))
                    .unwrap_or_else(|e| Docs::none(e.to_string())),
            )
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// For the log: where the guides are from and their size.
    pub fn describe(&self) -> String {
        let bytes: usize = self.files.values().map(|f| f.body.len()).sum();
        let n = self.files.len();
        match &self.source {
            Source::Embedded => format!("embedded: {n} files, {bytes} bytes"),
            Source::Dir(d) => format!("from {}: {n} files, {bytes} bytes", d.display()),
            Source::None(why) => format!("none ({why}): /docs says so; run scripts/build-docs"),
        }
    }

    /// `GET /docs/{path}` (`""` for `/docs/`): the file at exactly that
    /// path (a directory's `index.html` for a path ending in `/`), else
    /// the book's 404 page with status 404.
    pub fn file(&self, path: &str, req: &HeaderMap) -> Response {
        let path = if path.is_empty() || path.ends_with('/') {
            format!("{path}{}", files::INDEX)
        } else {
            path.to_owned()
        };
        match safe(&path).then(|| self.files.get(&path)).flatten() {
            Some(f) => {
                let headers = [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(f.content_type),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE)),
                    (header::ETAG, f.etag.clone()),
                    (
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    ),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_static(CSP),
                    ),
                ];
                if fresh(req, &f.etag) {
                    (StatusCode::NOT_MODIFIED, headers).into_response()
                } else {
                    (headers, f.body.clone()).into_response()
                }
            }
            None => self.not_found(),
        }
    }

    fn not_found(&self) -> Response {
        let headers = |ct: &'static str| {
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ),
            ]
        };
        match (&self.source, self.files.get("404.html")) {
            (_, Some(page)) => (
                StatusCode::NOT_FOUND,
                headers("text/html; charset=utf-8"),
                page.body.clone(),
            )
                .into_response(),
            (Source::None(_), None) => (
                StatusCode::NOT_FOUND,
                headers("text/plain; charset=utf-8"),
                "The guides are not built into this server: run scripts/build-docs \
                 (the sources are docs/src/ in the repository).\n",
            )
                .into_response(),
            (_, None) => (
                StatusCode::NOT_FOUND,
                headers("text/plain; charset=utf-8"),
                "No such page in the guides.\n",
            )
                .into_response(),
        }
    }
}

/// A path of the book's own shape: `/`-separated names, none empty, `.`
/// or `..`, no backslash or NUL. Anything else names no file of the book.
fn safe(path: &str) -> bool {
    !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

fn fresh(req: &HeaderMap, etag: &HeaderValue) -> bool {
    req.get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
}
