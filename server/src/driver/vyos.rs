//! The VyOS driver: brings one router to one stored revision over the
//! VyOS HTTP API, and records what happened in `device_applies`.
//!
//! 1. One apply per router across all workers: a transaction-scoped
//!    PostgreSQL advisory lock on the router's name (released by commit or
//!    by the connection ending, so a crashed driver never leaves it held).
//! 2. Read the running configuration (`/retrieve` `showConfig`, JSON) into a
//!    `ConfigTree`; diff it against the revision's `set` text; send the
//!    difference as one `/configure` batch (one commit). "Commit in
//!    progress" is retried with exponential backoff; any other refusal ends
//!    the apply with the router's own error text.
//! 3. Health check ([`HealthCheck`]). 1.5 with `confirm_minutes > 0`: the
//!    batch carries `confirm_time`; a passing check sends
//!    `{"op":"confirm"}`, a failing one sends nothing and the router
//!    reverts by itself. 1.4 (no commit-confirm; it would silently ignore
//!    `confirm_time`, so none is sent): a failing check sends the inverse
//!    batch, which restores the previous configuration exactly.
//!
//! What is proven against the lab router only (see `vxguard-lab`): paths,
//! bodies, status codes and texts come from vyos-1x's sources, but no real
//! VyOS has answered this driver yet; its HTTPS (rustls, a pinned
//! certificate) is proven against the lab router's rustls, not nginx.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;
use vyos_api::config_json::tree_from_json;
use vyos_api::{texts, Answer, Client, ClientError, ConfigFormat, Configure, Retrieve, RetrieveOp};
use vyos_defs::Definitions;
use vyos_tree::{Command, ConfigTree};

use super::plan;

/// The advisory lock class of router applies (the key is the router's name hashed).
const APPLY_LOCK_CLASS: i32 = vxguard_store::locks::APPLY_VYOS;

/// How an apply behaves; defaults suit a real router.
#[derive(Clone, Debug)]
pub struct Policy {
    /// 1.5: `confirm_time` of the batch (minutes); 0 = no commit-confirm.
    pub confirm_minutes: u32,
    /// Retries of a request refused with "commit in progress".
    pub lock_retries: u32,
    /// First wait before such a retry; doubles each time, up to 8x.
    pub backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            confirm_minutes: 2,
            lock_retries: 8,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Decides whether a router is healthy after a commit.
pub trait HealthCheck: Send + Sync {
    fn check<'a>(
        &'a self,
        client: &'a Client,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// The standard check: the API still answers an authenticated request
/// (the change did not cut the driver off). The BGP part is a hook that
/// passes until the lab realises FRR: `/show bgp` reports sessions from the
/// lab's realiser, which are `Unrealised` this round, so checking
/// "Established" now would fail every apply.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiReachable;

impl HealthCheck for ApiReachable {
    fn check<'a>(
        &'a self,
        client: &'a Client,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let r = Retrieve {
                op: RetrieveOp::Exists,
                path: vec!["system".into()],
                config_format: None,
            };
            match client.retrieve(&r).await {
                Ok(a) if a.ok() => Ok(()),
                Ok(a) => Err(format!(
                    "API answered {}: {}",
                    a.status,
                    a.error().unwrap_or("")
                )),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// How an apply ended (the `outcome` column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed (and confirmed, on 1.5 with commit-confirm).
    Applied,
    /// The router already ran the revision.
    Unchanged,
    /// Nothing was committed, or what was is unknown: the error says.
    Failed { error: String },
    /// 1.5: committed with commit-confirm, health check failed, not
    /// confirmed: the router reverts by itself when the timer ends.
    Reverted { reason: String },
    /// 1.4: committed, health check failed, inverse batch committed.
    RolledBack { reason: String },
    /// 1.4: as above but the inverse batch was refused too.
    RollbackFailed { reason: String, error: String },
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed { .. } => "failed",
            Outcome::Reverted { .. } => "reverted",
            Outcome::RolledBack { .. } => "rolled_back",
            Outcome::RollbackFailed { .. } => "rollback_failed",
        }
    }
    pub fn error(&self) -> Option<String> {
        match self {
            Outcome::Applied | Outcome::Unchanged => None,
            Outcome::Failed { error } => Some(error.clone()),
            Outcome::Reverted { reason } | Outcome::RolledBack { reason } => Some(reason.clone()),
            Outcome::RollbackFailed { reason, error } => {
                Some(format!("{reason}; rollback refused: {error}"))
            }
        }
    }
}

/// What one apply did.
#[derive(Clone, Debug)]
pub struct Report {
    /// `device_applies.id`
    pub id: i64,
    pub outcome: Outcome,
    /// The batch, as CLI lines (secrets included: do not log; the table
    /// keeps a redacted copy).
    pub commands: Vec<String>,
    /// `/configure` requests sent, retries included.
    pub attempts: u32,
    /// Each `/configure` answer: `{"status": .., "success": .., "data": .., "error": ..}`.
    pub answers: Vec<Value>,
}

/// Why an apply could not run at all (nothing recorded as its outcome
/// beyond what the error says).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store: {0}")]
    Store(#[from] vxguard_store::error::StoreError),
    #[error("revision {0} of router {1:?} not found")]
    NoRevision(i64, String),
    #[error("revision {id} is not valid configuration: {source}")]
    BadRevision {
        id: i64,
        source: vyos_tree::ParseError,
    },
}

/// The router to apply to.
pub struct Target<'a> {
    pub name: &'a str,
    pub client: &'a Client,
    /// The definitions of the router's VyOS release.
    pub defs: &'a Definitions,
}

/// Brings `target` to revision `revision_id` (a row of `revisions` for
/// this router) and records the attempt.
pub async fn apply(
    db: &PgPool,
    target: &Target<'_>,
    revision_id: i64,
    policy: &Policy,
    health: &dyn HealthCheck,
) -> Result<Report, DriverError> {
    let config: String = {
        let mut conn = db.acquire().await?;
        vxguard_store::revisions::config_by_id(&mut conn, revision_id, "router", target.name)
            .await?
            .map(|(_, c)| c)
            .ok_or_else(|| DriverError::NoRevision(revision_id, target.name.into()))?
    };
    let desired =
        ConfigTree::parse_set(&config, target.defs).map_err(|source| DriverError::BadRevision {
            id: revision_id,
            source,
        })?;

    let mut lock = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(APPLY_LOCK_CLASS)
        .bind(target.name)
        .execute(&mut *lock)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO device_applies (device_kind, device, revision_id) VALUES ('router', $1, $2) RETURNING id",
    )
    .bind(target.name)
    .bind(revision_id)
    .fetch_one(db)
    .await?;

    let mut run = Run {
        target,
        policy,
        attempts: 0,
        answers: Vec::new(),
    };
    let (outcome, commands) = run.go(&desired, health).await;
    let redacted = crate::redact::redact(&commands.join("\n"));
    sqlx::query(
        "UPDATE device_applies SET finished_at = now(), outcome = $2, commands = $3, attempts = $4, answers = $5, error = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(outcome.as_str())
    .bind(&redacted)
    .bind(run.attempts as i32)
    .bind(Value::Array(run.answers.clone()))
    .bind(outcome.error())
    .execute(db)
    .await?;
    lock.commit().await?;
    tracing::info!(
        router = target.name,
        revision = revision_id,
        outcome = outcome.as_str(),
        "apply finished"
    );
    Ok(Report {
        id,
        outcome,
        commands,
        attempts: run.attempts,
        answers: run.answers,
    })
}

/// The state of one apply in progress.
struct Run<'a, 'b> {
    target: &'a Target<'b>,
    policy: &'a Policy,
    attempts: u32,
    answers: Vec<Value>,
}

fn client_failure(e: ClientError) -> Outcome {
    Outcome::Failed {
        error: e.to_string(),
    }
}

fn refused(a: &Answer) -> String {
    format!(
        "router answered {}: {}",
        a.status,
        a.error().unwrap_or("(no error text)")
    )
}

impl Run<'_, '_> {
    async fn go(
        &mut self,
        desired: &ConfigTree,
        health: &dyn HealthCheck,
    ) -> (Outcome, Vec<String>) {
        let defs = self.target.defs;
        let running = match self.read_running().await {
            Ok(t) => t,
            Err(o) => return (o, Vec::new()),
        };
        let cmds = plan::plan(&running, desired, defs);
        let lines: Vec<String> = cmds.iter().map(|c| c.to_cli(defs)).collect();
        if cmds.is_empty() {
            return (Outcome::Unchanged, lines);
        }
        let version = self.target.client.version;
        let confirm_time = if version.has_commit_confirm() {
            self.policy.confirm_minutes
        } else {
            0
        };
        match self.send(&cmds, confirm_time).await {
            Ok(_) => {}
            Err(o) => return (o, lines),
        }
        let check = health.check(self.target.client).await;
        let outcome = match (check, confirm_time > 0) {
            (Ok(()), false) => Outcome::Applied,
            (Ok(()), true) => match self.configure(&Configure::Confirm).await {
                Ok(a) if a.ok() => Outcome::Applied,
                Ok(a) => Outcome::Failed {
                    error: format!("confirm refused, the router will revert: {}", refused(&a)),
                },
                Err(e) => Outcome::Failed {
                    error: format!("confirm not delivered, the router will revert: {e}"),
                },
            },
            (Err(why), true) => Outcome::Reverted {
                reason: format!(
                    "health check failed ({why}); not confirmed: the router reverts within {} min",
                    confirm_time
                ),
            },
            (Err(why), false) => {
                let back = plan::inverse(&running, &cmds, defs);
                let reason = format!("health check failed ({why})");
                match self.send(&back, 0).await {
                    Ok(_) => Outcome::RolledBack { reason },
                    Err(o) => Outcome::RollbackFailed {
                        reason,
                        error: o.error().unwrap_or_default(),
                    },
                }
            }
        };
        (outcome, lines)
    }

    async fn read_running(&self) -> Result<ConfigTree, Outcome> {
        let r = Retrieve {
            op: RetrieveOp::ShowConfig,
            path: vec![],
            config_format: Some(ConfigFormat::Json),
        };
        let a = self
            .target
            .client
            .retrieve(&r)
            .await
            .map_err(client_failure)?;
        if !a.ok() {
            return Err(Outcome::Failed {
                error: format!("reading the running configuration: {}", refused(&a)),
            });
        }
        tree_from_json(&a.envelope.data, &[], self.target.defs).map_err(|e| Outcome::Failed {
            error: format!("the running configuration is not VyOS JSON: {e}"),
        })
    }

    /// One `/configure` request, retried while the router says another
    /// commit is in progress; every answer is kept.
    async fn configure(&mut self, c: &Configure) -> Result<Answer, ClientError> {
        let start = Instant::now();
        let mut wait = self.policy.backoff;
        let mut retries = 0;
        loop {
            self.attempts += 1;
            let a = self.target.client.configure(c).await?;
            self.answers.push(json!({
                "status": a.status,
                "success": a.envelope.success,
                "data": a.envelope.data,
                "error": a.envelope.error,
            }));
            let locked = a.status == 400 && a.error().is_some_and(texts::is_commit_locked);
            if !locked || retries >= self.policy.lock_retries {
                return Ok(a);
            }
            retries += 1;
            tracing::info!(
                router = self.target.name,
                retry = retries,
                after_ms = start.elapsed().as_millis() as u64,
                "commit in progress on the router; retrying"
            );
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(self.policy.backoff * 8);
        }
    }

    /// Sends `cmds` as one batch; `Err` is the outcome of a refusal.
    async fn send(&mut self, cmds: &[Command], confirm_time: u32) -> Result<Answer, Outcome> {
        let batch = Configure::Batch {
            commands: plan::to_api(cmds, self.target.defs),
            confirm_time,
        };
        let a = self.configure(&batch).await.map_err(client_failure)?;
        if a.ok() {
            Ok(a)
        } else {
            Err(Outcome::Failed { error: refused(&a) })
        }
    }
}
