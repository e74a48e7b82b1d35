//! The admin console's editor for sites, routers and hypervisors
//! (`/admin/platform/{kind}/...`, platform admins only): a form generated
//! from the kind's JSON Schema (`spec_form`), whose "Preview" shows what
//! the change does on every device (`Store::preview_platform`, nothing
//! kept), and the spec as JSON for experts, exactly as the API stores it.
//! Both are written through `Store::change` like the API's PUT, POST and
//! DELETE (one transaction: check, allocate, job, audit), with the version
//! the page was read at as its `If-Match`.

use super::admin::console;
use super::extract::{next, OrPage, PlatformAdmin, PlatformAdminForm};
use super::respond::{field, problem_page, see_other, Form};
use super::session::WebSession;
use super::spec_form;
use crate::api::policy::PolicyPreview;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use app::admin::Section;
use app::health::ServerOnly;
use app::platform::SpecEdit;
use app::policy::PreviewView;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use vxguard_store::kind::Kind;
use vxguard_store::objects::{self, Declared};
use vxguard_store::write::Op;

/// The platform kind a path names (404 for anything else).
fn platform_kind(kind: &str) -> ApiResult<Kind> {
    match kind {
        "site" => Ok(Kind::Site),
        "router" => Ok(Kind::Router),
        "hypervisor" => Ok(Kind::Hypervisor),
        _ => Err(Problem::not_found()),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The server's reasons, all of them, one sentence each: the field in
/// words with its pointer (`Public blocks, item 2 (/public_blocks/1): ...`)
/// when a field of the spec is at fault, `other/object: ...` when another
/// object is (`spec_form::reason`).
fn reasons(p: &Problem) -> Vec<String> {
    let mut out: Vec<String> = p
        .errors
        .iter()
        .map(|e| spec_form::reason(e.pointer.as_deref(), e.object.as_deref(), &e.detail))
        .collect();
    if out.is_empty() {
        out.push(p.detail.clone());
    }
    out
}

/// The textarea's JSON, or the reason it is malformed with its line:column.
fn parse_spec(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
        format!(
            "The JSON is malformed at line {}:{}: {msg}.",
            e.line(),
            e.column()
        )
    })
}

fn render(s: &WebSession, status: StatusCode, e: SpecEdit) -> Response {
    let title = e.title();
    console(
        s,
        status,
        Section::Spec {
            title,
            edit: ServerOnly(Box::new(e)),
        },
    )
}

/// What a posted page asks for: the JSON form's `spec`, or the generated
/// form's fields to preview or to apply.
enum Posted {
    Json(String),
    Fields { preview: bool },
}

fn posted(f: &Form) -> Posted {
    if f.iter().any(|(k, _)| k == "spec") {
        Posted::Json(field(f, "spec").to_string())
    } else {
        Posted::Fields {
            preview: field(f, "do") == "preview",
        }
    }
}

/// The preview as the page shows it (key material redacted, as the API's).
fn preview_page(p: vxguard_compiler::preview::Preview, what: String) -> PreviewView {
    super::policy::preview_view(PolicyPreview::from(p), what, None)
}

/// The generated form's answer: the page again with the errors at their
/// fields, a preview, or (applied) the redirect `done` makes of the job.
#[allow(clippy::too_many_arguments)]
async fn fields_posted(
    st: &AppState,
    s: &WebSession,
    k: Kind,
    mut page: SpecEdit,
    f: &Form,
    preview: bool,
    current: Option<&Declared>,
    done: impl FnOnce(i64, String) -> String,
) -> Response {
    let name = current.map(|o| o.name.as_str());
    let existing = name.is_some();
    // What a stale version shows instead: the object as it now is.
    let fresh = current.map(|o| edit_page(k, o, false));
    page.fields = spec_form::fields(k, &Value::Null, existing);
    let Some(body) = spec_form::body(&mut page.fields, f) else {
        page.errors = vec!["Some fields need attention; each says what to do.".into()];
        return render(s, StatusCode::UNPROCESSABLE_ENTITY, page);
    };
    page.spec = pretty(&body);
    let op = || match name {
        Some(_) => Op::Replace(body.clone()),
        None => Op::Create(body.clone()),
    };
    let if_match = existing.then_some(page.version);
    if preview {
        let what = match name {
            Some(n) => format!("Change {} {n}", page.kind),
            None => format!("Create this {}", page.kind),
        };
        return match st
            .store
            .preview_platform(&s.who, k, name, op(), if_match)
            .await
            .map_err(Problem::from)
        {
            Ok(p) => {
                page.preview = Some(preview_page(p, what));
                render(s, StatusCode::OK, page)
            }
            Err(p) => refused(s, page, fresh, &p),
        };
    }
    match st
        .store
        .change(&s.who, k, None, name, op(), if_match)
        .await
        .map_err(Problem::from)
    {
        Ok(out) => see_other(&done(
            out.job,
            out.object.map(|o| o.name).unwrap_or_default(),
        )),
        Err(p) => refused(s, page, fresh, &p),
    }
}

/// The page again with the server's reasons at the fields they name, or,
/// when someone saved in between, the current object (`fresh`) with why.
fn refused(s: &WebSession, mut page: SpecEdit, fresh: Option<SpecEdit>, p: &Problem) -> Response {
    if p.status == StatusCode::PRECONDITION_FAILED.as_u16() {
        page = fresh.unwrap_or(page);
        page.notice = Some(stale(&page.kind));
    } else {
        page.errors = spec_form::place_errors(&mut page.fields, p);
        if page.errors.is_empty() {
            page.errors = vec!["Some fields need attention; each says what to do.".into()];
        }
    }
    render(s, status_of(p), page)
}

fn status_of(p: &Problem) -> StatusCode {
    StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

fn edit_page(kind: Kind, o: &Declared, confirm_delete: bool) -> SpecEdit {
    SpecEdit {
        fields: spec_form::fields(kind, &o.spec, true),
        preview: None,
        kind: kind.as_str().to_string(),
        name: Some(o.name.clone()),
        version: o.version,
        spec: pretty(&o.spec),
        errors: vec![],
        notice: None,
        job: None,
        confirm_delete,
    }
}

/// The object the path names, if it exists, or the page to answer with.
async fn load(
    st: &AppState,
    s: &WebSession,
    kind: &str,
    name: &str,
) -> Result<(Kind, Option<Declared>), Response> {
    let k = platform_kind(kind).or_page(s)?;
    let o = objects::get(&st.db, k, None, name).await.or_page(s)?;
    Ok((k, o))
}

/// The version the page was read at (the form's `If-Match`).
fn version(f: &Form) -> ApiResult<i64> {
    field(f, "version")
        .parse()
        .map_err(|_| Problem::bad_request("no version"))
}

/// The "new" form's JSON: an existing object's spec with its name cleared
/// (and, for a hypervisor, its VTEP address left to the allocator).
async fn template(st: &AppState, kind: Kind) -> ApiResult<Value> {
    let first = objects::list(&st.db, kind, None, None, 1).await?;
    let mut spec = first
        .into_iter()
        .next()
        .map(|o| o.spec)
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(m) = spec.as_object_mut() {
        m.insert(kind.name_field().into(), Value::String(String::new()));
        if kind == Kind::Hypervisor {
            m.remove("vtep_address");
        }
    }
    Ok(spec)
}

/// `GET /admin/platform/{kind}/new`: the form creating one, prefilled.
pub async fn new_form(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    PlatformAdmin { session: s, .. }: PlatformAdmin<next::NewSpec>,
) -> Response {
    let spec = match platform_kind(&kind) {
        Ok(k) => template(&st, k).await,
        Err(p) => Err(p),
    };
    match spec {
        Ok(spec) => render(
            &s,
            StatusCode::OK,
            SpecEdit {
                fields: spec_form::fields(platform_kind(&kind).unwrap_or(Kind::Site), &spec, false),
                kind,
                spec: pretty(&spec),
                ..SpecEdit::default()
            },
        ),
        Err(p) => problem_page(Some(&s), &p),
    }
}

/// `POST /admin/platform/{kind}`: creates one (`Op::Create`).
pub async fn create(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    PlatformAdminForm {
        session: s,
        form: f,
        ..
    }: PlatformAdminForm<next::NewSpec>,
) -> Result<Response, Response> {
    let k = platform_kind(&kind).or_page(&s)?;
    let text = match posted(&f) {
        Posted::Json(text) => text,
        Posted::Fields { preview } => {
            let page = SpecEdit {
                kind: kind.clone(),
                ..SpecEdit::default()
            };
            return Ok(
                fields_posted(&st, &s, k, page, &f, preview, None, |job, name| {
                    format!("/admin/platform/{kind}/{name}?created={job}")
                })
                .await,
            );
        }
    };
    let again = |errors| SpecEdit {
        kind: kind.clone(),
        spec: text.clone(),
        errors,
        fields: serde_json::from_str(&text)
            .map(|v| spec_form::fields(k, &v, false))
            .unwrap_or_else(|_| spec_form::fields(k, &Value::Null, false)),
        ..SpecEdit::default()
    };
    let body =
        parse_spec(&text).map_err(|e| render(&s, StatusCode::BAD_REQUEST, again(vec![e])))?;
    Ok(
        match st
            .store
            .change(&s.who, k, None, None, Op::Create(body), None)
            .await
            .map_err(Problem::from)
        {
            Ok(out) => {
                let name = out.object.map(|o| o.name).unwrap_or_default();
                see_other(&format!(
                    "/admin/platform/{kind}/{name}?created={}",
                    out.job
                ))
            }
            Err(p) => render(&s, status_of(&p), again(reasons(&p))),
        },
    )
}

/// `GET /admin/platform/{kind}/{name}[?saved=job|created=job]`: the editor.
pub async fn edit_form(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    PlatformAdmin { session: s, .. }: PlatformAdmin<next::Spec>,
) -> Result<Response, Response> {
    let (k, o) = load(&st, &s, &kind, &name).await?;
    let o = o.ok_or_else(Problem::not_found).or_page(&s)?;
    let mut e = edit_page(k, &o, false);
    let done = [("saved", "Saved."), ("created", "Created.")]
        .into_iter()
        .find_map(|(k, msg)| Some((msg, q.get(k)?.parse::<i64>().ok()?)));
    if let Some((msg, job)) = done {
        e.notice = Some(msg.into());
        e.job = Some(job);
    }
    Ok(render(&s, StatusCode::OK, e))
}

/// What a stale version (someone else saved in between) tells the user.
fn stale(kind: &str) -> String {
    format!(
        "Someone changed this {kind} after you opened it, so nothing was written. The page now \
         shows the current {kind}: check it and apply your change again."
    )
}

/// `POST /admin/platform/{kind}/{name}`: replaces the spec (`Op::Replace`),
/// only if the object is still at the version the page was read at.
pub async fn update(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    PlatformAdminForm {
        session: s,
        form: f,
        ..
    }: PlatformAdminForm<next::Spec>,
) -> Result<Response, Response> {
    let (k, o) = load(&st, &s, &kind, &name).await?;
    let o = o.ok_or_else(Problem::not_found).or_page(&s)?;
    let version = version(&f).or_page(&s)?;
    let text = match posted(&f) {
        Posted::Json(text) => text,
        Posted::Fields { preview } => {
            let page = SpecEdit {
                version,
                ..edit_page(k, &o, false)
            };
            return Ok(
                fields_posted(&st, &s, k, page, &f, preview, Some(&o), |job, _| {
                    format!("/admin/platform/{kind}/{name}?saved={job}")
                })
                .await,
            );
        }
    };
    let typed = |errors| SpecEdit {
        version,
        spec: text.clone(),
        errors,
        ..edit_page(k, &o, false)
    };
    let body =
        parse_spec(&text).map_err(|e| render(&s, StatusCode::BAD_REQUEST, typed(vec![e])))?;
    let out = st
        .store
        .change(
            &s.who,
            k,
            None,
            Some(&name),
            Op::Replace(body),
            Some(version),
        )
        .await
        .map_err(Problem::from);
    Ok(match out {
        Ok(out) => see_other(&format!("/admin/platform/{kind}/{name}?saved={}", out.job)),
        Err(p) if p.status == StatusCode::PRECONDITION_FAILED.as_u16() => {
            // The current spec (`o` was read after the stale version).
            let mut e = edit_page(k, &o, false);
            e.notice = Some(stale(&kind));
            render(&s, StatusCode::PRECONDITION_FAILED, e)
        }
        Err(p) => render(&s, status_of(&p), typed(reasons(&p))),
    })
}

/// `GET /admin/platform/{kind}/{name}/delete`: asks before deleting.
pub async fn delete_form(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    PlatformAdmin { session: s, .. }: PlatformAdmin<next::Spec>,
) -> Result<Response, Response> {
    let (k, o) = load(&st, &s, &kind, &name).await?;
    let o = o.ok_or_else(Problem::not_found).or_page(&s)?;
    Ok(render(&s, StatusCode::OK, edit_page(k, &o, true)))
}

/// `POST /admin/platform/{kind}/{name}/delete`: deletes it (`Op::Delete`);
/// refused, with the server's reasons, while anything refers to it.
pub async fn delete(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    PlatformAdminForm {
        session: s,
        form: f,
        ..
    }: PlatformAdminForm<next::Spec>,
) -> Result<Response, Response> {
    let (k, o) = load(&st, &s, &kind, &name).await?;
    let o = o.ok_or_else(Problem::not_found).or_page(&s)?;
    let version = version(&f).or_page(&s)?;
    let out = st
        .store
        .change(&s.who, k, None, Some(&name), Op::Delete, Some(version))
        .await
        .map_err(Problem::from);
    let mut e = edit_page(k, &o, true);
    Ok(match out {
        Ok(_) => see_other("/admin/jobs"),
        Err(p) if p.status == StatusCode::PRECONDITION_FAILED.as_u16() => {
            e.notice = Some(stale(&kind));
            render(&s, StatusCode::PRECONDITION_FAILED, e)
        }
        Err(p) => {
            e.errors = reasons(&p);
            render(&s, status_of(&p), e)
        }
    })
}
