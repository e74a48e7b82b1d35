//! The REST API under `/api/v1`: JSON in, JSON out, errors as RFC 9457
//! problems, cursor pagination, ETag/If-Match on updates.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod devices;
pub mod extract;
pub mod health;
pub mod jobs;
pub mod network_health;
pub mod objects;
pub mod openapi;
pub mod policy;
pub mod quotas;
pub mod revisions;
pub mod specs;
pub mod tenants;
pub mod tokens;
pub mod users;

pub use extract::{
    check_nul, etag, if_match, page_limit, refuse_nul, typed, with_etag, with_job, JsonBody, Page,
    PageQuery, P, Q,
};

use crate::problem::Problem;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::Router;

/// The API alone, with its JSON 404 for unknown paths.
pub fn router(st: AppState) -> Router {
    routes()
        .route_layer(axum::middleware::from_fn(refuse_nul))
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
        .merge(network_health::routes())
        .merge(audit::routes())
        .merge(openapi::routes())
}
