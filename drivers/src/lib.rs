//! Device drivers: one interface ([`Driver`]) to bring a device to a
//! revision text, read what it runs and check that it is healthy,
//! implemented for VyOS routers over the VyOS HTTP API ([`vyos`], what to
//! send computed purely in [`plan`], the post-commit check in [`health`])
//! and for hypervisors' Open vSwitch bridges with `ovs-ofctl` ([`ovs`]).
//!
//! The split: this crate talks to devices and nothing else. It has no
//! database: which revision is due, the advisory lock that keeps two
//! workers off one device, the `device_applies` row and the rollout's
//! waves live above it in the server (`vxguard::rollout`), written once
//! for every driver instead of once per driver. A driver gets the
//! revision's text and answers with one [`Applied`] whose [`Outcome`] is
//! the same type for every kind of device, so the record-keeping and the
//! rollout never look at which driver ran.

use std::future::Future;

pub mod health;
pub mod ovs;
pub mod plan;
pub mod vyos;

pub use ovs::{OvsDriver, OvsTarget};
pub use vyos::{ApiReachable, HealthCheck, Policy, Target, VyosDriver};

/// How an apply ended (the `outcome` column of `device_applies`). One
/// type for all drivers: the variants a driver cannot produce (an OVS
/// bridge has no commit-confirm) are simply never returned by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed (and confirmed, on VyOS 1.5 with commit-confirm).
    Applied,
    /// The device already ran the revision.
    Unchanged,
    /// Nothing was committed, or what was is unknown: the error says.
    Failed { error: String },
    /// VyOS 1.5: committed with commit-confirm, health check failed, not
    /// confirmed: the router reverts by itself when the timer ends.
    Reverted { reason: String },
    /// VyOS 1.4: committed, health check failed, inverse batch committed.
    RolledBack { reason: String },
    /// VyOS 1.4: as above but the inverse batch was refused too.
    RollbackFailed { reason: String, error: String },
}

impl Outcome {
    /// The `outcome` column's value.
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

    /// The `error` column's value: why the device is not on the revision.
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

    /// The outcome with `f` applied to each of its texts (to hide keys a
    /// device quoted before the outcome is recorded or shown).
    pub fn map_text(self, f: impl Fn(&str) -> String) -> Outcome {
        match self {
            Outcome::Applied | Outcome::Unchanged => self,
            Outcome::Failed { error } => Outcome::Failed { error: f(&error) },
            Outcome::Reverted { reason } => Outcome::Reverted { reason: f(&reason) },
            Outcome::RolledBack { reason } => Outcome::RolledBack { reason: f(&reason) },
            Outcome::RollbackFailed { reason, error } => Outcome::RollbackFailed {
                reason: f(&reason),
                error: f(&error),
            },
        }
    }

    /// Whether the device ends on the revision.
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Applied | Outcome::Unchanged)
    }
}

/// What one apply did, as the driver saw it (the record adds its id).
#[derive(Clone, Debug)]
pub struct Applied {
    pub outcome: Outcome,
    /// What was (to be) changed, one line each: a router's batch as CLI
    /// lines (keys as their placeholders: the real ones are put in only
    /// as the batch is sent), a bridge's difference as `-`/`+` lines.
    /// Empty when unchanged.
    pub commands: Vec<String>,
    /// Requests that changed (or tried to change) the device, retries included.
    pub attempts: u32,
    /// Each device answer kept for the record (JSON objects).
    pub answers: Vec<serde_json::Value>,
}

/// Why a driver could not do what was asked. A device that refuses an
/// apply is not an error but an [`Outcome`]: errors are what happens
/// before anything is sent, or a read that got no answer.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The revision text is not a configuration this driver can apply.
    #[error("not valid configuration: {0}")]
    BadRevision(String),
    /// The device did not answer, or answered with a refusal.
    #[error("{0}")]
    Device(String),
}

/// One device. `Desired` is the revision parsed: parsing is separate from
/// applying so that a revision that does not parse is refused before the
/// record-keeping above takes a lock or writes a row.
pub trait Driver: Sync {
    /// The revision as this driver applies it.
    type Desired: Send + Sync;

    /// `router` or `hypervisor` (the `device_kind` of records and revisions).
    fn kind(&self) -> &'static str;

    /// The device's name (as in revisions).
    fn name(&self) -> &str;

    /// The revision text, parsed.
    fn parse(&self, revision: &str) -> Result<Self::Desired, DriverError>;

    /// Brings the device to `desired`; never fails: a refusal is an outcome.
    fn apply(&self, desired: &Self::Desired) -> impl Future<Output = Applied> + Send;

    /// What the device runs now, as text of the revision's kind
    /// (`set` lines for a router; flows, groups and meters for a bridge).
    fn running(&self) -> impl Future<Output = Result<String, DriverError>> + Send;

    /// Whether the device answers and is healthy now.
    fn health(&self) -> impl Future<Output = Result<(), DriverError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings are the `outcome` column's: records written before the
    /// split must read the same.
    #[test]
    fn outcomes_keep_their_column_values() {
        let f = |s: &str| s.to_string();
        let all = [
            (Outcome::Applied, "applied", None),
            (Outcome::Unchanged, "unchanged", None),
            (Outcome::Failed { error: f("e") }, "failed", Some("e")),
            (Outcome::Reverted { reason: f("r") }, "reverted", Some("r")),
            (
                Outcome::RolledBack { reason: f("r") },
                "rolled_back",
                Some("r"),
            ),
            (
                Outcome::RollbackFailed {
                    reason: f("r"),
                    error: f("e"),
                },
                "rollback_failed",
                Some("r; rollback refused: e"),
            ),
        ];
        for (o, s, e) in all {
            assert_eq!(o.as_str(), s);
            assert_eq!(o.error().as_deref(), e);
            assert_eq!(o.ok(), e.is_none());
        }
    }

    /// A bridge that does not answer is an error of `health` and
    /// `running`, never a panic.
    #[tokio::test]
    async fn an_absent_bridge_is_unhealthy() {
        let d = OvsDriver {
            target: OvsTarget {
                name: "hv1".into(),
                openflow: "unix:/nonexistent/vxguard-test.mgmt".into(),
            },
        };
        assert_eq!((d.kind(), d.name()), ("hypervisor", "hv1"));
        assert!(matches!(d.health().await, Err(DriverError::Device(_))));
        assert!(matches!(d.running().await, Err(DriverError::Device(_))));
    }
}
