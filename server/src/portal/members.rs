//! A tenant's members, API tokens and audit log in the portal. The rules
//! are the API's (`api::users`, `api::tokens`, `api::audit`, called here
//! the same way): members may read the member list and the audit log;
//! adding or removing members and anything about tokens needs a tenant
//! admin (403 otherwise); another tenant's pages are 404 like missing ones.

use super::data::when;
use super::document::html;
use super::extract::{OrPage, TenantAdmin, TenantAdminForm, TenantReader};
use super::lists::ListQuery;
use super::pages::{ask_for_missing, field_error, form_errors};
use super::respond::{encode, field, problem_page, props, see_other};
use super::session::WebSession;
use crate::api::audit::{self, AuditQuery};
use crate::api::tokens::{self, TokenCreate};
use crate::api::users::{self, UserCreate};
use crate::api::PageQuery;
use crate::auth::Role;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use app::members::{
    AuditPage, AuditRow, CreatedToken, MemberForm, MemberRow, MembersPage, PasswordReset,
    TokenForm, TokenRow, TokensPage,
};
use app::Page;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;
use uuid::Uuid;

/// Members and tokens shown on one page (no paging below this).
const MAX: i64 = 500;
/// Audit entries per page.
pub const AUDIT_PAGE: i64 = 50;

async fn tenant_name(st: &AppState, scope: &TenantScope) -> ApiResult<String> {
    vxguard_store::tenants::name(st.store.pool(), scope.id())
        .await?
        .ok_or_else(Problem::not_found)
}

fn role_text(r: Role) -> String {
    match r {
        Role::PlatformAdmin => "platform admin",
        Role::TenantAdmin => "tenant admin",
        Role::TenantMember => "tenant member",
    }
    .into()
}

fn all() -> PageQuery {
    PageQuery {
        limit: Some(MAX),
        cursor: None,
    }
}

async fn members_page(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    form: MemberForm,
    notice: Option<String>,
    confirm: Option<Uuid>,
) -> ApiResult<MembersPage> {
    let rows = users::list_users(st, Some(scope.id()), all()).await?;
    let members: Vec<MemberRow> = rows
        .items
        .into_iter()
        .map(|u| MemberRow {
            id: u.id.to_string(),
            email: u.email,
            role: role_text(u.role),
            created_at: when(u.created_at),
        })
        .collect();
    let confirm_remove = match confirm {
        Some(id) => Some(
            members
                .iter()
                .find(|m| m.id == id.to_string())
                .cloned()
                .ok_or_else(Problem::not_found)?,
        ),
        None => None,
    };
    Ok(MembersPage {
        slug: scope.tenant.slug.clone(),
        name: tenant_name(st, scope).await?,
        can_write: scope.who.can_write_tenant(),
        members_add_clients: vxguard_store::tenants::members_add_clients(
            st.store.pool(),
            scope.id(),
        )
        .await?,
        me: s.email.clone(),
        members,
        form,
        notice,
        confirm_remove,
        resetting: false,
        reset: Default::default(),
    })
}

async fn render_members(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    form: MemberForm,
    notice: Option<String>,
    confirm: Option<Uuid>,
    status: StatusCode,
) -> Response {
    match members_page(st, s, scope, form, notice, confirm).await {
        Ok(p) => html(status, &props(Some(s), Page::Members(Box::new(p)))),
        Err(p) => problem_page(Some(s), &p),
    }
}

/// `GET /t/{tenant}/members`.
pub async fn members(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    TenantReader {
        session: s, scope, ..
    }: TenantReader,
) -> Response {
    let notice = match (q.get("added"), q.get("removed")) {
        (Some(e), _) => Some(format!("{e} was added; they can log in now.")),
        (_, Some(e)) => Some(format!("{e} was removed.")),
        _ => None,
    };
    let form = MemberForm {
        role: "tenant_member".into(),
        ..Default::default()
    };
    render_members(&st, &s, &scope, form, notice, None, StatusCode::OK).await
}

/// `POST /t/{tenant}/members/clients`: turns the tenant's
/// `members_add_clients` on (`members_add_clients=on`) or off (tenant
/// admins), as `PUT /api/v1/tenants/{tenant}` does
/// (`api::tenants::update_tenant`: audited, at the version read here).
pub async fn set_members_add_clients(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let on = field(&f, "members_add_clients") == "on";
    let out = async {
        let t = {
            let mut conn = st.store.pool().acquire().await?;
            vxguard_store::tenants::get(&mut conn, scope.id())
                .await?
                .ok_or_else(Problem::not_found)?
        };
        let default_action = serde_json::from_value(serde_json::json!(t.default_action))
            .map_err(|_| Problem::internal())?;
        let req = crate::api::tenants::TenantUpdate {
            name: t.name,
            default_action,
            members_add_clients: Some(on),
        };
        crate::api::tenants::update_tenant(&st, &scope, &req, Some(t.version)).await
    }
    .await;
    let notice = match out {
        Ok(_) if on => "Members may now add their own WireGuard clients.".to_string(),
        Ok(_) => "Only admins add WireGuard clients now.".to_string(),
        Err(p) => format!("The setting was not changed: {}", p.detail),
    };
    let form = MemberForm {
        role: "tenant_member".into(),
        ..Default::default()
    };
    render_members(&st, &s, &scope, form, Some(notice), None, StatusCode::OK).await
}

/// What the member form asks for when left empty.
const MEMBER_ASKS: &[(&str, &str)] = &[
    ("email", "Enter the email address they will log in with."),
    (
        "password",
        "Enter an initial password of at least 12 characters.",
    ),
];

/// What the token form asks for when left empty.
const TOKEN_ASKS: &[(&str, &str)] = &[(
    "name",
    "Enter a name for the token: what uses it, e.g. ci-deploy.",
)];

fn member_field(pointer: &str) -> Option<&'static str> {
    match pointer {
        "/email" => Some("email"),
        "/password" => Some("password"),
        "/role" | "/tenant" => Some("role"),
        _ => None,
    }
}

/// A tenant role from a form (`tenant_admin` or `tenant_member`).
fn tenant_role(v: &str) -> ApiResult<Role> {
    match Role::parse(v) {
        Some(r @ (Role::TenantAdmin | Role::TenantMember)) => Ok(r),
        _ => Err(Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/role",
            "choose tenant member or tenant admin",
        )),
    }
}

/// `POST /t/{tenant}/members`: adds a user to the tenant through
/// `api::users::create_user` (tenant admins).
pub async fn add_member(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let email = field(&f, "email").trim().to_string();
    let role = field(&f, "role").to_string();
    let req = UserCreate {
        email: email.clone(),
        password: field(&f, "password").to_string(),
        role: Role::TenantMember,
        tenant: None,
    };
    let out = match tenant_role(&role) {
        Ok(r) => {
            users::create_user(
                &st,
                &scope.who,
                UserCreate { role: r, ..req },
                Some(scope.id()),
            )
            .await
        }
        // A bad role is said with whatever else is wrong (checked as a
        // member's, whose checks are the same); nothing is created.
        Err(bad_role) => {
            let mut errors = bad_role.errors;
            match users::check_user(&st, &scope.who, req, Some(scope.id())).await {
                Err(p) => errors.extend(p.errors),
                Ok(_) => {
                    let email = email.to_lowercase();
                    if matches!(
                        users::email_taken(&st, &scope.who, &email, Some(scope.id())).await,
                        Ok(true)
                    ) {
                        errors.push(field_error("/email", "a user with this email exists"));
                    }
                }
            }
            Err(Problem::invalid("the user is not valid", errors))
        }
    };
    match out {
        Ok(u) => see_other(&format!(
            "/t/{}/members?added={}",
            scope.tenant.slug,
            encode(&u.email)
        )),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let form = MemberForm {
                email,
                role,
                errors: {
                    let mut e = form_errors(&p, member_field);
                    ask_for_missing(&mut e, &f, MEMBER_ASKS);
                    e
                },
            };
            render_members(&st, &s, &scope, form, None, None, status).await
        }
    }
}

/// A member or token id from a path; anything else is a missing page.
fn path_id(s: &WebSession, id: &str) -> Result<Uuid, Response> {
    id.parse::<Uuid>()
        .map_err(|_| Problem::not_found())
        .or_page(s)
}

/// `GET /t/{tenant}/members/{id}/remove`: asks before removing.
pub async fn remove_member_form(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdmin {
        session: s, scope, ..
    }: TenantAdmin,
) -> Result<Response, Response> {
    let id = path_id(&s, &id)?;
    Ok(render_members(
        &st,
        &s,
        &scope,
        MemberForm::default(),
        None,
        Some(id),
        StatusCode::OK,
    )
    .await)
}

/// `POST /t/{tenant}/members/{id}/remove`: removes the member through
/// `api::users::delete_user` (another tenant's user is 404).
pub async fn remove_member(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdminForm {
        session: s, scope, ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let id = path_id(&s, &id)?;
    let out = users::delete_user(&st, &scope.who, id, Some(scope.id())).await;
    Ok(match out {
        Ok(u) => see_other(&format!(
            "/t/{}/members?removed={}",
            scope.tenant.slug,
            encode(&u.email)
        )),
        Err(p) if p.status == 404 => problem_page(Some(&s), &p),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
            let form = MemberForm {
                errors: form_errors(&p, |_| None),
                ..Default::default()
            };
            render_members(&st, &s, &scope, form, None, Some(id), status).await
        }
    })
}

/// The member `id` of this tenant, by the API's rules (another tenant's is
/// 404).
async fn member(st: &AppState, scope: &TenantScope, id: Uuid) -> ApiResult<users::UserOut> {
    vxguard_store::users::find(st.store.pool(), id, Some(scope.id()))
        .await?
        .ok_or_else(Problem::not_found)?
        .try_into()
}

/// The members page showing a password reset (asked or done).
async fn render_reset(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    reset: PasswordReset,
    status: StatusCode,
) -> Response {
    let out = members_page(st, s, scope, MemberForm::default(), None, None).await;
    match out {
        Ok(p) => {
            let p = MembersPage {
                resetting: true,
                reset: app::health::ServerOnly(Some(reset)),
                ..p
            };
            html(status, &props(Some(s), Page::Members(Box::new(p))))
        }
        Err(p) => problem_page(Some(s), &p),
    }
}

fn reset_of(slug: &str, id: Uuid, email: String) -> PasswordReset {
    PasswordReset {
        email,
        action: format!("/t/{slug}/members/{id}/reset"),
        back: format!("/t/{slug}/members"),
        ..Default::default()
    }
}

/// `GET /t/{tenant}/members/{id}/reset`: asks before resetting a member's
/// password (tenant admins; another tenant's user is 404).
pub async fn reset_form(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdmin {
        session: s, scope, ..
    }: TenantAdmin,
) -> Result<Response, Response> {
    let id = path_id(&s, &id)?;
    let u = member(&st, &scope, id).await.or_page(&s)?;
    let r = reset_of(&scope.tenant.slug, id, u.email);
    Ok(render_reset(&st, &s, &scope, r, StatusCode::OK).await)
}

/// `POST /t/{tenant}/members/{id}/reset`: resets through
/// `api::users::reset_password` and answers with the page showing the
/// temporary password (not a redirect: it is in no URL; pages are
/// `no-store`).
pub async fn reset(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdminForm {
        session: s, scope, ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let id = path_id(&s, &id)?;
    let u = member(&st, &scope, id).await.or_page(&s)?;
    let mut r = reset_of(&scope.tenant.slug, id, u.email);
    Ok(
        match users::reset_password(&st, &scope.who, id, Some(scope.id())).await {
            Ok(done) => {
                r.temporary = Some(done.temporary_password);
                render_reset(&st, &s, &scope, r, StatusCode::OK).await
            }
            Err(p) if p.status == 404 => problem_page(Some(&s), &p),
            Err(p) => {
                let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
                r.errors = form_errors(&p, |_| None).form;
                render_reset(&st, &s, &scope, r, status).await
            }
        },
    )
}

async fn tokens_page(
    st: &AppState,
    scope: &TenantScope,
    form: TokenForm,
    created: Option<CreatedToken>,
    notice: Option<String>,
) -> ApiResult<TokensPage> {
    let rows = tokens::list_tokens(st, scope, all()).await?;
    Ok(TokensPage {
        slug: scope.tenant.slug.clone(),
        name: tenant_name(st, scope).await?,
        tokens: rows
            .items
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name,
                role: t.role.as_str().into(),
                created_at: when(t.created_at),
                last_used_at: t.last_used_at.map(when),
                revoked_at: t.revoked_at.map(when),
            })
            .collect(),
        form,
        created,
        notice,
    })
}

async fn render_tokens(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    form: TokenForm,
    created: Option<CreatedToken>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    match tokens_page(st, scope, form, created, notice).await {
        Ok(p) => html(status, &props(Some(s), Page::Tokens(Box::new(p)))),
        Err(p) => problem_page(Some(s), &p),
    }
}

fn member_token_form() -> TokenForm {
    TokenForm {
        role: "tenant_member".into(),
        ..Default::default()
    }
}

/// `GET /t/{tenant}/tokens` (tenant admins).
pub async fn tokens(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    TenantAdmin {
        session: s, scope, ..
    }: TenantAdmin,
) -> Response {
    let notice = q
        .get("revoked")
        .map(|n| format!("Token {n} was revoked: it no longer works."));
    render_tokens(
        &st,
        &s,
        &scope,
        member_token_form(),
        None,
        notice,
        StatusCode::OK,
    )
    .await
}

fn token_field(pointer: &str) -> Option<&'static str> {
    match pointer {
        "/name" => Some("name"),
        "/role" => Some("role"),
        _ => None,
    }
}

/// `POST /t/{tenant}/tokens`: creates a token through
/// `api::tokens::create_token` and answers with the page showing its
/// secret: the only time it is shown (not a redirect, so it is in no URL,
/// and pages are `no-store`).
pub async fn create_token(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let name = field(&f, "name").trim().to_string();
    let role = field(&f, "role").to_string();
    let out = async {
        let req = TokenCreate {
            name: name.clone(),
            role: tenant_role(&role)?,
        };
        tokens::create_token(&st, &scope, req).await
    }
    .await;
    match out {
        Ok(t) => {
            let created = CreatedToken {
                name: t.info.name,
                secret: t.token,
            };
            render_tokens(
                &st,
                &s,
                &scope,
                member_token_form(),
                Some(created),
                None,
                StatusCode::CREATED,
            )
            .await
        }
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let form = TokenForm {
                name,
                role,
                errors: {
                    let mut e = form_errors(&p, token_field);
                    ask_for_missing(&mut e, &f, TOKEN_ASKS);
                    e
                },
            };
            render_tokens(&st, &s, &scope, form, None, None, status).await
        }
    }
}

/// `POST /t/{tenant}/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdminForm {
        session: s, scope, ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let id = path_id(&s, &id)?;
    let t = tokens::revoke_token(&st, &scope, id).await.or_page(&s)?;
    Ok(see_other(&format!(
        "/t/{}/tokens?revoked={}",
        scope.tenant.slug,
        encode(&t.name)
    )))
}

/// The audit filters both logs share (the console adds `tenant`).
pub(super) const AUDIT_FILTERS: [&str; 4] = ["q", "action", "from", "to"];

/// JSON as the audit list shows it (indented).
fn pretty(v: Option<serde_json::Value>) -> Option<String> {
    v.map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
}

/// One page of an audit log, as the query string filters it (in SQL): its
/// rows and the next page's cursor.
pub(super) async fn audit_rows(
    st: &AppState,
    tenant: Option<Uuid>,
    l: &ListQuery<'_>,
) -> ApiResult<(Vec<AuditRow>, Option<String>)> {
    let page = audit::list(
        st,
        tenant,
        AuditQuery {
            limit: Some(AUDIT_PAGE),
            cursor: l.cursor()?,
            action: l.get("action"),
            q: l.get("q"),
            since: l.day("from", false)?,
            until: l.day("to", true)?,
        },
    )
    .await?;
    let rows = page
        .items
        .into_iter()
        .map(|e| AuditRow {
            id: e.id,
            at: when(e.at),
            actor: e.actor,
            action: e.action,
            object: e.object,
            source: e.source,
            job: e.job_id,
            tenant: e.tenant,
            before: pretty(e.before),
            after: pretty(e.after),
        })
        .collect();
    Ok((rows, page.next_cursor))
}

/// The actions the audit filters offer (a choice matches the action and
/// those under it).
const AUDIT_ACTIONS: [(&str, &str); 12] = [
    ("login", "logins (and failed ones)"),
    ("login.failed", "failed logins"),
    ("network", "networks"),
    ("rule", "rules"),
    ("policy", "policy"),
    ("service", "services"),
    ("client", "clients"),
    ("user", "users"),
    ("token", "API tokens"),
    ("job.retry", "retried jobs"),
    ("tenant", "tenants"),
    ("router", "routers"),
];

/// The audit log's filter bar (`tenants`: the console's tenant choice).
pub(super) fn audit_bar(
    l: &ListQuery<'_>,
    path: &str,
    tenants: Option<&[(String, String)]>,
    shown: usize,
) -> app::data::lists::FilterBar {
    let mut fields = vec![
        l.text("q", "Search", "who, what or object"),
        l.select("action", "Action", "any action", &AUDIT_ACTIONS),
    ];
    if let Some(t) = tenants {
        let opts: Vec<(&str, &str)> = t.iter().map(|(v, l)| (v.as_str(), l.as_str())).collect();
        fields.push(l.select("tenant", "Tenant", "every tenant", &opts));
    }
    fields.push(l.date("from", "From (UTC)"));
    fields.push(l.date("to", "To (UTC)"));
    let mut names: Vec<&str> = AUDIT_FILTERS.to_vec();
    if tenants.is_some() {
        names.push("tenant");
    }
    l.bar(path, &names, fields, shown)
}

/// `GET /t/{tenant}/audit?cursor=`: the tenant's audit log, newest first.
pub async fn audit(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    TenantReader {
        session: s, scope, ..
    }: TenantReader,
) -> Response {
    let base = format!("/t/{}/audit", scope.tenant.slug);
    let out = async {
        let l = ListQuery::new(&q);
        let (entries, next) = audit_rows(&st, Some(scope.id()), &l).await?;
        Ok::<_, Problem>(AuditPage {
            slug: Some(scope.tenant.slug.clone()),
            name: tenant_name(&st, &scope).await?,
            can_write: scope.who.can_write_tenant(),
            filters: audit_bar(&l, &base, None, entries.len()),
            pager: l.pager(&base, &AUDIT_FILTERS, next),
            entries,
        })
    }
    .await;
    match out {
        Ok(p) => html(
            StatusCode::OK,
            &props(Some(&s), Page::TenantAudit(Box::new(p))),
        ),
        Err(p) => problem_page(Some(&s), &p),
    }
}
