//! The worker's apply phase against real `vxguard-lab router` processes
//! (plain HTTP on 127.0.0.1, ephemeral ports) and a real PostgreSQL: the
//! demo platform's four routers (two 1.4, two 1.5) with `api_endpoint`s
//! pointing at them. A router killed inside its commit; a wrong API key;
//! a rollout that stops at its first failure; drift found and cleared;
//! the per-device state in the API and the admin console; a tenant's job
//! page with its change applied, then failed on a router it cannot reach.

mod harness;

use axum::http::StatusCode;
use harness::browser::Browser;
use harness::Env;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vxguard::driver::reconcile::Settings;
use vxguard::driver::vyos::Policy;
use vxguard::worker::Worker;
use vyos_api::{ApiVersion, Client, Configure, ConfigureCommand, ConfigureOp, Trust};

const ROUTERS: [(&str, &str, &str); 4] = [
    ("vyos-dc1-01", "1.4", "https://5.254.54.10"),
    ("vyos-dc1-02", "1.5", "https://5.254.54.11"),
    ("vyos-dc2-01", "1.4", "https://5.254.43.170"),
    ("vyos-dc2-02", "1.5", "https://5.254.43.171"),
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The lab binary, `vxguard-lab` (package vxguard-lab-cli), next to
/// `vxguard` in the same target directory: it is another package's binary
/// (the production package does not depend on the lab, issue 16), so
/// cargo does not build it for these tests; scripts/test builds it first
/// (`cargo build -p vxguard-lab-cli`).
fn lab_binary() -> PathBuf {
    let lab = std::path::Path::new(env!("CARGO_BIN_EXE_vxguard")).with_file_name("vxguard-lab");
    assert!(
        lab.exists(),
        "{} is missing: build it first with `cargo build -p vxguard-lab-cli` (scripts/test does)",
        lab.display()
    );
    lab
}

/// One `vxguard-lab router` process; killed (and its state removed) on drop.
struct LabRouter {
    name: &'static str,
    version: &'static str,
    port: u16,
    key: String,
    dir: PathBuf,
    commit_delay_ms: u64,
    child: Option<Child>,
}

impl LabRouter {
    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The certificate the router serves (made in its state directory
    /// before it first starts, kept across restarts).
    fn pin(&self) -> Trust {
        Trust::Pinned(
            vxguard_lab::tls::ensure_identity(&self.dir)
                .unwrap()
                .fingerprint(),
        )
    }

    fn start(&mut self) {
        let child = Command::new(lab_binary())
            .args(["router", "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["--version", self.version, "--state"])
            .arg(&self.dir)
            .args(["--minute-secs", "5", "--commit-delay-ms"])
            .arg(self.commit_delay_ms.to_string())
            .env("VXGUARD_LAB_KEY", &self.key)
            .env("VXGUARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("vxguard-lab router starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "lab router {} did not listen",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to answer or tidy up.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn client(&self, key: &str) -> Client {
        let v = ApiVersion::parse(self.version).unwrap();
        Client::new(&self.url(), key, v)
            .unwrap()
            .trusting(self.pin())
            .unwrap()
    }

    fn boot_mtime(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.dir.join("config.boot"))
            .and_then(|m| m.modified())
            .ok()
    }
}

impl Drop for LabRouter {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The demo platform with its routers' endpoints on lab routers (not
/// started yet), and their keys from the stored device secrets.
struct Lab {
    env: Env,
    routers: Vec<LabRouter>,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn lab() -> Lab {
    let dir = TempDir(
        std::env::temp_dir().join(format!("vxguard-rollout-{}", uuid::Uuid::new_v4().simple())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/two-dc.yaml"
    ))
    .unwrap();
    let mut ports = Vec::new();
    for (name, _, endpoint) in ROUTERS {
        let port = free_port();
        let pin = vxguard_lab::tls::ensure_identity(&dir.0.join(name))
            .unwrap()
            .fingerprint();
        yaml = yaml.replace(
            &format!("api_endpoint: {endpoint}\n"),
            &format!(
                "api_endpoint: https://127.0.0.1:{port}\n      api_certificate_sha256: \"{}\"\n",
                vyos_api::tls::fingerprint_text(&pin)
            ),
        );
        ports.push(port);
    }
    let file = dir.0.join("lab.yaml");
    std::fs::write(&file, yaml).unwrap();
    let env = Env::empty().await;
    assert!(vxguard::demo::run(vxguard::demo::DemoArgs {
        database_url: env.url.clone(),
        file: Some(file),
        password: harness::PASSWORD.into(),
        master_key: harness::master_key_args(),
    })
    .await
    .unwrap());
    let secrets: Value = vxguard_store::intent::secrets_doc(&env.db)
        .await
        .unwrap()
        .expect("device secrets");
    let routers = ROUTERS
        .iter()
        .zip(ports)
        .map(|((name, version, _), port)| LabRouter {
            name,
            version,
            port,
            key: secrets["routers"][name]["api_key"]
                .as_str()
                .unwrap()
                .to_string(),
            dir: dir.0.join(name),
            commit_delay_ms: 0,
            child: None,
        })
        .collect();
    Lab {
        env,
        routers,
        _dir: dir,
    }
}

fn settings() -> Settings {
    Settings {
        batch: 2,
        policy: Policy {
            confirm_minutes: 1,
            lock_retries: 10,
            backoff: Duration::from_millis(50),
        },
        health_settle: Duration::from_millis(500),
        health_wait: Duration::from_secs(2),
        health_poll: Duration::from_millis(200),
        // These routers-only tests have no switches: hypervisors stay pending.
        hypervisors: false,
        drift_every: None,
        api_key_every: None,
    }
}

fn applying_worker(env: &Env) -> Worker {
    let mut w = env.worker("rollout-worker");
    w.apply = Some(Arc::new(settings()));
    w
}

async fn job(env: &Env, id: i64) -> (String, i32, Option<Value>, Option<Value>) {
    sqlx::query_as("SELECT status, attempts, errors, result FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

async fn applies(env: &Env, router: &str) -> Vec<(Option<String>, Option<String>)> {
    sqlx::query_as("SELECT outcome, error FROM device_applies WHERE device = $1 ORDER BY id")
        .bind(router)
        .fetch_all(&env.db)
        .await
        .unwrap()
}

/// `GET /api/v1/devices` as the platform admin, by device name.
async fn devices(env: &Env) -> std::collections::BTreeMap<String, Value> {
    let t = env.token("admin@example.com").await;
    let r = env.get("/api/v1/devices", &t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

/// The router's running configuration equals its latest revision.
async fn runs_latest(env: &Env, r: &LabRouter) -> bool {
    runs_latest_asked_with(env, r, &r.key).await
}

/// [`runs_latest`], reading the router with `key`.
async fn runs_latest_asked_with(env: &Env, r: &LabRouter, key: &str) -> bool {
    let mut conn = env.db.acquire().await.unwrap();
    let (_, config) = vxguard_store::revisions::latest_config(&mut conn, "router", r.name)
        .await
        .unwrap()
        .unwrap();
    let defs = harness::defs();
    let v = vxguard_compiler::intent::VyosVersion::parse(r.version).unwrap();
    let d = &defs[&v];
    let want = vyos_tree::ConfigTree::parse_set(&config, d).unwrap();
    let running = vxguard::driver::drift::read_running(&r.client(key), d)
        .await
        .unwrap();
    running == want
}

async fn wait_due(env: &Env, id: i64) {
    // The retry's backoff (2 s after the first attempt) must pass.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let due: bool = sqlx::query_scalar(
            "SELECT status = 'queued' AND run_after <= now() FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap();
        if due {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} never became due");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_router_killed_inside_its_commit_fails_the_job_cleanly_and_the_retry_applies() {
    let mut lab = lab().await;
    // vyos-dc1-02 (1.5, second wave) holds each commit for 3 s after
    // saving it: the kill lands between the commit and its answer.
    lab.routers[1].commit_delay_ms = 3000;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let job_id: i64 = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id LIMIT 1")
        .fetch_one(&env.db)
        .await
        .unwrap();
    let worker = applying_worker(env);
    let started = Instant::now();
    let run = tokio::spawn({
        let w = worker.clone();
        async move { w.drain().await.unwrap() }
    });
    let before = lab.routers[1].boot_mtime();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lab.routers[1].boot_mtime() == before {
        assert!(
            Instant::now() < deadline,
            "the commit never reached vyos-dc1-02"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lab.routers[1].kill();
    assert_eq!(run.await.unwrap(), 1);
    let first_attempt = started.elapsed();

    // The job goes back to the queue, naming the router and its error.
    let (status, attempts, errors, _) = job(env, job_id).await;
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    let msg = errors.unwrap()[0]["message"].as_str().unwrap().to_string();
    assert!(
        msg.starts_with("apply failed: router vyos-dc1-02: ") && msg.contains("127.0.0.1"),
        "{msg}"
    );
    assert!(msg.contains("not attempted: vyos-dc2-02"), "{msg}");
    // Nothing half-recorded: every attempt finished, with an outcome.
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM device_applies WHERE finished_at IS NULL OR outcome IS NULL",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(open, 0);
    let a = applies(env, "vyos-dc1-02").await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0.as_deref(), Some("failed"));
    assert!(applies(env, "vyos-dc2-02").await.is_empty(), "untouched");
    let d = devices(env).await;
    assert_eq!(d["vyos-dc1-01"]["state"], "applied");
    assert_eq!(d["vyos-dc2-01"]["state"], "applied");
    assert_eq!(d["vyos-dc1-02"]["state"], "failed");
    assert!(d["vyos-dc1-02"]["applied_seq"].is_null());
    assert_eq!(d["vyos-dc2-02"]["state"], "pending");
    assert_eq!(d["hv-dc1-01"]["state"], "pending");

    // Restarted: the unconfirmed commit-confirm is undone at boot (1.5),
    // and the retried job applies the rest.
    lab.routers[1].commit_delay_ms = 0;
    lab.routers[1].start();
    let r1 = &lab.routers[1];
    let after_boot = vxguard::driver::drift::read_running(
        &r1.client(&r1.key),
        &harness::defs()[&vxguard_compiler::intent::VyosVersion::V1_5],
    )
    .await
    .unwrap();
    assert!(
        after_boot.is_empty(),
        "the unconfirmed commit was undone at boot"
    );
    wait_due(env, job_id).await;
    let t = Instant::now();
    assert_eq!(worker.drain().await.unwrap(), 1);
    let second_attempt = t.elapsed();
    let (status, attempts, _, result) = job(env, job_id).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
    let result = result.unwrap();
    let applied: Vec<&str> = result["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["vyos-dc1-02", "vyos-dc2-02"]);
    let pending: Vec<&str> = result["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["hv-dc1-01", "hv-dc2-01"]);
    for r in &lab.routers {
        assert!(
            runs_latest(env, r).await,
            "{} runs its latest revision",
            r.name
        );
    }
    let a = applies(env, "vyos-dc1-02").await;
    let outcomes: Vec<&str> = a.iter().map(|x| x.0.as_deref().unwrap()).collect();
    assert_eq!(outcomes, ["failed", "applied"]);
    let d = devices(env).await;
    for (name, _, _) in ROUTERS {
        assert_eq!(d[name]["state"], "applied", "{name}: {}", d[name]);
        assert_eq!(d[name]["applied_seq"], d[name]["latest_seq"]);
    }
    eprintln!(
        "first attempt (canary + a wave with a 3 s commit killed): {first_attempt:?}; retry (2 routers, one wave): {second_attempt:?}"
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_refused_and_nothing_is_applied() {
    let mut lab = lab().await;
    // The canary was provisioned with another key.
    lab.routers[0].key = "not-the-generated-key".into();
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    assert_eq!(worker.drain().await.unwrap(), 1);
    let (status, _, errors, _) = job(env, 1).await;
    assert_eq!(status, "queued");
    let msg = errors.unwrap()[0]["message"].as_str().unwrap().to_string();
    assert!(
        msg.starts_with(
            "apply failed: router vyos-dc1-01: reading the running configuration: router answered 401: Valid API key is required"
        ),
        "{msg}"
    );
    assert!(
        msg.ends_with("not attempted: vyos-dc1-02, vyos-dc2-01, vyos-dc2-02"),
        "{msg}"
    );
    // Nothing on the canary, nothing anywhere else.
    let canary = &lab.routers[0];
    let running = vxguard::driver::drift::read_running(
        &canary.client(&canary.key),
        &harness::defs()[&vxguard_compiler::intent::VyosVersion::V1_4],
    )
    .await
    .unwrap();
    assert!(running.is_empty());
    for r in &lab.routers[1..] {
        assert!(
            applies(env, r.name).await.is_empty(),
            "{} untouched",
            r.name
        );
    }
    let d = devices(env).await;
    assert_eq!(d["vyos-dc1-01"]["state"], "failed");
    assert!(d["vyos-dc1-01"]["error"]
        .as_str()
        .unwrap()
        .contains("401: Valid API key is required"));
    assert!(d["vyos-dc1-01"]["last_apply_at"].is_string());
    assert_eq!(d["vyos-dc1-02"]["state"], "pending");

    // Tenant users do not see devices (API 403, console 404).
    let t = env.token("finance-admin@example.com").await;
    assert_eq!(
        env.get("/api/v1/devices", &t).await.status,
        StatusCode::FORBIDDEN
    );
    let mut b = Browser::new(env);
    b.login("finance-admin@example.com").await;
    assert_eq!(b.get("/admin/platform").await.status, StatusCode::NOT_FOUND);
    // The admin console shows the state and the error.
    let mut a = Browser::new(env);
    a.login("admin@example.com").await;
    let p = a.get("/admin/platform").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.text
            .contains("<span class=\"badge device failed\">failed</span>"),
        "{}",
        p.text
    );
    assert!(p.text.contains("Valid API key is required"));
    assert!(p
        .text
        .contains("<span class=\"badge device pending\">pending</span>"));
}

#[tokio::test]
async fn the_rollout_stops_at_the_first_failed_batch_and_drift_is_found_and_cleared() {
    let mut lab = lab().await;
    // Waves: [dc1-01] [dc1-02, dc2-01] [dc2-02]; dc2-01 refuses the key.
    lab.routers[2].key = "not-the-generated-key".into();
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    let t = Instant::now();
    worker.drain().await.unwrap();
    eprintln!("rollout to 3 routers, the third refused: {:?}", t.elapsed());
    let (status, _, errors, _) = job(env, 1).await;
    assert_eq!(status, "queued");
    let msg = errors.unwrap()[0]["message"].as_str().unwrap().to_string();
    assert!(
        msg.starts_with("apply failed: router vyos-dc2-01: "),
        "{msg}"
    );
    assert!(msg.ends_with("; not attempted: vyos-dc2-02"), "{msg}");
    let d = devices(env).await;
    assert_eq!(d["vyos-dc1-01"]["state"], "applied");
    assert_eq!(d["vyos-dc1-02"]["state"], "applied");
    assert_eq!(d["vyos-dc2-01"]["state"], "failed");
    assert_eq!(d["vyos-dc2-02"]["state"], "pending");
    assert!(applies(env, "vyos-dc2-02").await.is_empty());
    assert!(runs_latest(env, &lab.routers[0]).await);
    assert!(runs_latest(env, &lab.routers[1]).await);

    // Drift: someone changes vyos-dc1-02 by hand.
    let r1 = &lab.routers[1];
    let c = r1.client(&r1.key);
    let set = |v: &str| Configure::Batch {
        commands: vec![ConfigureCommand {
            op: ConfigureOp::Set,
            path: vec!["system".into(), "host-name".into()],
            value: Some(v.into()),
        }],
        confirm_time: 0,
    };
    assert!(c.configure(&set("changed-by-hand")).await.unwrap().ok());
    let round = vxguard::driver::drift::round(&env.db, &harness::defs())
        .await
        .unwrap();
    assert!(round.ran);
    assert_eq!(round.drifted, ["vyos-dc1-02"]);
    let d = devices(env).await;
    assert_eq!(d["vyos-dc1-02"]["state"], "drifted", "{}", d["vyos-dc1-02"]);
    let drift: Vec<&str> = d["vyos-dc1-02"]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert!(
        drift[0].starts_with("-set system host-name 'vyos-dc1-02'"),
        "{drift:?}"
    );
    assert_eq!(drift[1], "+set system host-name 'changed-by-hand'");
    assert_eq!(d["vyos-dc1-01"]["state"], "applied");
    let mut a = Browser::new(env);
    a.login("admin@example.com").await;
    let p = a.get("/admin/platform").await;
    assert!(p
        .text
        .contains("<span class=\"badge device drifted\">drifted</span>"));
    assert!(p.text.contains("2 lines differ"));
    // Put back by hand: a matching check clears it.
    assert!(c.configure(&set("vyos-dc1-02")).await.unwrap().ok());
    vxguard::driver::drift::round(&env.db, &harness::defs())
        .await
        .unwrap();
    assert_eq!(devices(env).await["vyos-dc1-02"]["state"], "applied");
    // Drifted again, then a new revision applied clears it too.
    assert!(c.configure(&set("changed-again")).await.unwrap().ok());
    vxguard::driver::drift::round(&env.db, &harness::defs())
        .await
        .unwrap();
    assert_eq!(devices(env).await["vyos-dc1-02"]["state"], "drifted");

    // The failed router gets its key fixed (restarted with the generated
    // one): the retried job applies the rest, and a rule change reaches
    // every router with a new revision.
    lab.routers[2].kill();
    let secrets: Value = vxguard_store::intent::secrets_doc(&env.db)
        .await
        .unwrap()
        .expect("device secrets");
    lab.routers[2].key = secrets["routers"]["vyos-dc2-01"]["api_key"]
        .as_str()
        .unwrap()
        .into();
    lab.routers[2].start();
    let tok = env.token("acme-admin@example.com").await;
    let r = env
        .post(
            "/api/v1/tenants/acme/rules",
            &tok,
            serde_json::json!({"id": 40, "action": "accept", "protocol": "tcp", "destination_port": 8443}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let rule_job: i64 = r.header("x-job").unwrap().parse().unwrap();
    wait_due(env, 1).await;
    let t = Instant::now();
    // One claim: the retried job's compile carries the rule's job out too
    // (both finished once the rollout is done).
    assert_eq!(worker.drain().await.unwrap(), 1);
    eprintln!("retry + rule change, 4 routers: {:?}", t.elapsed());
    assert_eq!(job(env, 1).await.0, "done");
    assert_eq!(job(env, rule_job).await.0, "done");
    let d = devices(env).await;
    for r in &lab.routers {
        assert_eq!(d[r.name]["state"], "applied", "{}", d[r.name]);
        assert_eq!(d[r.name]["applied_seq"], 2, "{}", d[r.name]);
        assert!(runs_latest(env, r).await, "{}", r.name);
    }
}

#[tokio::test]
async fn a_change_that_cuts_a_1_5_routers_api_off_is_reverted_by_commit_confirm() {
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    assert_eq!(worker.drain().await.unwrap(), 1);
    assert_eq!(job(env, 1).await.0, "done");
    // A revision that moves vyos-dc1-02's API to another port: the router
    // commits it, moves its API there, and the driver (still on the old
    // address) cannot reach it.
    let r1 = &lab.routers[1];
    let (seq, config) = {
        let mut conn = env.db.acquire().await.unwrap();
        vxguard_store::revisions::latest_config(&mut conn, "router", "vyos-dc1-02")
            .await
            .unwrap()
            .unwrap()
    };
    let moved = free_port();
    sqlx::query(
        "INSERT INTO revisions (device_kind, device, seq, config, diff) VALUES ('router', 'vyos-dc1-02', $1, $2, '')",
    )
    .bind(seq + 1)
    .bind(format!("{config}set service https port '{moved}'\n"))
    .execute(&env.db)
    .await
    .unwrap();
    let t = Instant::now();
    let s = vxguard::driver::reconcile::run(&env.db, &harness::defs(), &settings())
        .await
        .unwrap();
    let took = t.elapsed();
    assert!(s.applied.is_empty(), "{s:?}");
    let (d, why) = &s.failed[0];
    assert_eq!(d.name, "vyos-dc1-02");
    assert!(
        why.starts_with("health check failed (the API does not answer: cannot reach 127.0.0.1:"),
        "{why}"
    );
    assert!(
        why.contains("not confirmed: the router reverts within 1 min"),
        "{why}"
    );
    // Meanwhile the API really is on the new port, with the new revision.
    let there = Client::new(
        &format!("https://127.0.0.1:{moved}"),
        &r1.key,
        ApiVersion::V1_5,
    )
    .unwrap()
    .trusting(r1.pin())
    .unwrap();
    let defs = harness::defs();
    let d15 = &defs[&vxguard_compiler::intent::VyosVersion::V1_5];
    let running = vxguard::driver::drift::read_running(&there, d15)
        .await
        .unwrap();
    let port_path: Vec<String> = ["service", "https", "port"].map(String::from).into();
    assert!(running.contains(&port_path));
    // Unconfirmed, the router goes back by itself (1 minute = 5 s here)
    // and its API with it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let back = loop {
        if let Ok(t) = vxguard::driver::drift::read_running(&r1.client(&r1.key), d15).await {
            break t;
        }
        assert!(Instant::now() < deadline, "the API never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reverted_after = t.elapsed();
    let previous = vyos_tree::ConfigTree::parse_set(&config, d15).unwrap();
    assert_eq!(back, previous, "the previous revision runs again");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", moved)).is_err(),
        "nothing listens on the new port any more"
    );
    let d = devices(env).await;
    assert_eq!(d["vyos-dc1-02"]["state"], "failed");
    assert_eq!(d["vyos-dc1-02"]["applied_seq"], seq);
    assert_eq!(d["vyos-dc1-02"]["latest_seq"], seq + 1);
    let (outcome, _) = applies(env, "vyos-dc1-02").await.pop().unwrap();
    assert_eq!(outcome.as_deref(), Some("reverted"));
    eprintln!(
        "apply + failed health check: {took:?}; API back on the old port after {reverted_after:?}"
    );
}

/// The command line: `vxguard worker --apply --drift-secs 1` as a process
/// applies the demo load and then finds drift on its own.
#[tokio::test]
async fn the_worker_process_applies_with_apply_and_checks_drift_periodically() {
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    // `vxguard router-certificate` reads what a lab router process serves:
    // the certificate its state directory holds, the one its intent pins.
    let r0 = &lab.routers[0];
    let out = Command::new(env!("CARGO_BIN_EXE_vxguard"))
        .args(["router-certificate", "--url", &r0.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let Trust::Pinned(pin) = r0.pin() else {
        unreachable!()
    };
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "{}: certificate SHA-256 {}\n",
            r0.url(),
            vyos_api::tls::fingerprint_text(&pin)
        )),
        "{text}"
    );
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _worker = Kill(
        Command::new(env!("CARGO_BIN_EXE_vxguard"))
            .args([
                "worker",
                "--name",
                "cli-apply",
                "--apply",
                "--drift-secs",
                "1",
            ])
            .args(["--health-settle-secs", "0", "--confirm-minutes", "0"])
            .args(["--apply-hypervisors", "false"])
            .env("DATABASE_URL", &env.url)
            .env(
                "VXGUARD_MASTER_KEY_FILE",
                harness::master_key_args().master_key_file.unwrap(),
            )
            .env("VXGUARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker starts"),
    );
    let t = Instant::now();
    loop {
        let (status, ..) = job(env, 1).await;
        if status == "done" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "job 1 is {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = t.elapsed();
    for r in &lab.routers {
        assert!(runs_latest(env, r).await, "{}", r.name);
    }
    let per_router: Vec<(String, f64)> = sqlx::query_as(
        "SELECT device, extract(epoch FROM finished_at - started_at)::float8 * 1000 FROM device_applies ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    let span: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 * 1000 FROM device_applies",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    eprintln!(
        "apply per router (ms, from empty): {per_router:?}; rollout of 4 routers: {span:.0} ms"
    );
    let r = &lab.routers[2];
    let c = r.client(&r.key);
    let a = c
        .configure(&Configure::Batch {
            commands: vec![ConfigureCommand {
                op: ConfigureOp::Delete,
                path: vec!["system".into(), "host-name".into()],
                value: None,
            }],
            confirm_time: 0,
        })
        .await
        .unwrap();
    assert!(a.ok(), "{:?}", a.error());
    let t = Instant::now();
    loop {
        let all = vxguard::driver::status::list(&env.db).await.unwrap();
        let d = all.iter().find(|d| d.name == "vyos-dc2-01").unwrap();
        if d.state == vxguard::driver::status::DeviceState::Drifted {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no drift seen: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = t.elapsed();
    let d = devices(env).await;
    assert_eq!(d["vyos-dc2-01"]["state"], "drifted");
    // The lab keeps the emptied `system` node: `+set system`.
    assert_eq!(
        d["vyos-dc2-01"]["drift"][0],
        "-set system host-name 'vyos-dc2-01'"
    );
    assert!(d["vyos-dc2-01"]["drift_checked_at"].is_string());
    eprintln!(
        "worker process: demo load compiled and applied to 4 routers in {done:?}; drift seen {seen:?} after the change"
    );
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

/// Whether the router takes `key` (HTTP status of a harmless `exists`).
async fn status_with(r: &LabRouter, key: &str) -> u16 {
    r.client(key)
        .retrieve(&vyos_api::Retrieve {
            op: vyos_api::RetrieveOp::Exists,
            path: vec!["service".into(), "https".into()],
            config_format: None,
        })
        .await
        .unwrap()
        .status
}

/// Issue 17, item 6: a router's API key rotates in three steps, each
/// checked on the router: the new key added beside the old, made current
/// once the router takes it, the old one removed once the router refuses
/// it. Audited without the keys; the other routers keep theirs.
#[tokio::test]
async fn a_router_api_key_rotates_added_switched_removed_each_step_checked() {
    use vxguard_store::api_keys::{self, Begun};
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let worker = applying_worker(&lab.env);
    worker.drain().await.unwrap();
    let (env, r) = (&lab.env, &lab.routers[1]);
    let old = r.key.clone();
    assert_eq!(status_with(r, &old).await, 200);

    let begun = api_keys::begin(&env.db, r.name, &Operator).await.unwrap();
    assert!(matches!(begun, Begun::Queued(_)), "{begun:?}");
    assert_eq!(
        api_keys::begin(&env.db, r.name, &Operator).await.unwrap(),
        Begun::UnderWay,
        "a second rotation while one is under way"
    );
    assert_eq!(
        api_keys::begin(&env.db, "vyos-nowhere", &Operator)
            .await
            .unwrap(),
        Begun::NoSuchRouter
    );
    let pending = api_keys::pending(&env.db).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let next = pending[0].key.clone();
    assert_ne!(next, old);
    assert_eq!(status_with(r, &next).await, 401, "not on the router yet");

    // The worker: the job puts the new key beside the old (both taken),
    // the check switches, the next job's commit (made with the new key)
    // removes the old, the check forgets it.
    worker.drain().await.unwrap();
    let secrets: Value = vxguard_store::intent::secrets_doc(&env.db)
        .await
        .unwrap()
        .unwrap();
    let mine = &secrets["routers"][r.name];
    assert_eq!(mine["api_key"].as_str(), Some(next.as_str()), "{}", {
        let fields: Vec<&String> = mine.as_object().unwrap().keys().collect();
        format!("{fields:?}")
    });
    assert!(mine.get("api_key_next").is_none() && mine.get("api_key_retired").is_none());
    assert!(api_keys::pending(&env.db).await.unwrap().is_empty());
    assert_eq!(status_with(r, &next).await, 200, "the new key is refused");
    assert_eq!(status_with(r, &old).await, 401, "the old key still works");
    assert!(
        runs_latest_asked_with(env, r, &next).await,
        "drift after the rotation"
    );
    for other in [&lab.routers[0], &lab.routers[2], &lab.routers[3]] {
        assert_eq!(status_with(other, &other.key).await, 200, "{}", other.name);
    }

    let steps: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT actor, object, after FROM audit_log WHERE action = 'key.rotated' ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    let object = format!("routers/{}/api-key", r.name);
    assert_eq!(
        steps
            .iter()
            .map(|(a, o, s)| (a.as_str(), o.as_str(), s["step"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            ("user:admin@example.com", object.as_str(), "added"),
            ("system:worker", object.as_str(), "switched"),
            ("system:worker", object.as_str(), "removed"),
        ]
    );
    let fp_next = api_keys::fingerprint(&next);
    assert_eq!(steps[0].2["key"].as_str(), Some(fp_next.as_str()));
    assert_eq!(
        steps[2].2["key"].as_str(),
        Some(api_keys::fingerprint(&old).as_str())
    );
    let audit = format!("{steps:?}");
    assert!(!audit.contains(&next) && !audit.contains(&old), "{audit}");
}

/// A POST without a body, as a client starting an action sends it.
async fn post_empty(env: &Env, path: &str, token: &str) -> harness::Resp {
    env.call(axum::http::Method::POST, path, Some(token), None, &[])
        .await
}

/// Issue 17, items 6 and 7 for the operator: `POST
/// /api/v1/devices/{name}/api-key/rotate` (platform admins; 202 with the
/// job, 409 while one is under way, 404 for no such router), the key's
/// fingerprint and rotation step in `GET /api/v1/devices`, and the admin
/// console's "Rotate API key" button (a CSRF-checked form).
#[tokio::test]
async fn an_operator_rotates_a_router_api_key_through_the_api_and_the_console() {
    use vxguard_store::api_keys::fingerprint;
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    let r = &lab.routers[1];
    let d = devices(env).await;
    assert_eq!(
        d[r.name]["api_key"],
        serde_json::json!({"rotation": null, "fingerprint": fingerprint(&r.key)})
    );
    assert!(d["hv-dc1-01"]["api_key"].is_null(), "{}", d["hv-dc1-01"]);
    assert!(!d.values().any(|v| v.to_string().contains(&r.key)));

    let path = format!("/api/v1/devices/{}/api-key/rotate", r.name);
    let tenant = env.token("finance-admin@example.com").await;
    let refused = post_empty(env, &path, &tenant).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let admin = env.token("admin@example.com").await;
    let none = post_empty(env, "/api/v1/devices/vyos-nowhere/api-key/rotate", &admin).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.text);
    assert_eq!(
        none.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert!(none.body["detail"]
        .as_str()
        .unwrap()
        .contains("vyos-nowhere"));
    let started = post_empty(env, &path, &admin).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let job_id = started.body["job"].as_i64().unwrap();
    assert_eq!(started.header("x-job"), Some(job_id.to_string()));
    let again = post_empty(env, &path, &admin).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.body["detail"]
        .as_str()
        .unwrap()
        .contains("already under way"));
    let d = devices(env).await;
    assert_eq!(d[r.name]["api_key"]["rotation"], "added");
    assert_eq!(d[r.name]["api_key"]["fingerprint"], fingerprint(&r.key));
    let (actor, object): (String, String) = sqlx::query_as(
        "SELECT actor, object FROM audit_log WHERE action = 'key.rotated' ORDER BY id LIMIT 1",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(actor, "user:admin@example.com");
    assert_eq!(object, format!("routers/{}/api-key", r.name));

    // The console shows the step, and no button while one is under way.
    let mut b = Browser::new(env);
    b.login_ok("admin@example.com").await;
    let p = b.get("/admin/platform").await;
    assert!(p.text.contains("rotation under way: added"), "{}", p.text);
    assert!(!p.text.contains(&format!(
        "action=\"/admin/routers/{}/api-key/rotate\"",
        r.name
    )));

    // The worker finishes it: a new current key, no rotation.
    worker.drain().await.unwrap();
    let secrets: Value = vxguard_store::intent::secrets_doc(&env.db)
        .await
        .unwrap()
        .unwrap();
    let new_key = secrets["routers"][r.name]["api_key"].as_str().unwrap();
    assert_ne!(new_key, r.key);
    let d = devices(env).await;
    assert_eq!(
        d[r.name]["api_key"],
        serde_json::json!({"rotation": null, "fingerprint": fingerprint(new_key)})
    );

    // The console's button: the fingerprint shown, a form with CSRF.
    let other = &lab.routers[2];
    let action = format!("/admin/routers/{}/api-key/rotate", other.name);
    let p = b.get("/admin/platform").await;
    assert!(p.text.contains(&fingerprint(new_key)), "{}", p.text);
    assert!(
        p.text.contains(&format!("action=\"{action}\"")),
        "{}",
        p.text
    );
    assert!(p.text.contains("Rotate API key"));
    assert!(!p.text.contains(new_key) && !p.text.contains(&other.key));
    let csrf = harness::browser::hidden(&p.text, "csrf");
    let forged = b.post(&action, &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut t = Browser::new(env);
    t.login_ok("finance-admin@example.com").await;
    let tcsrf = t.csrf("/t/finance").await;
    assert_eq!(
        t.post(&action, &[("csrf", &tcsrf)]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(vxguard_store::api_keys::pending(&env.db)
        .await
        .unwrap()
        .is_empty());
    let done = b.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let to = done.location.clone().unwrap();
    assert!(
        to.starts_with(&format!("/admin/platform?rotating={}&job=", other.name)),
        "{to}"
    );
    let p = b.get(&to).await;
    assert!(p.text.contains("rotation under way: added"), "{}", p.text);
    assert!(p.text.contains("Rotating the API key of vyos-dc2-01"));
    let again = b.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
}

/// Issue 17, item 7: a router whose certificate changed fails its apply
/// (the pin); the console shows the certificate it presents now with a
/// "Trust this certificate" button; `POST
/// /api/v1/devices/{name}/certificate/trust` pins it only when the
/// router presents exactly that one (409 naming both otherwise, 502 when
/// the router cannot be reached), through the write path (job, audit);
/// the next apply succeeds.
#[tokio::test]
async fn a_changed_router_certificate_is_trusted_only_as_presented_and_the_next_apply_succeeds() {
    let mut lab = lab().await;
    let old_pin = vyos_api::tls::fingerprint_text(
        &vxguard_lab::tls::ensure_identity(&lab.routers[0].dir)
            .unwrap()
            .fingerprint(),
    );
    // The canary's certificate is made anew (as a reinstalled router's).
    for f in [vxguard_lab::tls::CERT_FILE, vxguard_lab::tls::KEY_FILE] {
        std::fs::remove_file(lab.routers[0].dir.join(f)).unwrap();
    }
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let canary = &lab.routers[0];
    let new_pin = match canary.pin() {
        Trust::Pinned(p) => vyos_api::tls::fingerprint_text(&p),
        Trust::PublicRoots => unreachable!(),
    };
    assert_ne!(new_pin, old_pin);
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    let d = devices(env).await;
    assert_eq!(d[canary.name]["state"], "failed");
    let error = d[canary.name]["error"].as_str().unwrap();
    assert!(
        error.contains(&new_pin) && error.contains(&old_pin),
        "{error}"
    );
    assert_eq!(d["vyos-dc1-02"]["state"], "pending");

    // The console: the certificate presented now, and the button.
    let mut b = Browser::new(env);
    b.login_ok("admin@example.com").await;
    let p = b.get("/admin/platform").await;
    assert!(
        p.text.contains(&format!("presents {new_pin}")),
        "{}",
        p.text
    );
    let action = format!("/admin/routers/{}/certificate/trust", canary.name);
    assert!(
        p.text.contains(&format!("action=\"{action}\"")),
        "{}",
        p.text
    );
    assert!(p.text.contains(&format!(
        "<input type=\"hidden\" name=\"sha256\" value=\"{new_pin}\""
    )));
    assert_eq!(
        p.text.matches("Trust this certificate").count(),
        1,
        "only the refused router"
    );

    let path = format!("/api/v1/devices/{}/certificate/trust", canary.name);
    let tenant = env.token("finance-admin@example.com").await;
    let refused = env
        .post(&path, &tenant, serde_json::json!({"sha256": new_pin}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let admin = env.token("admin@example.com").await;
    let bad = env
        .post(&path, &admin, serde_json::json!({"sha256": "AB:CD"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["pointer"], "/sha256");
    let none = env
        .post(
            "/api/v1/devices/vyos-nowhere/certificate/trust",
            &admin,
            serde_json::json!({"sha256": new_pin}),
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.text);
    // Not the one presented: refused, naming both; nothing changes.
    let other = "11:".repeat(31) + "11";
    let mismatch = env
        .post(&path, &admin, serde_json::json!({"sha256": other}))
        .await;
    assert_eq!(mismatch.status, StatusCode::CONFLICT, "{}", mismatch.text);
    let detail = mismatch.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&new_pin) && detail.contains(&other),
        "{detail}"
    );
    assert_eq!(mismatch.body["errors"][0]["pointer"], "/sha256");
    // The console's form checks the same way (a tampered field).
    let csrf = harness::browser::hidden(&p.text, "csrf");
    let tampered = b
        .post(&action, &[("csrf", &csrf), ("sha256", &other)])
        .await;
    assert_eq!(tampered.status, StatusCode::CONFLICT, "{}", tampered.text);
    let forged = b
        .post(&action, &[("csrf", "nope"), ("sha256", &new_pin)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let spec = env
        .get(&format!("/api/v1/routers/{}", canary.name), &admin)
        .await;
    assert_eq!(spec.body["spec"]["api_certificate_sha256"], old_pin);

    // The one presented: pinned through the write path.
    let trusted = env
        .post(
            &path,
            &admin,
            serde_json::json!({"sha256": new_pin.to_lowercase()}),
        )
        .await;
    assert_eq!(trusted.status, StatusCode::OK, "{}", trusted.text);
    assert_eq!(trusted.body["sha256"], new_pin);
    assert_eq!(trusted.body["previous"], old_pin);
    let job_id = trusted.body["job"].as_i64().unwrap();
    assert_eq!(trusted.header("x-job"), Some(job_id.to_string()));
    let spec = env
        .get(&format!("/api/v1/routers/{}", canary.name), &admin)
        .await;
    assert_eq!(spec.body["spec"]["api_certificate_sha256"], new_pin);
    type Entry = (String, String, String, Option<Value>, Option<Value>);
    let audit: Vec<Entry> = sqlx::query_as(
        "SELECT action, actor, object, before, after FROM audit_log \
         WHERE action IN ('router.update', 'router.certificate.trusted') ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0].0, "router.update");
    let (action_name, actor, object, before, after) = &audit[1];
    assert_eq!(action_name, "router.certificate.trusted");
    assert_eq!(actor, "user:admin@example.com");
    assert_eq!(object, &format!("routers/{}", canary.name));
    assert_eq!(before.as_ref().unwrap()["sha256"], old_pin);
    assert_eq!(after.as_ref().unwrap()["sha256"], new_pin);
    // Again: already pinned, nothing written.
    let again = env
        .post(&path, &admin, serde_json::json!({"sha256": new_pin}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert!(again.body["job"].is_null(), "{}", again.text);

    // The next apply succeeds, on every router.
    worker.drain().await.unwrap();
    assert_eq!(job(env, job_id).await.0, "done");
    let d = devices(env).await;
    for r in &lab.routers {
        assert_eq!(d[r.name]["state"], "applied", "{}: {}", r.name, d[r.name]);
    }
    assert!(runs_latest(env, canary).await);
    let p = b.get("/admin/platform").await;
    assert!(!p.text.contains("Trust this certificate"), "{}", p.text);

    // A router that cannot be reached: 502, nothing pinned.
    let r3 = &mut lab.routers[3];
    r3.kill();
    let down = env
        .post(
            &format!("/api/v1/devices/{}/certificate/trust", r3.name),
            &admin,
            serde_json::json!({"sha256": other}),
        )
        .await;
    assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{}", down.text);
    assert!(down.body["detail"].as_str().unwrap().contains(r3.name));
}

/// On schedule: keys past their age rotate one router at a time here (a
/// tenth of four routers, at least one), oldest first, and a router just
/// rotated is not taken again before the others.
#[tokio::test]
async fn api_keys_rotate_on_schedule_one_router_at_a_time() {
    use vxguard::rollout::api_keys::schedule;
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    let week = Duration::from_secs(7 * 86_400);
    // The demo's keys come from the example's lock file, without an age:
    // this stamps them with now.
    assert!(
        schedule(&env.db, week).await.unwrap().is_empty(),
        "fresh keys rotated"
    );
    // Ages are whole seconds: the key rotated next must be strictly
    // younger than the others, or the oldest-first order ties.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = schedule(&env.db, Duration::ZERO).await.unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        schedule(&env.db, Duration::ZERO).await.unwrap().is_empty(),
        "a second rotation while one runs"
    );
    worker.drain().await.unwrap();
    assert!(vxguard_store::api_keys::pending(&env.db)
        .await
        .unwrap()
        .is_empty());
    let r = lab.routers.iter().find(|r| r.name == first[0]).unwrap();
    assert_eq!(status_with(r, &r.key).await, 401, "the old key still works");
    let second = schedule(&env.db, Duration::ZERO).await.unwrap();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first, "the key just rotated was taken again");
    worker.drain().await.unwrap();
    let steps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'key.rotated' AND actor = 'system:worker'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(steps, 2 * 3, "added, switched, removed for each");
}

/// The row of `device` in a job page's devices table.
fn job_row<'a>(html: &'a str, device: &str) -> &'a str {
    let at = html
        .split(&format!("data-key=\"router/{device}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no row for {device} in {html}"));
    &at[..at.find("</tr>").unwrap()]
}

#[tokio::test]
async fn a_tenants_job_page_shows_its_change_applied_and_an_unreachable_router_without_its_error() {
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let worker = applying_worker(&lab.env);
    assert_eq!(worker.drain().await.unwrap(), 1);
    let t = lab.env.token("finance-admin@example.com").await;
    let change = |name: &'static str, cidr: &'static str| {
        serde_json::json!({"name": name, "cidr": cidr,
            "sites": [{"site": "dc1", "gateways": ["vyos-dc1-01", "vyos-dc1-02"]}]})
    };
    let r = lab
        .env
        .post(
            "/api/v1/tenants/finance/networks",
            &t,
            change("web2", "100.64.2.0/28"),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let latest = |t: String| {
        let env = &lab.env;
        async move {
            let r = env.get("/api/v1/tenants/finance/jobs?limit=1", &t).await;
            r.body["items"][0]["id"].as_i64().expect("the change's job")
        }
    };
    let first = latest(t.clone()).await;
    assert_eq!(worker.drain().await.unwrap(), 1);
    let (status, ..) = job(&lab.env, first).await;
    assert_eq!(status, "done");

    // Both gateways run the change: applied, with when.
    let mut f = Browser::new(&lab.env);
    f.login("finance-member@example.com").await;
    let p = f.get(&format!("/t/finance/jobs/{first}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    for router in ["vyos-dc1-01", "vyos-dc1-02"] {
        let row = job_row(&p.text, router);
        assert!(row.contains("badge device applied"), "{row}");
        assert!(row.contains("applied 20"), "{row}");
    }
    let api = lab.env.get(&format!("/api/v1/jobs/{first}"), &t).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    let states: Vec<&str> = api.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "router")
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| *s == "applied"),
        "{}",
        api.text
    );

    // The canary is gone: the next change fails there.
    lab.routers[0].kill();
    let r = lab
        .env
        .post(
            "/api/v1/tenants/finance/networks",
            &t,
            change("web3", "100.64.3.0/28"),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let second = latest(t.clone()).await;
    assert!(second > first);
    assert_eq!(worker.drain().await.unwrap(), 1);
    let (outcome, error) = applies(&lab.env, "vyos-dc1-01").await.pop().unwrap();
    assert_eq!(outcome.as_deref(), Some("failed"));
    let error = error.expect("the device's error");
    let p = f.get(&format!("/t/finance/jobs/{second}")).await;
    let row = job_row(&p.text, "vyos-dc1-01");
    assert!(row.contains("badge device failed"), "{row}");
    assert!(row.contains("operators can see why"), "{row}");
    assert!(!p.text.contains("device-error"), "{}", p.text);
    let api = lab.env.get(&format!("/api/v1/jobs/{second}"), &t).await;
    assert!(!api.text.contains(&error), "{}", api.text);
    let dev = api.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "vyos-dc1-01")
        .unwrap();
    assert_eq!(dev["state"], "failed");
    assert!(dev["error"].is_null());
    // The first job's change still runs there.
    let p = f.get(&format!("/t/finance/jobs/{first}")).await;
    assert!(job_row(&p.text, "vyos-dc1-01").contains("badge device applied"));
    // The platform admin reads the device's words.
    let mut a = Browser::new(&lab.env);
    a.login("admin@example.com").await;
    let p = a.get(&format!("/admin/jobs/{second}")).await;
    assert_eq!(p.status, StatusCode::OK);
    let row = job_row(&p.text, "vyos-dc1-01");
    assert!(row.contains("class=\"device-error\""), "{row}");
    let admin = lab.env.token("admin@example.com").await;
    let api = lab.env.get(&format!("/api/v1/jobs/{second}"), &admin).await;
    let dev = api.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "vyos-dc1-01")
        .unwrap();
    assert_eq!(dev["error"].as_str(), Some(error.as_str()), "{}", api.text);
}

/// A router's mesh key as it runs: `private-key` of each mesh slot.
async fn running_mesh_keys(r: &LabRouter) -> (String, String) {
    let mut out = Vec::new();
    for ifname in ["wg0", "wg65536"] {
        let answer = r
            .client(&r.key)
            .retrieve(&vyos_api::Retrieve {
                op: vyos_api::RetrieveOp::ReturnValue,
                path: ["interfaces", "wireguard", ifname, "private-key"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                config_format: None,
            })
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{ifname}");
        out.push(
            answer
                .envelope
                .data
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    (out.remove(0), out.remove(0))
}

/// Issue 17, items 4 and 7: a router's mesh key rotated now through the
/// API (platform admins; 202 with the job; 409 while one is under way):
/// the worker stages it (the standby slot takes the new key, the slot
/// carrying traffic keeps the old), switches, and retires the old key
/// with no grace. The router then runs the new key on both slots, the
/// database holds the old one nowhere, its tenants' client interfaces
/// keep the key their clients were given, and the audit names
/// fingerprints only.
#[tokio::test]
async fn a_mesh_key_rotated_now_is_staged_switched_and_retired() {
    use vxguard_compiler::mesh::Slot;
    use vxguard_store::mesh_keys::fingerprint;
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    let r = &lab.routers[0];
    let doc = || async {
        vxguard_store::intent::secrets_doc(&env.db)
            .await
            .unwrap()
            .unwrap()["routers"][r.name]
            .clone()
    };
    let before = doc().await;
    let old_private = before["wireguard_private_key"]
        .as_str()
        .unwrap()
        .to_string();
    let old_public = before["wireguard_public_key"].as_str().unwrap().to_string();
    assert_eq!(
        running_mesh_keys(r).await,
        (old_private.clone(), old_private.clone())
    );
    let d = devices(env).await;
    assert_eq!(
        d[r.name]["mesh_key"]["fingerprint"],
        fingerprint(&old_public)
    );
    assert_eq!(d[r.name]["mesh_key"]["rotating"], false);
    assert!(d["hv-dc1-01"]["mesh_key"]["fingerprint"].is_string());

    let path = format!("/api/v1/devices/{}/wireguard-key/rotate", r.name);
    let tenant = env.token("finance-admin@example.com").await;
    let refused = post_empty(env, &path, &tenant).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let admin = env.token("admin@example.com").await;
    let none = post_empty(
        env,
        "/api/v1/devices/vyos-nowhere/wireguard-key/rotate",
        &admin,
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.text);
    let started = post_empty(env, &path, &admin).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let job_id = started.body["job"].as_i64().unwrap();
    let again = post_empty(env, &path, &admin).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let staged = doc().await;
    let new_public = staged["wireguard_public_key"].as_str().unwrap().to_string();
    assert_ne!(new_public, old_public);
    assert_eq!(
        staged["wireguard_previous"]["public_key"],
        old_public.as_str()
    );
    assert_eq!(staged["client_key"]["public_key"], old_public.as_str());
    assert_eq!(devices(env).await[r.name]["mesh_key"]["rotating"], true);
    // `vxguard keys scan` looks for the key being rotated out too.
    let held = vxguard_store::sealed::every_secret(&env.db).await.unwrap();
    assert!(held.iter().any(|(what, k)| {
        what == &format!("router {} previous WireGuard private key", r.name) && *k == old_private
    }));

    // The worker: the staged job, the switch and the release, each a job.
    worker.drain().await.unwrap();
    let (status, _, _, _) = job(env, job_id).await;
    assert_eq!(status, "done");
    let state = vxguard_store::mesh::state(&env.db).await.unwrap();
    assert!(state.is_steady() && state.rotation.is_none(), "{state:?}");
    assert_eq!(state.active, Slot::B, "traffic moved to the new key's slot");
    let after = doc().await;
    let new_private = after["wireguard_private_key"].as_str().unwrap().to_string();
    assert_eq!(after["wireguard_public_key"], new_public.as_str());
    assert!(after.get("wireguard_previous").is_none(), "{after}");
    assert_eq!(
        running_mesh_keys(r).await,
        (new_private.clone(), new_private.clone())
    );
    assert!(
        runs_latest_asked_with(env, r, &r.key).await,
        "drift after the rotation"
    );
    // The other routers name it by the new key on both slots.
    let mut conn = env.db.acquire().await.unwrap();
    for other in &lab.routers[1..] {
        let (_, config) = vxguard_store::revisions::latest_config(&mut conn, "router", other.name)
            .await
            .unwrap()
            .unwrap();
        let named = format!("peer {} public-key '{new_public}'", r.name);
        assert_eq!(config.matches(&named).count(), 2, "{}", other.name);
        assert!(!config.contains(&old_public), "{}", other.name);
    }
    // Its clients keep the key they were given.
    let (_, mine) = vxguard_store::revisions::latest_config(&mut conn, "router", r.name)
        .await
        .unwrap()
        .unwrap();
    let client_ifs: Vec<&str> = mine
        .lines()
        .filter(|l| l.contains(" private-key ") && !l.contains(" wg0 ") && !l.contains(" wg65536 "))
        .collect();
    let sealed_old = vxguard_compiler::sealed::placeholder(
        vxguard_compiler::sealed::SecretKind::WireguardPrivateKey,
        &old_private,
    );
    assert!(
        client_ifs.iter().all(|l| l.contains(&sealed_old)),
        "{client_ifs:?}"
    );

    let steps: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT actor, action, after FROM audit_log
         WHERE action IN ('key.rotated', 'mesh.changed') AND object NOT LIKE '%/client-key'
         ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|(a, act, s)| (a.as_str(), act.as_str(), s["step"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            ("user:admin@example.com", "key.rotated", "begun"),
            ("system:worker", "mesh.changed", "switched"),
            ("system:worker", "mesh.changed", "released"),
            ("system:worker", "key.rotated", "retired"),
        ]
    );
    assert_eq!(steps[0].2["key"], fingerprint(&new_public).as_str());
    let audit = format!("{steps:?}");
    for k in [&old_private, &new_private] {
        assert!(!audit.contains(k.as_str()), "a key in the audit");
    }
    // The database holds the old private key nowhere in clear, the new
    // one neither (sealed at rest).
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(t::text, E'\\n') FROM (SELECT * FROM revisions) t")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert!(!dump.contains(&new_private) && !dump.contains(&old_private));

    // The console: each device's mesh key (fingerprint, age, next
    // rotation) and, for routers and hypervisors, the button that rotates
    // it now (CSRF).
    let mut b = Browser::new(env);
    b.login_ok("admin@example.com").await;
    let p = b.get("/admin/platform").await;
    assert!(p.text.contains(&fingerprint(&new_public)), "{}", p.text);
    assert!(p.text.contains("Rotate mesh key now"), "{}", p.text);
    assert!(p
        .text
        .contains("action=\"/admin/devices/hv-dc1-01/wireguard-key/rotate\""));
    assert!(!p.text.contains(&new_private));
    let other = &lab.routers[2];
    let action = format!("/admin/devices/{}/wireguard-key/rotate", other.name);
    assert!(
        p.text.contains(&format!("action=\"{action}\"")),
        "{}",
        p.text
    );
    let csrf = harness::browser::hidden(&p.text, "csrf");
    let forged = b.post(&action, &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let done = b.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let to = done.location.clone().unwrap();
    assert!(
        to.starts_with(&format!(
            "/admin/platform?rotating_mesh={}&job=",
            other.name
        )),
        "{to}"
    );
    let p = b.get(&to).await;
    assert!(
        p.text
            .contains(&format!("Rotating the mesh key of {}", other.name)),
        "{}",
        p.text
    );
    assert!(p.text.contains("rotation under way"), "{}", p.text);
    let doc = vxguard_store::intent::secrets_doc(&env.db)
        .await
        .unwrap()
        .unwrap();
    assert!(doc["routers"][other.name]["wireguard_previous"].is_object());
}

/// Issue 17, items 4 and 7 for a hypervisor: its mesh key rotated now
/// through the API takes the same staged steps as a router's (its host
/// applies its revision's `## wireguard` section, as the lab's hypervisor
/// does: `vxguard_lab::hypervisor::apply_wireguard`). Staged, its section
/// keeps the old key on the active slot and puts the new one on the
/// standby, every router names it by the old key on the active slot and
/// the new one on the standby; released, the section and every router
/// hold the new key only, the old one is forgotten, and the audit names
/// fingerprints only.
#[tokio::test]
async fn a_hypervisors_mesh_key_rotated_now_is_staged_switched_and_retired() {
    use vxguard_compiler::hypervisor_config::HypervisorConfig;
    use vxguard_compiler::mesh::Slot;
    use vxguard_compiler::wireguard;
    use vxguard_store::mesh_keys::fingerprint;
    const HV: &str = "hv-dc1-01";
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    let doc = || async {
        vxguard_store::intent::secrets_doc(&env.db)
            .await
            .unwrap()
            .unwrap()["hypervisors"][HV]
            .clone()
    };
    // The hypervisor's section as its host gets it: the revision with the
    // sealed store's real keys in place of the placeholders.
    let section = || async {
        let mut conn = env.db.acquire().await.unwrap();
        let (_, text) = vxguard_store::revisions::latest_config(&mut conn, "hypervisor", HV)
            .await
            .unwrap()
            .unwrap();
        let c = HypervisorConfig::parse_text(&text).unwrap();
        let s = vxguard_store::intent::secrets(&mut *conn).await.unwrap();
        let keys = vxguard_compiler::sealed::Vault::hypervisor(&s.hypervisors[HV]);
        let filled = vxguard_compiler::sealed::fill_wireguard(&c.wireguard, &keys).unwrap();
        (c.wireguard, filled)
    };
    let private_key = |slot: &str| {
        slot.lines()
            .find_map(|l| l.strip_prefix("PrivateKey = "))
            .unwrap()
            .to_string()
    };
    let before = doc().await;
    let old_private = before["wireguard_private_key"]
        .as_str()
        .unwrap()
        .to_string();
    let old_public = before["wireguard_public_key"].as_str().unwrap().to_string();
    let (_, filled) = section().await;
    let slots = wireguard::slots(&filled);
    assert_eq!(private_key(&slots[0].1), old_private);
    assert_eq!(private_key(&slots[1].1), old_private);
    let d = devices(env).await;
    assert_eq!(d[HV]["mesh_key"]["fingerprint"], fingerprint(&old_public));

    let path = format!("/api/v1/devices/{HV}/wireguard-key/rotate");
    let tenant = env.token("acme-admin@example.com").await;
    let refused = post_empty(env, &path, &tenant).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let admin = env.token("admin@example.com").await;
    let started = post_empty(env, &path, &admin).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let job_id = started.body["job"].as_i64().unwrap();
    let again = post_empty(env, &path, &admin).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let staged = doc().await;
    let new_public = staged["wireguard_public_key"].as_str().unwrap().to_string();
    let new_private = staged["wireguard_private_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_public, old_public);
    assert_eq!(
        staged["wireguard_previous"]["public_key"],
        old_public.as_str()
    );
    assert_eq!(devices(env).await[HV]["mesh_key"]["rotating"], true);

    // The worker: the staged job, the switch and the release, each a job.
    worker.drain().await.unwrap();
    let (status, _, _, _) = job(env, job_id).await;
    assert_eq!(status, "done");
    // What the staged job compiled: the active slot on the old key at both
    // ends, the standby on the new one (keys by placeholder: sealed).
    let staged_revision = |kind: &'static str, device: &'static str| async move {
        let seq: i32 = sqlx::query_scalar(
            "SELECT seq FROM revisions WHERE device_kind = $1 AND device = $2 AND job_id = $3",
        )
        .bind(kind)
        .bind(device)
        .bind(job_id)
        .fetch_one(&env.db)
        .await
        .unwrap();
        vxguard_store::revisions::config(&env.db, kind, device, seq)
            .await
            .unwrap()
            .unwrap()
    };
    let sealed = |k: &str| {
        vxguard_compiler::sealed::placeholder(
            vxguard_compiler::sealed::SecretKind::WireguardPrivateKey,
            k,
        )
    };
    let text = staged_revision("hypervisor", HV).await;
    assert!(
        !text.contains(&old_private) && !text.contains(&new_private),
        "a key in clear in the revision"
    );
    let staged_section = HypervisorConfig::parse_text(&text).unwrap().wireguard;
    assert_eq!(wireguard::active(&staged_section), "wg0");
    let slots = wireguard::slots(&staged_section);
    assert_eq!(private_key(&slots[0].1), sealed(&old_private), "active");
    assert_eq!(private_key(&slots[1].1), sealed(&new_private), "standby");
    for r in &lab.routers {
        let config = staged_revision("router", r.name).await;
        assert!(
            config.contains(&format!("wg0 peer {HV} public-key '{old_public}'")),
            "{}",
            r.name
        );
        assert!(
            config.contains(&format!("wg65536 peer {HV} public-key '{new_public}'")),
            "{}",
            r.name
        );
    }

    // Then switched and released: the old key retired.
    let state = vxguard_store::mesh::state(&env.db).await.unwrap();
    assert!(state.is_steady() && state.rotation.is_none(), "{state:?}");
    assert_eq!(state.active, Slot::B, "traffic moved to the new key's slot");
    let after = doc().await;
    assert_eq!(after["wireguard_public_key"], new_public.as_str());
    assert!(after.get("wireguard_previous").is_none(), "{after}");
    let (_, filled) = section().await;
    assert_eq!(wireguard::active(&filled), "wg65536");
    for (slot, text) in wireguard::slots(&filled) {
        assert_eq!(private_key(&text), new_private, "{slot}");
    }
    let mut conn = env.db.acquire().await.unwrap();
    for r in &lab.routers {
        let (_, config) = vxguard_store::revisions::latest_config(&mut conn, "router", r.name)
            .await
            .unwrap()
            .unwrap();
        let named = format!("peer {HV} public-key '{new_public}'");
        assert_eq!(config.matches(&named).count(), 2, "{}", r.name);
        assert!(!config.contains(&old_public), "{}", r.name);
        assert!(runs_latest_asked_with(env, r, &r.key).await, "{}", r.name);
    }
    let (_, other) = vxguard_store::revisions::latest_config(&mut conn, "hypervisor", "hv-dc2-01")
        .await
        .unwrap()
        .unwrap();
    assert!(!other.contains(&old_public) && other.contains(&new_public));
    drop(conn);

    let steps: Vec<(String, String, String, Value)> = sqlx::query_as(
        "SELECT actor, action, object, after FROM audit_log
         WHERE action IN ('key.rotated', 'mesh.changed') ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|(a, act, _, s)| (a.as_str(), act.as_str(), s["step"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            ("user:admin@example.com", "key.rotated", "begun"),
            ("system:worker", "mesh.changed", "switched"),
            ("system:worker", "mesh.changed", "released"),
            ("system:worker", "key.rotated", "retired"),
        ]
    );
    let object = format!("hypervisors/{HV}/wireguard-key");
    assert_eq!(steps[0].2, object);
    assert_eq!(steps[3].2, object);
    assert_eq!(steps[0].3["key"], fingerprint(&new_public).as_str());
    assert_eq!(steps[3].3["key"], fingerprint(&new_public).as_str());
    let audit = format!("{steps:?}");
    for k in [&old_private, &new_private] {
        assert!(!audit.contains(k.as_str()), "a key in the audit");
    }
}

/// Issue 17, item 4: routers' and hypervisors' mesh keys rotate on the
/// platform's schedule (`platform.wireguard.key_rotation`), a tenth of
/// the devices (here one) per step, one rotation at a time, oldest key
/// first (by name at a tie: the hypervisors, stamped with the routers);
/// each rotation staged, switched and retired by the worker.
#[tokio::test]
async fn mesh_keys_rotate_on_schedule_one_step_at_a_time() {
    use vxguard::rollout::mesh_keys::schedule;
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    // Keys made before the schedule have no age: the first look stamps
    // them with now, and the default interval (7 days) rotates none.
    assert!(schedule(&env.db).await.unwrap().is_empty());
    let set = |interval: u64| {
        sqlx::query(
            "UPDATE platform SET spec = jsonb_set(spec, '{wireguard,key_rotation}', $1) WHERE id = 1",
        )
        .bind(serde_json::json!({"interval_secs": interval, "grace_secs": 0}))
    };
    // One second, so that the test need not wait a minute (an interval
    // shorter than a rotation only makes rotations follow each other).
    set(1).execute(&env.db).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let first = schedule(&env.db).await.unwrap();
    assert_eq!(
        first.len(),
        1,
        "four routers and two hypervisors, a tenth at a time: {first:?}"
    );
    assert_eq!(first[0].kind, vxguard_store::kind::Kind::Hypervisor);
    assert_eq!(first[0].name, "hv-dc1-01");
    assert!(
        schedule(&env.db).await.unwrap().is_empty(),
        "a second rotation while one runs"
    );
    worker.drain().await.unwrap();
    let state = vxguard_store::mesh::state(&env.db).await.unwrap();
    assert!(state.is_steady() && state.rotation.is_none(), "{state:?}");
    let second = schedule(&env.db).await.unwrap();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first, "the key just rotated was taken again");
    assert_eq!(second[0].name, "hv-dc2-01");
    worker.drain().await.unwrap();
    let steps: Vec<(String, Value)> = sqlx::query_as(
        "SELECT object, after FROM audit_log WHERE action = 'key.rotated'
         AND object NOT LIKE '%/client-key' ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    let seen: Vec<&str> = steps
        .iter()
        .map(|(_, a)| a["step"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["begun", "retired", "begun", "retired"]);
    assert_ne!(steps[0].0, steps[2].0);
    // Scheduled rotation off: nothing is due however old the keys are.
    set(0).execute(&env.db).await.unwrap();
    assert!(schedule(&env.db).await.unwrap().is_empty());
}

/// The value at `path` of a lab router's running configuration (`None`
/// when the router has none there).
async fn running_value(r: &LabRouter, path: &[&str]) -> Option<String> {
    let answer = r
        .client(&r.key)
        .retrieve(&vyos_api::Retrieve {
            op: vyos_api::RetrieveOp::ReturnValue,
            path: path.iter().map(|s| s.to_string()).collect(),
            config_format: None,
        })
        .await
        .unwrap();
    (answer.status == 200)
        .then(|| answer.envelope.data.as_str().map(str::to_string))
        .flatten()
}

/// Issue 17, item 5: a router's key rotation rotates its tenants' client
/// interfaces too, each tenant's on an interface of its own. Through the
/// grace period the clients the rotation found keep the old interface
/// (`configuration: previous` in the list), a client made since is on the
/// new one (its configuration names the new key and port), both run on the
/// router; once released the old interface and key are gone, the old
/// client shows `stale` and the new one `current`. Audited with
/// fingerprints only.
#[tokio::test]
async fn client_interfaces_rotate_with_the_router_and_the_old_one_goes_after_the_grace() {
    use vxguard_store::mesh_keys::fingerprint;
    let mut lab = lab().await;
    for r in &mut lab.routers {
        r.start();
    }
    let env = &lab.env;
    let worker = applying_worker(env);
    worker.drain().await.unwrap();
    // vyos-dc1-01 (1.4) terminates acme's clients (finance's are on
    // vyos-dc2-02: the first of its networks by name is `db`).
    let r = &lab.routers[0];
    let admin = env.token("admin@example.com").await;
    let acme = env.token("acme-admin@example.com").await;
    let list = || async {
        let l = env.get("/api/v1/tenants/acme/clients", &acme).await;
        assert_eq!(l.status, StatusCode::OK, "{}", l.text);
        l.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["configuration"].as_str().unwrap_or("none").to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(list().await, [("ops".to_string(), "current".to_string())]);
    let doc = || async {
        vxguard_store::intent::secrets_doc(&env.db)
            .await
            .unwrap()
            .unwrap()["routers"][r.name]
            .clone()
    };
    let old = doc().await;
    let old_private = old["wireguard_private_key"].as_str().unwrap().to_string();
    let old_config = env
        .get("/api/v1/tenants/acme/clients/ops/config", &acme)
        .await;
    assert_eq!(old_config.status, StatusCode::OK, "{}", old_config.text);
    let old_endpoint = old_config.body["peers"][0]["endpoint"]
        .as_str()
        .unwrap()
        .to_string();

    // Begun (no grace: rotated now), and not yet released.
    let started = post_empty(
        env,
        &format!("/api/v1/devices/{}/wireguard-key/rotate", r.name),
        &admin,
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let begun = doc().await;
    let next = &begun["client_rotation"]["tenants"]["acme"];
    let next_public = next["key"]["public_key"].as_str().unwrap().to_string();
    let next_private = next["key"]["private_key"].as_str().unwrap().to_string();
    let number = next["number"].as_u64().unwrap();
    assert_eq!(list().await, [("ops".to_string(), "previous".to_string())]);

    // A client made now is given the new key and port.
    let (_, phone_public) = vxguard_wg_keys::keypair([42; 32]);
    let made = env
        .post(
            "/api/v1/tenants/acme/clients",
            &acme,
            serde_json::json!({"name": "ops-phone", "public_key": phone_public}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(
        made.body["config"]["peers"][0]["public_key"],
        next_public.as_str()
    );
    let endpoint = made.body["config"]["peers"][0]["endpoint"]
        .as_str()
        .unwrap();
    assert_ne!(endpoint, old_endpoint);
    assert!(
        endpoint.ends_with(&format!(":{}", (51820 + number) % 65536)),
        "{endpoint}"
    );
    worker.drain().await.unwrap();
    let mut l = list().await;
    l.sort();
    assert_eq!(
        l,
        [
            ("ops".to_string(), "previous".to_string()),
            ("ops-phone".to_string(), "current".to_string())
        ]
    );
    // The health collector looks for each client on its epoch's interface.
    let placed = |expect_old: bool| async move {
        let d = vxguard_store::health::devices(&env.db).await.unwrap();
        let p = d.client_placements[&("vyos-dc1-01".to_string(), "acme".to_string())].clone();
        assert_eq!(p.default, format!("wg{number}"));
        assert_eq!(p.by_key.is_empty(), !expect_old, "{p:?}");
    };
    placed(true).await;
    // Both interfaces run on the router, each with its client.
    let id: i64 = sqlx::query_scalar(
        "SELECT number::bigint FROM tenant_allocations a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = 'acme'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    let (old_if, new_if) = (format!("wg{id}"), format!("wg{number}"));
    let key_of = |ifname: &str| {
        let ifname = ifname.to_string();
        async move { running_value(r, &["interfaces", "wireguard", &ifname, "private-key"]).await }
    };
    let client_key = old["client_key"]["private_key"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| old_private.clone());
    assert_eq!(key_of(&old_if).await.as_deref(), Some(client_key.as_str()));
    assert_eq!(
        key_of(&new_if).await.as_deref(),
        Some(next_private.as_str())
    );
    let peer_key = |ifname: &str, peer: &str| {
        let (ifname, peer) = (ifname.to_string(), peer.to_string());
        async move {
            running_value(
                r,
                &[
                    "interfaces",
                    "wireguard",
                    &ifname,
                    "peer",
                    &peer,
                    "public-key",
                ],
            )
            .await
        }
    };
    assert!(peer_key(&old_if, "ops").await.is_some());
    assert!(peer_key(&old_if, "ops-phone").await.is_none());
    assert_eq!(
        peer_key(&new_if, "ops-phone").await.as_deref(),
        Some(phone_public.as_str())
    );
    assert!(peer_key(&new_if, "ops").await.is_none());

    // The grace period (none here) is over: released.
    let released = vxguard::rollout::mesh_keys::release_clients(&env.db)
        .await
        .unwrap()
        .expect("due");
    worker.drain().await.unwrap();
    assert_eq!(job(env, released).await.0, "done");
    assert!(vxguard::rollout::mesh_keys::release_clients(&env.db)
        .await
        .unwrap()
        .is_none());
    let after = doc().await;
    assert!(after.get("client_rotation").is_none(), "{after}");
    assert_eq!(
        after["client_epochs"]["acme"]["key"]["public_key"],
        next_public.as_str()
    );
    assert_eq!(key_of(&old_if).await, None, "the old interface is gone");
    placed(false).await;
    assert_eq!(
        key_of(&new_if).await.as_deref(),
        Some(next_private.as_str())
    );
    assert!(peer_key(&new_if, "ops").await.is_none());
    let mut l = list().await;
    l.sort();
    assert_eq!(
        l,
        [
            ("ops".to_string(), "stale".to_string()),
            ("ops-phone".to_string(), "current".to_string())
        ]
    );
    assert!(
        runs_latest_asked_with(env, r, &r.key).await,
        "drift after the release"
    );

    // Audited: begun and released per tenant, fingerprints only.
    let steps: Vec<(String, Value)> = sqlx::query_as(
        "SELECT object, after FROM audit_log WHERE action = 'key.rotated'
         AND object = 'routers/vyos-dc1-01/client-key' ORDER BY id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    let acme_steps: Vec<&Value> = steps
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a["tenant"] == "acme")
        .collect();
    assert_eq!(acme_steps.len(), 2, "{steps:?}");
    assert_eq!(acme_steps[0]["step"], "begun");
    assert_eq!(acme_steps[1]["step"], "released");
    for s in &acme_steps {
        assert_eq!(s["key"], fingerprint(&next_public).as_str());
    }
    let audit = format!("{steps:?}");
    assert!(!audit.contains(&next_private) && !audit.contains(&client_key));
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(t::text, E'\\n') FROM (SELECT * FROM revisions) t")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert!(!dump.contains(&next_private) && !dump.contains(&client_key));
}
