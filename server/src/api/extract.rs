//! What every API handler shares: request extractors (JSON bodies read
//! for per-field problems, typed path and query parameters, pages), NUL
//! refusal, ETag/If-Match and the job header.

use crate::problem::Problem;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Refuses a request whose path or query (or form body) holds a NUL byte,
/// with a problem naming where; see `check_nul`.
pub async fn refuse_nul(req: Request, next: axum::middleware::Next) -> Response {
    match check_nul(req).await {
        Ok(req) => next.run(req).await,
        Err(p) => p.into_response(),
    }
}

/// Largest form body read here, as axum's own default limit.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// PostgreSQL refuses NUL in text (and `\u0000` in jsonb), so a NUL that
/// reaches a query is a 500; this names it as the client's mistake first:
/// a path parameter (`{name}`, from the matched route), a query parameter
/// (`cursor`) or a form field (`email`): 400. JSON bodies are checked by
/// `JsonBody` (422 with the field's pointer). Form bodies are read here
/// and handed on.
pub async fn check_nul(req: Request) -> Result<Request, Problem> {
    let bad = |name: &str, what: &str| {
        Problem::field(
            StatusCode::BAD_REQUEST,
            &name.replace('\0', "\\0"),
            format!("the {what} contains a NUL character"),
        )
    };
    let template = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let mut names = template.split('/');
    for seg in req.uri().path().split('/') {
        let name = names.next().unwrap_or("");
        if percent_decoded(seg).contains(&0) {
            let name = if name.starts_with('{') { name } else { "path" };
            return Err(bad(name, "path parameter"));
        }
    }
    if let Some(q) = req.uri().query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k.contains('\0') || v.contains('\0') {
                return Err(bad(&k, "query parameter"));
            }
        }
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"))?;
    for (k, v) in url::form_urlencoded::parse(&bytes) {
        if k.contains('\0') || v.contains('\0') {
            return Err(bad(&k, "form field"));
        }
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// `%XX` decoded, for finding a NUL in a raw path segment.
fn percent_decoded(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The JSON pointer of the first string or key in `v` that holds a NUL
/// (`at` is where `v` is).
fn nul_pointer(v: &serde_json::Value, at: &mut String) -> bool {
    use serde_json::Value;
    let step = |at: &mut String, key: &str, child: &Value| {
        let len = at.len();
        at.push('/');
        at.push_str(&key.replace('~', "~0").replace('/', "~1"));
        if key.contains('\0') || nul_pointer(child, at) {
            return true;
        }
        at.truncate(len);
        false
    };
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .any(|(i, x)| step(at, &i.to_string(), x)),
        Value::Object(m) => m.iter().any(|(k, x)| step(at, k, x)),
        _ => false,
    }
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
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))?;
        let mut at = String::new();
        if nul_pointer(&v, &mut at) {
            return Err(Problem::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                &at.replace('\0', "\\0"),
                "contains a NUL character",
            ));
        }
        Ok(JsonBody(v))
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
