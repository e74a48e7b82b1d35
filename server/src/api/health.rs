//! Liveness and readiness.

use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[utoipa::path(get, path = "/healthz", tag = "health", operation_id = "healthz",
    responses((status = 200, description = "the process is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "health", operation_id = "readyz",
    responses((status = 200, description = "database reachable and migrated", body = String), (status = 503, body = Problem)))]
pub async fn readyz(State(st): State<AppState>) -> Response {
    match vxguard_store::db::migrated(st.store.pool()).await {
        Ok(true) => "ready".into_response(),
        Ok(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations are not applied",
        )
        .into_response(),
        Err(_) => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}
