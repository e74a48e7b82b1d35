//! The API against the real PostgreSQL: tenant isolation for every resource
//! and verb, roles, validation problems, ETags, and the OpenAPI document.

mod harness;

use axum::http::{Method, StatusCode};
use harness::Env;
use serde_json::{json, Value};

/// One body per tenant resource that would be valid in the finance tenant.
fn finance_bodies() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "networks",
            "web",
            json!({"name": "web", "cidr": "100.64.1.0/28", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]}),
        ),
        (
            "services",
            "web-servers",
            json!({"id": "web-servers", "addresses": ["100.64.1.5/32"]}),
        ),
        (
            "rules",
            "10",
            json!({"id": 10, "action": "accept", "protocol": "icmp"}),
        ),
        (
            "clients",
            "x",
            json!({"name": "x", "public_key": "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=", "allowed_networks": []}),
        ),
    ]
}

#[tokio::test]
async fn a_tenant_never_sees_or_touches_another_tenants_data() {
    let e = Env::demo().await;
    let finance_names: Vec<String> = sqlx::query_scalar(
        "SELECT o.name FROM objects o JOIN tenants t ON t.id = o.tenant_id WHERE t.slug = 'finance'",
    )
    .fetch_all(&e.db)
    .await
    .unwrap();
    assert!(!finance_names.is_empty());
    let before: i64 = sqlx::query_scalar("SELECT sum(version)::bigint FROM objects")
        .fetch_one(&e.db)
        .await
        .unwrap();
    for who in ["acme-admin@example.com", "acme-member@example.com"] {
        let t = e.token(who).await;
        for (res, name, body) in finance_bodies() {
            let coll = format!("/api/v1/tenants/finance/{res}");
            let item = format!("{coll}/{name}");
            for (m, path, b) in [
                (Method::GET, coll.clone(), None),
                (Method::POST, coll.clone(), Some(body.clone())),
                (Method::GET, item.clone(), None),
                (Method::PUT, item.clone(), Some(body.clone())),
                (Method::DELETE, item.clone(), None),
            ] {
                let r = e.call(m.clone(), &path, Some(&t), b, &[]).await;
                assert_eq!(
                    r.status,
                    StatusCode::NOT_FOUND,
                    "{who} {m} {path}: {}",
                    r.text
                );
                for n in &finance_names {
                    assert!(
                        !r.text.contains(&format!("\"{n}\"")),
                        "{who} {m} {path} leaked {n}"
                    );
                }
            }
        }
        for path in [
            "/api/v1/tenants/finance",
            "/api/v1/tenants/finance/users",
            "/api/v1/tenants/finance/tokens",
            "/api/v1/tenants/finance/jobs",
            "/api/v1/tenants/finance/audit",
        ] {
            assert_eq!(
                e.get(path, &t).await.status,
                StatusCode::NOT_FOUND,
                "{who} GET {path}"
            );
        }
        // A tenant that does not exist looks exactly the same.
        let ghost = e.get("/api/v1/tenants/ghost/networks", &t).await;
        let real = e.get("/api/v1/tenants/finance/networks", &t).await;
        assert_eq!(ghost.text, real.text);
        for (m, path, body) in [
            (
                Method::PUT,
                "/api/v1/tenants/finance",
                Some(json!({"name": "pwned", "default_action": "accept"})),
            ),
            (Method::DELETE, "/api/v1/tenants/finance", None),
            (
                Method::POST,
                "/api/v1/tenants/finance/users",
                Some(
                    json!({"email": "spy@example.com", "password": "long enough password", "role": "tenant_admin"}),
                ),
            ),
            (
                Method::POST,
                "/api/v1/tenants/finance/tokens",
                Some(json!({"name": "spy", "role": "tenant_admin"})),
            ),
        ] {
            let r = e.call(m.clone(), path, Some(&t), body, &[]).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{who} {m} {path}: {}",
                r.text
            );
        }
        // The tenant list holds only the caller's tenant.
        let l = e.get("/api/v1/tenants", &t).await;
        let slugs: Vec<&str> = l.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, vec!["acme"]);
        // Jobs of other tenants (and platform jobs) are invisible by id.
        let job: i64 = sqlx::query_scalar("SELECT max(id) FROM jobs")
            .fetch_one(&e.db)
            .await
            .unwrap();
        assert_eq!(
            e.get(&format!("/api/v1/jobs/{job}"), &t).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let after: i64 = sqlx::query_scalar("SELECT sum(version)::bigint FROM objects")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(before, after, "nothing was changed");
    let (slug, name): (String, String) =
        sqlx::query_as("SELECT slug, name FROM tenants WHERE slug = 'finance'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(
        (slug.as_str(), name.as_str()),
        ("finance", "Finance Department")
    );
}

#[tokio::test]
async fn roles_decide_who_may_write() {
    let e = Env::demo().await;
    let member = e.token("acme-member@example.com").await;
    let admin = e.token("acme-admin@example.com").await;
    let platform = e.token("admin@example.com").await;
    let svc = json!({"id": "db", "addresses": ["100.65.0.20/32"]});
    // Members read, never write.
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &member).await.status,
        StatusCode::OK
    );
    assert_eq!(
        e.post("/api/v1/tenants/acme/services", &member, svc.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        e.delete("/api/v1/tenants/acme/networks/app", &member)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        e.get("/api/v1/tenants/acme/tokens", &member).await.status,
        StatusCode::FORBIDDEN
    );
    // Tenant admins write in their tenant but not the platform.
    assert_eq!(
        e.post("/api/v1/tenants/acme/services", &admin, svc.clone())
            .await
            .status,
        StatusCode::CREATED
    );
    for (m, path, body) in [
        (Method::POST, "/api/v1/sites", Some(json!({"name": "dc9"}))),
        (Method::DELETE, "/api/v1/routers/vyos-dc1-01", None),
        (
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "evil", "name": "Evil"})),
        ),
        (Method::DELETE, "/api/v1/tenants/acme", None),
        (Method::GET, "/api/v1/users", None),
        (Method::GET, "/api/v1/jobs", None),
        (Method::GET, "/api/v1/audit", None),
        (
            Method::GET,
            "/api/v1/devices/router/vyos-dc1-01/revisions",
            None,
        ),
    ] {
        let r = e.call(m.clone(), path, Some(&admin), body, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {path}: {}", r.text);
    }
    // Everyone signed in may read the platform (to pick sites and gateways).
    assert_eq!(
        e.get("/api/v1/routers", &member).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Platform admins may do all of it.
    let site = e
        .post("/api/v1/sites", &platform, json!({"name": "dc3"}))
        .await;
    assert_eq!(site.status, StatusCode::CREATED, "{}", site.text);
    assert_eq!(
        site.header("location").as_deref(),
        Some("/api/v1/sites/dc3")
    );
    assert_eq!(
        e.get("/api/v1/tenants/acme/services/db", &platform)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        e.get("/api/v1/users", &platform).await.status,
        StatusCode::OK
    );
    // A tenant admin adds a member; the member can log in; hashes never leave.
    let u = e.post("/api/v1/tenants/acme/users", &admin, json!({"email": "New@Example.com", "password": "a long enough password", "role": "tenant_member"})).await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
    assert_eq!(u.body["email"], "new@example.com");
    assert!(!u.text.contains("argon2"));
    assert_eq!(
        e.login_pair("new@example.com", "a long enough password")
            .await
            .status,
        StatusCode::OK
    );
    let l = e.get("/api/v1/tenants/acme/users", &admin).await;
    assert!(
        !l.text.contains("argon2") && !l.text.contains("finance"),
        "{}",
        l.text
    );
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field() {
    let e = Env::demo().await;
    let t = e.token("acme-admin@example.com").await;
    let base = "/api/v1/tenants/acme/networks";
    // Malformed JSON: 400; wrong media type: 415.
    let r = e
        .call(
            Method::POST,
            base,
            Some(&t),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e
        .call(
            Method::POST,
            base,
            Some(&t),
            None,
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Each bad field is named by a JSON pointer.
    let cases = [
        (
            json!({"name": "db", "cidr": "100.65.9.0/33", "sites": []}),
            "/cidr",
            "invalid",
        ),
        (
            json!({"name": "db", "cidr": "100.65.9.0/28", "sites": [], "colour": 1}),
            "/colour",
            "unknown field",
        ),
        (
            json!({"name": "DB!", "cidr": "100.65.9.0/28", "sites": []}),
            "/name",
            "",
        ),
        (
            json!({"name": "db", "cidr": "100.65.0.128/25", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]}),
            "/cidr",
            "overlaps",
        ),
        (
            json!({"name": "db", "cidr": "10.0.0.0/24", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]}),
            "/cidr",
            "pool",
        ),
        (
            json!({"name": "db", "cidr": "100.65.9.0/28", "sites": [{"site": "dc7", "gateways": ["vyos-dc1-01"]}]}),
            "/sites/0/site",
            "dc7",
        ),
    ];
    for (body, pointer, needle) in cases {
        let r = e.post(base, &t, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let errs = r.body["errors"].as_array().unwrap();
        assert!(
            errs.iter()
                .any(|x| x["pointer"] == pointer && x["detail"].as_str().unwrap().contains(needle)),
            "{body}: wanted {pointer} ~ {needle}: {}",
            r.text
        );
    }
    // A rule naming an unknown service, and a bad port range.
    let r = e.post("/api/v1/tenants/acme/rules", &t, json!({"id": 5, "action": "accept", "protocol": "tcp", "destination_port": "90-80", "source": {"type": "service", "service": "ghost"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ptrs: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["pointer"].as_str())
        .collect();
    assert!(
        ptrs.contains(&"/source/service") && ptrs.contains(&"/destination_port"),
        "{}",
        r.text
    );
    // Deleting a network a rule uses names the rule, and changes nothing.
    let s = e.post("/api/v1/tenants/acme/rules", &t, json!({"id": 7, "action": "accept", "destination": {"type": "network", "network": "app"}})).await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.text);
    let d = e.delete("/api/v1/tenants/acme/networks/app", &t).await;
    assert_eq!(d.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", d.text);
    assert!(
        d.body["errors"][0]["object"]
            .as_str()
            .unwrap()
            .starts_with("tenants/acme/policy/rules/7"),
        "{}",
        d.text
    );
    // Issue 19: for people, a sentence naming the rule, the network and
    // what to do; no backticks, no pointer (that is the `object` field's).
    assert_eq!(
        d.body["errors"][0]["detail"],
        "Rule 7: network “app” does not exist; create it, or make the rule's destination another network.",
        "{}",
        d.text
    );
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks/app", &t).await.status,
        StatusCode::OK
    );
    // Renames are refused; duplicates conflict; bad paging is a 400 problem.
    let n = e.get("/api/v1/tenants/acme/networks/app", &t).await;
    let mut spec = n.body["spec"].clone();
    spec["name"] = json!("app2");
    assert_eq!(
        e.put("/api/v1/tenants/acme/networks/app", &t, spec, None)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let dup = e
        .post(
            "/api/v1/tenants/acme/rules",
            &t,
            json!({"id": 7, "action": "drop"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let p = e.get("/api/v1/tenants/acme/networks?limit=0", &t).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        p.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    // Two tenants may use the same CIDR: that is what VRFs are for.
    let g = e.token("globex-admin@example.com").await;
    let same = e.post("/api/v1/tenants/globex/networks", &g, json!({"name": "db", "cidr": "100.65.1.0/28", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]})).await;
    let mine = e.post(base, &t, json!({"name": "db", "cidr": "100.65.1.0/28", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]})).await;
    assert_eq!(
        (same.status, mine.status),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{} {}",
        same.text,
        mine.text
    );
}

#[tokio::test]
async fn stale_writes_get_412_and_pages_follow_cursors() {
    let e = Env::demo().await;
    let t = e.token("finance-admin@example.com").await;
    let url = "/api/v1/tenants/finance/services/web-servers";
    let r = e.get(url, &t).await;
    let etag = r.header("etag").unwrap();
    assert_eq!(etag, format!("\"{}\"", r.body["version"]));
    let mut spec = r.body["spec"].clone();
    spec["description"] = json!("first editor");
    let first = e.put(url, &t, spec.clone(), Some(&etag)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_ne!(first.header("etag").unwrap(), etag);
    spec["description"] = json!("second editor, stale");
    let second = e.put(url, &t, spec, Some(&etag)).await;
    assert_eq!(second.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        e.get(url, &t).await.body["spec"]["description"],
        "first editor"
    );
    // Deleting with a stale ETag fails too.
    let d = e
        .call(
            Method::DELETE,
            url,
            Some(&t),
            None,
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(d.status, StatusCode::PRECONDITION_FAILED);

    // Cursor pagination walks every rule exactly once, in rule order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/tenants/finance/rules?limit=2&cursor={c}"),
            None => "/api/v1/tenants/finance/rules?limit=2".into(),
        };
        let p = e.get(&q, &t).await;
        for i in p.body["items"].as_array().unwrap() {
            seen.push(i["spec"]["id"].as_u64().unwrap());
        }
        match p.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert!(seen.len() >= 3, "{seen:?}");
}

#[tokio::test]
async fn generated_client_keys_are_returned_once_and_never_stored() {
    let e = Env::demo().await;
    let t = e.token("acme-admin@example.com").await;
    let r = e
        .post(
            "/api/v1/tenants/acme/clients",
            &t,
            json!({"name": "laptop"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let conf = r.body["wireguard_config"].as_str().unwrap();
    let private = conf
        .lines()
        .find_map(|l| l.strip_prefix("PrivateKey = "))
        .unwrap()
        .to_string();
    assert!(conf.contains(&format!(
        "Address = {}/32",
        r.body["address"].as_str().unwrap()
    )));
    assert!(conf.contains("Endpoint = 5.254.54.10:"), "{conf}");
    assert!(conf.contains("AllowedIPs = 100.65.0.0/24"), "{conf}");
    let get = e.get("/api/v1/tenants/acme/clients/laptop", &t).await;
    assert!(!get.text.contains(&private));
    let anywhere: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM objects WHERE spec::text LIKE '%' || $1 || '%')
              + (SELECT count(*) FROM audit_log WHERE coalesce(after::text, '') LIKE '%' || $1 || '%')",
    )
    .bind(&private)
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(anywhere, 0, "the private key is stored nowhere");
    // A caller-supplied key gets no configuration back.
    let own = e
        .post(
            "/api/v1/tenants/acme/clients",
            &t,
            json!({"name": "phone", "public_key": "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28="}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    assert!(own.body.get("wireguard_config").is_none());
    assert_ne!(own.body["address"], r.body["address"]);
}

#[tokio::test]
async fn health_and_readiness() {
    let e = Env::empty().await;
    let h = e.call(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!((h.status, h.text.as_str()), (StatusCode::OK, "ok"));
    let r = e.call(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ready"));
    let f = e.call(Method::GET, "/api/v1/nope", None, None, &[]).await;
    assert_eq!(f.status, StatusCode::NOT_FOUND);
    assert_eq!(
        f.header("content-type").as_deref(),
        Some("application/problem+json")
    );
}

/// `openapi/openapi.json` is the served document; regenerate it with
/// `UPDATE_OPENAPI=1 cargo test -p vxguard --test api openapi`.
#[test]
fn openapi_document_is_committed_and_in_sync() {
    let doc = vxguard::openapi::document();
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(path)
        .expect("openapi/openapi.json exists (UPDATE_OPENAPI=1 writes it)");
    assert!(committed == text, "openapi/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p vxguard --test api openapi");
    assert_eq!(doc["openapi"], "3.1.0");
    // The compiler's own schemas are in place, not the placeholders.
    assert!(
        doc["components"]["schemas"]["Network"]["properties"]["cidr"].is_object(),
        "{}",
        doc["components"]["schemas"]["Network"]
    );
    let ops = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().keys())
        .count();
    assert!(ops >= 50, "{ops} operations");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Everyone signed in reads it.
    AllRead,
    /// Platform admins only.
    Platform,
    /// The tenant's users read it.
    TenantRead,
    /// Platform admins and the tenant's admins.
    TenantAdmin,
}

/// Who may call what, decided from the path: every operation of the
/// OpenAPI document must be classified, so a new endpoint cannot escape.
fn access(method: &str, path: &str) -> Option<Access> {
    use Access::*;
    let read = method == "get";
    Some(match path {
        p if p.starts_with("/api/v1/auth/") || !p.starts_with("/api/") => return None,
        "/api/v1/me" => AllRead,
        p if ["/api/v1/sites", "/api/v1/routers", "/api/v1/hypervisors"]
            .iter()
            .any(|x| p.starts_with(x)) =>
        {
            if read {
                AllRead
            } else {
                Platform
            }
        }
        "/api/v1/tenants" => {
            if read {
                AllRead
            } else {
                Platform
            }
        }
        "/api/v1/tenants/{tenant}" => match method {
            "get" => TenantRead,
            "delete" => Platform,
            _ => TenantAdmin,
        },
        p if p.starts_with("/api/v1/tenants/{tenant}/tokens") => TenantAdmin,
        // Quotas: the tenant reads its own; only platform admins set them.
        "/api/v1/tenants/{tenant}/quotas" if !read => Platform,
        p if p.starts_with("/api/v1/tenants/{tenant}/") => {
            if read {
                TenantRead
            } else {
                TenantAdmin
            }
        }
        // A retry is a write of the job's tenant.
        "/api/v1/jobs/{id}/retry" => TenantAdmin,
        p if p.starts_with("/api/v1/jobs/{id}") => TenantRead,
        p if [
            "/api/v1/users",
            "/api/v1/jobs",
            "/api/v1/audit",
            "/api/v1/devices",
            "/api/v1/health",
        ]
        .iter()
        .any(|x| p.starts_with(x)) =>
        {
            Platform
        }
        other => panic!("unclassified endpoint {method} {other}: add it to `access`"),
    })
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let e = Env::demo().await;
    e.drain().await;
    let admin = e.token("admin@example.com").await;
    let tadmin = e.token("acme-admin@example.com").await;
    let member = e.token("acme-member@example.com").await;
    let tok = e
        .post(
            "/api/v1/tenants/acme/tokens",
            &tadmin,
            json!({"name": "matrix", "role": "tenant_member"}),
        )
        .await;
    let api_member = tok.body["token"].as_str().unwrap().to_string();
    let svc = e
        .post(
            "/api/v1/tenants/acme/services",
            &tadmin,
            json!({"id": "s", "addresses": ["100.65.0.9/32"]}),
        )
        .await;
    let job = svc.header("x-job").unwrap();
    e.drain().await;
    let nobody = uuid::Uuid::new_v4().to_string();
    let name_for = |path: &str| -> &str {
        // Rotating a key takes no body to refuse: a router that does not
        // exist, so an allowed caller gets 404 and nothing starts.
        if path.ends_with("/api-key/rotate") {
            return "vyos-nowhere";
        }
        if path.starts_with("/api/v1/devices/") {
            return "vyos-dc1-01";
        }
        for (seg, name) in [
            ("/sites/", "dc1"),
            ("/routers/", "vyos-dc1-01"),
            ("/hypervisors/", "hv-dc1-01"),
            ("/networks/", "app"),
            ("/services/", "s"),
            ("/rules/", "1"),
            ("/clients/", "ops"),
        ] {
            if path.contains(seg) {
                return name;
            }
        }
        "x"
    };
    let doc = vxguard::openapi::document();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, _) in ops.as_object().unwrap() {
            let Some(class) = access(method, path) else {
                continue;
            };
            let url = path
                .replace("{tenant}", "acme")
                .replace("{name}", name_for(path))
                .replace("{kind}", "router")
                .replace("{seq}", "1")
                .replace(
                    "{id}",
                    if path.starts_with("/api/v1/jobs") {
                        job.as_str()
                    } else {
                        nobody.as_str()
                    },
                );
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Writes carry an empty body and a stale If-Match: whoever is
            // allowed gets 404/412/422 and nothing changes.
            let body = matches!(method.as_str(), "post" | "put").then(|| json!({}));
            for (who, token) in [
                ("platform admin", &admin),
                ("tenant admin", &tadmin),
                ("tenant member", &member),
                ("member API token", &api_member),
            ] {
                let r = e
                    .call(
                        m.clone(),
                        &url,
                        Some(token),
                        body.clone(),
                        &[("if-match", "\"0\"")],
                    )
                    .await;
                let s = r.status.as_u16();
                let privileged = match class {
                    Access::AllRead | Access::TenantRead => true,
                    Access::Platform => who == "platform admin",
                    Access::TenantAdmin => who == "platform admin" || who == "tenant admin",
                };
                if privileged {
                    assert!(
                        ![401, 403].contains(&s),
                        "{who} {method} {url}: {s} {}",
                        r.text
                    );
                    if read_ok(method) {
                        assert_eq!(s, 200, "{who} {method} {url}: {}", r.text);
                    }
                } else {
                    assert_eq!(s, 403, "{who} {method} {url}: {}", r.text);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * 55, "{checked} calls");
    // Nothing was changed by any of it.
    assert_eq!(
        e.get("/api/v1/tenants/acme", &admin).await.body["name"],
        "ACME Corp"
    );
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks/app", &tadmin)
            .await
            .status,
        StatusCode::OK
    );
}

fn read_ok(method: &str) -> bool {
    method == "get"
}

/// Issue 19, item 1: a tenant's members add their own WireGuard clients
/// only when its admins allow it (`members_add_clients`, off by default,
/// set through the tenant's `PUT` and audited), and then revoke or re-key
/// only the clients they added. Nothing crosses tenants: another tenant's
/// member gets 404, whatever that tenant's setting.
#[tokio::test]
async fn members_add_their_own_clients_when_the_tenant_allows_it() {
    let e = Env::demo().await;
    let admin = e.token("finance-admin@example.com").await;
    let member = e.token("finance-member@example.com").await;
    let acme_member = e.token("acme-member@example.com").await;
    let key = |seed: u8| app::wg::keypair([seed; 32]).1;
    let body = |name: &str, seed: u8| json!({"name": name, "public_key": key(seed)});

    // Off by default: the member is refused, with the reason.
    let t = e.get("/api/v1/tenants/finance", &member).await;
    assert_eq!(t.body["members_add_clients"], false, "{}", t.text);
    let r = e
        .post("/api/v1/tenants/finance/clients", &member, body("mine", 1))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("members_add_clients"),
        "{}",
        r.text
    );
    // A member cannot turn it on.
    let own = json!({"name": "Finance", "default_action": "drop", "members_add_clients": true});
    let r = e
        .put("/api/v1/tenants/finance", &member, own.clone(), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // The admin turns it on: kept, versioned and audited.
    let name = t.body["name"].clone();
    let action = t.body["default_action"].clone();
    let on = json!({"name": name, "default_action": action, "members_add_clients": true});
    let r = e.put("/api/v1/tenants/finance", &admin, on, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["members_add_clients"], true);
    let audited: Value = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'tenant.update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(audited["members_add_clients"], true);
    // A PUT without the field leaves it as it is.
    let rename = json!({"name": name, "default_action": action});
    let r = e.put("/api/v1/tenants/finance", &admin, rename, None).await;
    assert_eq!(r.body["members_add_clients"], true, "{}", r.text);

    // Now the member adds a client, audited as theirs.
    let r = e
        .post("/api/v1/tenants/finance/clients", &member, body("mine", 1))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE action = 'client.create' AND object = 'tenants/finance/clients/mine'",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(actor, "user:finance-member@example.com");
    // They re-key it and revoke it.
    let r = e
        .put(
            "/api/v1/tenants/finance/clients/mine",
            &member,
            body("mine", 2),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["spec"]["public_key"], key(2));
    let r = e
        .delete("/api/v1/tenants/finance/clients/mine", &member)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Another's client (the admin's, and one from before the setting
    // existed) is not theirs to change: 403, and it stays.
    let r = e
        .post("/api/v1/tenants/finance/clients", &admin, body("boss", 3))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for name in ["boss", "cfo-laptop"] {
        let path = format!("/api/v1/tenants/finance/clients/{name}");
        let before = e.get(&path, &admin).await;
        let mut spec = before.body["spec"].clone();
        spec["public_key"] = json!(key(4));
        let r = e.put(&path, &member, spec, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.text);
        assert!(r.body["detail"].as_str().unwrap().contains("someone else"));
        let r = e.delete(&path, &member).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.text);
        let after = e.get(&path, &admin).await;
        assert_eq!(after.body, before.body, "{name}");
    }
    // The admin still revokes a member's client.
    let r = e
        .post("/api/v1/tenants/finance/clients", &member, body("again", 5))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = e
        .delete("/api/v1/tenants/finance/clients/again", &admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Another tenant's member: 404 for every verb, as for a missing tenant;
    // their own tenant's setting is still off.
    let r = e
        .post(
            "/api/v1/tenants/finance/clients",
            &acme_member,
            body("spy", 6),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = e
        .put(
            "/api/v1/tenants/finance/clients/boss",
            &acme_member,
            body("boss", 6),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = e
        .delete("/api/v1/tenants/finance/clients/boss", &acme_member)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = e
        .post("/api/v1/tenants/acme/clients", &acme_member, body("spy", 6))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Turned off again: the member's writes are refused once more.
    let r = e
        .post("/api/v1/tenants/finance/clients", &member, body("late", 7))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let off = json!({"name": name, "default_action": action, "members_add_clients": false});
    let r = e.put("/api/v1/tenants/finance", &admin, off, None).await;
    assert_eq!(r.body["members_add_clients"], false, "{}", r.text);
    let r = e
        .delete("/api/v1/tenants/finance/clients/late", &member)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// Issue 19: a client may carry an expiry. It must be a time in the future
/// (422 naming `/expires_at` otherwise), is kept in UTC, and once it has
/// passed the applying worker's periodic step removes the client through
/// the write path: a job takes it off the routers, and the audit log says
/// `client.expired` by the worker. A client with a later expiry, or none,
/// stays; another tenant's client is untouched.
#[tokio::test]
async fn an_expired_client_is_removed_by_the_worker_and_audited() {
    let e = Env::demo().await;
    let t = e.token("acme-admin@example.com").await;
    let key = |seed: u8| app::wg::keypair([seed; 32]).1;
    let clients = "/api/v1/tenants/acme/clients";
    for (at, why) in [
        ("2020-01-01T00:00:00Z", "has passed"),
        ("next tuesday", "is not a date and time"),
    ] {
        let r = e
            .post(
                clients,
                &t,
                json!({"name": "laptop", "public_key": key(1), "expires_at": at}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{at}: {}",
            r.text
        );
        let errs = r.body["errors"].as_array().unwrap();
        assert!(
            errs.iter()
                .any(|x| x["pointer"] == "/expires_at"
                    && x["detail"].as_str().unwrap().contains(why)),
            "{at}: {}",
            r.text
        );
    }
    let r = e
        .post(clients, &t, json!({"name": "laptop", "public_key": key(1), "expires_at": "2999-01-01T01:00:00+01:00"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["client"]["spec"]["expires_at"],
        "2999-01-01T00:00:00Z"
    );
    for (name, seed) in [("phone", 2), ("tablet", 3)] {
        let r = e
            .post(clients, &t, json!({"name": name, "public_key": key(seed), "expires_at": "2999-06-01T00:00:00Z"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let f = e.token("finance-admin@example.com").await;
    let r = e
        .post(
            "/api/v1/tenants/finance/clients",
            &f,
            json!({"name": "phone", "public_key": key(4), "expires_at": "2999-06-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    e.drain().await;
    let w = e.worker("expiry");
    assert!(
        w.expire_clients().await.unwrap().is_empty(),
        "none has expired"
    );
    // Time passes for acme's phone and tablet (the API accepts no past expiry).
    sqlx::query(
        "UPDATE objects o SET spec = jsonb_set(spec, '{expires_at}', '\"2020-01-01T00:00:00Z\"')
         FROM tenants t WHERE t.id = o.tenant_id AND t.slug = 'acme' AND o.kind = 'client'
           AND o.name IN ('phone', 'tablet')",
    )
    .execute(&e.db)
    .await
    .unwrap();
    let mut gone = w.expire_clients().await.unwrap();
    gone.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<(&str, &str)> = gone
        .iter()
        .map(|c| (c.tenant.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(names, [("acme", "phone"), ("acme", "tablet")]);
    for c in &gone {
        let r = e.get(&format!("{clients}/{}", c.name), &t).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        let (actor, job): (String, Option<i64>) = sqlx::query_as(
            "SELECT actor, job_id FROM audit_log WHERE action = 'client.expired' AND object = $1",
        )
        .bind(format!("tenants/acme/clients/{}", c.name))
        .fetch_one(&e.db)
        .await
        .unwrap();
        assert_eq!((actor.as_str(), job), ("system:worker", Some(c.job)));
    }
    // The removal's jobs compile like any other change.
    e.drain().await;
    for c in &gone {
        let status: String = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
            .bind(c.job)
            .fetch_one(&e.db)
            .await
            .unwrap();
        assert_ne!(status, "failed", "job {} of {}", c.job, c.name);
    }
    assert_eq!(
        e.get(&format!("{clients}/laptop"), &t).await.status,
        StatusCode::OK
    );
    let r = e.get("/api/v1/tenants/finance/clients/phone", &f).await;
    assert_eq!(r.status, StatusCode::OK, "another tenant's client stays");
    assert!(
        w.expire_clients().await.unwrap().is_empty(),
        "nothing left to remove"
    );
}

/// Issue 19: every error of a body at once. A field that does not read
/// no longer hides what the checks across objects say of the others (an
/// overlapping subnet, one outside the pools, an unknown router or
/// service): each is at its field, in one answer, and nothing is said of
/// the field set aside or of the stand-in it was checked with.
#[tokio::test]
async fn field_errors_come_with_the_checks_across_objects() {
    let e = Env::demo().await;
    let t = e.token("acme-admin@example.com").await;
    let cases = [
        (
            "networks",
            json!({"name": "DB!", "cidr": "100.65.0.128/25", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "ghost"]}]}),
            vec![
                ("/name", ""),
                ("/cidr", "overlaps"),
                ("/sites/0/gateways/1", "“ghost” does not exist"),
            ],
        ),
        (
            "networks",
            json!({"name": "db", "cidr": "100.65.9.0/99", "sites": [{"site": "dc1", "gateways": ["ghost"]}]}),
            vec![
                ("/cidr", ""),
                ("/sites/0/gateways/0", "“ghost” does not exist"),
            ],
        ),
        (
            "networks",
            json!({"name": "DB!", "cidr": "10.0.0.0/24", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]}),
            vec![("/name", ""), ("/cidr", "pool")],
        ),
        (
            "rules",
            json!({"id": "five", "action": "accept", "protocol": "tcp", "source": {"type": "service", "service": "ghost"}}),
            vec![("/id", ""), ("/source/service", "ghost")],
        ),
    ];
    for (kind, body, want) in cases {
        let r = e
            .post(&format!("/api/v1/tenants/acme/{kind}"), &t, body.clone())
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        let errs = r.body["errors"].as_array().unwrap();
        for (pointer, needle) in &want {
            assert!(
                errs.iter()
                    .any(|x| x["pointer"] == *pointer
                        && x["detail"].as_str().unwrap().contains(needle)),
                "{body}: wanted {pointer} ~ {needle}: {}",
                r.text
            );
        }
        assert_eq!(errs.len(), want.len(), "{body}: {}", r.text);
        assert!(
            !r.text.contains("set-aside") && !r.text.contains("0.0.0.0/32"),
            "{}",
            r.text
        );
    }
    // Nothing was written.
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM objects o JOIN tenants t ON t.id = o.tenant_id
         WHERE t.slug = 'acme' AND o.kind = 'network' AND o.name = 'db'",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(n, 0);
}
