//! One job's page: "has my change reached the routers?" (the tenant's
//! `/t/{tenant}/jobs/{id}` and the console's `/admin/jobs/{id}`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    pub id: i64,
    /// The tenant's slug (a tenant's page shows its navigation); `None`
    /// for platform jobs.
    pub tenant: Option<String>,
    /// The viewer may write the tenant (the navigation shows API tokens).
    pub can_write: bool,
    /// Device names link to the console's device pages (platform admins).
    pub admin: bool,
    pub reason: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Why it failed, in the tenant's own words (never `operator_errors`).
    pub errors: Vec<String>,
    pub devices: Vec<JobDeviceRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDeviceRow {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    pub seq: Option<i32>,
    /// `compiled`, `pending`, `applied` or `failed`.
    pub state: String,
    pub applied_at: Option<String>,
    pub failed_at: Option<String>,
    /// The device's error: set for platform admins only.
    pub error: Option<String>,
}
