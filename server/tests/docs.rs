//! The guides as served at `/docs/` (`portal::docs`): a book read from a
//! temporary directory (index, chapters, types, revalidation, the book's
//! own 404 page, no path out of the book), no book at all, and the book
//! scripts/build-docs built: every page reachable from `/docs/`, every
//! relative link and anchor in it resolving, and a chapter for each of the
//! portal's Help links.

mod harness;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use harness::Env;
use http_body_util::BodyExt;
use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;
use vxguard::portal::bundle::Bundle;
use vxguard::portal::docs::{Docs, DocsError, Source, REVALIDATE};

async fn get(
    app: &axum::Router,
    path: &str,
    h: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut b = Request::builder().uri(path).header("host", "portal.test");
    for (k, v) in h {
        b = b.header(*k, *v);
    }
    let r = app
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = r.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, body)
}

fn hdr<'a>(h: &'a HeaderMap, name: header::HeaderName) -> &'a str {
    h.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// A temporary directory holding `files`, removed on drop.
struct TempDir(PathBuf);
impl TempDir {
    fn new(files: &[(&str, &[u8])]) -> TempDir {
        let d =
            std::env::temp_dir().join(format!("vxguard-docs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&d).unwrap();
        for (name, body) in files {
            let p = d.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        TempDir(d)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn app_with_docs(env: &Env, docs: Docs) -> axum::Router {
    vxguard::portal::app_with(
        env.st.clone(),
        Arc::new(Bundle::none("test")),
        Arc::new(docs),
    )
}

#[tokio::test]
async fn a_book_from_disk_is_served_at_docs() {
    let env = Env::demo().await;
    // A secret beside the book, which no path under /docs/ may reach.
    let root = TempDir::new(&[
        ("secret.txt", b"not-for-the-web"),
        ("book/index.html", b"<h1>the index</h1>"),
        ("book/404.html", b"<h1>the book's own 404</h1>"),
        ("book/tenant/policy.html", b"<h1>policy</h1>"),
        ("book/css/chrome.css", b"body {}"),
        ("book/fonts/a.woff2", b"wOF2"),
        ("book/.lock", b"skipped"),
    ]);
    let docs = Docs::from_dir(&root.0.join("book")).unwrap();
    assert_eq!(docs.source(), &Source::Dir(root.0.join("book")));
    assert!(docs.describe().contains("5 files"), "{}", docs.describe());
    let app = app_with_docs(&env, docs);

    let (status, h, _) = get(&app, "/docs", &[]).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(hdr(&h, header::LOCATION), "/docs/");

    let (status, h, body) = get(&app, "/docs/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<h1>the index</h1>");
    assert_eq!(hdr(&h, header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(hdr(&h, header::CACHE_CONTROL), REVALIDATE);
    assert_eq!(hdr(&h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(hdr(&h, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'self'"));
    let etag = hdr(&h, header::ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
    // The same file by its name, and revalidated by its ETag.
    let (status, h, body) = get(&app, "/docs/index.html", &[]).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"<h1>the index</h1>"[..])
    );
    assert_eq!(hdr(&h, header::ETAG), etag);
    let (status, _, body) = get(&app, "/docs/index.html", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    let (status, _, _) = get(&app, "/docs/index.html", &[("if-none-match", "\"0\"")]).await;
    assert_eq!(status, StatusCode::OK);

    for (path, body, ty) in [
        (
            "/docs/tenant/policy.html",
            &b"<h1>policy</h1>"[..],
            "text/html; charset=utf-8",
        ),
        (
            "/docs/css/chrome.css",
            b"body {}",
            "text/css; charset=utf-8",
        ),
        ("/docs/fonts/a.woff2", b"wOF2", "font/woff2"),
    ] {
        let (status, h, got) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(got, body, "{path}");
        assert_eq!(hdr(&h, header::CONTENT_TYPE), ty, "{path}");
    }

    // Unknown paths, dot files, directories without an index, and every
    // way out of the book: the book's own 404 page, with status 404.
    for path in [
        "/docs/nope.html",
        "/docs/.lock",
        "/docs/tenant/",
        "/docs/tenant",
        "/docs/../secret.txt",
        "/docs/%2e%2e/secret.txt",
        "/docs/..%2fsecret.txt",
        "/docs/tenant/../index.html",
        "/docs/tenant//policy.html",
        "/docs/./index.html",
        "/docs/tenant%5c..%5c..%5csecret.txt",
        "/docs/index.html%00",
    ] {
        let (status, h, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, b"<h1>the book's own 404</h1>", "{path}");
        assert_eq!(hdr(&h, header::CACHE_CONTROL), "no-store", "{path}");
    }
}

#[tokio::test]
async fn without_a_book_docs_says_how_to_build_it() {
    let env = Env::demo().await;
    let missing = std::env::temp_dir().join("vxguard-docs-does-not-exist");
    match Docs::from_dir(&missing) {
        Err(DocsError::Read { dir, source }) => {
            assert_eq!(dir, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{:?}", other.map(|d| d.describe())),
    }
    let no_index = TempDir::new(&[("tenant/policy.html", b"x")]);
    let e = Docs::from_dir(&no_index.0).err().expect("no index.html");
    assert!(matches!(e, DocsError::Incomplete { .. }));
    assert!(e.to_string().contains("index.html"), "{e}");

    let app = app_with_docs(&env, Docs::none("not built"));
    for path in ["/docs/", "/docs/tenant/policy.html"] {
        let (status, h, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(hdr(&h, header::CONTENT_TYPE), "text/plain; charset=utf-8");
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("scripts/build-docs"));
    }
}

/// The chapters the portal's Help links name (`app::data::props`'s
/// `help`), which the built book must have.
const HELP_CHAPTERS: &[&str] = &[
    "/docs/tenant/first-steps.html",
    "/docs/tenant/networks.html",
    "/docs/tenant/policy.html",
    "/docs/tenant/clients.html",
    "/docs/tenant/jobs-and-health.html",
    "/docs/tenant/members.html",
    "/docs/operator/platform.html",
    "/docs/operator/device-health.html",
    "/docs/operator/applying.html",
    "/docs/operator/portal.html",
];

/// The values of every `attr="..."` in `html`.
fn attrs<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!(" {attr}=\"");
    html.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// `href` relative to the page at `base` (an absolute path), `.` and `..`
/// resolved: the absolute path, and the fragment.
fn resolve(base: &str, href: &str) -> (String, String) {
    let href = href.replace("&amp;", "&");
    let (href, frag) = href.split_once('#').unwrap_or((&href, ""));
    let href = href.split_once('?').map_or(href, |(p, _)| p);
    let joined = if href.is_empty() {
        base.to_owned()
    } else if href.starts_with('/') {
        href.to_owned()
    } else {
        format!("{}{href}", &base[..=base.rfind('/').unwrap()])
    };
    let mut out: Vec<&str> = vec![];
    let segs: Vec<&str> = joined.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            "" if i > 0 && i + 1 < segs.len() => {}
            s => out.push(s),
        }
    }
    (out.join("/"), frag.to_owned())
}

#[test]
fn links_resolve_like_a_browser() {
    assert_eq!(
        resolve("/docs/tenant/policy.html", "../operator/lab.html#x"),
        ("/docs/operator/lab.html".into(), "x".into())
    );
    assert_eq!(
        resolve("/docs/", "tenant/a.html"),
        ("/docs/tenant/a.html".into(), "".into())
    );
    assert_eq!(
        resolve("/docs/a.html", "#top"),
        ("/docs/a.html".into(), "top".into())
    );
    assert_eq!(
        resolve("/docs/a/b.html", "/api/docs"),
        ("/api/docs".into(), "".into())
    );
    assert_eq!(
        resolve("/docs/a/b.html", "./c.html?x=1"),
        ("/docs/a/c.html".into(), "".into())
    );
}

/// The book scripts/build-docs built (what `vxguard serve` serves from the
/// workspace: embedded, else `site/docs`): every page reachable from
/// `/docs/` by its links, every link and `src` in it answering (the API's
/// pages it links to too), every anchor present on its page, and the Help
/// links' chapters among the pages. Without a built book this is skipped,
/// except under CI (`scripts/test` builds the book first).
#[tokio::test]
async fn the_built_book_is_whole() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(
        std::env::var("LEPTOS_SITE_ROOT")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "site".into()),
    );
    let docs = Docs::load(&site);
    if let Source::None(why) = docs.source() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no built guides under CI: {why}"
        );
        eprintln!("skipped: no built guides ({why}): run scripts/build-docs");
        return;
    }
    let env = Env::demo().await;
    let app =
        vxguard::portal::app_with(env.st.clone(), Arc::new(Bundle::none("test")), docs.clone());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut html_of: std::collections::BTreeMap<String, String> = Default::default();
    let mut anchors: Vec<(String, String, String)> = vec![];
    let mut queue = VecDeque::from(["/docs/".to_owned()]);
    let mut checked = 0;
    while let Some(page) = queue.pop_front() {
        if !seen.insert(page.clone()) {
            continue;
        }
        let (status, h, body) = get(&app, &page, &[]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        checked += 1;
        if !hdr(&h, header::CONTENT_TYPE).starts_with("text/html") {
            continue;
        }
        let html = String::from_utf8(body).unwrap();
        for link in attrs(&html, "href").into_iter().chain(attrs(&html, "src")) {
            if link.is_empty()
                || link.contains("://")
                || link.starts_with("mailto:")
                || link.starts_with("javascript:")
                || link.starts_with("data:")
            {
                continue;
            }
            let (path, frag) = resolve(&page, link);
            if !frag.is_empty() {
                anchors.push((page.clone(), path.clone(), frag));
            }
            if path.starts_with("/docs/") {
                queue.push_back(path);
            } else if seen.insert(path.clone()) {
                // Outside the book: the server's own pages (the API's docs).
                let (status, _, _) = get(&app, &path, &[]).await;
                assert_eq!(status, StatusCode::OK, "{page} links to {path}");
            }
        }
        html_of.insert(page, html);
    }
    for (from, page, frag) in anchors {
        let Some(html) = html_of.get(&page) else {
            continue;
        };
        assert!(
            html.contains(&format!("id=\"{frag}\"")),
            "{from} links to {page}#{frag}, which has no such anchor"
        );
    }
    for chapter in HELP_CHAPTERS {
        assert!(
            seen.contains(*chapter),
            "no chapter {chapter} for a Help link"
        );
    }
    // The tenant guide's and the operator guide's chapters, the API
    // reference, the figures.
    assert!(seen.len() > 30, "{} pages: {seen:?}", seen.len());
    assert!(html_of["/docs/design/benchmarks.html"].contains("2,851,100 VyOS commands"));
    eprintln!("{checked} files of the book reachable and answering");
}
