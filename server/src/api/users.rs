//! Users: platform admins manage everyone; a tenant's admins manage their
//! tenant's members. Password hashes never leave the database.

use super::extract::{JsonBody, Page, PageQuery, P, Q};
use crate::audit;
use crate::auth::{password, Principal, Role};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vxguard_store::users as store_users;
use vxguard_store::{Store, StoreError};

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// The tenant's slug; absent for platform admins.
    pub tenant: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub role: Role,
    /// Slug of the tenant; required unless the role is `platform_admin`.
    #[serde(default)]
    pub tenant: Option<String>,
}

impl TryFrom<store_users::User> for UserOut {
    type Error = Problem;
    fn try_from(u: store_users::User) -> ApiResult<Self> {
        Ok(UserOut {
            id: u.id,
            email: u.email,
            role: Role::parse(&u.role).ok_or_else(Problem::internal)?,
            tenant: u.tenant,
            created_at: u.created_at,
        })
    }
}

fn check_email(e: &str) -> ApiResult<String> {
    let e = e.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !e.chars().any(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/email",
            "is not an email address",
        ))
    }
}

/// A new user's checked fields and password hash, ready to insert (the
/// slow hash is done before any transaction opens).
pub struct NewUser {
    email: String,
    hash: String,
    role: Role,
}

/// Checks a new user's email, password and role against the tenant they
/// join (`tenant` is forced for tenant-scoped callers; `tenant_known` tells
/// whether one will exist, for a tenant created in the same transaction),
/// then hashes the password.
pub async fn prepare_user(req: UserCreate, tenant_known: bool) -> ApiResult<NewUser> {
    // Both checked: a bad email does not hide a weak password.
    let email = check_email(&req.email);
    let strong = password::check_strength(&req.password)
        .map_err(|r| Problem::field(StatusCode::UNPROCESSABLE_ENTITY, "/password", r));
    let email = match (email, strong) {
        (Ok(email), Ok(_)) => email,
        (Err(p), Ok(_)) | (Ok(_), Err(p)) => return Err(p),
        (Err(a), Err(b)) => {
            return Err(Problem::invalid(
                "the user is not valid",
                [a.errors, b.errors].concat(),
            ))
        }
    };
    match (req.role, tenant_known) {
        (Role::PlatformAdmin, true) => {
            return Err(Problem::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/role",
                "a tenant cannot have platform admins",
            ))
        }
        (Role::TenantAdmin | Role::TenantMember, false) => {
            return Err(Problem::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/tenant",
                "tenant users need a tenant",
            ))
        }
        _ => {}
    }
    let pw = req.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
    Ok(NewUser {
        email,
        hash,
        role: req.role,
    })
}

/// Inserts a prepared user (and its audit entry) inside the caller's
/// transaction.
///
/// Whether an email has an account in another tenant is none of a tenant
/// admin's business, so they get the same answer either way: for an email
/// that signs in elsewhere the user is made in their tenant all the same,
/// with `signs_in = false` (the email keeps signing in to the account that
/// had it first; this one is never linked to it). Platform admins see every
/// account and get a 409 naming `/email`; everyone gets it for an email
/// already in the same tenant.
pub async fn insert_user(
    tx: &mut sqlx::PgConnection,
    who: &Principal,
    u: NewUser,
    tenant_id: Option<Uuid>,
) -> ApiResult<UserOut> {
    if let Some(t) = tenant_id {
        // Counted under the tenant's row lock, so parallel additions
        // cannot all pass the count.
        let have = store_users::lock_tenant_and_count(tx, t).await?;
        vxguard_store::quotas::room_for_one_more(tx, t, "members", have as usize).await?;
    }
    let new = store_users::NewUser {
        email: &u.email,
        password_hash: &u.hash,
        role: u.role.as_str(),
        tenant_id,
        // The admin chose this password: the user replaces it first.
        must_change_password: true,
    };
    let out: UserOut = store_users::insert(tx, &new, who.role != Role::PlatformAdmin)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => Problem::field(
                StatusCode::CONFLICT,
                "/email",
                "a user with this email exists",
            ),
            e => Problem::from(e),
        })?
        .try_into()?;
    audit::append(
        tx,
        audit::Entry::by(
            who,
            tenant_id,
            "user.create",
            &format!("users/{}", u.email),
            None,
            serde_json::to_value(&out).ok(),
        ),
    )
    .await?;
    Ok(out)
}

/// Whether [`insert_user`] would refuse `email` as taken: an account of
/// the same tenant (of the platform when `tenant` is `None`), or for a
/// platform admin any account that signs in with it (see [`insert_user`]:
/// a tenant admin is never told about another tenant's accounts).
pub async fn email_taken(
    st: &AppState,
    who: &Principal,
    email: &str,
    tenant: Option<Uuid>,
) -> ApiResult<bool> {
    if tenant.is_none() || who.role == Role::PlatformAdmin {
        if store_users::signing_in(st.store.pool(), email)
            .await?
            .is_some()
        {
            return Ok(true);
        }
    }
    let Some(t) = tenant else {
        return Ok(false);
    };
    let f = store_users::Filter {
        tenant: Some(t),
        search: Some(email.to_string()),
        ..store_users::Filter::default()
    };
    let same = store_users::filtered(st.store.pool(), &f, None, None, 100).await?;
    Ok(same.iter().any(|u| u.email == email))
}

/// Creates a user; `tenant` is forced for tenant-scoped callers. The API's
/// and the portal's way in.
pub async fn create_user(
    st: &AppState,
    who: &Principal,
    req: UserCreate,
    tenant: Option<Uuid>,
) -> ApiResult<UserOut> {
    let new = check_user(st, who, req, tenant).await?;
    let mut tx = st.store.begin().await?;
    let u = insert_user(&mut tx, who, new, tenant).await?;
    Store::commit(tx).await?;
    Ok(u)
}

/// A new user's fields checked as [`prepare_user`] does, and when they are
/// not all good, whether the email is taken too.
pub async fn check_user(
    st: &AppState,
    who: &Principal,
    req: UserCreate,
    tenant: Option<Uuid>,
) -> ApiResult<NewUser> {
    let email = req.email.trim().to_lowercase();
    match prepare_user(req, tenant.is_some()).await {
        Ok(new) => Ok(new),
        Err(p) => {
            // An email the insert would refuse is said with the other
            // errors, when it is an email at all (as a new tenant's admin's).
            let at_email = p
                .errors
                .iter()
                .any(|e| e.pointer.as_deref() == Some("/email"));
            if p.status != 422 || at_email || !email_taken(st, who, &email, tenant).await? {
                return Err(p);
            }
            let mut errors = p.errors;
            errors.push(crate::problem::FieldError {
                pointer: Some("/email".into()),
                object: None,
                detail: "a user with this email exists".into(),
            });
            Err(Problem::invalid("the user is not valid", errors))
        }
    }
}

/// Deletes a user (of `tenant`, when given: another tenant's is 404);
/// nobody deletes themselves.
pub async fn delete_user(
    st: &AppState,
    who: &Principal,
    id: Uuid,
    tenant: Option<Uuid>,
) -> ApiResult<UserOut> {
    if who.user_id == Some(id) {
        return Err(Problem::conflict("you cannot delete yourself"));
    }
    let mut tx = st.store.begin().await?;
    let u: UserOut = store_users::get_in(&mut tx, id, tenant)
        .await?
        .ok_or_else(Problem::not_found)?
        .try_into()?;
    // The API tokens the user made go with them (the store revokes them
    // with the row); each revocation is audited.
    let revoked = store_users::delete(&mut tx, id).await?;
    for store_users::RevokedToken {
        tenant_id,
        tenant_slug: slug,
        name,
    } in &revoked
    {
        audit::append(
            &mut tx,
            audit::Entry::by(
                who,
                Some(*tenant_id),
                "token.revoke",
                &format!("tenants/{slug}/tokens/{name}"),
                None,
                Some(serde_json::json!({"reason": format!("user {} deleted", u.email)})),
            ),
        )
        .await?;
    }
    audit::append(
        &mut tx,
        audit::Entry::by(
            who,
            tenant,
            "user.delete",
            &format!("users/{}", u.email),
            serde_json::to_value(&u).ok(),
            None,
        ),
    )
    .await?;
    Store::commit(tx).await?;
    Ok(u)
}

/// A password reset's answer: the temporary password, shown this once.
#[derive(Serialize, ToSchema)]
pub struct PasswordReset {
    pub user: UserOut,
    /// Give it to the user by a channel you trust; they must replace it at
    /// their next portal login, and it is never shown again.
    pub temporary_password: String,
}

/// A temporary password: 20 characters of an alphabet without look-alikes
/// (no 0/o, 1/l/i), in groups of five (about 99 bits), easy to read out.
fn temporary_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Gives the user `id` (of `tenant`, when given: another tenant's is 404) a
/// new temporary password that they must replace at their next login, and
/// ends every login of theirs. Audited without the password. Nobody resets
/// their own: they change it on their account page, knowing the current one.
pub async fn reset_password(
    st: &AppState,
    who: &Principal,
    id: Uuid,
    tenant: Option<Uuid>,
) -> ApiResult<PasswordReset> {
    if who.user_id == Some(id) {
        return Err(Problem::conflict(
            "you cannot reset your own password: change it on your account page",
        ));
    }
    let temporary = temporary_password();
    let pw = temporary.clone();
    // Hashed before the transaction opens (it is slow).
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
    let mut tx = st.store.begin().await?;
    let u: UserOut = store_users::get_in(&mut tx, id, tenant)
        .await?
        .ok_or_else(Problem::not_found)?
        .try_into()?;
    store_users::reset_password(&mut tx, id, &hash).await?;
    // In the user's tenant's log (a platform admin's reset too): the
    // tenant's admins see who reset one of theirs.
    let tenant_of_user = match &u.tenant {
        Some(slug) => vxguard_store::tenants::by_slug(st.store.pool(), slug)
            .await?
            .map(|(id, _)| id),
        None => None,
    };
    audit::append(
        &mut tx,
        audit::Entry::by(
            who,
            tenant.or(tenant_of_user),
            "user.password_reset",
            &format!("users/{}", u.email),
            None,
            Some(serde_json::json!({"must_change_password": true, "sessions_ended": true})),
        ),
    )
    .await?;
    Store::commit(tx).await?;
    Ok(PasswordReset {
        user: u,
        temporary_password: temporary,
    })
}

fn created(u: UserOut) -> Response {
    (StatusCode::CREATED, axum::Json(u)).into_response()
}

pub async fn list_users(
    st: &AppState,
    tenant: Option<Uuid>,
    q: PageQuery,
) -> ApiResult<Page<UserOut>> {
    let limit = q.limit()?;
    // An email may be in several tenants, so the cursor is `email id`
    // (emails hold no spaces); a bare email (older cursors) means after
    // every row with that email.
    let (after_email, after_id) = match q.cursor.as_deref() {
        Some(c) => match c.rsplit_once(' ') {
            Some((e, id)) => (
                Some(e),
                Some(id.parse::<Uuid>().map_err(|_| {
                    Problem::field(
                        StatusCode::BAD_REQUEST,
                        "cursor",
                        "is not a cursor of this list",
                    )
                })?),
            ),
            None => (Some(c), None),
        },
        None => (None, None),
    };
    let rows = store_users::list(st.store.pool(), tenant, after_email, after_id, limit)
        .await?
        .into_iter()
        .map(UserOut::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::new(rows, limit, |u| format!("{} {}", u.email, u.id)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "list_users",
    params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<UserOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_all(
    State(st): State<AppState>,
    who: Principal,
    Q(q): Q<PageQuery>,
) -> ApiResult<axum::Json<Page<UserOut>>> {
    who.require_platform_admin()?;
    list_users(&st, None, q).await.map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "create_user",
    request_body = UserCreate, security(("bearer" = [])),
    responses((status = 201, body = UserOut), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_any(
    State(st): State<AppState>,
    who: Principal,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    who.require_platform_admin()?;
    let req: UserCreate = super::extract::typed(b)?;
    let tenant = match &req.tenant {
        Some(slug) => {
            let id = vxguard_store::tenants::by_slug(st.store.pool(), slug)
                .await?
                .map(|(id, _)| id);
            Some(id.ok_or_else(|| {
                Problem::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/tenant",
                    "no such tenant",
                )
            })?)
        }
        None => None,
    };
    create_user(&st, &who, req, tenant).await.map(created)
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", operation_id = "delete_user",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_any(
    State(st): State<AppState>,
    who: Principal,
    P(id): P<Uuid>,
) -> ApiResult<Response> {
    who.require_platform_admin()?;
    delete_user(&st, &who, id, None)
        .await
        .map(|_| StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "users", operation_id = "list_tenant_users",
    params(("tenant" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<UserOut>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_members(
    State(st): State<AppState>,
    scope: TenantScope,
    Q(q): Q<PageQuery>,
) -> ApiResult<axum::Json<Page<UserOut>>> {
    list_users(&st, Some(scope.id()), q).await.map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "users", operation_id = "create_tenant_user",
    params(("tenant" = String, Path)), request_body = UserCreate, security(("bearer" = [])),
    responses((status = 201, body = UserOut), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_member(
    State(st): State<AppState>,
    scope: TenantScope,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    scope.require_write()?;
    let req: UserCreate = super::extract::typed(b)?;
    if req
        .tenant
        .as_deref()
        .is_some_and(|t| t != scope.tenant.slug)
    {
        return Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/tenant",
            "must be this tenant (or absent)",
        ));
    }
    create_user(&st, &scope.who, req, Some(scope.id()))
        .await
        .map(created)
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{id}", tag = "users", operation_id = "delete_tenant_user",
    params(("tenant" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_member(
    State(st): State<AppState>,
    scope: TenantScope,
    path: P<(String, Uuid)>,
) -> ApiResult<Response> {
    let P((_, id)) = path;
    scope.require_write()?;
    delete_user(&st, &scope.who, id, Some(scope.id()))
        .await
        .map(|_| StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "users", operation_id = "reset_user_password",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PasswordReset), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reset_any(
    State(st): State<AppState>,
    who: Principal,
    P(id): P<Uuid>,
) -> ApiResult<axum::Json<PasswordReset>> {
    who.require_platform_admin()?;
    reset_password(&st, &who, id, None).await.map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{id}/password-reset", tag = "users", operation_id = "reset_tenant_user_password",
    params(("tenant" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PasswordReset), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reset_member(
    State(st): State<AppState>,
    scope: TenantScope,
    path: P<(String, Uuid)>,
) -> ApiResult<axum::Json<PasswordReset>> {
    let P((_, id)) = path;
    scope.require_write()?;
    reset_password(&st, &scope.who, id, Some(scope.id()))
        .await
        .map(axum::Json)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_all).post(create_any))
        .route("/api/v1/users/{id}", delete(delete_any))
        .route(
            "/api/v1/tenants/{tenant}/users",
            get(list_members).post(create_member),
        )
        .route("/api/v1/tenants/{tenant}/users/{id}", delete(delete_member))
        .route("/api/v1/users/{id}/password-reset", post(reset_any))
        .route(
            "/api/v1/tenants/{tenant}/users/{id}/password-reset",
            post(reset_member),
        )
}
