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
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vxguard_store::jobs as store_jobs;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Items per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (jobs come newest first).
    pub cursor: Option<i64>,
}

/// Jobs, newest first (one tenant's when `tenant` is given).
pub async fn list_jobs(st: &AppState, tenant: Option<Uuid>, q: JobQuery) -> ApiResult<Page<Job>> {
    let limit = super::extract::page_limit(q.limit)?;
    let rows: Vec<Job> = store_jobs::list(st.store.pool(), tenant, q.cursor, limit)
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
}

/// A job the caller may see, with its devices (their error text only for
/// platform admins: a device's error can quote other tenants' configuration).
pub async fn detail(st: &AppState, who: &Principal, id: i64) -> ApiResult<JobDetail> {
    let job = visible(st, who, id).await?;
    let devices = progress::for_job(st.store.pool(), &job, who.role == Role::PlatformAdmin).await?;
    Ok(JobDetail { job, devices })
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
        .route("/api/v1/jobs/{id}/events", get(events))
}
