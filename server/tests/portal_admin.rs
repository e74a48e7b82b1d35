//! The portal's tenant member, API token and audit pages and the admin
//! console, in-process (playwright/tests/admin.test.mjs drives a browser):
//! who may do what, CSRF, tenant isolation, the token secret shown once,
//! and a tenant created with its first admin as one change.

mod harness;

use axum::http::{Method, StatusCode};
use harness::browser::Browser;
use harness::{Env, PASSWORD};

/// The value of the input with this id.
fn input_value(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at..];
    let v = rest.find("value=\"").expect("a value") + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_string()
}

async fn count(env: &Env, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&env.db).await.unwrap()
}

#[tokio::test]
async fn an_admin_creates_a_tenant_with_its_first_admin_who_can_log_in() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let csrf = b.csrf("/admin").await;
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", "lab"),
                ("name", "Research Lab"),
                ("default_action", "drop"),
                ("admin_email", "Lab-Admin@example.com"),
                ("admin_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let to = p.location.unwrap();
    assert!(
        to.starts_with("/admin?created=lab&admin=lab-admin%40example.com&job="),
        "{to}"
    );
    let page = b.get(&to).await;
    assert!(page.text.contains("data-key=\"lab\""), "{}", page.text);
    assert!(page
        .text
        .contains("Tenant lab created with its admin lab-admin@example.com"));
    // Both are audited, and the new tenant's job compiles.
    let audited = count(
        &env,
        "SELECT count(*) FROM audit_log WHERE object IN ('tenants/lab', 'users/lab-admin@example.com')",
    )
    .await;
    assert_eq!(audited, 2);
    assert!(env.drain().await >= 1);

    // The new admin first chooses its own password (an admin chose the
    // first one), then lands on an empty dashboard, with its own pages.
    let mut n = Browser::new(&env);
    let p = n.login("lab-admin@example.com").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    const FIRST: &str = "/account/password?first=1";
    assert_eq!(n.get("/").await.location.as_deref(), Some(FIRST));
    let page = n.get(FIRST).await;
    let csrf = harness::browser::hidden(&page.text, "csrf");
    const OWN: &str = "the lab admin's very own password";
    let p = n
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", OWN),
                ("confirm_password", OWN),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert_eq!(n.get("/").await.location.as_deref(), Some("/t/lab"));
    let d = n.get("/t/lab").await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(d.text.contains("No networks yet."), "{}", d.text);
    assert!(d.text.contains("href=\"/t/lab/members\""));
    let m = n.get("/t/lab/members").await;
    assert!(m.text.contains("data-key=\"lab-admin@example.com\""));
    assert!(m.text.contains("tenant admin"));
    assert!(n
        .get("/t/lab/tokens")
        .await
        .text
        .contains("No API tokens yet"));
}

#[tokio::test]
async fn a_new_tenant_and_its_admin_are_created_both_or_neither() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("admin@example.com").await;
    let csrf = b.csrf("/admin").await;
    let tenants = count(&env, "SELECT count(*) FROM tenants").await;
    // Bad fields of both parts are named at once, next to their fields.
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", "Not A Slug"),
                ("name", "Lab"),
                ("default_action", "drop"),
                ("admin_email", "lab-admin@example.com"),
                ("admin_password", "short"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"slug-error\""), "{}", p.text);
    assert!(p.text.contains("id=\"admin_password-error\""));
    assert!(p.text.contains("value=\"Not A Slug\""));
    assert!(
        !p.text.contains("value=\"short\""),
        "passwords are not sent back"
    );
    // Fields left empty are asked for at their fields, together with a bad
    // value (the form has `novalidate`: the browser does not stop at the
    // first empty one).
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", ""),
                ("name", " "),
                ("default_action", "drop"),
                ("admin_email", "not-an-email"),
                ("admin_password", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    for (id, text) in [
        ("slug-error", "Enter a slug"),
        ("name-error", "Enter the tenant"),
        ("admin_email-error", ""),
        (
            "admin_password-error",
            "Enter an initial password of at least 12 characters",
        ),
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
    assert!(
        !p.text.contains("Enter the email"),
        "a bad email is not a missing one"
    );
    // A bad slug does not hide that the email has an account, nor the
    // short password.
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", "Not A Slug"),
                ("name", "Lab"),
                ("default_action", "drop"),
                ("admin_email", "finance-admin@example.com"),
                ("admin_password", "short"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    for id in ["slug-error", "admin_email-error", "admin_password-error"] {
        assert!(p.text.contains(&format!("id=\"{id}\"")), "{id}: {}", p.text);
    }
    assert!(
        p.text.contains("a user with this email exists"),
        "{}",
        p.text
    );
    // The admin's email is taken: the tenant is not created either.
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", "lab"),
                ("name", "Lab"),
                ("default_action", "drop"),
                ("admin_email", "finance-admin@example.com"),
                ("admin_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.text);
    assert!(p.text.contains("id=\"admin_email-error\""), "{}", p.text);
    assert_eq!(count(&env, "SELECT count(*) FROM tenants").await, tenants);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE object = 'tenants/lab'"
        )
        .await,
        0
    );
    // An existing slug is named too.
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", "finance"),
                ("name", "Again"),
                ("default_action", "drop"),
                ("admin_email", "again@example.com"),
                ("admin_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.text);
    assert!(p.text.contains("id=\"slug-error\""), "{}", p.text);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM users WHERE email = 'again@example.com'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn only_platform_admins_see_the_console() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let missing = b.get("/no-such-page").await;
    for path in [
        "/admin",
        "/admin/platform",
        "/admin/users",
        "/admin/jobs",
        "/admin/audit",
        "/admin/devices/router/vyos-dc1-01",
        "/admin/devices/router/vyos-dc1-01/1",
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(p.text, missing.text, "{path}");
    }
    let csrf = b.csrf("/t/finance").await;
    let tenants = count(&env, "SELECT count(*) FROM tenants").await;
    let p = b
        .post(
            "/admin/tenants",
            &[
                ("csrf", &csrf),
                ("slug", "sneaky"),
                ("name", "Sneaky"),
                ("default_action", "accept"),
                ("admin_email", "sneaky@example.com"),
                ("admin_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&env, "SELECT count(*) FROM tenants").await, tenants);
    // Anonymous: to the login page.
    let mut anon = Browser::new(&env);
    let p = anon.get("/admin/users").await;
    assert_eq!(p.location.as_deref(), Some("/login?next=%2Fadmin%2Fusers"));

    // A platform admin sees every part of it.
    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let u = a.get("/admin/users").await;
    assert!(u.text.contains("data-key=\"finance-member@example.com\""));
    let pl = a.get("/admin/platform").await;
    assert!(pl.text.contains("data-key=\"vyos-dc1-01\""), "{}", pl.text);
    assert!(pl.text.contains("data-key=\"hv-dc2-01\""));
    assert!(pl.text.contains("id=\"sites\""));
    let j = a.get("/admin/jobs").await;
    assert!(j.text.contains("id=\"admin-jobs\""), "{}", j.text);
    let au = a.get("/admin/audit").await;
    assert!(au.text.contains("id=\"audit\""));
    assert_eq!(
        a.get("/admin/devices/switch/x").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/admin/devices/router/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/admin/jobs?cursor=x").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_admin_sees_a_routers_revisions_and_the_diff() {
    let env = Env::demo().await;
    env.drain().await;
    // A finance network on vyos-dc1-01 makes its second revision.
    let mut t = Browser::new(&env);
    t.login("finance-admin@example.com").await;
    let csrf = t.csrf("/t/finance").await;
    let p = t
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
    env.drain().await;
    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let l = a.get("/admin/devices/router/vyos-dc1-01").await;
    assert_eq!(l.status, StatusCode::OK);
    assert!(l.text.contains("data-key=\"2\""), "{}", l.text);
    assert!(l
        .text
        .contains("href=\"/admin/devices/router/vyos-dc1-01/2\""));
    let r = a.get("/admin/devices/router/vyos-dc1-01/2").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains(">revision #1</a>"), "{}", r.text);
    assert!(r.text.contains("class=\"add\""), "{}", r.text);
    assert!(
        r.text.contains("100.64.2."),
        "the new gateway address is added"
    );
    assert!(r.text.contains("id=\"config\""));
    // Key material never reaches the page.
    assert!(!r.text.contains("private-key '") || r.text.contains("private-key '&lt;secret&gt;'"));
    let first = a.get("/admin/devices/router/vyos-dc1-01/1").await;
    assert!(first.text.contains("the first revision"));
    assert!(!first.text.contains("class=\"del\""));
    assert_eq!(
        a.get("/admin/devices/router/vyos-dc1-01/99").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_token_secret_is_shown_once_and_revoking_ends_it() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance/tokens").await;
    let p = b
        .post(
            "/t/finance/tokens",
            &[
                ("csrf", &csrf),
                ("name", "ci-deploy"),
                ("role", "tenant_member"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let secret = input_value(&p.text, "token-secret");
    assert!(secret.starts_with("vxa_"), "{secret}");
    // It works against the API ...
    let r = env.get("/api/v1/tenants/finance/networks", &secret).await;
    assert_eq!(r.status, StatusCode::OK);
    // ... and is shown nowhere again, nor stored or audited in clear.
    let list = b.get("/t/finance/tokens").await;
    assert!(list.text.contains("data-key=\"ci-deploy\""));
    assert!(!list.text.contains(&secret));
    assert!(!list.text.contains("token-secret"));
    let leaked: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM audit_log WHERE coalesce(after::text, '') LIKE '%' || $1 || '%')
              + (SELECT count(*) FROM api_tokens WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%')",
    )
    .bind(&secret)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
    // The same name again: the error sits next to the field.
    let p = b
        .post(
            "/t/finance/tokens",
            &[
                ("csrf", &csrf),
                ("name", "ci-deploy"),
                ("role", "tenant_member"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.text.contains("id=\"name-error\""), "{}", p.text);
    assert!(!p.text.contains("token-secret"));
    assert!(form_tag(&p.text, "token-form").contains("novalidate"));
    // No name and a role no token can have: both at their fields.
    let p = b
        .post(
            "/t/finance/tokens",
            &[("csrf", &csrf), ("name", " "), ("role", "platform_admin")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"role-error\""), "{}", p.text);
    let at = p
        .text
        .find("id=\"name-error\"")
        .expect("the name asked for");
    assert!(
        p.text[at..].contains("Enter a name for the token"),
        "{}",
        p.text
    );

    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'ci-deploy'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    // Revoking needs the CSRF token.
    let path = format!("/t/finance/tokens/{id}/revoke");
    assert_eq!(
        b.post(&path, &[("csrf", "nope")]).await.status,
        StatusCode::FORBIDDEN
    );
    let p = b.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/t/finance/tokens?revoked=ci-deploy")
    );
    let list = b.get("/t/finance/tokens?revoked=ci-deploy").await;
    assert!(list.text.contains("Token ci-deploy was revoked"));
    assert!(list.text.contains("revoked</span>"));
    let r = env.get("/api/v1/tenants/finance/networks", &secret).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tenant_admins_add_and_remove_members_and_members_cannot() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance/members").await;
    // Bad input: the errors next to the fields, nothing added.
    let p = b
        .post(
            "/t/finance/members",
            &[
                ("csrf", &csrf),
                ("email", "not-an-email"),
                ("role", "tenant_member"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.text.contains("id=\"email-error\""), "{}", p.text);
    let p = b
        .post(
            "/t/finance/members",
            &[
                ("csrf", &csrf),
                ("email", "auditor@example.com"),
                ("role", "platform_admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.text.contains("id=\"role-error\""), "{}", p.text);
    let p = b
        .post(
            "/t/finance/members",
            &[
                ("csrf", &csrf),
                ("email", "auditor@example.com"),
                ("role", "tenant_member"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let page = b.get(&p.location.unwrap()).await;
    assert!(page.text.contains("data-key=\"auditor@example.com\""));
    assert!(page.text.contains("auditor@example.com was added"));
    assert!(form_tag(&page.text, "member-form").contains("novalidate"));
    // Every field wrong at once: an empty email asked for, a bad role, a
    // password left empty; then an email of the tenant's that is taken is
    // said with a short password.
    let p = b
        .post(
            "/t/finance/members",
            &[
                ("csrf", &csrf),
                ("email", ""),
                ("role", "platform_admin"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    for (id, text) in [
        (
            "email-error",
            "Enter the email address they will log in with.",
        ),
        ("role-error", "choose tenant member or tenant admin"),
        (
            "password-error",
            "Enter an initial password of at least 12 characters.",
        ),
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
            "/t/finance/members",
            &[
                ("csrf", &csrf),
                ("email", "Auditor@Example.com"),
                ("role", "tenant_member"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(p.text.contains("id=\"password-error\""), "{}", p.text);
    let at = p.text.find("id=\"email-error\"").expect("the taken email");
    assert!(
        p.text[at..].contains("a user with this email exists"),
        "{}",
        p.text
    );
    let mut new = Browser::new(&env);
    assert_eq!(
        new.login("auditor@example.com").await.status,
        StatusCode::SEE_OTHER
    );

    // A member reads the list and the audit log, but adds nobody and sees no tokens.
    let mut m = Browser::new(&env);
    m.login("finance-member@example.com").await;
    let list = m.get("/t/finance/members").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text.contains("member-form"));
    assert!(
        !list.text.contains("/t/finance/tokens"),
        "no token link for members"
    );
    let mcsrf = m.csrf("/t/finance/members").await;
    let p = m
        .post(
            "/t/finance/members",
            &[
                ("csrf", &mcsrf),
                ("email", "x@example.com"),
                ("role", "tenant_admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM users WHERE email = 'x@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        m.get("/t/finance/tokens").await.status,
        StatusCode::FORBIDDEN
    );
    let a = m.get("/t/finance/audit").await;
    assert_eq!(a.status, StatusCode::OK);
    // The audit path as rendered: whole pieces, a break allowed after the
    // slash and before the `@` only.
    assert!(
        a.text.contains(
            r#"<span class="whole">users/</span><wbr><span class="whole">auditor</span><wbr><span class="whole">@example.com</span>"#
        ),
        "{}",
        a.text
    );

    // Removing asks first, then removes (the admin is never offered themselves).
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'auditor@example.com'")
            .fetch_one(&env.db)
            .await
            .unwrap();
    let path = format!("/t/finance/members/{id}/remove");
    let confirm = b.get(&path).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text.contains("Remove auditor@example.com?"));
    let p = m.post(&path, &[("csrf", &mcsrf)]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "members cannot remove");
    assert_eq!(
        b.post(&path, &[("csrf", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    let p = b.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/t/finance/members?removed=auditor%40example.com")
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM users WHERE email = 'auditor@example.com'"
        )
        .await,
        0
    );
    let own = b.get("/t/finance/members").await;
    assert!(!own
        .text
        .contains("aria-label=\"Remove finance-admin@example.com\""));
}

#[tokio::test]
async fn another_tenants_member_pages_are_not_found_like_missing_ones() {
    let env = Env::demo().await;
    let mut b = Browser::new(&env);
    b.login("acme-admin@example.com").await;
    for page in ["members", "tokens", "audit"] {
        let theirs = b.get(&format!("/t/finance/{page}")).await;
        let missing = b.get(&format!("/t/no-such-tenant/{page}")).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{page}");
        assert_eq!(theirs.text, missing.text, "{page}");
    }
    // A finance user removed through acme's pages: not found, still there.
    let csrf = b.csrf("/t/acme/members").await;
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'finance-member@example.com'")
            .fetch_one(&env.db)
            .await
            .unwrap();
    for path in [
        format!("/t/acme/members/{id}/remove"),
        format!("/t/finance/members/{id}/remove"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        let p = b.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM users WHERE email = 'finance-member@example.com'"
        )
        .await,
        1
    );
    // Nor a token in finance.
    let p = b
        .post(
            "/t/finance/tokens",
            &[("csrf", &csrf), ("name", "x"), ("role", "tenant_member")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_and_tenant_forms_need_the_csrf_token() {
    let env = Env::demo().await;
    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let csrf = a.csrf("/admin").await;
    let form = |c: &str| {
        vec![
            ("csrf".to_string(), c.to_string()),
            ("slug".into(), "lab".into()),
            ("name".into(), "Lab".into()),
            ("default_action".into(), "drop".into()),
            ("admin_email".into(), "lab-admin@example.com".into()),
            ("admin_password".into(), PASSWORD.into()),
        ]
    };
    let f = form("");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        a.post("/admin/tenants", &f).await.status,
        StatusCode::FORBIDDEN
    );
    // The right token from another site is refused too.
    let f = form(&csrf);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = a
        .send(
            Method::POST,
            "/admin/tenants",
            Some(&f),
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(&env, "SELECT count(*) FROM tenants WHERE slug = 'lab'").await,
        0
    );

    let mut b = Browser::new(&env);
    b.login("finance-admin@example.com").await;
    let p = b
        .post(
            "/t/finance/members",
            &[
                ("email", "x@example.com"),
                ("role", "tenant_member"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = b
        .post(
            "/t/finance/tokens",
            &[("name", "x"), ("role", "tenant_member")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&env, "SELECT count(*) FROM api_tokens").await, 0);
}

/// The id of the user with this email (an email in one tenant).
async fn user_id(env: &Env, email: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

/// Logs in with a password of one's own (not the demo's).
async fn login_with(b: &mut Browser, email: &str, password: &str) -> harness::browser::Page {
    let p = b.get("/login").await;
    let csrf = harness::browser::hidden(&p.text, "csrf");
    b.post(
        "/login",
        &[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/"),
        ],
    )
    .await
}

#[tokio::test]
async fn a_platform_admin_resets_a_password_shown_once_that_the_user_must_replace() {
    let env = Env::demo().await;
    let mut m = Browser::new(&env);
    m.login_ok("finance-member@example.com").await;
    assert_eq!(m.get("/t/finance").await.status, StatusCode::OK);
    let mut b = Browser::new(&env);
    b.login_ok("admin@example.com").await;
    let id = user_id(&env, "finance-member@example.com").await;
    let path = format!("/admin/users/{id}/reset");
    // Offered on every row but the admin's own.
    let list = b.get("/admin/users").await;
    assert!(
        list.text.contains(&format!("href=\"{path}\"")),
        "{}",
        list.text
    );
    assert!(!list
        .text
        .contains("aria-label=\"Reset the password of admin@example.com\""));
    let ask = b.get(&path).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask
        .text
        .contains("Reset the password of finance-member@example.com?"));
    assert!(!ask.text.contains("temporary-password"));
    assert_eq!(
        b.post(&path, &[("csrf", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = b.csrf("/admin/users").await;
    let done = b.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let temporary = input_value(&done.text, "temporary-password");
    assert_eq!(temporary.len(), 23, "{temporary}");
    assert!(done.text.contains("shown only this once"));

    // Their session ended; the old password no longer works; the
    // temporary one does, and leads to the forced change first.
    assert_eq!(m.get("/t/finance").await.status, StatusCode::SEE_OTHER);
    let mut old = Browser::new(&env);
    assert_ne!(
        old.login("finance-member@example.com").await.status,
        StatusCode::SEE_OTHER
    );
    let mut n = Browser::new(&env);
    let p = login_with(&mut n, "finance-member@example.com", &temporary).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    assert_eq!(
        n.get("/t/finance").await.location.as_deref(),
        Some("/account/password?first=1")
    );

    // Audited in the user's tenant, without the password.
    let (tenant, after): (Option<String>, serde_json::Value) = sqlx::query_as(
        "SELECT t.slug, a.after FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id
         WHERE a.action = 'user.password_reset' AND a.object = 'users/finance-member@example.com'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(tenant.as_deref(), Some("finance"));
    assert_eq!(after["must_change_password"], true);
    let leaked = count(
        &env,
        &format!("SELECT count(*) FROM audit_log WHERE audit_log::text LIKE '%{temporary}%'"),
    )
    .await;
    assert_eq!(leaked, 0);
    let log = b.get("/t/finance/audit").await;
    assert!(log.text.contains("user.password_reset"), "{}", log.text);

    // Nobody resets their own: the account page is for that.
    let me = user_id(&env, "admin@example.com").await;
    let own = b
        .post(&format!("/admin/users/{me}/reset"), &[("csrf", &csrf)])
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(
        own.text.contains("change it on your account page"),
        "{}",
        own.text
    );
    // A missing user is the not-found page.
    let missing = b
        .get(&format!("/admin/users/{}/reset", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tenant_admins_reset_their_own_tenants_members_only() {
    let env = Env::demo().await;
    let finance_member = user_id(&env, "finance-member@example.com").await;
    let acme_member = user_id(&env, "acme-member@example.com").await;
    let mut b = Browser::new(&env);
    b.login_ok("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance/members").await;
    let list = b.get("/t/finance/members").await;
    let path = format!("/t/finance/members/{finance_member}/reset");
    assert!(
        list.text.contains(&format!("href=\"{path}\"")),
        "{}",
        list.text
    );
    assert!(!list
        .text
        .contains("aria-label=\"Reset the password of finance-admin@example.com\""));
    assert!(b
        .get(&path)
        .await
        .text
        .contains("Reset the password of finance-member@example.com?"));
    let done = b.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let temporary = input_value(&done.text, "temporary-password");
    let mut n = Browser::new(&env);
    let p = login_with(&mut n, "finance-member@example.com", &temporary).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);

    // Another tenant's user: the same not-found page as a missing one,
    // through either tenant's path; nothing changed.
    let before: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(acme_member)
        .fetch_one(&env.db)
        .await
        .unwrap();
    for path in [
        format!("/t/finance/members/{acme_member}/reset"),
        format!("/t/acme/members/{acme_member}/reset"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        let p = b.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
    }
    let after: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(acme_member)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(before, after);
    // The console's reset is not theirs.
    assert_eq!(
        b.get(&format!("/admin/users/{acme_member}/reset"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Members may not reset anyone.
    let mut m = Browser::new(&env);
    m.login_ok("acme-member@example.com").await;
    let mcsrf = m.csrf("/t/acme/members").await;
    let acme_admin = user_id(&env, "acme-admin@example.com").await;
    let p = m
        .post(
            &format!("/t/acme/members/{acme_admin}/reset"),
            &[("csrf", &mcsrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!m.get("/t/acme/members").await.text.contains("/reset\""));
}

/// The start tag of the form with this id.
fn form_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    &html[html[..at].rfind('<').unwrap()..at + html[at..].find('>').unwrap()]
}
