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
    /// VyOS definitions per version, e.g. `1.4=../vyos-1x/sagitta` (repeatable,
    /// or comma-separated in VXGUARD_VYOS_DEFS). Without them, VyOS output
    /// is not validated and jobs say so.
    #[arg(
        long = "vyos-defs",
        env = "VXGUARD_VYOS_DEFS",
        value_delimiter = ',',
        value_name = "VERSION=DIR"
    )]
    pub vyos_defs: Vec<String>,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, env = "VXGUARD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Run no worker in this process (run `vxguard worker` elsewhere).
    #[arg(long)]
    pub no_worker: bool,
    /// The portal's built browser bundle (scripts/build-portal writes
    /// `<dir>/pkg`); pages work without it, unhydrated.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "site")]
    pub site_root: std::path::PathBuf,
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Name in job events; defaults to host and process id.
    #[arg(long)]
    pub name: Option<String>,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VXGUARD_LOG")
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

async fn make_worker(a: &DbArgs, pool: sqlx::PgPool, name: Option<String>) -> Result<Worker> {
    let defs = crate::compile_cmd::load_defs(&a.vyos_defs)?;
    if defs.is_empty() {
        tracing::warn!("no --vyos-defs given: VyOS output will not be validated");
    }
    Ok(Worker {
        db: pool,
        name: worker_name(name),
        defs: Arc::new(defs),
    })
}

pub async fn serve(a: ServeArgs) -> Result<()> {
    init_tracing();
    let pool = db::connect(&a.db.database_url, 16).await?;
    let secret = db::jwt_secret(&pool).await?;
    let st = AppState::new(pool.clone(), &secret);
    crate::job_feed::spawn(pool.clone(), st.job_changes.clone());
    if !a.no_worker {
        let w = make_worker(&a.db, pool.clone(), None).await?;
        tokio::spawn(async move {
            if let Err(e) = w.run().await {
                tracing::error!(error = format!("{e:#}"), "worker stopped");
            }
        });
    }
    let app = crate::portal::app(st, a.site_root.clone())
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("listening on {}", a.listen))?;
    if !a.site_root.join("pkg/app_bg.wasm").exists() {
        tracing::warn!(site = %a.site_root.display(), "no portal bundle (run scripts/build-portal): pages are served without hydration");
    }
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
    init_tracing();
    let pool = db::connect(&a.db.database_url, 4).await?;
    let w = make_worker(&a.db, pool, a.name).await?;
    tracing::info!(worker = %w.name, "worker started");
    w.run().await
}
