//! The services and policy page, `/t/{tenant}/policy`: the rules in order
//! with shadowed ones flagged (`checks::shadowed_rules`, the compiler's own
//! rule), and for tenant admins the rule form, enable/disable, delete and
//! move up/down or to a position. Every change goes through the API's
//! service layer (`Store::change`, `Store::reorder_rules`), and every
//! change can be previewed first (`Store::preview_rules`): the page
//! then shows, per device, the lines the change would remove and add.
//!
//! A tenant may hold thousands of rules, so the page shows them
//! [`RULES_PER_PAGE`] at a time (`?page=N`), and a move form names only the
//! rule, its new position and the version of the order
//! ([`order_version`]): the server works out the new order. Both keep the
//! page, its embedded JSON and what the browser hydrates the same size
//! whatever the number of rules (each row used to carry the whole order
//! twice: 224 M characters for 1,660 rules).

use super::document::html;
use super::extract::{OrPage, TenantAdminForm, TenantReader};
use super::pages::{form_errors, taken_at, taken_too};
use super::respond::{encode, field, problem_page, props, see_other, version_of, Form};
use super::session::WebSession;
use crate::api::policy::PolicyPreview;
use crate::problem::{ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use app::policy::{RuleFilter, RulePager, ServiceForm, ServiceItem, PREVIEW_LINES, RULES_PER_PAGE};
use app::{
    ConfirmForm, DeviceChange, FieldErrors, Page, PolicyPage, PreviewView, RuleForm, RuleRow,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use vxguard_compiler::checks::shadowed_rules;
use vxguard_compiler::intent::{Action, Endpoint, PortItem, PortSpec, Rule};
use vxguard_store::kind::Kind;
use vxguard_store::objects;
use vxguard_store::policy::{Edit, Placed};
use vxguard_store::write::Op;

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
            detail: if form.id.is_empty() {
                "Enter a rule number, e.g. 10.".into()
            } else {
                "must be a whole number, e.g. 10".into()
            },
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
                detail: if cidr.is_empty() {
                    "Enter the prefix, e.g. 100.64.1.0/28.".into()
                } else {
                    "must be an IPv4 prefix such as 100.64.1.0/28".into()
                },
            });
        }
    }
    let port = port_value(&form.port);
    // Refused here, the rule goes no further: its port is checked now too
    // (as the compiler would, with its words), so that every error of the
    // form shows at once.
    if !bad.is_empty() {
        if let Ok(spec) = serde_json::from_value::<PortSpec>(port.clone()) {
            if let Err(e) = vxguard_compiler::policy::port_ranges(&spec) {
                bad.push(FieldError {
                    pointer: Some("/destination_port".into()),
                    object: None,
                    detail: e,
                });
            }
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

/// The rule body's `destination_port` from the form's text: `443`,
/// `8000-8080`, a list of either separated by commas, or nothing.
fn port_value(text: &str) -> Value {
    let port_item = |p: &str| -> Value {
        match p.parse::<u16>() {
            Ok(n) => json!(n),
            Err(_) => json!(p),
        }
    };
    match text {
        "" => Value::Null,
        p if p.contains(',') => Value::Array(
            p.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(port_item)
                .collect(),
        ),
        p => port_item(p),
    }
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

/// The tenant's rules in evaluation order (as the compiler reads them),
/// with their versions.
async fn rules(st: &AppState, scope: &TenantScope) -> ApiResult<Vec<(Rule, i64)>> {
    objects::rules_in_order(&st.db, scope.id())
        .await?
        .into_iter()
        .map(|o| {
            let r: Rule = serde_json::from_value(o.spec)
                .map_err(|e| anyhow::anyhow!("stored rule {}: {e}", o.name))?;
            Ok((r, o.version))
        })
        .collect()
}

/// The version of the whole order: a digest of every rule's number and
/// version, in order. Any change to the rules (a move, an edit, a rule
/// added or deleted) changes it, so a move form carrying it is refused once
/// the rules changed, as a form carrying every rule's version was.
fn order_version(stored: &[(Rule, i64)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (r, v) in stored {
        h.update(format!("{}@{v},", r.id));
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Which page of the rules to show: `page` when asked for, else the one
/// with rule `near` (or where it would be: the rule just deleted, the one
/// being added), else the one with the rule being edited, else the first.
#[derive(Clone, Copy, Debug, Default)]
struct At<'a> {
    edit: Option<u32>,
    page: Option<usize>,
    near: Option<u32>,
    /// The service whose form to fill (`?edit_service=NAME`).
    service: Option<&'a str>,
    /// Which rules to show (`?q=&action=&service=`); all without one.
    filter: Option<&'a RuleFilter>,
}

impl At<'_> {
    fn near(rule: Option<u32>) -> Self {
        At {
            near: rule,
            ..At::default()
        }
    }

    /// The page of `shown` (the rules the filter lets through, in order)
    /// to show.
    fn pager(&self, shown: &[&Rule]) -> RulePager {
        let total = shown.len();
        let page = match (self.page, self.near.or(self.edit)) {
            (Some(p), _) => p,
            (None, Some(n)) => {
                let at = match shown.iter().position(|r| r.id == n) {
                    Some(i) => i,
                    // Where it would go: after the next lower number.
                    None => shown
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.id < n)
                        .max_by_key(|(_, r)| r.id)
                        .map_or(0, |(i, _)| i + 1),
                };
                RulePager::page_of(at.min(total.saturating_sub(1)))
            }
            (None, None) => 1,
        };
        RulePager::new(total, page)
    }
}

/// Whether rule `r` passes the filter: `q` in its number, description,
/// ports or endpoints (any case), its action, a service it names.
fn matches(r: &Rule, f: &RuleFilter) -> bool {
    if !f.action.is_empty() && r.action.as_str() != f.action {
        return false;
    }
    let names =
        |e: &Endpoint| matches!(e, Endpoint::Service { service } if service.as_str() == f.service);
    if !f.service.is_empty() && !names(&r.source) && !names(&r.destination) {
        return false;
    }
    if f.q.is_empty() {
        return true;
    }
    let q = f.q.to_lowercase();
    let id = r.id.to_string();
    if id == q {
        return true;
    }
    [
        r.description.clone().unwrap_or_default(),
        ports_text(&r.destination_port),
        endpoint_text(&r.source),
        endpoint_text(&r.destination),
        serde_json::to_value(r.protocol)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
    ]
    .iter()
    .any(|t| t.to_lowercase().contains(&q))
}

/// Everything the page shows besides the form, the preview and messages.
async fn load(
    st: &AppState,
    scope: &TenantScope,
    at: At<'_>,
) -> ApiResult<(PolicyPage, Vec<(Rule, i64)>)> {
    let edit = at.edit;
    let id = scope.id();
    let tenant = {
        let mut conn = st.store.pool().acquire().await?;
        vxguard_store::tenants::get(&mut conn, id)
            .await?
            .ok_or_else(Problem::not_found)?
    };
    let services = objects::list(&st.db, Kind::Service, Some(id), None, MAX).await?;
    let networks = objects::list(&st.db, Kind::Network, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|n| n.name)
        .collect();
    let stored = rules(st, scope).await?;
    let plain: Vec<Rule> = stored.iter().map(|(r, _)| r.clone()).collect();
    // Over all the rules: an earlier page's rule can shadow this page's.
    let shadowed: HashMap<usize, String> = shadowed_rules(&plain)
        .into_iter()
        .map(|s| (s.index, s.reason()))
        .collect();
    let can_write = scope.who.can_write_tenant();
    let service_form = match at
        .service
        .and_then(|n| services.iter().find(|s| s.name == n))
    {
        Some(sv) if can_write => service_edit_form(&sv.spec, sv.version),
        _ => ServiceForm::default(),
    };
    let services = services
        .into_iter()
        .map(|s| service_item(&s.name, &s.spec, s.version, &plain))
        .collect();
    let filter = at.filter.cloned().unwrap_or_default();
    // (index among all the rules, rule, version) of those the filter keeps.
    let kept: Vec<(usize, &Rule, i64)> = stored
        .iter()
        .enumerate()
        .filter(|(_, (r, _))| matches(r, &filter))
        .map(|(i, (r, v))| (i, r, *v))
        .collect();
    let shown: Vec<&Rule> = kept.iter().map(|(_, r, _)| *r).collect();
    let pager = at.pager(&shown);
    let rows = kept
        .iter()
        .skip(pager.first)
        .take(RULES_PER_PAGE)
        .map(|&(i, r, v)| RuleRow {
            id: r.id,
            position: i + 1,
            version: v,
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
            shadowed: shadowed.get(&i).cloned(),
        })
        .collect();
    let form = match edit.and_then(|e| stored.iter().find(|(r, _)| r.id == e)) {
        Some((r, v)) if can_write => edit_form(r, *v),
        _ => blank_form(&plain),
    };
    let page = PolicyPage {
        slug: scope.tenant.slug.clone(),
        name: tenant.name,
        can_write,
        default_action: tenant.default_action,
        tenant_version: tenant.version,
        services,
        service_form,
        rules: rows,
        pager,
        filter,
        total_rules: stored.len(),
        order_version: order_version(&stored),
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
    at: At<'_>,
    status: StatusCode,
    adjust: impl FnOnce(&mut PolicyPage, &[(Rule, i64)]),
) -> Response {
    match load(st, scope, at).await {
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

/// `GET /t/{tenant}/policy`: everyone of the tenant reads it; `?page=N`
/// shows the Nth page of rules; `?edit=N` fills the form with rule N
/// (tenant admins) and, without `page`, shows the page with it.
pub async fn page(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    TenantReader {
        session: s, scope, ..
    }: TenantReader,
) -> Response {
    let notice = q.get("job").and_then(|j| {
        if let Some(what) = q.get("done")?.strip_prefix("service-") {
            let name = q.get("name")?;
            return Some(format!("Service {name} {what}; job #{j} compiles the change."));
        }
        if q.get("done")? == "default" {
            let action = q.get("action")?;
            return Some(format!(
                "Default action set to {action}; job #{j} compiles the change."
            ));
        }
        let what = match q.get("done")?.as_str() {
            "created" => "added",
            "updated" => "changed",
            "deleted" => "deleted",
            "disabled" => "disabled",
            "enabled" => "enabled",
            "reordered" => return Some(format!("Rules reordered; job #{j} compiles the change.")),
            "moved" => {
                let (rule, to) = (q.get("rule")?, q.get("to")?);
                return Some(format!(
                    "Rule {rule} moved to position {to} (its number stays {rule}); job #{j} compiles the change."
                ));
            }
            _ => return None,
        };
        let rule = q.get("rule")?;
        Some(format!("Rule {rule} {what}; job #{j} compiles the change."))
    });
    let text = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let filter = RuleFilter {
        q: text("q"),
        action: text("action"),
        service: text("service"),
    };
    let at = At {
        edit: q.get("edit").and_then(|e| e.parse().ok()),
        page: q.get("page").and_then(|p| p.parse().ok()),
        near: q.get("rule").and_then(|r| r.parse().ok()),
        service: q.get("edit_service").map(String::as_str),
        filter: Some(&filter),
    };
    render(&st, &s, &scope, at, StatusCode::OK, |p, _| {
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
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let (form, rule) = rule_from_form(&f);
    let id = form.id.parse::<u32>().ok();
    let taken = format!(
        "Rule {} already exists: choose another number, or edit that rule.",
        form.id
    );
    let result = match rule {
        Ok(b) => st
            .store
            .change(
                &scope.who,
                Kind::Rule,
                Some(&scope.tenant),
                None,
                Op::Create(b),
                None,
            )
            .await
            .map_err(|e| taken_at(Problem::from(e), "/id", &taken)),
        Err(p) => Err(taken_too(
            &st,
            p,
            Kind::Rule,
            scope.id(),
            id.map(|i| i.to_string()).as_deref(),
            "/id",
            &taken,
        )
        .await),
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
    let at = At::near(form.id.parse().ok());
    render(st, s, scope, at, status_of(p), |page, _| page.form = form).await
}

/// `POST /t/{tenant}/policy/rules/{id}`: replaces the rule, only if it is
/// still at the version the form was filled from.
pub async fn update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let version = version_of(&f, &s)?;
    let (form, rule) = rule_from_form(&f);
    let result = match rule {
        Ok(b) => st
            .store
            .change(
                &scope.who,
                Kind::Rule,
                Some(&scope.tenant),
                Some(&id),
                Op::Replace(b),
                Some(version),
            )
            .await
            .map_err(Problem::from),
        Err(p) => Err(p),
    };
    Ok(match result {
        Ok(out) => done(&scope.tenant.slug, "updated", id.parse().ok(), out.job),
        Err(p) if p.status == 404 => problem_page(Some(&s), &p),
        Err(p) if p.status == 412 => {
            let at = At {
                edit: id.parse().ok(),
                ..At::default()
            };
            render(
                &st,
                &s,
                &scope,
                at,
                StatusCode::PRECONDITION_FAILED,
                |page, _| page.form.errors.form.push(STALE.into()),
            )
            .await
        }
        Err(p) => form_failed(&st, &s, &scope, form, &p).await,
    })
}

/// The page with the rules as they are now (the page with rule `near`)
/// and, above them, why a change made without the form (toggle, delete,
/// move) was refused.
async fn refused(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    near: Option<u32>,
    p: &Problem,
) -> Response {
    if p.status == 404 {
        return problem_page(Some(s), p);
    }
    let msgs = if p.status == 412 {
        vec![STALE.into()]
    } else {
        form_errors(p, |_| None).form
    };
    render(st, s, scope, At::near(near), status_of(p), |page, _| {
        page.alerts = msgs
    })
    .await
}

/// `POST /t/{tenant}/policy/rules/{id}/toggle`: disables an enabled rule or
/// enables a disabled one, at the version the page showed.
pub async fn toggle(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let version = version_of(&f, &s)?;
    let current = objects::get(&st.db, Kind::Rule, Some(scope.id()), &id)
        .await
        .or_page(&s)?
        .ok_or_else(Problem::not_found)
        .or_page(&s)?;
    let mut spec = current.spec;
    let disable = !spec["disabled"].as_bool().unwrap_or(false);
    spec["disabled"] = disable.into();
    Ok(
        match st
            .store
            .change(
                &scope.who,
                Kind::Rule,
                Some(&scope.tenant),
                Some(&id),
                Op::Replace(spec),
                Some(version),
            )
            .await
            .map_err(Problem::from)
        {
            Ok(out) => done(
                &scope.tenant.slug,
                if disable { "disabled" } else { "enabled" },
                id.parse().ok(),
                out.job,
            ),
            Err(p) => refused(&st, &s, &scope, id.parse().ok(), &p).await,
        },
    )
}

/// `POST /t/{tenant}/policy/rules/{id}/delete`: deletes the rule at the
/// version the preview showed.
pub async fn delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
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
                Kind::Rule,
                Some(&scope.tenant),
                Some(&id),
                Op::Delete,
                Some(version),
            )
            .await
            .map_err(Problem::from)
        {
            Ok(out) => done(&scope.tenant.slug, "deleted", id.parse().ok(), out.job),
            Err(p) => refused(&st, &s, &scope, id.parse().ok(), &p).await,
        },
    )
}

/// The rules that name service `name` as source or destination.
fn rules_using(name: &str, rules: &[Rule]) -> Vec<u32> {
    let uses =
        |e: &Endpoint| matches!(e, Endpoint::Service { service } if service.as_str() == name);
    let mut v: Vec<u32> = rules
        .iter()
        .filter(|r| uses(&r.source) || uses(&r.destination))
        .map(|r| r.id)
        .collect();
    v.sort_unstable();
    v
}

fn service_item(name: &str, spec: &Value, version: i64, rules: &[Rule]) -> ServiceItem {
    ServiceItem {
        id: name.to_string(),
        description: spec["description"].as_str().unwrap_or_default().to_string(),
        addresses: spec["addresses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        version,
        used_by: rules_using(name, rules),
        error: None,
    }
}

/// The service form filled from a stored service.
fn service_edit_form(spec: &Value, version: i64) -> ServiceForm {
    ServiceForm {
        editing: Some(version),
        id: spec["id"].as_str().unwrap_or_default().to_string(),
        description: spec["description"].as_str().unwrap_or_default().to_string(),
        addresses: spec["addresses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        errors: FieldErrors::default(),
    }
}

/// The service form as typed and the API body it makes (`addresses` split
/// at line ends and commas; a bare address is a /32).
fn service_from_form(f: &Form, editing: Option<i64>) -> (ServiceForm, Value) {
    let id = match field(f, "service_id").trim() {
        "" => field(f, "id").trim(),
        id => id,
    };
    let form = ServiceForm {
        editing,
        id: id.to_string(),
        description: field(f, "service_description").trim().to_string(),
        addresses: field(f, "addresses").trim().to_string(),
        errors: FieldErrors::default(),
    };
    let addresses: Vec<Value> = form
        .addresses
        .split(|c| c == '\n' || c == ',' || c == '\r')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            if a.contains('/') || a.parse::<std::net::Ipv4Addr>().is_err() {
                json!(a)
            } else {
                json!(format!("{a}/32"))
            }
        })
        .collect();
    let mut body = json!({"id": form.id, "addresses": addresses});
    if !form.description.is_empty() {
        body["description"] = json!(form.description);
    }
    (form, body)
}

/// Which service form field a problem's pointer names.
fn service_field(pointer: &str) -> Option<&'static str> {
    match pointer.trim_start_matches('/').split('/').next()? {
        "id" => Some("id"),
        "description" => Some("description"),
        "addresses" => Some("addresses"),
        _ => None,
    }
}

/// "rule 3" or "rules 1, 3 and 9".
fn rules_words(ids: &[u32]) -> String {
    let n: Vec<String> = ids.iter().map(u32::to_string).collect();
    match n.as_slice() {
        [one] => format!("rule {one}"),
        [init @ .., last] => format!("rules {} and {last}", init.join(", ")),
        [] => "no rule".into(),
    }
}

/// The page again with the service form as typed and the errors next to
/// its fields.
async fn service_failed(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    mut form: ServiceForm,
    p: &Problem,
) -> Response {
    if p.status == 412 {
        form.errors.form.push(
            "Someone changed this service after you opened the page. The form now shows \
             the current service: check it and make your change again."
                .into(),
        );
        let name = form.id.clone();
        let at = At {
            service: Some(&name),
            ..At::default()
        };
        return render(st, s, scope, at, status_of(p), |page, _| {
            page.service_form.errors = form.errors;
        })
        .await;
    }
    form.errors = form_errors(p, service_field);
    render(st, s, scope, At::default(), status_of(p), |page, _| {
        page.service_form = form
    })
    .await
}

fn service_done(slug: &str, what: &str, name: &str, job: i64) -> Response {
    see_other(&format!(
        "/t/{}/policy?done=service-{what}&name={}&job={job}#services-h",
        encode(slug),
        encode(name)
    ))
}

/// `POST /t/{tenant}/policy/services`: adds a service (`Store::change`,
/// as `POST /api/v1/tenants/{tenant}/services`).
pub async fn service_create(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let (form, body) = service_from_form(&f, None);
    match st
        .store
        .change(
            &scope.who,
            Kind::Service,
            Some(&scope.tenant),
            None,
            Op::Create(body),
            None,
        )
        .await
        .map_err(Problem::from)
    {
        Ok(out) => service_done(&scope.tenant.slug, "added", &form.id, out.job),
        Err(p) => service_failed(&st, &s, &scope, form, &p).await,
    }
}

/// `POST /t/{tenant}/policy/services/{name}`: replaces the service, only
/// if it is still at the version the form was filled from.
pub async fn service_update(
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
    let (form, body) = service_from_form(&f, Some(version));
    Ok(
        match st
            .store
            .change(
                &scope.who,
                Kind::Service,
                Some(&scope.tenant),
                Some(&name),
                Op::Replace(body),
                Some(version),
            )
            .await
            .map_err(Problem::from)
        {
            Ok(out) => service_done(&scope.tenant.slug, "changed", &name, out.job),
            Err(p) if p.status == 404 => problem_page(Some(&s), &p),
            Err(p) => service_failed(&st, &s, &scope, form, &p).await,
        },
    )
}

/// `POST /t/{tenant}/policy/services/{name}/delete`: deletes the service
/// at the version the page showed. A service that rules still use is not
/// deleted: the error at its row names them.
pub async fn service_delete(
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
    let stored = rules(&st, &scope).await.or_page(&s)?;
    let plain: Vec<Rule> = stored.into_iter().map(|(r, _)| r).collect();
    let users = rules_using(&name, &plain);
    let result = if users.is_empty() {
        st.store
            .change(
                &scope.who,
                Kind::Service,
                Some(&scope.tenant),
                Some(&name),
                Op::Delete,
                Some(version),
            )
            .await
            .map_err(Problem::from)
    } else {
        Err(Problem::field(
            StatusCode::CONFLICT,
            "/id",
            format!(
                "Service {name} is used by {}: change those rules or delete them first, \
                 then delete the service.",
                rules_words(&users)
            ),
        ))
    };
    Ok(match result {
        Ok(out) => service_done(&scope.tenant.slug, "deleted", &name, out.job),
        Err(p) if p.status == 404 => problem_page(Some(&s), &p),
        Err(p) => {
            let msg = if p.status == 412 {
                "Someone changed this service after you opened the page: check it and try again."
                    .to_string()
            } else {
                form_errors(&p, |_| None).form.join(" ")
            };
            render(&st, &s, &scope, At::default(), status_of(&p), |page, _| {
                if let Some(sv) = page.services.iter_mut().find(|sv| sv.id == name) {
                    sv.error = Some(msg);
                }
            })
            .await
        }
    })
}

/// `POST /t/{tenant}/policy/default`: sets the tenant's default action
/// (`api::tenants::update_tenant`, as `PUT /api/v1/tenants/{tenant}`), at
/// the tenant's version the page showed.
pub async fn default_action(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    let version = version_of(&f, &s)?;
    let result = async {
        let action: vxguard_compiler::intent::Action =
            serde_json::from_value(json!(field(&f, "default_action"))).map_err(|_| {
                Problem::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/default_action",
                    "Choose accept, drop or reject.",
                )
            })?;
        let name = {
            let mut conn = st.store.pool().acquire().await?;
            vxguard_store::tenants::get(&mut conn, scope.id())
                .await?
                .ok_or_else(Problem::not_found)?
                .name
        };
        let req = crate::api::tenants::TenantUpdate {
            name,
            default_action: action,
            members_add_clients: None,
        };
        crate::api::tenants::update_tenant(&st, &scope, &req, Some(version)).await
    }
    .await;
    Ok(match result {
        Ok((t, job)) => see_other(&format!(
            "/t/{}/policy?done=default&action={}&job={job}",
            encode(&scope.tenant.slug),
            encode(&t.default_action)
        )),
        Err(p) if p.status == 412 => {
            render(&st, &s, &scope, At::default(), status_of(&p), |page, _| {
                page.alerts = vec![
                    "Someone changed the tenant after you opened this page. The \
                                    page now shows the current default action: choose again."
                        .into(),
                ]
            })
            .await
        }
        Err(p) => refused(&st, &s, &scope, None, &p).await,
    })
}

/// A move a form asks for: rule `rule` (its number now) from index `from`
/// to position `to` (from 1), and the whole new order that makes it.
#[derive(Debug)]
struct Move {
    rule: u32,
    from: usize,
    to: usize,
    /// Every rule in its new place, with the version it was read at, so
    /// that `Store::reorder_rules` refuses the change (412) if a rule
    /// changed between this read and its transaction.
    order: Vec<Placed>,
}

/// Reads a move form (`rule`, `to`, `order_version`) against the rules as
/// they are now (`stored`, in order): a form from a page older than the
/// last change to the rules is stale (412), as other edits are.
fn move_of(f: &Form, stored: &[(Rule, i64)]) -> Result<Move, Problem> {
    if field(f, "order_version") != order_version(stored) {
        return Err(Problem::stale());
    }
    let bad = |ptr: &str, msg: String| Problem::field(StatusCode::UNPROCESSABLE_ENTITY, ptr, msg);
    let rule: u32 = field(f, "rule")
        .trim()
        .parse()
        .map_err(|_| bad("/rule", "not a rule number".into()))?;
    let from = stored
        .iter()
        .position(|(r, _)| r.id == rule)
        .ok_or_else(|| bad("/rule", format!("there is no rule {rule}")))?;
    let n = stored.len();
    let to = field(f, "to")
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|t| (1..=n).contains(t))
        .ok_or_else(|| {
            bad(
                "/to",
                format!("the position must be a number from 1 to {n}"),
            )
        })?;
    if to == from + 1 {
        return Err(bad(
            "/to",
            format!("rule {rule} is at position {to} already: nothing to change"),
        ));
    }
    let mut order: Vec<Placed> = stored
        .iter()
        .map(|(r, v)| Placed {
            id: r.id,
            version: Some(*v),
        })
        .collect();
    let moved = order.remove(from);
    order.insert(to - 1, moved);
    Ok(Move {
        rule,
        from,
        to,
        order,
    })
}

/// `POST /t/{tenant}/policy/order`: moves rule `rule` to position `to`
/// (the fields of a move form, after its preview), in one change
/// (`Store::reorder_rules`: the rules move with their numbers). Then the
/// page with the rule's new place, scrolled to it.
pub async fn reorder(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Response {
    let result = async {
        let stored = rules(&st, &scope).await?;
        let m = move_of(&f, &stored)?;
        let out = st
            .store
            .reorder_rules(&scope.who, &scope.tenant, &m.order)
            .await?;
        Ok::<_, Problem>((out.job, m.rule, m.to))
    }
    .await;
    match result {
        Ok((job, rule, to)) => see_other(&format!(
            "/t/{}/policy?done=moved&rule={rule}&to={to}&job={job}&page={}#rule-{rule}",
            encode(&scope.tenant.slug),
            RulePager::page_of(to - 1)
        )),
        Err(p) => refused(&st, &s, &scope, field(&f, "rule").parse().ok(), &p).await,
    }
}

/// The preview as the page shows it: what it does in words first
/// ([`summary`]), then one entry per group of devices whose lines change
/// the same ("same on ..."), each with its first [`PREVIEW_LINES`] lines
/// that go and that come and how many more (the API's preview has them
/// all, per device).
pub(super) fn preview_view(
    p: PolicyPreview,
    title: String,
    confirm: Option<ConfirmForm>,
) -> PreviewView {
    let first = |mut v: Vec<String>| {
        let more = v.len().saturating_sub(PREVIEW_LINES);
        v.truncate(PREVIEW_LINES);
        (v, more)
    };
    let summary = summary(&p.devices);
    // Groups of identical diffs, in the order their first device comes.
    let mut groups: Vec<(crate::api::policy::DeviceChange, Vec<String>)> = Vec::new();
    for d in p.devices {
        match groups
            .iter_mut()
            .find(|(g, _)| g.kind == d.kind && g.removed == d.removed && g.added == d.added)
        {
            Some((_, same)) => same.push(d.device),
            None => groups.push((d, vec![])),
        }
    }
    PreviewView {
        title,
        summary,
        devices: groups
            .into_iter()
            .map(|(d, same_on)| {
                let (removed, more_removed) = first(d.removed);
                let (added, more_added) = first(d.added);
                DeviceChange {
                    kind: d.kind,
                    device: d.device,
                    same_on,
                    removed,
                    added,
                    more_removed,
                    more_added,
                }
            })
            .collect(),
        warnings: p.warnings,
        confirm,
    }
}

/// What one device's lines do, counted: firewall rules (VyOS `... rule N
/// ...` paths, by chain and number) that come, go or change, OpenFlow
/// flows (`table=` lines) that come and go, and other lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    rules_added: usize,
    rules_removed: usize,
    rules_changed: usize,
    flows_added: usize,
    flows_removed: usize,
    other: usize,
}

fn counts(d: &crate::api::policy::DeviceChange) -> Counts {
    use std::collections::BTreeSet;
    let mut c = Counts::default();
    if d.kind == "router" {
        // The path up to and including `rule N` of a firewall line.
        let rule = |l: &str| -> Option<String> {
            if !l.contains(" firewall ") {
                return None;
            }
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w
                .windows(2)
                .position(|p| p[0] == "rule" && p[1].trim_matches('\'').parse::<u32>().is_ok())?;
            Some(w[..i + 2].join(" ").replacen("delete ", "set ", 1))
        };
        let gone: BTreeSet<String> = d.removed.iter().filter_map(|l| rule(l)).collect();
        let come: BTreeSet<String> = d.added.iter().filter_map(|l| rule(l)).collect();
        c.rules_changed = gone.intersection(&come).count();
        c.rules_removed = gone.len() - c.rules_changed;
        c.rules_added = come.len() - c.rules_changed;
        c.other = d
            .removed
            .iter()
            .chain(&d.added)
            .filter(|l| rule(l).is_none())
            .count();
    } else {
        let flow = |l: &&String| l.starts_with("table=");
        c.flows_removed = d.removed.iter().filter(flow).count();
        c.flows_added = d.added.iter().filter(flow).count();
        c.other = d.removed.len() + d.added.len() - c.flows_removed - c.flows_added;
    }
    c
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "a, b and c".
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The preview in one sentence, first on the page: "Adds 1 firewall rule
/// on 4 routers; adds 2 flows and removes 1 on 2 hypervisors." Devices
/// whose changes count the same are told together.
fn summary(devices: &[crate::api::policy::DeviceChange]) -> String {
    if devices.is_empty() {
        return "No device configuration would change.".into();
    }
    let mut groups: Vec<(bool, Counts, usize)> = Vec::new();
    for d in devices {
        let router = d.kind == "router";
        let c = counts(d);
        match groups.iter_mut().find(|(r, g, _)| *r == router && *g == c) {
            Some((_, _, n)) => *n += 1,
            None => groups.push((router, c, 1)),
        }
    }
    let phrases: Vec<String> = groups
        .into_iter()
        .map(|(router, c, n)| {
            let mut parts = Vec::new();
            if router {
                let rule = |n| plural(n, "firewall rule", "firewall rules");
                if c.rules_added > 0 {
                    parts.push(format!("adds {}", rule(c.rules_added)));
                }
                if c.rules_changed > 0 {
                    parts.push(format!("changes {}", rule(c.rules_changed)));
                }
                if c.rules_removed > 0 {
                    parts.push(format!("removes {}", rule(c.rules_removed)));
                }
                if c.other > 0 {
                    parts.push(format!(
                        "changes {}",
                        plural(
                            c.other,
                            "other configuration line",
                            "other configuration lines"
                        )
                    ));
                }
            } else {
                let flow = |n| plural(n, "flow", "flows");
                if c.flows_added > 0 {
                    parts.push(format!("adds {}", flow(c.flows_added)));
                }
                if c.flows_removed > 0 {
                    parts.push(format!("removes {}", flow(c.flows_removed)));
                }
                if c.other > 0 {
                    parts.push(format!(
                        "changes {}",
                        plural(c.other, "group or meter line", "group or meter lines")
                    ));
                }
            }
            let on = if router {
                plural(n, "router", "routers")
            } else {
                plural(n, "hypervisor", "hypervisors")
            };
            format!("{} on {on}", and_list(&parts))
        })
        .collect();
    let mut out = phrases.join("; ");
    if let Some(f) = out.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    out + "."
}

/// `POST /t/{tenant}/policy/preview`: what a change (`op`: `create`,
/// `replace`, `delete`, `move` or `default`, the default action, with the
/// fields of its form) would do on
/// the devices. Writes nothing; the page comes back with the form as typed
/// and the preview below it, or, for a delete or a move, the preview with
/// the button that makes the change.
pub async fn preview(
    State(st): State<AppState>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm,
) -> Result<Response, Response> {
    // The API's bound on previews: budget, one at a time per tenant.
    let _running = crate::api::policy::expensive_call(&st, &scope)
        .await
        .or_page(&s)?;
    let tslug = scope.tenant.slug.clone();
    Ok(match field(&f, "op") {
        op @ ("create" | "replace") => {
            let (form, rule) = rule_from_form(&f);
            let edit = match (op, rule) {
                (_, Err(p)) => return Ok(form_failed(&st, &s, &scope, form, &p).await),
                ("create", Ok(b)) => Edit::Create(b),
                (_, Ok(b)) => Edit::Replace(form.id.clone(), b),
            };
            match st
                .store
                .preview_rules(&scope.who, &scope.tenant, edit)
                .await
                .map_err(Problem::from)
            {
                Ok(p) => {
                    let title = match op {
                        "create" => format!("add rule {}", form.id),
                        _ => format!("change rule {}", form.id),
                    };
                    let pv = preview_view(p.into(), title, None);
                    let at = At::near(form.id.parse().ok());
                    render(&st, &s, &scope, at, StatusCode::OK, |page, _| {
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
            match st
                .store
                .preview_rules(&scope.who, &scope.tenant, Edit::Delete(id.clone()))
                .await
                .map_err(Problem::from)
            {
                Ok(p) => {
                    let confirm = ConfirmForm {
                        action: format!("/t/{}/policy/rules/{}/delete", tslug, encode(&id)),
                        label: format!("Delete rule {id}"),
                        danger: true,
                        fields: vec![("version".into(), version)],
                    };
                    let pv = preview_view(p.into(), format!("delete rule {id}"), Some(confirm));
                    let at = At::near(id.parse().ok());
                    render(&st, &s, &scope, at, StatusCode::OK, |page, _| {
                        page.preview = Some(pv)
                    })
                    .await
                }
                Err(p) => refused(&st, &s, &scope, id.parse().ok(), &p).await,
            }
        }
        "move" => {
            let near = field(&f, "rule").parse().ok();
            let stored = rules(&st, &scope).await.or_page(&s)?;
            let m = match move_of(&f, &stored) {
                Ok(m) => m,
                Err(p) => return Ok(refused(&st, &s, &scope, near, &p).await),
            };
            let ids: Vec<u32> = m.order.iter().map(|p| p.id).collect();
            match st
                .store
                .preview_rules(&scope.who, &scope.tenant, Edit::Reorder(ids))
                .await
                .map_err(Problem::from)
            {
                Ok(p) => {
                    let confirm = ConfirmForm {
                        action: format!("/t/{tslug}/policy/order"),
                        label: "Save the new order".into(),
                        danger: false,
                        fields: ["rule", "to", "order_version"]
                            .map(|k| (k.to_string(), field(&f, k).trim().to_string()))
                            .into(),
                    };
                    let title = move_title(&stored, &m);
                    let pv = preview_view(p.into(), title, Some(confirm));
                    render(
                        &st,
                        &s,
                        &scope,
                        At::near(near),
                        StatusCode::OK,
                        |page, _| page.preview = Some(pv),
                    )
                    .await
                }
                Err(p) => refused(&st, &s, &scope, near, &p).await,
            }
        }
        "default" => {
            let Ok(action) = serde_json::from_value::<Action>(json!(field(&f, "default_action")))
            else {
                let p = Problem::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/default_action",
                    "Choose accept, drop or reject.",
                );
                return Ok(refused(&st, &s, &scope, None, &p).await);
            };
            match st
                .store
                .preview_rules(&scope.who, &scope.tenant, Edit::DefaultAction(action))
                .await
                .map_err(Problem::from)
            {
                Ok(p) => {
                    let word = action.as_str();
                    let confirm = ConfirmForm {
                        action: format!("/t/{tslug}/policy/default"),
                        label: format!("Set the default action to {word}"),
                        // Accepting what no rule matches opens the tenant.
                        danger: action == Action::Accept,
                        fields: vec![
                            ("version".into(), field(&f, "version").trim().to_string()),
                            ("default_action".into(), word.to_string()),
                        ],
                    };
                    let title = format!("set the default action to {word}");
                    let pv = preview_view(p.into(), title, Some(confirm));
                    render(&st, &s, &scope, At::default(), StatusCode::OK, |page, _| {
                        page.preview = Some(pv)
                    })
                    .await
                }
                Err(p) => refused(&st, &s, &scope, None, &p).await,
            }
        }
        _ => problem_page(Some(&s), &Problem::bad_request("unknown change to preview")),
    })
}

/// "move rule 7 above rule 3 (position 7 → 3 of 2000)": where the rule
/// goes, next to the rule now at its new position, in the current
/// numbering.
fn move_title(stored: &[(Rule, i64)], m: &Move) -> String {
    let other = stored[m.to - 1].0.id;
    let how = if m.to <= m.from { "above" } else { "below" };
    format!(
        "move rule {} {how} rule {other} (position {} → {} of {})",
        m.rule,
        m.from + 1,
        m.to,
        stored.len()
    )
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
    fn a_missing_number_comes_with_every_other_error_of_the_form() {
        let (_, e) = rule_from_form(&form(&[
            ("op", "create"),
            ("id", " "),
            ("action", "accept"),
            ("protocol", "tcp"),
            ("port", "99999"),
            ("source", "cidr"),
            ("source_cidr", "10.0.0.0/33"),
            ("destination", "cidr"),
            ("destination_cidr", ""),
        ]));
        let e = e.unwrap_err();
        let at: Vec<(&str, &str)> = e
            .errors
            .iter()
            .map(|f| (f.pointer.as_deref().unwrap(), f.detail.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("/id", "Enter a rule number, e.g. 10."),
                (
                    "/source/cidr",
                    "must be an IPv4 prefix such as 100.64.1.0/28"
                ),
                ("/destination/cidr", "Enter the prefix, e.g. 100.64.1.0/28."),
                (
                    "/destination_port",
                    "“99999” is not a port or a range; give a port such as 443 or a range such as 8000-8080"
                ),
            ]
        );
        // A good port adds nothing.
        let (_, e) = rule_from_form(&form(&[("id", ""), ("port", "80, 8000-8080")]));
        assert_eq!(e.unwrap_err().errors.len(), 1);
    }

    #[test]
    fn pointers_map_to_rule_fields() {
        assert_eq!(rule_field("/destination_port"), Some("port"));
        assert_eq!(rule_field("/source/cidr"), Some("source_cidr"));
        assert_eq!(rule_field("/destination/service"), Some("destination"));
        assert_eq!(rule_field("/disabled"), None);
    }

    fn stored(ids: &[u32]) -> Vec<(Rule, i64)> {
        ids.iter()
            .map(|id| {
                let r = serde_json::from_value(json!({"id": id, "action": "accept"})).unwrap();
                (r, i64::from(*id) + 100)
            })
            .collect()
    }

    #[test]
    fn a_move_form_makes_the_whole_order_with_versions() {
        let now = stored(&[10, 20, 30, 40]);
        let v = order_version(&now);
        let ids = |m: &Move| m.order.iter().map(|p| p.id).collect::<Vec<_>>();
        // Rule 40 to the top, then rule 10 to the bottom.
        let m = move_of(
            &form(&[("rule", "40"), ("to", "1"), ("order_version", &v)]),
            &now,
        )
        .unwrap();
        assert_eq!(ids(&m), vec![40, 10, 20, 30]);
        assert_eq!(m.order[0].version, Some(140));
        assert_eq!(
            move_title(&now, &m),
            "move rule 40 above rule 10 (position 4 → 1 of 4)"
        );
        let m = move_of(
            &form(&[("rule", "10"), ("to", "4"), ("order_version", &v)]),
            &now,
        )
        .unwrap();
        assert_eq!(ids(&m), vec![20, 30, 40, 10]);
        assert!(move_title(&now, &m).starts_with("move rule 10 below rule 40"));
        // Out of range, where it is already, an unknown rule: named.
        for (rule, to, ptr) in [
            ("10", "5", "/to"),
            ("10", "0", "/to"),
            ("20", "2", "/to"),
            ("7", "1", "/rule"),
        ] {
            let e = move_of(
                &form(&[("rule", rule), ("to", to), ("order_version", &v)]),
                &now,
            )
            .unwrap_err();
            assert_eq!(
                (e.status, e.errors[0].pointer.as_deref()),
                (422, Some(ptr)),
                "{rule} to {to}"
            );
        }
        // Any change to any rule makes the form stale.
        let mut changed = now.clone();
        changed[2].1 += 1;
        assert_ne!(order_version(&changed), v);
        let e = move_of(
            &form(&[("rule", "40"), ("to", "1"), ("order_version", &v)]),
            &changed,
        )
        .unwrap_err();
        assert_eq!(e.status, 412);
        assert_ne!(order_version(&stored(&[10, 20, 30])), v);
    }

    #[test]
    fn the_page_shown_is_the_one_asked_for_or_the_one_with_the_rule() {
        let all = stored(&(1..=250).collect::<Vec<_>>());
        let now: Vec<&Rule> = all.iter().map(|(r, _)| r).collect();
        assert_eq!(At::default().pager(&now).page, 1);
        let asked = At {
            page: Some(3),
            ..At::default()
        }
        .pager(&now);
        assert_eq!(
            (asked.page, asked.pages, asked.first, asked.total),
            (3, 3, 200, 250)
        );
        assert_eq!(
            At {
                page: Some(99),
                ..At::default()
            }
            .pager(&now)
            .page,
            3
        );
        assert_eq!(At::near(Some(101)).pager(&now).page, 2);
        assert_eq!(
            At {
                edit: Some(100),
                ..At::default()
            }
            .pager(&now)
            .page,
            1
        );
        // A rule past the last one (being added): the last page.
        assert_eq!(At::near(Some(900)).pager(&now).page, 3);
        assert_eq!(At::near(Some(5)).pager(&[]).page, 1);
        // Rules out of number order: found by number, wherever they are.
        let mut moved = now.clone();
        let last = moved.pop().unwrap();
        moved.insert(0, last);
        assert_eq!(At::near(Some(250)).pager(&moved).page, 1);
        assert_eq!(At::near(Some(100)).pager(&moved).page, 2);
    }

    #[test]
    fn the_filter_finds_rules_by_text_action_and_service() {
        let r: Rule = serde_json::from_value(json!({
            "id": 42, "description": "Payroll to DB", "action": "accept", "protocol": "tcp",
            "destination_port": 5432, "source": {"type": "network", "network": "payroll"},
            "destination": {"type": "service", "service": "db"}
        }))
        .unwrap();
        let f = |q: &str, action: &str, service: &str| RuleFilter {
            q: q.into(),
            action: action.into(),
            service: service.into(),
        };
        assert!(matches(&r, &f("", "", "")));
        assert!(matches(&r, &f("payroll", "", "")));
        assert!(matches(&r, &f("PAYROLL to", "", "")));
        assert!(matches(&r, &f("5432", "accept", "db")));
        assert!(matches(&r, &f("42", "", "")));
        assert!(!matches(&r, &f("", "drop", "")));
        assert!(!matches(&r, &f("", "", "web")));
        assert!(!matches(&r, &f("ssh", "", "")));
        assert_eq!(f("a b", "drop", "").query(), "&q=a%20b&action=drop");
    }

    #[test]
    fn a_preview_says_what_it_does_first_and_groups_identical_devices() {
        let dev = |kind: &str, name: &str, removed: &[&str], added: &[&str]| {
            crate::api::policy::DeviceChange {
                kind: kind.into(),
                device: name.into(),
                removed: removed.iter().map(|l| l.to_string()).collect(),
                added: added.iter().map(|l| l.to_string()).collect(),
            }
        };
        let fw = "set firewall ipv4 name VXG-t rule";
        let r_add = [
            format!("{fw} 130 action 'accept'"),
            format!("{fw} 130 protocol 'tcp'"),
            format!("{fw} 140 action 'drop'"),
        ];
        let r_add: Vec<&str> = r_add.iter().map(String::as_str).collect();
        let flows = ["table=11,priority=880,tcp,metadata=7,actions=drop"];
        let devices = vec![
            dev("router", "r1", &[], &r_add),
            dev("router", "r2", &[], &r_add),
            dev("router", "r3", &[], &r_add),
            dev("router", "r4", &[], &r_add),
            dev("hypervisor", "hv1", &[], &flows),
            dev("hypervisor", "hv2", &[], &flows),
        ];
        assert_eq!(
            summary(&devices),
            "Adds 2 firewall rules on 4 routers; adds 1 flow on 2 hypervisors."
        );
        let pv = preview_view(
            PolicyPreview {
                devices,
                warnings: vec![],
            },
            "t".into(),
            None,
        );
        assert_eq!(pv.devices.len(), 2, "{:?}", pv.devices);
        assert_eq!(pv.devices[0].device, "r1");
        assert_eq!(pv.devices[0].same_on, vec!["r2", "r3", "r4"]);
        assert_eq!(pv.devices[1].same_on, vec!["hv2"]);
        // A changed rule (the same number goes and comes) and another line.
        let changed = dev(
            "router",
            "r1",
            &[&format!("{fw} 120 action 'accept'")],
            &[
                &format!("{fw} 120 action 'drop'"),
                "set firewall group network-group G network '10.0.0.0/24'",
            ],
        );
        assert_eq!(
            summary(&[changed]),
            "Changes 1 firewall rule and changes 1 other configuration line on 1 router."
        );
        assert_eq!(summary(&[]), "No device configuration would change.");
    }
}
