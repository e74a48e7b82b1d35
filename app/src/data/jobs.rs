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
    /// Where the page's job links go (`/t/{tenant}/jobs` or `/admin/jobs`).
    #[serde(default)]
    pub jobs_base: String,
    /// The retry form's action, when the viewer may retry this job (a
    /// tenant admin or platform admin, the job failed and may be retried).
    #[serde(default)]
    pub retry: Option<String>,
    /// Why this failed job may not be retried.
    #[serde(default)]
    pub retry_refused: Option<String>,
    /// The job this one retries (from its reason).
    #[serde(default)]
    pub retry_of: Option<i64>,
    /// What the last action did ("job #N retries this change").
    #[serde(default)]
    pub notice: Option<String>,
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

/// A tenant's changes (`/t/{tenant}/changes`): its jobs, searched and
/// filtered, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobsPage {
    pub slug: String,
    pub name: String,
    pub can_write: bool,
    pub jobs: Vec<AdminJobRow>,
    pub filters: super::lists::FilterBar,
    pub pager: super::lists::Pager,
}

/// One job in a list (the console's and a tenant's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminJobRow {
    pub id: i64,
    /// The tenant's slug; `None` for platform changes.
    pub tenant: Option<String>,
    pub reason: String,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Why it failed (the operators' words).
    #[serde(default)]
    pub why: Vec<String>,
    /// Devices whose configuration the job changed: (`router`|`hypervisor`, name).
    pub devices: Vec<(String, String)>,
}
