//! Rollout and record-keeping, above the device drivers
//! (`vxguard-drivers`, which talk to devices and have no database): which
//! revisions are due ([`reconcile`]), in which waves ([`waves`]), the
//! `device_applies` row and the per-device lock around each driver call
//! ([`record`]), drift checks ([`drift`]), where each device stands
//! ([`status`]), where a job's change stands on its devices ([`progress`])
//! the router API key rotation's checks ([`api_keys`]), the mesh's slot
//! steps ([`mesh`]) and the mesh keys' schedule ([`mesh_keys`]).

pub mod api_keys;
pub mod drift;
pub mod mesh;
pub mod mesh_keys;
pub mod progress;
pub mod reconcile;
pub mod record;
pub mod status;
pub mod waves;

/// The worker, as the audit names it for the steps it takes on its own.
pub(crate) struct WorkerActor;

impl vxguard_store::audit::Actor for WorkerActor {
    fn subject(&self) -> &str {
        "system:worker"
    }
    fn source(&self) -> &str {
        "local"
    }
}
