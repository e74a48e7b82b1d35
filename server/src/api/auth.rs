//! `/auth`: log in, refresh, log out, and who am I.

use super::extract::JsonBody;
use crate::auth::principal::Source;
use crate::auth::session::{self, LoginRequest, RefreshRequest, TokenPair};
use crate::auth::{Principal, Role};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem, headers(("Retry-After" = u64)))))]
pub async fn login(
    State(st): State<AppState>,
    Source(source): Source,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<TokenPair>> {
    let req: LoginRequest = super::extract::typed(b)?;
    session::login(&st, req, &source).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = Problem), (status = 401, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn refresh(
    State(st): State<AppState>,
    Source(source): Source,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<TokenPair>> {
    let req: RefreshRequest = super::extract::typed(b)?;
    session::refresh(&st, &req.refresh_token, &source)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    request_body = RefreshRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn logout(State(st): State<AppState>, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let req: RefreshRequest = super::extract::typed(b)?;
    session::logout(&st, &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `user:<email>` or `token:<name>`.
    pub subject: String,
    pub role: Role,
    /// The caller's tenant slug; absent for platform admins.
    pub tenant: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", operation_id = "me", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(State(st): State<AppState>, who: Principal) -> ApiResult<Json<Me>> {
    let tenant: Option<String> = match who.tenant_id {
        Some(id) => vxguard_store::tenants::slug(st.store.pool(), id).await?,
        None => None,
    };
    if who.tenant_id.is_some() && tenant.is_none() {
        return Err(Problem::unauthorized(
            "the tenant of this token no longer exists",
        ));
    }
    Ok(Json(Me {
        subject: who.subject,
        role: who.role,
        tenant,
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
}
