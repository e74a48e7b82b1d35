//! One job's page, "has my change reached the routers?": the tenant's
//! `/t/{tenant}/jobs/{id}` and the console's `/admin/jobs/{id}`, both read
//! through `api::jobs::detail` (the API's `GET /api/v1/jobs/{id}`), so the
//! same rule hides devices' errors from everyone but platform admins.

use super::admin::{console, job_rows};
use super::data::{job_row, when};
use super::document::html;
use super::extract::{PlatformAdmin, PlatformAdminForm, TenantAdminForm, TenantReader};
use super::lists::{job_fields, job_filter, ListQuery, JOBS_PAGE, JOB_FILTERS};
use super::respond::{problem_page, props, see_other};
use crate::api::jobs::{self, JobDetail};
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use app::admin::Section;
use app::{JobDeviceRow, JobPage, JobsPage, Page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

/// A job id from a path: anything else is the same 404 as an unknown job.
fn job_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| Problem::not_found())
}

/// The job a retry's reason names (`... (retry of job #N)`).
fn retry_of(reason: &str) -> Option<i64> {
    let at = reason.rfind("(retry of job #")?;
    reason[at + 15..].strip_suffix(')')?.parse().ok()
}

/// The page of job `d` (`jobs_base`: where job links go; `q`: the query
/// string, whose `retried` says the job was just queued by a retry).
fn page(
    d: JobDetail,
    tenant: Option<String>,
    who: &Principal,
    jobs_base: String,
    q: &HashMap<String, String>,
) -> JobPage {
    let JobDetail {
        job,
        devices,
        retryable,
        retry_refused,
    } = d;
    let started_at = job.started_at.map(when);
    let finished_at = job.finished_at.map(when);
    let id = job.id;
    let retry = (retryable && who.can_write_tenant()).then(|| format!("{jobs_base}/{id}/retry"));
    let retry_of = retry_of(&job.reason);
    let notice = match (q.contains_key("retried"), retry_of) {
        (true, Some(r)) => Some(format!("Queued again: this job retries job #{r}'s change.")),
        _ => None,
    };
    // `errors` are the tenant's own (never `operator_errors`).
    let row = job_row(job);
    JobPage {
        jobs_base,
        retry,
        retry_refused,
        retry_of,
        notice,
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
    Query(q): Query<HashMap<String, String>>,
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
        let slug = scope.tenant.slug.clone();
        let base = format!("/t/{slug}/jobs");
        Ok(page(d, Some(slug), &s.who, base, &q))
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
    Query(q): Query<HashMap<String, String>>,
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
        Ok::<_, Problem>(page(d, tenant, &s.who, "/admin/jobs".into(), &q))
    }
    .await;
    match out {
        Ok(p) => console(&s, StatusCode::OK, Section::Job(Box::new(p))),
        Err(p) => problem_page(Some(&s), &p),
    }
}

/// `POST /t/{tenant}/jobs/{id}/retry` (tenant admins): queues a failed job
/// of the tenant again (`api::jobs::retry`, as the API's
/// `POST /api/v1/jobs/{id}/retry`), then shows the new job. Another
/// tenant's job is the same not-found page as a missing one.
pub async fn tenant_retry(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdminForm {
        session: s, scope, ..
    }: TenantAdminForm,
) -> Response {
    let slug = scope.tenant.slug.clone();
    let out = async {
        let id = job_id(&id)?;
        let d = jobs::detail(&st, &s.who, id).await?;
        if d.job.tenant_id != Some(scope.id()) {
            return Err(Problem::not_found());
        }
        jobs::retry(&st, &s.who, id).await
    }
    .await;
    match out {
        Ok(r) => see_other(&format!("/t/{slug}/jobs/{}?retried=1", r.job)),
        Err(p) => problem_page(Some(&s), &p),
    }
}

/// `POST /admin/jobs/{id}/retry` (platform admins): any failed job.
pub async fn admin_retry(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PlatformAdminForm { session: s, .. }: PlatformAdminForm<super::extract::next::Here>,
) -> Response {
    let out = async { jobs::retry(&st, &s.who, job_id(&id)?).await }.await;
    match out {
        Ok(r) => see_other(&format!("/admin/jobs/{}?retried=1", r.job)),
        Err(p) => problem_page(Some(&s), &p),
    }
}

/// `GET /t/{tenant}/changes?q=&status=&kind=&from=&to=&cursor=`: the
/// tenant's jobs, filtered in SQL, newest first.
pub async fn tenant_jobs(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    TenantReader {
        session: s, scope, ..
    }: TenantReader,
) -> Response {
    let slug = scope.tenant.slug.clone();
    let path = format!("/t/{slug}/changes");
    let out = async {
        let l = ListQuery::new(&q);
        let f = job_filter(&l, Some(scope.id()))?;
        let page = jobs::list_filtered(&st, &f, Some(JOBS_PAGE)).await?;
        let rows = job_rows(&st, page.items, false).await?;
        let name = vxguard_store::tenants::name(st.store.pool(), scope.id())
            .await?
            .unwrap_or_else(|| slug.clone());
        Ok::<_, Problem>(JobsPage {
            filters: l.bar(&path, &JOB_FILTERS, job_fields(&l, None), rows.len()),
            pager: l.pager(&path, &JOB_FILTERS, page.next_cursor),
            slug: slug.clone(),
            name,
            can_write: s.who.can_write_tenant(),
            jobs: rows,
        })
    }
    .await;
    match out {
        Ok(p) => html(StatusCode::OK, &props(Some(&s), Page::Jobs(Box::new(p)))),
        Err(p) => problem_page(Some(&s), &p),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_retry_names_the_job_it_retries() {
        assert_eq!(
            super::retry_of("network.create tenants/a/networks/w (retry of job #12)"),
            Some(12)
        );
        assert_eq!(super::retry_of("network.create tenants/a/networks/w"), None);
    }
}
