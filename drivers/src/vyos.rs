//! The VyOS driver: brings one router to a revision's `set` text over the
//! VyOS HTTP API. (Recording the attempt and the per-router lock are the
//! server's `rollout::record`, not this module's.)
//!
//! 1. Read the running configuration (`/retrieve` `showConfig`, JSON) into a
//!    `ConfigTree`; diff it against the revision's `set` text; send the
//!    difference as one `/configure` batch (one commit). "Commit in
//!    progress" is retried with exponential backoff; any other refusal ends
//!    the apply with the router's own error text.
//! 2. Health check ([`HealthCheck`]). 1.5 with `confirm_minutes > 0`: the
//!    batch carries `confirm_time`; a passing check sends
//!    `{"op":"confirm"}`, a failing one sends nothing and the router
//!    reverts by itself. 1.4 (no commit-confirm; it would silently ignore
//!    `confirm_time`, so none is sent): a failing check sends the inverse
//!    batch, which restores the previous configuration exactly.
//!
//! Secrets (issue 17, item 8): revisions name keys by placeholder
//! (`vxguard_compiler::sealed`). The running configuration is sealed the
//! moment it is read (its real keys kept in memory for this apply), so
//! the plan, the lines returned and the drift compare placeholders; the
//! real value is put back into each command right before the batch is
//! sent, from the device's keys the caller opened from the sealed store.
//!
//! What is proven against the lab router only (see `vxguard-lab`): paths,
//! bodies, status codes and texts come from vyos-1x's sources, but no real
//! VyOS has answered this driver yet; its HTTPS (rustls, a pinned
//! certificate) is proven against the lab router's rustls, not nginx.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vxguard_compiler::sealed::{self, Vault};
use vyos_api::config_json::tree_from_json;
use vyos_api::{texts, Answer, Client, ClientError, ConfigFormat, Configure, Retrieve, RetrieveOp};
use vyos_defs::Definitions;
use vyos_tree::{Command, ConfigTree};

use crate::plan;
use crate::{Applied, Driver, DriverError, Outcome};

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

/// The router to apply to.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub name: &'a str,
    pub client: &'a Client,
    /// The definitions of the router's VyOS release.
    pub defs: &'a Definitions,
}

/// The VyOS [`Driver`]: a router, how to apply to it and the check that
/// decides whether a commit is kept.
pub struct VyosDriver<'a> {
    pub target: Target<'a>,
    pub policy: &'a Policy,
    pub health: &'a dyn HealthCheck,
    /// The router's keys by placeholder (from the sealed store), filled
    /// into what is sent.
    pub keys: &'a Vault,
}

impl Driver for VyosDriver<'_> {
    type Desired = ConfigTree;

    fn kind(&self) -> &'static str {
        "router"
    }

    fn name(&self) -> &str {
        self.target.name
    }

    fn parse(&self, revision: &str) -> Result<ConfigTree, DriverError> {
        ConfigTree::parse_set(revision, self.target.defs)
            .map_err(|e| DriverError::BadRevision(e.to_string()))
    }

    async fn apply(&self, desired: &ConfigTree) -> Applied {
        let mut run = Run {
            target: &self.target,
            policy: self.policy,
            attempts: 0,
            answers: Vec::new(),
            keys: self.keys.clone(),
        };
        let (outcome, commands) = run.go(desired, self.health).await;
        Applied {
            outcome,
            commands,
            attempts: run.attempts,
            answers: run.answers,
        }
    }

    async fn running(&self) -> Result<String, DriverError> {
        read_running(self.target.client, self.target.defs)
            .await
            .map(|t| t.render_set(self.target.defs))
            .map_err(DriverError::Device)
    }

    async fn health(&self) -> Result<(), DriverError> {
        self.health
            .check(self.target.client)
            .await
            .map_err(DriverError::Device)
    }
}

/// The router's running configuration (`/retrieve` `showConfig`, JSON),
/// its keys replaced by their placeholders (`sealed::seal_tree`): what
/// drift checks compare and what may be shown or stored.
pub async fn read_running(client: &Client, defs: &Definitions) -> Result<ConfigTree, String> {
    read_running_into(client, defs, &mut Vault::default()).await
}

/// [`read_running`], keeping the real keys it read in `keys`.
async fn read_running_into(
    client: &Client,
    defs: &Definitions,
    keys: &mut Vault,
) -> Result<ConfigTree, String> {
    let r = Retrieve {
        op: RetrieveOp::ShowConfig,
        path: vec![],
        config_format: Some(ConfigFormat::Json),
    };
    let a = client.retrieve(&r).await.map_err(|e| e.to_string())?;
    if !a.ok() {
        return Err(format!(
            "reading the running configuration: {}",
            refused(&a)
        ));
    }
    let mut tree = tree_from_json(&a.envelope.data, &[], defs)
        .map_err(|e| format!("the running configuration is not VyOS JSON: {e}"))?;
    sealed::seal_tree(&mut tree, defs, keys);
    Ok(tree)
}

/// The state of one apply in progress.
struct Run<'a, 'b> {
    target: &'a Target<'b>,
    policy: &'a Policy,
    attempts: u32,
    answers: Vec<Value>,
    /// The device's keys, and those read from it: every placeholder a
    /// batch (or its inverse) may hold.
    keys: Vault,
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
        // A revision stored with a real key (by hand, or a test's) is
        // compared sealed as well.
        let mut desired = desired.clone();
        sealed::seal_tree(&mut desired, defs, &mut self.keys);
        let desired = &desired;
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

    async fn read_running(&mut self) -> Result<ConfigTree, Outcome> {
        read_running_into(self.target.client, self.target.defs, &mut self.keys)
            .await
            .map_err(|error| Outcome::Failed { error })
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
        // The only place real keys are in a command: right before sending.
        let mut filled = cmds.to_vec();
        for c in &mut filled {
            sealed::fill_path(&mut c.path, &self.keys).map_err(|e| Outcome::Failed {
                error: e.to_string(),
            })?;
        }
        let batch = Configure::Batch {
            commands: plan::to_api(&filled, self.target.defs),
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
