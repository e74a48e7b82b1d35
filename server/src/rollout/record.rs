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
    keys: &Vault,
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

    let mut done = driver.apply(&desired).await;
    // What the device said may quote what it was sent, keys included: the
    // record, and the job that shows it, keep placeholders in their
    // place, as revisions do.
    done.outcome = done.outcome.map_text(|t| keys.hide(t));
    let answers = sealed_answers(&done.answers, keys);
    let error = done.outcome.error();
    applies::finish(
        db,
        id,
        applies::Finished {
            outcome: done.outcome.as_str(),
            commands: &crate::redact::redact(&keys.hide(&done.commands.join("\n"))),
            attempts: done.attempts as i32,
            answers: answers.clone(),
            error,
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
        answers: match answers {
            Value::Array(a) => a,
            _ => Vec::new(),
        },
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
    apply(db, &driver, revision_id, &keys).await
}

/// The device's answers with every key of `keys` they quote replaced by
/// its placeholder.
fn sealed_answers(answers: &[Value], keys: &Vault) -> Value {
    let all = Value::Array(answers.to_vec());
    if keys.is_empty() {
        return all;
    }
    let text = serde_json::to_string(&all).unwrap_or_default();
    let hidden = keys.hide(&text);
    if hidden == text {
        return all;
    }
    serde_json::from_str(&hidden).unwrap_or(Value::Null)
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
    // The switch's key is filled in by the host, not sent through the
    // driver; nothing of it can come back.
    let r = apply(db, &driver, revision_id, &Vault::default()).await?;
    Ok(OvsRecord {
        id: r.id,
        outcome: r.outcome,
        changes: r.commands,
        attempts: r.attempts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vxguard_compiler::model::RouterSecrets;

    #[test]
    fn a_recorded_answer_keeps_no_key() {
        let (private, public) = vxguard_wg_keys::keypair([9; 32]);
        let s = RouterSecrets {
            wireguard_private_key: private.clone(),
            wireguard_public_key: public,
            api_key: "cd".repeat(32),
            api_key_next: None,
            api_key_retired: None,
            api_key_since: None,
            wireguard_previous: None,
            wireguard_since: None,
            client_key: None,
            client_epochs: Default::default(),
            client_rotation: None,
        };
        let keys = Vault::router(&s);
        let answers =
            [json!({"success": false, "error": format!("bad value '{private}'"), "data": null})];
        let sealed = sealed_answers(&answers, &keys).to_string();
        assert!(!sealed.contains(&private), "{sealed}");
        assert!(sealed.contains("bad value"), "{sealed}");
        let plain = [json!({"success": true})];
        assert_eq!(sealed_answers(&plain, &keys), json!([{"success": true}]));
    }
}
