//! Jobs and workers against the real PostgreSQL: a change becomes a job and
//! the worker stores one revision per affected device with its diff; failed
//! compiles; two worker processes draining 500 jobs with one killed midway;
//! an expired lease; the event stream; the audit chain.

mod harness;

use axum::http::{Method, StatusCode};
use harness::Env;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vxguard::jobs;

#[tokio::test]
async fn a_rule_change_becomes_router_revisions_with_a_diff() {
    let e = Env::demo().await;
    assert_eq!(e.drain().await, 1, "the demo load is one job");
    let first: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(first, 6, "4 routers and 2 hypervisors");
    let t = e.token("acme-admin@example.com").await;
    let r = e
        .post(
            "/api/v1/tenants/acme/rules",
            &t,
            json!({"id": 40, "action": "accept", "protocol": "tcp", "destination_port": 8443}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let job: i64 = r.header("x-job").unwrap().parse().unwrap();
    assert_eq!(
        e.get(&format!("/api/v1/jobs/{job}"), &t).await.body["status"],
        "queued"
    );
    e.drain().await;
    let j = e.get(&format!("/api/v1/jobs/{job}"), &t).await;
    assert_eq!(j.body["status"], "done", "{}", j.text);
    let routers: Vec<String> = serde_json::from_value(j.body["result"]["routers"].clone()).unwrap();
    assert_eq!(
        routers,
        vec!["vyos-dc1-01", "vyos-dc1-02", "vyos-dc2-01", "vyos-dc2-02"],
        "acme's gateways"
    );
    let admin = e.token("admin@example.com").await;
    let revs = e
        .get("/api/v1/devices/router/vyos-dc1-01/revisions", &admin)
        .await;
    assert_eq!(revs.status, StatusCode::OK);
    let latest = &revs.body["items"][0];
    assert_eq!(latest["seq"], 2);
    let diff = latest["diff"].as_str().unwrap();
    assert!(
        diff.contains("description 'policy rule 40'") && diff.contains("destination port '8443'"),
        "{diff}"
    );
    assert!(
        diff.lines()
            .all(|l| l.starts_with("set ") || l.starts_with("delete ")),
        "{diff}"
    );
    // Full configuration, with keys redacted.
    let one = e
        .get("/api/v1/devices/router/vyos-dc1-01/revisions/2", &admin)
        .await;
    let config = one.body["config"].as_str().unwrap();
    assert!(
        config.contains("private-key '<secret>'"),
        "keys are redacted"
    );
    let mut conn = e.db.acquire().await.unwrap();
    let stored = vxguard_store::revisions::config_at(&mut conn, "router", "vyos-dc1-01", 2)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.contains("'<secret>'"),
        "the stored revision keeps the real keys for the driver"
    );
    // Hypervisors enforce the same policy, so those with acme ports changed too.
    let hv = e
        .get("/api/v1/devices/hypervisor/hv-dc1-01/revisions", &admin)
        .await;
    assert_eq!(hv.body["items"][0]["seq"], 2);
    assert!(
        hv.body["items"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("tp_dst=8443"),
        "{}",
        hv.text
    );
}

/// Writes `corrupt` around the API (as a corrupted store or a new check
/// would hold it), runs a platform job and gives its status, errors and
/// operator errors.
async fn platform_job_after(corrupt: &str) -> (String, serde_json::Value, serde_json::Value) {
    let e = Env::demo().await;
    e.drain().await;
    sqlx::query(corrupt).execute(&e.db).await.unwrap();
    let mut tx = e.db.begin().await.unwrap();
    let job = jobs::enqueue(&mut tx, None, "test", "test").await.unwrap();
    tx.commit().await.unwrap();
    e.drain().await;
    let (status, errors, operator): (String, Option<serde_json::Value>, Option<serde_json::Value>) =
        sqlx::query_as("SELECT status, errors, operator_errors FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&e.db)
            .await
            .unwrap();
    (
        status,
        errors.unwrap_or_default(),
        operator.unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_job_that_cannot_compile_fails_with_the_compilers_errors() {
    // A router in a site that does not exist: the platform's own error,
    // so the compile must fail, not guess.
    let (status, errors, _) = platform_job_after(
        "UPDATE objects SET spec = jsonb_set(spec, '{site}', '\"gone\"') WHERE kind = 'router' AND name = 'vyos-dc1-01'",
    )
    .await;
    assert_eq!(status, "failed");
    assert!(
        errors.to_string().contains("site “gone” does not exist"),
        "{errors}"
    );
}

#[tokio::test]
async fn a_tenant_that_cannot_compile_is_held_back_and_the_platform_job_is_done() {
    // acme's network on a router that does not exist: the error is acme's
    // alone, so acme keeps its last good configuration and the platform's
    // job goes ahead; operators see why.
    let (status, _, operator) = platform_job_after(
        "UPDATE objects SET spec = jsonb_set(spec, '{sites,0,gateways}', '[\"vyos-gone-01\", \"vyos-dc1-02\"]') WHERE kind = 'network' AND name = 'app'",
    )
    .await;
    assert_eq!(status, "done");
    let operator = operator.to_string();
    assert!(operator.contains("vyos-gone-01"), "{operator}");
    assert!(operator.contains("tenants/acme/networks/app"), "{operator}");
}

fn spawn_worker(e: &Env, name: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vxguard"))
        .args(["worker", "--name", name])
        .env("DATABASE_URL", &e.url)
        .env(
            "VXGUARD_MASTER_KEY_FILE",
            harness::master_key_args().master_key_file.unwrap(),
        )
        .env("VXGUARD_JOB_LEASE_SECS", "3")
        .env("VXGUARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts")
}

struct Reap(Vec<Child>);
impl Drop for Reap {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_drain_500_jobs_once_each_even_when_one_is_killed() {
    let e = Env::demo().await;
    let mut tx = e.db.begin().await.unwrap();
    for i in 0..499 {
        jobs::enqueue(&mut tx, None, &format!("load test {i}"), "test")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut procs = Reap(vec![spawn_worker(&e, "w1"), spawn_worker(&e, "w2")]);
    let start = Instant::now();
    let count = |s: &'static str| {
        let db = e.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE status = $1")
                .bind(s)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    // Kill w1 (SIGKILL, mid-job if it has one) once a fifth is done.
    while count("done").await < 100 {
        assert!(start.elapsed() < Duration::from_secs(300), "too slow");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    procs.0[0].kill().unwrap();
    procs.0[0].wait().unwrap();
    while count("done").await + count("failed").await < 500 {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "jobs left: {}",
            500 - count("done").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count("done").await, 500, "none failed, none lost");
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT job_id FROM job_events WHERE event = 'done' GROUP BY job_id HAVING count(*) <> 1) x",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!(twice, 0, "every job finished exactly once");
    let by_worker: Vec<(String, i64)> = sqlx::query_as("SELECT worker, count(*) FROM job_events WHERE event = 'done' GROUP BY worker ORDER BY worker")
        .fetch_all(&e.db)
        .await
        .unwrap();
    assert_eq!(by_worker.len(), 2, "both workers worked: {by_worker:?}");
    // Revisions never forked: one per device per sequence number (unique
    // index), and only the first job changed anything.
    let revs: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(revs, 6);
    eprintln!(
        "500 jobs by two workers in {:?}: {by_worker:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_after_its_lease() {
    let e = Env::demo().await;
    // A worker claims the job, then dies without a word.
    let dead = jobs::claim(&e.db, "dead-worker")
        .await
        .unwrap()
        .expect("a job");
    assert!(
        jobs::claim(&e.db, "other").await.unwrap().is_none(),
        "a leased job is not claimed twice"
    );
    sqlx::query("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = $1")
        .bind(dead.id)
        .execute(&e.db)
        .await
        .unwrap();
    assert_eq!(e.drain().await, 1);
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM jobs WHERE id = $1")
            .bind(dead.id)
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("done", 2));
    // The dead worker, back from the grave, cannot finish it again.
    let mut tx = e.db.begin().await.unwrap();
    assert!(
        !jobs::finish(&mut tx, &dead, "dead-worker", "done", None, None)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn job_progress_streams_as_server_sent_events() {
    let e = Env::demo().await;
    let t = e.token("admin@example.com").await;
    let job: i64 = sqlx::query_scalar("SELECT max(id) FROM jobs")
        .fetch_one(&e.db)
        .await
        .unwrap();
    let worker = e.worker("sse-worker");
    let drain = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.drain().await.unwrap()
    });
    let r = e
        .call(
            Method::GET,
            &format!("/api/v1/jobs/{job}/events"),
            Some(&t),
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    let statuses: Vec<String> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("queued"),
        "{}",
        r.text
    );
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("done"),
        "{}",
        r.text
    );
    drain.await.unwrap();
}

#[tokio::test]
async fn the_audit_chain_detects_tampering() {
    let e = Env::demo().await;
    let t = e.token("acme-admin@example.com").await;
    e.post(
        "/api/v1/tenants/acme/services",
        &t,
        json!({"id": "s1", "addresses": ["100.65.0.7/32"]}),
    )
    .await;
    e.delete("/api/v1/tenants/acme/services/s1", &t).await;
    let n = vxguard::audit::verify(&e.db)
        .await
        .unwrap()
        .expect("intact");
    assert!(n >= 4, "{n}");
    let entries = e.get("/api/v1/tenants/acme/audit", &t).await;
    let actions: Vec<&str> = entries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.starts_with(&["service.delete", "service.create"]),
        "{actions:?}"
    );
    assert_eq!(entries.body["items"][0]["before"]["id"], "s1");
    // The log refuses edits...
    let edit = sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(&e.db)
        .await;
    assert!(edit.is_err());
    // ...and an edit made around the trigger breaks the chain at that row.
    let id: i64 =
        sqlx::query_scalar("SELECT min(id) FROM audit_log WHERE action = 'service.create'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    let mut tx = e.db.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'user:someone-else@example.com' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let broken = vxguard::audit::verify(&e.db)
        .await
        .unwrap()
        .expect_err("tampering is detected");
    assert_eq!(broken.id, id);
    // The command line says the same, with exit status 1.
    let out = Command::new(env!("CARGO_BIN_EXE_vxguard"))
        .args(["audit", "verify", "--database-url", &e.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("entry {id}")));
}

/// VyOS cannot change a VRF's table in place: a compile that would is
/// refused whole, before anything is stored for a router.
#[tokio::test]
async fn a_vrf_table_change_in_place_fails_the_job() {
    let e = Env::demo().await;
    e.drain().await;
    // The router runs other tables than the compiler now gives (as after a
    // lost allocation): the next revision would move them.
    let n = sqlx::query(
        r#"UPDATE revisions SET config = regexp_replace(config, '(vrf name \S+ table )''\d+''', '\1''9999''', 'g')
           WHERE device = 'vyos-dc1-01'"#,
    )
    .execute(&e.db)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(n, 1);
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions")
        .fetch_one(&e.db)
        .await
        .unwrap();
    let t = e.token("acme-admin@example.com").await;
    let r = e
        .post(
            "/api/v1/tenants/acme/rules",
            &t,
            json!({"id": 44, "action": "accept", "protocol": "icmp"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    e.drain().await;
    let job: i64 = r.header("x-job").unwrap().parse().unwrap();
    let (status, errors, operator): (String, serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT status, errors, operator_errors FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(
        operator
            .to_string()
            .contains("table id modification not possible"),
        "{operator}"
    );
    // The tenant is told that, and nothing of other tenants' VRFs.
    assert!(!errors.to_string().contains("VRF"), "{errors}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(after, before, "no revision stored");
}

/// Jobs queued while the worker was busy are carried out by the next
/// compile: one claim finishes them all, each with its own tenant's
/// result, and a tenant whose change does not compile fails its own job
/// with its own errors while the others are done.
#[tokio::test]
async fn one_compile_carries_out_the_queued_jobs_of_other_tenants() {
    let e = Env::demo().await;
    e.drain().await;
    let mut posted = Vec::new();
    for (tenant, port) in [("acme", 8443), ("globex", 8444)] {
        let t = e.token(&format!("{tenant}-admin@example.com")).await;
        let r = e
            .post(
                &format!("/api/v1/tenants/{tenant}/rules"),
                &t,
                json!({"id": 41, "action": "accept", "protocol": "tcp", "destination_port": port}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        posted.push((
            tenant,
            t,
            r.header("x-job").unwrap().parse::<i64>().unwrap(),
        ));
    }
    // finance's network on a router that does not exist (around the API),
    // and a job for it.
    sqlx::query(
        "UPDATE objects SET spec = jsonb_set(spec, '{sites,0,gateways}', '[\"vyos-gone-01\"]')
         WHERE kind = 'network' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'finance')",
    )
    .execute(&e.db)
    .await
    .unwrap();
    let finance: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = 'finance'")
        .fetch_one(&e.db)
        .await
        .unwrap();
    let mut tx = e.db.begin().await.unwrap();
    let finance_job = jobs::enqueue(&mut tx, Some(finance), "test", "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(e.drain().await, 1, "one claim, one compile");
    let (first, second) = (posted[0].2, posted[1].2);
    for (tenant, t, job) in &posted {
        let j = e.get(&format!("/api/v1/jobs/{job}"), t).await;
        assert_eq!(j.body["status"], "done", "{tenant}: {}", j.text);
        let routers = j.body["result"]["routers"].as_array().unwrap();
        assert!(!routers.is_empty(), "{tenant}: {}", j.text);
        assert!(!j.text.contains("finance"), "{tenant}: {}", j.text);
    }
    let carried: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM job_events WHERE job_id = ANY($1) AND event LIKE 'claimed%' ORDER BY job_id",
    )
    .bind(vec![second, finance_job])
    .fetch_all(&e.db)
    .await
    .unwrap();
    assert_eq!(
        carried,
        vec![
            format!("claimed with job {first}"),
            format!("claimed with job {first}")
        ]
    );
    let (status, errors): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, errors FROM jobs WHERE id = $1")
            .bind(finance_job)
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    let errors = errors.to_string();
    assert!(errors.contains("vyos-gone-01"), "{errors}");
    assert!(
        !errors.contains("acme") && !errors.contains("globex"),
        "{errors}"
    );
}
