//! The services and policy page in-process: rules in order with shadowed
//! ones flagged, the atomic reorder (one transaction, one job, one audit
//! entry), previews that write nothing, and who may do what.

mod harness;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use harness::{Env, PASSWORD};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    location: Option<String>,
    text: String,
}

/// A cookie jar and the portal's router (as in tests/portal.rs).
struct Browser {
    app: axum::Router,
    jar: Vec<(String, String)>,
}

impl Browser {
    fn new(env: &Env) -> Self {
        Browser {
            app: vxguard::portal::app(env.st.clone(), "does-not-exist".into()),
            jar: vec![],
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "portal.test")
            .header("origin", "http://portal.test");
        if !self.jar.is_empty() {
            let c: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            b = b.header("cookie", c.join("; "));
        }
        let req = match form {
            Some(f) => {
                let body: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(f)
                    .finish();
                b.header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(body))
            }
            None => b.body(Body::empty()),
        }
        .unwrap();
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        for c in r.headers().get_all("set-cookie") {
            let (kv, _) = c.to_str().unwrap().split_once(';').unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.jar.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.jar.push((k.into(), v.into()));
            }
        }
        let text =
            String::from_utf8_lossy(&r.into_body().collect().await.unwrap().to_bytes()).to_string();
        Page {
            status,
            location,
            text,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Logs in and returns the session's CSRF token.
    async fn login(&mut self, email: &str) -> String {
        let p = self.get("/login").await;
        let csrf = hidden(&p.text, "csrf");
        let p = self
            .post(
                "/login",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "login {email}");
        let home = self.get("/").await.location.unwrap();
        hidden(&self.get(&home).await.text, "csrf")
    }
}

fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn count(env: &Env, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&env.db).await.unwrap()
}

/// The rule's (description, version) as the API shows it.
async fn rule(env: &Env, token: &str, id: u32) -> (String, i64) {
    let r = env
        .get(&format!("/api/v1/tenants/finance/rules/{id}"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (
        r.body["spec"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        r.body["version"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn the_page_lists_rules_in_order_flags_shadowed_ones_and_is_read_only_for_members() {
    let env = Env::demo().await;
    let token = env.token("finance-admin@example.com").await;
    // Rule 9 repeats rule 1: it never applies.
    let r = env
        .post(
            "/api/v1/tenants/finance/rules",
            &token,
            json!({"id": 9, "description": "Again", "action": "accept", "protocol": "tcp",
                   "destination_port": 443, "destination": {"type": "service", "service": "web-servers"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let mut m = Browser::new(&env);
    m.login("finance-member@example.com").await;
    let d = m.get("/t/finance").await;
    assert!(d.text.contains("href=\"/t/finance/policy\""));
    let p = m.get("/t/finance/policy").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let at = |needle: &str| {
        p.text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(at("data-rule=\"1\"") < at("data-rule=\"2\""));
    assert!(at("data-rule=\"3\"") < at("data-rule=\"9\""));
    assert!(p
        .text
        .contains("rule 9 is shadowed by rule 1, which matches everything it matches"));
    assert!(p.text.contains("web-servers"), "services are listed");
    assert!(p.text.contains("id=\"default-action\">drop<"));
    // No forms for members.
    for form in ["rule-edit-form", "/policy/preview", "/toggle"] {
        assert!(!p.text.contains(form), "{form} shown to a member");
    }
    // Even ?edit does not give them one.
    assert!(!m
        .get("/t/finance/policy?edit=1")
        .await
        .text
        .contains("rule-edit-form"));

    // Another tenant's policy page is the missing one's.
    let mut a = Browser::new(&env);
    a.login("acme-admin@example.com").await;
    let theirs = a.get("/t/finance/policy").await;
    let missing = a.get("/t/nope/policy").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.text, missing.text);
    assert!(!theirs.text.contains("Finance"));
}

#[tokio::test]
async fn reordering_is_one_change_with_one_job_and_one_audit_entry() {
    let env = Env::demo().await;
    let token = env.token("finance-admin@example.com").await;
    let mut b = Browser::new(&env);
    let csrf = b.login("finance-admin@example.com").await;
    let p = b.get("/t/finance/policy").await;
    assert!(p.text.contains("aria-label=\"Move rule 2 up\""));
    // A move form names the rule, its new position and the version of the
    // order, never the whole order.
    assert!(!p.text.contains("name=\"order\""));
    assert!(p
        .text
        .contains("aria-label=\"Move rule 3 to that position\""));
    let version = hidden(&p.text, "order_version");
    let jobs = count(&env, "SELECT count(*) FROM jobs").await;
    let audits = count(&env, "SELECT count(*) FROM audit_log").await;
    let (_, v1) = rule(&env, &token, 1).await;
    let (_, v3) = rule(&env, &token, 3).await;
    let move_2_up: &[(&str, &str)] = &[
        ("csrf", &csrf),
        ("rule", "2"),
        ("to", "1"),
        ("order_version", &version),
    ];

    // The preview of the move writes nothing and offers the change.
    let p = b
        .post(
            "/t/finance/policy/preview",
            &[&[("op", "move")], move_2_up].concat(),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(
        p.text
            .contains("move rule 2 above rule 1 (position 2 → 1 of 3)"),
        "{}",
        p.text
    );
    assert!(p.text.contains("id=\"confirm-change\""));
    assert!(p.text.contains("class=\"add\""));
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs);

    let p = b.post("/t/finance/policy/order", move_2_up).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(
        to.starts_with("/t/finance/policy?done=moved&rule=2&to=1&job="),
        "{to}"
    );
    assert!(to.ends_with("#rule-2"), "{to}");
    let landed = b.get(&to).await;
    assert!(landed
        .text
        .contains("Rule 2 moved to position 1 (its number stays 2); job #"));
    let at = |n: u32| landed.text.find(&format!("data-rule=\"{n}\"")).unwrap();
    assert!(at(2) < at(1) && at(1) < at(3));
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs + 1);
    assert_eq!(
        count(&env, "SELECT count(*) FROM audit_log").await,
        audits + 1
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE action = 'policy.reorder' AND object = 'tenants/finance/policy'"
        )
        .await,
        1
    );
    // The rules moved with their numbers: rule 2 is still rule 2, and no
    // rule's spec or version changed (the audit's rules/2 names it still).
    let (d1, nv1) = rule(&env, &token, 1).await;
    let (d2, _) = rule(&env, &token, 2).await;
    assert_eq!(
        (d1.as_str(), d2.as_str()),
        ("Allow Web Traffic", "Allow Database Access")
    );
    assert_eq!(nv1, v1);
    assert_eq!(rule(&env, &token, 3).await.1, v3);
    let audit: serde_json::Value = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'policy.reorder' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(audit, json!({"order": [2, 1, 3]}));

    // The same form again is stale now: refused, nothing written; and so
    // is a fresh one once another rule changed.
    let p = b.post("/t/finance/policy/order", move_2_up).await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED, "{}", p.text);
    assert!(p.text.contains("id=\"policy-errors\""));
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs + 1);
    let fresh = hidden(&b.get("/t/finance/policy").await.text, "order_version");
    assert_ne!(fresh, version);
    let r = env
        .post(
            "/api/v1/tenants/finance/rules",
            &token,
            json!({"id": 7, "action": "drop", "protocol": "udp", "destination_port": 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let p = b
        .post(
            "/t/finance/policy/order",
            &[
                ("csrf", &csrf),
                ("rule", "3"),
                ("to", "1"),
                ("order_version", &fresh),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED, "{}", p.text);
    let r = env.delete("/api/v1/tenants/finance/rules/7", &token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let jobs = jobs + 2;

    // The API: the same operation, and its errors name the entry.
    let r = env
        .post(
            "/api/v1/tenants/finance/policy/order",
            &token,
            json!({"order": [{"id": 3}, {"id": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("missing: 2"), "{}", r.text);
    let r = env
        .post(
            "/api/v1/tenants/finance/policy/order",
            &token,
            json!({"order": [{"id": 3}, {"id": 1}, {"id": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers.get("x-job").is_some());
    assert_eq!(
        r.body["items"][0]["spec"]["description"],
        "Block External SSH"
    );
    assert_eq!(r.body["items"][0]["spec"]["id"], 3);
    let order: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["spec"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![3, 1, 2]);
    // A rule added now goes right after the next lower number (rule 4
    // after rule 3, wherever that is), or first when there is none (rule 0).
    for (id, port) in [(0, 9), (4, 10)] {
        let r = env
            .post(
                "/api/v1/tenants/finance/rules",
                &token,
                json!({"id": id, "action": "drop", "protocol": "udp", "destination_port": port}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let page = b.get("/t/finance/policy").await;
    let at = |n: u32| page.text.find(&format!("data-rule=\"{n}\"")).unwrap();
    assert!(at(0) < at(3) && at(3) < at(4) && at(4) < at(1) && at(1) < at(2));
    for id in [0, 4] {
        let r = env
            .delete(&format!("/api/v1/tenants/finance/rules/{id}"), &token)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let jobs = jobs + 4;
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs + 2);
    // The worker compiles them.
    assert!(env.drain().await >= 1);
    let failed = count(&env, "SELECT count(*) FROM jobs WHERE status <> 'done'").await;
    assert_eq!(failed, 0);
}

#[tokio::test]
async fn a_preview_shows_the_changed_lines_and_writes_nothing() {
    let env = Env::demo().await;
    env.drain().await;
    let token = env.token("finance-admin@example.com").await;
    let mut b = Browser::new(&env);
    let csrf = b.login("finance-admin@example.com").await;
    let snapshot = |env: &Env| {
        let db = env.db.clone();
        async move {
            let q = |sql: &'static str| {
                let db = db.clone();
                async move {
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&db)
                        .await
                        .unwrap()
                }
            };
            (
                q("SELECT count(*) FROM jobs").await,
                q("SELECT count(*) FROM revisions").await,
                q("SELECT count(*) FROM audit_log").await,
                q("SELECT coalesce(sum(version), 0)::bigint FROM objects").await,
            )
        }
    };
    let before = snapshot(&env).await;

    // An edit form: rule 1 on port 8443 instead of 443.
    let p = b.get("/t/finance/policy?edit=1").await;
    let version = hidden(&p.text, "version");
    let form = |port: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("op", "replace".to_string()),
            ("id", "1".into()),
            ("version", version.clone()),
            ("description", "Allow Web Traffic".into()),
            ("action", "accept".into()),
            ("protocol", "tcp".into()),
            ("port", port.into()),
            ("source", "any".into()),
            ("destination", "service:web-servers".into()),
        ]
    };
    let f = form("8443");
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post("/t/finance/policy/preview", &pairs).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let added: Vec<&str> = p
        .text
        .split("<span class=\"add\">")
        .skip(1)
        .map(|s| &s[..s.find("</span>").unwrap()])
        .collect();
    assert!(
        added
            .iter()
            .any(|l| l.contains("set firewall") && l.contains("8443")),
        "{added:?}"
    );
    assert!(added.iter().any(|l| l.contains("tp_dst=8443")), "{added:?}");
    assert!(p.text.contains("data-kind=\"router\""));
    assert!(p.text.contains("data-kind=\"hypervisor\""));
    // The form is still there, as typed, under the same version.
    assert!(p.text.contains("value=\"8443\""));
    let form_at = p.text.find("id=\"service-edit-form\"").unwrap();
    assert_eq!(hidden(&p.text[form_at..], "version"), version);

    // A bad port: the error next to the field, no preview.
    let f = form("99999");
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post("/t/finance/policy/preview", &pairs).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"port-error\""), "{}", p.text);
    assert!(!p.text.contains("class=\"add\""));

    // The API's preview says the same, as JSON.
    let r = env
        .post(
            "/api/v1/tenants/finance/rules/preview",
            &token,
            json!({"replace": {"id": 1, "action": "accept", "protocol": "tcp", "destination_port": 8443,
                   "destination": {"type": "service", "service": "web-servers"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let devices = r.body["devices"].as_array().unwrap();
    assert!(devices.iter().any(|d| d["kind"] == "hypervisor"));
    assert!(devices.iter().all(|d| d["added"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().contains("8443"))));
    let r = env
        .post(
            "/api/v1/tenants/finance/rules/preview",
            &token,
            json!({"create": {"id": 1, "action": "drop"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["errors"][0]["pointer"], "/create/id");

    // Nothing was written: no job, no revision, no audit entry, no version.
    assert_eq!(env.drain().await, 0);
    assert_eq!(snapshot(&env).await, before);
}

#[tokio::test]
async fn rules_are_added_toggled_and_deleted_through_the_forms() {
    let env = Env::demo().await;
    let token = env.token("finance-admin@example.com").await;
    let mut b = Browser::new(&env);
    let csrf = b.login("finance-admin@example.com").await;
    let p = b.get("/t/finance/policy").await;
    assert!(p.text.contains("name=\"op\" value=\"create\""));
    assert!(
        p.text.contains("value=\"4\""),
        "the next number is suggested"
    );
    let p = b
        .post(
            "/t/finance/policy/rules",
            &[
                ("csrf", &csrf),
                ("op", "create"),
                ("id", "4"),
                ("action", "accept"),
                ("protocol", "udp"),
                ("port", "53"),
                ("source", "network:web"),
                ("destination", "cidr"),
                ("destination_cidr", "100.64.1.0/33"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(
        p.text.contains("id=\"destination_cidr-error\""),
        "{}",
        p.text
    );
    let p = b
        .post(
            "/t/finance/policy/rules",
            &[
                ("csrf", &csrf),
                ("op", "create"),
                ("id", "4"),
                ("description", "DNS"),
                ("action", "accept"),
                ("protocol", "udp"),
                ("port", "53"),
                ("source", "network:web"),
                ("destination", "cidr"),
                ("destination_cidr", "100.64.1.16/28"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert!(p
        .location
        .unwrap()
        .starts_with("/t/finance/policy?done=created&rule=4&job="));
    let (d, v) = rule(&env, &token, 4).await;
    assert_eq!(d, "DNS");
    // Its number again: taken, said at the number's field, alone or with
    // a bad prefix.
    for cidr in ["100.64.1.32/28", "100.64.1.0/33"] {
        let p = b
            .post(
                "/t/finance/policy/rules",
                &[
                    ("csrf", &csrf),
                    ("op", "create"),
                    ("id", "4"),
                    ("action", "accept"),
                    ("protocol", "udp"),
                    ("port", "53"),
                    ("source", "network:web"),
                    ("destination", "cidr"),
                    ("destination_cidr", cidr),
                ],
            )
            .await;
        assert!(p.status.is_client_error(), "{cidr}: {}", p.text);
        let at = p
            .text
            .find("id=\"id-error\"")
            .unwrap_or_else(|| panic!("{cidr}: {}", p.text));
        assert!(p.text[at..].contains("Rule 4 already exists"), "{cidr}");
        assert_eq!(
            p.text.contains("id=\"destination_cidr-error\""),
            cidr.ends_with("/33"),
            "{cidr}"
        );
    }
    // Disable, then delete (after its preview).
    let p = b
        .post(
            "/t/finance/policy/rules/4/toggle",
            &[("csrf", &csrf), ("version", &v.to_string())],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let page = b.get(&p.location.unwrap()).await;
    assert!(page.text.contains("Rule 4 disabled"));
    assert!(page.text.contains("aria-label=\"Enable rule 4\""));
    let v = rule(&env, &token, 4).await.1;
    let p = b
        .post(
            "/t/finance/policy/preview",
            &[
                ("csrf", &csrf),
                ("op", "delete"),
                ("rule", "4"),
                ("version", &v.to_string()),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    // A disabled rule compiles to nothing: deleting it changes no device.
    assert!(p.text.contains("No device configuration would change."));
    assert!(p
        .text
        .contains("action=\"/t/finance/policy/rules/4/delete\""));
    let p = b
        .post(
            "/t/finance/policy/rules/4/delete",
            &[("csrf", &csrf), ("version", &v.to_string())],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let r = env.get("/api/v1/tenants/finance/rules/4", &token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn services_are_added_edited_and_deleted_and_the_default_action_is_set() {
    let env = Env::demo().await;
    let token = env.token("finance-admin@example.com").await;
    let mut b = Browser::new(&env);
    let csrf = b.login("finance-admin@example.com").await;
    let jobs = count(&env, "SELECT count(*) FROM jobs").await;
    let p = b.get("/t/finance/policy").await;
    // Each service says which rules use it.
    let row = |html: &str, name: &str| -> String {
        let at = html
            .find(&format!("data-service=\"{name}\""))
            .unwrap_or_else(|| panic!("no row for {name}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(row(&p.text, "web-servers").contains("rules 1, 2"));
    assert!(row(&p.text, "database-servers").contains(">rule 2<"));

    // A bad address: refused, the error at the addresses field.
    let add = |addresses: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("service_id", "resolvers".to_string()),
            ("addresses", addresses.to_string()),
        ]
    };
    let f = add("100.64.9.53\n100.64.9.300");
    let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post("/t/finance/policy/services", &form).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(
        p.text.contains("id=\"service_addresses-error\""),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("100.64.9.300"),
        "the form keeps what was typed"
    );
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs);

    // Added through the API's write path: a bare address is a /32.
    let f = add("100.64.9.53, 100.64.9.54/32");
    let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post("/t/finance/policy/services", &form).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(
        to.starts_with("/t/finance/policy?done=service-added&name=resolvers&job="),
        "{to}"
    );
    assert!(b
        .get(&to)
        .await
        .text
        .contains("Service resolvers added; job #"));
    let r = env
        .get("/api/v1/tenants/finance/services/resolvers", &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["spec"]["addresses"],
        json!(["100.64.9.53/32", "100.64.9.54/32"])
    );
    let version = r.body["version"].as_i64().unwrap().to_string();

    // Edited at the version read; the same form again is stale.
    let p = b.get("/t/finance/policy?edit_service=resolvers").await;
    assert!(p.text.contains("Edit service resolvers"));
    let form_at = p.text.find("id=\"service-edit-form\"").unwrap();
    assert_eq!(hidden(&p.text[form_at..], "version"), version);
    let edit: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("id", "resolvers"),
        ("version", &version),
        ("service_description", "DNS resolvers"),
        ("addresses", "100.64.9.53/32"),
    ];
    let p = b.post("/t/finance/policy/services/resolvers", &edit).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let r = env
        .get("/api/v1/tenants/finance/services/resolvers", &token)
        .await;
    assert_eq!(r.body["spec"]["description"], "DNS resolvers");
    assert_eq!(r.body["spec"]["addresses"], json!(["100.64.9.53/32"]));
    let p = b.post("/t/finance/policy/services/resolvers", &edit).await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED, "{}", p.text);
    assert!(p.text.contains("Someone changed this service"));
    let version = r.body["version"].as_i64().unwrap().to_string();

    // In use by a rule: not deleted, the rule named at the service's row.
    let r = env
        .post(
            "/api/v1/tenants/finance/rules",
            &token,
            json!({"id": 8, "action": "accept", "protocol": "udp", "destination_port": 53,
                   "destination": {"type": "service", "service": "resolvers"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let del: Vec<(&str, &str)> = vec![("csrf", &csrf), ("version", &version)];
    let p = b
        .post("/t/finance/policy/services/resolvers/delete", &del)
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.text);
    let refused = row(&p.text, "resolvers");
    assert!(
        refused.contains(
            "Service resolvers is used by rule 8: change those rules or delete them first"
        ),
        "{refused}"
    );
    assert!(refused.contains("class=\"field-error\""));
    let r = env
        .get("/api/v1/tenants/finance/services/resolvers", &token)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env.delete("/api/v1/tenants/finance/rules/8", &token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let p = b
        .post("/t/finance/policy/services/resolvers/delete", &del)
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let r = env
        .get("/api/v1/tenants/finance/services/resolvers", &token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The default action, at the tenant's version: set, then stale.
    let p = b.get("/t/finance/policy").await;
    let tv = hidden(
        &p.text[p.text.find("id=\"default-action-form\"").unwrap()..],
        "version",
    );
    let set: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("version", &tv),
        ("default_action", "reject"),
    ];
    let p = b.post("/t/finance/policy/default", &set).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    let landed = b.get(&to).await;
    assert!(landed.text.contains("Default action set to reject; job #"));
    assert!(landed.text.contains("id=\"default-action\">reject<"));
    let r = env.get("/api/v1/tenants/finance", &token).await;
    assert_eq!(r.body["default_action"], "reject");
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE action = 'tenant.update'"
        )
        .await,
        1
    );
    let p = b.post("/t/finance/policy/default", &set).await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED, "{}", p.text);
    assert!(p.text.contains("Someone changed the tenant"));
    let now = r.body["version"].as_i64().unwrap().to_string();
    let bad: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("version", &now),
        ("default_action", "maybe"),
    ];
    let p = b.post("/t/finance/policy/default", &bad).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("Choose accept, drop or reject."));
    // A member can do none of it.
    let mut m = Browser::new(&env);
    let mcsrf = m.login("finance-member@example.com").await;
    let p = m.get("/t/finance/policy").await;
    assert!(!p.text.contains("service-edit-form") && !p.text.contains("default-action-form"));
    let p = m
        .post(
            "/t/finance/policy/default",
            &[
                ("csrf", &mcsrf),
                ("version", "1"),
                ("default_action", "accept"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // The worker compiles every change.
    env.drain().await;
    let failed = count(&env, "SELECT count(*) FROM jobs WHERE status <> 'done'").await;
    assert_eq!(failed, 0);
}

#[tokio::test]
async fn members_are_refused_other_tenants_get_not_found_and_csrf_is_checked() {
    let env = Env::demo().await;
    let jobs = count(&env, "SELECT count(*) FROM jobs").await;
    let order: &[(&str, &str)] = &[("rule", "2"), ("to", "1"), ("order_version", "x")];
    let with = |csrf: &str, op: Option<&'static str>| {
        let mut v: Vec<(String, String)> = vec![("csrf".into(), csrf.into())];
        if let Some(op) = op {
            v.push(("op".into(), op.into()));
        }
        v.extend(order.iter().map(|(k, x)| (k.to_string(), x.to_string())));
        v
    };
    let pairs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    async fn post(b: &mut Browser, path: &str, v: Vec<(String, String)>) -> StatusCode {
        let p: Vec<(&str, &str)> = v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
        b.post(path, &p).await.status
    }

    let mut m = Browser::new(&env);
    let mcsrf = m.login("finance-member@example.com").await;
    for (path, op) in [
        ("/t/finance/policy/order", None),
        ("/t/finance/policy/preview", Some("move")),
        ("/t/finance/policy/rules", Some("create")),
        ("/t/finance/policy/rules/1/toggle", None),
        ("/t/finance/policy/rules/1/delete", None),
    ] {
        let status = post(&mut m, path, pairs(&with(&mcsrf, op))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "member {path}");
    }
    let mtoken = env.token("finance-member@example.com").await;
    let r = env
        .post(
            "/api/v1/tenants/finance/policy/order",
            &mtoken,
            json!({"order": [{"id": 2}, {"id": 1}, {"id": 3}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut a = Browser::new(&env);
    let acsrf = a.login("acme-admin@example.com").await;
    for (path, op) in [
        ("/t/finance/policy/order", None),
        ("/t/finance/policy/preview", Some("move")),
    ] {
        let status = post(&mut a, path, pairs(&with(&acsrf, op))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "other tenant {path}");
    }
    let atoken = env.token("acme-admin@example.com").await;
    let r = env
        .post(
            "/api/v1/tenants/finance/rules/preview",
            &atoken,
            json!({"delete": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The tenant's admin, but without the token or with a wrong one.
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    for csrf in ["", "wrong"] {
        let status = post(&mut b, "/t/finance/policy/order", pairs(&with(csrf, None))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let status = post(
            &mut b,
            "/t/finance/policy/preview",
            pairs(&with(csrf, Some("move"))),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs);
}

/// Adds finance rules `from..=to` ("Bulk N", tcp port 10000 + N, not
/// shadowing each other) straight into the table, in one statement: one by
/// one through `change::apply`, each would check the whole policy again
/// (shadowing compares every pair of rules), which takes minutes at 2,000.
async fn bulk_rules(env: &Env, from: i32, to: i32) {
    sqlx::query(
        "INSERT INTO objects (id, kind, tenant_id, name, spec)
         SELECT gen_random_uuid(), 'rule', t.id, g::text, jsonb_build_object(
             'id', g, 'description', 'Bulk ' || g, 'action', 'accept', 'protocol', 'tcp',
             'destination_port', 10000 + g, 'source', jsonb_build_object('type', 'any'),
             'destination', jsonb_build_object('type', 'any'))
         FROM tenants t, generate_series($1::int, $2::int) g WHERE t.slug = 'finance'",
    )
    .bind(from)
    .bind(to)
    .execute(&env.db)
    .await
    .unwrap();
}

/// The props the page embeds for hydration.
fn props_json(html: &str) -> &str {
    let start = html.find("id=\"vx-props\">").unwrap() + 14;
    &html[start..start + html[start..].find("</script>").unwrap()]
}

#[tokio::test]
async fn thousands_of_rules_are_paged_and_a_rule_moves_across_pages_by_number() {
    use std::time::Instant;
    let env = Env::demo().await;
    let token = env.token("finance-admin@example.com").await;
    let mut b = Browser::new(&env);
    let csrf = b.login("finance-admin@example.com").await;
    // The demo's rules 1-3, then up to 200 and to 2,000.
    bulk_rules(&env, 4, 200).await;
    let small = b.get("/t/finance/policy").await;
    assert_eq!(small.status, StatusCode::OK, "{}", small.text);
    assert!(small.text.contains("Rules 1–100 of 200 · page 1 of 2"));
    bulk_rules(&env, 201, 2000).await;
    let t = Instant::now();
    let big = b.get("/t/finance/policy").await;
    eprintln!(
        "policy page with 2000 rules: {} bytes (200 rules: {}) in {:?}",
        big.text.len(),
        small.text.len(),
        t.elapsed()
    );
    assert_eq!(big.status, StatusCode::OK);
    // Bounded: one page of rows, each without a copy of the order, so ten
    // times the rules make (almost) the same page.
    assert!(big.text.len() < 1_000_000, "{} bytes", big.text.len());
    assert!(
        big.text.len() < small.text.len() * 11 / 10,
        "200 rules: {} bytes, 2000: {}",
        small.text.len(),
        big.text.len()
    );
    assert_eq!(big.text.matches("<tr data-rule=").count(), 100);
    assert!(big.text.contains("Rules 1–100 of 2000 · page 1 of 20"));
    assert!(big
        .text
        .contains("href=\"/t/finance/policy?page=20#rules-h\""));
    // The JSON the browser hydrates from holds the same page of rules.
    let props: serde_json::Value = serde_json::from_str(props_json(&big.text)).unwrap();
    let shown = &props["page"]["Policy"];
    assert_eq!(shown["rules"].as_array().unwrap().len(), 100);
    assert_eq!(shown["pager"]["total"], 2000);
    assert!(props_json(&big.text).len() < 100_000);

    // The last page; a page past it is the last one.
    let last = b.get("/t/finance/policy?page=20").await;
    assert!(last.text.contains("data-rule=\"2000\""));
    assert!(!last.text.contains("data-rule=\"1900\""));
    assert!(last.text.contains("Rules 1901–2000 of 2000"));
    assert_eq!(
        b.get("/t/finance/policy?page=99")
            .await
            .text
            .matches("data-rule=\"1901\"")
            .count(),
        1
    );

    // Rule 1450, on page 15, to position 50, on page 1: its form holds
    // only its number, the position and the order's version.
    let p15 = b.get("/t/finance/policy?page=15").await;
    assert!(p15
        .text
        .contains("aria-label=\"Move rule 1450 to that position\""));
    assert!(!p15.text.contains("data-rule=\"1501\""));
    let version = hidden(&p15.text, "order_version");
    let form: &[(&str, &str)] = &[
        ("csrf", &csrf),
        ("rule", "1450"),
        ("to", "50"),
        ("order_version", &version),
    ];
    let t = Instant::now();
    let p = b
        .post(
            "/t/finance/policy/preview",
            &[&[("op", "move")], form].concat(),
        )
        .await;
    eprintln!(
        "preview of the move: {:?}, {} bytes",
        t.elapsed(),
        p.text.len()
    );
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(
        p.text
            .contains("move rule 1450 above rule 50 (position 1450 → 50 of 2000)"),
        "{}",
        &p.text[..2000]
    );
    let confirm = &p.text[p.text.find("id=\"confirm-form\"").unwrap()..];
    let confirm = &confirm[..confirm.find("</form>").unwrap()];
    assert!(confirm.contains("name=\"to\" value=\"50\""), "{confirm}");
    assert!(
        confirm.contains("name=\"rule\" value=\"1450\""),
        "{confirm}"
    );
    // The preview shows the first lines per device and counts the rest:
    // 1,401 rules rewritten would be megabytes of lines.
    assert!(p.text.len() < 1_000_000, "{} bytes", p.text.len());
    assert!(p.text.contains(" more lines (−"));
    assert!(p.text.matches("<span class=\"add\">").count() <= 6 * 100);
    let t = Instant::now();
    let p = b.post("/t/finance/policy/order", form).await;
    eprintln!("the move: {:?}", t.elapsed());
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(to.ends_with("&page=1#rule-1450"), "{to}");
    // The rules move with their numbers: rule 1450 is still "Bulk 1450",
    // now at position 50, between rules 49 and 50; no rule's spec or
    // version changed.
    for number in [49, 50, 1449, 1450, 1451] {
        let (desc, version) = rule(&env, &token, number).await;
        assert_eq!(desc, format!("Bulk {number}"));
        assert_eq!(version, 1, "rule {number}");
    }
    let landed = b.get(&to).await;
    assert!(
        landed
            .text
            .contains("Rule 1450 moved to position 50 (its number stays 1450); job #"),
        "{}",
        &landed.text[..3000]
    );
    let at = |n: u32| landed.text.find(&format!("data-rule=\"{n}\"")).unwrap();
    assert!(at(49) < at(1450) && at(1450) < at(50));
    let row = &landed.text[at(1450)..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("Bulk 1450") && row.contains(">50</td>"),
        "{row}"
    );
    assert_eq!(landed.text.matches("<tr data-rule=").count(), 100);
    // The same form again is stale: refused, nothing moves.
    let p = b.post("/t/finance/policy/order", form).await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED);
    let page1 = b.get("/t/finance/policy").await;
    let pos = |n: u32| page1.text.find(&format!("data-rule=\"{n}\"")).unwrap();
    assert!(pos(1450) < pos(50));

    // Search: by text, action and service, as a plain GET; pages keep it.
    let t = Instant::now();
    let found = b.get("/t/finance/policy?q=bulk+14").await;
    eprintln!("search over 2000 rules: {:?}", t.elapsed());
    // "Bulk 14", "Bulk 140"-"Bulk 149", "Bulk 1400"-"Bulk 1499": 111.
    assert!(
        found.text.contains("111 of 2000 rules match"),
        "{}",
        &found.text[..3000]
    );
    assert_eq!(found.text.matches("<tr data-rule=").count(), 100);
    assert!(found
        .text
        .contains("href=\"/t/finance/policy?page=2&amp;q=bulk%2014#rules-h\""));
    let second = b.get("/t/finance/policy?page=2&q=bulk%2014").await;
    assert_eq!(second.text.matches("<tr data-rule=").count(), 11);
    // The rows keep their positions among all the rules.
    let row = &found.text[found.text.find("data-rule=\"1450\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains(">50</td>"));
    let none = b.get("/t/finance/policy?action=reject").await;
    assert!(none.text.contains("0 of 2000 rules match"));
    assert!(none.text.contains("No rule matches the search."));
    let db = b
        .get("/t/finance/policy?service=database-servers&action=accept")
        .await;
    assert!(
        db.text.contains("1 of 2000 rules match"),
        "{}",
        &db.text[..3000]
    );
    assert!(db.text.contains("data-rule=\"2\""));
    let web = b.get("/t/finance/policy?service=web-servers").await;
    assert!(web.text.contains("2 of 2000 rules match"));
}

/// The default action is previewed like a rule (it can open or close all
/// of a tenant's traffic at once): the devices' lines, nothing written,
/// and the confirm form that sets it at the version the page showed.
#[tokio::test]
async fn the_default_action_is_previewed_before_it_is_set() {
    let env = Env::demo().await;
    env.drain().await;
    let token = env.token("finance-admin@example.com").await;
    let mut b = Browser::new(&env);
    let csrf = b.login("finance-admin@example.com").await;
    let p = b.get("/t/finance/policy").await;
    let card = &p.text[p.text.find("id=\"default-action-form\"").unwrap()..];
    assert!(card.contains("id=\"default-preview\""), "{card}");
    let tv = hidden(card, "version");
    let jobs = count(&env, "SELECT count(*) FROM jobs").await;
    let audit = count(&env, "SELECT count(*) FROM audit_log").await;
    let p = b
        .post(
            "/t/finance/policy/preview",
            &[
                ("csrf", &csrf),
                ("op", "default"),
                ("version", &tv),
                ("default_action", "accept"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(
        p.text.contains("set the default action to accept"),
        "{}",
        p.text
    );
    assert!(p.text.contains("id=\"preview-summary\""), "{}", p.text);
    assert!(
        p.text.contains("class=\"add\""),
        "no line added: {}",
        p.text
    );
    let at = p
        .text
        .find("id=\"confirm-form\"")
        .expect("the confirm form");
    let confirm = &p.text[p.text[..at].rfind("<form").unwrap()..];
    let confirm = &confirm[..confirm.find("</form>").unwrap()];
    assert!(
        confirm.contains("action=\"/t/finance/policy/default\"")
            && confirm.contains("Set the default action to accept"),
        "{confirm}"
    );
    assert_eq!(hidden(confirm, "default_action"), "accept");
    assert_eq!(hidden(confirm, "version"), tv);
    // Nothing written by the preview.
    assert_eq!(count(&env, "SELECT count(*) FROM jobs").await, jobs);
    assert_eq!(count(&env, "SELECT count(*) FROM audit_log").await, audit);
    let r = env.get("/api/v1/tenants/finance", &token).await;
    assert_eq!(r.body["default_action"], "drop");
    // A word that is no action: said at the field, nothing previewed.
    let p = b
        .post(
            "/t/finance/policy/preview",
            &[
                ("csrf", &csrf),
                ("op", "default"),
                ("version", &tv),
                ("default_action", "maybe"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("Choose accept, drop or reject."));
    // The confirm form sets it.
    let p = b
        .post(
            "/t/finance/policy/default",
            &[
                ("csrf", &csrf),
                ("version", &tv),
                ("default_action", "accept"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let r = env.get("/api/v1/tenants/finance", &token).await;
    assert_eq!(r.body["default_action"], "accept");
}
