//! RFC 9457 problem details: every API error is `application/problem+json`
//! with a status, a title, a detail and, for bad input, one entry per bad
//! field with a JSON pointer into the request body.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vxguard_store::error::{Refusal, WriteError};

/// One bad field: where (a JSON pointer into the request body, or the path
/// of another object the change conflicts with) and why.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer into the request body (`/cidr`); absent when the problem
    /// lies in another object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The other object involved, e.g. `tenants/acme/networks/web`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    /// Also what a tenant gets for another tenant's object: no existence leak.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no such object")
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }
    pub fn stale() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "the object changed since it was read (If-Match does not match its ETag); read it again",
        )
    }
    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
        p.errors = errors;
        p
    }
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status.as_u16();
        self.title = status.canonical_reason().unwrap_or("Error").into();
        self
    }
    pub fn field(status: StatusCode, pointer: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let shown = if pointer.is_empty() { "/" } else { pointer };
        let mut p = Self::new(status, format!("{shown}: {detail}"));
        p.errors = vec![FieldError {
            pointer: Some(pointer.into()),
            object: None,
            detail,
        }];
        p
    }
    pub fn too_many(retry_after: u64) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many attempts; retry in {retry_after} s"),
        );
        p.retry_after = Some(retry_after);
        p
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
        }
        r
    }
}

/// Database errors: unique violations become 409; a NUL character that
/// reached PostgreSQL (22021 in text, 22P05 as `\u0000` in jsonb) is the
/// client's input, 400 (the extractors name the field first, when they
/// can: `api::check_nul`); everything else is logged and answered 500
/// without detail.
impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.code().as_deref() {
                Some("23505") => {
                    return Problem::conflict("an object with this name already exists")
                }
                Some("22021" | "22P05") => {
                    return Problem::bad_request("a text contains a NUL character (\\0)")
                }
                _ => {}
            }
        }
        tracing::error!(error = %e, "database error");
        Problem::internal()
    }
}

/// Store errors: what each means over HTTP. A missing row is 404, a
/// clash 409 naming the field, a stale version 412; database errors as
/// above; anything else (corrupt data, no database) is logged and 500.
impl From<vxguard_store::StoreError> for Problem {
    fn from(e: vxguard_store::StoreError) -> Self {
        use vxguard_store::StoreError as E;
        match e {
            E::NotFound => Problem::not_found(),
            E::Conflict { what } => Problem::field(
                StatusCode::CONFLICT,
                &format!("/{what}"),
                format!("an object with this {what} exists"),
            ),
            E::Stale => Problem::stale(),
            E::Database(e) => Problem::from(e),
            e => {
                tracing::error!(
                    error = format!("{:#}", anyhow::Error::from(e)),
                    "store error"
                );
                Problem::internal()
            }
        }
    }
}

/// The write path's refusals (`vxguard_store::WriteError`): a missing object
/// 404, a stale version 412, a taken name, port or number 409, a bad value
/// or a quota 422, each naming its fields; store errors as above.
impl From<WriteError> for Problem {
    fn from(e: WriteError) -> Self {
        let status = |r: Refusal| match r {
            Refusal::Conflict => StatusCode::CONFLICT,
            Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let fields = |errors: Vec<vxguard_store::error::FieldError>| {
            errors.into_iter().map(FieldError::from).collect()
        };
        // The store's words, where the problem's detail is them.
        let text = e.to_string();
        match e {
            WriteError::NotFound => Problem::not_found(),
            WriteError::Stale => Problem::stale(),
            WriteError::Exists(_) => Problem::conflict(text),
            WriteError::Field {
                refusal,
                pointer,
                detail,
            } => Problem::field(status(refusal), &pointer, detail),
            WriteError::PortTaken => Problem::field(StatusCode::CONFLICT, "/ports", text),
            WriteError::Invalid {
                refusal, errors, ..
            } => Problem::invalid(text, fields(errors)).with_status(status(refusal)),
            WriteError::OverQuota(errors) => Problem::invalid(text, fields(errors)),
            WriteError::Forbidden(_) => Problem::forbidden(text),
            WriteError::Store(e) => Problem::from(e),
        }
    }
}

impl From<vxguard_store::error::FieldError> for FieldError {
    fn from(e: vxguard_store::error::FieldError) -> Self {
        FieldError {
            pointer: e.pointer,
            object: e.object,
            detail: e.detail,
        }
    }
}

/// A body that does not deserialise: 422 naming the field as a JSON
/// pointer into the body (`/sites/0/site`) and serde's reason (the write
/// path's reading of it).
impl From<serde_path_to_error::Error<serde_json::Error>> for Problem {
    fn from(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        Problem::from(WriteError::from(e))
    }
}

impl From<anyhow::Error> for Problem {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = format!("{e:#}"), "internal error");
        Problem::internal()
    }
}

pub type ApiResult<T> = Result<T, Problem>;

#[cfg(test)]
mod tests {
    use super::Problem;
    use vxguard_store::StoreError;

    #[test]
    fn store_errors_map_to_statuses() {
        let p = |e: StoreError| Problem::from(e);
        assert_eq!(p(StoreError::NotFound).status, 404);
        let c = p(StoreError::Conflict { what: "email" });
        assert_eq!(c.status, 409);
        assert_eq!(c.errors[0].pointer.as_deref(), Some("/email"));
        assert_eq!(p(StoreError::Stale).status, 412);
        let corrupt = StoreError::Corrupt {
            what: "role".into(),
        };
        assert_eq!(p(corrupt).status, 500);
        assert_eq!(
            p(StoreError::Database(sqlx::Error::RowNotFound)).status,
            500
        );
    }

    #[test]
    fn write_errors_keep_their_answers() {
        use vxguard_store::error::{FieldError, Refusal, WriteError};
        let p = |e: WriteError| Problem::from(e);
        assert_eq!(p(WriteError::NotFound).status, 404);
        assert_eq!(p(WriteError::Stale).status, 412);
        let e = p(WriteError::Exists("rule \"7\" already exists".into()));
        assert_eq!(
            (e.status, e.detail.as_str()),
            (409, "rule \"7\" already exists")
        );
        assert!(e.errors.is_empty());
        let e = p(WriteError::PortTaken);
        assert_eq!(e.status, 409);
        assert_eq!(
            e.detail,
            "/ports: a port of this network is already attached to another network"
        );
        assert_eq!(e.errors[0].pointer.as_deref(), Some("/ports"));
        let e = p(WriteError::Field {
            refusal: Refusal::Invalid,
            pointer: "/cidr".into(),
            detail: "bad".into(),
        });
        assert_eq!((e.status, e.detail.as_str()), (422, "/cidr: bad"));
        let one = FieldError {
            pointer: None,
            object: Some("quotas/rules".into()),
            detail: "over".into(),
        };
        let e = p(WriteError::Invalid {
            refusal: Refusal::Conflict,
            detail: "the change cannot be allocated".into(),
            errors: vec![one.clone()],
        });
        assert_eq!((e.status, e.title.as_str()), (409, "Conflict"));
        assert_eq!(e.detail, "the change cannot be allocated");
        assert_eq!(e.errors[0].object.as_deref(), Some("quotas/rules"));
        let e = p(WriteError::OverQuota(vec![one]));
        assert_eq!(e.status, 422);
        assert_eq!(e.detail, "the change is over the tenant's quota");
    }
}
