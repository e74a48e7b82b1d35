//! The portal's WireGuard clients: `/t/{tenant}/clients` (the list and the
//! create form), `POST /t/{tenant}/clients`, and revoking one at
//! `/t/{tenant}/clients/{name}/delete` (confirm, then POST), and a new key
//! for a client whose configuration is not current
//! (`/t/{tenant}/clients/{name}/rekey`, issue 17, item 5).
//!
//! The portal never generates a key pair: a client is created with a public
//! key only, through the API's own `api::clients::create_with_key`
//! (`Store::change`). The hydrated page makes the pair in the browser and
//! posts the public key with `Accept: application/json`; it gets back
//! [`app::clients::ClientCreated`] (the config template) or the problem as
//! JSON. A plain form post (no JavaScript) gets the page back instead.

use super::data;
use super::document::html;
use super::extract::{
    next, problem_json, ClientMakers, TenantAdmin, TenantAdminForm, TenantAdminScriptForm,
    TenantReader,
};
use super::pages::{field_error, form_errors, taken_at, taken_too};
use super::respond::{encode, field, problem_page, props, see_other, version_of};
use super::session::WebSession;
use crate::api::clients::{config_states, create_with_key, current_template};
use crate::problem::Problem;
use crate::state::AppState;
use crate::tenancy::TenantScope;
use app::clients::{
    client_field, ClientCreated, ClientDelete, ClientEntry, ClientForm, ClientsPage,
};
use app::wg::ClientConfig;
use app::Page;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::model::ClientConfigState;
use vxguard_store::error::WriteError;
use vxguard_store::kind::{expiry, Kind};
use vxguard_store::objects::{self, Declared};
use vxguard_store::write::{Op, Outcome};

/// Everything of one kind in a tenant (the page shows up to this many).
const MAX: i64 = 500;

fn entry(
    c: Declared,
    alloc: &Allocation,
    slug: &str,
    state: Option<&(dyn Fn(&str) -> ClientConfigState + Sync)>,
    viewer: Option<uuid::Uuid>,
) -> ClientEntry {
    let mine = c.created_by.is_some() && c.created_by == viewer;
    let configuration = state.map(|f| {
        match f(c.spec["public_key"].as_str().unwrap_or_default()) {
            ClientConfigState::Current => "current",
            ClientConfigState::Previous => "previous",
            ClientConfigState::Stale => "stale",
        }
        .to_string()
    });
    ClientEntry {
        configuration,
        address: alloc
            .tenants
            .get(slug)
            .and_then(|t| t.clients.get(&c.name))
            .map(|a| a.to_string()),
        public_key: c.spec["public_key"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        networks: data::strings(&c.spec["allowed_networks"]),
        added: data::when(c.created_at),
        added_by: None,
        mine,
        expires: c.spec["expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| data::when(t.with_timezone(&chrono::Utc))),
        name: c.name,
    }
}

/// The hydrated page's answer to a client created or given a new key:
/// the client's row and its configuration's template
/// ([`app::clients::ClientCreated`]), never cached. Made just now, its
/// configuration names the router's newest key.
fn made(out: Outcome, config: Option<ClientConfig>, scope: &TenantScope) -> Response {
    let Some(obj) = out.object else {
        return problem_json(Problem::internal());
    };
    let current = |_: &str| ClientConfigState::Current;
    let created = ClientCreated {
        client: entry(
            obj,
            &out.allocation,
            &scope.tenant.slug,
            Some(&current),
            scope.who.owner,
        ),
        job: out.job,
        config,
    };
    let mut r = (StatusCode::CREATED, axum::Json(created)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Who added each of the tenant's clients, by name: the newest
/// `client.create` entry of the audit log for each (one query; a client
/// made again after a revocation is its latest maker's).
async fn makers(
    st: &AppState,
    tenant: uuid::Uuid,
    slug: &str,
) -> Result<HashMap<String, String>, Problem> {
    let f = vxguard_store::audit::Filter {
        tenant: Some(tenant),
        action: Some("client.create".into()),
        ..Default::default()
    };
    let prefix = format!("tenants/{slug}/clients/");
    let mut by = HashMap::new();
    for e in vxguard_store::audit::list(st.store.pool(), &f, MAX * 4).await? {
        if let Some(name) = e.object.strip_prefix(&prefix) {
            by.entry(name.to_string()).or_insert(e.actor);
        }
    }
    Ok(by)
}

async fn page_data(
    st: &AppState,
    scope: &TenantScope,
    form: ClientForm,
    notice: Option<String>,
    created: Option<&str>,
) -> Result<ClientsPage, Problem> {
    let id = scope.id();
    let slug = scope.tenant.slug.clone();
    let name = vxguard_store::tenants::name(st.store.pool(), id)
        .await?
        .ok_or_else(Problem::not_found)?;
    let alloc = data::allocation(st).await?;
    let states = config_states(st, scope).await?;
    let state = states
        .as_ref()
        .map(|f| f as &(dyn Fn(&str) -> ClientConfigState + Sync));
    let mut makers = makers(st, id, &slug).await?;
    let clients = objects::list(&st.db, Kind::Client, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|c| {
            let by = makers.remove(&c.name);
            ClientEntry {
                added_by: by,
                ..entry(c, &alloc, &slug, state, scope.who.owner)
            }
        })
        .collect();
    let networks = objects::list(&st.db, Kind::Network, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|n| n.name)
        .collect();
    let can_write = scope.who.can_write_tenant();
    let can_add = scope.require_client_write(st).await.is_ok();
    // The file of a client just created without JavaScript (gone if it was
    // revoked since): it needs no secret, the user holds the private key.
    let created = match created {
        Some(c) if can_add => current_template(st, scope, c).await.ok().flatten(),
        _ => None,
    };
    Ok(ClientsPage {
        slug,
        name,
        can_write,
        can_add,
        clients,
        networks,
        form,
        notice,
        created,
    })
}

async fn render(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    form: ClientForm,
    notice: Option<String>,
    created: Option<&str>,
    status: StatusCode,
) -> Response {
    match page_data(st, scope, form, notice, created).await {
        Ok(p) => html(status, &props(Some(s), Page::Clients(Box::new(p)))),
        Err(p) => problem_page(Some(s), &p),
    }
}

/// `GET /t/{tenant}/clients`: everyone in the tenant reads; tenant admins
/// also get the create form and revoke links, and so do its members when
/// the tenant allows it (`members_add_clients`; revoke and re-key for the
/// clients they added).
pub async fn page(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    TenantReader {
        session: s, scope, ..
    }: TenantReader,
) -> Response {
    let notice = q.get("job").and_then(|j| {
        let (n, what) = [
            ("created", "created"),
            ("deleted", "revoked"),
            ("rekeyed", "given a new key"),
        ]
        .into_iter()
        .find_map(|(k, w)| q.get(k).map(|n| (n, w)))?;
        Some(format!("Client {n} {what}; job #{j} compiles the change."))
    });
    // A client just created or given a new key without JavaScript: its
    // new configuration.
    let created = q
        .get("created")
        .or_else(|| q.get("rekeyed"))
        .map(String::as_str);
    render(
        &st,
        &s,
        &scope,
        ClientForm::default(),
        notice,
        created,
        StatusCode::OK,
    )
    .await
}

/// What the client form asks for when left empty (the key only without
/// JavaScript: with it, the browser makes the pair and sends its public key).
const NO_NAME: &str =
    "Enter a name for the device: lowercase letters, digits and dashes, e.g. alice-laptop.";
const NO_KEY: &str =
    "required: paste the public key of your key pair (making one in the browser needs JavaScript)";

/// A WireGuard public key's shape (the compiler's check says why not).
fn looks_like_key(k: &str) -> bool {
    k.len() == 44
        && k.ends_with('=')
        && k[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// `POST /t/{tenant}/clients`: name, public key and networks (`network`,
/// repeated). Refuses a missing public key: the portal never makes a key
/// pair on the server.
pub async fn create(
    State(st): State<AppState>,
    TenantAdminScriptForm {
        session: s,
        scope,
        form: f,
        json,
        ..
    }: TenantAdminScriptForm<next::Clients, ClientMakers>,
) -> Response {
    let name = field(&f, "name").trim().to_string();
    let public_key = field(&f, "public_key").trim().to_string();
    let expires_at = field(&f, "expires_at").trim().to_string();
    let networks: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "network")
        .map(|(_, v)| v.clone())
        .collect();
    // The name and the key, both checked: the API reads the name first and
    // stops there, so a bad name would hide a missing or bad key.
    let mut bad = Vec::new();
    if name.is_empty() {
        bad.push(field_error("/name", NO_NAME));
    } else if let Err(e) = vxguard_compiler::ids::Name::new(&name) {
        bad.push(field_error("/name", e));
    }
    if public_key.is_empty() {
        bad.push(field_error("/public_key", NO_KEY));
    } else if !bad.is_empty() && !looks_like_key(&public_key) {
        bad.push(field_error(
            "/public_key",
            "not a WireGuard public key (44 characters of base64 encoding 32 bytes)",
        ));
    }
    // The expiry too, said with the others (the store checks it again).
    if !bad.is_empty() && !expires_at.is_empty() {
        if let Err(WriteError::Field { detail, .. }) = expiry(&expires_at, chrono::Utc::now()) {
            bad.push(field_error("/expires_at", detail));
        }
    }
    let expires = (!expires_at.is_empty()).then_some(expires_at.as_str());
    let taken = format!("A device named {name} already exists: choose another name.");
    let out = if bad.is_empty() {
        create_with_key(&st, &scope, &name, &public_key, &networks, expires, None)
            .await
            .map_err(|p| taken_at(p, "/name", &taken))
    } else {
        let well_formed = !bad.iter().any(|e| e.pointer.as_deref() == Some("/name"));
        Err(taken_too(
            &st,
            Problem::invalid("the client is not valid", bad),
            Kind::Client,
            scope.id(),
            well_formed.then_some(name.as_str()),
            "/name",
            &taken,
        )
        .await)
    };
    match out {
        Ok((out, config)) if json => made(out, config, &scope),
        Ok((out, _)) => see_other(&format!(
            "/t/{}/clients?created={}&job={}",
            scope.tenant.slug,
            encode(&name),
            out.job
        )),
        Err(p) if json => problem_json(p),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let form = ClientForm {
                name,
                public_key,
                networks,
                expires_at,
                errors: form_errors(&p, client_field),
            };
            render(&st, &s, &scope, form, None, None, status).await
        }
    }
}

/// `POST /t/{tenant}/clients/{name}/rekey`: a new public key for a client
/// whose configuration names a key its router is rotating out or no longer
/// holds (issue 17, item 5). The hydrated list makes the pair in the
/// browser and posts the public half asking for JSON
/// ([`app::clients::ClientCreated`], the new configuration's template);
/// without JavaScript the user pastes their own, and the page shows the
/// file with a place for the private key. The client keeps its name,
/// address and networks; its new configuration names the router's newest
/// key and port.
pub async fn rekey(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdminScriptForm {
        session: s,
        scope,
        form: f,
        json,
        ..
    }: TenantAdminScriptForm<next::Clients, ClientMakers>,
) -> Response {
    let public_key = field(&f, "public_key").trim().to_string();
    let out = async {
        if public_key.is_empty() {
            return Err(Problem::invalid(
                "the client was not given a new key",
                vec![field_error("/public_key", NO_KEY)],
            ));
        }
        let c = objects::get(&st.db, Kind::Client, Some(scope.id()), &name)
            .await?
            .ok_or_else(Problem::not_found)?;
        let mut spec = c.spec.clone();
        spec["public_key"] = serde_json::Value::String(public_key.clone());
        let out = st
            .store
            .change(
                &scope.who,
                Kind::Client,
                Some(&scope.tenant),
                Some(&name),
                Op::Replace(spec),
                Some(c.version),
            )
            .await?;
        let config = current_template(&st, &scope, &name).await?;
        Ok::<_, Problem>((out, config))
    }
    .await;
    match out {
        Ok((out, config)) if json => made(out, config, &scope),
        Ok((out, _)) => see_other(&format!(
            "/t/{}/clients?rekeyed={}&job={}",
            scope.tenant.slug,
            encode(&name),
            out.job
        )),
        Err(p) if json => problem_json(p),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let e = form_errors(&p, client_field);
            let reasons: Vec<&str> = e
                .fields
                .iter()
                .map(|(_, m)| m.as_str())
                .chain(e.form.iter().map(String::as_str))
                .collect();
            let notice = Some(format!(
                "Client {name} was not given a new key: {}",
                reasons.join("; ")
            ));
            render(&st, &s, &scope, ClientForm::default(), notice, None, status).await
        }
    }
}

async fn delete_page(
    st: &AppState,
    s: &WebSession,
    scope: &TenantScope,
    name: &str,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let found = async {
        let c = objects::get(&st.db, Kind::Client, Some(scope.id()), name)
            .await?
            .ok_or_else(Problem::not_found)?;
        let alloc = data::allocation(st).await?;
        let client = entry(c.clone(), &alloc, &scope.tenant.slug, None, scope.who.owner);
        // A member revokes only what they added (the store refuses the
        // rest): they are not asked about another's.
        if !scope.who.can_write_tenant() && !client.mine {
            return Err(Problem::forbidden(
                "this client was added by someone else: members revoke only the clients they added",
            ));
        }
        Ok::<_, Problem>((c.version, client))
    }
    .await;
    match found {
        Ok((version, client)) => {
            let d = ClientDelete {
                slug: scope.tenant.slug.clone(),
                can_write: scope.who.can_write_tenant(),
                client,
                version,
                errors,
            };
            html(status, &props(Some(s), Page::ClientDelete(Box::new(d))))
        }
        Err(p) => problem_page(Some(s), &p),
    }
}

/// `GET /t/{tenant}/clients/{name}/delete`: asks before revoking.
pub async fn delete_form(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdmin {
        session: s, scope, ..
    }: TenantAdmin<next::Clients, ClientMakers>,
) -> Response {
    delete_page(&st, &s, &scope, &name, vec![], StatusCode::OK).await
}

/// `POST /t/{tenant}/clients/{name}/delete`: revokes the client (at the
/// version the confirmation showed) through `Store::change`.
pub async fn delete(
    State(st): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    TenantAdminForm {
        session: s,
        scope,
        form: f,
        ..
    }: TenantAdminForm<next::Clients, ClientMakers>,
) -> Result<Response, Response> {
    let version = version_of(&f, &s)?;
    Ok(
        match st
            .store
            .change(
                &scope.who,
                Kind::Client,
                Some(&scope.tenant),
                Some(&name),
                Op::Delete,
                Some(version),
            )
            .await
            .map_err(Problem::from)
        {
            Ok(out) => see_other(&format!(
                "/t/{}/clients?deleted={}&job={}",
                scope.tenant.slug,
                encode(&name),
                out.job
            )),
            Err(p) if p.status == 404 => problem_page(Some(&s), &p),
            Err(p) => {
                let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
                let msgs = if p.status == 412 {
                    vec!["Someone changed this client after you opened this page: check it and decide again.".into()]
                } else {
                    form_errors(&p, |_| None).form
                };
                delete_page(&st, &s, &scope, &name, msgs, status).await
            }
        },
    )
}
