//! The portal's request handlers: who is asking (the session), what they
//! may see (`tenancy::resolve`, the API's rule), what the page shows
//! (`data`), and, for forms, the API's own write path (`Store::change`).

use super::data;
use super::document::html;
use super::extract::{OrPage, SignedIn, SignedInForm, TenantAdmin, TenantAdminForm};
use super::health;
use super::respond::{
    encode, field, forbidden_form, parse_form, problem_page, props, see_other, version_of, Form,
};
use super::session::{self, WebSession};
use crate::auth::principal::Source;
use crate::auth::session::{self as auth_session, LoginRequest};
use crate::problem::{FieldError, Problem};
use crate::state::AppState;
use crate::tenancy;
use app::{FieldErrors, Login, NetworkForm, Page};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use vxguard_store::kind::Kind;
use vxguard_store::objects;
use vxguard_store::write::Op;

/// Where to go after logging in: a path on this site, or `None`. Browsers
/// drop tabs and newlines inside URLs and read `\` as `/`, so `/\t/evil`
/// and `/\evil` are `//evil`, another host: only printable ASCII without
/// `\` is taken, the second character must not be `/`, and the same holds
/// after each round of percent-decoding (`/%09/evil`, `/%2F/evil`).
fn local_path(next: &str) -> Option<&str> {
    fn plain(s: &[u8]) -> bool {
        s.first() == Some(&b'/')
            && s.get(1) != Some(&b'/')
            && s.iter().all(|b| b.is_ascii_graphic() && *b != b'\\')
    }
    let mut s = next.as_bytes().to_vec();
    for _ in 0..4 {
        if !plain(&s) {
            return None;
        }
        let decoded = percent_decode(&s);
        if decoded == s {
            return Some(next);
        }
        s = decoded;
    }
    None // still encoded after four rounds: no page of ours needs that
}

/// `%XX` to the byte it stands for; anything else as it is.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

pub async fn not_found(st: &AppState, h: &HeaderMap, source: &str) -> Response {
    let s = session::current(st, h, source).await.ok().flatten();
    html(StatusCode::NOT_FOUND, &props(s.as_ref(), Page::NotFound))
}

pub async fn index(State(st): State<AppState>, Source(src): Source, h: HeaderMap) -> Response {
    match session::current(&st, &h, &src).await {
        Ok(Some(s)) => see_other(&s.home()),
        Ok(None) => see_other("/login"),
        Err(p) => problem_page(None, &p),
    }
}

fn login_page(
    status: StatusCode,
    email: &str,
    next: &str,
    error: Option<String>,
    fields: FieldErrors,
    secure: bool,
) -> Response {
    let csrf = session::new_csrf();
    let mut r = html(
        status,
        &props(
            None,
            Page::Login(Login {
                email: email.into(),
                next: next.into(),
                error,
                fields,
                csrf: csrf.clone(),
            }),
        ),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_CSRF_COOKIE, &csrf, "/login", 3600, secure),
    );
    r
}

pub async fn login_form(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Ok(Some(s)) = session::current(&st, &h, &src).await {
        return see_other(&s.home());
    }
    let next = q.get("next").and_then(|n| local_path(n)).unwrap_or("/");
    login_page(
        StatusCode::OK,
        "",
        next,
        None,
        FieldErrors::default(),
        session::is_https(&h),
    )
}

/// What the login form asks for when left empty.
const LOGIN_ASKS: &[(&str, &str)] = &[
    ("email", "Enter the email address you log in with."),
    ("password", "Enter your password."),
];

pub async fn login(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (email, next) = (field(&f, "email"), field(&f, "next"));
    let next = local_path(next).unwrap_or("/");
    let secure = session::is_https(&h);
    let expected = session::cookie(&h, session::LOGIN_CSRF_COOKIE).unwrap_or("");
    if !session::same_origin(&h) || !session::csrf_matches(expected, field(&f, "csrf")) {
        return login_page(
            StatusCode::FORBIDDEN,
            email,
            next,
            Some("The login form expired or came from another site; please try again.".into()),
            FieldErrors::default(),
            secure,
        );
    }
    // The form carries `novalidate`: an empty field is asked for here, both
    // at once, before anything is tried (nor counted as a failed login).
    let mut fields = FieldErrors::default();
    ask_for_missing(&mut fields, &f, LOGIN_ASKS);
    if !fields.is_empty() {
        return login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            next,
            None,
            fields,
            secure,
        );
    }
    let req = LoginRequest {
        email: email.to_string(),
        password: field(&f, "password").to_string(),
    };
    let pair = match auth_session::login(&st, req, &src).await {
        Ok(p) => p,
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNAUTHORIZED);
            let msg = match p.status {
                401 => "Wrong email or password.".to_string(),
                429 => format!("Too many attempts: {}.", p.detail),
                _ => format!("Logging in failed: {}", p.detail),
            };
            return login_page(
                status,
                email,
                next,
                Some(msg),
                FieldErrors::default(),
                secure,
            );
        }
    };
    let started = async {
        let family = auth_session::family_of(&st, &pair.refresh_token)
            .await?
            .ok_or_else(Problem::internal)?;
        // The login just made this family, so its user is there; a
        // missing row is a 500, as it was when this read its own SQL.
        let user = vxguard_store::sessions::user_of_family(st.store.pool(), family)
            .await?
            .ok_or_else(Problem::internal)?;
        session::start(&st, user, family).await
    }
    .await;
    let token = match started {
        Ok(t) => t,
        Err(p) => return problem_page(None, &p),
    };
    // `/` sends each user to their own start page.
    let mut r = see_other(next);
    let hs = r.headers_mut();
    hs.append(
        header::SET_COOKIE,
        session::set_cookie(
            session::COOKIE,
            &token,
            "/",
            auth_session::REFRESH_TTL_DAYS * 86400,
            secure,
        ),
    );
    hs.append(
        header::SET_COOKIE,
        session::clear_cookie(session::LOGIN_CSRF_COOKIE, "/login", secure),
    );
    r
}

pub async fn logout(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let secure = session::is_https(&h);
    let s = match session::current(&st, &h, &src).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/login"),
        Err(p) => return problem_page(None, &p),
    };
    let f = parse_form(&body);
    if !session::same_origin(&h) || !session::csrf_matches(&s.csrf, field(&f, "csrf")) {
        return forbidden_form(Some(&s));
    }
    if let Err(p) = session::end(&st, &s).await {
        return problem_page(Some(&s), &p);
    }
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        session::clear_cookie(session::COOKIE, "/", secure),
    );
    r
}

pub async fn dashboard(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    SignedIn { session: s, .. }: SignedIn,
) -> Response {
    let notice = q.get("job").and_then(|j| {
        let (n, what) = [
            ("created", "created"),
            ("updated", "changed"),
            ("deleted", "deleted"),
        ]
        .into_iter()
        .find_map(|(k, w)| q.get(k).map(|n| (n, w)))?;
        Some(format!("Network {n} {what}; job #{j} compiles the change."))
    });
    render_dashboard(
        &st,
        &s,
        &slug,
        NetworkForm::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn render_dashboard(
    st: &AppState,
    s: &WebSession,
    slug: &str,
    form: NetworkForm,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let out = async {
        let scope = tenancy::resolve(st, s.who.clone(), slug).await?;
        let mut d = data::dashboard(st, &scope, form, notice).await?;
        let site_of = d
            .form
            .routers
            .iter()
            .map(|r| (r.name.clone(), r.site.clone()))
            .collect();
        d.health = app::health::ServerOnly(health::tenant(st, &scope, &site_of).await?);
        Ok::<_, Problem>(d)
    }
    .await;
    match out {
        Ok(d) => html(status, &props(Some(s), Page::Dashboard(Box::new(d)))),
        Err(p) => problem_page(Some(s), &p),
    }
}

/// `GET /t/{tenant}/jobs`: the dashboard's latest jobs as JSON, for its
/// live refresh. Session cookie only (a GET that changes nothing: no CSRF
/// token); errors are the API's problem documents: 401 without a session,
/// 404 for another tenant, like a missing one.
pub async fn latest_jobs(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    let out = async {
        let s = session::current(&st, &h, &src)
            .await?
            .ok_or_else(|| Problem::unauthorized("no session"))
            .and_then(session::usable)?;
        let scope = tenancy::resolve(&st, s.who.clone(), &slug).await?;
        data::latest_jobs(&st, &scope).await
    }
    .await;
    let mut r = match out {
        Ok(jobs) => axum::Json(jobs).into_response(),
        Err(p) => p.into_response(),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// How long one jobs stream lasts; the browser's `EventSource` then
/// reconnects, which checks the session afresh.
const STREAM_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// `GET /t/{tenant}/jobs/stream`: the latest jobs as server-sent events
/// (`event: jobs`, the same JSON as `/t/{tenant}/jobs`), once at once and
/// again whenever they change. The session is checked on every change, so
/// a logged-out or removed user stops receiving.
pub async fn jobs_stream(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let scope = async {
        let s = session::current(&st, &h, &src)
            .await?
            .ok_or_else(|| Problem::unauthorized("no session"))
            .and_then(session::usable)?;
        tenancy::resolve(&st, s.who.clone(), &slug).await
    }
    .await;
    let scope = match scope {
        Ok(s) => s,
        Err(p) => return p.into_response(),
    };
    let changes = st.job_changes.subscribe();
    let until = tokio::time::Instant::now() + STREAM_FOR;
    struct Follow {
        st: AppState,
        h: HeaderMap,
        src: String,
        scope: tenancy::TenantScope,
        changes: tokio::sync::watch::Receiver<u64>,
        last: Option<Vec<app::JobRow>>,
    }
    let start = Follow {
        st,
        h,
        src,
        scope,
        changes,
        last: None,
    };
    let stream = futures::stream::unfold(start, move |mut f| async move {
        loop {
            if f.last.is_some() {
                // Wait for a change (or the end of this stream's time).
                match tokio::time::timeout_at(until, f.changes.changed()).await {
                    Ok(Ok(())) => {}
                    _ => return None,
                }
                match session::current(&f.st, &f.h, &f.src).await {
                    Ok(Some(_)) => {}
                    _ => return None,
                }
            }
            let jobs = data::latest_jobs(&f.st, &f.scope).await.ok()?;
            if f.last.as_ref() != Some(&jobs) {
                let ev = Event::default().event("jobs").json_data(&jobs).ok()?;
                f.last = Some(jobs);
                return Some((Ok::<_, std::convert::Infallible>(ev), f));
            }
        }
    });
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Which form field a problem's JSON pointer (into the network body) names.
fn network_field(pointer: &str) -> Option<&'static str> {
    let first = pointer.trim_start_matches('/').split('/').next()?;
    match first {
        "name" => Some("name"),
        "cidr" => Some("cidr"),
        "sites" => Some("gateways"),
        _ => None,
    }
}

/// Spreads a problem over the form: field errors next to their fields, the
/// rest above the form. An error in another object names that object in
/// its sentence (the store's words); its path is for API clients.
pub fn form_errors(p: &Problem, field_of: impl Fn(&str) -> Option<&'static str>) -> FieldErrors {
    let mut e = FieldErrors::default();
    for fe in &p.errors {
        match fe.pointer.as_deref().and_then(&field_of) {
            Some(f) => e.fields.push((f.to_string(), fe.detail.clone())),
            None => e.form.push(fe.detail.clone()),
        }
    }
    if e.is_empty() {
        e.form.push(p.detail.clone());
    }
    e
}

/// Asks for every required field of a form left empty, at its field, in
/// place of what else was said about it (such as "“” is not a name: a
/// name is 1-32 characters long"). The portal's forms carry `novalidate`: the browser's
/// "Please fill out this field" would stop at one field, this comes back
/// with every other field's error at once.
pub fn ask_for_missing(errors: &mut FieldErrors, f: &Form, asks: &[(&str, &str)]) {
    for &(name, ask) in asks {
        if field(f, name).trim().is_empty() {
            errors.fields.retain(|(k, _)| k != name);
            errors.fields.push((name.to_string(), ask.to_string()));
        }
    }
}

/// A field's error, as the API would report it at `pointer`.
pub fn field_error(pointer: &str, detail: impl Into<String>) -> FieldError {
    FieldError {
        pointer: Some(pointer.into()),
        object: None,
        detail: detail.into(),
    }
}

/// A name or number the write path found taken (its 409 names no field:
/// "rule \"7\" already exists"), said at the field that holds it.
pub fn taken_at(p: Problem, pointer: &str, words: &str) -> Problem {
    if p.status == 409 && p.errors.is_empty() && p.detail.ends_with("already exists") {
        Problem::invalid(p.detail.clone(), vec![field_error(pointer, words)])
            .with_status(StatusCode::CONFLICT)
    } else {
        p
    }
}

/// When a form's fields kept it from the write path: what the checks
/// across objects say of the fields that did read (an overlapping subnet,
/// one outside the pools, an unknown router), at their fields, with the
/// form's own errors (issue 19: every error at once). A field the form
/// already named keeps the form's words.
pub async fn cross_checked(
    st: &AppState,
    scope: &crate::tenancy::TenantScope,
    kind: Kind,
    body: &serde_json::Value,
    p: &mut Problem,
) {
    let top = |ptr: Option<&str>| ptr.and_then(|x| x.split('/').nth(1)).map(str::to_string);
    let Ok(more) = st
        .store
        .errors_of(&scope.who, kind, &scope.tenant, body)
        .await
    else {
        return;
    };
    for e in more {
        let e = crate::problem::FieldError::from(e);
        let field = top(e.pointer.as_deref());
        let named = field.is_some() && p.errors.iter().any(|x| top(x.pointer.as_deref()) == field);
        if !named && !p.errors.contains(&e) {
            p.errors.push(e);
        }
    }
}

/// When a form's other fields kept it from the write path, whether the
/// object's name (or number) is taken is said with them, at its field, as
/// the write path would have said it: every error at once. Only a name
/// that is well-formed is looked up (`name`), and only when its field has
/// no error yet.
pub async fn taken_too(
    st: &AppState,
    mut p: Problem,
    kind: Kind,
    tenant: uuid::Uuid,
    name: Option<&str>,
    pointer: &str,
    words: &str,
) -> Problem {
    let Some(name) = name else { return p };
    if p.status != 422
        || p.errors
            .iter()
            .any(|e| e.pointer.as_deref() == Some(pointer))
    {
        return p;
    }
    if let Ok(Some(_)) = vxguard_store::objects::get(&st.db, kind, Some(tenant), name).await {
        p.errors.push(field_error(pointer, words));
    }
    p
}

/// What the network form asks for when left empty.
const NETWORK_ASKS: &[(&str, &str)] = &[
    (
        "name",
        "Enter a name for the network: lowercase letters, digits and dashes, e.g. web.",
    ),
    (
        "cidr",
        "Enter the network's subnet: an IPv4 prefix of /28 or larger in the tenant pools (the hint below names a free one).",
    ),
];

/// The new network's name and subnet, both checked: the API reads its body
/// field by field and stops at the first it cannot read, so a bad name
/// would hide a bad subnet.
fn network_syntax(name: &str, cidr: &str, gateways: &[String]) -> Vec<FieldError> {
    let mut bad = Vec::new();
    if let Err(e) = vxguard_compiler::ids::Name::new(name) {
        bad.push(field_error("/name", e));
    }
    if cidr.parse::<ipnet::Ipv4Net>().is_err() {
        bad.push(field_error(
            "/cidr",
            "must be an IPv4 prefix written as address/length (the hint below names a free one)",
        ));
    }
    // What the compiler would say of the gateways next, said now with
    // the rest when something else is wrong (alone, the compiler says it).
    if !bad.is_empty() {
        if gateways.is_empty() {
            bad.push(field_error("/sites", NO_GATEWAY));
        } else {
            let mut per_site: Vec<(&str, usize)> = Vec::new();
            for g in gateways {
                let site = g.split_once('/').map_or("", |(s, _)| s);
                match per_site.iter_mut().find(|(s, _)| *s == site) {
                    Some((_, n)) => *n += 1,
                    None => per_site.push((site, 1)),
                }
            }
            for (site, n) in per_site {
                if n > 2 {
                    bad.push(field_error(
                        "/sites",
                        format!("site {site} needs one gateway router or a pair, not {n}"),
                    ));
                }
            }
        }
    }
    bad
}

/// A network with no gateway chosen.
const NO_GATEWAY: &str =
    "Choose at least one gateway router: the first one chosen at a site is its preferred master.";

/// The CIDR, the chosen gateways (`site/router`) and the `sites` body they
/// make (grouped by site, in the order chosen) from a network form.
fn network_fields(f: &Form) -> (String, Vec<String>, serde_json::Value) {
    let cidr = field(f, "cidr").trim().to_string();
    let gateways: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "gateway")
        .map(|(_, v)| v.clone())
        .collect();
    let mut sites: Vec<(String, Vec<String>)> = Vec::new();
    for g in &gateways {
        let (site, router) = g.split_once('/').unwrap_or(("", g));
        match sites.iter_mut().find(|(s, _)| s == site) {
            Some((_, v)) => v.push(router.to_string()),
            None => sites.push((site.to_string(), vec![router.to_string()])),
        }
    }
    let sites = sites
        .iter()
        .map(|(s, g)| serde_json::json!({"site": s, "gateways": g}))
        .collect();
    (cidr, gateways, serde_json::Value::Array(sites))
}

async fn network_page(
    st: &AppState,
    s: &WebSession,
    scope: &tenancy::TenantScope,
    name: &str,
    confirm_delete: bool,
    status: StatusCode,
    adjust: impl FnOnce(&mut app::NetworkEdit),
) -> Response {
    match data::network_edit(st, scope, name, confirm_delete).await {
        Ok((_, mut e)) => {
            adjust(&mut e);
            html(status, &props(Some(s), Page::NetworkEdit(Box::new(e))))
        }
        Err(p) => problem_page(Some(s), &p),
    }
}

/// `GET /t/{tenant}/networks/{name}`: the edit form (tenant admins).
pub async fn edit_network_form(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdmin {
        session: s, scope, ..
    }: TenantAdmin,
) -> Response {
    network_page(&st, &s, &scope, &name, false, StatusCode::OK, |_| {}).await
}

/// `GET /t/{tenant}/networks/{name}/delete`: asks before deleting.
pub async fn delete_network_form(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdmin {
        session: s, scope, ..
    }: TenantAdmin,
) -> Response {
    network_page(&st, &s, &scope, &name, true, StatusCode::OK, |_| {}).await
}

/// What a stale version (someone else saved in between) tells the user.
const STALE: &str = "Someone changed this network after you opened it. The form now shows the \
                     current network: check it and apply your change again.";

/// `POST /t/{tenant}/networks/{name}`: replaces the network's CIDR and
/// gateways through `Store::change`, only if it is still at the
/// version the form was rendered from (the API's `If-Match`).
pub async fn update_network(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let current = objects::get(&st.db, Kind::Network, Some(scope.id()), &name)
        .await
        .or_page(&s)?
        .ok_or_else(Problem::not_found)
        .or_page(&s)?;
    let (cidr, gateways, sites) = network_fields(&f);
    // Everything else the network declares (its ports) stays as it is.
    let mut spec = current.spec.clone();
    spec["cidr"] = cidr.clone().into();
    spec["sites"] = sites;
    let version = version_of(&f, &s)?;
    Ok(
        match st
            .store
            .change(
                &scope.who,
                Kind::Network,
                Some(&scope.tenant),
                Some(&name),
                Op::Replace(spec),
                Some(version),
            )
            .await
            .map_err(Problem::from)
        {
            Ok(out) => see_other(&format!(
                "/t/{}?updated={}&job={}",
                scope.tenant.slug,
                encode(&name),
                out.job
            )),
            Err(p) if p.status == 412 => {
                network_page(
                    &st,
                    &s,
                    &scope,
                    &name,
                    false,
                    StatusCode::PRECONDITION_FAILED,
                    |e| e.form.errors.form.push(STALE.into()),
                )
                .await
            }
            Err(p) => {
                let status =
                    StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                network_page(&st, &s, &scope, &name, false, status, |e| {
                    // What was typed, at the version it was typed against.
                    e.version = version;
                    e.form.cidr = cidr;
                    e.form.gateways = gateways;
                    e.form.errors = form_errors(&p, network_field);
                })
                .await
            }
        },
    )
}

/// `POST /t/{tenant}/networks/{name}/delete`: deletes the network (at the
/// version the confirmation showed) through `Store::change`.
pub async fn delete_network(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let version = version_of(&f, &s)?;
    Ok(
        match st
            .store
            .change(
                &scope.who,
                Kind::Network,
                Some(&scope.tenant),
                Some(&name),
                Op::Delete,
                Some(version),
            )
            .await
            .map_err(Problem::from)
        {
            Ok(out) => see_other(&format!(
                "/t/{}?deleted={}&job={}",
                scope.tenant.slug,
                encode(&name),
                out.job
            )),
            Err(p) if p.status == 404 => problem_page(Some(&s), &p),
            Err(p) => {
                let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
                let msgs = if p.status == 412 {
                    vec![STALE.replace("apply your change", "decide")]
                } else {
                    form_errors(&p, |_| None).form
                };
                network_page(&st, &s, &scope, &name, true, status, |e| {
                    e.form.errors.form = msgs
                })
                .await
            }
        },
    )
}

pub async fn create_network(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let name = field(&f, "name").trim().to_string();
    let (cidr, gateways, sites) = network_fields(&f);
    let body = serde_json::json!({"name": name, "cidr": cidr, "sites": sites});
    let bad = network_syntax(&name, &cidr, &gateways);
    let taken = format!("A network named {name} already exists: choose another name.");
    let out = if bad.is_empty() {
        st.store
            .change(
                &scope.who,
                Kind::Network,
                Some(&scope.tenant),
                None,
                Op::Create(body),
                None,
            )
            .await
            .map_err(|e| taken_at(Problem::from(e), "/name", &taken))
    } else {
        let well_formed = vxguard_compiler::ids::Name::new(&name).is_ok();
        let mut p = Problem::invalid("the network is not valid", bad);
        cross_checked(&st, &scope, Kind::Network, &body, &mut p).await;
        Err(taken_too(
            &st,
            p,
            Kind::Network,
            scope.id(),
            well_formed.then_some(name.as_str()),
            "/name",
            &taken,
        )
        .await)
    };
    match out {
        Ok(out) => see_other(&format!(
            "/t/{}?created={}&job={}",
            scope.tenant.slug,
            encode(&name),
            out.job
        )),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let mut errors = form_errors(&p, network_field);
            ask_for_missing(&mut errors, &f, NETWORK_ASKS);
            let form = NetworkForm {
                name,
                cidr,
                gateways,
                routers: vec![],
                errors,
                suggested: None,
            };
            render_dashboard(&st, &s, &scope.tenant.slug, form, None, status).await
        }
    }
}

/// What the change-password form asks for when left empty.
const PASSWORD_ASKS: &[(&str, &str)] = &[
    ("current_password", "Enter the password you logged in with."),
    (
        "new_password",
        "Enter a new password of at least 12 characters.",
    ),
    ("confirm_password", "Enter the new password again."),
];

fn password_field(pointer: &str) -> Option<&'static str> {
    match pointer {
        "/current_password" => Some("current_password"),
        "/new_password" => Some("new_password"),
        "/confirm_password" => Some("confirm_password"),
        _ => None,
    }
}

/// `GET /account/password`: the change-password form, for any signed-in user.
pub async fn password_form(
    Query(q): Query<HashMap<String, String>>,
    SignedIn { session: s, .. }: SignedIn,
) -> Response {
    let page = app::PasswordPage {
        errors: FieldErrors::default(),
        changed: q.contains_key("changed"),
        required: s.must_change_password,
    };
    html(StatusCode::OK, &props(Some(&s), Page::Password(page)))
}

/// `POST /account/password`: changes the password through
/// `auth::session::change_password`. Choice: this session stays logged in
/// (the user just proved the current password in it); every other login of
/// the user, API refresh tokens and other browsers alike, is revoked.
pub async fn change_password(
    State(st): State<AppState>,
    Source(src): Source,
    SignedInForm {
        session: s,
        form: f,
        ..
    }: SignedInForm,
) -> Response {
    let Some(user) = s.who.user_id else {
        return problem_page(Some(&s), &Problem::internal());
    };
    // Every empty field asked for at once (the form carries `novalidate`);
    // the current password is not tried when it is empty.
    let mut asked = FieldErrors::default();
    ask_for_missing(&mut asked, &f, PASSWORD_ASKS);
    let c = auth_session::PasswordChange {
        current: field(&f, "current_password"),
        new: field(&f, "new_password"),
        confirm: field(&f, "confirm_password"),
    };
    let out = if asked.is_empty() {
        auth_session::change_password(&st, user, Some(s.family), c, &src).await
    } else {
        // What else is wrong with the fields filled in, said with them.
        let mut bad = Vec::new();
        if !c.new.is_empty() {
            if let Err(e) = crate::auth::password::check_strength(c.new) {
                bad.push(field_error("/new_password", e));
            }
        }
        if !c.confirm.is_empty() && c.new != c.confirm {
            bad.push(field_error(
                "/confirm_password",
                "does not match the new password",
            ));
        }
        Err(Problem::invalid("the password was not changed", bad))
    };
    match out {
        // A first password of one's own: on to where the user starts.
        Ok(()) if s.must_change_password => see_other(&s.start()),
        Ok(()) => see_other("/account/password?changed=1"),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let mut errors = form_errors(&p, password_field);
            ask_for_missing(&mut errors, &f, PASSWORD_ASKS);
            let page = app::PasswordPage {
                errors,
                changed: false,
                required: s.must_change_password,
            };
            html(status, &props(Some(&s), Page::Password(page)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_next() {
        assert_eq!(local_path("/t/acme"), Some("/t/acme"));
        assert_eq!(local_path("/t/acme?x=%2Fy#z"), Some("/t/acme?x=%2Fy#z"));
        assert_eq!(local_path("/"), Some("/"));
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/t/a%20b",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%252F/evil.example",
            "/\0",
            "/%00",
            "/t/\u{e9}",
            "/%25252525252F",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pointers_map_to_fields() {
        let p = Problem::invalid(
            "bad",
            vec![
                crate::problem::FieldError {
                    pointer: Some("/cidr".into()),
                    object: None,
                    detail: "not a prefix".into(),
                },
                crate::problem::FieldError {
                    pointer: Some("/sites/0/gateways/1".into()),
                    object: None,
                    detail: "no such router".into(),
                },
                crate::problem::FieldError {
                    pointer: None,
                    object: Some("tenants/acme/networks/web".into()),
                    detail: "Network “web”: overlaps.".into(),
                },
            ],
        );
        let e = form_errors(&p, network_field);
        assert_eq!(e.get("cidr").as_deref(), Some("not a prefix"));
        assert_eq!(e.get("gateways").as_deref(), Some("no such router"));
        assert_eq!(e.form, vec!["Network “web”: overlaps.".to_string()]);
    }
}
