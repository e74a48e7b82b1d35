//! The portal's WireGuard clients in-process (playwright/tests/clients.test.mjs
//! drives the browser side, where the key pair is made): creating one from a
//! public key (the server never makes or sees a private key), the config
//! template it answers, tenant isolation, CSRF, and revoking.

mod harness;

use axum::http::{Method, StatusCode};
use harness::browser::{hidden, Browser};
use harness::Env;

/// A key pair as the browser makes it (the same code, in `app::wg`).
fn pair(seed: u8) -> (String, String) {
    app::wg::keypair([seed; 32])
}

#[tokio::test]
async fn a_client_is_created_from_a_public_key_and_gets_its_template() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login_ok("finance-admin@example.com").await;
    let d = b.get("/t/finance").await;
    assert!(d.text.contains("href=\"/t/finance/clients\""));
    let p = b.get("/t/finance/clients").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("data-client=\"cfo-laptop\""));
    assert!(p.text.contains("id=\"client-form\""));
    assert!(p
        .text
        .contains("href=\"/t/finance/clients/cfo-laptop/delete\""));
    let csrf = hidden(&p.text, "csrf");

    // As the hydrated page sends it: the public key only.
    let (private, public) = pair(7);
    let r = b
        .post_json(
            "/t/finance/clients",
            &[
                ("csrf", &csrf),
                ("name", "phone"),
                ("public_key", &public),
                ("network", "web"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"));
    assert!(!r.text.contains("PrivateKey") && !r.text.contains(&private));
    let created: app::clients::ClientCreated = serde_json::from_str(&r.text).unwrap();
    let config = created.config.clone().expect("finance has networks");
    assert_eq!(created.client.public_key, public);
    assert_eq!(created.client.networks, vec!["web".to_string()]);
    assert_eq!(config.client, "phone");
    let address = created.client.address.clone().unwrap();
    assert_eq!(config.address, address);
    let peer = &config.peers[0];
    assert_eq!(peer.allowed_ips, vec!["100.64.1.0/28".to_string()]);
    assert!(
        peer.endpoint.contains(':') && peer.public_key.len() == 44,
        "{peer:?}"
    );
    // The file the browser writes from it.
    let conf = config.wg_quick(&private);
    assert!(conf.contains(&format!("PrivateKey = {private}\nAddress = {address}/32\n")));
    // A job compiles it.
    let reason: String = sqlx::query_scalar("SELECT reason FROM jobs WHERE id = $1")
        .bind(created.job)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(reason, "client.create tenants/finance/clients/phone");

    // The stored client is the API's, with that public key, and the API's
    // config template is the same one.
    let token = env.token("finance-admin@example.com").await;
    let api = env
        .get("/api/v1/tenants/finance/clients/phone", &token)
        .await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.body["spec"]["public_key"], public.as_str());
    let tpl = env
        .get("/api/v1/tenants/finance/clients/phone/config", &token)
        .await;
    assert_eq!(tpl.status, StatusCode::OK, "{}", tpl.text);
    assert_eq!(
        serde_json::from_value::<app::wg::ClientConfig>(tpl.body).unwrap(),
        config
    );

    // Without JavaScript: a plain form post, then the page with the file
    // and a place for the user's own private key.
    let (_, public2) = pair(8);
    let p = b
        .post(
            "/t/finance/clients",
            &[("csrf", &csrf), ("name", "desk"), ("public_key", &public2)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(
        to.starts_with("/t/finance/clients?created=desk&job="),
        "{to}"
    );
    let p = b.get(&to).await;
    assert!(p.text.contains("Client desk created"), "{}", p.text);
    assert!(p.text.contains("PrivateKey = &lt;your private key&gt;"));
    assert!(p.text.contains(&public2));
    assert!(!p.text.contains("id=\"client-qr\""));

    // A taken name: at the name's field, alone or with a missing key.
    for key in [public2.as_str(), ""] {
        let p = b
            .post(
                "/t/finance/clients",
                &[("csrf", &csrf), ("name", "desk"), ("public_key", key)],
            )
            .await;
        assert!(p.status.is_client_error(), "{key}: {}", p.text);
        let at = p
            .text
            .find("id=\"name-error\"")
            .unwrap_or_else(|| panic!("{key}: {}", p.text));
        assert!(
            p.text[at..].contains("A device named desk already exists"),
            "{key}"
        );
        assert_eq!(
            p.text.contains("id=\"public_key-error\""),
            key.is_empty(),
            "{key}"
        );
    }

    // No public key: refused with the reason next to the field; the server
    // makes no key pair for the portal.
    let p = b
        .post(
            "/t/finance/clients",
            &[("csrf", &csrf), ("name", "nokey"), ("public_key", "")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"public_key-error\""), "{}", p.text);
    assert!(p.text.contains("value=\"nokey\""));
    // Neither a name nor a key, or a bad name and a bad key: both at their
    // fields at once (the form has `novalidate`; the server asks).
    let p = b
        .post(
            "/t/finance/clients",
            &[("csrf", &csrf), ("name", ""), ("public_key", "")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("Enter a name for the device"), "{}", p.text);
    assert!(p.text.contains("id=\"public_key-error\""), "{}", p.text);
    let r = b
        .post_json(
            "/t/finance/clients",
            &[("csrf", &csrf), ("name", "Bad Name"), ("public_key", "abc")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let pointers: Vec<String> = serde_json::from_str::<serde_json::Value>(&r.text).unwrap()
        ["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(pointers, ["/name", "/public_key"], "{}", r.text);
    let r = b
        .post_json(
            "/t/finance/clients",
            &[("csrf", &csrf), ("name", "badkey"), ("public_key", "abc")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let problem: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/public_key", "{problem}");
    for n in ["nokey", "badkey"] {
        let r = env
            .get(&format!("/api/v1/tenants/finance/clients/{n}"), &token)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{n}");
    }
}

#[tokio::test]
async fn members_read_only_and_other_tenants_get_not_found() {
    let env = Env::demo().await;
    let (_, public) = pair(9);
    let mut m = Browser::new(&env);
    m.login_ok("finance-member@example.com").await;
    let p = m.get("/t/finance/clients").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("data-client=\"cfo-laptop\""));
    assert!(!p.text.contains("id=\"client-form\""));
    assert!(!p.text.contains("/delete\""));
    let csrf = m.csrf("/t/finance").await;
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "mine"),
        ("public_key", &public),
    ];
    assert_eq!(
        m.post("/t/finance/clients", &form).await.status,
        StatusCode::FORBIDDEN
    );
    let r = m.post_json("/t/finance/clients", &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert_eq!(
        m.get("/t/finance/clients/cfo-laptop/delete").await.status,
        StatusCode::FORBIDDEN
    );

    let mut a = Browser::new(&env);
    a.login_ok("acme-admin@example.com").await;
    let theirs = a.get("/t/finance/clients").await;
    let missing = a.get("/t/no-such-tenant/clients").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.text, missing.text);
    assert!(!theirs.text.contains("cfo-laptop"));
    let csrf = a.csrf("/t/acme").await;
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "spy"),
        ("public_key", &public),
    ];
    assert_eq!(
        a.post("/t/finance/clients", &form).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.post_json("/t/finance/clients", &form).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/t/finance/clients/cfo-laptop/delete").await.status,
        StatusCode::NOT_FOUND
    );
    let p = a
        .post(
            "/t/finance/clients/cfo-laptop/delete",
            &[("csrf", &csrf), ("version", "1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM objects WHERE kind = 'client' AND name IN ('mine', 'spy')",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn client_forms_need_the_csrf_token() {
    let env = Env::demo().await;
    let (_, public) = pair(10);
    let mut b = Browser::new(&env);
    b.login_ok("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance/clients").await;
    let p = b
        .post(
            "/t/finance/clients",
            &[("name", "x1"), ("public_key", &public)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let r = b
        .post_json(
            "/t/finance/clients",
            &[("csrf", "wrong"), ("name", "x1"), ("public_key", &public)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let p = b
        .send_as(
            Method::POST,
            "/t/finance/clients",
            Some(&[("csrf", &csrf), ("name", "x1"), ("public_key", &public)]),
            Some("http://evil.example"),
            true,
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = b
        .post("/t/finance/clients/cfo-laptop/delete", &[("version", "1")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM objects WHERE kind = 'client' AND name IN ('x1', 'cfo-laptop')",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(count, 1, "nothing created, nothing deleted");
    // Anonymous: the page sends to the login; the script gets a 401.
    let mut anon = Browser::new(&env);
    let p = anon.get("/t/finance/clients").await;
    assert_eq!(
        p.location.as_deref(),
        Some("/login?next=%2Ft%2Ffinance%2Fclients")
    );
    let r = anon
        .post_json("/t/finance/clients", &[("csrf", &csrf), ("name", "x2")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_a_client_deletes_it_and_starts_a_job() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login_ok("finance-admin@example.com").await;
    let p = b.get("/t/finance/clients/cfo-laptop/delete").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("id=\"confirm-delete\""));
    let csrf = hidden(&p.text, "csrf");
    let version = hidden(&p.text, "version");
    // A stale version is refused and the question asked again.
    let p = b
        .post(
            "/t/finance/clients/cfo-laptop/delete",
            &[("csrf", &csrf), ("version", "999")],
        )
        .await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED, "{}", p.text);
    assert!(p.text.contains("id=\"form-errors\""));
    let p = b
        .post(
            "/t/finance/clients/cfo-laptop/delete",
            &[("csrf", &csrf), ("version", &version)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(
        to.starts_with("/t/finance/clients?deleted=cfo-laptop&job="),
        "{to}"
    );
    let job: i64 = to.rsplit('=').next().unwrap().parse().unwrap();
    let reason: String = sqlx::query_scalar("SELECT reason FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(reason, "client.delete tenants/finance/clients/cfo-laptop");
    let p = b.get(&to).await;
    assert!(p.text.contains("Client cfo-laptop revoked"));
    assert!(!p.text.contains("data-client=\"cfo-laptop\""));
    let token = env.token("finance-admin@example.com").await;
    let r = env
        .get("/api/v1/tenants/finance/clients/cfo-laptop", &token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        b.get("/t/finance/clients/cfo-laptop/delete").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_template_writes_the_same_file_as_server_generated_keys() {
    let env = Env::demo().await;
    let token = env.token("finance-admin@example.com").await;
    let r = env
        .post(
            "/api/v1/tenants/finance/clients",
            &token,
            serde_json::json!({"name": "generated", "allowed_networks": ["db"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let file = r.body["wireguard_config"].as_str().unwrap();
    let private = file
        .lines()
        .find_map(|l| l.strip_prefix("PrivateKey = "))
        .unwrap();
    let config: app::wg::ClientConfig = serde_json::from_value(r.body["config"].clone()).unwrap();
    assert_eq!(config.wg_quick(private), file);
    assert_eq!(
        config.peers[0].allowed_ips,
        vec!["100.64.1.16/28".to_string()]
    );
    // The template alone never holds a private key.
    assert!(!r.body["config"].to_string().contains(private));
    let tpl = env
        .get("/api/v1/tenants/finance/clients/generated/config", &token)
        .await;
    assert_eq!(tpl.body, r.body["config"]);
    // Another tenant's client config is not found, like a missing one.
    let acme = env.token("acme-admin@example.com").await;
    let theirs = env
        .get("/api/v1/tenants/finance/clients/generated/config", &acme)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let missing = env
        .get("/api/v1/tenants/finance/clients/nope/config", &token)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// The operator who starts a rotation, as the audit names them.
struct Operator;
impl vxguard_store::audit::Actor for Operator {
    fn subject(&self) -> &str {
        "user:admin@example.com"
    }
    fn source(&self) -> &str {
        "test"
    }
}

/// Issue 17, item 5: while its router's key rotates, a client's row says
/// its configuration names the key being rotated out and offers a new
/// one: the hydrated page posts a new public key (made in the browser)
/// and gets the new configuration's template, naming the router's next
/// key and port; without JavaScript the user pastes their own and the
/// page shows the file. The client keeps its address.
#[tokio::test]
async fn a_client_on_the_previous_key_is_offered_a_new_configuration() {
    use vxguard_store::mesh_keys::{begin, Begun, Device};
    let env = Env::demo().await;
    let token = env.token("acme-admin@example.com").await;
    let before = env
        .get("/api/v1/tenants/acme/clients/ops/config", &token)
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    // acme's clients are on vyos-dc1-01.
    let d = Device {
        kind: vxguard_store::kind::Kind::Router,
        name: "vyos-dc1-01".into(),
    };
    let begun = begin(&env.db, &[d], 3600, "test", &Operator).await.unwrap();
    assert!(matches!(begun, Begun::Queued(_)), "{begun:?}");

    let mut b = Browser::new(&env);
    b.login_ok("acme-admin@example.com").await;
    let p = b.get("/t/acme/clients").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("Previous key: works until"), "{}", p.text);
    assert!(p.text.contains("action=\"/t/acme/clients/ops/rekey\""));
    let csrf = hidden(&p.text, "csrf");
    // A member reads the state but is offered nothing.
    let mut m = Browser::new(&env);
    m.login_ok("acme-member@example.com").await;
    let mp = m.get("/t/acme/clients").await;
    assert!(mp.text.contains("Previous key: works until"));
    assert!(!mp.text.contains("/rekey\""));

    // As the hydrated page sends it: the new public key only.
    let (private, public) = pair(21);
    let r = b
        .post_json(
            "/t/acme/clients/ops/rekey",
            &[("csrf", &csrf), ("name", "ops"), ("public_key", &public)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains(&private));
    let made: app::clients::ClientCreated = serde_json::from_str(&r.text).unwrap();
    assert_eq!(made.client.public_key, public);
    assert_eq!(made.client.configuration.as_deref(), Some("current"));
    let config = made.config.unwrap();
    let old = &before.body["peers"][0];
    assert_ne!(
        config.peers[0].public_key,
        old["public_key"].as_str().unwrap()
    );
    assert_ne!(config.peers[0].endpoint, old["endpoint"].as_str().unwrap());
    assert_eq!(config.address, before.body["address"].as_str().unwrap());
    let list = env.get("/api/v1/tenants/acme/clients", &token).await;
    assert_eq!(
        list.body["items"][0]["configuration"], "current",
        "{}",
        list.text
    );

    // Without JavaScript: a pasted key, then the page with the file.
    let api = env
        .post(
            "/api/v1/tenants/acme/clients",
            &token,
            serde_json::json!({"name": "desk", "public_key": pair(22).1}),
        )
        .await;
    assert_eq!(api.status, StatusCode::CREATED, "{}", api.text);
    // Made during the rotation: already current.
    let p = b.get("/t/acme/clients").await;
    assert!(!p.text.contains("action=\"/t/acme/clients/desk/rekey\""));
    let empty = b
        .post(
            "/t/acme/clients/ops/rekey",
            &[("csrf", &csrf), ("public_key", "")],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.text
    );
    assert!(empty.text.contains("was not given a new key"));
    let (_, public) = pair(23);
    let r = b
        .post(
            "/t/acme/clients/ops/rekey",
            &[("csrf", &csrf), ("public_key", &public)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let to = r.location.clone().unwrap();
    assert!(to.starts_with("/t/acme/clients?rekeyed=ops&job="), "{to}");
    let p = b.get(&to).await;
    assert!(p.text.contains("Client ops given a new key"), "{}", p.text);
    assert!(p.text.contains(&config.peers[0].endpoint), "{}", p.text);
    // CSRF and tenancy hold: another tenant's admin gets nothing.
    let forged = b
        .post(
            "/t/acme/clients/ops/rekey",
            &[("csrf", "nope"), ("public_key", &pair(24).1)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut other = Browser::new(&env);
    other.login_ok("finance-admin@example.com").await;
    let c = other.csrf("/t/finance/clients").await;
    let r = other
        .post(
            "/t/acme/clients/ops/rekey",
            &[("csrf", &c), ("public_key", &pair(25).1)],
        )
        .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    assert_ne!(r.status, StatusCode::CREATED);
}

/// Issue 19, item 1: the tenant admin lets members add their own clients
/// on the Members page; a member then gets the create form (the key pair
/// made in the browser: only the public key is posted) and revoke links
/// for their own clients only. Turned off, the form goes again.
#[tokio::test]
async fn members_add_their_own_clients_when_the_admin_allows_it() {
    let env = Env::demo().await;
    let mut m = Browser::new(&env);
    m.login_ok("finance-member@example.com").await;
    let p = m.get("/t/finance/members").await;
    assert!(!p.text.contains("id=\"members-clients-form\""));
    let p = m.get("/t/finance/clients").await;
    assert!(!p.text.contains("id=\"client-form\""));
    assert!(p.text.contains("id=\"ask-admin\""));
    let csrf = hidden(&p.text, "csrf");
    // A member cannot turn it on.
    let r = m
        .post(
            "/t/finance/members/clients",
            &[("csrf", &csrf), ("members_add_clients", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut a = Browser::new(&env);
    a.login_ok("finance-admin@example.com").await;
    let p = a.get("/t/finance/members").await;
    assert!(p.text.contains("id=\"members-clients-form\""), "{}", p.text);
    assert!(!p.text.contains("checked"));
    let admin_csrf = hidden(&p.text, "csrf");
    let r = a
        .post(
            "/t/finance/members/clients",
            &[("csrf", &admin_csrf), ("members_add_clients", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r
        .text
        .contains("Members may now add their own WireGuard clients."));
    assert!(r.text.contains("checked"));

    let p = m.get("/t/finance/clients").await;
    assert!(p.text.contains("id=\"client-form\""), "{}", p.text);
    assert!(!p.text.contains("id=\"ask-admin\""));
    // Not theirs: no revoke link, and no confirmation page.
    assert!(!p.text.contains("/t/finance/clients/cfo-laptop/delete"));
    assert_eq!(
        m.get("/t/finance/clients/cfo-laptop/delete").await.status,
        StatusCode::FORBIDDEN
    );
    // As the hydrated page sends it: the public key only.
    let (private, public) = pair(21);
    let r = m
        .post_json(
            "/t/finance/clients",
            &[
                ("csrf", &csrf),
                ("name", "my-phone"),
                ("public_key", &public),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains(&private));
    let created: app::clients::ClientCreated = serde_json::from_str(&r.text).unwrap();
    assert!(created.client.mine);
    let p = m.get("/t/finance/clients").await;
    assert!(p.text.contains("/t/finance/clients/my-phone/delete"));
    assert!(!p.text.contains("/t/finance/clients/cfo-laptop/delete"));
    // Revoking another's client by posting anyway: refused by the store.
    let r = m
        .post(
            "/t/finance/clients/cfo-laptop/delete",
            &[("csrf", &csrf), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Their own: confirmed, then revoked.
    let d = m.get("/t/finance/clients/my-phone/delete").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let version = hidden(&d.text, "version");
    let r = m
        .post(
            "/t/finance/clients/my-phone/delete",
            &[("csrf", &csrf), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM objects WHERE kind = 'client' AND name IN ('my-phone', 'cfo-laptop')",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(left, 1);

    // Turned off (the box left unticked): the form goes.
    let r = a
        .post("/t/finance/members/clients", &[("csrf", &admin_csrf)])
        .await;
    assert!(r.text.contains("Only admins add WireGuard clients now."));
    let p = m.get("/t/finance/clients").await;
    assert!(!p.text.contains("id=\"client-form\""));
    let (_, public) = pair(22);
    let r = m
        .post_json(
            "/t/finance/clients",
            &[("csrf", &csrf), ("name", "late"), ("public_key", &public)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("members_add_clients"), "{}", r.text);
}

/// Issue 19: a client's expiry from the portal's form. A past one is a
/// field error at the field, said together with the form's other errors;
/// a future one (as the hydrated form sends it, in UTC) is stored, answered
/// and listed in the "Expires" column (UTC in the page; the browser shows
/// it in the viewer's zone); a client without one reads "never".
#[tokio::test]
async fn a_client_gets_an_expiry_from_the_form() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login_ok("finance-admin@example.com").await;
    let p = b.get("/t/finance/clients").await;
    assert!(p.text.contains("id=\"expires_at\""), "{}", p.text);
    let csrf = hidden(&p.text, "csrf");
    // Without JavaScript: a bad name, no key and a past expiry, all at once.
    let r = b
        .post(
            "/t/finance/clients",
            &[
                ("csrf", &csrf),
                ("name", "Bad Name"),
                ("public_key", ""),
                ("expires_at", "2020-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    for id in ["name-error", "public_key-error", "expires_at-error"] {
        assert!(r.text.contains(&format!("id=\"{id}\"")), "{id}: {}", r.text);
    }
    assert!(
        r.text.contains("2020-01-01 10:00:00 UTC has passed"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("value=\"2020-01-01T10:00\""),
        "the typed value stays"
    );
    // Alone, a past expiry is the store's refusal, at the same field.
    let (_, public) = pair(21);
    let r = b
        .post_json(
            "/t/finance/clients",
            &[
                ("csrf", &csrf),
                ("name", "late"),
                ("public_key", &public),
                ("expires_at", "2020-01-01T10:00:00.000Z"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("\"/expires_at\""), "{}", r.text);
    let r = b
        .post_json(
            "/t/finance/clients",
            &[
                ("csrf", &csrf),
                ("name", "visitor"),
                ("public_key", &public),
                ("expires_at", "2999-01-31T18:00:00.000Z"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created: app::clients::ClientCreated = serde_json::from_str(&r.text).unwrap();
    assert_eq!(
        created.client.expires.as_deref(),
        Some("2999-01-31 18:00:00 UTC")
    );
    let token = env.token("finance-admin@example.com").await;
    let api = env
        .get("/api/v1/tenants/finance/clients/visitor", &token)
        .await;
    assert_eq!(api.body["spec"]["expires_at"], "2999-01-31T18:00:00Z");
    let p = b.get("/t/finance/clients").await;
    let row = |name: &str| {
        let start = p.text.find(&format!("data-client=\"{name}\"")).unwrap();
        let end = start + p.text[start..].find("</tr>").unwrap();
        p.text[start..end].to_string()
    };
    assert!(
        row("visitor").contains("data-label=\"Expires\"><span>2999-01-31 18:00:00 UTC</span>"),
        "{}",
        row("visitor")
    );
    assert!(
        row("cfo-laptop").contains(">never<"),
        "{}",
        row("cfo-laptop")
    );
}
