//! The admin console (`/admin/...`, platform admins only; everyone else
//! gets the not-found page, as for any path that is not theirs). Reads and
//! writes go through the API's functions: `api::tenants::create_with_admin`
//! (a tenant and its first admin in one transaction), `api::users`,
//! `api::jobs`, `api::revisions` and `api::audit`.

use super::data::{self, when};
use super::document::html;
use super::extract::{next, OrPage, PlatformAdmin, PlatformAdminForm};
use super::members::{audit_cursor, audit_rows};
use super::pages::form_errors;
use super::respond::{encode, field, problem_page, props, see_other};
use super::session::WebSession;
use crate::api::devices;
use crate::api::jobs::{self, JobQuery};
use crate::api::revisions::{self, RevQuery};
use crate::api::tenants::{self, TenantCreate};
use crate::api::users;
use crate::api::PageQuery;
use crate::config_diff::{self, Change};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use app::admin::{
    AdminJobRow, Console, DevicePage, DeviceStateRow, DiffLine, HypervisorRow, RevisionPage,
    RevisionRow, RouterRow, Section, SiteRow, TenantForm, UserRow,
};
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

async fn tenants_section(
    st: &AppState,
    form: TenantForm,
    notice: Option<String>,
) -> ApiResult<Section> {
    Ok(Section::Tenants {
        tenants: data::tenants(st).await?,
        form,
        notice,
    })
}

/// `GET /admin`: the tenants and the form that creates one.
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
    let out = tenants_section(&st, default_tenant_form(), notice).await;
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
            let form = TenantForm {
                errors: form_errors(&p, tenant_field),
                ..form
            };
            match tenants_section(&st, form, None).await {
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
        let states: HashMap<(String, String), DeviceStateRow> = listed
            .into_iter()
            .map(|d| {
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

/// `GET /admin/users`: every user, with tenant and role.
pub async fn users(
    State(st): State<AppState>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let page = users::list_users(
            &st,
            None,
            PageQuery {
                limit: Some(MAX),
                cursor: None,
            },
        )
        .await?;
        Ok::<_, Problem>(Section::Users(
            page.items
                .into_iter()
                .map(|u| UserRow {
                    email: u.email,
                    role: u.role.as_str().replace('_', " "),
                    tenant: u.tenant,
                    created_at: when(u.created_at),
                })
                .collect(),
        ))
    }
    .await;
    finish(&s, out)
}

/// A numeric cursor from the query string.
fn cursor<T: std::str::FromStr>(q: &HashMap<String, String>) -> ApiResult<Option<T>> {
    q.get("cursor")
        .map(|c| {
            c.parse()
                .map_err(|_| Problem::field(StatusCode::BAD_REQUEST, "cursor", "must be a number"))
        })
        .transpose()
}

/// `GET /admin/jobs?cursor=`: every tenant's jobs, newest first.
pub async fn jobs(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let c: Option<i64> = cursor(&q)?;
        let page = jobs::list_jobs(
            &st,
            None,
            JobQuery {
                limit: Some(PAGE),
                cursor: c,
            },
        )
        .await?;
        let slugs = vxguard_store::tenants::slugs(st.store.pool()).await?;
        let slugs: HashMap<Uuid, String> = slugs.into_iter().collect();
        let jobs = page
            .items
            .into_iter()
            .map(|j| {
                let mut devices = vec![];
                if let Some(r) = &j.result {
                    for kind in ["router", "hypervisor"] {
                        for n in r[format!("{kind}s")].as_array().into_iter().flatten() {
                            devices.push((kind.to_string(), text(n)));
                        }
                    }
                }
                AdminJobRow {
                    id: j.id,
                    tenant: j.tenant_id.and_then(|t| slugs.get(&t).cloned()),
                    reason: j.reason,
                    status: j.status,
                    created_by: j.created_by,
                    created_at: when(j.created_at),
                    finished_at: j.finished_at.map(when),
                    devices,
                }
            })
            .collect();
        Ok::<_, Problem>(Section::Jobs {
            jobs,
            older: page.next_cursor.map(|c| format!("/admin/jobs?cursor={c}")),
            newest: c.is_none(),
        })
    }
    .await;
    finish(&s, out)
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

/// `GET /admin/audit?cursor=`: the platform's whole audit log.
pub async fn audit(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin,
) -> Response {
    let out = async {
        let c = audit_cursor(&q)?;
        let (entries, older) = audit_rows(&st, None, c, "/admin/audit").await?;
        Ok::<_, Problem>(Section::Audit {
            entries,
            older,
            newest: c.is_none(),
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
