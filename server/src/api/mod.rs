//! The REST API under `/api/v1`: JSON in, JSON out, errors as RFC 9457
//! problems, cursor pagination, ETag/If-Match on updates.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod devices;
pub mod health;
pub mod jobs;
pub mod objects;
pub mod policy;
pub mod quotas;
pub mod revisions;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The API alone, with its JSON 404 for unknown paths.
pub fn router(st: AppState) -> Router {
    routes()
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(st)
}

/// The API's routes, without a fallback (the portal adds its own).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(auth::routes())
        .merge(objects::routes())
        .merge(clients::routes())
        .merge(policy::routes())
        .merge(tenants::routes())
        .merge(quotas::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(jobs::routes())
        .merge(revisions::routes())
        .merge(devices::routes())
        .merge(audit::routes())
        .merge(crate::openapi::routes())
}

/// A JSON request body, read as a `serde_json::Value` so that each resource
/// can report bad fields with a pointer; malformed JSON is a 400 problem.
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Problem;

    async fn from_request(req: Request, st: &S) -> Result<Self, Problem> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, st)
            .await
            .map_err(|e| Problem::bad_request(format!("reading the body: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))
    }
}

/// Parses a typed body from a `JsonBody`, naming the bad field.
pub fn typed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(v).map_err(Problem::from)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Query parameters whose errors are problems, not plain text.
pub struct Q<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, st)
            .await
            .map(|Query(t)| Q(t))
            .map_err(|e| Problem::bad_request(format!("query string: {}", e.body_text())))
    }
}

/// Path parameters whose errors are problems, not plain text.
pub struct P<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, st)
            .await
            .map(|axum::extract::Path(t)| P(t))
            .map_err(|e| Problem::bad_request(format!("path: {}", e.body_text())))
    }
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, Problem> {
        page_limit(self.limit)
    }
}

/// A page size from the query string: 1-500, default 100.
pub fn page_limit(limit: Option<i64>) -> Result<i64, Problem> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(Problem::field(
            StatusCode::BAD_REQUEST,
            "limit",
            "must be between 1 and 500",
        )),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    pub fn new(items: Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Self {
        let next_cursor = (items.len() as i64 == limit)
            .then(|| items.last().map(&cursor))
            .flatten();
        Self { items, next_cursor }
    }
}

pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header")
}

/// The version an `If-Match` header asks for; `*` and absence mean any.
/// A value that is not one of our ETags can never match: 412.
pub fn if_match(h: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(v) = h.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| Problem::stale())?.trim();
    if s == "*" {
        return Ok(None);
    }
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| Problem::stale())
}

/// A JSON response with an ETag.
pub fn with_etag<T: Serialize>(status: StatusCode, version: i64, body: &T) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

/// `X-Job` tells the caller which job compiles its change.
pub fn with_job(mut r: Response, job: i64) -> Response {
    r.headers_mut().insert(
        "x-job",
        HeaderValue::from_str(&job.to_string()).expect("digits"),
    );
    r
}
