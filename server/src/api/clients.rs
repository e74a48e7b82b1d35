//! Creating a WireGuard remote-access client. The caller either brings its
//! public key, or lets the server generate the pair: then the private key is
//! returned once, inside a ready `wg-quick` configuration, and never stored.

use super::{with_etag, with_job, JsonBody};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::store::change::{self, Op};
use crate::store::intent as store_intent;
use crate::store::kind::Kind;
use crate::store::objects::Declared;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vxguard_compiler::model;

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
}

#[derive(Serialize, ToSchema)]
pub struct ClientCreated {
    pub client: Declared,
    /// The client's address inside the tenant.
    pub address: String,
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
    scope.require_write()?;
    let req: ClientCreate = super::typed(b)?;
    let (private, public) = match req.public_key {
        Some(k) => (None, k),
        None => {
            let (p, q) = crate::keys::wireguard_keypair()?;
            (Some(p), q)
        }
    };
    let spec = serde_json::json!({
        "name": req.name,
        "public_key": public,
        "allowed_networks": req.allowed_networks,
    });
    let out = change::apply(
        &st.db,
        &scope.who,
        Kind::Client,
        Some(&scope.tenant),
        None,
        Op::Create(spec),
        super::if_match(&headers)?,
    )
    .await?;
    let client = out.object.ok_or_else(Problem::internal)?;
    let ta = out
        .allocation
        .tenants
        .get(&scope.tenant.slug)
        .ok_or_else(Problem::internal)?;
    let address = *ta.clients.get(&client.name).ok_or_else(Problem::internal)?;
    let wireguard_config = match private {
        Some(p) => Some(
            wg_quick(
                &st,
                &out.intent,
                &scope.tenant.slug,
                &client.name,
                &p,
                address,
                ta.id,
            )
            .await?,
        ),
        None => None,
    };
    let body = ClientCreated {
        address: address.to_string(),
        wireguard_config,
        client,
    };
    Ok(with_job(
        with_etag(StatusCode::CREATED, body.client.version, &body),
        out.job,
    ))
}

/// The `wg-quick` file for a client: its key and address, and the tenant's
/// client router as the one peer, reaching the networks it may reach.
async fn wg_quick(
    st: &AppState,
    i: &vxguard_compiler::intent::Intent,
    slug: &str,
    client: &str,
    private: &str,
    address: std::net::Ipv4Addr,
    tenant_id: u32,
) -> ApiResult<String> {
    let secrets = store_intent::secrets(&mut *st.db.acquire().await?).await?;
    let t = i
        .tenants
        .iter()
        .find(|t| t.slug.as_str() == slug)
        .ok_or_else(Problem::internal)?;
    let c = t
        .clients
        .iter()
        .find(|c| c.name.as_str() == client)
        .ok_or_else(Problem::internal)?;
    let router_name = model::client_router(t).ok_or_else(|| {
        Problem::conflict("the tenant has no network, so no router terminates its clients")
    })?;
    let router = i
        .platform
        .routers
        .iter()
        .find(|r| r.name.as_str() == router_name)
        .ok_or_else(Problem::internal)?;
    let key = secrets
        .routers
        .get(&router_name)
        .map(|s| s.wireguard_public_key.clone())
        .unwrap_or_default();
    let allowed: Vec<String> = t
        .networks
        .iter()
        .filter(|n| {
            c.allowed_networks.is_empty() || c.allowed_networks.iter().any(|a| a == &n.name)
        })
        .map(|n| n.cidr.to_string())
        .collect();
    let endpoint = match router.underlay_address {
        std::net::IpAddr::V4(a) => format!("{a}"),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    Ok(format!(
        "# vxguard client {client} of tenant {slug}\n[Interface]\nPrivateKey = {private}\nAddress = {address}/32\n\n[Peer]\nPublicKey = {key}\nEndpoint = {endpoint}:{port}\nAllowedIPs = {allowed}\nPersistentKeepalive = {ka}\n",
        port = model::client_port(i.platform.wireguard.port, tenant_id),
        allowed = allowed.join(", "),
        ka = i.platform.wireguard.keepalive,
    ))
}

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/tenants/{tenant}/clients",
        get(super::objects::clients_generic::list).post(create),
    )
}
