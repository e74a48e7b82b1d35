//! API tokens for OpenAPI clients: scoped to one tenant and a role, shown
//! once at creation, stored as a hash, revocable, with their last use.

use super::extract::{JsonBody, Page, PageQuery, P, Q};
use crate::audit;
use crate::auth::{secret, Role};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vxguard_store::tokens as store_tokens;
use vxguard_store::{Store, StoreError};

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    pub name: String,
    /// `tenant_admin` or `tenant_member`.
    pub role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    #[serde(flatten)]
    pub info: TokenOut,
    /// The secret: send it as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
}

impl TryFrom<store_tokens::Token> for TokenOut {
    type Error = Problem;
    fn try_from(t: store_tokens::Token) -> ApiResult<Self> {
        Ok(TokenOut {
            id: t.id,
            name: t.name,
            role: Role::parse(&t.role).ok_or_else(Problem::internal)?,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens", operation_id = "list_tokens",
    params(("tenant" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<TokenOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    scope: TenantScope,
    Q(q): Q<PageQuery>,
) -> ApiResult<axum::Json<Page<TokenOut>>> {
    list_tokens(&st, &scope, q).await.map(axum::Json)
}

/// The tenant's tokens, by name (tenant admins only: a token list tells
/// who automates what).
pub async fn list_tokens(
    st: &AppState,
    scope: &TenantScope,
    q: PageQuery,
) -> ApiResult<Page<TokenOut>> {
    scope.require_write()?;
    let limit = q.limit()?;
    let rows = store_tokens::list(st.store.pool(), scope.id(), q.cursor.as_deref(), limit)
        .await?
        .into_iter()
        .map(TokenOut::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::new(rows, limit, |t| t.name.clone()))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens", operation_id = "create_token",
    params(("tenant" = String, Path)), request_body = TokenCreate, security(("bearer" = [])),
    responses((status = 201, body = TokenCreated), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    scope: TenantScope,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    scope.require_write()?;
    let req: TokenCreate = super::extract::typed(b)?;
    let created = create_token(&st, &scope, req).await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// Creates a token; the secret is in the answer and nowhere else (only its
/// hash is stored, the audit entry holds the token's name and role).
pub async fn create_token(
    st: &AppState,
    scope: &TenantScope,
    req: TokenCreate,
) -> ApiResult<TokenCreated> {
    scope.require_write()?;
    if req.role == Role::PlatformAdmin {
        return Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/role",
            "API tokens are tenant-scoped: tenant_admin or tenant_member",
        ));
    }
    let name = req.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/name",
            "must be 1-100 characters",
        ));
    }
    let token = secret::new_token(secret::API_PREFIX);
    let mut tx = st.store.begin().await?;
    // Counted under the tenant's row lock: parallel creations cannot all
    // pass the count.
    let have = store_tokens::lock_tenant_and_count(&mut tx, scope.id()).await?;
    vxguard_store::quotas::room_for_one_more(&mut tx, scope.id(), "api_tokens", have as usize)
        .await?;
    let new = store_tokens::NewToken {
        tenant_id: scope.id(),
        name,
        role: req.role.as_str(),
        token_hash: &secret::hash(&token),
        // The user behind the caller, also when a token makes a token, so
        // that deleting them revokes both.
        maker: scope.who.owner,
    };
    let info: TokenOut = store_tokens::insert(&mut tx, &new)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => Problem::field(
                StatusCode::CONFLICT,
                "/name",
                "a token with this name exists",
            ),
            e => Problem::from(e),
        })?
        .try_into()?;
    audit::append(
        &mut tx,
        audit::Entry::by(
            &scope.who,
            Some(scope.id()),
            "token.create",
            &format!("tenants/{}/tokens/{name}", scope.tenant.slug),
            None,
            serde_json::to_value(&info).ok(),
        ),
    )
    .await?;
    Store::commit(tx).await?;
    Ok(TokenCreated { info, token })
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/tokens/{id}", tag = "tokens", operation_id = "revoke_token",
    params(("tenant" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke(
    State(st): State<AppState>,
    scope: TenantScope,
    path: P<(String, Uuid)>,
) -> ApiResult<Response> {
    let P((_, id)) = path;
    revoke_token(&st, &scope, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Revokes one of the tenant's tokens (another tenant's is 404); revoking
/// twice keeps the first time.
pub async fn revoke_token(st: &AppState, scope: &TenantScope, id: Uuid) -> ApiResult<TokenOut> {
    scope.require_write()?;
    let mut tx = st.store.begin().await?;
    let t: TokenOut = store_tokens::revoke(&mut tx, scope.id(), id)
        .await?
        .ok_or_else(Problem::not_found)?
        .try_into()?;
    audit::append(
        &mut tx,
        audit::Entry::by(
            &scope.who,
            Some(scope.id()),
            "token.revoke",
            &format!("tenants/{}/tokens/{}", scope.tenant.slug, t.name),
            None,
            serde_json::to_value(&t).ok(),
        ),
    )
    .await?;
    Store::commit(tx).await?;
    Ok(t)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/tokens", get(list).post(create))
        .route("/api/v1/tenants/{tenant}/tokens/{id}", delete(revoke))
}
