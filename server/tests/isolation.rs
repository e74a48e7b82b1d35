//! Issue 14, a hostile tenant: what tenant users read of the platform, and
//! malformed input (NUL bytes) answered as problems naming the field.

mod harness;

use axum::http::StatusCode;
use harness::Env;
use serde_json::{json, Value};

/// The spec keys of every item of a list.
fn spec_keys(items: &Value) -> Vec<Vec<String>> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let mut k: Vec<String> = o["spec"].as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        })
        .collect()
}

/// Tenant users read every router's API endpoint and underlay address;
/// they need only names and sites to pick gateways.
#[tokio::test]
async fn tenant_users_read_only_names_and_sites_of_the_platform() {
    let e = Env::demo().await;
    let admin = e.token("acme-admin@example.com").await;
    let made = e
        .post(
            "/api/v1/tenants/acme/tokens",
            &admin,
            json!({"name": "reader", "role": "tenant_member"}),
        )
        .await;
    let api = made.body["token"].as_str().unwrap().to_string();
    let hidden = [
        "api_endpoint",
        "api_certificate_sha256",
        "underlay_address",
        "underlay_interface",
        "openflow_endpoint",
        "vtep_address",
        "public_blocks",
        "5.254.",
    ];
    for who in [&admin, &api] {
        for (path, keys) in [
            ("/api/v1/routers", vec!["name", "site"]),
            ("/api/v1/hypervisors", vec!["name", "site"]),
            ("/api/v1/sites", vec!["name"]),
        ] {
            let r = e.get(path, who).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            let items = &r.body["items"];
            assert!(!items.as_array().unwrap().is_empty(), "{path}");
            for k in spec_keys(items) {
                assert_eq!(k, keys, "{path}");
            }
            for h in hidden {
                assert!(!r.text.contains(h), "{path} shows {h}: {}", r.text);
            }
        }
        let one = e.get("/api/v1/routers/vyos-dc1-01", who).await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(
            one.body["spec"],
            json!({"name": "vyos-dc1-01", "site": "dc1"})
        );
        assert!(one.header("etag").is_some());
    }
    // Platform admins keep the whole view.
    let platform = e.token("admin@example.com").await;
    let one = e.get("/api/v1/routers/vyos-dc1-01", &platform).await;
    assert_eq!(one.body["spec"]["api_endpoint"], "https://5.254.54.10");
    assert_eq!(one.body["spec"]["underlay_address"], "5.254.54.10");
    let list = e.get("/api/v1/hypervisors", &platform).await;
    assert!(list.body["items"][0]["spec"]["underlay_address"].is_string());
}

/// Issue 14: a NUL byte anywhere was a 500 (PostgreSQL refuses it in
/// text). Now it is a problem that names where it was.
#[tokio::test]
async fn nul_bytes_are_problems_naming_the_field() {
    let e = Env::demo().await;
    let admin = e.token("acme-admin@example.com").await;
    let pointer = |r: &harness::Resp| r.body["errors"][0]["pointer"].clone();
    let problem = |r: &harness::Resp| {
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            r.text
        );
    };

    // JSON body fields: 422 with the field's pointer.
    for (path, body, at) in [
        (
            "/api/v1/tenants/acme/tokens",
            json!({"name": "ci\u{0}", "role": "tenant_member"}),
            "/name",
        ),
        (
            "/api/v1/tenants/acme/networks",
            json!({"name": "web\u{0}", "cidr": "100.64.9.0/28",
                   "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]}),
            "/name",
        ),
        (
            "/api/v1/tenants/acme/users",
            json!({"email": "x\u{0}@example.com", "password": "long enough password",
                   "role": "tenant_member"}),
            "/email",
        ),
        (
            "/api/v1/tenants/acme/services",
            json!({"id": "db2", "description": "a\u{0}b", "addresses": ["100.65.0.1/32"]}),
            "/description",
        ),
        (
            "/api/v1/tenants/acme/rules",
            json!({"id": 90, "action": "drop", "tags": {"k\u{0}": 1}}),
            "/tags/k\\0",
        ),
    ] {
        let r = e.post(path, &admin, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.text
        );
        problem(&r);
        assert_eq!(pointer(&r), at, "{path}: {}", r.text);
    }
    let r = e
        .login_pair("acme-admin@example.com\u{0}", "whatever it is")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(pointer(&r), "/email");

    // Path parameters and query parameters: 400 naming them.
    for (path, at) in [
        ("/api/v1/tenants/acme%00/networks", "{tenant}"),
        ("/api/v1/tenants/acme/networks/web%00", "{name}"),
        ("/api/v1/tenants/acme/networks?cursor=%00", "cursor"),
        ("/api/v1/tenants/acme/audit?cursor=a%00b", "cursor"),
        ("/api/v1/tenants/acme/networks?x%00=1", "x\\0"),
    ] {
        let r = e.get(path, &admin).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        problem(&r);
        assert_eq!(pointer(&r), at, "{path}: {}", r.text);
        assert!(
            r.body["detail"].as_str().unwrap().contains("NUL"),
            "{}",
            r.text
        );
    }
    // Nothing was written.
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(made, 0);
}

/// The portal: a form field or query parameter with a NUL is a 400 page
/// naming it, not a 500.
#[tokio::test]
async fn portal_forms_with_nul_bytes_are_refused_by_name() {
    use harness::browser::{hidden, Browser};
    let e = Env::demo().await;
    let mut b = Browser::new(&e);
    let p = b.get("/login").await;
    let csrf = hidden(&p.text, "csrf");
    let p = b
        .post(
            "/login",
            &[
                ("email", "acme-admin@example.com\u{0}"),
                ("password", harness::PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.text);
    assert!(
        p.text
            .contains("email: the form field contains a NUL character"),
        "{}",
        p.text
    );
    b.login_ok("acme-admin@example.com").await;
    let csrf = b.csrf("/t/acme").await;
    let p = b
        .post(
            "/t/acme/networks",
            &[
                ("csrf", &csrf),
                ("name", "a\u{0}"),
                ("cidr", "100.64.9.0/28"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.text);
    assert!(
        p.text.contains("name: the form field contains"),
        "{}",
        p.text
    );
    let p = b.get("/t/acme/audit?cursor=%00").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.text);
    assert!(
        p.text.contains("cursor: the query parameter contains"),
        "{}",
        p.text
    );
    // The API under the portal's router answers problems.
    let p = b.get("/api/v1/tenants/acme%00/networks").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(p.content_type, "application/problem+json");
}

/// The net under the extractors: a NUL that still reaches PostgreSQL (in
/// text, or as `\u0000` in jsonb, e.g. inside the portal's JSON editor) is
/// the client's 400, not a 500.
#[tokio::test]
async fn a_nul_refused_by_postgresql_is_a_bad_request() {
    let e = Env::empty().await;
    let text = sqlx::query("SELECT $1::text")
        .bind("a\u{0}b")
        .execute(&e.db)
        .await
        .unwrap_err();
    let jsonb = sqlx::query("SELECT $1::jsonb")
        .bind(json!({"description": "a\u{0}b"}))
        .execute(&e.db)
        .await
        .unwrap_err();
    for err in [text, jsonb] {
        let p = vxguard::problem::Problem::from(err);
        assert_eq!(p.status, 400, "{}", p.detail);
        assert!(p.detail.contains("NUL"), "{}", p.detail);
    }
}
