//! Tenants: platform admins create and delete them; a tenant's admins may
//! rename it, set its policy's default action and whether its members may
//! add their own WireGuard clients.

use super::extract::{if_match, with_etag, with_job, JsonBody, Page, PageQuery, Q};
use super::users::{self, UserOut};
use crate::auth::{Principal, Role};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vxguard_compiler::ids::Name;
use vxguard_compiler::intent::Action;
use vxguard_store::intent::{empty_tenant, Loaded};
use vxguard_store::tenants as store_tenants;
use vxguard_store::write;

#[derive(Serialize, ToSchema, Clone)]
pub struct TenantOut {
    pub slug: String,
    pub name: String,
    /// What the policy does with traffic no rule matches.
    #[schema(value_type = String, example = "drop")]
    pub default_action: String,
    /// Whether the tenant's members may add their own WireGuard clients
    /// (and revoke or re-key only those they added). Off by default.
    pub members_add_clients: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<store_tenants::Tenant> for TenantOut {
    fn from(t: store_tenants::Tenant) -> Self {
        TenantOut {
            slug: t.slug,
            name: t.name,
            default_action: t.default_action,
            members_add_clients: t.members_add_clients,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantCreate {
    /// Lowercase letters, digits and dashes; never changes.
    pub slug: String,
    pub name: String,
    #[serde(default = "drop_by_default")]
    #[schema(value_type = Option<String>)]
    pub default_action: Action,
}

fn drop_by_default() -> Action {
    Action::Drop
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdate {
    pub name: String,
    #[schema(value_type = String)]
    pub default_action: Action,
    /// Whether the tenant's members may add their own WireGuard clients;
    /// left as it is when absent.
    #[serde(default)]
    pub members_add_clients: Option<bool>,
}

fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/name",
            "must be 1-200 characters",
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", operation_id = "list_tenants",
    params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<TenantOut>), (status = 401, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    who: Principal,
    Q(q): Q<PageQuery>,
) -> ApiResult<axum::Json<Page<TenantOut>>> {
    let limit = q.limit()?;
    // Tenant users see their own tenant only.
    let only = if who.role == Role::PlatformAdmin {
        None
    } else {
        Some(who.tenant_id.unwrap_or_default())
    };
    let rows: Vec<TenantOut> =
        store_tenants::list(st.store.pool(), only, q.cursor.as_deref(), limit)
            .await?
            .into_iter()
            .map(TenantOut::from)
            .collect();
    Ok(axum::Json(Page::new(rows, limit, |t| t.slug.clone())))
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", operation_id = "create_tenant",
    request_body = TenantCreate, security(("bearer" = [])),
    responses((status = 201, body = TenantOut, headers(("ETag" = String), ("X-Job" = i64))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    who: Principal,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    who.require_platform_admin()?;
    let req: TenantCreate = super::extract::typed(b)?;
    let slug = check_create(&req)?;
    let mut tx = st.store.begin().await?;
    let (t, _, job) = insert_tenant(&st, &mut tx, &who, &slug, &req).await?;
    vxguard_store::Store::commit(tx).await?;
    let mut r = with_etag(StatusCode::CREATED, t.version, &t);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/tenants/{slug}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(with_job(r, job))
}

/// A new tenant's slug and name, checked.
/// The slug and the name of a new tenant, both checked: a bad slug does
/// not hide a bad name (the portal shows each error at its field at once).
fn check_create(req: &TenantCreate) -> ApiResult<Name> {
    let slug = Name::new(&req.slug)
        .map_err(|e| Problem::field(StatusCode::UNPROCESSABLE_ENTITY, "/slug", e.to_string()));
    match (slug, check_name(&req.name)) {
        (Ok(slug), Ok(())) => Ok(slug),
        (Err(p), Ok(())) | (Ok(_), Err(p)) => Err(p),
        (Err(a), Err(b)) => Err(Problem::invalid(
            "the tenant is not valid",
            [a.errors, b.errors].concat(),
        )),
    }
}

/// Creates a tenant inside the caller's transaction: the intent is checked
/// and allocated, the tenant's job queued and audited. Returns the tenant,
/// its id and the job.
async fn insert_tenant(
    st: &AppState,
    tx: &mut sqlx::PgConnection,
    who: &Principal,
    slug: &Name,
    req: &TenantCreate,
) -> ApiResult<(TenantOut, Uuid, i64)> {
    let mut loaded = write::begin(&mut *tx).await?;
    if loaded.intent.tenants.iter().any(|t| &t.slug == slug) {
        return Err(Problem::field(
            StatusCode::CONFLICT,
            "/slug",
            format!("tenant {slug} already exists"),
        ));
    }
    loaded
        .intent
        .tenants
        .push(empty_tenant(slug, &req.name, req.default_action));
    let a = write::check_and_allocate(&mut *tx, &loaded, None, who, &st.store.judge()).await?;
    let id = Uuid::new_v4();
    let t: TenantOut = store_tenants::insert(
        &mut *tx,
        id,
        slug.as_str(),
        &req.name,
        req.default_action.as_str(),
    )
    .await?
    .into();
    let job = write::finish(
        &mut *tx,
        &loaded.intent,
        &a,
        who,
        Some(id),
        "tenant.create",
        &format!("tenants/{slug}"),
        None,
        Some(serde_json::to_value(&t).map_err(anyhow::Error::from)?),
    )
    .await?;
    Ok((t, id, job))
}

/// What creating a tenant with its first admin made.
pub struct TenantWithAdmin {
    pub tenant: TenantOut,
    pub admin: UserOut,
    /// The job that compiles the new tenant.
    pub job: i64,
}

/// The first admin's fields, under `/admin` in problems.
fn under_admin(mut p: Problem) -> Problem {
    for e in &mut p.errors {
        if let Some(ptr) = &mut e.pointer {
            *ptr = format!("/admin{ptr}");
        }
    }
    p
}

/// Creates a tenant and its first tenant admin in one transaction: both or
/// neither (platform admins only). Every bad field of either is reported
/// at once, the admin's under `/admin/...`.
pub async fn create_with_admin(
    st: &AppState,
    who: &Principal,
    req: TenantCreate,
    admin_email: String,
    admin_password: String,
) -> ApiResult<TenantWithAdmin> {
    who.require_platform_admin()?;
    let slug = check_create(&req);
    // As `users::check_email` keeps it.
    let email = admin_email.trim().to_lowercase();
    let user = users::prepare_user(
        users::UserCreate {
            email: admin_email,
            password: admin_password,
            role: Role::TenantAdmin,
            tenant: None,
        },
        true,
    )
    .await
    .map_err(under_admin);
    let (slug, user) = match (slug, user) {
        (Ok(s), Ok(u)) => (s, u),
        (s, u) => {
            // What the transaction would refuse next is said now too: a
            // bad slug does not hide an email that has an account, nor a
            // bad email a slug that is taken (the transaction checks both
            // again).
            let mut taken = Vec::new();
            if let Ok(slug) = &s {
                if store_tenants::by_slug(st.store.pool(), slug.as_str())
                    .await?
                    .is_some()
                {
                    taken.push(crate::problem::FieldError {
                        pointer: Some("/slug".into()),
                        object: None,
                        detail: format!("tenant {slug} already exists"),
                    });
                }
            }
            let email_ok = match &u {
                Ok(_) => true,
                Err(p) => !p
                    .errors
                    .iter()
                    .any(|e| e.pointer.as_deref() == Some("/admin/email")),
            };
            if email_ok {
                if vxguard_store::users::signing_in(st.store.pool(), &email)
                    .await?
                    .is_some()
                {
                    taken.push(crate::problem::FieldError {
                        pointer: Some("/admin/email".into()),
                        object: None,
                        detail: "a user with this email exists".into(),
                    });
                }
            }
            let errors: Vec<_> = [s.err(), u.err()]
                .into_iter()
                .flatten()
                .flat_map(|p| p.errors)
                .chain(taken)
                .collect();
            return Err(Problem::invalid(
                "the tenant and its admin were not created",
                errors,
            ));
        }
    };
    let mut tx = st.store.begin().await?;
    let (tenant, id, job) = insert_tenant(st, &mut tx, who, &slug, &req).await?;
    let admin = users::insert_user(&mut tx, who, user, Some(id))
        .await
        .map_err(under_admin)?;
    vxguard_store::Store::commit(tx).await?;
    Ok(TenantWithAdmin { tenant, admin, job })
}

/// The tenant as stored, checked against `If-Match`, and its index in the
/// loaded intent (inside the write transaction).
async fn current(
    tx: &mut sqlx::PgConnection,
    loaded: &Loaded,
    id: Uuid,
    want: Option<i64>,
) -> ApiResult<(TenantOut, usize)> {
    let t: TenantOut = store_tenants::get(&mut *tx, id)
        .await?
        .ok_or_else(Problem::not_found)?
        .into();
    if want.is_some_and(|v| v != t.version) {
        return Err(Problem::stale());
    }
    let ti = loaded.tenant_index(id).ok_or_else(Problem::not_found)?;
    Ok((t, ti))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "tenants", operation_id = "get_tenant",
    params(("tenant" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = TenantOut, headers(("ETag" = String))), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_one(State(st): State<AppState>, scope: TenantScope) -> ApiResult<Response> {
    let mut conn = st.store.pool().acquire().await?;
    let t: TenantOut = store_tenants::get(&mut conn, scope.id())
        .await?
        .ok_or_else(Problem::not_found)?
        .into();
    Ok(with_etag(StatusCode::OK, t.version, &t))
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}", tag = "tenants", operation_id = "update_tenant",
    params(("tenant" = String, Path), ("If-Match" = Option<String>, Header)), request_body = TenantUpdate, security(("bearer" = [])),
    responses((status = 200, body = TenantOut, headers(("ETag" = String), ("X-Job" = i64))), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(st): State<AppState>,
    scope: TenantScope,
    headers: HeaderMap,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    scope.require_write()?;
    let req: TenantUpdate = super::extract::typed(b)?;
    let want = if_match(&headers)?;
    let (t, job) = update_tenant(&st, &scope, &req, want).await?;
    Ok(with_job(with_etag(StatusCode::OK, t.version, &t), job))
}

/// Renames the tenant and sets its default action (`PUT`'s work, also the
/// portal's default action form): checked and compiled as the tenant's
/// change, with its job and audit entry, only if the tenant is still at
/// version `want` when given. Returns the tenant and the job.
pub async fn update_tenant(
    st: &AppState,
    scope: &TenantScope,
    req: &TenantUpdate,
    want: Option<i64>,
) -> ApiResult<(TenantOut, i64)> {
    scope.require_write()?;
    check_name(&req.name)?;
    let mut tx = st.store.begin().await?;
    let mut loaded = write::begin_tenant(&mut tx, scope.id()).await?;
    let (before, ti) = current(&mut tx, &loaded, scope.id(), want).await?;
    loaded.intent.tenants[ti].name = req.name.clone();
    loaded.intent.tenants[ti].policy.default_action = req.default_action;
    // Judged as this tenant's change (see `write::check_and_allocate_in`).
    let a = write::check_and_allocate_in(
        &mut tx,
        &loaded,
        None,
        Some(ti),
        &scope.who,
        &st.store.judge(),
    )
    .await?;
    let members_add_clients = req
        .members_add_clients
        .unwrap_or(before.members_add_clients);
    let t: TenantOut = store_tenants::update(
        &mut tx,
        scope.id(),
        &req.name,
        req.default_action.as_str(),
        members_add_clients,
    )
    .await?
    .into();
    let to_json = |t: &TenantOut| serde_json::to_value(t).ok();
    let job = write::finish_tenant(
        &mut tx,
        &loaded,
        &a,
        &scope.who,
        "tenant.update",
        &format!("tenants/{}", t.slug),
        to_json(&before),
        to_json(&t),
    )
    .await?;
    vxguard_store::Store::commit(tx).await?;
    Ok((t, job))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}", tag = "tenants", operation_id = "delete_tenant",
    params(("tenant" = String, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 204, headers(("X-Job" = i64))), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)))]
pub async fn delete(
    State(st): State<AppState>,
    scope: TenantScope,
    headers: HeaderMap,
) -> ApiResult<Response> {
    scope.who.require_platform_admin()?;
    let want = if_match(&headers)?;
    let mut tx = st.store.begin().await?;
    let mut loaded = write::begin(&mut tx).await?;
    let (before, ti) = current(&mut tx, &loaded, scope.id(), want).await?;
    loaded.intent.tenants.remove(ti);
    loaded.tenant_ids.remove(ti);
    let a =
        write::check_and_allocate(&mut tx, &loaded, None, &scope.who, &st.store.judge()).await?;
    store_tenants::delete(&mut tx, scope.id()).await?;
    let job = write::finish(
        &mut tx,
        &loaded.intent,
        &a,
        &scope.who,
        Some(scope.id()),
        "tenant.delete",
        &format!("tenants/{}", before.slug),
        serde_json::to_value(&before).ok(),
        None,
    )
    .await?;
    vxguard_store::Store::commit(tx).await?;
    Ok(with_job(StatusCode::NO_CONTENT.into_response(), job))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", get(list).post(create))
        .route(
            "/api/v1/tenants/{tenant}",
            get(get_one).put(update).delete(delete),
        )
}
