//! `vxguard serve` and `vxguard worker`: configuration from flags and the
//! environment, then the API (with an in-process worker by default) or
//! workers alone.

use crate::{db, state::AppState, worker::Worker};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(clap::Args, Clone)]
pub struct DbArgs {
    /// PostgreSQL URL; the database is created when missing.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    /// A vyos-1x tree to judge one VyOS release with instead of its
    /// built-in definitions, e.g. `1.4=../vyos-1x/sagitta` (repeatable, or
    /// comma-separated in VXGUARD_VYOS_DEFS).
    #[arg(
        long = "vyos-defs",
        env = "VXGUARD_VYOS_DEFS",
        value_delimiter = ',',
        value_name = "VERSION=DIR"
    )]
    pub vyos_defs: Vec<String>,
    /// Seconds a worker's claim on a job lasts before another worker may
    /// take the job over (it renews the claim every third of that).
    #[arg(long, env = "VXGUARD_JOB_LEASE_SECS", default_value_t = 30.0, value_parser = positive_secs)]
    pub job_lease_secs: f64,
    /// What is logged (to standard error), in tracing's filter syntax:
    /// a level, or `target=level` pairs such as `info,sqlx=warn`.
    #[arg(long, env = "VXGUARD_LOG", default_value = "info,sqlx=warn", value_parser = log_filter)]
    pub log: String,
    #[command(flatten)]
    pub master_key: crate::master_key::MasterKeyArgs,
}

/// A number of seconds above 0.
fn positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("expected a number of seconds above 0".into()),
    }
}

/// A number of seconds, 0 or more.
fn secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("expected a number of seconds, 0 or more".into()),
    }
}

fn log_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| s.to_string())
        .map_err(|e| format!("not a log filter ({e}); e.g. `info` or `info,sqlx=warn`"))
}

/// Applying revisions to devices (off by default: without devices to reach,
/// jobs would only fail).
#[derive(clap::Args, Clone, Debug)]
pub struct ApplyFlags {
    /// Apply each job's revisions to the devices before the job is done:
    /// routers over the VyOS HTTP API (HTTPS; plain http:// to loopback
    /// only), hypervisors over OpenFlow (`ovs-ofctl`).
    #[arg(long, env = "VXGUARD_APPLY", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub apply: bool,
    /// Routers applied at once after the first (the canary).
    #[arg(long, env = "VXGUARD_APPLY_BATCH", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub apply_batch: u16,
    /// 1.5 routers: commit-confirm minutes (0 = plain commit).
    #[arg(long, env = "VXGUARD_CONFIRM_MINUTES", default_value_t = 2)]
    pub confirm_minutes: u32,
    /// Seconds after a commit before BGP sessions are first looked at
    /// (when some were up before it): BFD or the hold timer must have had
    /// time to notice a broken one.
    #[arg(long, env = "VXGUARD_HEALTH_SETTLE_SECS", default_value_t = 3.0, value_parser = secs)]
    pub health_settle_secs: f64,
    /// Seconds BGP sessions up before an apply may take to come back.
    #[arg(long, env = "VXGUARD_HEALTH_WAIT_SECS", default_value_t = 30.0, value_parser = secs)]
    pub health_wait_secs: f64,
    /// With --apply: also apply hypervisors' flows (false where another
    /// agent loads them; they then stay `pending`).
    #[arg(long, env = "VXGUARD_APPLY_HYPERVISORS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = true, action = clap::ArgAction::Set)]
    pub apply_hypervisors: bool,
    /// With --apply: check applied routers for drift every N seconds (0 = off).
    #[arg(long, env = "VXGUARD_DRIFT_SECS", default_value_t = 60)]
    pub drift_secs: u64,
    /// With --apply: rotate each router's HTTP API key once it is this
    /// many seconds old (default 7 days; 0 = only on demand, `vxguard keys
    /// rotate-api-key`), one router per site and a tenth of the routers
    /// at most at a time.
    #[arg(long, env = "VXGUARD_API_KEY_ROTATION_SECS", default_value_t = 7 * 86_400)]
    pub api_key_rotation_secs: u64,
    /// Collect every router's state and compare it with the intent every
    /// N seconds (0 = off): `GET /api/v1/health` and the tenants' health.
    /// Read-only, so it runs without --apply too.
    #[arg(long, env = "VXGUARD_HEALTH_INTERVAL_SECS", default_value_t = 30)]
    pub health_interval_secs: u64,
}

impl ApplyFlags {
    /// The worker's apply settings, `None` without `--apply`.
    pub fn settings(&self) -> Result<Option<Arc<crate::driver::reconcile::Settings>>> {
        if !self.apply {
            return Ok(None);
        }
        Ok(Some(Arc::new(crate::driver::reconcile::Settings {
            batch: self.apply_batch as usize,
            policy: crate::driver::vyos::Policy {
                confirm_minutes: self.confirm_minutes,
                ..Default::default()
            },
            health_settle: std::time::Duration::from_secs_f64(self.health_settle_secs),
            health_wait: std::time::Duration::from_secs_f64(self.health_wait_secs),
            health_poll: std::time::Duration::from_secs(1),
            hypervisors: self.apply_hypervisors,
            drift_every: (self.drift_secs > 0)
                .then(|| std::time::Duration::from_secs(self.drift_secs)),
            api_key_every: (self.api_key_rotation_secs > 0)
                .then(|| std::time::Duration::from_secs(self.api_key_rotation_secs)),
        })))
    }
}

impl ApplyFlags {
    /// The health collector's settings, `None` when it is off. API keys
    /// are judged too old past their rotation interval plus two days'
    /// grace (`vxguard monitoring rules`' default).
    pub fn health(&self) -> Option<crate::health::Settings> {
        if self.health_interval_secs == 0 {
            return None;
        }
        let mut s = crate::health::Settings::every(std::time::Duration::from_secs(
            self.health_interval_secs,
        ));
        s.rules.api_key_max_age_secs = (self.api_key_rotation_secs > 0)
            .then(|| self.api_key_rotation_secs as i64 + 2 * 86_400);
        Some(s)
    }
}

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub apply: ApplyFlags,
    /// Address and port the API and the portal listen on.
    #[arg(long, env = "VXGUARD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Sign-in attempts allowed per client address per minute.
    #[arg(long, env = "VXGUARD_LOGIN_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_per_minute: u32,
    /// Mark session cookies `Secure` even when requests arrive over plain
    /// http (behind a TLS-terminating proxy that sends no
    /// `X-Forwarded-Proto`).
    #[arg(long, env = "VXGUARD_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub secure_cookies: bool,
    /// Run no worker in this process (run `vxguard worker` elsewhere).
    #[arg(long)]
    pub no_worker: bool,
    /// PostgreSQL connections the API and the portal hold at most (the
    /// in-process worker and health collector have their own).
    #[arg(long, env = "VXGUARD_DB_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..))]
    pub db_connections: u32,
    /// Where to read the portal's browser bundle (`<dir>/pkg`, as
    /// scripts/build-portal writes it) and the guides (`<dir>/docs`, from
    /// scripts/build-docs) when the binary has none built in (debug builds
    /// made before them); the built-in ones win. Pages work without a
    /// bundle, unhydrated; without guides `/docs` says how to build them.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "site")]
    pub site_root: std::path::PathBuf,
    /// Serve `/metrics` on this address alone (not on the API's).
    #[arg(long, env = "VXGUARD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token `/metrics` requires (`Authorization: Bearer ...`).
    #[arg(long, env = "VXGUARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub apply: ApplyFlags,
    /// Name in job events; defaults to host and process id.
    #[arg(long)]
    pub name: Option<String>,
}

/// Logs to standard error with `filter` (checked by clap already).
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn worker_name(given: Option<String>) -> String {
    given.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    })
}

/// Loads and installs the process's VyOS definitions (the write path and
/// the worker judge with the same ones).
fn load_definitions(a: &DbArgs) -> Result<crate::definitions::Defs> {
    let defs = crate::definitions::load(&a.vyos_defs).context("--vyos-defs / VXGUARD_VYOS_DEFS")?;
    Ok(crate::definitions::install(Arc::new(defs)))
}

fn make_worker(
    defs: crate::definitions::Defs,
    apply: Option<Arc<crate::driver::reconcile::Settings>>,
    pool: sqlx::PgPool,
    name: Option<String>,
) -> Worker {
    if apply.is_some() {
        tracing::info!("--apply: jobs are done once their revisions are on the routers");
    }
    Worker::new(pool, worker_name(name), defs, apply)
}

pub async fn serve(a: ServeArgs) -> Result<()> {
    init_tracing(&a.db.log);
    // Everything configured is checked before anything starts.
    crate::jobs::set_lease_secs(a.db.job_lease_secs);
    crate::portal::session::set_secure_cookies(a.secure_cookies);
    let env_secret = db::jwt_secret_from_env()?;
    let defs = load_definitions(&a.db)?;
    let apply = a.apply.settings()?;
    let pool = db::connect(&a.db.database_url, a.db_connections).await?;
    crate::master_key::open(&pool, &a.db.master_key, crate::master_key::Start::Service).await?;
    let secret = match env_secret {
        Some(s) => s,
        None => db::jwt_secret(&pool).await?,
    };
    let st = AppState::new(pool.clone(), &secret, a.login_per_minute);
    crate::job_feed::spawn(pool.clone(), st.job_changes.clone());
    if !a.no_worker {
        let url = a.db.database_url.clone();
        if let Some(h) = a.apply.health() {
            crate::health::spawn_background(url.clone(), 4, h)?;
        }
        crate::worker::spawn_background(url, 8, move |pool| make_worker(defs, apply, pool, None))?;
    }
    let bundle = crate::portal::bundle::Bundle::load(&a.site_root);
    if let crate::portal::bundle::Source::None(_) = bundle.source() {
        tracing::warn!("portal bundle: {}", bundle.describe());
    } else {
        tracing::info!("portal bundle: {}", bundle.describe());
    }
    let docs = crate::portal::docs::Docs::load(&a.site_root);
    if let crate::portal::docs::Source::None(_) = docs.source() {
        tracing::warn!("guides: {}", docs.describe());
    } else {
        tracing::info!("guides: {}", docs.describe());
    }
    let metrics = crate::metrics::Metrics::new(a.metrics_token.clone());
    let mut app = metrics.instrument(crate::portal::app_with(st, bundle, docs));
    match a.metrics_listen {
        None => app = app.merge(metrics.routes(pool.clone())),
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (VXGUARD_METRICS_LISTEN)"))?;
            tracing::info!(address = %addr, "metrics listening at /metrics");
            let routes = metrics.routes(pool.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(l, routes).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
    }
    let app = app.layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("listening on {}", a.listen))?;
    tracing::info!(address = %a.listen, "vxguard API and portal listening; docs at /api/docs");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

pub async fn worker(a: WorkerArgs) -> Result<()> {
    init_tracing(&a.db.log);
    crate::jobs::set_lease_secs(a.db.job_lease_secs);
    let defs = load_definitions(&a.db)?;
    let apply = a.apply.settings()?;
    let pool = db::connect(&a.db.database_url, 8).await?;
    crate::master_key::open(&pool, &a.db.master_key, crate::master_key::Start::Service).await?;
    if let Some(h) = a.apply.health() {
        crate::health::spawn(pool.clone(), h);
    }
    let w = make_worker(defs, apply, pool, a.name);
    tracing::info!(worker = %w.name, "worker started");
    w.run().await
}
