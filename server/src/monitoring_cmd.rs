//! `vxguard monitoring`: print what Prometheus and Alertmanager need
//! (`vxguard-monitoring` writes it; issue 18, item 4). Every receiver and
//! secret is a flag or an environment variable; secrets by file only.

use anyhow::Result;
use vxguard_monitoring::{Receivers, Scrape, Thresholds};

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
            let s = Scrape {
                targets: a.targets,
                scheme: a.scheme,
                bearer_token_file: a.bearer_token_file,
                interval: a.interval,
            };
            print!("{}", vxguard_monitoring::scrape_config(&s, &a.rules_file));
        }
    }
    Ok(true)
}
