//! The VyOS driver against the lab router, over real HTTP on 127.0.0.1
//! (ephemeral ports), recording in a real PostgreSQL database: HTTPS with a
//! pinned certificate (and a certificate not pinned refused before the key
//! is sent); a compiled
//! revision applied to a fresh router; a wrong key; an invalid command;
//! commit in progress; 1.5 commit-confirm revert; 1.4 inverse-batch
//! rollback; the state file across a restart; one apply per router at once.

mod harness;

use harness::Env;
use serde_json::{json, Value};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vxguard::driver::vyos::{self, ApiReachable, HealthCheck, Outcome, Policy, Target};
use vxguard_compiler::sealed;
use vxguard_lab::realise::Unrealised;
use vxguard_lab::router::{Options, Router};
use vyos_api::{texts, ApiVersion, Client, ClientError, Trust};
use vyos_defs::Definitions;
use vyos_tree::ConfigTree;

const KEY: &str = "lab-key-1";

fn defs(v: ApiVersion) -> Arc<Definitions> {
    static D14: OnceLock<Arc<Definitions>> = OnceLock::new();
    static D15: OnceLock<Arc<Definitions>> = OnceLock::new();
    let cell = match v {
        ApiVersion::V1_4 => &D14,
        ApiVersion::V1_5 => &D15,
    };
    cell.get_or_init(|| Arc::new(vxguard_lab::builtin_defs(v)))
        .clone()
}

/// A running lab router: its handle, URL and state directory (removed on drop).
struct Lab {
    router: Router,
    url: String,
    dir: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn options(v: ApiVersion, dir: PathBuf) -> Options {
    Options {
        key: KEY.into(),
        version: v,
        state_dir: dir,
        minute: Duration::from_millis(800),
        commit_delay: Duration::ZERO,
    }
}

async fn serve(router: Router, dir: PathBuf) -> Lab {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let r = router.clone();
    let server = tokio::spawn(async move {
        let _ = r.serve(listener).await;
    });
    Lab {
        router,
        url,
        dir,
        server,
    }
}

async fn lab_with(opts: Options) -> Lab {
    let dir = opts.state_dir.clone();
    let router = Router::open(opts.clone(), defs(opts.version), Arc::new(Unrealised)).unwrap();
    serve(router, dir).await
}

fn state_dir() -> PathBuf {
    std::env::temp_dir().join(format!("vxguard-lab-{}", uuid::Uuid::new_v4().simple()))
}

async fn lab(v: ApiVersion) -> Lab {
    lab_with(options(v, state_dir())).await
}

async fn revision(db: &sqlx::PgPool, router: &str, config: &str) -> i64 {
    let seq: i32 = sqlx::query_scalar(
        "SELECT coalesce(max(seq), 0) + 1 FROM revisions WHERE device_kind = 'router' AND device = $1",
    )
    .bind(router)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO revisions (device_kind, device, seq, config, diff) VALUES ('router', $1, $2, $3, '') RETURNING id",
    )
    .bind(router)
    .bind(seq)
    .bind(config)
    .fetch_one(db)
    .await
    .unwrap()
}

fn tree(v: ApiVersion, set: &str) -> ConfigTree {
    ConfigTree::parse_set(set, &*defs(v)).unwrap()
}

fn fast() -> Policy {
    Policy {
        confirm_minutes: 1,
        lock_retries: 10,
        backoff: Duration::from_millis(50),
    }
}

/// A health check that always fails (a router that lost its BGP sessions).
struct Unhealthy;
impl HealthCheck for Unhealthy {
    fn check<'a>(
        &'a self,
        _client: &'a Client,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Err("BGP sessions down".to_string()) })
    }
}

const REV1: &str = "\
set interfaces wireguard wg0 address '172.27.0.1/32'
set interfaces wireguard wg0 peer r2 allowed-ips '172.27.0.2/32'
set interfaces wireguard wg0 peer r2 public-key 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='
set interfaces wireguard wg0 port '51820'
set interfaces wireguard wg0 private-key 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='
set protocols bgp system-as '65000'
set service https api keys id vxg key 'lab-key-1'
set system host-name 'r1'
";
const REV2: &str = "\
set interfaces wireguard wg0 address '172.27.0.1/32'
set interfaces wireguard wg0 description 'mesh'
set interfaces wireguard wg0 peer r2 allowed-ips '172.27.0.2/32'
set interfaces wireguard wg0 peer r2 public-key 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='
set interfaces wireguard wg0 port '51821'
set interfaces wireguard wg0 private-key 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='
set protocols bgp system-as '65000'
set service https api keys id vxg key 'lab-key-1'
set system host-name 'r1-new'
";

async fn record(db: &sqlx::PgPool, id: i64) -> (String, String, i32, Value, Option<String>) {
    sqlx::query_as(
        "SELECT outcome, commands, attempts, answers, error FROM device_applies WHERE id = $1 AND finished_at IS NOT NULL",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap()
}

/// Raw HTTP: status, content type and body bytes exactly as sent.
async fn raw_post(url: &str, path: &str, content_type: &str, body: &str) -> (u16, String, String) {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let ct = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(String::from)
        })
        .unwrap_or_default();
    (status, ct, body.to_string())
}

#[tokio::test]
async fn a_compiled_revision_applies_to_a_fresh_router_and_a_second_diff_is_empty() {
    let e = Env::demo().await;
    e.drain().await;
    // A 1.5 router of the demo platform and its latest revision.
    let name: String = sqlx::query_scalar(
        "SELECT name FROM objects WHERE kind = 'router' AND spec->>'version' = '1.5' ORDER BY name LIMIT 1",
    )
    .fetch_one(&e.db)
    .await
    .unwrap();
    let rev: i64 = sqlx::query_scalar(
        "SELECT id FROM revisions WHERE device_kind = 'router' AND device = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(&name)
    .fetch_one(&e.db)
    .await
    .unwrap();
    let (_, config) = {
        let mut conn = e.db.acquire().await.unwrap();
        vxguard_store::revisions::config_by_id(&mut conn, rev, "router", &name)
            .await
            .unwrap()
            .unwrap()
    };
    let d = defs(ApiVersion::V1_5);
    let desired = ConfigTree::parse_set(&config, &*d).unwrap();
    // The router's own API key is in its revision by placeholder (issue
    // 17, item 8); a fresh router starts with the real one, from the
    // sealed store.
    let in_revision = desired
        .root()
        .get(&["service", "https", "api", "keys", "id"])
        .and_then(|ids| ids.children().next())
        .and_then(|(_, id)| id.child("key"))
        .and_then(|k| k.children().next())
        .map(|(k, _)| k.to_string())
        .expect("the revision configures an API key");
    let secrets = vxguard_store::intent::secrets(&mut *e.db.acquire().await.unwrap())
        .await
        .unwrap();
    let real = &secrets.routers[&name];
    let key = real.api_key.clone();
    assert_eq!(
        in_revision,
        sealed::placeholder(sealed::SecretKind::ApiKey, &key)
    );
    assert!(!config.contains(&key) && !config.contains(&real.wireguard_private_key));
    let mut opts = options(ApiVersion::V1_5, state_dir());
    opts.key = key.clone();
    let lab = lab_with(opts).await;
    assert!(lab.router.running().is_empty());
    let client = Client::new(&lab.url, &key, ApiVersion::V1_5).unwrap();
    let target = Target {
        name: &name,
        client: &client,
        defs: &d,
    };
    let started = Instant::now();
    let r = vyos::apply(&e.db, &target, rev, &fast(), &ApiReachable)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}", r.outcome);
    // The router runs the revision with the real keys put back.
    let mut running = lab.router.running();
    let shown = running.render_set(&*d);
    assert!(shown.contains(&format!("private-key '{}'", real.wireguard_private_key)));
    assert!(shown.contains(&format!("key '{key}'")));
    sealed::seal_tree(&mut running, &*d, &mut Default::default());
    assert_eq!(running, desired, "the router runs the revision");
    assert!(!lab.router.confirm_pending(), "the commit was confirmed");
    // Batch + confirm, no retries.
    assert_eq!(r.attempts, 2);
    let (outcome, commands, attempts, answers, error) = record(&e.db, r.id).await;
    assert_eq!((outcome.as_str(), attempts, error), ("applied", 2, None));
    assert_eq!(commands.lines().count(), r.commands.len());
    assert!(!commands.contains(&key), "the key is not recorded");
    for c in &r.commands {
        assert!(
            !c.contains(&key) && !c.contains(&real.wireguard_private_key),
            "{c}"
        );
    }
    assert!(r.commands.iter().any(|c| c.contains("private-key")));
    assert!(!commands.contains("private-key '") || commands.contains("'<secret>'"));
    assert_eq!(answers[0]["status"], 200);
    assert!(answers[0]["data"]
        .as_str()
        .unwrap()
        .starts_with("Initialized commit-confirm; 1 minutes"));
    assert_eq!(answers[1]["data"], texts::CONFIRMED);

    let again = vyos::apply(&e.db, &target, rev, &fast(), &ApiReachable)
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert!(
        again.commands.is_empty(),
        "second diff: {:?}",
        again.commands
    );
    eprintln!(
        "applied {} commands to {name} in {took:?}",
        r.commands.len()
    );
}

fn show_config() -> vyos_api::Retrieve {
    vyos_api::Retrieve {
        op: vyos_api::RetrieveOp::ShowConfig,
        path: vec![],
        config_format: None,
    }
}

/// A lab router serving HTTPS with the self-signed certificate made in
/// its state directory, as `vxguard-lab router` does; and its fingerprint.
async fn lab_tls(v: ApiVersion) -> (Lab, [u8; 32]) {
    let dir = state_dir();
    let identity = vxguard_lab::tls::ensure_identity(&dir).unwrap();
    let router = Router::open(options(v, dir.clone()), defs(v), Arc::new(Unrealised)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let r = router.clone();
    let tls = identity.server_config().unwrap();
    let server = tokio::spawn(async move {
        let _ = r.serve_tls(listener, tls).await;
    });
    let lab = Lab {
        router,
        url,
        dir,
        server,
    };
    (lab, identity.fingerprint())
}

#[tokio::test]
async fn over_https_only_the_pinned_certificate_is_trusted() {
    let e = Env::empty().await;
    let (lab, pin) = lab_tls(ApiVersion::V1_5).await;
    let rev = revision(&e.db, "r1", REV1).await;
    let d = defs(ApiVersion::V1_5);

    let client = |trust| {
        Client::new(&lab.url, KEY, ApiVersion::V1_5)
            .unwrap()
            .trusting(trust)
            .unwrap()
    };
    let apply = |client: Client| {
        let (db, d) = (e.db.clone(), d.clone());
        async move {
            let target = Target {
                name: "r1",
                client: &client,
                defs: &d,
            };
            vyos::apply(&db, &target, rev, &fast(), &ApiReachable)
                .await
                .unwrap()
        }
    };

    // Pinned to another certificate (a man in the middle, or a router
    // reinstalled): the handshake fails, so the key is never sent.
    let mut other = pin;
    other[0] ^= 0xff;
    let mismatch = format!(
        "the router's certificate has SHA-256 {}, not the pinned {}",
        vyos_api::tls::fingerprint_text(&pin),
        vyos_api::tls::fingerprint_text(&other)
    );
    for (trust, why) in [
        (Trust::Pinned(other), mismatch.as_str()),
        // VyOS's self-signed certificate is not vouched for by a public root.
        (Trust::PublicRoots, "UnknownIssuer"),
    ] {
        let err = client(trust).retrieve(&show_config()).await.unwrap_err();
        assert!(matches!(err, ClientError::Tls { .. }), "{err}");
        assert!(err.to_string().ends_with(why), "{err}");
        let r = apply(client(trust)).await;
        let Outcome::Failed { error } = &r.outcome else {
            panic!("{:?}", r.outcome)
        };
        assert!(error.contains("TLS with 127.0.0.1:"), "{error}");
        assert!(lab.router.running().is_empty(), "nothing applied");
    }

    // What an operator reads before pinning: the router's certificate,
    // whatever it is; plain http:// has none.
    assert_eq!(
        Client::new(&lab.url, "", ApiVersion::V1_5)
            .unwrap()
            .server_certificate()
            .await
            .unwrap(),
        pin
    );
    let plain = lab.url.replace("https://", "http://");
    assert!(matches!(
        Client::new(&plain, "", ApiVersion::V1_5)
            .unwrap()
            .server_certificate()
            .await,
        Err(ClientError::PinWithoutTls(_))
    ));

    // Pinned to the router's own certificate: the revision applies.
    let r = apply(client(Trust::Pinned(pin))).await;
    assert_eq!(r.outcome, Outcome::Applied, "{:?}", r.outcome);
    assert_eq!(lab.router.running(), tree(ApiVersion::V1_5, REV1));
    // Plain HTTP to an HTTPS port gets no VyOS answer.
    let plain = Client::new(
        &lab.url.replace("https://", "http://"),
        KEY,
        ApiVersion::V1_5,
    )
    .unwrap();
    assert!(plain.retrieve(&show_config()).await.is_err());
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_401_and_nothing_is_applied() {
    let e = Env::empty().await;
    let lab = lab(ApiVersion::V1_5).await;
    let rev = revision(&e.db, "r1", REV1).await;
    let d = defs(ApiVersion::V1_5);
    let client = Client::new(&lab.url, "not-the-key", ApiVersion::V1_5).unwrap();
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    let r = vyos::apply(&e.db, &target, rev, &fast(), &ApiReachable)
        .await
        .unwrap();
    assert_eq!(
        r.outcome,
        Outcome::Failed {
            error:
                "reading the running configuration: router answered 401: Valid API key is required"
                    .into()
        }
    );
    assert!(lab.router.running().is_empty());
    // The bytes VyOS sends, and a /configure with a wrong key changes nothing.
    let body = json!({"key": "nope", "op": "set", "path": ["system", "host-name"], "value": "x"});
    let (status, ct, text) = raw_post(
        &lab.url,
        "/configure",
        "application/json",
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(ct, "text/html; charset=utf-8");
    assert_eq!(
        text,
        r#"{"success": false, "error": "Valid API key is required", "data": null}"#
    );
    let form = "data=%7B%22op%22%3A%22set%22%2C%22path%22%3A%5B%22system%22%2C%22host-name%22%2C%22x%22%5D%7D";
    let (status, _, _) = raw_post(
        &lab.url,
        "/configure",
        "application/x-www-form-urlencoded",
        form,
    )
    .await;
    assert_eq!(status, 401, "a form without key");
    assert!(lab.router.running().is_empty());
    let (outcome, ..) = record(&e.db, r.id).await;
    assert_eq!(outcome, "failed");
}

#[tokio::test]
async fn an_invalid_command_is_refused_with_vyos_text_and_nothing_is_applied() {
    let e = Env::empty().await;
    let lab = lab(ApiVersion::V1_4).await;
    let d = defs(ApiVersion::V1_4);
    let client = Client::new(&lab.url, KEY, ApiVersion::V1_4).unwrap();
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    let ok = revision(&e.db, "r1", REV1).await;
    let r = vyos::apply(&e.db, &target, ok, &fast(), &ApiReachable)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
    let before = lab.router.running();
    let bad = format!("{REV2}set interfaces wireguard wg0 mtu '99999999'\n");
    let rev = revision(&e.db, "r1", &bad).await;
    let r = vyos::apply(&e.db, &target, rev, &fast(), &ApiReachable)
        .await
        .unwrap();
    let Outcome::Failed { error } = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert!(
        error.starts_with("router answered 400: Configuration path: [interfaces wireguard wg0 mtu 99999999] is not valid"),
        "{error}"
    );
    assert!(error.ends_with("Set failed\n"), "{error}");
    assert_eq!(
        lab.router.running(),
        before,
        "no part of the batch was applied"
    );
    let (outcome, _, _, answers, recorded) = record(&e.db, r.id).await;
    assert_eq!(outcome, "failed");
    assert_eq!(recorded.as_deref(), Some(error.as_str()));
    assert_eq!(answers[0]["status"], 400);
    // An unknown op: VyOS's own text.
    let body = json!({"key": KEY, "op": "frob", "path": ["system"]});
    let (status, _, text) = raw_post(
        &lab.url,
        "/configure",
        "application/json",
        &body.to_string(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"success": false, "error": "'frob' is not a valid operation", "data": null}"#
        )
    );
}

#[tokio::test]
async fn commit_in_progress_is_retried_then_succeeds() {
    let e = Env::empty().await;
    let lab = lab(ApiVersion::V1_5).await;
    let d = defs(ApiVersion::V1_5);
    let rev = revision(&e.db, "r1", REV1).await;
    let client = Client::new(&lab.url, KEY, ApiVersion::V1_5).unwrap();
    // Another session (the CLI, say) is committing.
    let guard = lab.router.hold_commit_lock().await;
    let apply = {
        let (db, d, client) = (e.db.clone(), d.clone(), client.clone());
        tokio::spawn(async move {
            let target = Target {
                name: "r1",
                client: &client,
                defs: &d,
            };
            vyos::apply(&db, &target, rev, &fast(), &ApiReachable)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        lab.router.running().is_empty(),
        "nothing committed while the lock is held"
    );
    drop(guard);
    let r = apply.await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
    assert!(
        r.attempts >= 3,
        "at least one retry before batch and confirm: {}",
        r.attempts
    );
    assert_eq!(r.answers[0]["status"], 400);
    assert_eq!(r.answers[0]["error"], texts::COMMIT_LOCKED);
    assert_eq!(lab.router.running(), tree(ApiVersion::V1_5, REV1));

    // Two real commits overlapping over HTTP: the second is refused.
    let mut opts = options(ApiVersion::V1_5, state_dir());
    opts.commit_delay = Duration::from_millis(400);
    let slow = lab_with(opts).await;
    let one = json!({"key": KEY, "op": "set", "path": ["system", "host-name"], "value": "ra"})
        .to_string();
    let two = json!({"key": KEY, "op": "set", "path": ["system", "host-name"], "value": "rb"})
        .to_string();
    let first = tokio::spawn({
        let url = slow.url.clone();
        async move { raw_post(&url, "/configure", "application/json", &one).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, _, text) = raw_post(&slow.url, "/configure", "application/json", &two).await;
    assert_eq!(status, 400);
    assert_eq!(
        text,
        format!(
            r#"{{"success": false, "error": "{}", "data": null}}"#,
            texts::COMMIT_LOCKED
        )
    );
    let first = first.await.unwrap();
    assert_eq!(first.0, 200, "{}", first.2);
}

#[tokio::test]
async fn v1_5_failed_health_check_is_reverted_by_the_router_itself() {
    let e = Env::empty().await;
    let lab = lab(ApiVersion::V1_5).await;
    let d = defs(ApiVersion::V1_5);
    let client = Client::new(&lab.url, KEY, ApiVersion::V1_5).unwrap();
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    let r1 = revision(&e.db, "r1", REV1).await;
    assert_eq!(
        vyos::apply(&e.db, &target, r1, &fast(), &ApiReachable)
            .await
            .unwrap()
            .outcome,
        Outcome::Applied
    );
    let r2 = revision(&e.db, "r1", REV2).await;
    let r = vyos::apply(&e.db, &target, r2, &fast(), &Unhealthy)
        .await
        .unwrap();
    assert!(
        matches!(r.outcome, Outcome::Reverted { .. }),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.attempts, 1, "no confirm was sent");
    // Committed, waiting for a confirm that will not come...
    assert_eq!(lab.router.running(), tree(ApiVersion::V1_5, REV2));
    assert!(lab.router.confirm_pending());
    // ...then the router goes back by itself (1 minute = 0.8 s here).
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.router.confirm_pending() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!lab.router.confirm_pending());
    assert_eq!(lab.router.running(), tree(ApiVersion::V1_5, REV1));
    let (outcome, ..) = record(&e.db, r.id).await;
    assert_eq!(outcome, "reverted");
}

#[tokio::test]
async fn v1_4_failed_health_check_is_rolled_back_exactly_by_the_inverse_batch() {
    let e = Env::empty().await;
    let lab = lab(ApiVersion::V1_4).await;
    let d = defs(ApiVersion::V1_4);
    let client = Client::new(&lab.url, KEY, ApiVersion::V1_4).unwrap();
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    let r1 = revision(&e.db, "r1", REV1).await;
    assert_eq!(
        vyos::apply(&e.db, &target, r1, &fast(), &ApiReachable)
            .await
            .unwrap()
            .outcome,
        Outcome::Applied
    );
    let before = lab.router.running();
    let boot_before = std::fs::read_to_string(lab.dir.join("config.boot")).unwrap();
    let r2 = revision(&e.db, "r1", REV2).await;
    let r = vyos::apply(&e.db, &target, r2, &fast(), &Unhealthy)
        .await
        .unwrap();
    assert!(
        matches!(r.outcome, Outcome::RolledBack { .. }),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.attempts, 2, "the batch, then its inverse");
    assert_eq!(lab.router.running(), before);
    assert_eq!(
        std::fs::read_to_string(lab.dir.join("config.boot")).unwrap(),
        boot_before,
        "the saved configuration is byte for byte the previous one"
    );
    let (outcome, ..) = record(&e.db, r.id).await;
    assert_eq!(outcome, "rolled_back");
}

#[tokio::test]
async fn v1_4_ignores_confirm_time_like_sagitta() {
    let lab = lab(ApiVersion::V1_4).await;
    let body = json!({"key": KEY, "commands": [{"op": "set", "path": ["system", "host-name"], "value": "r9"}], "confirm_time": 1});
    let (status, _, text) = raw_post(
        &lab.url,
        "/configure",
        "application/json",
        &body.to_string(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"success": true, "data": "", "error": null}"#)
    );
    assert!(!lab.router.confirm_pending());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        lab.router.running(),
        tree(ApiVersion::V1_4, "set system host-name 'r9'\n"),
        "no revert on 1.4"
    );
    // And {"op":"confirm"} is not a 1.4 request at all.
    let (status, _, _) = raw_post(
        &lab.url,
        "/configure",
        "application/json",
        &json!({"key": KEY, "op": "confirm"}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn retrieve_answers_json_raw_exists_and_values_over_json_and_form() {
    let e = Env::empty().await;
    let lab = lab(ApiVersion::V1_5).await;
    let d = defs(ApiVersion::V1_5);
    let mut client = Client::new(&lab.url, KEY, ApiVersion::V1_5).unwrap();
    let rev = revision(&e.db, "r1", REV1).await;
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    vyos::apply(&e.db, &target, rev, &fast(), &ApiReachable)
        .await
        .unwrap();
    use vyos_api::{ConfigFormat, Retrieve, RetrieveOp};
    for enc in [vyos_api::Encoding::Json, vyos_api::Encoding::Form] {
        client.encoding = enc;
        let get = |op, path: &[&str], f| Retrieve {
            op,
            path: path.iter().map(|s| s.to_string()).collect(),
            config_format: f,
        };
        let a = client
            .retrieve(&get(RetrieveOp::ShowConfig, &["system"], None))
            .await
            .unwrap();
        assert_eq!(a.envelope.data, json!({"host-name": "r1"}), "{enc:?}");
        let a = client
            .retrieve(&get(
                RetrieveOp::ShowConfig,
                &["interfaces"],
                Some(ConfigFormat::Raw),
            ))
            .await
            .unwrap();
        let raw = a.envelope.data.as_str().unwrap().to_string();
        assert!(
            raw.starts_with("wireguard wg0 {\n    address 172.27.0.1/32\n"),
            "{raw}"
        );
        let a = client
            .retrieve(&get(RetrieveOp::Exists, &["protocols", "bgp"], None))
            .await
            .unwrap();
        assert_eq!(a.envelope.data, json!(true));
        let a = client
            .retrieve(&get(
                RetrieveOp::ReturnValue,
                &["system", "host-name"],
                None,
            ))
            .await
            .unwrap();
        assert_eq!(a.envelope.data, json!("r1"));
        let a = client
            .retrieve(&get(
                RetrieveOp::ReturnValues,
                &["interfaces", "wireguard", "wg0", "address"],
                None,
            ))
            .await
            .unwrap();
        assert_eq!(a.envelope.data, json!(["172.27.0.1/32"]));
    }
    let (status, _, text) = raw_post(
        &lab.url,
        "/retrieve",
        "application/json",
        &json!({"key": KEY, "op": "showConfig", "path": [], "configFormat": "xml"}).to_string(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"success": false, "error": "'xml' is not a valid config format", "data": null}"#
        )
    );
    // /show bgp: the stub reports configured neighbors as not realised.
    let a = client
        .show(&vyos_api::Show {
            path: vec!["bgp".into(), "summary".into()],
        })
        .await
        .unwrap();
    assert!(a.ok());
}

#[tokio::test]
async fn the_state_file_survives_a_restart() {
    let e = Env::empty().await;
    let dir = state_dir();
    let d = defs(ApiVersion::V1_5);
    let lab = lab_with(options(ApiVersion::V1_5, dir.clone())).await;
    let client = Client::new(&lab.url, KEY, ApiVersion::V1_5).unwrap();
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    let rev = revision(&e.db, "r1", REV1).await;
    vyos::apply(&e.db, &target, rev, &fast(), &ApiReachable)
        .await
        .unwrap();
    let running = lab.router.running();
    lab.server.abort();
    let again = Router::open(
        options(ApiVersion::V1_5, dir.clone()),
        d.clone(),
        Arc::new(Unrealised),
    )
    .unwrap();
    assert_eq!(again.running(), running);
    assert_eq!(again.running(), tree(ApiVersion::V1_5, REV1));

    // A restart during an unconfirmed commit-confirm comes back on the
    // previous configuration, as a reboot would.
    let lab2 = serve(again, dir.clone()).await;
    let client = Client::new(&lab2.url, KEY, ApiVersion::V1_5).unwrap();
    let mut slow = fast();
    slow.confirm_minutes = 60;
    let rev2 = revision(&e.db, "r1", REV2).await;
    let target = Target {
        name: "r1",
        client: &client,
        defs: &d,
    };
    let r = vyos::apply(&e.db, &target, rev2, &slow, &Unhealthy)
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Reverted { .. }));
    assert_eq!(lab2.router.running(), tree(ApiVersion::V1_5, REV2));
    lab2.server.abort();
    let third = Router::open(
        options(ApiVersion::V1_5, dir.clone()),
        d,
        Arc::new(Unrealised),
    )
    .unwrap();
    assert_eq!(third.running(), tree(ApiVersion::V1_5, REV1));
    assert!(!third.confirm_pending());
    drop(lab);
}

#[tokio::test]
async fn two_workers_apply_to_one_router_one_at_a_time() {
    let e = Env::empty().await;
    let mut opts = options(ApiVersion::V1_5, state_dir());
    opts.commit_delay = Duration::from_millis(200);
    let lab = lab_with(opts).await;
    let d = defs(ApiVersion::V1_5);
    let rev = revision(&e.db, "r1", REV1).await;
    let client = Client::new(&lab.url, KEY, ApiVersion::V1_5).unwrap();
    let run = || {
        let (db, d, client) = (e.db.clone(), d.clone(), client.clone());
        tokio::spawn(async move {
            let target = Target {
                name: "r1",
                client: &client,
                defs: &d,
            };
            vyos::apply(&db, &target, rev, &fast(), &ApiReachable)
                .await
                .unwrap()
        })
    };
    let (a, b) = (run(), run());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mut outcomes = [a.outcome.as_str(), b.outcome.as_str()];
    outcomes.sort();
    assert_eq!(
        outcomes,
        ["applied", "unchanged"],
        "the second waited and found nothing to do"
    );
    assert_eq!(a.attempts.min(b.attempts), 0);
    assert_eq!(
        a.attempts.max(b.attempts),
        2,
        "no commit-in-progress retries: the lock serialised them"
    );
}
