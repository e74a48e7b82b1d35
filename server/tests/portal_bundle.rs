//! The portal's browser bundle as served (`portal::bundle`): content-hashed
//! names that the boot script loads, cached for good, with their types;
//! other `/pkg/` paths 404. Run against a bundle of fake files read from a
//! temporary directory (through the naming code build.rs uses too), and
//! against whatever this binary serves by default (embedded or none).

mod harness;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use harness::Env;
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;
use vxguard::portal::bundle::{files, Bundle, Source, IMMUTABLE};

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
            std::env::temp_dir().join(format!("vxguard-bundle-{}", uuid::Uuid::new_v4().simple()));
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

const APP_JS: &str = "import { f } from './snippets/frontend-0a1b/inline0.js';\n\
    export default function init(m) { m = m ?? new URL('app_bg.wasm', import.meta.url); }\n\
    const imports = { \"./app_bg.js\": {} };\n";

fn fake_bundle(snippet: &str) -> TempDir {
    TempDir::new(&[
        ("app.js", APP_JS.as_bytes()),
        ("app_bg.wasm", b"\0asm\x01\0\0\0"),
        ("snippets/frontend-0a1b/inline0.js", snippet.as_bytes()),
        (".stale-tmp", b"skipped"),
    ])
}

fn is_hashed(served: &str, name: &str) -> bool {
    let (stem, ext) = name.rsplit_once('.').unwrap();
    served
        .strip_prefix(&format!("{stem}."))
        .and_then(|r| r.strip_suffix(&format!(".{ext}")))
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn names_carry_the_content_hash_and_javascript_the_hashed_names() {
    assert_eq!(
        files::hashed_name("app.js", "0123456789abcdef"),
        "app.0123456789abcdef.js"
    );
    assert_eq!(files::hashed_name("a/b.min.js", "h"), "a/b.min.h.js");
    assert_eq!(files::hashed_name("LICENSE", "h"), "LICENSE.h");
    assert_eq!(files::content_type("x.wasm"), "application/wasm");
    assert!(files::content_type("x.js").starts_with("text/javascript"));
    // SHA-256("abc") begins ba7816bf8f01cfea.
    assert_eq!(files::content_hash(b"abc"), "ba7816bf8f01cfea");

    let dir = fake_bundle("export function f() {}");
    let got = files::read_dir(&dir.0).unwrap();
    let names: Vec<&str> = got.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["app.js", "app_bg.wasm", "snippets/frontend-0a1b/inline0.js"]
    );
    assert!(files::is_complete(&got));
    for f in &got {
        assert!(is_hashed(&f.hashed, &f.name), "{}", f.hashed);
        assert_eq!(
            f.hashed,
            files::hashed_name(&f.name, &files::content_hash(&f.body))
        );
    }
    let app = std::str::from_utf8(&got[0].body).unwrap();
    // Relative references to the bundle's files now name the hashed ones;
    // wasm-bindgen's import namespace `./app_bg.js` is no file and stays.
    assert!(
        app.contains(&format!("from './{}';", got[2].hashed)),
        "{app}"
    );
    assert!(
        app.contains(&format!("new URL('{}', import.meta.url)", got[1].hashed)),
        "{app}"
    );
    assert!(app.contains("\"./app_bg.js\""));
    assert_eq!(got[1].body, b"\0asm\x01\0\0\0");

    // Same content, same names; a changed snippet renames app.js too.
    let again = files::read_dir(&fake_bundle("export function f() {}").0).unwrap();
    assert_eq!(again, got);
    let changed = files::read_dir(&fake_bundle("export function f() { return 1 }").0).unwrap();
    assert_ne!(changed[2].hashed, got[2].hashed);
    assert_ne!(changed[0].hashed, got[0].hashed);
    assert_eq!(changed[1].hashed, got[1].hashed);

    // Not a bundle: missing, or without app_bg.wasm.
    assert!(Bundle::from_dir(Path::new("/does-not-exist")).is_err());
    let partial = TempDir::new(&[("app.js", b"x")]);
    assert!(Bundle::from_dir(&partial.0).is_err());
}

/// What a browser does: the page's boot script, then every `/pkg/` name it
/// loads. Returns those names.
async fn check_served(app: &axum::Router) -> Vec<String> {
    let (status, h, page) = get(app, "/login", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hdr(&h, header::CACHE_CONTROL), "no-store");
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(&format!(
            "<script type=\"module\" src=\"{}\"></script>",
            app::BOOT_PATH
        )),
        "{page}"
    );
    let (status, h, boot) = get(app, app::BOOT_PATH, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(hdr(&h, header::CONTENT_TYPE).starts_with("text/javascript"));
    assert_eq!(hdr(&h, header::CACHE_CONTROL), "no-cache");
    let etag = hdr(&h, header::ETAG).to_owned();
    let (status, _, _) = get(app, app::BOOT_PATH, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let boot = String::from_utf8(boot).unwrap();
    let names: Vec<String> = boot
        .split('"')
        .filter(|s| s.starts_with("/pkg/"))
        .map(String::from)
        .collect();
    assert_eq!(names.len(), 2, "{boot}");
    for path in &names {
        let (status, h, body) = get(app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(hdr(&h, header::CACHE_CONTROL), IMMUTABLE);
        let want = if path.ends_with(".wasm") {
            "application/wasm"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(hdr(&h, header::CONTENT_TYPE), want, "{path}");
        // The name is the served content's hash.
        assert!(
            path.contains(&format!(".{}.", files::content_hash(&body))),
            "{path}"
        );
    }
    assert!(names[0].starts_with("/pkg/app.") && is_hashed(&names[0][5..], "app.js"));
    assert!(names[1].starts_with("/pkg/app_bg.") && is_hashed(&names[1][5..], "app_bg.wasm"));
    // Another hash, the unhashed name, or nothing at all: 404.
    let wrong = names[0].replace(&names[0][9..25], "0000000000000000");
    for path in [
        wrong.as_str(),
        "/pkg/app.js",
        "/pkg/app_bg.wasm",
        "/pkg/nope",
    ] {
        let (status, _, _) = get(app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    names
}

#[tokio::test]
async fn a_bundle_from_disk_is_served_under_hashed_names() {
    let env = Env::demo().await;
    let dir = fake_bundle("export function f() {}");
    let bundle = Arc::new(Bundle::from_dir(&dir.0).unwrap());
    assert_eq!(bundle.source(), &Source::Dir(dir.0.clone()));
    let app = vxguard::portal::app_with_bundle(env.st.clone(), bundle.clone());
    let names = check_served(&app).await;
    assert_eq!(
        names[0],
        format!("/pkg/{}", bundle.hashed("app.js").unwrap())
    );
    // The snippet app.js imports is there under the name it imports.
    let snippet = bundle.hashed("snippets/frontend-0a1b/inline0.js").unwrap();
    let (_, _, app_js) = get(&app, &names[0], &[]).await;
    assert!(String::from_utf8(app_js)
        .unwrap()
        .contains(&format!("'./{snippet}'")));
    let (status, h, _) = get(&app, &format!("/pkg/{snippet}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hdr(&h, header::CACHE_CONTROL), IMMUTABLE);
}

/// What `vxguard serve` serves from a directory without `site/`: the
/// embedded bundle when this binary was built with one, otherwise none
/// (and the page stays server-rendered, its boot script unchanged).
#[tokio::test]
async fn the_default_bundle_is_the_embedded_one_or_none() {
    let env = Env::demo().await;
    let bundle = Bundle::load(Path::new("does-not-exist"));
    let app = vxguard::portal::app_with_bundle(env.st.clone(), bundle.clone());
    match bundle.source() {
        Source::Embedded => {
            check_served(&app).await;
            assert!(bundle.describe().starts_with("embedded: "));
            // The harness's router (`portal::app`) serves it too.
            let (_, _, boot) = get(
                &vxguard::portal::app(env.st.clone(), "does-not-exist".into()),
                app::BOOT_PATH,
                &[],
            )
            .await;
            assert!(String::from_utf8(boot)
                .unwrap()
                .contains(bundle.hashed("app.js").unwrap()));
        }
        Source::None(why) => {
            assert!(vxguard::portal::bundle::EMBEDDED.is_empty());
            assert!(why.contains("does-not-exist"), "{why}");
            let (status, _, boot) = get(&app, app::BOOT_PATH, &[]).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(boot, app::BOOT_JS.as_bytes());
            let (status, _, _) = get(&app, "/pkg/app.js", &[]).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        Source::Dir(d) => panic!("read {} instead of none", d.display()),
    }
}
