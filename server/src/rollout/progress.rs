//! Has a job's change reached the devices? Per device the job changed (its
//! `result`'s `routers` and `hypervisors`): the revision its compile stored
//! and one state word, read from `revisions` and `device_applies`
//! (`vxguard_store::jobs::devices`); [`state`] is the rule. Shown by
//! `GET /api/v1/jobs/{id}` and the portal's job pages.

use crate::jobs::Job;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;

/// Where a job's change stands on one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeState {
    /// The revision is stored; nothing applies it (a worker without
    /// `--apply`).
    Compiled,
    /// Waiting for the rollout, or being applied.
    Pending,
    /// The revision (or a later one, which carries the change) runs.
    Applied,
    /// The last attempt failed: the device stays on its previous revision.
    Failed,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Compiled => "compiled",
            ChangeState::Pending => "pending",
            ChangeState::Applied => "applied",
            ChangeState::Failed => "failed",
        }
    }
}

/// One device a job changed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobDevice {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    /// The revision the job's compile stored for the device.
    pub seq: Option<i32>,
    pub state: ChangeState,
    /// When it (or a later revision) was first applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// When the failed attempt finished.
    pub failed_at: Option<DateTime<Utc>>,
    /// The device's error when failed: platform admins only (it can quote
    /// other tenants' configuration); `null` for everyone else.
    pub error: Option<String>,
}

/// The rule: applied wins (the change reached the device, whatever came
/// after), then a failed last attempt, then an apply that is under way or
/// due (the job applies, or is still running), else compiled only.
pub fn state(applied: bool, last_failed: bool, under_way: bool) -> ChangeState {
    if applied {
        ChangeState::Applied
    } else if last_failed {
        ChangeState::Failed
    } else if under_way {
        ChangeState::Pending
    } else {
        ChangeState::Compiled
    }
}

/// The devices a job's `result` names, routers first.
pub fn changed(result: &Value) -> Vec<(String, String)> {
    ["router", "hypervisor"]
        .into_iter()
        .flat_map(|kind| {
            result[format!("{kind}s")]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
                .map(move |n| (kind.to_string(), n.to_string()))
        })
        .collect()
}

/// Where `job`'s change stands on each device it changed; `errors`: keep
/// the devices' error text (platform admins only).
pub async fn for_job(
    db: &PgPool,
    job: &Job,
    errors: bool,
) -> vxguard_store::Result<Vec<JobDevice>> {
    let Some(result) = &job.result else {
        return Ok(Vec::new());
    };
    let devices = changed(result);
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    // A job that applies records `applied` and `pending` when it finishes;
    // until then (running) its devices are due.
    let applying = job.status == "running" || result.get("applied").is_some();
    let waiting = |kind: &str, name: &str| {
        result["pending"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["kind"] == kind && d["name"] == name)
    };
    Ok(vxguard_store::jobs::devices(db, job.id, &devices)
        .await?
        .into_iter()
        .map(|d| {
            let failed = d
                .outcome
                .as_deref()
                .is_some_and(|o| !matches!(o, "applied" | "unchanged"));
            let st = state(
                d.applied_at.is_some(),
                failed,
                d.applying || applying || waiting(&d.kind, &d.name),
            );
            let failed = st == ChangeState::Failed;
            JobDevice {
                seq: d.seq,
                state: st,
                applied_at: d.applied_at,
                failed_at: if failed { d.attempted_at } else { None },
                error: if failed && errors { d.error } else { None },
                kind: d.kind,
                name: d.name,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChangeState::*;

    #[test]
    fn the_state_rule() {
        assert_eq!(state(false, false, false), Compiled);
        assert_eq!(state(false, false, true), Pending);
        assert_eq!(state(false, true, true), Failed);
        assert_eq!(state(true, true, true), Applied);
    }

    #[test]
    fn changed_devices_routers_first() {
        let r = serde_json::json!({"hypervisors": ["hv1"], "routers": ["r2", "r1"], "applied": []});
        assert_eq!(
            changed(&r),
            vec![
                ("router".into(), "r2".into()),
                ("router".into(), "r1".into()),
                ("hypervisor".into(), "hv1".into())
            ]
        );
    }
}
