//! Health collection (issue 18, items 1 and 2) against lab routers served
//! in-process (HTTPS, pinned; no daemons: the `Unrealised` realiser) and a
//! real PostgreSQL: the demo platform applied to its four routers, then a
//! collection round with one router dead. The dead router is down with its
//! reason and the others are collected in the same round; a tenant's
//! `GET /api/v1/tenants/{tenant}/health` holds only its own gateway groups
//! and clients, without device errors; the platform admin's `GET
//! /api/v1/health` holds every device and link.

mod harness;

use axum::http::StatusCode;
use harness::Env;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vxguard::driver::reconcile::Settings;
use vxguard::driver::vyos::Policy;
use vxguard_lab::realise::Unrealised;
use vxguard_lab::router::{Options, Router};
use vyos_api::ApiVersion;

const ROUTERS: [(&str, &str, &str); 4] = [
    ("vyos-dc1-01", "1.4", "https://5.254.54.10"),
    ("vyos-dc1-02", "1.5", "https://5.254.54.11"),
    ("vyos-dc2-01", "1.4", "https://5.254.43.170"),
    ("vyos-dc2-02", "1.5", "https://5.254.43.171"),
];

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo platform on four in-process lab routers, applied; the
/// routers' serving tasks by name (abort one to kill it).
async fn applied_lab() -> (
    Env,
    BTreeMap<&'static str, tokio::task::JoinHandle<()>>,
    TempDir,
) {
    let dir = TempDir(
        std::env::temp_dir().join(format!("vxguard-health-{}", uuid::Uuid::new_v4().simple())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/two-dc.yaml"
    ))
    .unwrap();
    let mut listeners = Vec::new();
    for (name, _, endpoint) in ROUTERS {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
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
        listeners.push(l);
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
    let mut tasks = BTreeMap::new();
    for ((name, version, _), listener) in ROUTERS.iter().zip(listeners) {
        let v = ApiVersion::parse(version).unwrap();
        let state = dir.0.join(name);
        let tls = vxguard_lab::tls::ensure_identity(&state)
            .unwrap()
            .server_config()
            .unwrap();
        let router = Router::open(
            Options {
                key: secrets["routers"][name]["api_key"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                version: v,
                state_dir: state,
                minute: Duration::from_secs(5),
                commit_delay: Duration::ZERO,
            },
            Arc::new(vxguard_lab::builtin_defs(v)),
            Arc::new(Unrealised),
        )
        .unwrap();
        tasks.insert(
            *name,
            tokio::spawn(async move {
                let _ = router.serve_tls(listener, tls).await;
            }),
        );
    }
    let mut w = env.worker("health-worker");
    w.apply = Some(Arc::new(Settings {
        batch: 2,
        policy: Policy {
            confirm_minutes: 0,
            lock_retries: 10,
            backoff: Duration::from_millis(50),
        },
        health_settle: Duration::from_millis(100),
        health_wait: Duration::from_secs(2),
        health_poll: Duration::from_millis(200),
        hypervisors: false,
        drift_every: None,
        api_key_every: None,
    }));
    assert_eq!(w.drain().await.unwrap(), 1);
    let applied: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT device) FROM device_applies WHERE outcome = 'applied'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(applied, 4, "every router applied");
    (env, tasks, dir)
}

fn collector() -> vxguard::health::Settings {
    let mut s = vxguard::health::Settings::every(Duration::from_millis(200));
    s.device_timeout = Duration::from_secs(3);
    s
}

fn by_key(report: &Value) -> BTreeMap<String, Value> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_router_is_down_others_are_collected_and_tenants_see_only_their_own() {
    let (env, tasks, _dir) = applied_lab().await;
    let admin = env.token("admin@example.com").await;

    // Before any round: nothing collected.
    let r = env.get("/api/v1/health", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["collected_at"], Value::Null);
    assert_eq!(r.body["items"], serde_json::json!([]));

    // A round with every router up.
    let s = collector();
    let sum = vxguard::health::round(&env.db, &s)
        .await
        .unwrap()
        .expect("a round ran");
    assert_eq!((sum.routers, sum.answered), (4, 4));
    eprintln!(
        "round over 4 lab routers (all answering): {:?}, {} items",
        sum.took, sum.items
    );
    // A second round at once is skipped (less than 80 % of an interval):
    // asked with a minute's interval, so that the first round's own time
    // (its routers and the hypervisors' bridges, longer on a loaded
    // machine than 80 % of 200 ms) cannot make it due.
    let mut minute = collector();
    minute.every = Duration::from_secs(60);
    assert_eq!(
        vxguard::health::round(&env.db, &minute).await.unwrap(),
        None
    );

    // vyos-dc2-02 dies.
    tasks["vyos-dc2-02"].abort();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(
        vxguard_store::objects::platform_specs(&env.db, vxguard_store::kind::Kind::Router)
            .await
            .unwrap()
            .iter()
            .find(|(n, _)| n == "vyos-dc2-02")
            .unwrap()
            .1["api_endpoint"]
            .as_str()
            .unwrap()
            .trim_start_matches("https://"),
    )
    .is_ok()
    {
        assert!(Instant::now() < deadline, "the router still listens");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let t = Instant::now();
    let sum = vxguard::health::round(&env.db, &s)
        .await
        .unwrap()
        .expect("a round ran");
    eprintln!(
        "round over 4 lab routers, one dead: {:?} ({} items)",
        t.elapsed(),
        sum.items
    );
    assert_eq!((sum.routers, sum.answered), (4, 3));

    // The admin's view: every device and link, the dead one down with why.
    let r = env.get("/api/v1/health?history_minutes=5", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["collected_at"].is_string());
    let items = by_key(&r.body);
    let dead = &items["router:vyos-dc2-02"];
    assert_eq!(dead["status"], "down", "{dead}");
    assert_eq!(dead["reason"], "does not answer");
    assert!(
        dead["detail"].as_str().unwrap().contains("127.0.0.1"),
        "the operator's detail names the failure: {dead}"
    );
    assert!(!dead["history"].as_array().unwrap().is_empty());
    for live in ["vyos-dc1-01", "vyos-dc1-02", "vyos-dc2-01"] {
        let i = &items[&format!("router:{live}")];
        assert_eq!(i["status"], "ok", "{i}");
        assert_eq!(i["facts"]["applied"], true);
        assert!(
            i["facts"]["memory_total_bytes"].as_u64().unwrap() > 0,
            "{i}"
        );
        // Its links were read: the lab has no daemons, so no handshake
        // and no Established session, each with its reason.
        let peer = if live == "vyos-dc1-01" {
            "vyos-dc1-02"
        } else {
            "vyos-dc1-01"
        };
        let wg = &items[&format!("wireguard:{live}:{peer}")];
        assert_eq!(wg["status"], "down", "{wg}");
        assert_eq!(wg["reason"], "no handshake yet", "{wg}");
        let bgp = &items[&format!("bgp:{live}:vyos-dc2-02")];
        assert_eq!(bgp["facts"]["state"], "Unrealised", "{bgp}");
        assert!(
            bgp["reason"]
                .as_str()
                .unwrap()
                .starts_with("not Established (Unrealised)"),
            "{bgp}"
        );
    }
    assert_eq!(
        items["bgp:vyos-dc2-02:vyos-dc1-01"]["reason"],
        "vyos-dc2-02 does not answer"
    );
    let kinds: std::collections::BTreeSet<&str> = items
        .values()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["bgp", "client", "hypervisor", "router", "vrrp", "wireguard"]
            .into_iter()
            .collect()
    );
    let tenants: std::collections::BTreeSet<&str> = items
        .values()
        .filter_map(|i| i["tenant"].as_str())
        .collect();
    assert!(tenants.len() >= 2, "{tenants:?}");
    // keepalived does not run in the lab: no master anywhere.
    let g = items
        .values()
        .find(|i| i["kind"] == "vrrp" && i["tenant"] == "acme")
        .unwrap();
    assert_eq!(g["status"], "down", "{g}");
    assert!(
        g["reason"].as_str().unwrap().starts_with("no master ("),
        "{g}"
    );

    // A tenant's view: its groups and clients only.
    for who in ["acme-admin@example.com", "acme-member@example.com"] {
        let t = env.token(who).await;
        let r = env
            .get("/api/v1/tenants/acme/health?history_minutes=5", &t)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mine = by_key(&r.body);
        assert!(!mine.is_empty());
        for i in mine.values() {
            assert_eq!(i["tenant"], "acme", "{i}");
            assert!(i["kind"] == "vrrp" || i["kind"] == "client", "{i}");
            assert!(i.get("detail").is_none(), "{i}");
        }
        let admin_acme: Vec<&String> = items
            .iter()
            .filter(|(_, i)| i["tenant"] == "acme")
            .map(|(k, _)| k)
            .collect();
        assert_eq!(mine.keys().collect::<Vec<_>>(), admin_acme);
        let text = &r.text;
        for other in tenants.iter().filter(|t| **t != "acme") {
            assert!(!text.contains(other), "{other} in acme's health: {text}");
        }
        assert!(!text.contains("127.0.0.1"), "a device error leaked: {text}");
        assert!(!text.contains("wireguard"), "{text}");
        // Another tenant's health is not there at all.
        let r = env.get("/api/v1/tenants/finance/health", &t).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        // Nor the platform's.
        let r = env.get("/api/v1/health", &t).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let t = env.token("acme-admin@example.com").await;
    let r = env
        .get("/api/v1/tenants/acme/health?history_minutes=1441", &t)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A tenant's filters stay within its items.
    let r = env
        .get("/api/v1/tenants/acme/health?kind=wireguard", &t)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["items"], serde_json::json!([]));
    assert_eq!(r.body["total"], 0);

    // Another round with nothing changed writes almost nothing: only the
    // live routers' items may change (the lab answers this machine's
    // memory, which moves), no link, group or client, and no history.
    let before = env.get("/api/v1/health", &admin).await.body["collected_at"].clone();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again = vxguard::health::round(&env.db, &s)
        .await
        .unwrap()
        .expect("a round ran");
    eprintln!("an unchanged round: {:?}", again.written);
    assert_eq!(again.items, sum.items);
    assert!(again.written.items <= 3, "{:?}", again.written);
    assert_eq!(again.written.history, 0, "{:?}", again.written);
    assert_eq!(again.written.deleted, 0, "{:?}", again.written);
    let r = env.get("/api/v1/health?limit=5000", &admin).await;
    let before: chrono::DateTime<chrono::Utc> = serde_json::from_value(before).unwrap();
    for i in r.body["items"].as_array().unwrap() {
        let changed: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(i["changed_at"].clone()).unwrap();
        assert!(
            changed <= before || i["kind"] == "router",
            "rewritten without a change: {i}"
        );
        let observed: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(i["observed_at"].clone()).unwrap();
        assert!(observed >= changed, "{i}");
    }

    for (_, task) in tasks {
        task.abort();
    }
}

/// `GET /api/v1/health` a page at a time, filtered in the store: by kind,
/// status, site and router, pages following `next` that cover every item
/// once, worst first; bad values are 400s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_health_pages_and_filters() {
    let (env, tasks, _dir) = applied_lab().await;
    let admin = env.token("admin@example.com").await;
    tasks["vyos-dc2-02"].abort();
    tokio::time::sleep(Duration::from_millis(300)).await;
    vxguard::health::round(&env.db, &collector())
        .await
        .unwrap()
        .expect("a round ran");
    let all = env.get("/api/v1/health?limit=5000", &admin).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let total = all.body["total"].as_u64().unwrap() as usize;
    let every = all.body["items"].as_array().unwrap();
    assert_eq!(every.len(), total);
    assert_eq!(all.body["next"], Value::Null);
    let c = &all.body["counts"];
    assert_eq!(
        c["ok"].as_u64().unwrap() + c["degraded"].as_u64().unwrap() + c["down"].as_u64().unwrap(),
        total as u64
    );
    // Worst first.
    let sev = |i: &Value| match i["status"].as_str().unwrap() {
        "ok" => 0,
        "degraded" => 1,
        _ => 2,
    };
    assert!(every.windows(2).all(|w| sev(&w[0]) >= sev(&w[1])));

    // Pages of 7 cover every item once, in the same order.
    let mut keys = Vec::new();
    let mut url = "/api/v1/health?limit=7".to_string();
    loop {
        let r = env.get(&url, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        assert_eq!(r.body["total"].as_u64().unwrap() as usize, total);
        keys.extend(items.iter().map(|i| i["key"].as_str().unwrap().to_string()));
        match r.body["next"].as_str() {
            Some(n) => url = format!("/api/v1/health?limit=7&after={}", urlencode(n)),
            None => break,
        }
    }
    let want: Vec<String> = every
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, want);

    // Filters, alone and together.
    let r = env.get("/api/v1/health?kind=bgp&limit=5", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(r.body["total"], 12, "4 routers, 3 sessions each");
    assert!(r.body["next"].is_string());
    let r = env
        .get(
            "/api/v1/health?state=down&router=vyos-dc2-02&limit=5000",
            &admin,
        )
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for i in items {
        assert_eq!(i["status"], "down", "{i}");
        assert!(
            i["device"] == "vyos-dc2-02" || i["peer"] == "vyos-dc2-02",
            "{i}"
        );
    }
    assert!(items.iter().any(|i| i["key"] == "router:vyos-dc2-02"));
    let r = env
        .get("/api/v1/health?site=dc1&kind=router&limit=5000", &admin)
        .await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["device"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["vyos-dc1-01", "vyos-dc1-02"]);
    for bad in [
        "status=purple",
        "kind=switch",
        "limit=0",
        "limit=5001",
        "after=nonsense",
    ] {
        let r = env.get(&format!("/api/v1/health?{bad}"), &admin).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    for (_, task) in tasks {
        task.abort();
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The collector keeps what it expects between rounds and reads again
/// only what moved: every tenant and the platform on its first round,
/// nothing on the next, the one tenant a write touched after that (its
/// new client expected, a removed one no longer), and everything again
/// after a failed read would (a fresh state does).
#[tokio::test]
async fn expectations_are_read_again_only_where_the_intent_moved() {
    let env = Env::demo().await;
    env.drain().await;
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&env.db)
        .await
        .unwrap();
    // The demo's routers are not there: each is down within its time.
    let mut s = vxguard::health::Settings::every(Duration::from_millis(10));
    s.device_timeout = Duration::from_millis(300);
    let mut state = vxguard::health::State::default();
    let admin = env.token("admin@example.com").await;
    let keys =
        |r: &harness::Resp| -> Vec<String> { by_key(&r.body).into_keys().collect::<Vec<_>>() };
    let first = vxguard::health::round_with(&env.db, &s, &mut state)
        .await
        .unwrap()
        .expect("a round ran");
    assert_eq!(
        (first.tenants_read, first.platform_read),
        (tenants as usize, true)
    );
    assert!(first.routers > 0, "{first:?}");
    let before = keys(&env.get("/api/v1/health?limit=5000", &admin).await);
    assert!(
        before.contains(&"client:acme:ops".to_string()),
        "{before:?}"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = vxguard::health::round_with(&env.db, &s, &mut state)
        .await
        .unwrap()
        .expect("a round ran");
    assert_eq!((second.tenants_read, second.platform_read), (0, false));
    assert_eq!(second.items, first.items);

    // acme gets a client: acme alone is read again.
    let t = env.token("acme-admin@example.com").await;
    let r = env
        .post(
            "/api/v1/tenants/acme/clients",
            &t,
            serde_json::json!({"name": "laptop"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let third = vxguard::health::round_with(&env.db, &s, &mut state)
        .await
        .unwrap()
        .expect("a round ran");
    assert_eq!((third.tenants_read, third.platform_read), (1, false));
    assert_eq!(third.items, first.items + 1);
    let after = keys(&env.get("/api/v1/health?limit=5000", &admin).await);
    assert!(
        after.contains(&"client:acme:laptop".to_string()),
        "{after:?}"
    );

    // Its client `ops` revoked: no longer expected, and gone.
    let r = env.delete("/api/v1/tenants/acme/clients/ops", &t).await;
    assert!(r.status.is_success(), "{}", r.text);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let fourth = vxguard::health::round_with(&env.db, &s, &mut state)
        .await
        .unwrap()
        .expect("a round ran");
    assert_eq!(fourth.tenants_read, 1);
    assert_eq!(fourth.written.deleted, 1, "{:?}", fourth.written);
    let now = keys(&env.get("/api/v1/health?limit=5000", &admin).await);
    assert!(!now.contains(&"client:acme:ops".to_string()), "{now:?}");
    assert!(now.contains(&"client:acme:laptop".to_string()), "{now:?}");

    // What a fresh collector expects from the whole intent is the same.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let fresh = vxguard::health::round(&env.db, &s)
        .await
        .unwrap()
        .expect("a round ran");
    assert_eq!(fresh.tenants_read, tenants as usize);
    assert_eq!((fresh.items, fresh.written.deleted), (fourth.items, 0));
}
