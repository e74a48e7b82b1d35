//! `vxguard monitoring`: print what Prometheus and Alertmanager need
//! (`vxguard-monitoring` writes it; issue 18, items 3 and 4). Every
//! receiver and secret is a flag or an environment variable; secrets by
//! file only. The scrape configuration lists the VyOS 1.5 routers'
//! exporters from the database (`--database`) or an intent file
//! (`--intent`, with its lock file's addresses).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::{Intent, VyosVersion};
use vxguard_monitoring::{Receivers, RouterTarget, Scrape, Thresholds};

#[derive(clap::Subcommand)]
pub enum MonitoringCmd {
    /// The Prometheus alert rules (`rule_files:`).
    Rules(RulesArgs),
    /// The Alertmanager configuration: critical alerts to email and
    /// PagerDuty, warnings to email and Slack.
    Alertmanager(AlertmanagerArgs),
    /// A `prometheus.yml` scraping vxguard's `/metrics`, with the rules.
    ScrapeConfig(ScrapeArgs),
}

#[derive(clap::Args)]
pub struct RulesArgs {
    /// Alert when a router's API key is older than this many seconds (its
    /// rotation interval plus grace).
    #[arg(long, env = "VXGUARD_ALERT_API_KEY_MAX_AGE_SECS", default_value_t = 9 * 86_400)]
    pub api_key_max_age_secs: u64,
    /// Alert when a job has waited this many seconds for a worker.
    #[arg(long, env = "VXGUARD_ALERT_JOB_WAIT_SECS", default_value_t = 300)]
    pub job_wait_secs: u64,
    /// Alert when this share of requests is answered 5xx (0-1).
    #[arg(long, env = "VXGUARD_ALERT_HTTP_ERROR_RATIO", default_value_t = 0.05, value_parser = ratio)]
    pub http_error_ratio: f64,
    /// Alert when a mesh peer that should be up has not shaken hands for
    /// this many seconds.
    #[arg(long, env = "VXGUARD_ALERT_HANDSHAKE_MAX_SECS", default_value_t = 180)]
    pub handshake_max_secs: u64,
    /// A router's memory used: warning above this share (0-1).
    #[arg(long, env = "VXGUARD_ALERT_MEMORY_WARNING", default_value_t = 0.8, value_parser = ratio)]
    pub memory_warning: f64,
    /// A router's memory used: critical above this share (0-1).
    #[arg(long, env = "VXGUARD_ALERT_MEMORY_CRITICAL", default_value_t = 0.9, value_parser = ratio)]
    pub memory_critical: f64,
    /// An interface's utilisation over 5 minutes: warning above this share
    /// of its speed (VyOS 1.5's node-exporter).
    #[arg(long, env = "VXGUARD_ALERT_INTERFACE_WARNING", default_value_t = 0.7, value_parser = ratio)]
    pub interface_warning: f64,
    /// An interface's utilisation: critical above this share.
    #[arg(long, env = "VXGUARD_ALERT_INTERFACE_CRITICAL", default_value_t = 0.85, value_parser = ratio)]
    pub interface_critical: f64,
    /// Alert when the health collector has not finished a round for this
    /// many seconds.
    #[arg(long, env = "VXGUARD_ALERT_HEALTH_STALE_SECS", default_value_t = 300)]
    pub health_stale_secs: u64,
}

fn ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{s:?}: expected a share above 0 and at most 1")),
    }
}

#[derive(clap::Args)]
pub struct AlertmanagerArgs {
    /// Addresses that get every alert by email (repeatable).
    #[arg(long, env = "VXGUARD_ALERT_EMAIL_TO", value_delimiter = ',')]
    pub email_to: Vec<String>,
    /// The mail relay, HOST:PORT.
    #[arg(long, env = "VXGUARD_ALERT_SMTP_SMARTHOST")]
    pub smtp_smarthost: Option<String>,
    #[arg(long, env = "VXGUARD_ALERT_SMTP_FROM")]
    pub smtp_from: Option<String>,
    #[arg(long, env = "VXGUARD_ALERT_SMTP_AUTH_USERNAME")]
    pub smtp_auth_username: Option<String>,
    /// A file holding the SMTP password.
    #[arg(long, env = "VXGUARD_ALERT_SMTP_AUTH_PASSWORD_FILE")]
    pub smtp_auth_password_file: Option<String>,
    /// A file holding the PagerDuty Events API v2 routing key.
    #[arg(long, env = "VXGUARD_ALERT_PAGERDUTY_ROUTING_KEY_FILE")]
    pub pagerduty_routing_key_file: Option<String>,
    /// A file holding the Slack incoming-webhook URL.
    #[arg(long, env = "VXGUARD_ALERT_SLACK_API_URL_FILE")]
    pub slack_api_url_file: Option<String>,
    #[arg(long, env = "VXGUARD_ALERT_SLACK_CHANNEL")]
    pub slack_channel: Option<String>,
}

#[derive(clap::Args)]
pub struct ScrapeArgs {
    /// HOST:PORT of each vxguard serving /metrics (repeatable).
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    #[arg(long, default_value = "http", value_parser = ["http", "https"])]
    pub scheme: String,
    /// A file holding VXGUARD_METRICS_TOKEN.
    #[arg(long)]
    pub bearer_token_file: Option<String>,
    #[arg(long, default_value = "15s")]
    pub interval: String,
    /// The rule file Prometheus loads (from `vxguard monitoring rules`).
    #[arg(long)]
    pub rules_file: Vec<String>,
    /// List the VyOS 1.5 routers' exporters (node-exporter, frr-exporter,
    /// on their mesh addresses) from this intent file and the
    /// `NAME.lock.json` beside it.
    #[arg(long, conflicts_with = "database")]
    pub intent: Option<PathBuf>,
    /// List the VyOS 1.5 routers' exporters from the database.
    #[arg(long)]
    pub database: bool,
    #[arg(long, env = "DATABASE_URL", default_value = crate::db::DEFAULT_URL)]
    pub database_url: String,
}

/// Each VyOS 1.5 router with its mesh address (the exporters' listen
/// address, `compiler::vyos`); routers not allocated yet are left out.
pub fn exporter_targets(intent: &Intent, alloc: &Allocation) -> Vec<RouterTarget> {
    intent
        .platform
        .routers
        .iter()
        .filter(|r| r.version == VyosVersion::V1_5)
        .filter_map(|r| {
            let a = alloc.routers.get(r.name.as_str())?;
            Some(RouterTarget {
                name: r.name.to_string(),
                site: r.site.to_string(),
                address: a.mesh_address.to_string(),
            })
        })
        .collect()
}

/// The routers of an intent file, allocated as `vxguard compile` would
/// (its lock file's addresses kept).
fn targets_from_file(path: &Path) -> Result<Vec<RouterTarget>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (intent, _) = vxguard_compiler::intent::yaml::parse_intent(&text).map_err(|errs| {
        let (pos, d) = &errs[0];
        anyhow::anyhow!(
            "{}:{}:{}: {}",
            path.display(),
            pos.line,
            pos.column,
            d.message
        )
    })?;
    let (lock, _) = crate::compile_cmd::side_files(path);
    let prev: Allocation = match std::fs::read_to_string(&lock) {
        Ok(t) => serde_json::from_str(&t)
            .with_context(|| format!("{}: not a vxguard lock file", lock.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Allocation::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", lock.display())),
    };
    let mut diags = vxguard_compiler::diag::Diagnostics::default();
    let alloc = vxguard_compiler::alloc::allocate(&intent, &prev, &mut diags);
    Ok(exporter_targets(&intent, &alloc))
}

async fn targets_from_database(url: &str) -> Result<Vec<RouterTarget>> {
    let db = crate::db::connect(url, 2).await?;
    let (loaded, alloc) = vxguard_store::health::intent_and_allocation(&db).await?;
    Ok(exporter_targets(&loaded.intent, &alloc))
}

pub fn run(cmd: MonitoringCmd) -> Result<bool> {
    match cmd {
        MonitoringCmd::Rules(a) => {
            print!(
                "{}",
                vxguard_monitoring::rules(&Thresholds {
                    api_key_max_age_secs: a.api_key_max_age_secs,
                    job_wait_secs: a.job_wait_secs,
                    http_error_ratio: a.http_error_ratio,
                    handshake_max_secs: a.handshake_max_secs,
                    memory_warning: a.memory_warning,
                    memory_critical: a.memory_critical,
                    interface_warning: a.interface_warning,
                    interface_critical: a.interface_critical,
                    health_stale_secs: a.health_stale_secs,
                })
            );
        }
        MonitoringCmd::Alertmanager(a) => {
            let r = Receivers {
                email_to: a.email_to,
                smtp_smarthost: a.smtp_smarthost,
                smtp_from: a.smtp_from,
                smtp_auth_username: a.smtp_auth_username,
                smtp_auth_password_file: a.smtp_auth_password_file,
                pagerduty_routing_key_file: a.pagerduty_routing_key_file,
                slack_api_url_file: a.slack_api_url_file,
                slack_channel: a.slack_channel,
            };
            print!("{}", vxguard_monitoring::alertmanager(&r)?);
        }
        MonitoringCmd::ScrapeConfig(a) => {
            let routers = if let Some(f) = &a.intent {
                targets_from_file(f)?
            } else if a.database {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(targets_from_database(&a.database_url))?
            } else {
                Vec::new()
            };
            let s = Scrape {
                targets: a.targets,
                scheme: a.scheme,
                bearer_token_file: a.bearer_token_file,
                interval: a.interval,
                routers,
            };
            print!("{}", vxguard_monitoring::scrape_config(&s, &a.rules_file));
        }
    }
    Ok(true)
}
