//! Changes a tenant can follow and lists an operator can work with (issue
//! 19, items 3 and 4): retrying a failed job (its tenant's admins only,
//! audited, never another tenant's), a failed change shown on its object,
//! job numbers linked from notices and the audit log, and the console's
//! lists searched and filtered by their query strings (in SQL), failed
//! logins among the audit log's entries without their password.

mod harness;

use axum::http::StatusCode;
use harness::browser::{hidden, Browser};
use harness::Env;

/// Creates network `name` in finance through the portal; the job's id.
async fn finance_network(env: &Env, name: &str, cidr: &str) -> i64 {
    let mut b = Browser::new(env);
    b.login_ok("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance").await;
    let p = b
        .post(
            "/t/finance/networks",
            &[
                ("csrf", &csrf),
                ("name", name),
                ("cidr", cidr),
                ("gateway", "dc1/vyos-dc1-01"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    p.location
        .unwrap()
        .split("job=")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Makes job `id` failed, as the worker leaves a job whose apply failed
/// every attempt (the tenant's words in `errors`).
async fn fail_job(env: &Env, id: i64, errors: serde_json::Value) {
    sqlx::query(
        "UPDATE jobs SET status = 'failed', errors = $2, finished_at = now(), locked_until = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(errors)
    .execute(&env.db)
    .await
    .unwrap();
}

fn apply_failed() -> serde_json::Value {
    serde_json::json!([{"message": "applying failed on router vyos-dc1-01; the platform's operators can see why"}])
}

#[tokio::test]
async fn a_tenant_admin_retries_a_failed_change_and_no_one_else_can() {
    let env = Env::demo().await;
    env.drain().await;
    let job = finance_network(&env, "web2", "100.64.2.0/28").await;
    env.drain().await;
    fail_job(&env, job, apply_failed()).await;

    // The failed change shows on its network's row, with the reason and
    // a link to the job.
    let mut f = Browser::new(&env);
    f.login_ok("finance-admin@example.com").await;
    let d = f.get("/t/finance").await;
    let row = d.text.split("data-network=\"web2\"").nth(1).unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("last change failed: "), "{row}");
    assert!(
        row.contains("applying failed on router vyos-dc1-01"),
        "{row}"
    );
    assert!(
        row.contains(&format!("href=\"/t/finance/jobs/{job}\"")),
        "{row}"
    );
    // Another network's row says nothing of it.
    let other = d
        .text
        .split("data-network=")
        .filter(|r| !r.starts_with("\"web2\""))
        .nth(1);
    if let Some(o) = other {
        assert!(!o[..o.find("</tr>").unwrap()].contains("last change failed"));
    }

    // A member reads the job, and is told the admins may retry it.
    let mut m = Browser::new(&env);
    m.login_ok("finance-member@example.com").await;
    let p = m.get(&format!("/t/finance/jobs/{job}")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.text.contains("id=\"retry\""), "{}", p.text);
    assert!(p.text.contains("admins can retry it"), "{}", p.text);
    let csrf = hidden(&p.text, "csrf");
    let r = m
        .post(&format!("/t/finance/jobs/{job}/retry"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Another tenant's admin: the same 404 as a missing job, under their
    // tenant and under finance's; nothing is queued.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&env.db)
        .await
        .unwrap();
    let mut a = Browser::new(&env);
    a.login_ok("acme-admin@example.com").await;
    let csrf = a.csrf("/t/acme").await;
    for path in [
        format!("/t/acme/jobs/{job}/retry"),
        format!("/t/finance/jobs/{job}/retry"),
        format!("/admin/jobs/{job}/retry"),
    ] {
        let r = a.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
    let acme = env.token("acme-admin@example.com").await;
    let r = env
        .post(
            &format!("/api/v1/jobs/{job}/retry"),
            &acme,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let member = env.token("finance-member@example.com").await;
    let r = env
        .post(
            &format!("/api/v1/jobs/{job}/retry"),
            &member,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(before, after, "a refused retry queued a job");

    // The tenant's admin sees the button and retries: a new job of finance,
    // audited with both jobs, and the page of the new job says so.
    let p = f.get(&format!("/t/finance/jobs/{job}")).await;
    assert!(p.text.contains("id=\"retry\""), "{}", p.text);
    let csrf = hidden(&p.text, "csrf");
    let r = f
        .post(&format!("/t/finance/jobs/{job}/retry"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let to = r.location.unwrap();
    let new: i64 = to
        .trim_start_matches("/t/finance/jobs/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(new > job);
    let (tenant, reason): (Option<uuid::Uuid>, String) =
        sqlx::query_as("SELECT tenant_id, reason FROM jobs WHERE id = $1")
            .bind(new)
            .fetch_one(&env.db)
            .await
            .unwrap();
    let finance: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = 'finance'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(tenant, Some(finance));
    assert!(
        reason.ends_with(&format!("(retry of job #{job})")),
        "{reason}"
    );
    let (actor, object, job_id): (String, String, Option<i64>) = sqlx::query_as(
        "SELECT actor, object, job_id FROM audit_log WHERE action = 'job.retry' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(actor, "user:finance-admin@example.com");
    assert_eq!(object, format!("jobs/{job}"));
    assert_eq!(job_id, Some(new));
    let p = f.get(&to).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("Queued again"), "{}", p.text);
    assert!(
        p.text.contains(&format!("href=\"/t/finance/jobs/{job}\"")),
        "{}",
        p.text
    );

    // The old job now has a later one: it may not be retried again (409,
    // naming the later job), neither from the page nor the API.
    let p = f.get(&format!("/t/finance/jobs/{job}")).await;
    assert!(!p.text.contains("id=\"retry\""), "{}", p.text);
    assert!(p.text.contains(&format!("job #{new}")) || p.text.contains(&format!("#{new}")));
    let admin = env.token("finance-admin@example.com").await;
    let r = env
        .post(
            &format!("/api/v1/jobs/{job}/retry"),
            &admin,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains(&format!("#{new}")), "{}", r.text);

    // Once the retry is done, the network looks normal again.
    env.drain().await;
    let d = f.get("/t/finance").await;
    assert!(!d.text.contains("last change failed"), "{}", d.text);

    // The audit chain still verifies with the entries' jobs in it.
    let checked = vxguard_store::audit::verify(&env.db).await.unwrap();
    assert!(checked.is_ok(), "the audit chain broke");
}

#[tokio::test]
async fn a_job_failing_on_the_tenants_own_configuration_is_not_retried() {
    let env = Env::demo().await;
    env.drain().await;
    let job = finance_network(&env, "web3", "100.64.3.0/28").await;
    env.drain().await;
    fail_job(
        &env,
        job,
        serde_json::json!([{"object": "networks/web3", "message": "overlaps another network"}]),
    )
    .await;
    let token = env.token("finance-admin@example.com").await;
    let r = env.get(&format!("/api/v1/jobs/{job}"), &token).await;
    assert_eq!(r.body["retryable"], false, "{}", r.text);
    assert!(r.body["retry_refused"]
        .as_str()
        .unwrap()
        .contains("your configuration"));
    let r = env
        .post(
            &format!("/api/v1/jobs/{job}/retry"),
            &token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // A done job is no retry either.
    let done = finance_network(&env, "web4", "100.64.4.0/28").await;
    env.drain().await;
    let r = env
        .post(
            &format!("/api/v1/jobs/{done}/retry"),
            &token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

#[tokio::test]
async fn the_consoles_lists_filter_in_the_query_string() {
    let env = Env::demo().await;
    env.drain().await;
    let job = finance_network(&env, "web5", "100.64.5.0/28").await;
    env.drain().await;
    fail_job(&env, job, apply_failed()).await;
    let mut a = Browser::new(&env);
    a.login_ok("admin@example.com").await;

    // Jobs: by state, by tenant, by kind, by search, by day.
    let all = a.get("/admin/jobs").await;
    assert!(all.text.contains(&format!("href=\"/admin/jobs/{job}\"")));
    let failed = a.get("/admin/jobs?status=failed").await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text);
    assert!(
        failed.text.contains(&format!("data-key=\"{job}\"")),
        "{}",
        failed.text
    );
    assert!(!failed.text.contains("badge done"), "{}", failed.text);
    assert!(failed.text.contains("Clear filters"));
    assert!(
        failed.text.contains("<option value=\"failed\" selected"),
        "{}",
        failed.text
    );
    let acme = a.get("/admin/jobs?tenant=acme").await;
    assert!(!acme.text.contains(&format!("data-key=\"{job}\"")));
    let fin = a
        .get("/admin/jobs?tenant=finance&kind=network&q=web5")
        .await;
    assert!(
        fin.text.contains(&format!("data-key=\"{job}\"")),
        "{}",
        fin.text
    );
    let other = a.get("/admin/jobs?kind=rule&tenant=finance").await;
    assert!(!other.text.contains(&format!("data-key=\"{job}\"")));
    let past = a.get("/admin/jobs?to=2000-01-01").await;
    assert!(
        past.text.contains("No job matches these filters."),
        "{}",
        past.text
    );
    let bad = a.get("/admin/jobs?status=exploded").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = a.get("/admin/jobs?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Pages keep the filters: 60 more failed jobs of finance.
    sqlx::query(
        "INSERT INTO jobs (tenant_id, reason, created_by, status, finished_at)
         SELECT (SELECT id FROM tenants WHERE slug = 'finance'), 'network.update tenants/finance/networks/web5', 'test', 'failed', now()
         FROM generate_series(1, 60)",
    )
    .execute(&env.db)
    .await
    .unwrap();
    let p = a.get("/admin/jobs?status=failed&tenant=finance").await;
    let older = p.text.split("rel=\"next\"").next().unwrap();
    let href = older.rsplit("href=\"").next().unwrap();
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    assert!(
        href.contains("status=failed")
            && href.contains("tenant=finance")
            && href.contains("cursor="),
        "{href}"
    );
    let p2 = a.get(&href).await;
    assert_eq!(p2.status, StatusCode::OK);
    assert!(
        p2.text.contains(&format!("data-key=\"{job}\"")),
        "the older page has the first failed job"
    );
    assert!(p2.text.contains("id=\"first\""));

    // Users: by search, tenant and role.
    let u = a.get("/admin/users?q=finance&role=tenant_member").await;
    assert!(u.text.contains("finance-member@example.com"), "{}", u.text);
    assert!(!u.text.contains("finance-admin@example.com"));
    assert!(!u.text.contains("acme-member@example.com"));
    let u = a.get("/admin/users?tenant=platform").await;
    assert!(u.text.contains("admin@example.com"));
    assert!(!u.text.contains("acme-admin@example.com"));

    // Tenants: by search.
    let t = a.get("/admin?q=acm").await;
    assert!(t.text.contains("data-key=\"acme\""), "{}", t.text);
    assert!(!t.text.contains("data-key=\"finance\""));

    // Devices: by kind and search, names linking to their pages, the
    // revision's job linked.
    let d = a.get("/admin/devices?kind=hypervisor").await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert!(
        d.text.contains("href=\"/admin/devices/hypervisor/"),
        "{}",
        d.text
    );
    assert!(!d.text.contains("href=\"/admin/devices/router/"));
    let d = a.get("/admin/devices?q=dc2").await;
    assert!(d.text.contains("vyos-dc2-01"));
    assert!(!d.text.contains("vyos-dc1-01"));
    assert!(d.text.contains("href=\"/admin/jobs/"), "{}", d.text);
    let d = a.get("/admin/devices?state=applied").await;
    assert!(
        d.text.contains("No device matches these filters."),
        "{}",
        d.text
    );

    // Nobody else reaches the console's lists.
    let mut f = Browser::new(&env);
    f.login_ok("finance-admin@example.com").await;
    for path in [
        "/admin/jobs?status=failed",
        "/admin/devices",
        "/admin/users?q=a",
        "/admin/audit?action=login",
    ] {
        assert_eq!(f.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_audit_log_links_jobs_shows_failed_logins_and_never_a_password() {
    let env = Env::demo().await;
    env.drain().await;
    let job = finance_network(&env, "web6", "100.64.6.0/28").await;

    // A failed login, with a password that must never be stored.
    let secret = "Not-The-Password-8c41e";
    let mut x = Browser::new(&env);
    let p = x.get("/login").await;
    let csrf = hidden(&p.text, "csrf");
    let r = x
        .post(
            "/login",
            &[
                ("email", "finance-admin@example.com"),
                ("password", secret),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_ne!(
        r.status,
        StatusCode::SEE_OTHER,
        "the wrong password logged in"
    );
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE concat_ws(' ', actor, action, object, source, before::text, after::text) LIKE '%' || $1 || '%'",
    )
    .bind(secret)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(leaked, 0, "the password is in the audit log");

    let mut a = Browser::new(&env);
    a.login_ok("admin@example.com").await;
    let p = a.get("/admin/audit?action=login.failed").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("login.failed"), "{}", p.text);
    assert!(
        p.text.contains(
            r#"<span class="whole">users/</span><wbr><span class="whole">finance-admin</span><wbr><span class="whole">@example.com</span>"#
        ),
        "{}",
        p.text
    );
    assert!(!p.text.contains("network.create"), "{}", p.text);
    assert!(!p.text.contains(secret));
    // The change's entry links its job and shows what it created.
    let p = a.get("/admin/audit?q=web6").await;
    assert!(p.text.contains("network.create"), "{}", p.text);
    assert!(
        p.text.contains(&format!("href=\"/admin/jobs/{job}\"")),
        "{}",
        p.text
    );
    assert!(p.text.contains("Before and after"), "{}", p.text);
    assert!(p.text.contains("100.64.6.0/28"), "{}", p.text);
    let p = a.get("/admin/audit?tenant=acme&q=web6").await;
    assert!(!p.text.contains("network.create"), "{}", p.text);

    // The tenant's own log: its entries with their jobs; another tenant's
    // never, whatever the query string asks.
    let mut f = Browser::new(&env);
    f.login_ok("finance-member@example.com").await;
    let p = f.get("/t/finance/audit?action=network").await;
    assert!(
        p.text.contains(&format!("href=\"/t/finance/jobs/{job}\"")),
        "{}",
        p.text
    );
    let mut g = Browser::new(&env);
    g.login_ok("acme-member@example.com").await;
    for path in [
        "/t/acme/audit?q=web6",
        "/t/acme/audit?tenant=finance&q=web6",
    ] {
        let p = g.get(path).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(!p.text.contains("tenants/finance"), "{path}: {}", p.text);
        assert!(p.text.contains("No entry matches these filters."), "{path}");
    }
    let acme = env.token("acme-admin@example.com").await;
    let r = env.get("/api/v1/tenants/acme/audit?q=web6", &acme).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "{}", r.text);

    // The tenant's changes: its own jobs, filtered.
    let p = f.get("/t/finance/changes?kind=network&q=web6").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(
        p.text.contains(&format!("href=\"/t/finance/jobs/{job}\"")),
        "{}",
        p.text
    );
    let p = g.get("/t/acme/changes?q=web6").await;
    assert!(!p.text.contains("tenants/finance"), "{}", p.text);
    assert!(
        p.text.contains("No job matches these filters."),
        "{}",
        p.text
    );
}
