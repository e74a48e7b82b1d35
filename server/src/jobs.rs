//! Jobs: the queue lives in the store (`vxguard_store::jobs`: enqueue,
//! claim under a lease, finish, retry); this module keeps the `crate::jobs`
//! path the worker and the write path use, and the API's description of a
//! job (the OpenAPI schema belongs to the HTTP layer, not to the store).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use vxguard_store::jobs::{
    claim, enqueue, event, extend_lease, finish, keep_result, lease_secs, retry_later,
    set_lease_secs, set_operator_errors, Claimed, CHANGES, CHANNEL, MAX_ATTEMPTS,
};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: i64,
    pub tenant_id: Option<Uuid>,
    pub reason: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why the job failed, or why its last attempt did while it waits for
    /// a retry: each with a `message` (the compiler's also say where: the
    /// `object`'s path, and a `detail` sentence naming it in words).
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Value>,
    /// Devices whose configuration changed.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

impl From<vxguard_store::jobs::Job> for Job {
    fn from(j: vxguard_store::jobs::Job) -> Self {
        Job {
            id: j.id,
            tenant_id: j.tenant_id,
            reason: j.reason,
            status: j.status,
            attempts: j.attempts,
            created_by: j.created_by,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            errors: j.errors,
            result: j.result,
        }
    }
}
