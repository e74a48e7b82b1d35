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
