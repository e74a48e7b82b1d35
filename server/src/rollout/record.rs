//! The record of every apply, whichever driver runs it: one place that
//! looks the revision up, refuses one that does not parse before anything
//! is written, takes the device's advisory lock, writes the
//! `device_applies` row and finishes it with the driver's [`Outcome`].
//! The drivers (`vxguard-drivers`) only talk to devices; keeping this here
//! means a new driver gets the same records and locking for free (the rows
//! and the lock themselves are the store's, `vxguard_store::applies`).
//!
//! One apply per device across all workers: a transaction-scoped
//! PostgreSQL advisory lock on (driver class, device name hashed),
//! released by commit or by the connection ending, so a crashed worker
//! never leaves it held.

use serde_json::Value;
use sqlx::PgPool;
use vxguard_compiler::sealed::Vault;
use vxguard_drivers::ovs::{OvsDriver, OvsTarget};
use vxguard_drivers::vyos::{HealthCheck, Policy, Target, VyosDriver};
use vxguard_drivers::{Driver, DriverError, Outcome};
use vxguard_store::applies;

/// What one apply did.
#[derive(Clone, Debug)]
pub struct Report {
    /// `device_applies.id`
    pub id: i64,
    pub outcome: Outcome,
    /// The driver's lines (keys as placeholders; the table keeps a
    /// redacted copy all the same).
    pub commands: Vec<String>,
    /// Requests that changed (or tried to change) the device, retries included.
    pub attempts: u32,
    /// The device's answers, as the driver kept them.
    pub answers: Vec<Value>,
}

/// Why an apply could not run at all (nothing recorded as its outcome
/// beyond what the error says).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store: {0}")]
    Store(#[from] vxguard_store::error::StoreError),
    #[error("revision {0} of {1} {2:?} not found")]
    NoRevision(i64, &'static str, String),
    #[error("revision {id} is not valid configuration: {reason}")]
    BadRevision { id: i64, reason: String },
}

/// Brings `driver`'s device to revision `revision_id` (a row of
/// `revisions` for that device) and records the attempt.
pub async fn apply<D: Driver>(
    db: &PgPool,
    driver: &D,
    revision_id: i64,
) -> Result<Report, ApplyError> {
    let (kind, name) = (driver.kind(), driver.name());
    let config: String = {
        let mut conn = db.acquire().await?;
        vxguard_store::revisions::config_by_id(&mut conn, revision_id, kind, name)
            .await?
            .map(|(_, c)| c)
            .ok_or_else(|| ApplyError::NoRevision(revision_id, kind, name.into()))?
    };
    let desired = driver.parse(&config).map_err(|e| ApplyError::BadRevision {
        id: revision_id,
        reason: match e {
            DriverError::BadRevision(r) | DriverError::Device(r) => r,
        },
    })?;

    let mut lock = db.begin().await?;
    applies::lock_device(&mut lock, kind, name).await?;
    let id = applies::start(db, kind, name, revision_id).await?;

    let done = driver.apply(&desired).await;
    applies::finish(
        db,
        id,
        applies::Finished {
            outcome: done.outcome.as_str(),
            commands: &crate::redact::redact(&done.commands.join("\n")),
            attempts: done.attempts as i32,
            answers: Value::Array(done.answers.clone()),
            error: done.outcome.error(),
        },
    )
    .await?;
    lock.commit().await?;
    tracing::info!(
        device_kind = kind,
        device = name,
        revision = revision_id,
        outcome = done.outcome.as_str(),
        "apply finished"
    );
    Ok(Report {
        id,
        outcome: done.outcome,
        commands: done.commands,
        attempts: done.attempts,
        answers: done.answers,
    })
}

/// [`apply`] with the VyOS driver.
pub async fn apply_router(
    db: &PgPool,
    target: &Target<'_>,
    revision_id: i64,
    policy: &Policy,
    health: &dyn HealthCheck,
) -> Result<Report, ApplyError> {
    // The router's keys, opened from the sealed store, for the driver to
    // put in place of the revision's placeholders as it sends.
    let secrets = {
        let mut conn = db.acquire().await?;
        vxguard_store::intent::secrets(&mut conn).await?
    };
    let keys = secrets
        .routers
        .get(target.name)
        .map(Vault::router)
        .unwrap_or_default();
    let driver = VyosDriver {
        target: *target,
        policy,
        health,
        keys: &keys,
    };
    apply(db, &driver, revision_id).await
}

/// What one hypervisor apply did (the OVS driver's names for [`Report`]).
#[derive(Clone, Debug)]
pub struct OvsRecord {
    /// `device_applies.id`
    pub id: i64,
    pub outcome: Outcome,
    /// How the switch differed from the revision before the apply (see
    /// `vxguard_drivers::ovs`). Also the `commands` column.
    pub changes: Vec<String>,
    /// `ovs-ofctl` calls that changed the switch.
    pub attempts: u32,
}

/// [`apply`] with the OVS driver. `Err` only when nothing could be
/// recorded (no such revision, the database); a switch that refuses is a
/// `failed` record.
pub async fn apply_hypervisor(
    db: &PgPool,
    target: &OvsTarget,
    revision_id: i64,
) -> anyhow::Result<OvsRecord> {
    let driver = OvsDriver {
        target: target.clone(),
    };
    let r = apply(db, &driver, revision_id).await?;
    Ok(OvsRecord {
        id: r.id,
        outcome: r.outcome,
        changes: r.commands,
        attempts: r.attempts,
    })
}
