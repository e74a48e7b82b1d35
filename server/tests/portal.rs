//! The portal in-process, without a browser (playwright/ drives a real one):
//! sessions, CSRF, redirects, tenant isolation and the network form.

mod harness;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use harness::browser::{hidden, Browser};
use harness::{Env, PASSWORD};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn anonymous_users_are_sent_to_login() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    for path in ["/", "/t/finance", "/admin"] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert!(p.location.unwrap().starts_with("/login"), "{path}");
    }
    let p = b.get("/t/finance").await;
    assert_eq!(p.location.as_deref(), Some("/login?next=%2Ft%2Ffinance"));
    // The API keeps its JSON 404; other paths get the HTML page.
    assert!(b
        .get("/api/v1/nope")
        .await
        .text
        .contains("no such endpoint"));
    let p = b.get("/nope").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.text.contains("<h1>Not found</h1>"));
    let css = b.get(app::STYLE_PATH).await;
    assert_eq!(css.status, StatusCode::OK);
}

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_logout_ends_it() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    // Wrong password: the form again, with the error.
    let p = b.get("/login").await;
    let csrf = hidden(&p.text, "csrf");
    let p = b
        .post(
            "/login",
            &[
                ("email", "finance-admin@example.com"),
                ("password", "nope"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.text.contains("Wrong email or password."));
    // Both fields left empty: each asked for at its field at once (the form
    // has `novalidate`), nothing tried.
    let form = b.get("/login").await;
    let csrf = hidden(&form.text, "csrf");
    assert!(form_tag(&form.text, "login-form").contains("novalidate"));
    let p = b
        .post(
            "/login",
            &[("email", ""), ("password", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(
        p.text.contains("id=\"email-error\"") && p.text.contains("Enter the email address"),
        "{}",
        p.text
    );
    assert!(p.text.contains("Enter your password."), "{}", p.text);
    assert!(!p.text.contains("Wrong email or password."));
    // An email but no password (from the form as answered, with its new
    // CSRF token): only the password is asked for, the email kept.
    let csrf = hidden(&p.text, "csrf");
    let p = b
        .post(
            "/login",
            &[
                ("email", "finance-admin@example.com"),
                ("password", ""),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"password-error\""), "{}", p.text);
    assert!(!p.text.contains("id=\"email-error\""), "{}", p.text);
    assert!(p.text.contains("value=\"finance-admin@example.com\""));
    // No login CSRF token: refused before the password is checked.
    let mut other = Browser::new(&env);
    let p = other
        .post(
            "/login",
            &[
                ("email", "finance-admin@example.com"),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let p = b.login("finance-admin@example.com").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let session = p
        .cookies
        .iter()
        .find(|c| c.starts_with("vxg_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && session.contains("Path=/")
    );
    assert!(
        !session.contains("Secure"),
        "plain http must work: {session}"
    );
    assert_eq!(b.get("/").await.location.as_deref(), Some("/t/finance"));
    let d = b.get("/t/finance").await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(d.text.contains("Finance Department"));
    assert!(d.text.contains("data-network=\"web\""));

    // Logout needs the CSRF token, then ends the login.
    let p = b.post("/logout", &[("csrf", "wrong")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let csrf = b.csrf("/t/finance").await;
    let p = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/login"));
    // Even with the old cookie back, the session is gone.
    let p = b.get("/t/finance").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let revoked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM web_sessions WHERE revoked_at IS NOT NULL")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(revoked, 1);
}

/// Issue 14: `next` must stay on this site. `/\t/evil.example` was taken,
/// and browsers read it as `//evil.example`.
#[tokio::test]
async fn login_redirects_only_to_this_sites_paths() {
    let env = Env::demo().await;
    let vectors = [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/%09/evil.example",
        "https://evil.example",
        "/%2F/evil.example",
        "/%5C/evil.example",
        "/%00/evil.example",
    ];
    // A NUL itself is refused before any handler (`api::check_nul`).
    let mut b = Browser::new(&env);
    let p = b.get("/login?next=%2F%00%2Fevil.example").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(p.location, None);
    for next in vectors {
        let mut b = Browser::new(&env);
        let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let p = b.get(&format!("/login?next={q}")).await;
        assert_eq!(p.status, StatusCode::OK, "{next:?}");
        assert_eq!(hidden(&p.text, "next"), "/", "{next:?}: the form's next");
        // Posted straight, the form's field is refused the same way.
        let csrf = hidden(&p.text, "csrf");
        let p = b
            .post(
                "/login",
                &[
                    ("email", "acme-member@example.com"),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{next:?}: {}", p.text);
        assert_eq!(p.location.as_deref(), Some("/"), "{next:?}");
    }
    // A path of this site is kept.
    let mut b = Browser::new(&env);
    let p = b.get("/login?next=%2Ft%2Facme%2Fmembers").await;
    assert_eq!(hidden(&p.text, "next"), "/t/acme/members");
    let csrf = hidden(&p.text, "csrf");
    let p = b
        .post(
            "/login",
            &[
                ("email", "acme-member@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "/t/acme/members"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/t/acme/members"));
}

/// Issue 14: the Origin check compared the host only; `https://portal.test`
/// is another origin than this `http://portal.test`.
#[tokio::test]
async fn posts_from_another_scheme_are_refused() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    let p = b.get("/login").await;
    let csrf = hidden(&p.text, "csrf");
    let form = [
        ("email", "acme-admin@example.com"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
        ("next", "/"),
    ];
    let p = b
        .send(
            Method::POST,
            "/login",
            Some(&form),
            Some("https://portal.test"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    assert!(!b.jar.iter().any(|(k, _)| k == "vxg_session"));
    // The form again (it sets a new login CSRF cookie), from this origin:
    // logged in.
    let csrf = hidden(&p.text, "csrf");
    let form = [
        ("email", "acme-admin@example.com"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
        ("next", "/"),
    ];
    let p = b
        .send(
            Method::POST,
            "/login",
            Some(&form),
            Some("http://portal.test"),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    // Signed in, a write from the other scheme is refused too.
    let csrf = b.csrf("/t/acme").await;
    let p = b
        .send(
            Method::POST,
            "/t/acme/networks",
            Some(&[
                ("csrf", &csrf),
                ("name", "from-https"),
                ("cidr", "100.64.9.0/28"),
            ]),
            Some("https://portal.test"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM objects WHERE name = 'from-https'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(made, 0);
}

#[tokio::test]
async fn another_tenants_page_is_not_found_like_a_missing_one() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("acme-admin@example.com").await;
    let theirs = b.get("/t/finance").await;
    let missing = b.get("/t/no-such-tenant").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.text, missing.text);
    assert!(!theirs.text.contains("Finance"));
    // Not the admin console either.
    assert_eq!(b.get("/admin").await.status, StatusCode::NOT_FOUND);
    // Nor a write into it.
    let csrf = b.csrf("/t/acme").await;
    let p = b
        .post(
            "/t/finance/networks",
            &[("csrf", &csrf), ("name", "x"), ("cidr", "100.64.9.0/28")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn network_form_shows_field_errors_and_creates_through_the_api_path() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance").await;
    // Without the CSRF token, or from another origin: refused.
    let p = b
        .post(
            "/t/finance/networks",
            &[("name", "web2"), ("cidr", "100.64.2.0/28")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = b
        .send(
            Method::POST,
            "/t/finance/networks",
            Some(&[("csrf", &csrf), ("name", "web2"), ("cidr", "100.64.2.0/28")]),
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", "web2"),
                ("cidr", "100.64.2.0/33"),
                ("gateway", "dc1/vyos-dc1-01"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"cidr-error\""), "{}", p.text);
    assert!(p.text.contains("value=\"100.64.2.0/33\""));
    // A name left empty and a bad subnet: both at their fields at once.
    let p = b
        .post(
            "/t/finance/networks",
            &[("csrf", &csrf), ("name", ""), ("cidr", "100.64.2.0/33")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(
        p.text.contains("Enter a name for the network"),
        "{}",
        p.text
    );
    assert!(p.text.contains("id=\"cidr-error\""), "{}", p.text);
    let at = p.text.find("id=\"network-form\"").expect("the form");
    let tag = &p.text[p.text[..at].rfind('<').unwrap()..at + p.text[at..].find('>').unwrap()];
    assert!(tag.contains("novalidate"), "{tag}");

    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", "web2"),
                ("cidr", "100.64.2.0/28"),
                ("gateway", "dc1/vyos-dc1-01"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(to.starts_with("/t/finance?created=web2&job="), "{to}");
    let d = b.get(&to).await;
    assert!(d.text.contains("data-network=\"web2\""));
    assert!(d.text.contains("Network web2 created"));
    assert!(
        d.text.contains("create tenants/finance/networks/web2"),
        "{}",
        d.text
    );
    // Its name again with a bad subnet and no gateway: the taken name and
    // the missing gateway are said with the subnet's error, each at its
    // field; with everything else right, the taken name is at its field too.
    let p = b
        .post(
            "/t/finance/networks",
            &[("csrf", &csrf), ("name", "web2"), ("cidr", "100.64.9.0/99")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    for (id, text) in [
        ("name-error", "A network named web2 already exists"),
        ("cidr-error", "IPv4 prefix"),
        ("gateways-error", "Choose at least one gateway router"),
    ] {
        let at = p
            .text
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id}: {}", p.text));
        assert!(
            p.text[at..].contains(text),
            "{id}: {}",
            &p.text[at..at + 200]
        );
    }
    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", "web2"),
                ("cidr", "100.64.9.0/28"),
                ("gateway", "dc1/vyos-dc1-01"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.text);
    let at = p.text.find("id=\"name-error\"").expect("at the name");
    assert!(p.text[at..].contains("A network named web2 already exists"));
    // The same object the API shows, written by the same path (audited).
    let token = env.token("finance-admin@example.com").await;
    let r = env
        .get("/api/v1/tenants/finance/networks/web2", &token)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Members read but cannot write.
    let mut m = Browser::new(&env);
    m.login("finance-member@example.com").await;
    let d = m.get("/t/finance").await;
    assert!(!d.text.contains("network-form"));
    let csrf = m.csrf("/t/finance").await;
    let p = m
        .post(
            "/t/finance/networks",
            &[("csrf", &csrf), ("name", "web3"), ("cidr", "100.64.3.0/28")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

/// The subnet the network form's hint names (`…; 100.65.1.0/24 is free.`).
fn suggested_subnet(html: &str) -> ipnet::Ipv4Net {
    let at = html.find("id=\"cidr-hint\"").expect("the subnet's hint");
    let hint = &html[at..at + html[at..].find("</small>").unwrap()];
    hint.split_whitespace()
        .find_map(|w| w.trim_end_matches(['.', ';']).parse().ok())
        .unwrap_or_else(|| panic!("no subnet in the hint: {hint}"))
}

/// The hint suggests a subnet the server accepts: outside the WireGuard
/// overlay pool (its clients' addresses), free of the tenant's networks
/// (acme has 100.65.0.0/24), and a new one once that one is taken.
#[tokio::test]
async fn the_network_forms_suggested_subnet_is_accepted() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("acme-admin@example.com").await;
    let overlay: ipnet::Ipv4Net = "100.64.0.0/16".parse().unwrap();
    let mut taken: Vec<ipnet::Ipv4Net> = vec!["100.65.0.0/24".parse().unwrap()];
    for name in ["web", "batch"] {
        let d = b.get("/t/acme").await;
        let s = suggested_subnet(&d.text);
        assert!(!overlay.contains(&s), "{s} is in the overlay pool");
        assert!(
            !taken
                .iter()
                .any(|t| t.contains(&s.network()) || s.contains(&t.network())),
            "{s} overlaps one of {taken:?}"
        );
        let csrf = hidden(&d.text, "csrf");
        let cidr = s.to_string();
        let p = b
            .post(
                "/t/acme/networks",
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("cidr", &cidr),
                    ("gateway", "dc1/vyos-dc1-01"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{cidr}: {}", p.text);
        taken.push(s);
    }
    let token = env.token("acme-admin@example.com").await;
    let r = env.get("/api/v1/tenants/acme/networks/batch", &token).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn platform_admins_see_every_tenant() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    assert_eq!(b.get("/").await.location.as_deref(), Some("/admin"));
    let p = b.get("/admin").await;
    assert_eq!(p.status, StatusCode::OK);
    for t in ["finance", "acme", "globex"] {
        assert!(p.text.contains(&format!("href=\"/t/{t}\"")), "{t}");
    }
    assert_eq!(b.get("/t/acme").await.status, StatusCode::OK);
}

#[tokio::test]
async fn change_password_checks_fields_and_revokes_other_logins() {
    let env = Env::demo().await;
    let email = "finance-member@example.com";
    let mut b = Browser::new(&env);
    b.login(email).await;
    let mut other = Browser::new(&env);
    other.login(email).await;
    // An API login too: its refresh token family is revoked as well.
    let _api = env.token(email).await;

    let p = b.get("/account/password").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("id=\"password-form\""));
    assert!(p.text.contains("autocomplete=\"current-password\""));
    let csrf = hidden(&p.text, "csrf");
    const NEW: &str = "a much longer new secret";
    // CSRF is checked.
    let p = b
        .post(
            "/account/password",
            &[
                ("csrf", "wrong"),
                ("current_password", PASSWORD),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Every field wrong: each error next to its field, nothing echoed back.
    let p = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", "not it"),
                ("new_password", "short"),
                ("confirm_password", "other"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    for f in ["current_password", "new_password", "confirm_password"] {
        assert!(p.text.contains(&format!("id=\"{f}-error\"")), "{f}");
    }
    assert!(p.text.contains("at least 12 characters"));
    assert!(!p.text.contains("value=\"not it\""));
    assert!(form_tag(&p.text, "password-form").contains("novalidate"));
    // Fields left empty are asked for, with what is wrong with the others.
    let p = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", ""),
                ("new_password", "short"),
                ("confirm_password", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    for (id, text) in [
        (
            "current_password-error",
            "Enter the password you logged in with.",
        ),
        ("new_password-error", "at least 12 characters"),
        ("confirm_password-error", "Enter the new password again."),
    ] {
        let at = p
            .text
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id}: {}", p.text));
        assert!(
            p.text[at..].contains(text),
            "{id}: {}",
            &p.text[at..at + 200]
        );
    }
    // The same password again is no change.
    let p = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.text.contains("must differ"));

    let p = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert_eq!(p.location.as_deref(), Some("/account/password?changed=1"));
    assert!(b
        .get("/account/password?changed=1")
        .await
        .text
        .contains("id=\"password-changed\""));
    // This session stays; the other browser and the API login do not.
    assert_eq!(b.get("/t/finance").await.status, StatusCode::OK);
    assert_eq!(other.get("/t/finance").await.status, StatusCode::SEE_OTHER);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT r.family) FROM refresh_tokens r JOIN users u ON u.id = r.user_id
         WHERE u.email = $1 AND r.revoked_at IS NULL",
    )
    .bind(email)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(live, 1);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.password_changed'")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    // The old password no longer logs in; the new one does.
    let mut c = Browser::new(&env);
    assert_eq!(c.login(email).await.status, StatusCode::UNAUTHORIZED);
    let p = c.get("/login").await;
    let csrf = hidden(&p.text, "csrf");
    let p = c
        .post(
            "/login",
            &[("email", email), ("password", NEW), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // Anonymous: to the login page.
    let mut anon = Browser::new(&env);
    assert_eq!(
        anon.get("/account/password").await.location.as_deref(),
        Some("/login?next=%2Faccount%2Fpassword")
    );
}

#[tokio::test]
async fn networks_are_edited_and_deleted_with_version_checks() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let d = b.get("/t/finance").await;
    assert!(d.text.contains("href=\"/t/finance/networks/db\""));
    let p = b.get("/t/finance/networks/db").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("value=\"100.64.1.16/28\""));
    let csrf = hidden(&p.text, "csrf");
    let version = hidden(&p.text, "version");
    // CSRF is checked.
    let p = b
        .post(
            "/t/finance/networks/db",
            &[("version", &version), ("cidr", "100.64.1.16/28")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // A bad CIDR: the error next to the field, the typed value kept.
    let p = b
        .post(
            "/t/finance/networks/db",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("cidr", "100.64.1.16/33"),
                ("gateway", "dc2/vyos-dc2-01"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"cidr-error\""), "{}", p.text);
    assert!(p.text.contains("value=\"100.64.1.16/33\""));
    assert!(
        p.text.contains("<code>100.64.1.16/28</code>"),
        "the stored CIDR"
    );
    assert_eq!(hidden(&p.text, "version"), version);
    // A good change: the preferred gateway swaps; ports stay.
    let p = b
        .post(
            "/t/finance/networks/db",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("cidr", "100.64.1.16/28"),
                ("gateway", "dc2/vyos-dc2-01"),
                ("gateway", "dc2/vyos-dc2-02"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(to.starts_with("/t/finance?updated=db&job="), "{to}");
    assert!(b.get(&to).await.text.contains("Network db changed"));
    let token = env.token("finance-admin@example.com").await;
    let r = env.get("/api/v1/tenants/finance/networks/db", &token).await;
    assert_eq!(
        r.body["spec"]["sites"][0]["gateways"],
        serde_json::json!(["vyos-dc2-01", "vyos-dc2-02"])
    );
    assert_eq!(r.body["spec"]["ports"].as_array().unwrap().len(), 2);
    // Saving again from the old page would lose that update: refused, and
    // the form now shows the current network.
    let p = b
        .post(
            "/t/finance/networks/db",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("cidr", "100.64.1.16/28"),
                ("gateway", "dc2/vyos-dc2-02"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED, "{}", p.text);
    assert!(p.text.contains("Someone changed this network"));
    assert_ne!(hidden(&p.text, "version"), version);

    // A network others still use cannot go: the reason on the confirmation page.
    let p = b.get("/t/finance/networks/web/delete").await;
    let v = hidden(&p.text, "version");
    let p = b
        .post(
            "/t/finance/networks/web/delete",
            &[("csrf", &csrf), ("version", &v)],
        )
        .await;
    assert!(p.status.is_client_error(), "{}", p.status);
    assert!(p.text.contains("id=\"form-errors\""), "{}", p.text);
    assert!(p.text.contains("id=\"confirm-delete\""));

    // Delete: a confirmation page first, then the POST.
    b.post(
        "/t/finance/networks",
        &[
            ("csrf", &csrf),
            ("name", "tmp"),
            ("cidr", "100.64.2.0/28"),
            ("gateway", "dc1/vyos-dc1-01"),
        ],
    )
    .await;
    let p = b.get("/t/finance/networks/tmp/delete").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("id=\"confirm-delete\""));
    let v = hidden(&p.text, "version");
    let p = b
        .post(
            "/t/finance/networks/tmp/delete",
            &[("csrf", &csrf), ("version", &v)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert!(p
        .location
        .unwrap()
        .starts_with("/t/finance?deleted=tmp&job="));
    assert!(!b
        .get("/t/finance")
        .await
        .text
        .contains("data-network=\"tmp\""));
    assert_eq!(
        b.get("/t/finance/networks/tmp").await.status,
        StatusCode::NOT_FOUND
    );

    // Members cannot; other tenants get not-found.
    let mut m = Browser::new(&env);
    m.login("finance-member@example.com").await;
    assert!(!m
        .get("/t/finance")
        .await
        .text
        .contains("href=\"/t/finance/networks/db\""));
    assert_eq!(
        m.get("/t/finance/networks/db").await.status,
        StatusCode::FORBIDDEN
    );
    let mcsrf = m.csrf("/t/finance").await;
    let p = m
        .post(
            "/t/finance/networks/db/delete",
            &[("csrf", &mcsrf), ("version", "1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let mut a = Browser::new(&env);
    a.login("acme-admin@example.com").await;
    let theirs = a.get("/t/finance/networks/db").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let acsrf = a.csrf("/t/acme").await;
    let p = a
        .post(
            "/t/finance/networks/db/delete",
            &[("csrf", &acsrf), ("version", "1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(
        env.get("/api/v1/tenants/finance/networks/db", &token)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_latest_jobs_are_json_for_the_live_list() {
    let env = Env::demo().await;
    let mut anon = Browser::new(&env);
    let p = anon.get("/t/finance/jobs").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance").await;
    b.post(
        "/t/finance/networks",
        &[
            ("csrf", &csrf),
            ("name", "web2"),
            ("cidr", "100.64.2.0/28"),
            ("gateway", "dc1/vyos-dc1-01"),
        ],
    )
    .await;
    let p = b.get("/t/finance/jobs").await;
    assert_eq!(p.status, StatusCode::OK);
    let jobs: Vec<app::JobRow> = serde_json::from_str(&p.text).unwrap();
    assert_eq!(
        jobs[0].reason,
        "network.create tenants/finance/networks/web2"
    );
    // The dashboard renders the same rows.
    let d = b.get("/t/finance").await;
    assert!(d.text.contains(&format!("data-job=\"{}\"", jobs[0].id)));
    let mut a = Browser::new(&env);
    a.login("acme-admin@example.com").await;
    assert_eq!(a.get("/t/finance/jobs").await.status, StatusCode::NOT_FOUND);
    assert!(a.get("/t/acme/jobs").await.status.is_success());
}

/// Reads the jobs stream until an event's list satisfies `want`; panics
/// after 10 s. Events may arrive split over frames, so lines are buffered.
async fn jobs_event(body: &mut Body, want: impl Fn(&[app::JobRow]) -> bool) -> Vec<app::JobRow> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut buf = String::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("no matching event in 10 s; seen: {buf}"))
            .expect("the stream is open")
            .unwrap();
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if !event.lines().any(|l| l == "event: jobs") {
                continue; // a keep-alive comment
            }
            let json = event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("a data line");
            let jobs: Vec<app::JobRow> = serde_json::from_str(json).unwrap();
            if want(&jobs) {
                return jobs;
            }
        }
    }
}

#[tokio::test]
async fn the_jobs_stream_sends_the_list_then_each_change() {
    let env = Env::demo().await;
    let feed = vxguard::job_feed::spawn(env.db.clone(), env.st.job_changes.clone());
    let mut anon = Browser::new(&env);
    assert_eq!(
        anon.get("/t/finance/jobs/stream").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut a = Browser::new(&env);
    a.login("acme-admin@example.com").await;
    assert_eq!(
        a.get("/t/finance/jobs/stream").await.status,
        StatusCode::NOT_FOUND
    );

    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = Request::builder()
        .uri("/t/finance/jobs/stream")
        .header("host", "portal.test")
        .header("cookie", cookie.join("; "))
        .body(Body::empty())
        .unwrap();
    let r = b.app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut body = r.into_body();
    let web2 = |jobs: &[app::JobRow]| {
        jobs.iter()
            .find(|j| j.reason.ends_with("networks/web2"))
            .map(|j| j.status.clone())
    };
    // The current list at once.
    let first = jobs_event(&mut body, |_| true).await;
    assert_eq!(web2(&first), None);

    let csrf = b.csrf("/t/finance").await;
    b.post(
        "/t/finance/networks",
        &[
            ("csrf", &csrf),
            ("name", "web2"),
            ("cidr", "100.64.2.0/28"),
            ("gateway", "dc1/vyos-dc1-01"),
        ],
    )
    .await;
    // The queued job arrives without asking, and so does its end.
    jobs_event(&mut body, |j| web2(j).as_deref() == Some("queued")).await;
    env.drain().await;
    jobs_event(&mut body, |j| web2(j).as_deref() == Some("done")).await;
    feed.abort();
}

/// The edit form lists the chosen gateways first, in their stored order
/// (the first of a site is its preferred master), so a page saved
/// unchanged posts them in that order and moves no master (issue 19: it
/// listed them by name, and an unchanged save swapped the master).
#[tokio::test]
async fn an_unchanged_save_keeps_the_gateway_order() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let p = b.get("/t/finance/networks/db").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let at = |v: &str| {
        p.text
            .find(&format!("value=\"{v}\""))
            .unwrap_or_else(|| panic!("{v} on the form"))
    };
    // Stored as [vyos-dc2-02, vyos-dc2-01]: listed so, before the others.
    assert!(at("dc2/vyos-dc2-02") < at("dc2/vyos-dc2-01"));
    assert!(at("dc2/vyos-dc2-01") < at("dc1/vyos-dc1-01"));
    // What a browser posts for the unchanged page: checked boxes in page order.
    let checked: Vec<String> = p
        .text
        .split("<input")
        .filter(|tag| tag.contains("name=\"gateway\""))
        .map(|tag| &tag[..tag.find('>').unwrap()])
        .filter(|tag| tag.contains("checked"))
        .map(|tag| {
            tag.split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let gateways: Vec<&str> = checked.iter().map(String::as_str).collect();
    assert_eq!(gateways, ["dc2/vyos-dc2-02", "dc2/vyos-dc2-01"]);
    let csrf = hidden(&p.text, "csrf");
    let version = hidden(&p.text, "version");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("cidr", "100.64.1.16/28"),
    ];
    form.extend(gateways.iter().map(|g| ("gateway", *g)));
    let r = b.post("/t/finance/networks/db", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let token = env.token("finance-admin@example.com").await;
    let r = env.get("/api/v1/tenants/finance/networks/db", &token).await;
    assert_eq!(
        r.body["spec"]["sites"][0]["gateways"],
        serde_json::json!(["vyos-dc2-02", "vyos-dc2-01"])
    );
}

/// An account a tenant admin made logs in with the password the admin
/// chose: its session can do nothing but choose its own (reads and writes
/// alike are sent to the password page, undone), its API logins are as
/// before, and once changed (audited) it starts where its role does.
#[tokio::test]
async fn an_account_an_admin_made_must_choose_its_password_first() {
    let env = Env::demo().await;
    let mut a = Browser::new(&env);
    a.login_ok("finance-admin@example.com").await;
    let csrf = a.csrf("/t/finance/members").await;
    let email = "newcomer@example.com";
    let p = a
        .post(
            "/t/finance/members",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("role", "tenant_admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let mut b = Browser::new(&env);
    b.login_ok(email).await;
    const FIRST: &str = "/account/password?first=1";
    for path in ["/", "/t/finance", "/t/finance/policy", "/t/finance/members"] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(p.location.as_deref(), Some(FIRST), "{path}");
    }
    let page = b.get(FIRST).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("id=\"password-required\""),
        "{}",
        page.text
    );
    let csrf = hidden(&page.text, "csrf");
    // A write is not carried out either.
    let networks = |env: &Env| {
        let db = env.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM objects WHERE kind = 'network'")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let before = networks(&env).await;
    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", "sneaky"),
                ("cidr", "100.65.250.0/24"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some(FIRST));
    assert_eq!(networks(&env).await, before);
    // API logins are not portal sessions: they work as before.
    let token = env.token(email).await;
    assert_eq!(
        env.get("/api/v1/tenants/finance/networks", &token)
            .await
            .status,
        StatusCode::OK
    );
    const NEW: &str = "a password of my very own";
    let p = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert_eq!(p.location.as_deref(), Some("/t/finance"));
    assert_eq!(b.get("/t/finance").await.status, StatusCode::OK);
    assert!(!b
        .get("/account/password")
        .await
        .text
        .contains("password-required"));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'user.password_changed' AND object = 'users/newcomer@example.com'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // The demo's own accounts (not made by an admin) were never asked.
    let mut c = Browser::new(&env);
    c.login_ok("finance-member@example.com").await;
    assert_eq!(c.get("/t/finance").await.status, StatusCode::OK);
}

/// The start tag of the form with this id.
fn form_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    &html[html[..at].rfind('<').unwrap()..at + html[at..].find('>').unwrap()]
}

/// Issue 19: the network form says every error at once. A bad name no
/// longer hides that the subnet overlaps one of the tenant's networks, nor
/// that a gateway is no router of the platform: each at its field.
#[tokio::test]
async fn the_network_form_says_cross_field_errors_with_the_field_errors() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login_ok("finance-admin@example.com").await;
    let d = b.get("/t/finance").await;
    let csrf = hidden(&d.text, "csrf");
    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", "Web 2"),
                ("cidr", "100.64.1.0/28"),
                ("gateway", "dc1/vyos-dc1-01"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    let at = |p: &harness::browser::Page, id: &str, text: &str| {
        let i = p
            .text
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id}: {}", p.text));
        let end = i + p.text[i..].find("</p>").unwrap();
        assert!(p.text[i..end].contains(text), "{id}: {}", &p.text[i..end]);
    };
    at(&p, "name-error", "");
    at(&p, "cidr-error", "overlaps");
    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", "Web 2"),
                ("cidr", "100.64.7.0/28"),
                ("gateway", "dc1/ghost"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    at(&p, "name-error", "");
    at(&p, "gateways-error", "ghost");
    assert!(!p.text.contains("set-aside"), "{}", p.text);
}
