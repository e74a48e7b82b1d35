//! The admin console (`/admin/...`, platform admins only; everyone else
//! gets the not-found page, as for any path that is not theirs). Reads and
//! writes go through the API's functions: `api::tenants::create_with_admin`
//! (a tenant and its first admin in one transaction), `api::users`,
//! `api::jobs`, `api::revisions` and `api::audit`.

use super::data::{self, when};
use super::document::html;
use super::extract::{next, OrPage, PlatformAdmin, PlatformAdminForm};
use super::lists::{job_fields, job_filter, ListQuery, JOBS_PAGE, JOB_FILTERS};
use super::members::{audit_bar, audit_rows, AUDIT_FILTERS};
use super::pages::{ask_for_missing, form_errors};
use super::respond::{encode, field, problem_page, props, see_other};
use super::session::WebSession;
use crate::api::devices;
use crate::api::jobs;
use crate::api::revisions::{self, RevQuery};
use crate::api::tenants::{self, TenantCreate};
use crate::api::users;
use crate::config_diff::{self, Change};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use app::admin::{
    AdminJobRow, Console, DeviceListRow, DevicePage, DeviceStateRow, DiffLine, HypervisorRow,
    MeshKeyRow, RevisionPage, RevisionRow, RouterRow, Section, SiteRow, TenantForm, TenantRow,
    UserRow,
};
use app::members::PasswordReset;
use app::Page;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;
use uuid::Uuid;
use vxguard_store::kind::Kind;
use vxguard_store::objects;

/// Jobs and revisions per page.
const PAGE: i64 = 50;
/// Users and platform objects shown (no paging below this).
const MAX: i64 = 500;

pub(super) fn console(s: &WebSession, status: StatusCode, section: Section) -> Response {
    html(
        status,
        &props(Some(s), Page::Admin(Box::new(Console { section }))),
    )
}

/// A section, or its problem as a page.
fn finish(s: &WebSession, out: ApiResult<Section>) -> Response {
    match out {
        Ok(section) => console(s, StatusCode::OK, section),
        Err(p) => problem_page(Some(s), &p),
    }
}

fn default_tenant_form() -> TenantForm {
    TenantForm {
        default_action: "drop".into(),
        ..Default::default()
    }
}

/// Tenants per page of the console's list.
const TENANTS_PAGE: i64 = 100;

async fn tenants_section(
    st: &AppState,
    form: TenantForm,
    notice: Option<String>,
    q: &HashMap<String, String>,
) -> ApiResult<Section> {
    let l = ListQuery::new(q);
    let after = l.cursor_text();
    let rows = vxguard_store::tenants::summaries_filtered(
        st.store.pool(),
        l.get("q").as_deref(),
        after.as_deref(),
        TENANTS_PAGE,
    )
    .await?;
    let next = (rows.len() as i64 == TENANTS_PAGE)
        .then(|| rows.last().map(|t| t.slug.clone()))
        .flatten();
    let tenants: Vec<TenantRow> = rows
        .into_iter()
        .map(|t| TenantRow {
            slug: t.slug,
            name: t.name,
            networks: t.networks,
            users: t.users,
            default_action: t.default_action,
        })
        .collect();
    let fields = vec![l.text("q", "Search", "slug or name")];
    Ok(Section::Tenants {
        filters: l.bar("/admin", &["q"], fields, tenants.len()),
        pager: l.pager("/admin", &["q"], next),
        tenants,
        form,
        notice,
    })
}

/// `GET /admin?q=&cursor=`: the tenants (searched) and the form that
/// creates one.
pub async fn index(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let notice = match (q.get("created"), q.get("admin"), q.get("job")) {
        (Some(t), Some(a), Some(j)) => Some(format!(
            "Tenant {t} created with its admin {a}; job #{j} compiles it."
        )),
        _ => None,
    };
    let out = tenants_section(&st, default_tenant_form(), notice, &q).await;
    finish(&s, out)
}

fn tenant_field(pointer: &str) -> Option<&'static str> {
    match pointer {
        "/slug" => Some("slug"),
        "/name" => Some("name"),
        "/default_action" => Some("default_action"),
        "/admin/email" => Some("admin_email"),
        "/admin/password" => Some("admin_password"),
        _ => None,
    }
}

/// What the new-tenant form asks for when left empty.
const TENANT_ASKS: &[(&str, &str)] = &[
    (
        "slug",
        "Enter a slug: lowercase letters, digits and dashes, e.g. research-lab.",
    ),
    ("name", "Enter the tenant's name, e.g. Research Lab."),
    (
        "admin_email",
        "Enter the email address its first admin logs in with.",
    ),
    (
        "admin_password",
        "Enter an initial password of at least 12 characters.",
    ),
];

/// `POST /admin/tenants`: creates a tenant and its first admin through
/// `api::tenants::create_with_admin`: both or neither.
pub async fn create_tenant(
    State(st): State<AppState>,
    PlatformAdminForm {
        session: s,
        form: f,
        ..
    }: PlatformAdminForm<next::Console>,
) -> Response {
    let form = TenantForm {
        slug: field(&f, "slug").trim().to_string(),
        name: field(&f, "name").trim().to_string(),
        default_action: field(&f, "default_action").to_string(),
        admin_email: field(&f, "admin_email").trim().to_string(),
        errors: Default::default(),
    };
    let out = async {
        let default_action =
            serde_json::from_value(form.default_action.clone().into()).map_err(|_| {
                Problem::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/default_action",
                    "choose drop, reject or accept",
                )
            })?;
        let req = TenantCreate {
            slug: form.slug.clone(),
            name: form.name.clone(),
            default_action,
        };
        tenants::create_with_admin(
            &st,
            &s.who,
            req,
            form.admin_email.clone(),
            field(&f, "admin_password").to_string(),
        )
        .await
    }
    .await;
    match out {
        Ok(c) => see_other(&format!(
            "/admin?created={}&admin={}&job={}",
            encode(&c.tenant.slug),
            encode(&c.admin.email),
            c.job
        )),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let mut errors = form_errors(&p, tenant_field);
            ask_for_missing(&mut errors, &f, TENANT_ASKS);
            let form = TenantForm { errors, ..form };
            match tenants_section(&st, form, None, &HashMap::new()).await {
                Ok(section) => console(&s, status, section),
                Err(p) => problem_page(Some(&s), &p),
            }
        }
    }
}

/// How the driver trusts a router's API certificate, for the console.
fn api_trust(spec: &serde_json::Value) -> String {
    match (
        spec["api_certificate_sha256"].as_str(),
        spec["api_endpoint"].as_str(),
    ) {
        (Some(pin), _) => format!("pinned {pin}"),
        (None, Some(e)) if e.starts_with("https://") => "public roots".into(),
        _ => "plain HTTP (loopback)".into(),
    }
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        o => o.to_string(),
    }
}

/// The latest revision number of every device, by (kind, name).
async fn latest_revisions(st: &AppState) -> ApiResult<HashMap<(String, String), i32>> {
    let rows = vxguard_store::revisions::latest(st.store.pool()).await?;
    Ok(rows.into_iter().map(|(k, d, s)| ((k, d), s)).collect())
}

/// How long the platform page waits for a router's certificate: it is
/// read only for routers whose last apply refused it, but the page must
/// not hang on one that is down.
const CERTIFICATE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The certificates presented now by the routers whose last apply failed
/// on the pinned one, read side by side; a router that cannot be read is
/// left out (its error stays on the page).
async fn presented_certificates(
    st: &AppState,
    s: &WebSession,
    devices: &[crate::driver::status::DeviceStatus],
) -> HashMap<String, String> {
    let refused = devices.iter().filter(|d| {
        d.kind == "router"
            && d.state == crate::driver::status::DeviceState::Failed
            && d.error.as_deref().is_some_and(devices::certificate_refused)
    });
    let reads = refused.map(|d| async {
        let sha = devices::presented_certificate(st, &s.who, &d.name, CERTIFICATE_WAIT).await;
        (d.name.clone(), sha.ok())
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .filter_map(|(n, sha)| sha.map(|sha| (n, sha)))
        .collect()
}

/// The notice of `/admin/platform` after a console action.
fn platform_notice(q: &HashMap<String, String>) -> Option<String> {
    if let (Some(d), Some(j)) = (q.get("rotating_mesh"), q.get("job")) {
        return Some(format!(
            "Rotating the mesh key of {d}: job #{j} puts the new key on the standby mesh slot; \
             the worker moves traffic to it once every live peer has handshaken there, and \
             the old key stops working right after."
        ));
    }
    match (q.get("rotating"), q.get("trusted"), q.get("job")) {
        (Some(r), _, Some(j)) => Some(format!(
            "Rotating the API key of {r}: job #{j} adds the new key; the worker switches to it and \
             removes the old one once the router has taken it."
        )),
        (_, Some(r), Some(j)) => Some(format!(
            "{r}'s certificate is trusted: job #{j} applies with it."
        )),
        (_, Some(r), None) => Some(format!("{r} was already pinned to that certificate.")),
        _ => None,
    }
}

/// `GET /admin/platform`: sites, routers and hypervisors.
pub async fn platform(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let latest = latest_revisions(&st).await?;
        let rev = |k: &str, n: &str| latest.get(&(k.to_string(), n.to_string())).copied();
        let listed = crate::driver::status::list(&st.db).await?;
        let mut presented = presented_certificates(&st, &s, &listed).await;
        let mut keys: HashMap<String, (String, Option<String>)> = HashMap::new();
        let mut mesh_keys: HashMap<(String, String), MeshKeyRow> = HashMap::new();
        let states: HashMap<(String, String), DeviceStateRow> = listed
            .into_iter()
            .map(|d| {
                if let Some(k) = d.mesh_key {
                    let row = MeshKeyRow {
                        fingerprint: k.fingerprint,
                        since: k.since.map(when),
                        next: k.next_rotation_at.map(when),
                        rotating: k.rotating,
                    };
                    mesh_keys.insert((d.kind.clone(), d.name.clone()), row);
                }
                if let Some(k) = d.api_key {
                    let rotation = k.rotation.map(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    });
                    keys.insert(d.name.clone(), (k.fingerprint, rotation));
                }
                (
                    (d.kind, d.name),
                    DeviceStateRow {
                        state: d.state.as_str().into(),
                        applied: d.applied_seq,
                        error: d.error,
                        drift_lines: d.drift.len(),
                    },
                )
            })
            .collect();
        let state = |k: &str, n: &str| {
            states
                .get(&(k.to_string(), n.to_string()))
                .cloned()
                .unwrap_or_default()
        };
        let sites = objects::list(&st.db, Kind::Site, None, None, MAX)
            .await?
            .into_iter()
            .map(|o| SiteRow {
                public_blocks: o.spec["public_blocks"]
                    .as_array()
                    .map(|a| a.iter().map(text).collect())
                    .unwrap_or_default(),
                name: o.name,
            })
            .collect();
        let routers = objects::list(&st.db, Kind::Router, None, None, MAX)
            .await?
            .into_iter()
            .map(|o| {
                let (api_key, rotation) = keys.remove(&o.name).unzip();
                RouterRow {
                    site: text(&o.spec["site"]),
                    version: text(&o.spec["version"]),
                    underlay_address: text(&o.spec["underlay_address"]),
                    api_endpoint: text(&o.spec["api_endpoint"]),
                    api_trust: api_trust(&o.spec),
                    revision: rev("router", &o.name),
                    state: state("router", &o.name),
                    api_key,
                    rotation: rotation.flatten(),
                    presented_certificate: presented.remove(&o.name),
                    mesh_key: mesh_keys.remove(&("router".to_string(), o.name.clone())),
                    name: o.name,
                }
            })
            .collect();
        let hypervisors = objects::list(&st.db, Kind::Hypervisor, None, None, MAX)
            .await?
            .into_iter()
            .map(|o| HypervisorRow {
                site: text(&o.spec["site"]),
                underlay_address: text(&o.spec["underlay_address"]),
                vtep_address: o.spec["vtep_address"].as_str().map(String::from),
                bridge: o.spec["bridge"].as_str().unwrap_or("br-int").to_string(),
                revision: rev("hypervisor", &o.name),
                state: state("hypervisor", &o.name),
                mesh_key: mesh_keys.remove(&("hypervisor".to_string(), o.name.clone())),
                name: o.name,
            })
            .collect();
        Ok::<_, Problem>(Section::Platform {
            sites,
            routers,
            hypervisors,
            notice: platform_notice(&q),
        })
    }
    .await;
    finish(&s, out)
}

/// `POST /admin/routers/{name}/api-key/rotate`: starts a rotation of the
/// router's API key (`api::devices::rotate_api_key`, as the API does).
pub async fn rotate_api_key(
    State(st): State<AppState>,
    Path(name): Path<String>,
    PlatformAdminForm { session: s, .. }: PlatformAdminForm<next::Platform>,
) -> Result<Response, Response> {
    let job = devices::rotate_api_key(&st, &s.who, &name)
        .await
        .or_page(&s)?;
    Ok(see_other(&format!(
        "/admin/platform?rotating={}&job={job}",
        encode(&name)
    )))
}

/// `POST /admin/devices/{name}/wireguard-key/rotate`: rotates a router's
/// or hypervisor's mesh key now, with no grace
/// (`api::devices::rotate_mesh_key`, as the API does).
pub async fn rotate_mesh_key(
    State(st): State<AppState>,
    Path(name): Path<String>,
    PlatformAdminForm { session: s, .. }: PlatformAdminForm<next::Platform>,
) -> Result<Response, Response> {
    let job = devices::rotate_mesh_key(&st, &s.who, &name)
        .await
        .or_page(&s)?;
    Ok(see_other(&format!(
        "/admin/platform?rotating_mesh={}&job={job}",
        encode(&name)
    )))
}

/// `POST /admin/routers/{name}/certificate/trust` (`sha256`): pins the
/// certificate the router presents, if it is still the one shown
/// (`api::devices::trust_certificate`: read off the router again and
/// compared, as the API does).
pub async fn trust_certificate(
    State(st): State<AppState>,
    Path(name): Path<String>,
    PlatformAdminForm {
        session: s,
        form: f,
        ..
    }: PlatformAdminForm<next::Platform>,
) -> Result<Response, Response> {
    let t = devices::trust_certificate(&st, &s.who, &name, field(&f, "sha256"))
        .await
        .or_page(&s)?;
    Ok(see_other(&match t.job {
        Some(j) => format!("/admin/platform?trusted={}&job={j}", encode(&name)),
        None => format!("/admin/platform?trusted={}", encode(&name)),
    }))
}

/// `GET /admin/health?status=&kind=&site=`: every device's health items,
/// filtered, and the platform map (`health`).
pub async fn health(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = super::health::admin(&st, &q).await;
    finish(
        &s,
        out.map(|h| Section::Health(app::health::ServerOnly(Box::new(h)))),
    )
}

/// Users per page of the console's list.
const USERS_PAGE: i64 = 100;

/// The tenants as a filter's choices (slug, slug).
async fn tenant_choices(st: &AppState) -> ApiResult<Vec<(String, String)>> {
    let mut v: Vec<(String, String)> = vxguard_store::tenants::slugs(st.store.pool())
        .await?
        .into_iter()
        .map(|(_, s)| (s.clone(), s))
        .collect();
    v.sort();
    Ok(v)
}

/// The tenant a console filter names (`platform`: the platform's own).
async fn tenant_filter(st: &AppState, l: &ListQuery<'_>) -> ApiResult<(Option<Uuid>, bool)> {
    match l.get("tenant").as_deref() {
        None => Ok((None, false)),
        Some("platform") => Ok((None, true)),
        Some(slug) => match vxguard_store::tenants::by_slug(st.store.pool(), slug).await? {
            Some((id, _)) => Ok((Some(id), false)),
            None => Err(Problem::field(
                StatusCode::BAD_REQUEST,
                "tenant",
                format!("there is no tenant {slug:?}"),
            )),
        },
    }
}

/// The console's tenant choices, with "the platform's own" first.
async fn tenant_options(st: &AppState) -> ApiResult<Vec<(String, String)>> {
    let mut v = vec![("platform".to_string(), "the platform's own".to_string())];
    v.extend(tenant_choices(st).await?);
    Ok(v)
}

const USER_FILTERS: [&str; 3] = ["q", "tenant", "role"];

/// `GET /admin/users?q=&tenant=&role=&cursor=`: every user, with tenant
/// and role, filtered in SQL.
pub async fn users(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let l = ListQuery::new(&q);
        let (tenant, platform) = tenant_filter(&st, &l).await?;
        let roles = [
            ("platform_admin", "platform admin"),
            ("tenant_admin", "tenant admin"),
            ("tenant_member", "tenant member"),
        ];
        let role_names: Vec<&str> = roles.iter().map(|r| r.0).collect();
        let f = vxguard_store::users::Filter {
            tenant,
            platform,
            role: l.choice("role", &role_names)?,
            search: l.get("q"),
        };
        // The cursor is `email id`, as the API's.
        let cursor = l.cursor_text();
        let (after_email, after_id) = match cursor.as_deref().and_then(|c| c.rsplit_once(' ')) {
            Some((e, id)) => (
                Some(e.to_string()),
                Some(id.parse::<Uuid>().map_err(|_| {
                    Problem::field(
                        StatusCode::BAD_REQUEST,
                        "cursor",
                        "is not a page of this list",
                    )
                })?),
            ),
            None => (cursor.clone(), None),
        };
        let rows = vxguard_store::users::filtered(
            st.store.pool(),
            &f,
            after_email.as_deref(),
            after_id,
            USERS_PAGE,
        )
        .await?;
        let next = (rows.len() as i64 == USERS_PAGE)
            .then(|| rows.last().map(|u| format!("{} {}", u.email, u.id)))
            .flatten();
        let users: Vec<UserRow> = rows
            .into_iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                you: s.who.user_id == Some(u.id),
                email: u.email,
                role: u.role.replace('_', " "),
                tenant: u.tenant,
                created_at: when(u.created_at),
            })
            .collect();
        let tenants = tenant_options(&st).await?;
        let topts: Vec<(&str, &str)> = tenants
            .iter()
            .map(|(v, l)| (v.as_str(), l.as_str()))
            .collect();
        let fields = vec![
            l.text("q", "Search", "email"),
            l.select("tenant", "Tenant", "every tenant", &topts),
            l.select("role", "Role", "any role", &roles),
        ];
        Ok::<_, Problem>(Section::Users {
            filters: l.bar("/admin/users", &USER_FILTERS, fields, users.len()),
            pager: l.pager("/admin/users", &USER_FILTERS, next),
            users,
        })
    }
    .await;
    finish(&s, out)
}

/// A user id from a path; anything else is a missing page.
fn user_id(s: &WebSession, id: &str) -> Result<Uuid, Response> {
    id.parse::<Uuid>()
        .map_err(|_| Problem::not_found())
        .or_page(s)
}

/// The reset of user `id` as the console shows it (the user must exist).
async fn reset_of(st: &AppState, s: &WebSession, id: Uuid) -> Result<PasswordReset, Response> {
    let u = vxguard_store::users::find(st.store.pool(), id, None)
        .await
        .map_err(Problem::from)
        .and_then(|u| u.ok_or_else(Problem::not_found))
        .or_page(s)?;
    Ok(PasswordReset {
        email: u.email,
        action: format!("/admin/users/{id}/reset"),
        back: "/admin/users".into(),
        ..Default::default()
    })
}

fn reset_section(r: PasswordReset) -> Section {
    Section::ResetPassword {
        title: format!("Reset the password of {}", r.email),
        reset: app::health::ServerOnly(r),
    }
}

/// `GET /admin/users/{id}/reset`: asks before resetting a user's password.
pub async fn reset_form(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Result<Response, Response> {
    let id = user_id(&s, &id)?;
    let r = reset_of(&st, &s, id).await?;
    Ok(console(&s, StatusCode::OK, reset_section(r)))
}

/// `POST /admin/users/{id}/reset`: resets through
/// `api::users::reset_password` and answers with the temporary password
/// (shown on this response only: not a redirect, pages are `no-store`).
pub async fn reset(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PlatformAdminForm { session: s, .. }: PlatformAdminForm,
) -> Result<Response, Response> {
    let id = user_id(&s, &id)?;
    let mut r = reset_of(&st, &s, id).await?;
    Ok(match users::reset_password(&st, &s.who, id, None).await {
        Ok(done) => {
            r.temporary = Some(done.temporary_password);
            console(&s, StatusCode::OK, reset_section(r))
        }
        Err(p) if p.status == 404 => problem_page(Some(&s), &p),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
            r.errors = form_errors(&p, |_| None).form;
            console(&s, status, reset_section(r))
        }
    })
}

/// The devices a job's compile changed (from its result).
fn job_devices(result: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let mut devices = vec![];
    if let Some(r) = result {
        for kind in ["router", "hypervisor"] {
            for n in r[format!("{kind}s")].as_array().into_iter().flatten() {
                devices.push((kind.to_string(), text(n)));
            }
        }
    }
    devices
}

/// Jobs as the lists show them (`admin`: the console's, with the
/// operators' errors; a tenant's list shows its own errors only).
pub(super) async fn job_rows(
    st: &AppState,
    items: Vec<crate::jobs::Job>,
    admin: bool,
) -> ApiResult<Vec<AdminJobRow>> {
    let slugs: HashMap<Uuid, String> = if admin {
        vxguard_store::tenants::slugs(st.store.pool())
            .await?
            .into_iter()
            .collect()
    } else {
        HashMap::new()
    };
    Ok(items
        .into_iter()
        .map(|j| {
            let devices = if admin {
                job_devices(j.result.as_ref())
            } else {
                vec![]
            };
            let tenant = j.tenant_id.and_then(|t| slugs.get(&t).cloned());
            let finished_at = j.finished_at.map(when);
            let row = data::job_row(j);
            AdminJobRow {
                id: row.id,
                tenant,
                reason: row.reason,
                status: row.status,
                created_by: row.created_by,
                created_at: row.created_at,
                finished_at,
                why: row.why,
                devices,
            }
        })
        .collect())
}

/// `GET /admin/jobs?q=&status=&tenant=&kind=&from=&to=&cursor=`: every
/// tenant's jobs, filtered in SQL, newest first.
pub async fn jobs(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let names: Vec<&str> = JOB_FILTERS.iter().copied().chain(["tenant"]).collect();
    let out = async {
        let l = ListQuery::new(&q);
        let (tenant, platform) = tenant_filter(&st, &l).await?;
        let mut f = job_filter(&l, tenant)?;
        f.platform = platform;
        let page = jobs::list_filtered(&st, &f, Some(JOBS_PAGE)).await?;
        let rows = job_rows(&st, page.items, true).await?;
        let tenants = tenant_options(&st).await?;
        Ok::<_, Problem>(Section::Jobs {
            filters: l.bar(
                "/admin/jobs",
                &names,
                job_fields(&l, Some(&tenants)),
                rows.len(),
            ),
            pager: l.pager("/admin/jobs", &names, page.next_cursor),
            jobs: rows,
        })
    }
    .await;
    finish(&s, out)
}

/// Devices per page of the console's list.
const DEVICES_PAGE: i64 = 100;
const DEVICE_FILTERS: [&str; 4] = ["q", "kind", "site", "state"];

/// `GET /admin/devices?q=&kind=&site=&state=&cursor=`: every router and
/// hypervisor with its state, filtered in SQL (`store::applies::listed`).
pub async fn devices(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let l = ListQuery::new(&q);
        let states = [
            ("failed", "failed"),
            ("drifted", "drifted"),
            ("pending", "pending"),
            ("applied", "applied"),
        ];
        let state_names: Vec<&str> = states.iter().map(|s| s.0).collect();
        let f = vxguard_store::applies::DeviceFilter {
            kind: l.choice("kind", &["router", "hypervisor"])?,
            site: l.get("site"),
            search: l.get("q"),
            state: l.choice("state", &state_names)?,
            after: l.cursor_text(),
        };
        let rows = vxguard_store::applies::listed(st.store.pool(), &f, DEVICES_PAGE).await?;
        let next = (rows.len() as i64 == DEVICES_PAGE)
            .then(|| rows.last().map(|d| format!("{}/{}", d.kind, d.name)))
            .flatten();
        let devices: Vec<DeviceListRow> = rows
            .into_iter()
            .map(|d| DeviceListRow {
                state: DeviceStateRow {
                    state: d.state.clone(),
                    applied: d.applied_seq,
                    error: d.error,
                    drift_lines: d.drift_lines as usize,
                },
                kind: d.kind,
                name: d.name,
                site: d.site.unwrap_or_default(),
                revision: d.latest_seq,
                job: d.latest_job,
            })
            .collect();
        let sites: Vec<(String, String)> = objects::list(&st.db, Kind::Site, None, None, MAX)
            .await?
            .into_iter()
            .map(|o| (o.name.clone(), o.name))
            .collect();
        let site_opts: Vec<(&str, &str)> = sites
            .iter()
            .map(|(v, l)| (v.as_str(), l.as_str()))
            .collect();
        let fields = vec![
            l.text("q", "Search", "name"),
            l.select(
                "kind",
                "Kind",
                "routers and hypervisors",
                &[("router", "routers"), ("hypervisor", "hypervisors")],
            ),
            l.select("site", "Site", "every site", &site_opts),
            l.select("state", "State", "any state", &states),
        ];
        Ok::<_, Problem>(Section::Devices {
            filters: l.bar("/admin/devices", &DEVICE_FILTERS, fields, devices.len()),
            pager: l.pager("/admin/devices", &DEVICE_FILTERS, next),
            devices,
        })
    }
    .await;
    finish(&s, out)
}

/// A numeric cursor from the query string.
fn cursor<T: std::str::FromStr>(q: &HashMap<String, String>) -> ApiResult<Option<T>> {
    ListQuery::new(q).cursor()
}

/// The declared kind of a device kind in a path (404 for anything else).
fn device_kind(kind: &str) -> ApiResult<Kind> {
    match kind {
        "router" => Ok(Kind::Router),
        "hypervisor" => Ok(Kind::Hypervisor),
        _ => Err(Problem::not_found()),
    }
}

/// `GET /admin/devices/{kind}/{name}?cursor=`: a device's revisions.
pub async fn device(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let path = format!("/admin/devices/{kind}/{name}");
    let out = async {
        let k = device_kind(&kind)?;
        let c: Option<i32> = cursor(&q)?;
        let page = revisions::list_revisions(
            &st,
            &s.who,
            &kind,
            &name,
            RevQuery {
                limit: Some(PAGE),
                cursor: c,
            },
        )
        .await?;
        // A device neither declared nor ever compiled does not exist.
        if page.items.is_empty() && objects::get(&st.db, k, None, &name).await?.is_none() {
            return Err(Problem::not_found());
        }
        Ok::<_, Problem>(Section::Device(DevicePage {
            revisions: page
                .items
                .into_iter()
                .map(|r| RevisionRow {
                    seq: r.seq,
                    job_id: r.job_id,
                    created_at: when(r.created_at),
                    changed_lines: r.diff.lines().count(),
                })
                .collect(),
            older: page.next_cursor.map(|c| format!("{path}?cursor={c}")),
            newest: c.is_none(),
            kind,
            name,
        }))
    }
    .await;
    finish(&s, out)
}

/// The line diff as the page shows it.
fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    config_diff::changes(old, new)
        .into_iter()
        .map(|c| match c {
            Change::Removed(l) => DiffLine {
                added: false,
                text: l.to_string(),
            },
            Change::Added(l) => DiffLine {
                added: true,
                text: l.to_string(),
            },
        })
        .collect()
}

/// `GET /admin/devices/{kind}/{name}/{seq}`: one revision's configuration
/// and its line diff against the previous revision.
pub async fn revision(
    State(st): State<AppState>,
    Path((kind, name, seq)): Path<(String, String, String)>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let seq: i32 = seq.parse().map_err(|_| Problem::not_found())?;
        let r = revisions::get_revision(&st, &s.who, &kind, &name, seq).await?;
        let prev = revisions::previous_config(&st, &s.who, &kind, &name, seq).await?;
        let config = r.config.unwrap_or_default();
        let (previous, old) = match prev {
            Some((p, c)) => (Some(p), c),
            None => (None, String::new()),
        };
        Ok::<_, Problem>(Section::Revision(Box::new(RevisionPage {
            diff: diff_lines(&old, &config),
            kind,
            name,
            seq,
            job_id: r.job_id,
            created_at: when(r.created_at),
            previous,
            config,
        })))
    }
    .await;
    finish(&s, out)
}

/// `GET /admin/audit?q=&action=&tenant=&from=&to=&cursor=`: the
/// platform's whole audit log, filtered in SQL.
pub async fn audit(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let names: Vec<&str> = AUDIT_FILTERS.iter().copied().chain(["tenant"]).collect();
    let out = async {
        let l = ListQuery::new(&q);
        let (tenant, platform) = tenant_filter(&st, &l).await?;
        if platform {
            return Err(Problem::field(
                StatusCode::BAD_REQUEST,
                "tenant",
                "choose a tenant, or every tenant",
            ));
        }
        let (entries, next) = audit_rows(&st, tenant, &l).await?;
        let tenants = tenant_choices(&st).await?;
        Ok::<_, Problem>(Section::Audit {
            filters: audit_bar(&l, "/admin/audit", Some(&tenants), entries.len()),
            pager: l.pager("/admin/audit", &names, next),
            entries,
        })
    }
    .await;
    finish(&s, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lines_mark_removed_and_added() {
        let d = diff_lines("set a\nset b\n", "set b\nset c\n");
        assert_eq!(
            d,
            vec![
                DiffLine {
                    added: false,
                    text: "set a".into()
                },
                DiffLine {
                    added: true,
                    text: "set c".into()
                },
            ]
        );
    }

    #[test]
    fn new_tenant_fields_map_to_the_form() {
        assert_eq!(tenant_field("/admin/email"), Some("admin_email"));
        assert_eq!(tenant_field("/slug"), Some("slug"));
        assert_eq!(tenant_field("/other"), None);
    }
}
