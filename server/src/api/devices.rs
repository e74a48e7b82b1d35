//! Where each router and hypervisor stands: latest and applied revision,
//! state (`applied`, `pending`, `failed`, `drifted`), last error and drift,
//! a router's API key; and what an operator does about a router's access:
//! rotate its API key, trust the certificate it presents now. Platform
//! admins only, like revisions (`driver::status` is the rule).

use super::extract::{typed, with_job, JsonBody, P};
use crate::auth::Principal;
use crate::driver::status::{self, DeviceStatus};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;
use vxguard_compiler::ids::CertSha256;
use vxguard_compiler::intent::VyosVersion;
use vxguard_store::api_keys::{self, Begun};
use vxguard_store::certificates::{self, Trusted};
use vxguard_store::kind::Kind;
use vxguard_store::objects;

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

/// A rotation begun: the job that puts the new key on the router.
#[derive(Serialize, ToSchema)]
pub struct RotationStarted {
    pub job: i64,
}

/// Starts rotating `router`'s API key (`vxguard_store::api_keys::begin`,
/// which audits it with `who` as the actor): the job that adds the new key.
pub async fn rotate_api_key(st: &AppState, who: &Principal, router: &str) -> ApiResult<i64> {
    who.require_platform_admin()?;
    match api_keys::begin(&st.db, router, who).await? {
        Begun::Queued(job) => Ok(job),
        Begun::UnderWay => Err(Problem::conflict(format!(
            "a rotation of router {router}'s API key is already under way; \
             the worker finishes it once the router has taken the new key and refused the old"
        ))),
        Begun::NoSuchRouter => Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("no router {router:?} with an API key (declared and compiled)"),
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/devices/{name}/api-key/rotate", tag = "devices", operation_id = "rotate_router_api_key",
    params(("name" = String, Path, description = "The router or hypervisor")), security(("bearer" = [])),
    responses((status = 202, body = RotationStarted, headers(("X-Job" = i64)),
            description = "A new key is stored beside the current one; the job puts it on the router, the worker then switches to it and removes the old one, each step checked on the router and audited as `key.rotated`"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "a rotation of this router's key is already under way")))]
pub async fn rotate(
    State(st): State<AppState>,
    who: Principal,
    P(name): P<String>,
) -> ApiResult<Response> {
    let job = rotate_api_key(&st, &who, &name).await?;
    Ok(with_job(
        (StatusCode::ACCEPTED, Json(RotationStarted { job })).into_response(),
        job,
    ))
}

/// Starts rotating `device`'s WireGuard mesh key now, with no grace period
/// (`vxguard_store::mesh_keys::begin`, audited with `who` as the actor).
pub async fn rotate_mesh_key(st: &AppState, who: &Principal, device: &str) -> ApiResult<i64> {
    use vxguard_store::mesh_keys::{self, Begun, Device};
    who.require_platform_admin()?;
    let mut kind = None;
    for k in [Kind::Router, Kind::Hypervisor] {
        if objects::platform_spec(&st.db, k, device).await?.is_some() {
            kind = Some(k);
        }
    }
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            format!("no router or hypervisor {device:?} with a key (declared and compiled)"),
        )
    };
    let kind = kind.ok_or_else(not_found)?;
    let d = Device {
        kind,
        name: device.to_string(),
    };
    match mesh_keys::begin(&st.db, &[d], 0, "asked by an operator", who).await? {
        Begun::Queued(job) => Ok(job),
        Begun::Busy => Err(Problem::conflict(
            "a mesh change or key rotation is under way; ask again once it is released \
             (the audit log shows its `mesh.changed` steps)"
                .to_string(),
        )),
        Begun::NoSuchDevice(_) => Err(not_found()),
    }
}

#[utoipa::path(post, path = "/api/v1/devices/{name}/wireguard-key/rotate", tag = "devices", operation_id = "rotate_mesh_key",
    params(("name" = String, Path, description = "The router or hypervisor")), security(("bearer" = [])),
    responses((status = 202, body = RotationStarted, headers(("X-Job" = i64)),
            description = "A new mesh key is staged on the standby mesh slot; the worker moves traffic to it once every live peer has handshaken there and retires the old key right after (no grace period: for a key that may be compromised), each step audited as `key.rotated` and `mesh.changed`"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "a mesh change or key rotation is under way")))]
pub async fn rotate_wireguard(
    State(st): State<AppState>,
    who: Principal,
    P(name): P<String>,
) -> ApiResult<Response> {
    let job = rotate_mesh_key(&st, &who, &name).await?;
    Ok(with_job(
        (StatusCode::ACCEPTED, Json(RotationStarted { job })).into_response(),
        job,
    ))
}

/// The certificate a platform admin confirms.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// The SHA-256 fingerprint of the certificate the router presents now
    /// (`AB:CD:...` or 64 hex digits), as compared with the router's own
    /// (`openssl x509 -noout -fingerprint -sha256` on it).
    #[schema(pattern = "^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$")]
    pub sha256: String,
}

/// The pin as it now stands.
#[derive(Serialize, ToSchema)]
pub struct CertificateTrusted {
    pub router: String,
    /// The fingerprint now pinned (`AB:CD:...`).
    pub sha256: String,
    /// The one pinned before; `null`: public roots were trusted.
    pub previous: Option<String>,
    /// The job that compiles and applies the change; `null` when the
    /// router was already pinned to this certificate (nothing changed).
    pub job: Option<i64>,
}

/// How long the console and the API wait for a router's handshake: an
/// operator is waiting for the page.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);

/// What is needed to read a router's certificate, from its spec.
struct Endpoint {
    url: String,
    version: vyos_api::ApiVersion,
    spec_version: i64,
    pinned: Option<String>,
}

async fn endpoint(st: &AppState, router: &str) -> ApiResult<Endpoint> {
    let o = objects::get(&st.db, Kind::Router, None, router)
        .await?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                format!("no router {router:?} is declared"),
            )
        })?;
    let version = match o.spec["version"].as_str().and_then(VyosVersion::parse) {
        Some(VyosVersion::V1_4) => vyos_api::ApiVersion::V1_4,
        _ => vyos_api::ApiVersion::V1_5,
    };
    Ok(Endpoint {
        url: o.spec["api_endpoint"].as_str().unwrap_or_default().into(),
        version,
        spec_version: o.version,
        pinned: certificates::pinned(&o.spec).map(String::from),
    })
}

/// The certificate `e` presents now, read with the record-only trust
/// (nothing is sent): a plain-HTTP endpoint has none (409), an unreachable
/// router is a bad gateway (502).
async fn presented(router: &str, e: &Endpoint, wait: Duration) -> ApiResult<CertSha256> {
    use vyos_api::ClientError as C;
    let mut client = vyos_api::Client::new(&e.url, "", e.version)
        .map_err(|err| Problem::conflict(format!("router {router}: api_endpoint: {err}")))?;
    client.timeout = wait;
    match client.server_certificate().await {
        Ok(sha) => Ok(CertSha256::from_bytes(sha)),
        Err(err @ C::PinWithoutTls(_)) => Err(Problem::conflict(format!(
            "router {router}: {err}; there is no certificate to trust"
        ))),
        Err(err) => Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            format!("router {router}: cannot read the certificate it presents: {err}"),
        )),
    }
}

/// The certificate `router` presents now (`AB:CD:...`), for the console
/// to show beside its "Trust this certificate" button.
pub async fn presented_certificate(
    st: &AppState,
    who: &Principal,
    router: &str,
    wait: Duration,
) -> ApiResult<String> {
    who.require_platform_admin()?;
    let e = endpoint(st, router).await?;
    Ok(presented(router, &e, wait).await?.to_string())
}

/// Whether an apply error is the pinned certificate refused
/// (`vyos_api::tls::PinMismatch`, which the handshake's error carries).
pub fn certificate_refused(error: &str) -> bool {
    error.contains(", not the pinned ")
}

/// Pins `router` to the certificate it presents now, if that is the one
/// the operator names (`sha256`): read off the router here, compared, and
/// only then written (`vxguard_store::certificates::trust`: the write
/// path's job and audit, and a `router.certificate.trusted` entry).
pub async fn trust_certificate(
    st: &AppState,
    who: &Principal,
    router: &str,
    sha256: &str,
) -> ApiResult<CertificateTrusted> {
    who.require_platform_admin()?;
    let want = CertSha256::parse(sha256)
        .map_err(|e| Problem::field(StatusCode::UNPROCESSABLE_ENTITY, "/sha256", e))?;
    let e = endpoint(st, router).await?;
    let got = presented(router, &e, HANDSHAKE_WAIT).await?;
    if got != want {
        return Err(Problem::field(
            StatusCode::CONFLICT,
            "/sha256",
            format!(
                "router {router} presents the certificate {got}, not {want}; nothing was pinned"
            ),
        ));
    }
    let out = certificates::trust(&st.store, who, router, e.spec_version, want).await?;
    let (job, previous) = match out {
        Trusted::Pinned { job, before } => (Some(job), before),
        Trusted::Already => (None, e.pinned),
    };
    Ok(CertificateTrusted {
        router: router.into(),
        sha256: want.to_string(),
        previous,
        job,
    })
}

#[utoipa::path(post, path = "/api/v1/devices/{name}/certificate/trust", tag = "devices", operation_id = "trust_router_certificate",
    params(("name" = String, Path, description = "The router or hypervisor")), request_body = TrustRequest, security(("bearer" = [])),
    responses((status = 200, body = CertificateTrusted, headers(("X-Job" = i64)),
            description = "The router presents this certificate: its `api_certificate_sha256` is set to it (a platform change: job, `router.update` and `router.certificate.trusted` in the audit log)"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the router presents another certificate (both fingerprints named), or its endpoint is plain HTTP"),
        (status = 412, body = Problem, description = "the router's spec changed while its certificate was read"),
        (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 502, body = Problem, description = "the router cannot be reached")))]
pub async fn trust(
    State(st): State<AppState>,
    who: Principal,
    P(name): P<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    who.require_platform_admin()?;
    let req: TrustRequest = typed(b)?;
    let out = trust_certificate(&st, &who, &name, &req.sha256).await?;
    let job = out.job;
    let r = Json(out).into_response();
    Ok(match job {
        Some(j) => with_job(r, j),
        None => r,
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices", get(list))
        .route("/api/v1/devices/{name}/api-key/rotate", post(rotate))
        .route(
            "/api/v1/devices/{name}/wireguard-key/rotate",
            post(rotate_wireguard),
        )
        .route("/api/v1/devices/{name}/certificate/trust", post(trust))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_mismatch_is_recognised_in_its_own_words() {
        let e = vyos_api::tls::PinMismatch {
            got: "AA".into(),
            want: "BB".into(),
        };
        assert!(certificate_refused(&format!(
            "TLS with 127.0.0.1:1 failed: {e}"
        )));
        assert!(!certificate_refused(
            "cannot reach 127.0.0.1:1: connection refused"
        ));
    }
}
