//! `vxguard-lab router`: a stand-in VyOS router that speaks the subset of
//! the VyOS HTTP API this project's driver uses, faithfully enough that
//! the driver cannot tell it from a router:
//!
//! - paths `/retrieve` (`showConfig` json/raw, `exists`, `returnValue(s)`),
//!   `/configure` (one command or a `commands` batch = one commit; 1.5:
//!   `confirm_time` and `{"op":"confirm"}`), `/show` (`bgp ...`, `vrrp`,
//!   `interfaces wireguard <wg> summary`, `system memory`: [`crate::opmode`]);
//! - bodies as JSON with the key inside or as forms (`data` + `key`), the
//!   key check (401 "Valid API key is required"), the envelope as Python's
//!   `json.dumps` writes it, `Content-Type: text/html; charset=utf-8`,
//!   error texts HTML-escaped on 1.5 only, status codes 200/400/401/422/500;
//! - every `set` checked against the VyOS definitions of the router's
//!   version (vyos-defs), the commit checked by the project's conf_mode
//!   rules (`vyos_defs::commit_check`); any failure is a 400 and nothing
//!   of the request is applied;
//! - one commit at a time: a request arriving while another commit runs
//!   gets 400 "Configuration system temporarily locked due to another
//!   commit in progress" (on VyOS the API serialises its own requests and
//!   this 400 comes when another session, CLI or boot, holds the lock; the
//!   lab answers every overlap that way, the case a driver must handle);
//! - 1.5 commit-confirm: a timer of `confirm_time` minutes (scaled by
//!   `--minute-secs` for tests) after which the previous configuration is
//!   restored unless `{"op":"confirm"}` came (`commit-confirm action
//!   reload`; with `reboot`, VyOS would boot the saved configuration, which
//!   in the lab is the same one). 1.4 ignores `confirm_time`, as its
//!   pydantic models ignore unknown fields: the commit is permanent.
//! - `vxguard-lab router` moves its API where `service https listen-address`
//!   and `port` say after a commit or a revert ([`Router::serve_following`]).
//!
//! Not emulated: HTTPS and nginx (503 when the API is unconfigured, 413),
//! API keys taken from anything but the configuration or `--key` (see
//! [`Router::keys`]), `service https api rest`/`strict`, comments, the
//! background commit of changes to `service https` (the lab commits them
//! at once and sends VyOS's message), commit-time checks beyond those
//! vyos-defs implements, and every other endpoint.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{json, Map, Value};
use vyos_api::texts;
use vyos_api::wire::{self, ApiVersion, Envelope, ParsedConfigure, Refusal};
use vyos_defs::Definitions;
use vyos_tree::{ConfigTree, NodeKind, Schema};

use crate::realise::Realiser;
use crate::state::{StateDir, StateError};

/// How the router is set up (the `vxguard-lab router` flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// The key accepted while the configuration holds no
    /// `service https api keys` (a new router's bootstrap key).
    pub key: String,
    pub version: ApiVersion,
    pub state_dir: PathBuf,
    /// How long one `confirm_time` minute lasts (60 s on VyOS).
    pub minute: Duration,
    /// Extra time each commit holds the lock (real commits take seconds).
    pub commit_delay: Duration,
}

/// The router: running configuration, commit lock, commit-confirm timer.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    opts: Options,
    defs: Arc<Definitions>,
    realiser: Arc<dyn Realiser>,
    state: StateDir,
    running: Mutex<ConfigTree>,
    /// The configuration system's commit lock.
    commit: tokio::sync::Mutex<()>,
    pending: Mutex<Option<Pending>>,
    /// Bumped whenever the running configuration changes (commit or
    /// revert), so the API listener can follow `service https`.
    changed: tokio::sync::watch::Sender<u64>,
}

/// A commit-confirm waiting for `confirm`.
struct Pending {
    generation: u64,
    previous: ConfigTree,
    timer: tokio::task::JoinHandle<()>,
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Why the router could not start.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("realising the saved configuration failed: {0}")]
    Realise(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A failed request: status and VyOS's text.
struct Fail(u16, String);

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Self {
        Fail(r.status, r.message)
    }
}

impl Router {
    /// Loads the saved configuration (reverting an unconfirmed
    /// commit-confirm, as a reboot would) and realises it.
    pub fn open(
        opts: Options,
        defs: Arc<Definitions>,
        realiser: Arc<dyn Realiser>,
    ) -> Result<Router, RouterError> {
        let state = StateDir::open(&opts.state_dir)?;
        let mut running = state.load_running(&*defs)?;
        if let Some(previous) = state.load_revert(&*defs)? {
            running = previous;
            state.save_running(&running, &*defs)?;
            state.clear_revert()?;
        }
        realiser
            .realise(&ConfigTree::new(), &running)
            .map_err(RouterError::Realise)?;
        Ok(Router {
            inner: Arc::new(Inner {
                opts,
                defs,
                realiser,
                state,
                running: Mutex::new(running),
                commit: tokio::sync::Mutex::new(()),
                pending: Mutex::new(None),
                changed: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    /// Lets the realiser repair what its daemons lose on their own, once
    /// a second, never during a commit (it skips a second instead).
    pub async fn maintain_forever(self) {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let Ok(_commit) = self.inner.commit.try_lock() else {
                continue;
            };
            let realiser = self.inner.realiser.clone();
            let _ = tokio::task::spawn_blocking(move || realiser.maintain()).await;
        }
    }

    /// The running configuration (a copy).
    pub fn running(&self) -> ConfigTree {
        self.inner.running.lock().unwrap().clone()
    }

    /// Whether a commit-confirm waits for `confirm`.
    pub fn confirm_pending(&self) -> bool {
        self.inner.pending.lock().unwrap().is_some()
    }

    /// Holds the commit lock as another session (the CLI, a boot-time
    /// commit) would, until the guard is dropped: requests meanwhile get
    /// "commit in progress".
    pub async fn hold_commit_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.commit.lock().await
    }

    /// The keys accepted now: those of `service https api keys id * key`
    /// when the configuration has any (as on VyOS), else the bootstrap key.
    pub fn keys(&self) -> Vec<String> {
        let running = self.inner.running.lock().unwrap();
        let mut keys = Vec::new();
        if let Some(ids) = running
            .root()
            .get(&["service", "https", "api", "keys", "id"])
        {
            for (_, id) in ids.children() {
                if let Some(k) = id.child("key") {
                    keys.extend(k.children().map(|(v, _)| v.to_string()));
                }
            }
        }
        if keys.is_empty() {
            keys.push(self.inner.opts.key.clone());
        }
        keys
    }

    /// The HTTP service.
    pub fn app(&self) -> axum::Router {
        axum::Router::new()
            .route("/configure", post(configure))
            .route("/retrieve", post(retrieve))
            .route("/show", post(show))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(self.clone())
    }

    /// Serves plain HTTP on `listener` until the task is dropped (tests
    /// of the protocol alone; `vxguard-lab router` serves HTTPS).
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.app()).await
    }

    /// Serves HTTPS on `listener` with `tls` until the task is dropped.
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<()> {
        axum::serve(crate::tls::TlsListener::new(listener, tls), self.app()).await
    }

    /// Serves like [`Router::serve_tls`], but moves the API where the running
    /// configuration says, as VyOS reloads nginx after a commit: `service
    /// https listen-address` and `port` ([`api_address`]; `default` is
    /// the `--listen` address, standing in for VyOS's `*:443`). A commit
    /// that moves it is answered first (the connection in flight ends
    /// gracefully), then the old address is closed and the new one bound;
    /// a commit-confirm revert moves it back. A bind that fails (address
    /// in use) leaves the API unreachable until the next change, as nginx
    /// would fail to start.
    pub async fn serve_following(
        self,
        listener: tokio::net::TcpListener,
        default: SocketAddr,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<()> {
        let mut bound = listener.local_addr()?;
        // `--listen ...:0`: the port the system chose is the default.
        let default = if default.port() == 0 { bound } else { default };
        let mut listener = Some(listener);
        let mut changes = self.inner.changed.subscribe();
        loop {
            let want = api_address(&self.running(), default);
            if want != bound || listener.is_none() {
                listener = None;
                match tokio::net::TcpListener::bind(want).await {
                    Ok(l) => {
                        tracing::info!(address = %want, "API listening (service https)");
                        listener = Some(l);
                    }
                    Err(e) => tracing::error!(address = %want, error = %e, "cannot bind the API"),
                }
                bound = want;
            }
            let Some(l) = listener.take() else {
                let _ = changes.changed().await;
                continue;
            };
            let me = self.clone();
            let mut rx = changes.clone();
            let moved = async move {
                loop {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    if api_address(&me.running(), default) != bound {
                        return;
                    }
                }
            };
            axum::serve(crate::tls::TlsListener::new(l, tls.clone()), self.app())
                .with_graceful_shutdown(moved)
                .await?;
            changes.borrow_and_update();
        }
    }

    fn version(&self) -> ApiVersion {
        self.inner.opts.version
    }

    fn defs(&self) -> &Definitions {
        &self.inner.defs
    }

    fn reply(&self, r: Result<Value, Fail>) -> Response {
        let (status, env) = match r {
            Ok(data) => (200, Envelope::ok(data)),
            Err(Fail(status, msg)) => (status, Envelope::err(msg)),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            env.to_vyos_body(self.version()),
        )
            .into_response()
    }

    /// Decodes the body and checks the key, as VyOS's route class and
    /// `auth_required` dependency do before any model is read.
    fn admit(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        endpoint: &str,
    ) -> Result<Map<String, Value>, Fail> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let m = vyos_api::decode_request(ct, body, endpoint)?;
        match m.get("key") {
            Some(Value::String(k)) if self.keys().iter().any(|x| x == k) => Ok(m),
            _ => Err(Fail(401, texts::VALID_KEY_REQUIRED.into())),
        }
    }

    async fn do_configure(&self, body: &Map<String, Value>) -> Result<Value, Fail> {
        match wire::parse_configure(body, self.version())? {
            ParsedConfigure::Confirm { op } => {
                if op != "confirm" {
                    return Err(Fail(400, texts::not_valid_operation(&op)));
                }
                let _lock = self.inner.commit.lock().await;
                Ok(Value::String(self.confirm()))
            }
            ParsedConfigure::Commands {
                commands,
                confirm_time,
            } => {
                let Ok(_lock) = self.inner.commit.try_lock() else {
                    return Err(Fail(400, texts::COMMIT_LOCKED.into()));
                };
                let out = self.commit(&commands, confirm_time);
                if !self.inner.opts.commit_delay.is_zero() {
                    tokio::time::sleep(self.inner.opts.commit_delay).await;
                }
                out.map(Value::String)
            }
        }
    }

    /// `confirm`: stops the revert timer.
    fn confirm(&self) -> String {
        match self.inner.pending.lock().unwrap().take() {
            Some(p) => {
                p.timer.abort();
                if let Err(e) = self.inner.state.clear_revert() {
                    tracing::warn!(error = %e, "could not clear the revert file");
                }
                texts::CONFIRMED.into()
            }
            None => texts::NO_CONFIRM_PENDING.into(),
        }
    }

    /// One commit, under the commit lock: apply every command to a copy,
    /// check, realise, then swap in and save. Any failure leaves the
    /// running configuration as it was.
    fn commit(&self, commands: &[wire::RawCommand], confirm_time: u32) -> Result<String, Fail> {
        let defs = self.defs();
        let old = self.running();
        let mut work = old.clone();
        for c in commands {
            let words = c.words();
            match c.op.as_str() {
                "set" => {
                    if let Err(e) = defs.validate(&words) {
                        return Err(Fail(400, texts::set_failed(&words.join(" "), &e.reason)));
                    }
                    work.set(&words, defs);
                }
                "delete" => {
                    if !work.delete(&words) {
                        return Err(Fail(400, texts::delete_failed(&words.join(" "))));
                    }
                }
                // Comments are not part of the lab's tree; accepted as VyOS does.
                "comment" => {}
                other => return Err(Fail(400, texts::not_valid_operation(other))),
            }
        }
        let problems = vyos_defs::commit_check(&work);
        if !problems.is_empty() {
            let reasons: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(Fail(400, texts::commit_failed(&reasons)));
        }
        if work == old {
            return Ok(texts::NO_CHANGES.into());
        }
        let confirm = confirm_time > 0 && self.version().has_commit_confirm();
        if confirm && self.confirm_pending() {
            return Err(Fail(400, texts::ANOTHER_CONFIRM_PENDING.into()));
        }
        self.inner
            .realiser
            .realise(&old, &work)
            .map_err(|e| Fail(400, texts::commit_failed(&[e])))?;
        // The revert point is on disk before the new configuration is, so
        // a crash between the two still boots the old one.
        if confirm {
            if let Err(e) = self.inner.state.save_revert(&old, defs) {
                tracing::error!(error = %e, "saving the revert point failed");
                let _ = self.inner.realiser.realise(&work, &old);
                return Err(Fail(500, texts::INTERNAL_ERROR.into()));
            }
        }
        if let Err(e) = self.inner.state.save_running(&work, defs) {
            tracing::error!(error = %e, "saving the running configuration failed");
            if confirm {
                let _ = self.inner.state.clear_revert();
            }
            let _ = self.inner.realiser.realise(&work, &old);
            return Err(Fail(500, texts::INTERNAL_ERROR.into()));
        }
        let touches_api = vyos_tree::diff(&old, &work, defs).iter().any(|c| {
            c.path
                .starts_with(&["service".to_string(), "https".to_string()])
        });
        *self.inner.running.lock().unwrap() = work;
        self.inner.changed.send_modify(|n| *n += 1);
        let mut msg = String::new();
        if confirm {
            self.arm(old, confirm_time);
            msg.push_str(&texts::commit_confirm_started(confirm_time));
        }
        if touches_api {
            msg.push_str(texts::SELF_REF);
        }
        Ok(msg)
    }

    /// Starts the commit-confirm timer back to `previous`.
    fn arm(&self, previous: ConfigTree, minutes: u32) {
        let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let me = self.clone();
        let wait = self.inner.opts.minute * minutes;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            me.revert(generation).await;
        });
        *self.inner.pending.lock().unwrap() = Some(Pending {
            generation,
            previous,
            timer,
        });
    }

    /// The timer fired: restore the configuration from before the commit.
    async fn revert(&self, generation: u64) {
        let _lock = self.inner.commit.lock().await;
        let previous = {
            let mut p = self.inner.pending.lock().unwrap();
            match p.take() {
                Some(x) if x.generation == generation => x.previous,
                other => {
                    *p = other;
                    return;
                }
            }
        };
        let current = self.running();
        if let Err(e) = self.inner.realiser.realise(&current, &previous) {
            tracing::error!(error = %e, "realising the reverted configuration failed");
        }
        if let Err(e) = self.inner.state.save_running(&previous, self.defs()) {
            tracing::error!(error = %e, "saving the reverted configuration failed");
        }
        let _ = self.inner.state.clear_revert();
        *self.inner.running.lock().unwrap() = previous;
        self.inner.changed.send_modify(|n| *n += 1);
        tracing::info!("commit-confirm expired: previous configuration restored");
    }

    fn do_retrieve(&self, body: &Map<String, Value>) -> Result<Value, Fail> {
        let r = wire::parse_retrieve(body)?;
        let running = self.running();
        let defs = self.defs();
        match r.op.as_str() {
            "showConfig" => {
                if !r.path.is_empty() && !running.contains(&r.path) {
                    return Err(Fail(
                        400,
                        "Configuration under specified path is empty\n".into(),
                    ));
                }
                match r.config_format.as_deref().unwrap_or("json") {
                    "json" => Ok(vyos_api::config_json::tree_to_json(&running, &r.path, defs)),
                    "raw" => Ok(Value::String(raw_subtree(&running, &r.path, defs))),
                    "json_ast" => Err(Fail(
                        400,
                        "'json_ast' is not emulated by the lab router".into(),
                    )),
                    other => Err(Fail(400, texts::not_valid_config_format(other))),
                }
            }
            "exists" => Ok(Value::Bool(running.contains(&r.path))),
            "returnValue" => Ok(running
                .children(&r.path)
                .and_then(|v| v.first().map(|s| Value::String(s.to_string())))
                .unwrap_or(Value::Null)),
            "returnValues" => Ok(Value::Array(
                running
                    .children(&r.path)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| Value::String(s.into()))
                    .collect(),
            )),
            other => Err(Fail(400, texts::not_valid_operation(other))),
        }
    }

    /// `/show`: the op-mode commands the health collector asks (`bgp
    /// ...`, `vrrp`, `interfaces wireguard <wg> summary`, `system
    /// memory`), from the realiser's daemons when it answers, else from
    /// the configuration ([`crate::opmode`]; BGP: every configured
    /// neighbour `Unrealised`, never `Established`).
    fn do_show(&self, body: &Map<String, Value>) -> Result<Value, Fail> {
        let (op, path) = wire::parse_show(body)?;
        if op != "show" {
            return Err(Fail(400, texts::not_valid_operation(&op)));
        }
        let running = self.running();
        let invalid = || Fail(400, format!("Invalid command: show [{}]\n", path.join(" ")));
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        let known = matches!(
            words.as_slice(),
            ["bgp", ..]
                | ["bfd", "peers", ..]
                | ["vrrp"]
                | ["interfaces", "wireguard", _, "summary"]
                | ["interfaces", "counters"]
                | ["system", "memory"]
                | ["system", "uptime"]
        );
        if !known {
            return Err(invalid());
        }
        // 1.5 prints a WireGuard interface by its configured peers' names
        // (`show_summary`): from the daemon's dump when the realiser has it.
        if let (["interfaces", "wireguard", ifname, "summary"], ApiVersion::V1_5) =
            (words.as_slice(), self.version())
        {
            let dump: Vec<String> = ["interfaces", "wireguard", ifname, "dump"]
                .iter()
                .map(|w| w.to_string())
                .collect();
            if let Some(d) = self.inner.realiser.show(&dump, &running) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                return d
                    .and_then(|d| crate::opmode::wireguard_v15(&running, ifname, &d, now))
                    .map(Value::String)
                    .map_err(|e| Fail(400, e));
            }
        }
        if let Some(answer) = self.inner.realiser.show(&path, &running) {
            return answer.map(Value::String).map_err(|e| Fail(400, e));
        }
        let text = match words.as_slice() {
            ["bgp", ..] => {
                let sessions = self.inner.realiser.bgp_sessions(&running);
                let mut s = String::from("Neighbor        State\n");
                for b in sessions {
                    s.push_str(&format!("{:<15} {}\n", b.neighbor, b.state));
                }
                s
            }
            ["bfd", "peers", ..] => crate::opmode::bfd_unrealised(&running),
            ["interfaces", "counters"] => crate::opmode::counters_unrealised(&running),
            // Nothing runs for an unrealised router: no load (the host's
            // belongs to others), the host's uptime.
            ["system", "uptime"] => {
                let up = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
                crate::opmode::uptime(&up, "0.00 0.00 0.00", 1)
                    .ok_or_else(|| Fail(400, "cannot read /proc/uptime\n".into()))?
            }
            ["vrrp"] => crate::opmode::vrrp_unrealised(&running),
            ["interfaces", "wireguard", ifname, "summary"] => {
                crate::opmode::wireguard_unrealised(&running, ifname, self.version())
                    .map_err(|e| Fail(400, e))?
            }
            ["system", "memory"] => std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|m| crate::opmode::memory(&m))
                .ok_or_else(|| Fail(400, "cannot read /proc/meminfo\n".into()))?,
            _ => return Err(invalid()),
        };
        Ok(Value::String(text))
    }
}

/// Where VyOS's API listens for `running`: the first `service https
/// listen-address` and `service https port`, each defaulting to
/// `default`'s part.
pub fn api_address(running: &ConfigTree, default: SocketAddr) -> SocketAddr {
    let https = running.root().get(&["service", "https"]);
    let value = |leaf: &str| {
        https
            .and_then(|h| h.child(leaf))
            .and_then(|n| n.children().next().map(|(v, _)| v.to_string()))
    };
    let ip = value("listen-address")
        .and_then(|a| a.parse().ok())
        .unwrap_or(default.ip());
    let port = value("port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(default.port());
    SocketAddr::new(ip, port)
}

/// config.boot text of the subtree at `base`, as `showConfig` prints it
/// (the children of the node, not the node itself).
fn raw_subtree(tree: &ConfigTree, base: &[String], defs: &Definitions) -> String {
    if base.is_empty() {
        return tree.render_boot(defs);
    }
    let prefixed = Prefixed { base, inner: defs };
    let mut sub = ConfigTree::new();
    let json = vyos_api::config_json::tree_to_json(tree, base, defs);
    if let Ok(t) = vyos_api::config_json::tree_from_json(&json, &[], &prefixed) {
        sub = t;
    }
    sub.render_boot(&prefixed)
}

/// The definitions seen from a node down.
struct Prefixed<'a> {
    base: &'a [String],
    inner: &'a Definitions,
}

impl Schema for Prefixed<'_> {
    fn kind(&self, path: &[&str]) -> Option<NodeKind> {
        let full: Vec<&str> = self
            .base
            .iter()
            .map(String::as_str)
            .chain(path.iter().copied())
            .collect();
        self.inner.kind(&full)
    }
}

async fn configure(State(r): State<Router>, headers: HeaderMap, body: Bytes) -> Response {
    let out = match r.admit(&headers, &body, "/configure") {
        Ok(m) => r.do_configure(&m).await,
        Err(e) => Err(e),
    };
    r.reply(out)
}

async fn retrieve(State(r): State<Router>, headers: HeaderMap, body: Bytes) -> Response {
    let out = r
        .admit(&headers, &body, "/retrieve")
        .and_then(|m| r.do_retrieve(&m));
    r.reply(out)
}

async fn show(State(r): State<Router>, headers: HeaderMap, body: Bytes) -> Response {
    // The realiser's answers run commands (vtysh, wg, ip): off the
    // runtime's threads.
    let me = r.clone();
    let out = tokio::task::spawn_blocking(move || {
        me.admit(&headers, &body, "/show")
            .and_then(|m| me.do_show(&m))
    })
    .await
    .unwrap_or_else(|e| Err(Fail(500, format!("show failed: {e}\n"))));
    r.reply(out)
}

/// FastAPI's answers for unknown paths and methods.
async fn not_found(_uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"detail": "Not Found"})),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({"detail": "Method Not Allowed"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_follows_service_https_listen_address_and_port() {
        let default: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let t = |s: &str| ConfigTree::parse_set(s, &vyos_tree::NoSchema).unwrap();
        assert_eq!(api_address(&t(""), default), default);
        assert_eq!(
            api_address(&t("set service https port '9443'\n"), default),
            "127.0.0.1:9443".parse().unwrap()
        );
        assert_eq!(
            api_address(
                &t("set service https listen-address '127.0.0.2'\nset service https port '1'\n"),
                default
            ),
            "127.0.0.2:1".parse().unwrap()
        );
    }
}
