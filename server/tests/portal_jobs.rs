//! One job's page, "has my change reached the routers?"
//! (`/t/{tenant}/jobs/{id}`, `/admin/jobs/{id}`) and `GET /api/v1/jobs/{id}`'s
//! devices: tenant isolation first (another tenant's job is the same 404
//! as a missing one), and a device's error text only for platform admins.

mod harness;

use axum::http::StatusCode;
use harness::browser::Browser;
use harness::Env;

/// Creates a network in finance through the portal; the job's id.
async fn finance_change(env: &Env) -> i64 {
    let mut b = Browser::new(env);
    b.login("finance-admin@example.com").await;
    let csrf = b.csrf("/t/finance").await;
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
    to.split("job=").nth(1).unwrap().parse().unwrap()
}

/// Records a failed apply of the job's revision on a router, with an error
/// that quotes configuration (what a tenant must never read).
async fn fail_apply(env: &Env, job: i64, router: &str) {
    sqlx::query(
        "INSERT INTO device_applies (device_kind, device, revision_id, finished_at, outcome, error)
         SELECT 'router', $2, id, now(), 'failed', 'commit failed: set vrf name acme-secret-vrf'
         FROM revisions WHERE device_kind = 'router' AND device = $2 AND job_id = $1",
    )
    .bind(job)
    .bind(router)
    .execute(&env.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_tenant_sees_its_jobs_devices_and_never_another_tenants_job() {
    let env = Env::demo().await;
    env.drain().await;
    let job = finance_change(&env).await;

    let mut f = Browser::new(&env);
    f.login("finance-member@example.com").await;
    // Queued: nothing compiled yet.
    let p = f.get(&format!("/t/finance/jobs/{job}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains(&format!("Job #{job}")), "{}", p.text);
    assert!(p.text.contains("badge queued"), "{}", p.text);
    assert!(p.text.contains("finance-admin@example.com"));
    assert!(p.text.contains("id=\"job-devices-none\""));

    env.drain().await;
    // The dashboard's latest jobs link to the page.
    let d = f.get("/t/finance").await;
    assert!(
        d.text.contains(&format!("href=\"/t/finance/jobs/{job}\"")),
        "{}",
        d.text
    );
    let p = f.get(&format!("/t/finance/jobs/{job}")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("badge done"), "{}", p.text);
    assert!(p.text.contains("<caption>"), "{}", p.text);
    // The worker here does not apply: each router the change reached is
    // compiled, at the revision the job stored.
    let seq: i32 = sqlx::query_scalar(
        "SELECT seq FROM revisions WHERE device_kind = 'router' AND device = 'vyos-dc1-01' AND job_id = $1",
    )
    .bind(job)
    .fetch_one(&env.db)
    .await
    .expect("the job changed vyos-dc1-01");
    let row = p
        .text
        .split("data-key=\"router/vyos-dc1-01\"")
        .nth(1)
        .expect("a row for vyos-dc1-01");
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(&format!("#{seq}")), "{row}");
    assert!(row.contains("badge device compiled"), "{row}");

    // A failed apply: the tenant sees that it failed, never the device's
    // words; the platform admin sees them.
    fail_apply(&env, job, "vyos-dc1-01").await;
    let p = f.get(&format!("/t/finance/jobs/{job}")).await;
    let row = p
        .text
        .split("data-key=\"router/vyos-dc1-01\"")
        .nth(1)
        .unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("badge device failed"), "{row}");
    assert!(
        row.contains("the platform&#x27;s operators can see why")
            || row.contains("the platform's operators can see why"),
        "{row}"
    );
    assert!(!p.text.contains("acme-secret-vrf"), "{}", p.text);
    let token = env.token("finance-admin@example.com").await;
    let r = env.get(&format!("/api/v1/jobs/{job}"), &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains("acme-secret-vrf"), "{}", r.text);
    let dev = r.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "vyos-dc1-01")
        .unwrap()
        .clone();
    assert_eq!(dev["state"], "failed");
    assert_eq!(dev["seq"], seq);
    assert!(dev["error"].is_null());
    assert!(dev["failed_at"].is_string());

    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let p = a.get(&format!("/admin/jobs/{job}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("acme-secret-vrf"), "{}", p.text);
    assert!(p
        .text
        .contains("href=\"/admin/devices/router/vyos-dc1-01\""));
    // The device's revision opens its diff for this job.
    let diff = format!("/admin/devices/router/vyos-dc1-01/{seq}");
    assert!(p.text.contains(&format!("href=\"{diff}\"")), "{}", p.text);
    assert_eq!(a.get(&diff).await.status, StatusCode::OK);
    let list = a.get("/admin/jobs").await;
    assert!(list.text.contains(&format!("href=\"/admin/jobs/{job}\"")));
    let admin = env.token("admin@example.com").await;
    let r = env.get(&format!("/api/v1/jobs/{job}"), &admin).await;
    assert!(r.text.contains("acme-secret-vrf"), "{}", r.text);

    // Applied afterwards: applied, with when.
    sqlx::query(
        "INSERT INTO device_applies (device_kind, device, revision_id, finished_at, outcome)
         SELECT 'router', 'vyos-dc1-01', id, now(), 'applied'
         FROM revisions WHERE device_kind = 'router' AND device = 'vyos-dc1-01' AND job_id = $1",
    )
    .bind(job)
    .execute(&env.db)
    .await
    .unwrap();
    let p = f.get(&format!("/t/finance/jobs/{job}")).await;
    let row = p
        .text
        .split("data-key=\"router/vyos-dc1-01\"")
        .nth(1)
        .unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("badge device applied"), "{row}");
    assert!(row.contains("applied 20"), "{row}");

    // Another tenant's users: the same 404 as a job that does not exist,
    // under their own tenant and under finance's.
    let mut g = Browser::new(&env);
    g.login("acme-admin@example.com").await;
    let missing = g.get("/t/acme/jobs/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for path in [
        format!("/t/acme/jobs/{job}"),
        format!("/t/finance/jobs/{job}"),
        format!("/admin/jobs/{job}"),
        "/t/acme/jobs/not-a-number".to_string(),
    ] {
        let p = g.get(&path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!p.text.contains("web2"), "{path}: {}", p.text);
        assert!(!p.text.contains(&format!("Job #{job}")), "{path}");
    }
    let acme = env.token("acme-admin@example.com").await;
    let r = env.get(&format!("/api/v1/jobs/{job}"), &acme).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A platform admin does not see finance's job under acme either.
    let p = a.get(&format!("/t/acme/jobs/{job}")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}
