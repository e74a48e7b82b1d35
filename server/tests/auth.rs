//! Accounts and tokens against the real PostgreSQL: login, expiry, refresh
//! rotation and reuse detection, logout, API tokens, the login rate limit.

mod harness;

use axum::http::{Method, StatusCode};
use harness::{Env, PASSWORD};
use serde_json::json;
use vxguard::auth::principal::Subject;

async fn refresh(e: &Env, token: &str) -> harness::Resp {
    e.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
        &[],
    )
    .await
}

#[tokio::test]
async fn login_refresh_rotation_and_reuse_detection() {
    let e = Env::demo().await;
    let r = e.login_pair("acme-admin@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["expires_in"], 900);
    let access = r.body["access_token"].as_str().unwrap().to_string();
    let refresh1 = r.body["refresh_token"].as_str().unwrap().to_string();
    let me = e.get("/api/v1/me", &access).await;
    assert_eq!(me.body["tenant"], "acme");
    assert_eq!(me.body["role"], "tenant_admin");

    // Rotation: a refresh gives a new pair; the old refresh token is spent.
    let r2 = refresh(&e, &refresh1).await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.text);
    let refresh2 = r2.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);

    // Reuse of the spent token revokes the whole family, refresh2 included.
    let reuse = refresh(&e, &refresh1).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert!(reuse.text.contains("already used"), "{}", reuse.text);
    let after = refresh(&e, &refresh2).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'refresh.reuse_detected'",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Logout revokes a fresh login's family.
    let r3 = e.login_pair("acme-admin@example.com", PASSWORD).await;
    let refresh3 = r3.body["refresh_token"].as_str().unwrap().to_string();
    let out = e
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            None,
            Some(json!({"refresh_token": refresh3})),
            &[],
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let dead = refresh(&e, &refresh3).await;
    assert_eq!(dead.status, StatusCode::UNAUTHORIZED);

    // Refresh tokens are stored hashed, never in clear.
    let clear: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE encode(token_hash, 'escape') LIKE 'vxr_%'",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(clear, 0);
}

#[tokio::test]
async fn wrong_password_expired_and_forged_tokens_are_refused() {
    let e = Env::demo().await;
    let bad = e
        .login_pair("acme-admin@example.com", "not the password")
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let unknown = e
        .login_pair("nobody@example.com", "whatever whatever")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.body["detail"], unknown.body["detail"],
        "no account enumeration"
    );
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'login.failed'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(failed, 2);

    let (id, tenant): (uuid::Uuid, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT id, tenant_id FROM users WHERE email = 'acme-admin@example.com'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    let past = chrono::Utc::now().timestamp() - 16 * 60;
    let subject = Subject {
        user: id,
        email: "acme-admin@example.com",
        role: vxguard::auth::Role::TenantAdmin,
        tenant,
        generation: 0,
    };
    let expired = e.st.jwt.issue_at(&subject, past);
    assert_eq!(
        e.get("/api/v1/me", &expired).await.status,
        StatusCode::UNAUTHORIZED
    );
    let fresh = e.st.jwt.issue(&subject);
    assert_eq!(e.get("/api/v1/me", &fresh).await.status, StatusCode::OK);
    let forged = vxguard::auth::principal::JwtKeys::new(b"some other secret that is long enough")
        .issue(&Subject {
            role: vxguard::auth::Role::PlatformAdmin,
            tenant: None,
            ..subject
        });
    assert_eq!(
        e.get("/api/v1/me", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.call(Method::GET, "/api/v1/me", None, None, &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_account() {
    let e = Env::demo().await;
    for _ in 0..5 {
        assert_eq!(
            e.login_pair("globex-admin@example.com", "wrong password!")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = e.login_pair("globex-admin@example.com", PASSWORD).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert!(limited.header("retry-after").is_some());
    // Other accounts are unaffected.
    assert_eq!(
        e.login_pair("acme-admin@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

/// Issue 14: the lockout was checked before the password and counted after
/// it, so 20 parallel wrong logins were all checked. Now at most 5 are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_logins_check_at_most_five_passwords() {
    let e = Env::demo().await;
    let tries = (0..20).map(|_| e.login_pair("finance-member@example.com", "wrong password!"));
    let answers = futures::future::join_all(tries).await;
    let wrong = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let locked = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(wrong <= 5, "{wrong} password checks answered 401");
    assert_eq!(
        wrong + locked,
        20,
        "every other attempt is refused as locked"
    );
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'login.failed'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(
        failed, wrong as i64,
        "one audited failure per password check"
    );
    // Locked: even the right password is refused until the window ends.
    let right = e.login_pair("finance-member@example.com", PASSWORD).await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.text
    );
}

#[tokio::test]
async fn api_tokens_are_shown_once_scoped_and_revocable() {
    let e = Env::demo().await;
    let admin = e.token("acme-admin@example.com").await;
    let c = e
        .post(
            "/api/v1/tenants/acme/tokens",
            &admin,
            json!({"name": "ci", "role": "tenant_member"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let secret = c.body["token"].as_str().unwrap().to_string();
    let id = c.body["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("vxa_"));
    // Listing never shows the secret again.
    let l = e.get("/api/v1/tenants/acme/tokens", &admin).await;
    assert!(!l.text.contains(&secret));
    assert_eq!(l.body["items"][0]["last_used_at"], serde_json::Value::Null);
    // The token works, read-only, inside its tenant only.
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &secret).await.status,
        StatusCode::OK
    );
    assert_eq!(
        e.get("/api/v1/tenants/finance/networks", &secret)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let w = e
        .post(
            "/api/v1/tenants/acme/services",
            &secret,
            json!({"id": "x", "addresses": ["100.65.0.1/32"]}),
        )
        .await;
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    let l = e.get("/api/v1/tenants/acme/tokens", &admin).await;
    assert_ne!(l.body["items"][0]["last_used_at"], serde_json::Value::Null);
    // Revoked: refused.
    assert_eq!(
        e.delete(&format!("/api/v1/tenants/acme/tokens/{id}"), &admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &secret).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Another tenant's admin cannot revoke (or see) it.
    let other = e.token("finance-admin@example.com").await;
    assert_eq!(
        e.delete(&format!("/api/v1/tenants/acme/tokens/{id}"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn user_id(e: &Env, email: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&e.db)
        .await
        .unwrap()
}

fn service(id: &str) -> serde_json::Value {
    json!({"id": id, "addresses": ["100.65.0.1/32"]})
}

/// Issue 14: a deleted user's 15-minute access token kept writing, and the
/// API tokens they made kept working.
#[tokio::test]
async fn a_deleted_users_tokens_stop_at_once() {
    let e = Env::demo().await;
    let pair = e.login_pair("acme-admin@example.com", PASSWORD).await;
    let access = pair.body["access_token"].as_str().unwrap().to_string();
    let refresh_token = pair.body["refresh_token"].as_str().unwrap().to_string();
    let svc = "/api/v1/tenants/acme/services";
    assert_eq!(
        e.post(svc, &access, service("before")).await.status,
        StatusCode::CREATED
    );
    let made = e
        .post(
            "/api/v1/tenants/acme/tokens",
            &access,
            json!({"name": "ci", "role": "tenant_admin"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let api = made.body["token"].as_str().unwrap().to_string();
    // A token made by that token answers to the same user.
    let made2 = e
        .post(
            "/api/v1/tenants/acme/tokens",
            &api,
            json!({"name": "ci-reader", "role": "tenant_member"}),
        )
        .await;
    assert_eq!(made2.status, StatusCode::CREATED, "{}", made2.text);
    let api2 = made2.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &api2).await.status,
        StatusCode::OK
    );

    let admin = e.token("admin@example.com").await;
    let id = user_id(&e, "acme-admin@example.com").await;
    let del = e.delete(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);

    let w = e.post(svc, &access, service("after")).await;
    assert_eq!(w.status, StatusCode::UNAUTHORIZED, "{}", w.text);
    assert_eq!(
        e.get("/api/v1/me", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&e, &refresh_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    for t in [&api, &api2] {
        assert_eq!(
            e.get("/api/v1/tenants/acme/networks", t).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            e.post(svc, t, service("by-token")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The tenant sees them revoked, and the audit log says so.
    let list = e.get("/api/v1/tenants/acme/tokens", &admin).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items.iter().all(|t| !t["revoked_at"].is_null()),
        "{}",
        list.text
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'token.revoke'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(audited, 2);
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM objects WHERE name = 'after'")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(none, 0);
}

/// Issue 14: a demoted admin's access token kept its admin role until it
/// expired, and the admin tokens they made kept theirs.
#[tokio::test]
async fn a_demoted_admins_tokens_lose_admin_writes_at_once() {
    let e = Env::demo().await;
    let access = e.token("acme-admin@example.com").await;
    let make = |name: &'static str, role: &'static str| {
        e.post(
            "/api/v1/tenants/acme/tokens",
            &access,
            json!({"name": name, "role": role}),
        )
    };
    let admin_api = make("deploy", "tenant_admin").await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let member_api = make("read", "tenant_member").await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let svc = "/api/v1/tenants/acme/services";
    assert_eq!(
        e.post(svc, &admin_api, service("before")).await.status,
        StatusCode::CREATED
    );

    // No API changes a role yet; an operator does it in the database.
    sqlx::query("UPDATE users SET role = 'tenant_member' WHERE email = 'acme-admin@example.com'")
        .execute(&e.db)
        .await
        .unwrap();

    let w = e.post(svc, &access, service("old-token")).await;
    assert_eq!(w.status, StatusCode::UNAUTHORIZED, "{}", w.text);
    let w = e.post(svc, &admin_api, service("admin-api")).await;
    assert_eq!(w.status, StatusCode::UNAUTHORIZED, "{}", w.text);
    // What a member may do, their member token still does.
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &member_api)
            .await
            .status,
        StatusCode::OK
    );
    // Logged in again, they are a member: reads, no writes.
    let fresh = e.token("acme-admin@example.com").await;
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &fresh).await.status,
        StatusCode::OK
    );
    assert_eq!(
        e.post(svc, &fresh, service("member")).await.status,
        StatusCode::FORBIDDEN
    );

    // Moved to another tenant: the token for acme stops too.
    let globex: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = 'globex'")
        .fetch_one(&e.db)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET tenant_id = $1 WHERE email = 'acme-admin@example.com'")
        .bind(globex)
        .execute(&e.db)
        .await
        .unwrap();
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &fresh).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.get("/api/v1/tenants/acme/networks", &member_api)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// A password change ends every access token issued before it (the user's
/// token generation), not 15 minutes later.
#[tokio::test]
async fn a_password_change_ends_earlier_access_tokens() {
    let e = Env::demo().await;
    let old = e.token("globex-member@example.com").await;
    assert_eq!(e.get("/api/v1/me", &old).await.status, StatusCode::OK);
    let id = user_id(&e, "globex-member@example.com").await;
    vxguard::auth::session::change_password(
        &e.st,
        id,
        None,
        vxguard::auth::session::PasswordChange {
            current: PASSWORD,
            new: "a brand new passphrase",
            confirm: "a brand new passphrase",
        },
        "test",
    )
    .await
    .expect("password changed");
    assert_eq!(
        e.get("/api/v1/me", &old).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = e
        .login_pair("globex-member@example.com", "a brand new passphrase")
        .await;
    let new = r.body["access_token"].as_str().unwrap();
    assert_eq!(e.get("/api/v1/me", new).await.status, StatusCode::OK);
}

/// Issue 14: adding another tenant's user answered 409 "exists", so a
/// tenant admin could probe every tenant's accounts. Now the answer is
/// the same as for a new email, and the other account is untouched.
#[tokio::test]
async fn adding_another_tenants_email_answers_like_a_new_one() {
    let e = Env::demo().await;
    let acme = e.token("acme-admin@example.com").await;
    let add = |email: &'static str| {
        e.post(
            "/api/v1/tenants/acme/users",
            &acme,
            json!({"email": email, "password": "chosen by acme admin", "role": "tenant_member"}),
        )
    };
    let elsewhere = add("finance-admin@example.com").await;
    let fresh = add("newcomer@example.com").await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text);
    assert_eq!(elsewhere.status, fresh.status);
    assert_eq!(
        elsewhere.header("content-type"),
        fresh.header("content-type")
    );
    // Byte for byte, once the id, the time and the email itself are masked.
    let masked = |r: &harness::Resp| {
        let mut t = r.text.clone();
        for k in ["id", "created_at", "email"] {
            t = t.replace(r.body[k].as_str().unwrap(), k);
        }
        t
    };
    assert_eq!(masked(&elsewhere), masked(&fresh));

    // Both are on acme's list, alike.
    let list = e.get("/api/v1/tenants/acme/users", &acme).await;
    let items = list.body["items"].as_array().unwrap();
    let keys = |email: &str| {
        let u = items.iter().find(|u| u["email"] == email).unwrap();
        let mut k: Vec<String> = u.as_object().unwrap().keys().cloned().collect();
        k.sort();
        (k, u["role"].clone(), u["tenant"].clone())
    };
    assert_eq!(
        keys("finance-admin@example.com"),
        keys("newcomer@example.com")
    );

    // The finance account is untouched: its own password, its own tenant;
    // acme's password opens nothing. The new email's account works.
    let me = e
        .get("/api/v1/me", &e.token("finance-admin@example.com").await)
        .await;
    assert_eq!(me.body["tenant"], "finance");
    assert_eq!(
        e.login_pair("finance-admin@example.com", "chosen by acme admin")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.login_pair("newcomer@example.com", "chosen by acme admin")
            .await
            .status,
        StatusCode::OK
    );

    // Adding either again to acme: the same 409 (acme's own list says so).
    let again1 = add("finance-admin@example.com").await;
    let again2 = add("newcomer@example.com").await;
    assert_eq!(again1.status, StatusCode::CONFLICT);
    assert_eq!(again1.text, again2.text);

    // Platform admins see every account: a taken email is a 409 for them.
    let admin = e.token("admin@example.com").await;
    let p = e
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "finance-admin@example.com", "password": PASSWORD,
                   "role": "tenant_member", "tenant": "globex"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.text);
    assert_eq!(p.body["errors"][0]["pointer"], "/email");

    // The platform-wide list pages through both rows of that email.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&e.db)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!(
                "/api/v1/users?limit=1&cursor={}",
                url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
            ),
            None => "/api/v1/users?limit=1".into(),
        };
        let page = e.get(&path, &admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for u in page.body["items"].as_array().unwrap() {
            seen.push(u["email"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    assert_eq!(
        seen.iter()
            .filter(|s| *s == "finance-admin@example.com")
            .count(),
        2
    );

    // Acme removes its member; the finance account still signs in.
    let id = elsewhere.body["id"].as_str().unwrap();
    assert_eq!(
        e.delete(&format!("/api/v1/tenants/acme/users/{id}"), &acme)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        e.login_pair("finance-admin@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn password_resets_over_the_api_follow_the_users_rules() {
    let e = Env::demo().await;
    let admin = e.token("admin@example.com").await;
    let finance_admin = e.token("finance-admin@example.com").await;
    let member = e.token("finance-member@example.com").await;
    let id = user_id(&e, "finance-member@example.com").await;
    let acme = user_id(&e, "acme-member@example.com").await;
    let tenant_path =
        |t: &str, u: uuid::Uuid| format!("/api/v1/tenants/{t}/users/{u}/password-reset");
    // Platform admins only on the platform's path; members nowhere.
    let r = e
        .post(
            &format!("/api/v1/users/{id}/password-reset"),
            &finance_admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = e
        .post(&tenant_path("finance", id), &member, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Another tenant's user is not found, and keeps its password.
    let r = e
        .post(&tenant_path("finance", acme), &finance_admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(
        e.login_pair("acme-member@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    // The tenant admin's reset: the old access token and password stop
    // working, the temporary one logs in.
    let r = e
        .post(&tenant_path("finance", id), &finance_admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "finance-member@example.com");
    let temporary = r.body["temporary_password"].as_str().unwrap().to_string();
    assert_eq!(
        e.get("/api/v1/me", &member).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.login_pair("finance-member@example.com", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        e.login_pair("finance-member@example.com", &temporary)
            .await
            .status,
        StatusCode::OK
    );
    // The platform admin's, of anyone's; a second reset gives another one.
    let r = e
        .post(
            &format!("/api/v1/users/{id}/password-reset"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(r.body["temporary_password"].as_str().unwrap(), temporary);
    let me = user_id(&e, "admin@example.com").await;
    let r = e
        .post(
            &format!("/api/v1/users/{me}/password-reset"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}
