//! The services and policy page, `/t/{tenant}/policy`: the rules in order
//! with shadowed ones flagged (`checks::shadowed_rules`, the compiler's own
//! rule), and for tenant admins the rule form, enable/disable, delete and
//! move up/down. Every change goes through the API's service layer
//! (`store::change::apply`, `store::policy::reorder`), and every change can
//! be previewed first (`store::policy::preview`): the page then shows, per
//! device, the lines the change would remove and add.

use super::html;
use super::pages::{
    encode, field, form_errors, parse_form, problem_page, props, see_other, session_or_login,
    version_of, write_scope, Form,
};
use super::session::WebSession;
use crate::api::policy::PolicyPreview;
use crate::auth::principal::Source;
use crate::problem::{ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::store::change::{self, Op};
use crate::store::kind::Kind;
use crate::store::objects;
use crate::store::policy::{self, Edit, Placed};
use crate::tenancy::{self, TenantScope};
use app::{
    ConfirmForm, DeviceChange, FieldErrors, Page, PolicyPage, PreviewView, RuleForm, RuleRow,
    ServiceRow,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use vxguard_compiler::checks::shadowed_rules;
use vxguard_compiler::intent::{Endpoint, PortItem, PortSpec, Rule};

const MAX: i64 = 10_000;

/// What a stale version tells the user.
const STALE: &str = "Someone changed the rules after you opened this page. The page now shows \
                     the current rules: check them and make your change again.";

fn endpoint_text(e: &Endpoint) -> String {
    match e {
        Endpoint::Any => "anything".into(),
        Endpoint::External => "external".into(),
        Endpoint::Service { service } => format!("service {service}"),
        Endpoint::Network { network } => format!("network {network}"),
        Endpoint::Cidr { cidr } => cidr.to_string(),
    }
}

/// An endpoint as the form's select value and CIDR field.
fn endpoint_choice(e: &Endpoint) -> (String, String) {
    match e {
        Endpoint::Any => ("any".into(), String::new()),
        Endpoint::External => ("external".into(), String::new()),
        Endpoint::Service { service } => (format!("service:{service}"), String::new()),
        Endpoint::Network { network } => (format!("network:{network}"), String::new()),
        Endpoint::Cidr { cidr } => ("cidr".into(), cidr.to_string()),
    }
}

fn ports_text(p: &Option<PortSpec>) -> String {
    let item = |i: &PortItem| match i {
        PortItem::Single(n) => n.to_string(),
        PortItem::Range(r) => r.clone(),
    };
    match p {
        None => String::new(),
        Some(PortSpec::Single(n)) => n.to_string(),
        Some(PortSpec::Range(r)) => r.clone(),
        Some(PortSpec::List(v)) => v.iter().map(item).collect::<Vec<_>>().join(", "),
    }
}

fn edit_form(r: &Rule, version: i64) -> RuleForm {
    let (source, source_cidr) = endpoint_choice(&r.source);
    let (destination, destination_cidr) = endpoint_choice(&r.destination);
    RuleForm {
        editing: Some((r.id, version)),
        id: r.id.to_string(),
        description: r.description.clone().unwrap_or_default(),
        action: r.action.as_str().into(),
        protocol: serde_json::to_value(r.protocol)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        port: ports_text(&r.destination_port),
        source,
        source_cidr,
        destination,
        destination_cidr,
        disabled: r.disabled,
        errors: FieldErrors::default(),
    }
}

/// An empty form for a new rule, numbered after the last one.
fn blank_form(rules: &[Rule]) -> RuleForm {
    RuleForm {
        id: (rules.iter().map(|r| r.id).max().unwrap_or(0) + 1).to_string(),
        action: "accept".into(),
        protocol: "tcp".into(),
        source: "any".into(),
        destination: "any".into(),
        ..RuleForm::default()
    }
}

/// The rule form as typed, and the API body it makes. A rule number that
/// is not a number is refused here (the body could not name it).
fn rule_from_form(f: &Form) -> (RuleForm, Result<Value, Problem>) {
    let t = |k: &str| field(f, k).trim().to_string();
    let version = field(f, "version").parse::<i64>().ok();
    let form = RuleForm {
        editing: match (field(f, "op"), t("id").parse::<u32>(), version) {
            ("replace", Ok(id), Some(v)) => Some((id, v)),
            _ => None,
        },
        id: t("id"),
        description: t("description"),
        action: t("action"),
        protocol: t("protocol"),
        port: t("port"),
        source: t("source"),
        source_cidr: t("source_cidr"),
        destination: t("destination"),
        destination_cidr: t("destination_cidr"),
        disabled: !field(f, "disabled").is_empty(),
        errors: FieldErrors::default(),
    };
    // What the body could not name precisely: a rule number that is not
    // one, and a CIDR (an endpoint's errors name only the endpoint).
    let mut bad = Vec::new();
    let id = form.id.parse::<u32>();
    if id.is_err() {
        bad.push(FieldError {
            pointer: Some("/id".into()),
            object: None,
            detail: "must be a whole number, e.g. 10".into(),
        });
    }
    for (choice, cidr, ptr) in [
        (&form.source, &form.source_cidr, "/source/cidr"),
        (
            &form.destination,
            &form.destination_cidr,
            "/destination/cidr",
        ),
    ] {
        if choice == "cidr" && cidr.parse::<ipnet::Ipv4Net>().is_err() {
            bad.push(FieldError {
                pointer: Some(ptr.into()),
                object: None,
                detail: "must be an IPv4 prefix such as 100.64.1.0/28".into(),
            });
        }
    }
    let id = match id {
        Ok(id) if bad.is_empty() => id,
        _ => return (form, Err(Problem::invalid("the rule is not valid", bad))),
    };
    let endpoint = |choice: &str, cidr: &str| -> Value {
        match choice.split_once(':') {
            Some(("service", s)) => json!({"type": "service", "service": s}),
            Some(("network", n)) => json!({"type": "network", "network": n}),
            _ if choice == "cidr" => json!({"type": "cidr", "cidr": cidr}),
            _ => json!({"type": choice}),
        }
    };
    let port_item = |p: &str| -> Value {
        match p.parse::<u16>() {
            Ok(n) => json!(n),
            Err(_) => json!(p),
        }
    };
    let port = match form.port.as_str() {
        "" => Value::Null,
        p if p.contains(',') => Value::Array(
            p.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(port_item)
                .collect(),
        ),
        p => port_item(p),
    };
    let description = match form.description.as_str() {
        "" => Value::Null,
        d => json!(d),
    };
    let body = json!({
        "id": id,
        "description": description,
        "action": form.action,
        "protocol": form.protocol,
        "destination_port": port,
        "source": endpoint(&form.source, &form.source_cidr),
        "destination": endpoint(&form.destination, &form.destination_cidr),
        "disabled": form.disabled,
    });
    (form, Ok(body))
}

/// Which form field a problem's pointer (into the rule body) names.
fn rule_field(pointer: &str) -> Option<&'static str> {
    let mut segs = pointer.trim_start_matches('/').split('/');
    let first = segs.next()?;
    let second = segs.next();
    match (first, second) {
        ("id", _) => Some("id"),
        ("description", _) => Some("description"),
        ("action", _) => Some("action"),
        ("protocol", _) => Some("protocol"),
        ("destination_port", _) => Some("port"),
        ("source", Some("cidr")) => Some("source_cidr"),
        ("source", _) => Some("source"),
        ("destination", Some("cidr")) => Some("destination_cidr"),
        ("destination", _) => Some("destination"),
        _ => None,
    }
}

/// The tenant's rules as the compiler reads them, with their versions.
async fn rules(st: &AppState, scope: &TenantScope) -> ApiResult<Vec<(Rule, i64)>> {
    objects::list(&st.db, Kind::Rule, Some(scope.id()), None, MAX)
        .await?
        .into_iter()
        .map(|o| {
            let r: Rule = serde_json::from_value(o.spec)
                .map_err(|e| anyhow::anyhow!("stored rule {}: {e}", o.name))?;
            Ok((r, o.version))
        })
        .collect()
}

/// Everything the page shows besides the form, the preview and messages.
async fn load(
    st: &AppState,
    scope: &TenantScope,
    edit: Option<u32>,
) -> ApiResult<(PolicyPage, Vec<(Rule, i64)>)> {
    let id = scope.id();
    let (name, default_action): (String, String) =
        sqlx::query_as("SELECT name, default_action FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&st.db)
            .await?
            .ok_or_else(Problem::not_found)?;
    let services = objects::list(&st.db, Kind::Service, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|s| ServiceRow {
            addresses: s.spec["addresses"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            id: s.name,
        })
        .collect();
    let networks = objects::list(&st.db, Kind::Network, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|n| n.name)
        .collect();
    let stored = rules(st, scope).await?;
    let plain: Vec<Rule> = stored.iter().map(|(r, _)| r.clone()).collect();
    let shadowed = shadowed_rules(&plain);
    let rows = stored
        .iter()
        .enumerate()
        .map(|(i, (r, v))| RuleRow {
            id: r.id,
            version: *v,
            description: r.description.clone().unwrap_or_default(),
            action: r.action.as_str().into(),
            protocol: serde_json::to_value(r.protocol)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            ports: ports_text(&r.destination_port),
            source: endpoint_text(&r.source),
            destination: endpoint_text(&r.destination),
            disabled: r.disabled,
            shadowed: shadowed.iter().find(|s| s.index == i).map(|s| s.reason()),
        })
        .collect();
    let can_write = scope.who.can_write_tenant();
    let form = match edit.and_then(|e| stored.iter().find(|(r, _)| r.id == e)) {
        Some((r, v)) if can_write => edit_form(r, *v),
        _ => blank_form(&plain),
    };
    let page = PolicyPage {
        slug: scope.tenant.slug.clone(),
        name,
        can_write,
        default_action,
        services,
        rules: rows,
        networks,
        form,
        preview: None,
        notice: None,
        alerts: vec![],
    };
    Ok((page, stored))
}

async fn render(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    edit: Option<u32>,
    status: StatusCode,
    adjust: impl FnOnce(&mut PolicyPage, &[(Rule, i64)]),
) -> Response {
    match load(st, scope, edit).await {
        Ok((mut page, stored)) => {
            adjust(&mut page, &stored);
            html(status, &props(Some(s), Page::Policy(Box::new(page))))
        }
        Err(p) => problem_page(Some(s), &p),
    }
}

fn status_of(p: &Problem) -> StatusCode {
    StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

/// `GET /t/{tenant}/policy`: everyone of the tenant reads it; `?edit=N`
/// fills the form with rule N (tenant admins).
pub async fn page(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match session_or_login(&st, &h, &src, &format!("/t/{slug}/policy")).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let scope = match tenancy::resolve(&st, s.who.clone(), &slug).await {
        Ok(x) => x,
        Err(p) => return problem_page(Some(&s), &p),
    };
    let notice = q.get("job").and_then(|j| {
        let what = match q.get("done")?.as_str() {
            "created" => "added",
            "updated" => "changed",
            "deleted" => "deleted",
            "disabled" => "disabled",
            "enabled" => "enabled",
            "reordered" => return Some(format!("Rules reordered; job #{j} compiles the change.")),
            _ => return None,
        };
        let rule = q.get("rule")?;
        Some(format!("Rule {rule} {what}; job #{j} compiles the change."))
    });
    let edit = q.get("edit").and_then(|e| e.parse().ok());
    render(&st, &s, &scope, edit, StatusCode::OK, |p, _| {
        p.notice = notice
    })
    .await
}

fn done(slug: &str, what: &str, rule: Option<u32>, job: i64) -> Response {
    let rule = rule.map(|r| format!("&rule={r}")).unwrap_or_default();
    see_other(&format!(
        "/t/{}/policy?done={what}{rule}&job={job}",
        encode(slug)
    ))
}

/// `POST /t/{tenant}/policy/rules`: adds a rule (`change::apply`).
pub async fn create(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (s, scope) = match write_scope(&st, &h, &src, &slug, Some(&f)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (form, rule) = rule_from_form(&f);
    let result = match rule {
        Ok(b) => {
            change::apply(
                &st.db,
                &scope.who,
                Kind::Rule,
                Some(&scope.tenant),
                None,
                Op::Create(b),
                None,
            )
            .await
        }
        Err(p) => Err(p),
    };
    match result {
        Ok(out) => done(&scope.tenant.slug, "created", form.id.parse().ok(), out.job),
        Err(p) => form_failed(&st, &s, &scope, form, &p).await,
    }
}

/// The page again with the typed form and the server's errors next to
/// their fields.
async fn form_failed(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    mut form: RuleForm,
    p: &Problem,
) -> Response {
    form.errors = form_errors(p, rule_field);
    render(st, s, scope, None, status_of(p), |page, _| page.form = form).await
}

/// `POST /t/{tenant}/policy/rules/{id}`: replaces the rule, only if it is
/// still at the version the form was filled from.
pub async fn update(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (s, scope) = match write_scope(&st, &h, &src, &slug, Some(&f)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let version = match version_of(&f, &s) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (form, rule) = rule_from_form(&f);
    let result = match rule {
        Ok(b) => {
            change::apply(
                &st.db,
                &scope.who,
                Kind::Rule,
                Some(&scope.tenant),
                Some(&id),
                Op::Replace(b),
                Some(version),
            )
            .await
        }
        Err(p) => Err(p),
    };
    match result {
        Ok(out) => done(&scope.tenant.slug, "updated", id.parse().ok(), out.job),
        Err(p) if p.status == 404 => problem_page(Some(&s), &p),
        Err(p) if p.status == 412 => {
            let edit = id.parse().ok();
            render(
                &st,
                &s,
                &scope,
                edit,
                StatusCode::PRECONDITION_FAILED,
                |page, _| page.form.errors.form.push(STALE.into()),
            )
            .await
        }
        Err(p) => form_failed(&st, &s, &scope, form, &p).await,
    }
}

/// The page with the rules as they are now and, above them, why a change
/// made without the form (toggle, delete, reorder) was refused.
async fn refused(st: &AppState, s: &WebSession, scope: &TenantScope, p: &Problem) -> Response {
    if p.status == 404 {
        return problem_page(Some(s), p);
    }
    let msgs = if p.status == 412 {
        vec![STALE.into()]
    } else {
        form_errors(p, |_| None).form
    };
    render(st, s, scope, None, status_of(p), |page, _| {
        page.alerts = msgs
    })
    .await
}

/// `POST /t/{tenant}/policy/rules/{id}/toggle`: disables an enabled rule or
/// enables a disabled one, at the version the page showed.
pub async fn toggle(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (s, scope) = match write_scope(&st, &h, &src, &slug, Some(&f)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let version = match version_of(&f, &s) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let current = match objects::get(&st.db, Kind::Rule, Some(scope.id()), &id).await {
        Ok(Some(o)) => o,
        Ok(None) => return problem_page(Some(&s), &Problem::not_found()),
        Err(e) => return problem_page(Some(&s), &e.into()),
    };
    let mut spec = current.spec;
    let disable = !spec["disabled"].as_bool().unwrap_or(false);
    spec["disabled"] = disable.into();
    match change::apply(
        &st.db,
        &scope.who,
        Kind::Rule,
        Some(&scope.tenant),
        Some(&id),
        Op::Replace(spec),
        Some(version),
    )
    .await
    {
        Ok(out) => done(
            &scope.tenant.slug,
            if disable { "disabled" } else { "enabled" },
            id.parse().ok(),
            out.job,
        ),
        Err(p) => refused(&st, &s, &scope, &p).await,
    }
}

/// `POST /t/{tenant}/policy/rules/{id}/delete`: deletes the rule at the
/// version the preview showed.
pub async fn delete(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (s, scope) = match write_scope(&st, &h, &src, &slug, Some(&f)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let version = match version_of(&f, &s) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match change::apply(
        &st.db,
        &scope.who,
        Kind::Rule,
        Some(&scope.tenant),
        Some(&id),
        Op::Delete,
        Some(version),
    )
    .await
    {
        Ok(out) => done(&scope.tenant.slug, "deleted", id.parse().ok(), out.job),
        Err(p) => refused(&st, &s, &scope, &p).await,
    }
}

/// The `order` fields of a reorder form: `id@version`, in the new order.
fn order_of(f: &Form) -> Result<Vec<Placed>, Problem> {
    f.iter()
        .filter(|(k, _)| k == "order")
        .enumerate()
        .map(|(i, (_, v))| {
            let (id, version) = v.split_once('@').unwrap_or((v, ""));
            let id = id.trim().parse().map_err(|_| {
                Problem::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("/order/{i}"),
                    "not a rule number",
                )
            })?;
            Ok(Placed {
                id,
                version: version.parse().ok(),
            })
        })
        .collect()
}

/// `POST /t/{tenant}/policy/order`: puts the rules in the order of the
/// form's `order` fields, in one change (`store::policy::reorder`).
pub async fn reorder(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (s, scope) = match write_scope(&st, &h, &src, &slug, Some(&f)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = match order_of(&f) {
        Ok(order) => policy::reorder(&st.db, &scope.who, &scope.tenant, &order).await,
        Err(p) => Err(p),
    };
    match result {
        Ok(out) => done(&scope.tenant.slug, "reordered", None, out.job),
        Err(p) => refused(&st, &s, &scope, &p).await,
    }
}

/// The preview as the page shows it.
fn preview_view(p: PolicyPreview, title: String, confirm: Option<ConfirmForm>) -> PreviewView {
    PreviewView {
        title,
        devices: p
            .devices
            .into_iter()
            .map(|d| DeviceChange {
                kind: d.kind,
                device: d.device,
                removed: d.removed,
                added: d.added,
            })
            .collect(),
        warnings: p.warnings,
        confirm,
    }
}

/// `POST /t/{tenant}/policy/preview`: what a change (`op`: `create`,
/// `replace`, `delete` or `order`, with the fields of its form) would do on
/// the devices. Writes nothing; the page comes back with the form as typed
/// and the preview below it, or, for a delete or a new order, the preview
/// with the button that makes the change.
pub async fn preview(
    State(st): State<AppState>,
    Source(src): Source,
    h: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let f = parse_form(&body);
    let (s, scope) = match write_scope(&st, &h, &src, &slug, Some(&f)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let tslug = scope.tenant.slug.clone();
    match field(&f, "op") {
        op @ ("create" | "replace") => {
            let (form, rule) = rule_from_form(&f);
            let edit = match (op, rule) {
                (_, Err(p)) => return form_failed(&st, &s, &scope, form, &p).await,
                ("create", Ok(b)) => Edit::Create(b),
                (_, Ok(b)) => Edit::Replace(form.id.clone(), b),
            };
            match policy::preview(&st.db, &scope.who, &scope.tenant, edit).await {
                Ok(p) => {
                    let title = match op {
                        "create" => format!("add rule {}", form.id),
                        _ => format!("change rule {}", form.id),
                    };
                    let pv = preview_view(p.into(), title, None);
                    render(&st, &s, &scope, None, StatusCode::OK, |page, _| {
                        page.form = form;
                        page.preview = Some(pv);
                    })
                    .await
                }
                Err(p) if p.status == 404 => problem_page(Some(&s), &p),
                Err(p) => form_failed(&st, &s, &scope, form, &p).await,
            }
        }
        "delete" => {
            let id = field(&f, "rule").to_string();
            let version = field(&f, "version").to_string();
            match policy::preview(&st.db, &scope.who, &scope.tenant, Edit::Delete(id.clone())).await
            {
                Ok(p) => {
                    let confirm = ConfirmForm {
                        action: format!("/t/{}/policy/rules/{}/delete", tslug, encode(&id)),
                        label: format!("Delete rule {id}"),
                        danger: true,
                        fields: vec![("version".into(), version)],
                    };
                    let pv = preview_view(p.into(), format!("delete rule {id}"), Some(confirm));
                    render(&st, &s, &scope, None, StatusCode::OK, |page, _| {
                        page.preview = Some(pv)
                    })
                    .await
                }
                Err(p) => refused(&st, &s, &scope, &p).await,
            }
        }
        "order" => {
            let order = match order_of(&f) {
                Ok(o) => o,
                Err(p) => return refused(&st, &s, &scope, &p).await,
            };
            let ids: Vec<u32> = order.iter().map(|p| p.id).collect();
            match policy::preview(
                &st.db,
                &scope.who,
                &scope.tenant,
                Edit::Reorder(ids.clone()),
            )
            .await
            {
                Ok(p) => {
                    let fields = f.iter().filter(|(k, _)| k == "order").cloned().collect();
                    let confirm = ConfirmForm {
                        action: format!("/t/{tslug}/policy/order"),
                        label: "Save the new order".into(),
                        danger: false,
                        fields,
                    };
                    let pv = preview_view(p.into(), String::new(), Some(confirm));
                    render(&st, &s, &scope, None, StatusCode::OK, |page, stored| {
                        let mut pv = pv;
                        pv.title = move_title(stored, &ids);
                        page.preview = Some(pv);
                    })
                    .await
                }
                Err(p) => refused(&st, &s, &scope, &p).await,
            }
        }
        _ => problem_page(Some(&s), &Problem::bad_request("unknown change to preview")),
    }
}

/// "move rule 3 above rule 2": the first rule whose place changes, in the
/// current numbering.
fn move_title(stored: &[(Rule, i64)], order: &[u32]) -> String {
    let now: Vec<u32> = stored.iter().map(|(r, _)| r.id).collect();
    match now.iter().zip(order).find(|(a, b)| a != b) {
        Some((was, moved)) => format!("move rule {moved} above rule {was}"),
        None => "the same order".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_makes_the_api_body() {
        let f = form(&[
            ("op", "create"),
            ("id", " 7 "),
            ("action", "accept"),
            ("protocol", "tcp"),
            ("port", "80, 8000-8080"),
            ("source", "service:web-servers"),
            ("destination", "cidr"),
            ("destination_cidr", "100.64.1.0/28"),
        ]);
        let (typed, body) = rule_from_form(&f);
        let body = body.unwrap();
        assert_eq!(typed.editing, None);
        assert_eq!(body["id"], 7);
        assert_eq!(body["destination_port"], json!([80, "8000-8080"]));
        assert_eq!(
            body["source"],
            json!({"type": "service", "service": "web-servers"})
        );
        assert_eq!(
            body["destination"],
            json!({"type": "cidr", "cidr": "100.64.1.0/28"})
        );
        assert_eq!(body["disabled"], false);
        let (spec, name) = Kind::Rule.parse(&body).unwrap();
        assert_eq!(name, "7");
        assert_eq!(spec["protocol"], "tcp");
        // A rule read back fills the same fields.
        let r: Rule = serde_json::from_value(spec).unwrap();
        let back = edit_form(&r, 3);
        assert_eq!(back.port, "80, 8000-8080");
        assert_eq!(back.destination, "cidr");
        assert_eq!(back.editing, Some((7, 3)));
        // Not a number: the error names the field.
        let (_, e) = rule_from_form(&form(&[("id", "x")]));
        assert_eq!(e.unwrap_err().errors[0].pointer.as_deref(), Some("/id"));
    }

    #[test]
    fn pointers_map_to_rule_fields() {
        assert_eq!(rule_field("/destination_port"), Some("port"));
        assert_eq!(rule_field("/source/cidr"), Some("source_cidr"));
        assert_eq!(rule_field("/destination/service"), Some("destination"));
        assert_eq!(rule_field("/disabled"), None);
    }

    #[test]
    fn order_fields_parse_with_versions() {
        let o = order_of(&form(&[("order", "2@5"), ("order", "1")])).unwrap();
        assert_eq!(
            o,
            vec![
                Placed {
                    id: 2,
                    version: Some(5)
                },
                Placed {
                    id: 1,
                    version: None
                }
            ]
        );
        assert!(order_of(&form(&[("order", "x@1")])).is_err());
    }
}
