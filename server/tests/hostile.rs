//! The hostile-tenant suite (issue 14): each finding of the hostile tenant
//! review, as a request that acme (or its admin) makes against the API
//! and the worker, asserting what must hold for finance and globex. The
//! compiler-level property test over generated writes is
//! `compiler/tests/hostile.rs`.

mod harness;

use axum::http::StatusCode;
use harness::Env;
use serde_json::{json, Value};

async fn jobs_count(e: &Env) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&e.db)
        .await
        .unwrap()
}

fn pointers(r: &Value) -> Vec<String> {
    r["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["pointer"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn port_names_of_other_tenants_the_platform_or_openflow_are_refused() {
    let e = Env::demo().await;
    e.drain().await;
    let t = e.token("acme-admin@example.com").await;
    let url = "/api/v1/tenants/acme/networks/app";
    let net = e.get(url, &t).await;
    assert_eq!(net.status, StatusCode::OK);
    let jobs = jobs_count(&e).await;
    for (name, status) in [
        ("fin-web1", StatusCode::CONFLICT),
        ("vxg-tun", StatusCode::UNPROCESSABLE_ENTITY),
        ("NORMAL", StatusCode::UNPROCESSABLE_ENTITY),
        ("LOCAL", StatusCode::UNPROCESSABLE_ENTITY),
        ("in_port", StatusCode::UNPROCESSABLE_ENTITY),
        ("br-int", StatusCode::UNPROCESSABLE_ENTITY),
        ("4", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let mut spec = net.body["spec"].clone();
        spec["ports"]
            .as_array_mut()
            .unwrap()
            .push(json!({"hypervisor": "hv-dc1-01", "name": name}));
        let r = e.put(url, &t, spec, None).await;
        assert_eq!(r.status, status, "{name}: {}", r.text);
        assert_eq!(
            pointers(&r.body),
            vec!["/ports/2/name"],
            "{name}: {}",
            r.text
        );
        // The answer names no other tenant.
        assert!(!r.text.contains("finance"), "{name}: {}", r.text);
    }
    // A port name of its own other network is refused the same way.
    let r = e
        .post(
            "/api/v1/tenants/acme/networks",
            &t,
            json!({"name": "two", "cidr": "100.65.1.0/24",
                   "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01"]}],
                   "ports": [{"hypervisor": "hv-dc1-01", "name": "acme-app1"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(pointers(&r.body), vec!["/ports/0/name"]);
    assert_eq!(jobs_count(&e).await, jobs, "nothing was written");
    // The same port name on another hypervisor is another port: fine.
    let mut spec = net.body["spec"].clone();
    spec["ports"]
        .as_array_mut()
        .unwrap()
        .push(json!({"hypervisor": "hv-dc2-01", "name": "fin-web1x"}));
    let r = e.put(url, &t, spec, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn values_the_devices_would_refuse_are_refused_when_written() {
    let e = Env::demo().await;
    e.drain().await;
    let t = e.token("acme-admin@example.com").await;
    let jobs = jobs_count(&e).await;
    let cases = [
        (
            "/api/v1/tenants/acme/rules",
            json!({"id": 60, "description": "x\nset system login user evil authentication plaintext-password x", "action": "accept"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/description",
        ),
        (
            "/api/v1/tenants/acme/rules",
            json!({"id": 61, "description": "y".repeat(256), "action": "accept"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/description",
        ),
        (
            "/api/v1/tenants/acme/rules",
            json!({"id": 62, "description": "a\u{2028}set system", "action": "accept"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/description",
        ),
        (
            "/api/v1/tenants/acme/rules",
            json!({"id": 63, "description": "\u{202E}evil", "action": "accept"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/description",
        ),
        (
            "/api/v1/tenants/acme/rules",
            json!({"id": 64, "action": "accept", "source": {"type": "cidr", "cidr": "10.1.2.3/8"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/source/cidr",
        ),
        (
            "/api/v1/tenants/acme/services",
            json!({"id": "svc", "addresses": ["100.65.0.9/24"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/addresses/0",
        ),
        (
            "/api/v1/tenants/acme/clients",
            json!({"name": "twin", "public_key": "okajugXSsdY5zikKqlxh1V4bAZB+KEcvPLA3SAtuI08="}),
            StatusCode::CONFLICT,
            "/public_key",
        ),
    ];
    for (url, body, status, pointer) in cases {
        let r = e.post(url, &t, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(
            pointers(&r.body).iter().any(|p| p == pointer),
            "{body}: {}",
            r.text
        );
    }
    assert_eq!(jobs_count(&e).await, jobs, "nothing was written");
    // What is accepted compiles: a description with quotes and `$` is fine.
    let r = e
        .post(
            "/api/v1/tenants/acme/rules",
            &t,
            json!({"id": 65, "description": "it's \"quoted\" $HOME `x`", "action": "accept"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    e.drain().await;
    let job = r.header("x-job").unwrap();
    let j = e.get(&format!("/api/v1/jobs/{job}"), &t).await;
    assert_eq!(j.body["status"], "done", "{}", j.text);
}

/// A client whose key is a router's own is refused: the router's key is
/// in every client configuration the tenant downloads.
#[tokio::test]
async fn a_client_with_a_routers_key_is_refused() {
    let e = Env::demo().await;
    e.drain().await;
    let doc: Value = vxguard_store::intent::secrets_doc(&e.db)
        .await
        .unwrap()
        .expect("device secrets");
    let key = doc["routers"]["vyos-dc1-01"]["wireguard_public_key"]
        .as_str()
        .expect("stored router key")
        .to_string();
    let t = e.token("acme-admin@example.com").await;
    let r = e
        .post(
            "/api/v1/tenants/acme/clients",
            &t,
            json!({"name": "mimic", "public_key": key}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(pointers(&r.body), vec!["/public_key"], "{}", r.text);
}

/// A tenant whose stored spec no longer compiles (as after a definitions
/// upgrade or a new check) fails its own job with its own errors, keeps
/// its last good configuration on the devices, and stops nobody else.
#[tokio::test]
async fn one_tenants_broken_spec_fails_only_its_own_jobs() {
    let e = Env::demo().await;
    assert_eq!(e.drain().await, 1);
    let good: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_compiled")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(good, 3, "every tenant's last good spec is kept");
    // acme's rule 1 gets what today's checks refuse, bypassing the API.
    sqlx::query(
        "UPDATE objects SET spec = jsonb_set(spec, '{description}', '\"x\\nset system login\"')
         WHERE kind = 'rule' AND name = '1' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')",
    )
    .execute(&e.db)
    .await
    .unwrap();
    let acme = e.token("acme-admin@example.com").await;
    let globex = e.token("globex-admin@example.com").await;
    // globex can still write (acme's state is not globex's to answer for).
    let g = e
        .post(
            "/api/v1/tenants/globex/rules",
            &globex,
            json!({"id": 77, "action": "accept", "protocol": "icmp"}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.text);
    // Deletions and tenant settings are globex's own changes too.
    let r = e
        .post(
            "/api/v1/tenants/globex/rules",
            &globex,
            json!({"id": 78, "action": "accept", "protocol": "icmp"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = e.delete("/api/v1/tenants/globex/rules/78", &globex).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = e
        .put(
            "/api/v1/tenants/globex",
            &globex,
            json!({"name": "Globex", "default_action": "drop"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // acme's next change is refused at once: its own state is invalid.
    let a = e
        .post(
            "/api/v1/tenants/acme/rules",
            &acme,
            json!({"id": 78, "action": "accept", "protocol": "icmp"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    // A job of acme's queued anyway (a platform change touching acme).
    let acme_job: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (tenant_id, reason, created_by) SELECT id, 'rule.update x', 'test' FROM tenants WHERE slug = 'acme' RETURNING id",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    e.drain().await;
    let gj = e
        .get(
            &format!("/api/v1/jobs/{}", g.header("x-job").unwrap()),
            &globex,
        )
        .await;
    assert_eq!(gj.body["status"], "done", "{}", gj.text);
    assert!(
        !gj.text.contains("acme"),
        "globex's job shows acme: {}",
        gj.text
    );
    let aj = e.get(&format!("/api/v1/jobs/{acme_job}"), &acme).await;
    assert_eq!(aj.body["status"], "failed", "{}", aj.text);
    assert!(
        aj.text.contains("tenants/acme/policy/rules/1/description"),
        "{}",
        aj.text
    );
    for other in ["globex", "finance"] {
        assert!(
            !aj.text.contains(other),
            "acme's job shows {other}: {}",
            aj.text
        );
    }
    // The portal's dashboard says why, not only "failed": in words, the
    // rule first (the path is the API's `object`).
    assert_eq!(
        aj.body["errors"][0]["object"], "tenants/acme/policy/rules/1/description",
        "{}",
        aj.text
    );
    let mut b = harness::browser::Browser::new(&e);
    b.login_ok("acme-admin@example.com").await;
    let page = b.get("/t/acme").await;
    assert!(
        page.text.contains("class=\"job-why\"")
            && page.text.contains("Rule 1: the description")
            && !page
                .text
                .contains("tenants/acme/policy/rules/1/description"),
        "{}",
        page.text
    );
    // globex's rule is on the routers; acme's last good rule 1 still is.
    let admin = e.token("admin@example.com").await;
    let rev = e
        .get("/api/v1/devices/router/vyos-dc1-01/revisions", &admin)
        .await;
    let seq = rev.body["items"][0]["seq"].as_i64().unwrap();
    let cfg = e
        .get(
            &format!("/api/v1/devices/router/vyos-dc1-01/revisions/{seq}"),
            &admin,
        )
        .await;
    let text = cfg.body["config"].as_str().unwrap_or_default();
    assert!(text.contains("policy rule 77"), "globex's change landed");
    assert!(
        text.contains("description 'policy rule 1: No telnet'"),
        "acme keeps its last good rule"
    );
    assert!(!text.contains("set system login"), "{text}");
}

/// Warnings and errors of a job are its tenant's own: acme's shadowed rule
/// never shows in globex's job.
#[tokio::test]
async fn a_jobs_warnings_are_its_tenants_own() {
    let e = Env::demo().await;
    e.drain().await;
    let acme = e.token("acme-admin@example.com").await;
    let globex = e.token("globex-admin@example.com").await;
    // Rule 1 of acme rejects tcp 23; a later rule 50 with the same match is shadowed.
    let a = e
        .post(
            "/api/v1/tenants/acme/rules",
            &acme,
            json!({"id": 50, "action": "accept", "protocol": "tcp", "destination_port": 23}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let g = e
        .post(
            "/api/v1/tenants/globex/rules",
            &globex,
            json!({"id": 51, "action": "accept", "protocol": "icmp"}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.text);
    e.drain().await;
    let aj = e
        .get(
            &format!("/api/v1/jobs/{}", a.header("x-job").unwrap()),
            &acme,
        )
        .await;
    let warnings = aj.body["result"]["warnings"].to_string();
    assert!(
        warnings.contains("tenants/acme/policy/rules/50"),
        "{}",
        aj.text
    );
    let gj = e
        .get(
            &format!("/api/v1/jobs/{}", g.header("x-job").unwrap()),
            &globex,
        )
        .await;
    assert_eq!(gj.body["status"], "done");
    assert!(!gj.text.contains("acme"), "{}", gj.text);
    // A job of every kind acme can start reads only of acme.
    let mut own = Vec::new();
    for (m, url, body) in [
        (
            "POST",
            "/api/v1/tenants/acme/networks",
            Some(
                json!({"name": "n2", "cidr": "100.65.9.0/24", "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01"]}]}),
            ),
        ),
        (
            "POST",
            "/api/v1/tenants/acme/services",
            Some(json!({"id": "s2", "addresses": ["100.65.9.0/28"]})),
        ),
        (
            "POST",
            "/api/v1/tenants/acme/clients",
            Some(
                json!({"name": "c2", "public_key": "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28="}),
            ),
        ),
        (
            "PUT",
            "/api/v1/tenants/acme",
            Some(json!({"name": "ACME", "default_action": "drop"})),
        ),
        ("DELETE", "/api/v1/tenants/acme/rules/50", None),
        ("DELETE", "/api/v1/tenants/acme/networks/n2", None),
    ] {
        let r = match m {
            "POST" => e.post(url, &acme, body.unwrap()).await,
            "PUT" => e.put(url, &acme, body.unwrap(), None).await,
            _ => e.delete(url, &acme).await,
        };
        assert!(r.status.is_success(), "{m} {url}: {}", r.text);
        own.push(r.header("x-job").expect("a job").to_string());
    }
    e.drain().await;
    for id in own {
        let j = e.get(&format!("/api/v1/jobs/{id}"), &acme).await;
        assert_eq!(j.status, StatusCode::OK);
        for other in ["globex", "finance"] {
            assert!(
                !j.text.contains(other),
                "job {id} shows {other}: {}",
                j.text
            );
        }
    }
    // Every job, as every other tenant: not found.
    let ids: Vec<(i64, String)> =
        sqlx::query_as("SELECT j.id, t.slug FROM jobs j JOIN tenants t ON t.id = j.tenant_id")
            .fetch_all(&e.db)
            .await
            .unwrap();
    let finance = e.token("finance-admin@example.com").await;
    for (id, owner) in ids {
        for (slug, tok) in [("acme", &acme), ("globex", &globex), ("finance", &finance)] {
            if slug == owner {
                continue;
            }
            let r = e.get(&format!("/api/v1/jobs/{id}"), tok).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{slug} reads {owner}'s job {id}"
            );
            let r = e.get(&format!("/api/v1/jobs/{id}/events"), tok).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn quotas_limit_one_tenant_and_name_the_limit() {
    let e = Env::demo().await;
    let admin = e.token("admin@example.com").await;
    let acme = e.token("acme-admin@example.com").await;
    let globex = e.token("globex-admin@example.com").await;
    let r = e
        .put(
            "/api/v1/tenants/acme/quotas",
            &acme,
            json!({"rules": 1000}),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "tenants cannot raise their own"
    );
    let r = e
        .put(
            "/api/v1/tenants/acme/quotas",
            &admin,
            json!({"rules": 2, "api_tokens": 1, "members": 3}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["effective"]["rules"], 2);
    let r = e.get("/api/v1/tenants/acme/quotas", &acme).await;
    assert_eq!(r.body["effective"]["rules"], 2, "{}", r.text);
    let bad = e
        .put(
            "/api/v1/tenants/acme/quotas",
            &admin,
            json!({"requests_per_minute": 0}),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&bad.body), vec!["/requests_per_minute"]);
    // acme has one rule: a second is fine, a third is over.
    let rule = |id: u32| json!({"id": id, "action": "accept", "protocol": "icmp"});
    let r = e.post("/api/v1/tenants/acme/rules", &acme, rule(20)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = e.post("/api/v1/tenants/acme/rules", &acme, rule(21)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("quota “rules”"), "{}", r.text);
    // Editing within the limit still works; globex is not limited by it.
    let r = e
        .put(
            "/api/v1/tenants/acme/rules/20",
            &acme,
            json!({"id": 20, "action": "drop", "protocol": "icmp"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for id in [120, 121, 122] {
        let r = e
            .post("/api/v1/tenants/globex/rules", &globex, rule(id))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    // Members: acme has two; a third is fine, a fourth is over.
    let member = |n: &str| json!({"email": format!("{n}@acme.example"), "password": "a-long-enough-password", "role": "tenant_member"});
    let r = e
        .post("/api/v1/tenants/acme/users", &acme, member("m3"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = e
        .post("/api/v1/tenants/acme/users", &acme, member("m4"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("quota “members”"), "{}", r.text);
    // API tokens: one allowed.
    let tok = |n: &str| json!({"name": n, "role": "tenant_member"});
    let r = e.post("/api/v1/tenants/acme/tokens", &acme, tok("a")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = e.post("/api/v1/tenants/acme/tokens", &acme, tok("b")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("quota “api_tokens”"), "{}", r.text);
}

#[tokio::test]
async fn one_tenants_request_rate_limits_only_that_tenant() {
    let e = Env::demo().await;
    let admin = e.token("admin@example.com").await;
    let r = e
        .put(
            "/api/v1/tenants/acme/quotas",
            &admin,
            json!({"requests_per_minute": 5}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let acme = e.token("acme-member@example.com").await;
    let globex = e.token("globex-member@example.com").await;
    for i in 0..5 {
        let r = e.get("/api/v1/tenants/acme/networks", &acme).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.text);
    }
    let r = e.get("/api/v1/tenants/acme/networks", &acme).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.text.contains("requests_per_minute"), "{}", r.text);
    assert!(r.header("retry-after").is_some());
    let r = e.get("/api/v1/tenants/globex/networks", &globex).await;
    assert_eq!(r.status, StatusCode::OK, "globex is not limited by acme");
    let r = e.get("/api/v1/tenants/acme/networks", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "platform admins are not counted");
}

/// The queue takes tenants in turn: globex's one job does not wait behind
/// acme's backlog.
#[tokio::test]
async fn the_job_queue_serves_tenants_in_turn() {
    let e = Env::demo().await;
    e.drain().await;
    let insert = |slug: &'static str| {
        let db = e.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO jobs (tenant_id, reason, created_by) SELECT id, 'x', 'test' FROM tenants WHERE slug = $1 RETURNING id",
            )
            .bind(slug)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let mut acme = Vec::new();
    for _ in 0..10 {
        acme.push(insert("acme").await);
    }
    let globex = insert("globex").await;
    let first = vxguard::jobs::claim(&e.db, "t").await.unwrap().unwrap();
    let second = vxguard::jobs::claim(&e.db, "t").await.unwrap().unwrap();
    assert_eq!(first.id, acme[0]);
    assert_eq!(second.id, globex, "globex's job is second, not eleventh");
}
