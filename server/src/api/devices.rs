//! Where each router and hypervisor stands: latest and applied revision,
//! state (`applied`, `pending`, `failed`, `drifted`), last error and drift.
//! Platform admins only, like revisions (`driver::status` is the rule).

use crate::auth::Principal;
use crate::driver::status::{self, DeviceStatus};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

/// Every device of the intent: routers first, then hypervisors, by name.
#[derive(Serialize, ToSchema)]
pub struct Devices {
    pub items: Vec<DeviceStatus>,
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", operation_id = "list_devices",
    security(("bearer" = [])),
    responses((status = 200, body = Devices), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(State(st): State<AppState>, who: Principal) -> ApiResult<Json<Devices>> {
    list_devices(&st, &who).await.map(Json)
}

/// The devices' states, for the API and the admin console.
pub async fn list_devices(st: &AppState, who: &Principal) -> ApiResult<Devices> {
    who.require_platform_admin()?;
    Ok(Devices {
        items: status::list(&st.db).await?,
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/devices", get(list))
}
