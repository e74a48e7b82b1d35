//! Jobs over HTTP, and a server-sent event stream of one job's progress.

use super::extract::{Page, P, Q};
use crate::auth::{Principal, Role};
use crate::jobs::Job;
use crate::problem::{ApiResult, Problem};
use crate::rollout::progress::{self, JobDevice};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vxguard_store::jobs as store_jobs;

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Items per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (jobs come newest first).
    pub cursor: Option<i64>,
    /// Only jobs in this state.
    pub status: Option<JobStatus>,
    /// Only changes of this kind of object: the first word of the reason's
    /// action (`network`, `rule`, `client`, `service`, `tenant`, `router`,
    /// `rotate`, ...).
    pub kind: Option<String>,
    /// Only jobs whose reason or author contain this (any case).
    pub q: Option<String>,
    /// Only jobs queued at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only jobs queued before this time.
    pub until: Option<DateTime<Utc>>,
}

/// A job's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// A free text filter: trimmed, and none when empty.
pub fn text_filter(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// The store's filter of a query (`tenant`: whose jobs; `platform`: the
/// platform's own only).
pub fn filter(tenant: Option<Uuid>, platform: bool, q: &JobQuery) -> store_jobs::Filter {
    store_jobs::Filter {
        tenant,
        platform,
        status: q.status.map(|s| s.as_str().to_string()),
        kind: text_filter(q.kind.as_deref()),
        search: text_filter(q.q.as_deref()),
        since: q.since,
        until: q.until,
        before: q.cursor,
    }
}

/// Jobs, newest first (one tenant's when `tenant` is given), as the query
/// filters them.
pub async fn list_jobs(st: &AppState, tenant: Option<Uuid>, q: JobQuery) -> ApiResult<Page<Job>> {
    list_filtered(st, &filter(tenant, false, &q), q.limit).await
}

/// Jobs as `f` filters them, `limit` per page.
pub async fn list_filtered(
    st: &AppState,
    f: &store_jobs::Filter,
    limit: Option<i64>,
) -> ApiResult<Page<Job>> {
    let limit = super::extract::page_limit(limit)?;
    let rows: Vec<Job> = store_jobs::filtered(st.store.pool(), f, limit)
        .await?
        .into_iter()
        .map(Job::from)
        .collect();
    Ok(Page::new(rows, limit, |j| j.id.to_string()))
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", operation_id = "list_jobs",
    params(JobQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Job>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_all(
    State(st): State<AppState>,
    who: Principal,
    Q(q): Q<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    who.require_platform_admin()?;
    list_jobs(&st, None, q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/jobs", tag = "jobs", operation_id = "list_tenant_jobs",
    params(("tenant" = String, Path), JobQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Job>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_tenant(
    State(st): State<AppState>,
    scope: TenantScope,
    Q(q): Q<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    list_jobs(&st, Some(scope.id()), q).await.map(Json)
}

/// A job, if the caller may see it: tenant users only see their tenant's.
async fn visible(st: &AppState, who: &Principal, id: i64) -> ApiResult<Job> {
    let j = store_jobs::get(st.store.pool(), id).await?.map(Job::from);
    match j {
        Some(j)
            if who.role == Role::PlatformAdmin
                || (j.tenant_id.is_some() && j.tenant_id == who.tenant_id) =>
        {
            Ok(j)
        }
        _ => Err(Problem::not_found()),
    }
}

/// One job and where its change stands on each device it changed.
#[derive(Serialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: Job,
    /// The devices the job changed, routers first: the revision its
    /// compile stored and whether it is compiled, pending, applied or
    /// failed (the device's error for platform admins only).
    pub devices: Vec<JobDevice>,
    /// A failed job may be queued again (`POST /api/v1/jobs/{id}/retry`,
    /// by its tenant's admins and platform admins).
    pub retryable: bool,
    /// Why a failed job may not be retried (a later job carries its change,
    /// or its errors name the tenant's own configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_refused: Option<String>,
}

/// A job the caller may see, with its devices (their error text only for
/// platform admins: a device's error can quote other tenants' configuration).
pub async fn detail(st: &AppState, who: &Principal, id: i64) -> ApiResult<JobDetail> {
    let job = visible(st, who, id).await?;
    let devices = progress::for_job(st.store.pool(), &job, who.role == Role::PlatformAdmin).await?;
    let (retryable, retry_refused) = if job.status == "failed" {
        let stored = store_jobs::get(st.store.pool(), id)
            .await?
            .ok_or_else(Problem::not_found)?;
        let newer = store_jobs::newer(st.store.pool(), &stored).await?;
        let why = store_jobs::retry_refusal(&stored, newer);
        (why.is_none(), why)
    } else {
        (false, None)
    };
    Ok(JobDetail {
        job,
        devices,
        retryable,
        retry_refused,
    })
}

/// The job a retry queued.
#[derive(Serialize, ToSchema)]
pub struct Retry {
    /// The new job (it carries the failed job's change again).
    pub job: i64,
    /// The job retried.
    pub retry_of: i64,
}

/// Queues a failed job's change again (`store::jobs::retry`: audited as
/// `job.retry`): its tenant's admins and platform admins; another tenant's
/// job is the same 404 as a missing one, a member is refused (403), and a
/// job that may not be retried is a conflict (409) saying why.
pub async fn retry(st: &AppState, who: &Principal, id: i64) -> ApiResult<Retry> {
    visible(st, who, id).await?;
    if !who.can_write_tenant() {
        return Err(Problem::forbidden(
            "only the tenant's admins may retry its jobs",
        ));
    }
    match store_jobs::retry(st.store.pool(), who, id).await? {
        store_jobs::Retried::Queued(job) => Ok(Retry { job, retry_of: id }),
        store_jobs::Retried::NotFound => Err(Problem::not_found()),
        store_jobs::Retried::Refused(why) => Err(Problem::conflict(format!(
            "job #{id} cannot be retried: {why}"
        ))),
    }
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", operation_id = "retry_job",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 202, body = Retry), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry_one(
    State(st): State<AppState>,
    who: Principal,
    P(id): P<i64>,
) -> ApiResult<(axum::http::StatusCode, Json<Retry>)> {
    retry(&st, &who, id)
        .await
        .map(|r| (axum::http::StatusCode::ACCEPTED, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", operation_id = "get_job",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = JobDetail), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_one(
    State(st): State<AppState>,
    who: Principal,
    P(id): P<i64>,
) -> ApiResult<Json<JobDetail>> {
    detail(&st, &who, id).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs", operation_id = "job_events",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "`text/event-stream`: one `job` event (the job as JSON) per status change, ending when the job is done or failed", content_type = "text/event-stream", body = Job),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn events(
    State(st): State<AppState>,
    who: Principal,
    P(id): P<i64>,
) -> ApiResult<Response> {
    let first = visible(&st, &who, id).await?;
    let stream = futures::stream::unfold(
        (Some(first), None::<String>, st),
        move |(next, last, st)| async move {
            let mut job = next?;
            loop {
                if last.as_deref() != Some(job.status.as_str()) {
                    let ev = Event::default()
                        .event("job")
                        .json_data(&job)
                        .unwrap_or_default();
                    let finished = matches!(job.status.as_str(), "done" | "failed");
                    let status = job.status.clone();
                    let following = if finished { None } else { Some(job) };
                    return Some((
                        Ok::<_, std::convert::Infallible>(ev),
                        (following, Some(status), st),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                job = store_jobs::get(st.store.pool(), id)
                    .await
                    .ok()
                    .flatten()
                    .map(Job::from)?;
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(list_all))
        .route("/api/v1/tenants/{tenant}/jobs", get(list_tenant))
        .route("/api/v1/jobs/{id}", get(get_one))
        .route("/api/v1/jobs/{id}/retry", axum::routing::post(retry_one))
        .route("/api/v1/jobs/{id}/events", get(events))
}
