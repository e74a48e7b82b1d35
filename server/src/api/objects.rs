//! Declared objects over HTTP: sites, routers and hypervisors (platform;
//! everyone signed in may read their names, platform admins read all and
//! write) and networks,
//! services, rules and clients (inside a tenant). One generic
//! implementation; the macro below only gives each kind its documented
//! routes.

use super::extract::{if_match, with_etag, with_job, JsonBody, Page, PageQuery, P, Q};
use super::specs;
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
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use vxguard_store::kind::Kind;
use vxguard_store::objects;
use vxguard_store::write::Op;

/// A declared object as the API returns it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Declared {
    pub name: String,
    /// Increases with every change; the ETag is `"<version>"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The object itself, as it was accepted (defaults filled in).
    #[schema(value_type = Object)]
    pub spec: Value,
}

impl From<objects::Declared> for Declared {
    fn from(o: objects::Declared) -> Self {
        Declared {
            name: o.name,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
            spec: o.spec,
        }
    }
}

pub async fn list(
    st: &AppState,
    kind: Kind,
    tenant: Option<uuid::Uuid>,
    q: PageQuery,
) -> ApiResult<Page<Declared>> {
    let limit = q.limit()?;
    if kind == Kind::Rule
        && q.cursor
            .as_deref()
            .is_some_and(|c| c.parse::<u32>().is_err())
    {
        return Err(Problem::field(
            StatusCode::BAD_REQUEST,
            "cursor",
            "must be a rule number",
        ));
    }
    let items = objects::list(st.store.pool(), kind, tenant, q.cursor.as_deref(), limit)
        .await?
        .into_iter()
        .map(Declared::from)
        .collect();
    Ok(Page::new(items, limit, |o| o.name.clone()))
}

pub async fn read(
    st: &AppState,
    kind: Kind,
    tenant: Option<uuid::Uuid>,
    name: &str,
) -> ApiResult<Response> {
    let o = Declared::from(
        objects::get(st.store.pool(), kind, tenant, name)
            .await?
            .ok_or_else(Problem::not_found)?,
    );
    Ok(with_etag(StatusCode::OK, o.version, &o))
}

/// What a caller who is not a platform admin sees of a platform object:
/// the names a tenant picks (sites, gateway routers with their site,
/// hypervisors for ports), not how the platform is reached or built
/// (addresses, API endpoints and certificate pins, OpenFlow targets,
/// public blocks, VyOS versions).
fn for_caller(who: &Principal, kind: Kind, mut o: Declared) -> Declared {
    if who.role == Role::PlatformAdmin {
        return o;
    }
    let keep: &[&str] = match kind {
        Kind::Router | Kind::Hypervisor => &["name", "site"],
        _ => &["name"],
    };
    if let serde_json::Value::Object(m) = &mut o.spec {
        m.retain(|k, _| keep.contains(&k.as_str()));
    }
    o
}

/// A page of platform objects, as `who` may see them.
pub async fn list_platform(
    st: &AppState,
    who: &Principal,
    kind: Kind,
    q: PageQuery,
) -> ApiResult<Page<Declared>> {
    let mut page = list(st, kind, None, q).await?;
    page.items = page
        .items
        .into_iter()
        .map(|o| for_caller(who, kind, o))
        .collect();
    Ok(page)
}

/// One platform object, as `who` may see it.
pub async fn read_platform(
    st: &AppState,
    who: &Principal,
    kind: Kind,
    name: &str,
) -> ApiResult<Response> {
    let o = Declared::from(
        objects::get(st.store.pool(), kind, None, name)
            .await?
            .ok_or_else(Problem::not_found)?,
    );
    Ok(with_etag(
        StatusCode::OK,
        o.version,
        &for_caller(who, kind, o),
    ))
}

pub async fn write(
    st: &AppState,
    who: &Principal,
    kind: Kind,
    scope: Option<&TenantScope>,
    name: Option<&str>,
    op: Op,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let creating = matches!(op, Op::Create(_));
    let out = st
        .store
        .change(
            who,
            kind,
            scope.map(|s| &s.tenant),
            name,
            op,
            if_match(headers)?,
        )
        .await?;
    let r = match out.object.map(Declared::from) {
        Some(o) => {
            let mut r = with_etag(
                if creating {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                o.version,
                &o,
            );
            if creating {
                let loc = match scope {
                    Some(s) => format!(
                        "/api/v1/tenants/{}/{}/{}",
                        s.tenant.slug,
                        kind.plural(),
                        o.name
                    ),
                    None => format!("/api/v1/{}/{}", kind.plural(), o.name),
                };
                if let Ok(v) = HeaderValue::from_str(&loc) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
            }
            r
        }
        None => StatusCode::NO_CONTENT.into_response(),
    };
    Ok(with_job(r, out.job))
}

/// Who may write a tenant's object of `kind`: its admins (and platform
/// admins); for clients, also its members when the tenant allows it (then
/// only the clients they added: the store checks that).
async fn require_write(st: &AppState, scope: &TenantScope, kind: Kind) -> ApiResult<()> {
    if kind == Kind::Client {
        scope.require_client_write(st).await
    } else {
        scope.require_write()
    }
}

/// The documented answer of a platform read.
const PLATFORM_READ: &str = "Platform admins get the whole spec; everyone else only what a tenant \
    picks by: `name`, and `site` for routers and hypervisors.";

macro_rules! platform_kind {
    ($m:ident, $kind:expr, $spec:ty, $coll:literal, $item:literal, $tag:literal,
     $list:literal, $create:literal, $get:literal, $put:literal, $del:literal) => {
        pub mod $m {
            use super::*;

            #[utoipa::path(get, path = $coll, tag = $tag, operation_id = $list,
                params(PageQuery), security(("bearer" = [])),
                responses((status = 200, body = Page<Declared>, description = PLATFORM_READ), (status = 401, body = Problem)))]
            pub async fn list(State(st): State<AppState>, who: Principal, Q(q): Q<PageQuery>) -> ApiResult<axum::Json<Page<Declared>>> {
                super::list_platform(&st, &who, $kind, q).await.map(axum::Json)
            }

            #[utoipa::path(post, path = $coll, tag = $tag, operation_id = $create,
                request_body = $spec, security(("bearer" = [])),
                responses((status = 201, body = Declared, headers(("ETag" = String), ("X-Job" = i64))),
                    (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
            pub async fn create(State(st): State<AppState>, who: Principal, headers: HeaderMap, JsonBody(b): JsonBody) -> ApiResult<Response> {
                who.require_platform_admin()?;
                super::write(&st, &who, $kind, None, None, Op::Create(b), &headers).await
            }

            #[utoipa::path(get, path = $item, tag = $tag, operation_id = $get,
                params(("name" = String, Path)), security(("bearer" = [])),
                responses((status = 200, body = Declared, headers(("ETag" = String)), description = PLATFORM_READ), (status = 401, body = Problem), (status = 404, body = Problem)))]
            pub async fn get_one(State(st): State<AppState>, who: Principal, P(name): P<String>) -> ApiResult<Response> {
                super::read_platform(&st, &who, $kind, &name).await
            }

            #[utoipa::path(put, path = $item, tag = $tag, operation_id = $put,
                params(("name" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being replaced")),
                request_body = $spec, security(("bearer" = [])),
                responses((status = 200, body = Declared, headers(("ETag" = String), ("X-Job" = i64))),
                    (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
                    (status = 409, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
            pub async fn put(State(st): State<AppState>, who: Principal, P(name): P<String>, headers: HeaderMap, JsonBody(b): JsonBody) -> ApiResult<Response> {
                who.require_platform_admin()?;
                super::write(&st, &who, $kind, None, Some(&name), Op::Replace(b), &headers).await
            }

            #[utoipa::path(delete, path = $item, tag = $tag, operation_id = $del,
                params(("name" = String, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
                responses((status = 204, headers(("X-Job" = i64))), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
            pub async fn delete(State(st): State<AppState>, who: Principal, P(name): P<String>, headers: HeaderMap) -> ApiResult<Response> {
                who.require_platform_admin()?;
                super::write(&st, &who, $kind, None, Some(&name), Op::Delete, &headers).await
            }

            pub fn routes() -> Router<AppState> {
                Router::new()
                    .route($coll, get(list).post(create))
                    .route($item, get(get_one).put(put).delete(delete))
            }
        }
    };
}

/// Tenant kinds: `@rw` gives a kind its list, read, replace and delete
/// routes; the plain form adds the generic create.
macro_rules! tenant_kind {
    (@rw $kind:expr, $spec:ty, $coll:literal, $item:literal, $tag:literal,
     $list:literal, $get:literal, $put:literal, $del:literal) => {
            #[utoipa::path(get, path = $coll, tag = $tag, operation_id = $list,
                params(("tenant" = String, Path), PageQuery), security(("bearer" = [])),
                responses((status = 200, body = Page<Declared>), (status = 401, body = Problem), (status = 404, body = Problem)))]
            pub async fn list(State(st): State<AppState>, scope: TenantScope, Q(q): Q<PageQuery>) -> ApiResult<axum::Json<Page<Declared>>> {
                super::list(&st, $kind, Some(scope.id()), q).await.map(axum::Json)
            }

            #[utoipa::path(get, path = $item, tag = $tag, operation_id = $get,
                params(("tenant" = String, Path), ("name" = String, Path)), security(("bearer" = [])),
                responses((status = 200, body = Declared, headers(("ETag" = String))), (status = 401, body = Problem), (status = 404, body = Problem)))]
            pub async fn get_one(State(st): State<AppState>, scope: TenantScope, path: P<(String, String)>) -> ApiResult<Response> {
                let P((_, name)) = path;
                super::read(&st, $kind, Some(scope.id()), &name).await
            }

            #[utoipa::path(put, path = $item, tag = $tag, operation_id = $put,
                params(("tenant" = String, Path), ("name" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being replaced")),
                request_body = $spec, security(("bearer" = [])),
                responses((status = 200, body = Declared, headers(("ETag" = String), ("X-Job" = i64))),
                    (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
                    (status = 409, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
            pub async fn put(State(st): State<AppState>, scope: TenantScope, path: P<(String, String)>, headers: HeaderMap, JsonBody(b): JsonBody) -> ApiResult<Response> {
                let P((_, name)) = path;
                super::require_write(&st, &scope, $kind).await?;
                super::write(&st, &scope.who, $kind, Some(&scope), Some(&name), Op::Replace(b), &headers).await
            }

            #[utoipa::path(delete, path = $item, tag = $tag, operation_id = $del,
                params(("tenant" = String, Path), ("name" = String, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
                responses((status = 204, headers(("X-Job" = i64))), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
            pub async fn delete(State(st): State<AppState>, scope: TenantScope, path: P<(String, String)>, headers: HeaderMap) -> ApiResult<Response> {
                let P((_, name)) = path;
                super::require_write(&st, &scope, $kind).await?;
                super::write(&st, &scope.who, $kind, Some(&scope), Some(&name), Op::Delete, &headers).await
            }
    };
    ($m:ident, $kind:expr, $spec:ty, $coll:literal, $item:literal, $tag:literal,
     $list:literal, $create:literal, $get:literal, $put:literal, $del:literal) => {
        pub mod $m {
            use super::*;

            tenant_kind!(@rw $kind, $spec, $coll, $item, $tag, $list, $get, $put, $del);

            #[utoipa::path(post, path = $coll, tag = $tag, operation_id = $create,
                params(("tenant" = String, Path)), request_body = $spec, security(("bearer" = [])),
                responses((status = 201, body = Declared, headers(("ETag" = String), ("X-Job" = i64))),
                    (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
                    (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
            pub async fn create(State(st): State<AppState>, scope: TenantScope, headers: HeaderMap, JsonBody(b): JsonBody) -> ApiResult<Response> {
                scope.require_write()?;
                super::write(&st, &scope.who, $kind, Some(&scope), None, Op::Create(b), &headers).await
            }

            pub fn routes() -> Router<AppState> {
                Router::new()
                    .route($coll, get(list).post(create))
                    .route($item, get(get_one).put(put).delete(delete))
            }
        }
    };
}

platform_kind!(
    sites,
    Kind::Site,
    specs::Site,
    "/api/v1/sites",
    "/api/v1/sites/{name}",
    "platform",
    "list_sites",
    "create_site",
    "get_site",
    "replace_site",
    "delete_site"
);
platform_kind!(
    routers,
    Kind::Router,
    specs::Router,
    "/api/v1/routers",
    "/api/v1/routers/{name}",
    "platform",
    "list_routers",
    "create_router",
    "get_router",
    "replace_router",
    "delete_router"
);
platform_kind!(
    hypervisors,
    Kind::Hypervisor,
    specs::Hypervisor,
    "/api/v1/hypervisors",
    "/api/v1/hypervisors/{name}",
    "platform",
    "list_hypervisors",
    "create_hypervisor",
    "get_hypervisor",
    "replace_hypervisor",
    "delete_hypervisor"
);
tenant_kind!(
    networks,
    Kind::Network,
    specs::Network,
    "/api/v1/tenants/{tenant}/networks",
    "/api/v1/tenants/{tenant}/networks/{name}",
    "tenant",
    "list_networks",
    "create_network",
    "get_network",
    "replace_network",
    "delete_network"
);
tenant_kind!(
    services,
    Kind::Service,
    specs::Service,
    "/api/v1/tenants/{tenant}/services",
    "/api/v1/tenants/{tenant}/services/{name}",
    "tenant",
    "list_services",
    "create_service",
    "get_service",
    "replace_service",
    "delete_service"
);
tenant_kind!(
    rules,
    Kind::Rule,
    specs::Rule,
    "/api/v1/tenants/{tenant}/rules",
    "/api/v1/tenants/{tenant}/rules/{name}",
    "policy",
    "list_rules",
    "create_rule",
    "get_rule",
    "replace_rule",
    "delete_rule"
);

/// Clients: list, read, replace and delete are generic; creation (which may
/// generate the key pair) is in `api::clients`.
pub mod clients_generic {
    use super::*;

    tenant_kind!(@rw Kind::Client, specs::Client, "/api/v1/tenants/{tenant}/clients", "/api/v1/tenants/{tenant}/clients/{name}", "clients",
        "list_clients", "get_client", "replace_client", "delete_client");
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(sites::routes())
        .merge(routers::routes())
        .merge(hypervisors::routes())
        .merge(networks::routes())
        .merge(services::routes())
        .merge(rules::routes())
        .route(
            "/api/v1/tenants/{tenant}/clients/{name}",
            get(clients_generic::get_one)
                .put(clients_generic::put)
                .delete(clients_generic::delete),
        )
}
