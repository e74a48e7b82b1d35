//! A tenant's policy as a whole: putting its rules in a new order (one
//! change), and previewing a change to its rules on the devices before it
//! is made (`vxguard_store::policy`).

use super::extract::{typed, with_job, JsonBody, Page};
use super::objects::Declared;
use super::specs;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use vxguard_compiler::preview::{DeviceKind, Preview};
use vxguard_store::policy::{Edit, Placed};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOrder {
    /// Every rule of the policy, once, in the new order. Rules are evaluated
    /// in this order, whatever their numbers; a rule keeps its number when
    /// it moves. A rule created later goes right after the rule with the
    /// highest number below its own.
    pub order: Vec<RulePlace>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePlace {
    /// The rule's number.
    pub id: u32,
    /// The version it was read at (its ETag); when given and the rule has
    /// changed since, nothing is changed (412).
    #[serde(default)]
    pub version: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/policy/order", tag = "policy", operation_id = "reorder_rules",
    params(("tenant" = String, Path)), request_body = RuleOrder, security(("bearer" = [])),
    responses((status = 200, body = Page<Declared>, description = "the rules in their new order", headers(("X-Job" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn reorder(
    State(st): State<AppState>,
    scope: TenantScope,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    scope.require_write()?;
    let req: RuleOrder = typed(b)?;
    let order: Vec<Placed> = req
        .order
        .iter()
        .map(|p| Placed {
            id: p.id,
            version: p.version,
        })
        .collect();
    let out = st
        .store
        .reorder_rules(&scope.who, &scope.tenant, &order)
        .await?;
    let page = Page {
        items: out.rules.into_iter().map(Declared::from).collect(),
        next_cursor: None,
    };
    Ok(with_job(axum::Json(page).into_response(), out.job))
}

/// A change to preview: exactly one of the fields.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleChange {
    /// A new rule.
    #[serde(default)]
    #[schema(value_type = Option<specs::Rule>)]
    pub create: Option<Value>,
    /// A rule replaced (its `id` names it).
    #[serde(default)]
    #[schema(value_type = Option<specs::Rule>)]
    pub replace: Option<Value>,
    /// The number of a rule to delete.
    #[serde(default)]
    pub delete: Option<u32>,
    /// Every rule number, in the new order (as `order` of `reorder_rules`).
    #[serde(default)]
    pub reorder: Option<Vec<u32>>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyPreview {
    /// Devices whose configuration would change; unchanged ones are left out.
    pub devices: Vec<DeviceChange>,
    /// Warnings about the tenant after the change, e.g. shadowed rules.
    pub warnings: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceChange {
    /// `router` (VyOS `set` commands) or `hypervisor` (OpenFlow flows).
    pub kind: String,
    pub device: String,
    /// Lines that would go.
    pub removed: Vec<String>,
    /// Lines that would come.
    pub added: Vec<String>,
}

impl From<Preview> for PolicyPreview {
    fn from(p: Preview) -> Self {
        // Key material never leaves the server, even in a diff.
        let redact = |v: Vec<String>| -> Vec<String> {
            v.into_iter().map(|l| crate::redact::redact(&l)).collect()
        };
        PolicyPreview {
            devices: p
                .devices
                .into_iter()
                .map(|d| DeviceChange {
                    kind: match d.kind {
                        DeviceKind::Router => "router",
                        DeviceKind::Hypervisor => "hypervisor",
                    }
                    .into(),
                    device: d.device,
                    removed: redact(d.removed),
                    added: redact(d.added),
                })
                .collect(),
            warnings: p.warnings.into_iter().map(|w| w.message).collect(),
        }
    }
}

/// Field errors of a rule body name it inside the request (`/create/...`).
fn under(mut p: Problem, prefix: &str) -> Problem {
    for e in &mut p.errors {
        if let Some(ptr) = &mut e.pointer {
            // A new order's errors name `/order/i`: here that is `/reorder/i`.
            let rest = match prefix {
                "/reorder" => ptr.strip_prefix("/order").unwrap_or(ptr),
                _ => ptr,
            };
            *ptr = format!("{prefix}{rest}");
        }
    }
    p
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/rules/preview", tag = "policy", operation_id = "preview_rule_change",
    params(("tenant" = String, Path)), request_body = RuleChange, security(("bearer" = [])),
    responses((status = 200, body = PolicyPreview, description = "what the change would do on the devices; nothing is written"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn preview(
    State(st): State<AppState>,
    scope: TenantScope,
    JsonBody(b): JsonBody,
) -> ApiResult<axum::Json<PolicyPreview>> {
    scope.require_write()?;
    let c: RuleChange = typed(b)?;
    let given = [
        c.create.is_some(),
        c.replace.is_some(),
        c.delete.is_some(),
        c.reorder.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            "give exactly one of create, replace, delete and reorder",
        ));
    }
    let (edit, prefix) = if let Some(v) = c.create {
        (Edit::Create(v), "/create")
    } else if let Some(v) = c.replace {
        let name = match &v["id"] {
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(Problem::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/replace/id",
                    "must be the number of the rule to replace",
                ))
            }
        };
        (Edit::Replace(name, v), "/replace")
    } else if let Some(id) = c.delete {
        (Edit::Delete(id.to_string()), "/delete")
    } else {
        (Edit::Reorder(c.reorder.unwrap_or_default()), "/reorder")
    };
    // A preview compiles the platform twice: it costs more of the budget,
    // and runs one at a time per tenant.
    let _running = expensive_call(&st, &scope).await?;
    let p = st
        .store
        .preview_rules(&scope.who, &scope.tenant, edit)
        .await
        .map_err(|e| under(e.into(), prefix))?;
    Ok(axum::Json(p.into()))
}

/// Admits an expensive call (a preview) of the scope's tenant: it spends
/// [`crate::fairness::EXPENSIVE_COST`] of the tenant's request budget
/// (platform admins excepted) and holds the tenant's one expensive slot.
pub async fn expensive_call(
    st: &AppState,
    scope: &TenantScope,
) -> ApiResult<crate::fairness::Expensive> {
    if scope.who.role != crate::auth::Role::PlatformAdmin {
        let per_minute = crate::tenancy::request_rate(st, scope.id()).await?;
        st.fairness.admit(
            scope.id(),
            scope.who.subject.strip_prefix("token:"),
            per_minute,
            crate::fairness::EXPENSIVE_COST,
        )?;
    }
    st.fairness.expensive(scope.id()).await
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/policy/order", post(reorder))
        .route("/api/v1/tenants/{tenant}/rules/preview", post(preview))
}
