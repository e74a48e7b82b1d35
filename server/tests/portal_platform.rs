//! The admin console's editor for sites, routers and hypervisors,
//! in-process (playwright/tests/platform.test.mjs drives a browser): specs
//! saved through the one write path (a job, nothing half-applied), JSON and
//! field errors named, stale versions refused, deletes refused while
//! something refers to the object, platform admins only, CSRF.

mod harness;

use axum::http::{Method, StatusCode};
use harness::browser::{hidden, Browser};
use harness::Env;

async fn count(env: &Env, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&env.db).await.unwrap()
}

async fn jobs(env: &Env) -> i64 {
    count(env, "SELECT count(*) FROM jobs").await
}

/// The stored spec and version of a platform object.
async fn stored(env: &Env, kind: &str, name: &str) -> (serde_json::Value, i64) {
    sqlx::query_as(
        "SELECT spec, version FROM objects WHERE kind = $1 AND tenant_id IS NULL AND name = $2",
    )
    .bind(kind)
    .bind(name)
    .fetch_one(&env.db)
    .await
    .unwrap()
}

const ROUTER: &str = "/admin/platform/router/vyos-dc1-01";

#[tokio::test]
async fn an_admin_edits_a_routers_spec_and_a_job_compiles_it() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let list = b.get("/admin/platform").await;
    assert!(
        list.text.contains(&format!("href=\"{ROUTER}\"")),
        "{}",
        list.text
    );
    assert!(list.text.contains("href=\"/admin/platform/site/dc1\""));
    assert!(list
        .text
        .contains("href=\"/admin/platform/hypervisor/new\""));
    let p = b.get(ROUTER).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.text.contains("<textarea id=\"spec\" name=\"spec\""),
        "{}",
        p.text
    );
    assert!(p.text.contains("<label for=\"spec\">"));
    assert!(p.text.contains("underlay_interface"));
    let (mut spec, version) = stored(&env, "router", "vyos-dc1-01").await;
    assert_eq!(hidden(&p.text, "version"), version.to_string());
    assert_eq!(spec["underlay_interface"], "eth0");
    spec["underlay_interface"] = "eth1".into();
    // Its certificate pinned (plain hex, stored as given, shown as openssl prints it).
    spec["api_certificate_sha256"] = "ab".repeat(32).into();
    let csrf = hidden(&p.text, "csrf");
    let before = jobs(&env).await;
    let v = version.to_string();
    let text = serde_json::to_string_pretty(&spec).unwrap();
    let r = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let to = r.location.unwrap();
    assert!(to.starts_with(&format!("{ROUTER}?saved=")), "{to}");
    assert_eq!(jobs(&env).await, before + 1);
    let (now, v2) = stored(&env, "router", "vyos-dc1-01").await;
    assert_eq!(now["underlay_interface"], "eth1");
    assert_eq!(v2, version + 1);
    let job = to.rsplit('=').next().unwrap();
    let page = b.get(&to).await;
    assert!(page.text.contains(&format!("Job #{job}")), "{}", page.text);
    assert!(page.text.contains("eth1"));
    let list = b.get("/admin/platform").await;
    let pinned = format!("pinned {}", "AB:".repeat(31) + "AB");
    assert!(list.text.contains(&pinned), "{}", list.text);
    assert_eq!(
        list.text.matches(">public roots<").count(),
        3,
        "the other routers trust public roots"
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE object = 'routers/vyos-dc1-01' AND action = 'router.update'"
        )
        .await,
        1
    );
    assert!(env.drain().await >= 1);
}

#[tokio::test]
async fn bad_json_and_bad_fields_are_named_and_nothing_is_written() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let p = b.get(ROUTER).await;
    let csrf = hidden(&p.text, "csrf");
    let (spec, version) = stored(&env, "router", "vyos-dc1-01").await;
    let v = version.to_string();
    let before = jobs(&env).await;
    // A missing comma on line 3.
    let bad = "{\n  \"name\": \"vyos-dc1-01\",\n  \"site\": \"dc1\"\n  \"version\": \"1.4\"\n}";
    let r = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", bad)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("at line 4:3"), "{}", r.text);
    assert!(r.text.contains("Nothing was saved"));
    // What was typed is shown again.
    assert!(
        r.text.contains("\"site\": \"dc1\"\n  \"version\""),
        "{}",
        r.text
    );
    // A field the compiler refuses: named in words, its pointer kept.
    let mut wrong = spec.clone();
    wrong["underlay_address"] = "not-an-address".into();
    let text = serde_json::to_string(&wrong).unwrap();
    let r = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text
            .contains("<li>Underlay address (/underlay_address): "),
        "{}",
        r.text
    );
    // A site that does not exist: the reference is named.
    let mut wrong = spec.clone();
    wrong["site"] = "dc9".into();
    let text = serde_json::to_string(&wrong).unwrap();
    let r = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("<li>Site (/site): "), "{}", r.text);
    // The name cannot change.
    let mut wrong = spec.clone();
    wrong["name"] = "vyos-dc1-09".into();
    let text = serde_json::to_string(&wrong).unwrap();
    let r = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("<li>Name (/name): "), "{}", r.text);
    assert_eq!(jobs(&env).await, before);
    assert_eq!(stored(&env, "router", "vyos-dc1-01").await, (spec, version));
}

#[tokio::test]
async fn a_stale_version_is_refused_and_the_current_spec_shown() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let p = b.get(ROUTER).await;
    let csrf = hidden(&p.text, "csrf");
    let (mut spec, version) = stored(&env, "router", "vyos-dc1-01").await;
    spec["api_endpoint"] = "https://5.254.54.12".into();
    let text = serde_json::to_string(&spec).unwrap();
    let v = version.to_string();
    let ok = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    // The same form again, read at the old version.
    spec["api_endpoint"] = "https://5.254.54.13".into();
    let text = serde_json::to_string(&spec).unwrap();
    let before = jobs(&env).await;
    let r = b
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert!(r.text.contains("Someone changed this router"), "{}", r.text);
    assert!(r.text.contains("https://5.254.54.12"));
    assert!(!r.text.contains("https://5.254.54.13"));
    assert_eq!(hidden(&r.text, "version"), (version + 1).to_string());
    assert_eq!(jobs(&env).await, before);
    let (now, _) = stored(&env, "router", "vyos-dc1-01").await;
    assert_eq!(now["api_endpoint"], "https://5.254.54.12");
}

#[tokio::test]
async fn a_site_in_use_is_not_deleted_and_an_unused_object_is() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let p = b.get("/admin/platform/site/dc1/delete").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("id=\"confirm-delete\""), "{}", p.text);
    let csrf = hidden(&p.text, "csrf");
    let v = hidden(&p.text, "version");
    let before = jobs(&env).await;
    let r = b
        .post(
            "/admin/platform/site/dc1/delete",
            &[("csrf", &csrf), ("version", &v)],
        )
        .await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.text);
    assert!(r.text.contains("It was not deleted"), "{}", r.text);
    assert!(r.text.contains("vyos-dc1-01"), "{}", r.text);
    assert_eq!(jobs(&env).await, before);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM objects WHERE kind = 'site' AND name = 'dc1'"
        )
        .await,
        1
    );

    // A new hypervisor from the prefilled template, then deleted.
    let n = b.get("/admin/platform/hypervisor/new").await;
    assert_eq!(n.status, StatusCode::OK);
    assert!(n.text.contains("<textarea id=\"spec\""), "{}", n.text);
    assert!(n.text.contains("br-int"));
    let spec = serde_json::json!({
        "name": "hv-dc1-02", "site": "dc1", "underlay_address": "5.254.54.21"
    })
    .to_string();
    let r = b
        .post(
            "/admin/platform/hypervisor",
            &[("csrf", &csrf), ("spec", &spec)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let to = r.location.unwrap();
    assert!(
        to.starts_with("/admin/platform/hypervisor/hv-dc1-02?created="),
        "{to}"
    );
    assert!(b.get(&to).await.text.contains("Created."));
    assert_eq!(jobs(&env).await, before + 1);
    // Created twice: refused.
    let r = b
        .post(
            "/admin/platform/hypervisor",
            &[("csrf", &csrf), ("spec", &spec)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("already exists"));
    let (_, v) = stored(&env, "hypervisor", "hv-dc1-02").await;
    let v = v.to_string();
    let r = b
        .post(
            "/admin/platform/hypervisor/hv-dc1-02/delete",
            &[("csrf", &csrf), ("version", &v)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(jobs(&env).await, before + 2);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM objects WHERE name = 'hv-dc1-02'"
        )
        .await,
        0
    );
    assert_eq!(
        b.get("/admin/platform/hypervisor/hv-dc1-02").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(env.drain().await >= 1);
}

#[tokio::test]
async fn only_platform_admins_and_only_with_csrf() {
    let env = Env::demo().await;
    let mut t = Browser::new(&env);
    t.login("finance-admin@example.com").await;
    let missing = t.get("/no-such-page").await;
    for path in [
        ROUTER,
        "/admin/platform/site/dc1",
        "/admin/platform/site/dc1/delete",
        "/admin/platform/hypervisor/new",
    ] {
        let p = t.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(p.text, missing.text, "{path}");
    }
    let csrf = t.csrf("/t/finance").await;
    let (spec, version) = stored(&env, "router", "vyos-dc1-01").await;
    let text = spec.to_string();
    let v = version.to_string();
    let before = jobs(&env).await;
    let p = t
        .post(ROUTER, &[("csrf", &csrf), ("version", &v), ("spec", &text)])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = t
        .post(
            "/admin/platform/site/dc2/delete",
            &[("csrf", &csrf), ("version", "1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    // An admin without the token, or from another origin: refused.
    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let good = a.csrf(ROUTER).await;
    let p = a
        .post(
            ROUTER,
            &[("csrf", "forged"), ("version", &v), ("spec", &text)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = a
        .send(
            Method::POST,
            ROUTER,
            Some(&[("csrf", &good), ("version", &v), ("spec", &text)]),
            Some("http://evil.test"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = a
        .post(
            "/admin/platform/hypervisor",
            &[("csrf", ""), ("spec", &text)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(jobs(&env).await, before);
    // Unknown kinds and objects: not found.
    assert_eq!(
        a.get("/admin/platform/switch/x").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/admin/platform/router/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The generated form's fields for a router, as a browser posts them.
fn router_fields<'a>(
    spec: &'a serde_json::Value,
    csrf: &'a str,
    version: &'a str,
    action: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let s = |k: &str| spec[k].as_str().unwrap_or("");
    vec![
        ("csrf", csrf),
        ("version", version),
        ("f.name", s("name")),
        ("f.site", s("site")),
        ("f.version", s("version")),
        ("f.underlay_address", s("underlay_address")),
        ("f.api_endpoint", s("api_endpoint")),
        ("f.api_certificate_sha256", s("api_certificate_sha256")),
        ("f.underlay_interface", s("underlay_interface")),
        ("do", action),
    ]
}

#[tokio::test]
async fn the_form_from_the_schema_previews_on_the_devices_then_applies() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let p = b.get(ROUTER).await;
    assert_eq!(p.status, StatusCode::OK);
    // A field per property, its description as help, the enum a select.
    for f in [
        "name",
        "site",
        "version",
        "underlay_address",
        "api_endpoint",
        "api_certificate_sha256",
        "underlay_interface",
    ] {
        assert!(
            p.text.contains(&format!("<label for=\"f-{f}\">")),
            "{f}: {}",
            p.text
        );
    }
    assert!(
        p.text
            .contains("<select id=\"f-version\" name=\"f.version\""),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("The router&#x27;s underlay interface")
            || p.text.contains("The router's underlay interface"),
        "{}",
        p.text
    );
    assert!(p.text.contains("Default: eth0."));
    // The JSON stays for experts.
    assert!(p.text.contains("<textarea id=\"spec\" name=\"spec\""));
    let csrf = hidden(&p.text, "csrf");
    let (spec, version) = stored(&env, "router", "vyos-dc1-01").await;
    let mut changed = spec.clone();
    changed["underlay_interface"] = "eth1".into();
    let v = version.to_string();
    let before = jobs(&env).await;
    let r = b
        .post(ROUTER, &router_fields(&changed, &csrf, &v, "preview"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text
            .contains("<h3 id=\"preview-h\">Preview: <!>Change router vyos-dc1-01</h3>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("track interface eth1"), "{}", r.text);
    assert!(r.text.contains("data-device=\"vyos-dc1-01\""), "{}", r.text);
    assert!(r.text.contains("eth1"));
    // The typed value is kept in the form; nothing is written.
    assert!(r.text.contains("value=\"eth1\""), "{}", r.text);
    assert_eq!(jobs(&env).await, before);
    assert_eq!(
        stored(&env, "router", "vyos-dc1-01").await,
        (spec.clone(), version)
    );
    let r = b
        .post(ROUTER, &router_fields(&changed, &csrf, &v, "apply"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r.location.unwrap().starts_with(&format!("{ROUTER}?saved=")));
    assert_eq!(jobs(&env).await, before + 1);
    let (now, v2) = stored(&env, "router", "vyos-dc1-01").await;
    assert_eq!(now["underlay_interface"], "eth1");
    assert_eq!(v2, version + 1);
    // The same form again, read at the old version: refused, and the page
    // shows the router as it now is, at its new version.
    changed["underlay_interface"] = "eth2".into();
    let r = b
        .post(ROUTER, &router_fields(&changed, &csrf, &v, "apply"))
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert!(r.text.contains("Someone changed this router"), "{}", r.text);
    assert_eq!(hidden(&r.text, "version"), v2.to_string());
    assert!(
        r.text
            .contains("name=\"f.underlay_interface\" type=\"text\" value=\"eth1\""),
        "{}",
        r.text
    );
    assert_eq!(stored(&env, "router", "vyos-dc1-01").await.1, v2);
}

#[tokio::test]
async fn the_forms_errors_are_at_their_fields_all_at_once_and_nothing_is_written() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let p = b.get(ROUTER).await;
    let csrf = hidden(&p.text, "csrf");
    let (spec, version) = stored(&env, "router", "vyos-dc1-01").await;
    let v = version.to_string();
    let before = jobs(&env).await;
    // Two required fields left empty: both named at once, at their fields.
    let mut empty = spec.clone();
    empty["site"] = "".into();
    empty["api_endpoint"] = "".into();
    let r = b
        .post(ROUTER, &router_fields(&empty, &csrf, &v, "apply"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("id=\"f-site-error\""), "{}", r.text);
    assert!(r.text.contains("id=\"f-api_endpoint-error\""), "{}", r.text);
    assert!(r.text.contains("Site is required"), "{}", r.text);
    // The server's pointer lands at the field: a bad address, a site that
    // does not exist (previewed or applied alike).
    let mut wrong = spec.clone();
    wrong["underlay_address"] = "not-an-address".into();
    for action in ["preview", "apply"] {
        let r = b
            .post(ROUTER, &router_fields(&wrong, &csrf, &v, action))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let at = r
            .text
            .find("id=\"f-underlay_address-error\"")
            .expect("error at the field");
        assert!(
            r.text[at..].starts_with(
                "id=\"f-underlay_address-error\" class=\"field-error\">Underlay address: "
            ),
            "{}",
            &r.text[at..at + 200]
        );
        assert!(r.text.contains("aria-invalid=\"true\""));
    }
    let mut wrong = spec.clone();
    wrong["site"] = "dc9".into();
    let r = b
        .post(ROUTER, &router_fields(&wrong, &csrf, &v, "preview"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text
            .contains("id=\"f-site-error\" class=\"field-error\">Site: "),
        "{}",
        r.text
    );
    assert_eq!(jobs(&env).await, before);
    assert_eq!(stored(&env, "router", "vyos-dc1-01").await, (spec, version));
}

#[tokio::test]
async fn previewing_a_new_router_shows_its_configuration_without_keys_and_keeps_nothing() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let p = b.get("/admin/platform/router/new").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("<label for=\"f-name\">"), "{}", p.text);
    let csrf = hidden(&p.text, "csrf");
    let spec = serde_json::json!({"name": "vyos-dc1-09", "site": "dc1", "version": "1.4",
        "underlay_address": "192.0.2.99", "api_endpoint": "https://192.0.2.99"});
    let sealed = count(&env, "SELECT count(*) FROM sealed_secrets").await;
    let before = jobs(&env).await;
    let mut form = router_fields(&spec, &csrf, "0", "preview");
    form.remove(1);
    let r = b.post("/admin/platform/router", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("Preview: <!>Create this router"),
        "{}",
        r.text
    );
    assert!(r.text.contains("data-device=\"vyos-dc1-09\""), "{}", r.text);
    // Its WireGuard key is made for the preview, never shown, not kept.
    assert!(
        r.text.contains("private-key '&lt;secret&gt;'"),
        "{}",
        r.text
    );
    assert_eq!(
        r.text.matches("private-key ").count(),
        r.text.matches("private-key '&lt;secret&gt;'").count()
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM objects WHERE name = 'vyos-dc1-09'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&env, "SELECT count(*) FROM sealed_secrets").await,
        sealed
    );
    assert_eq!(jobs(&env).await, before);
    // Created from the same form.
    let form: Vec<_> = form
        .into_iter()
        .map(|(k, v)| if k == "do" { (k, "apply") } else { (k, v) })
        .collect();
    let r = b.post("/admin/platform/router", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r
        .location
        .unwrap()
        .starts_with("/admin/platform/router/vyos-dc1-09?created="));
    assert_eq!(jobs(&env).await, before + 1);
}
