//! Where each device of the intent stands: its latest revision, the one it
//! last applied, and one state word, as the API (`GET /api/v1/devices`)
//! and the admin console show it. Read from `revisions`,
//! `device_applies` and `device_drift` (`vxguard_store::applies::devices`);
//! [`state`] is the rule.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

/// One word for a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    /// Runs its latest revision (as far as the last check saw).
    Applied,
    /// Its latest revision is not applied yet (or it has no driver yet).
    Pending,
    /// Its last apply failed: it stays on its previous revision.
    Failed,
    /// Applied, but its running configuration differs since.
    Drifted,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Applied => "applied",
            DeviceState::Pending => "pending",
            DeviceState::Failed => "failed",
            DeviceState::Drifted => "drifted",
        }
    }
}

/// The rule: a failed last attempt wins (the operator must see it), then
/// drift of the applied revision, then whether the latest is applied.
pub fn state(
    latest: Option<i64>,
    applied: Option<i64>,
    last_attempt_failed: bool,
    drifted: bool,
) -> DeviceState {
    if last_attempt_failed {
        DeviceState::Failed
    } else if latest.is_some() && latest == applied {
        if drifted {
            DeviceState::Drifted
        } else {
            DeviceState::Applied
        }
    } else {
        DeviceState::Pending
    }
}

/// One device's state.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeviceStatus {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    /// The latest revision's `seq`; none before the first compile.
    pub latest_seq: Option<i32>,
    /// The `seq` of the revision last applied successfully.
    pub applied_seq: Option<i32>,
    pub state: DeviceState,
    /// The last failed apply's error, or why the last drift check could
    /// not read the device.
    pub error: Option<String>,
    /// When the last apply attempt finished.
    pub last_apply_at: Option<DateTime<Utc>>,
    /// When drift was last checked.
    pub drift_checked_at: Option<DateTime<Utc>>,
    /// Drift: `-` lines of the applied revision the device lacks, `+`
    /// lines it runs beyond it (keys redacted); empty unless drifted.
    pub drift: Vec<String>,
    /// A router's HTTP API key (never the key); `null` for hypervisors and
    /// for a router not compiled yet (it has no key).
    pub api_key: Option<ApiKeyStatus>,
    /// The device's WireGuard mesh key (never the key); `null` before its
    /// first compile (it has no key yet).
    pub mesh_key: Option<MeshKeyStatus>,
}

/// A device's WireGuard mesh key as an operator sees it
/// (`vxguard_store::mesh_keys`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MeshKeyStatus {
    /// The first 16 hex digits of the SHA-256 of the current public key
    /// (what the audit's `key.rotated` entries name).
    pub fingerprint: String,
    /// When the current key became current; `null` until the worker first
    /// stamps it.
    pub since: Option<DateTime<Utc>>,
    /// When the schedule rotates it next (a router's or a hypervisor's);
    /// `null` when scheduled rotation is off or its age is not known yet.
    pub next_rotation_at: Option<DateTime<Utc>>,
    /// A rotation is under way: the old key is still held for the mesh
    /// slot that has not taken the new one.
    pub rotating: bool,
}

/// Where a router's API key rotation stands (`vxguard_store::api_keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rotation {
    /// The new key is configured beside the current one; the worker
    /// switches once the router takes it.
    Added,
    /// The new key is current; the old one is removed once the router
    /// refuses it.
    Switched,
}

/// A router's API key as an operator sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiKeyStatus {
    /// The step a rotation is at; `null` when none is under way.
    pub rotation: Option<Rotation>,
    /// The fingerprint of the key the driver authenticates with now (what
    /// the audit's `key.rotated` entries name).
    pub fingerprint: String,
}

impl From<vxguard_store::api_keys::KeyState> for ApiKeyStatus {
    fn from(k: vxguard_store::api_keys::KeyState) -> Self {
        use vxguard_store::api_keys::Step;
        ApiKeyStatus {
            rotation: match k.rotation {
                Some(Step::Added) => Some(Rotation::Added),
                Some(Step::Switched) => Some(Rotation::Switched),
                // Removed is the end of a rotation, never a state.
                Some(Step::Removed) | None => None,
            },
            fingerprint: k.fingerprint,
        }
    }
}

/// Every router and hypervisor of the intent, routers first, by name.
pub async fn list(db: &PgPool) -> vxguard_store::Result<Vec<DeviceStatus>> {
    let mut keys = vxguard_store::api_keys::states(db).await?;
    let every = vxguard_store::mesh_keys::schedule(db).await?.interval_secs as i64;
    let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0);
    let mut mesh_keys: std::collections::BTreeMap<(String, String), MeshKeyStatus> =
        vxguard_store::mesh_keys::states(db)
            .await?
            .into_iter()
            .map(|k| {
                let status = MeshKeyStatus {
                    fingerprint: k.fingerprint,
                    since: k.since.and_then(at),
                    next_rotation_at: k.since.filter(|_| every > 0).and_then(|t| at(t + every)),
                    rotating: k.rotating,
                };
                ((k.device.kind.as_str().to_string(), k.device.name), status)
            })
            .collect();
    Ok(vxguard_store::applies::devices(db)
        .await?
        .into_iter()
        .map(|r| {
            let failed = r
                .outcome
                .as_deref()
                .is_some_and(|o| !matches!(o, "applied" | "unchanged"));
            let drift: Vec<String> = r
                .drift
                .unwrap_or_default()
                .lines()
                .map(String::from)
                .collect();
            let st = state(r.latest, r.applied, failed, !drift.is_empty());
            let api_key = if r.kind == "router" {
                keys.remove(&r.name).map(ApiKeyStatus::from)
            } else {
                None
            };
            let mesh_key = mesh_keys.remove(&(r.kind.clone(), r.name.clone()));
            DeviceStatus {
                mesh_key,
                kind: r.kind,
                name: r.name,
                latest_seq: r.latest_seq,
                applied_seq: r.applied_seq,
                state: st,
                error: if failed { r.apply_error } else { r.drift_error },
                last_apply_at: r.last_apply_at,
                drift_checked_at: r.drift_checked_at,
                drift: if st == DeviceState::Drifted {
                    drift
                } else {
                    Vec::new()
                },
                api_key,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceState::*;

    #[test]
    fn the_state_rule() {
        assert_eq!(state(None, None, false, false), Pending);
        assert_eq!(state(Some(2), Some(1), false, false), Pending);
        assert_eq!(state(Some(2), Some(2), false, false), Applied);
        assert_eq!(state(Some(2), Some(2), false, true), Drifted);
        assert_eq!(state(Some(2), Some(1), true, false), Failed);
        assert_eq!(state(Some(2), Some(2), true, true), Failed);
    }
}
