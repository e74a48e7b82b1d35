//! Creating a WireGuard remote-access client. The caller either brings its
//! public key, or lets the server generate the pair: then the private key is
//! returned once, inside a ready `wg-quick` configuration, and never stored.
//! Either way the answer holds the configuration template (everything but
//! the private key), also at `GET .../clients/{name}/config`.

use super::extract::{with_etag, with_job, JsonBody, Page, PageQuery, Q};
use super::objects::Declared;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use app::wg::{ClientConfig, ConfigPeer};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::model;
use vxguard_store::intent as store_intent;
use vxguard_store::kind::Kind;
use vxguard_store::write::{self, Op};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCreate {
    pub name: String,
    /// Base64 Curve25519 public key; omit it to have one generated.
    #[serde(default)]
    pub public_key: Option<String>,
    /// Networks the client may reach; empty means all of the tenant's.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// When the client stops working: RFC 3339 (a time without an offset
    /// is taken as UTC), in the future. Once it has passed, vxguard
    /// removes the client (audited as `client.expired`); omit it for a
    /// client that does not expire.
    #[serde(default)]
    #[schema(format = DateTime, example = "2027-01-31T18:00:00Z")]
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientCreated {
    pub client: Declared,
    /// The client's address inside the tenant.
    pub address: String,
    /// Everything the client's `wg-quick` file needs but its private key:
    /// a caller that made its own key pair writes the file from this (the
    /// portal does, in the browser). Absent while the tenant has no network
    /// (then no router terminates its clients yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ClientConfig>,
    /// Only when the key pair was generated here: a `wg-quick` file holding
    /// the private key. Shown once; vxguard keeps no copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wireguard_config: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients", tag = "clients", operation_id = "create_client",
    params(("tenant" = String, Path)), request_body = ClientCreate, security(("bearer" = [])),
    responses((status = 201, body = ClientCreated, headers(("ETag" = String), ("X-Job" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    scope: TenantScope,
    headers: HeaderMap,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    scope.require_client_write(&st).await?;
    let req: ClientCreate = super::extract::typed(b)?;
    let (private, public) = match req.public_key {
        Some(k) => (None, k),
        None => {
            let (p, q) = vxguard_store::device_keys::wireguard_keypair()?;
            (Some(p), q)
        }
    };
    let (out, config) = create_with_key(
        &st,
        &scope,
        &req.name,
        &public,
        &req.allowed_networks,
        req.expires_at.as_deref(),
        super::extract::if_match(&headers)?,
    )
    .await?;
    let client = Declared::from(out.object.ok_or_else(Problem::internal)?);
    let ta = out
        .allocation
        .tenants
        .get(&scope.tenant.slug)
        .ok_or_else(Problem::internal)?;
    let address = *ta.clients.get(&client.name).ok_or_else(Problem::internal)?;
    let wireguard_config = match (private, &config) {
        (Some(p), Some(c)) => Some(c.wg_quick(&p)),
        (Some(_), None) => return Err(no_router()),
        (None, _) => None,
    };
    let body = ClientCreated {
        address: address.to_string(),
        wireguard_config,
        config,
        client,
    };
    Ok(with_job(
        with_etag(StatusCode::CREATED, body.client.version, &body),
        out.job,
    ))
}

/// Creates a client with the given public key (and expiry, which the
/// store checks) through `Store::change` (the
/// API's and the portal's one write path) and returns the change and the
/// client's configuration template (`None` while no router terminates the
/// tenant's clients).
pub async fn create_with_key(
    st: &AppState,
    scope: &TenantScope,
    name: &str,
    public_key: &str,
    allowed_networks: &[String],
    expires_at: Option<&str>,
    if_match: Option<i64>,
) -> ApiResult<(write::Outcome, Option<ClientConfig>)> {
    let mut spec = serde_json::json!({
        "name": name,
        "public_key": public_key,
        "allowed_networks": allowed_networks,
    });
    if let Some(at) = expires_at {
        spec["expires_at"] = serde_json::Value::String(at.to_string());
    }
    let out = st
        .store
        .change(
            &scope.who,
            Kind::Client,
            Some(&scope.tenant),
            None,
            Op::Create(spec),
            if_match,
        )
        .await?;
    let client = out.object.as_ref().ok_or_else(Problem::internal)?;
    let config = template(
        st,
        &out.intent,
        &out.allocation,
        &scope.tenant.slug,
        &client.name,
    )
    .await?;
    Ok((out, config))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients/{name}/config", tag = "clients", operation_id = "get_client_config",
    params(("tenant" = String, Path), ("name" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ClientConfig, description = "The client's `wg-quick` file without its private key"),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn get_config(
    State(st): State<AppState>,
    scope: TenantScope,
    Path(path): Path<(String, String)>,
) -> ApiResult<axum::Json<ClientConfig>> {
    Ok(axum::Json(
        current_template(&st, &scope, &path.1)
            .await?
            .ok_or_else(no_router)?,
    ))
}

fn no_router() -> Problem {
    Problem::conflict("the tenant has no network, so no router terminates its clients")
}

/// A stored client's configuration template, from the current intent and
/// allocation; 404 when the tenant has no such client.
pub async fn current_template(
    st: &AppState,
    scope: &TenantScope,
    name: &str,
) -> ApiResult<Option<ClientConfig>> {
    let mut conn = st.store.pool().acquire().await?;
    let loaded = store_intent::load_scope(&mut conn, scope.tenant.id).await?;
    let alloc = store_intent::scope_allocation(&mut conn, &loaded).await?;
    drop(conn);
    template(st, &loaded.intent, &alloc, &scope.tenant.slug, name).await
}

/// What a client's `wg-quick` file holds but its key: its address, and the
/// tenant's client router as the one peer, reaching the networks it may
/// reach (`app::wg::ClientConfig::wg_quick` writes the file). `None` when
/// the tenant has no network, so no router for its clients.
async fn template(
    st: &AppState,
    i: &vxguard_compiler::intent::Intent,
    alloc: &Allocation,
    slug: &str,
    client: &str,
) -> ApiResult<Option<ClientConfig>> {
    let t = i
        .tenants
        .iter()
        .find(|t| t.slug.as_str() == slug)
        .ok_or_else(Problem::not_found)?;
    let c = t
        .clients
        .iter()
        .find(|c| c.name.as_str() == client)
        .ok_or_else(Problem::not_found)?;
    let ta = alloc.tenants.get(slug).ok_or_else(Problem::internal)?;
    let address = *ta.clients.get(client).ok_or_else(Problem::internal)?;
    let Some(router_name) = model::client_router(t) else {
        return Ok(None);
    };
    let router = i
        .platform
        .routers
        .iter()
        .find(|r| r.name.as_str() == router_name)
        .ok_or_else(Problem::internal)?;
    let secrets = store_intent::secrets(&mut *st.store.pool().acquire().await?).await?;
    // The key and interface a configuration made now names: the tenant's
    // newest client epoch, which a mesh key rotation leaves alone and a
    // client rotation replaces (`RouterSecrets::client_endpoint`).
    let (key, number) = secrets
        .routers
        .get(&router_name)
        .map(|s| {
            let e = s.client_endpoint(slug, ta.id);
            (e.public_key, e.number)
        })
        .unwrap_or((String::new(), ta.id));
    let allowed_ips: Vec<String> = t
        .networks
        .iter()
        .filter(|n| {
            c.allowed_networks.is_empty() || c.allowed_networks.iter().any(|a| a == &n.name)
        })
        .map(|n| n.cidr.to_string())
        .collect();
    let host = match router.underlay_address {
        std::net::IpAddr::V4(a) => format!("{a}"),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    Ok(Some(ClientConfig {
        tenant: slug.to_string(),
        client: client.to_string(),
        address: address.to_string(),
        dns: vec![],
        peers: vec![ConfigPeer {
            public_key: key,
            endpoint: format!(
                "{host}:{}",
                model::client_port(i.platform.wireguard.port, number)
            ),
            allowed_ips,
            persistent_keepalive: Some(i.platform.wireguard.keepalive),
        }],
    }))
}

/// A client as the list shows it: the object, and whether the
/// configuration it was given is the one its router now expects.
#[derive(Serialize, ToSchema)]
pub struct ListedClient {
    #[serde(flatten)]
    pub client: Declared,
    /// `current`: names the router's newest key and port; `previous`:
    /// names the key being rotated out, so it works until the rotation's
    /// grace period ends (`GET .../clients/{name}/config` has the new
    /// configuration, which needs a new key pair: `PUT` the client with
    /// its new public key); `stale`: names a key the router no longer
    /// holds, so it no longer connects. Absent while no router terminates
    /// the tenant's clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<ConfigurationState>,
}

/// Which configuration a client holds: the one its router expects
/// (`current`), the one a key rotation is replacing (`previous`), or one
/// that no longer connects (`stale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigurationState {
    Current,
    Previous,
    Stale,
}

impl From<model::ClientConfigState> for ConfigurationState {
    fn from(s: model::ClientConfigState) -> Self {
        match s {
            model::ClientConfigState::Current => Self::Current,
            model::ClientConfigState::Previous => Self::Previous,
            model::ClientConfigState::Stale => Self::Stale,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients", tag = "clients", operation_id = "list_clients",
    params(("tenant" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ListedClient>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    scope: TenantScope,
    Q(q): Q<PageQuery>,
) -> ApiResult<axum::Json<Page<ListedClient>>> {
    let page = super::objects::list(&st, Kind::Client, Some(scope.id()), q).await?;
    let states = config_states(&st, &scope).await?;
    let items = page
        .items
        .into_iter()
        .map(|c| {
            let key = c.spec["public_key"].as_str().unwrap_or_default();
            let configuration = states.as_ref().map(|f| f(key).into());
            ListedClient {
                client: c,
                configuration,
            }
        })
        .collect();
    Ok(axum::Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Which configuration a client of the tenant holds, by its public key
/// (`RouterSecrets::client_config_state`); `None` while no router
/// terminates the tenant's clients.
pub async fn config_states(
    st: &AppState,
    scope: &TenantScope,
) -> ApiResult<Option<impl Fn(&str) -> model::ClientConfigState + Send + Sync>> {
    let mut conn = st.store.pool().acquire().await?;
    let loaded = store_intent::load_scope(&mut conn, scope.tenant.id).await?;
    let alloc = store_intent::scope_allocation(&mut conn, &loaded).await?;
    let slug = scope.tenant.slug.clone();
    let Some(t) = loaded
        .intent
        .tenants
        .iter()
        .find(|t| t.slug.as_str() == slug)
    else {
        return Ok(None);
    };
    let (Some(router), Some(ta)) = (model::client_router(t), alloc.tenants.get(&slug)) else {
        return Ok(None);
    };
    let id = ta.id;
    let secrets = store_intent::secrets(&mut conn).await?;
    let Some(r) = secrets.routers.get(&router).cloned() else {
        return Ok(None);
    };
    Ok(Some(move |key: &str| r.client_config_state(&slug, id, key)))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/clients", get(list).post(create))
        .route(
            "/api/v1/tenants/{tenant}/clients/{name}/config",
            get(get_config),
        )
}
