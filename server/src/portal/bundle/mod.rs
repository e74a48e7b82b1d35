//! The portal's browser bundle (scripts/build-portal) as served: each file
//! at `/pkg/<content-hashed name>`, cached for good, and the boot script
//! (`app::BOOT_PATH`, revalidated) rewritten to load those names. The
//! bundle embedded by `build.rs` wins; without one (a debug build made
//! before the bundle existed) `--site-root`'s `pkg/` is read once at start;
//! without either, pages are served unhydrated.

pub mod files;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

// `EMBEDDED`: (name, hashed name, content), from build.rs.
include!(concat!(env!("OUT_DIR"), "/bundle.rs"));

/// Files under `/pkg/` never change: a new build has new names.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("reading the portal bundle in {dir}: {source}")]
    Read {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the portal bundle in {dir} lacks app.js or app_bg.wasm")]
    Incomplete { dir: PathBuf },
}

/// Where the served bundle came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Embedded,
    Dir(PathBuf),
    /// No bundle: why not.
    None(String),
}

struct Served {
    body: Bytes,
    content_type: &'static str,
}

pub struct Bundle {
    source: Source,
    /// By hashed name.
    files: HashMap<String, Served>,
    /// Name as built → hashed name.
    names: HashMap<String, String>,
    boot_js: String,
    boot_etag: HeaderValue,
}

impl Bundle {
    fn new(source: Source, files: impl IntoIterator<Item = (String, String, Bytes)>) -> Self {
        let mut served = HashMap::new();
        let mut names = HashMap::new();
        for (name, hashed, body) in files {
            let content_type = files::content_type(&name);
            served.insert(hashed.clone(), Served { body, content_type });
            names.insert(name, hashed);
        }
        // The boot script names `"/pkg/app.js"` and `"/pkg/app_bg.wasm"`.
        let mut boot_js = app::BOOT_JS.to_owned();
        for (name, hashed) in &names {
            for q in ['"', '\''] {
                boot_js = boot_js.replace(
                    &format!("{q}/pkg/{name}{q}"),
                    &format!("{q}/pkg/{hashed}{q}"),
                );
            }
        }
        let boot_etag =
            HeaderValue::from_str(&format!("\"{}\"", files::content_hash(boot_js.as_bytes())))
                .expect("hex");
        Bundle {
            source,
            files: served,
            names,
            boot_js,
            boot_etag,
        }
    }

    /// The bundle built into the binary, if it was built with one.
    pub fn embedded() -> Option<Arc<Bundle>> {
        static B: OnceLock<Option<Arc<Bundle>>> = OnceLock::new();
        B.get_or_init(|| {
            (!EMBEDDED.is_empty()).then(|| {
                Arc::new(Bundle::new(
                    Source::Embedded,
                    EMBEDDED
                        .iter()
                        .map(|(n, h, b)| (n.to_string(), h.to_string(), Bytes::from_static(b))),
                ))
            })
        })
        .clone()
    }

    /// The bundle in `pkg` (scripts/build-portal's output directory), named
    /// as build.rs names it.
    pub fn from_dir(pkg: &Path) -> Result<Bundle, BundleError> {
        let found = files::read_dir(pkg).map_err(|source| BundleError::Read {
            dir: pkg.to_owned(),
            source,
        })?;
        if !files::is_complete(&found) {
            return Err(BundleError::Incomplete {
                dir: pkg.to_owned(),
            });
        }
        Ok(Bundle::new(
            Source::Dir(pkg.to_owned()),
            found
                .into_iter()
                .map(|f| (f.name, f.hashed, Bytes::from(f.body))),
        ))
    }

    /// No bundle: the boot script as written, every `/pkg/` path 404.
    pub fn none(why: impl Into<String>) -> Bundle {
        Bundle::new(Source::None(why.into()), [])
    }

    /// What `vxguard serve` serves: the embedded bundle, else
    /// `<site_root>/pkg`, else none.
    pub fn load(site_root: &Path) -> Arc<Bundle> {
        Bundle::embedded().unwrap_or_else(|| {
            Arc::new(
                Bundle::from_dir(&site_root.join("pkg"))
                    .unwrap_or_else(|e| Bundle::none(e.to_string())),
            )
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The hashed name `name` (as built, e.g. `app.js`) is served at.
    pub fn hashed(&self, name: &str) -> Option<&str> {
        self.names.get(name).map(String::as_str)
    }

    /// For the log: where the bundle is from and its size.
    pub fn describe(&self) -> String {
        let bytes: usize = self.files.values().map(|f| f.body.len()).sum();
        let n = self.files.len();
        match &self.source {
            Source::Embedded => format!("embedded: {n} files, {bytes} bytes"),
            Source::Dir(d) => format!("from {}: {n} files, {bytes} bytes", d.display()),
            Source::None(why) => {
                format!("none ({why}): pages are served unhydrated; run scripts/build-portal")
            }
        }
    }

    /// `GET /pkg/{file}`: a hashed name, cached for good; anything else 404.
    pub fn file(&self, hashed: &str) -> Response {
        match self.files.get(hashed) {
            Some(f) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(f.content_type),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
                    (
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    ),
                ],
                f.body.clone(),
            )
                .into_response(),
            None => (
                StatusCode::NOT_FOUND,
                [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                "no such file in the portal bundle",
            )
                .into_response(),
        }
    }

    /// `GET app::BOOT_PATH`: revalidated on every page (its names change
    /// with each bundle), so with an `ETag`.
    pub fn boot(&self, req: &HeaderMap) -> Response {
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, self.boot_etag.clone()),
        ];
        let fresh = req
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == self.boot_etag
            });
        if fresh {
            (StatusCode::NOT_MODIFIED, headers).into_response()
        } else {
            (headers, self.boot_js.clone()).into_response()
        }
    }
}
