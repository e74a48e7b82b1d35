//! One job's page, "has my change reached the routers?": the tenant's
//! `/t/{tenant}/jobs/{id}` and the console's `/admin/jobs/{id}`, both read
//! through `api::jobs::detail` (the API's `GET /api/v1/jobs/{id}`), so the
//! same rule hides devices' errors from everyone but platform admins.

use super::admin::console;
use super::data::{job_row, when};
use super::document::html;
use super::extract::{PlatformAdmin, TenantReader};
use super::respond::{problem_page, props};
use crate::api::jobs::{self, JobDetail};
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use app::admin::Section;
use app::{JobDeviceRow, JobPage, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

/// A job id from a path: anything else is the same 404 as an unknown job.
fn job_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| Problem::not_found())
}

fn page(d: JobDetail, tenant: Option<String>, who: &Principal) -> JobPage {
    let JobDetail { job, devices } = d;
    let started_at = job.started_at.map(when);
    let finished_at = job.finished_at.map(when);
    // `errors` are the tenant's own (never `operator_errors`).
    let row = job_row(job);
    JobPage {
        id: row.id,
        tenant,
        can_write: who.can_write_tenant(),
        admin: who.require_platform_admin().is_ok(),
        reason: row.reason,
        status: row.status,
        created_by: row.created_by,
        created_at: row.created_at,
        started_at,
        finished_at,
        errors: row.why,
        devices: devices
            .into_iter()
            .map(|d| JobDeviceRow {
                kind: d.kind,
                name: d.name,
                seq: d.seq,
                state: d.state.as_str().to_string(),
                applied_at: d.applied_at.map(when),
                failed_at: d.failed_at.map(when),
                error: d.error,
            })
            .collect(),
    }
}

/// `GET /t/{tenant}/jobs/{id}`: a job of the tenant; another tenant's job
/// is the same not-found page as a missing one.
pub async fn tenant_job(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantReader {
        session: s, scope, ..
    }: TenantReader,
) -> Response {
    let out = async {
        let d = jobs::detail(&st, &s.who, job_id(&id)?).await?;
        // A platform admin may see any job, but not under another tenant.
        if d.job.tenant_id != Some(scope.id()) {
            return Err(Problem::not_found());
        }
        Ok(page(d, Some(scope.tenant.slug.clone()), &s.who))
    }
    .await;
    match out {
        Ok(p) => html(StatusCode::OK, &props(Some(&s), Page::Job(Box::new(p)))),
        Err(p) => problem_page(Some(&s), &p),
    }
}

/// `GET /admin/jobs/{id}`: any job (platform admins).
pub async fn admin_job(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let d = jobs::detail(&st, &s.who, job_id(&id)?).await?;
        let tenant = match d.job.tenant_id {
            Some(t) => vxguard_store::tenants::slugs(st.store.pool())
                .await?
                .into_iter()
                .find(|(id, _)| *id == t)
                .map(|(_, slug)| slug),
            None => None,
        };
        Ok::<_, Problem>(page(d, tenant, &s.who))
    }
    .await;
    match out {
        Ok(p) => console(&s, StatusCode::OK, Section::Job(Box::new(p))),
        Err(p) => problem_page(Some(&s), &p),
    }
}
