//! A tenant's people and automation: its members (users with a role), its
//! API tokens (the secret shown once, on the page that created it) and its
//! audit history; and the navigation between a tenant's pages.

use crate::model::FieldErrors;
use crate::pages::{busy_submit, Field, SubmitButton};
use crate::table::{Cell, Row, Table};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Which of a tenant's pages is shown (for the navigation's current link).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TenantTab {
    Dashboard,
    Policy,
    Clients,
    Members,
    Tokens,
    Audit,
}

/// The links between a tenant's pages. `can_write`: tenant admins also
/// see API tokens (members may not list them).
#[component]
pub fn TenantNav(slug: String, current: TenantTab, can_write: bool) -> impl IntoView {
    let mut links = vec![
        (TenantTab::Dashboard, format!("/t/{slug}"), "Dashboard"),
        (TenantTab::Policy, format!("/t/{slug}/policy"), "Policy"),
        (
            TenantTab::Clients,
            format!("/t/{slug}/clients"),
            "WireGuard clients",
        ),
        (TenantTab::Members, format!("/t/{slug}/members"), "Members"),
    ];
    if can_write {
        links.push((TenantTab::Tokens, format!("/t/{slug}/tokens"), "API tokens"));
    }
    links.push((TenantTab::Audit, format!("/t/{slug}/audit"), "Audit log"));
    view! {
        <nav class="subnav" aria-label="Tenant">
            <ul>
                {links
                    .into_iter()
                    .map(|(tab, href, label)| {
                        let here = (tab == current).then_some("page");
                        view! { <li><a href=href aria-current=here>{label}</a></li> }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    pub id: String,
    pub email: String,
    /// `tenant admin` or `tenant member`.
    pub role: String,
    pub created_at: String,
}

/// The "add a member" form: what was typed (never the password) and the
/// server's errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberForm {
    pub email: String,
    /// `tenant_member` or `tenant_admin`.
    pub role: String,
    pub errors: FieldErrors,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembersPage {
    pub slug: String,
    pub name: String,
    /// Tenant admins (and platform admins) add and remove members.
    pub can_write: bool,
    /// The viewer's email (nobody removes themselves).
    pub me: String,
    pub members: Vec<MemberRow>,
    pub form: MemberForm,
    pub notice: Option<String>,
    /// Set on the page that asks whether to remove this member.
    pub confirm_remove: Option<MemberRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenForm {
    pub name: String,
    /// `tenant_member` or `tenant_admin`.
    pub role: String,
    pub errors: FieldErrors,
}

/// A token just created: its secret, on this one page only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub name: String,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokensPage {
    pub slug: String,
    pub name: String,
    pub tokens: Vec<TokenRow>,
    pub form: TokenForm,
    pub created: Option<CreatedToken>,
    pub notice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub source: String,
}

/// One page of an audit log, newest first. `slug` is the tenant's, `None`
/// for the platform's whole log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub slug: Option<String>,
    pub name: String,
    pub can_write: bool,
    pub entries: Vec<AuditRow>,
    /// The link to the next (older) page, if there is one.
    pub older: Option<String>,
    /// Whether this is the newest page (else a link back to it is shown).
    pub newest: bool,
}

fn role_label(role: &str) -> &'static str {
    match role {
        "tenant_admin" => "Tenant admin",
        _ => "Tenant member",
    }
}

/// The role choice of the member and token forms.
#[component]
fn RoleSelect(id: &'static str, value: String, error: Option<String>) -> impl IntoView {
    let err_id = format!("{id}-error");
    let has_error = error.is_some();
    view! {
        <div class="field" class:has-error=has_error>
            <label for=id>"Role"</label>
            <select id=id name="role" aria-invalid=has_error.then_some("true")
                aria-describedby=has_error.then_some(err_id.clone())>
                {["tenant_member", "tenant_admin"]
                    .into_iter()
                    .map(|r| view! { <option value=r selected={value == r}>{role_label(r)}</option> })
                    .collect_view()}
            </select>
            {error.map(|e| view! { <p class="field-error" id=err_id>{e}</p> })}
        </div>
    }
}

/// Errors that name no field, above a form.
#[component]
pub fn FormErrors(failed: &'static str, errors: Vec<String>) -> impl IntoView {
    (!errors.is_empty()).then(|| {
        view! {
            <div class="alert" role="alert" id="form-errors">
                <p>{failed}</p>
                <ul>{errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            </div>
        }
    })
}

#[component]
fn TenantHead(
    slug: String,
    name: String,
    title: &'static str,
    current: TenantTab,
    can_write: bool,
) -> impl IntoView {
    view! {
        <div class="page-head">
            <p class="muted"><a href=format!("/t/{slug}")>"← " {name}</a></p>
            <h1>{title}</h1>
            <TenantNav slug=slug current=current can_write=can_write/>
        </div>
    }
}

#[component]
pub fn MembersView(p: MembersPage, csrf: String) -> impl IntoView {
    let MembersPage {
        slug,
        name,
        can_write,
        me,
        members,
        form,
        notice,
        confirm_remove,
    } = p;
    let head = view! {
        <TenantHead slug=slug.clone() name=name title="Members" current=TenantTab::Members
            can_write=can_write/>
    };
    if let Some(m) = confirm_remove {
        let action = format!("/t/{slug}/members/{}/remove", m.id);
        let back = format!("/t/{slug}/members");
        let busy = RwSignal::new(false);
        return view! {
            {head}
            <section class="card narrow" aria-labelledby="remove-h">
                <h2 id="remove-h">{format!("Remove {}?", m.email)}</h2>
                <FormErrors failed="The member was not removed:" errors=form.errors.form/>
                <p>"They can no longer log in; their sessions end. This cannot be undone."</p>
                <form method="post" action=action class="stack" id="remove-form" on:submit=busy_submit(busy)>
                    <input type="hidden" name="csrf" value=csrf/>
                    <button type="submit" class="danger" id="confirm-remove"
                        aria-disabled=move || busy.get().then_some("true")>
                        {move || if busy.get() { "Removing…" } else { "Remove the member" }}
                    </button>
                    <a href=back>"Keep them"</a>
                </form>
            </section>
        }
        .into_any();
    }
    let table = if members.is_empty() {
        view! { <p class="empty">"No members yet: add the first one below."</p> }.into_any()
    } else {
        let mut cols = vec!["Email", "Role", "Since"];
        if can_write {
            cols.push("");
        }
        let rows = members
            .into_iter()
            .map(|m| {
                let mut cells = vec![
                    Cell::Text(m.email.clone()),
                    Cell::Text(m.role),
                    Cell::Text(m.created_at),
                ];
                if can_write && m.email != me {
                    cells.push(Cell::Link {
                        href: format!("/t/{slug}/members/{}/remove", m.id),
                        text: "Remove…".into(),
                        label: Some(format!("Remove {}", m.email)),
                        danger: true,
                    });
                }
                Row {
                    key: m.email,
                    cells,
                }
            })
            .collect();
        view! { <Table id="members" cols=cols rows=rows/> }.into_any()
    };
    let add = can_write.then(|| {
        let MemberForm {
            email,
            role,
            errors,
        } = form;
        let busy = RwSignal::new(false);
        let action = format!("/t/{slug}/members");
        view! {
            <section class="card" aria-labelledby="add-member-h">
                <h2 id="add-member-h">"Add a member"</h2>
                <FormErrors failed="The member was not added:" errors=errors.form.clone()/>
                <form method="post" action=action class="stack" id="member-form" on:submit=busy_submit(busy)>
                    <input type="hidden" name="csrf" value=csrf/>
                    <Field id="email" label="Email" value=email error=errors.get("email")
                        hint="They log in with it." kind="email"/>
                    <RoleSelect id="role" value=role error=errors.get("role")/>
                    <Field id="password" label="Initial password" value=String::new()
                        error=errors.get("password") hint="At least 12 characters; tell them to change it."
                        kind="password" autocomplete="new-password"/>
                    <SubmitButton label="Add member" busy_label="Adding…" busy=busy/>
                </form>
            </section>
        }
    });
    view! {
        {head}
        {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <div class="grid">
            <section class="card wide" aria-labelledby="members-h">
                <h2 id="members-h">"People in this tenant"</h2>
                {table}
                {(!can_write).then(|| view! {
                    <p class="muted">"Only tenant admins add or remove members."</p>
                })}
            </section>
            {add}
        </div>
    }
    .into_any()
}

#[component]
pub fn TokensView(p: TokensPage, csrf: String) -> impl IntoView {
    let TokensPage {
        slug,
        name,
        tokens,
        form,
        created,
        notice,
    } = p;
    let created = created.map(|c| {
        view! {
            <section class="card wide secret" aria-labelledby="secret-h" id="new-token">
                <h2 id="secret-h">"Token " {c.name} " created"</h2>
                <p><strong>"Copy it now: it is shown only this once."</strong>
                    " Send it as " <code>"Authorization: Bearer <token>"</code> "."</p>
                <label for="token-secret">"Secret"</label>
                <input id="token-secret" type="text" readonly value=c.secret spellcheck="false"
                    autocomplete="off"/>
            </section>
        }
    });
    let list = if tokens.is_empty() {
        view! { <p class="empty">"No API tokens yet: create one for a script or CI job."</p> }
            .into_any()
    } else {
        let rows = tokens
            .into_iter()
            .map(|t| {
                let state = match t.revoked_at {
                    Some(at) => vec![
                        Cell::Badge {
                            class: "failed".into(),
                            text: "revoked".into(),
                        },
                        Cell::Note(at),
                    ],
                    None => vec![
                        Cell::Badge {
                            class: "done".into(),
                            text: "active".into(),
                        },
                        Cell::Post {
                            action: format!("/t/{slug}/tokens/{}/revoke", t.id),
                            csrf: csrf.clone(),
                            text: "Revoke",
                            label: format!("Revoke token {}", t.name),
                        },
                    ],
                };
                Row {
                    key: t.name.clone(),
                    cells: vec![
                        Cell::Text(t.name),
                        Cell::Text(role_label(&t.role).into()),
                        Cell::Text(t.created_at),
                        match t.last_used_at {
                            Some(at) => Cell::Text(at),
                            None => Cell::Muted("never".into()),
                        },
                        Cell::Many(state),
                    ],
                }
            })
            .collect();
        view! {
            <Table id="tokens" cols=vec!["Name", "Role", "Created", "Last used", "State"] rows=rows/>
        }
        .into_any()
    };
    let TokenForm {
        name: tname,
        role,
        errors,
    } = form;
    let busy = RwSignal::new(false);
    let action = format!("/t/{slug}/tokens");
    view! {
        <TenantHead slug=slug.clone() name=name title="API tokens" current=TenantTab::Tokens
            can_write=true/>
        {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <div class="grid">
            {created}
            <section class="card wide" aria-labelledby="tokens-h">
                <h2 id="tokens-h">"Tokens"</h2>
                {list}
            </section>
            <section class="card" aria-labelledby="new-token-h">
                <h2 id="new-token-h">"Create a token"</h2>
                <FormErrors failed="The token was not created:" errors=errors.form.clone()/>
                <form method="post" action=action class="stack" id="token-form" on:submit=busy_submit(busy)>
                    <input type="hidden" name="csrf" value=csrf/>
                    <Field id="name" label="Name" value=tname error=errors.get("name")
                        hint="What uses it, e.g. ci-deploy."/>
                    <RoleSelect id="role" value=role error=errors.get("role")/>
                    <SubmitButton label="Create token" busy_label="Creating…" busy=busy/>
                </form>
            </section>
        </div>
    }
}

/// An audit log page's entries and its older/newer links (`base`: the
/// page's path without a cursor).
#[component]
pub fn AuditList(
    entries: Vec<AuditRow>,
    older: Option<String>,
    newest: bool,
    base: String,
) -> impl IntoView {
    let list = if entries.is_empty() {
        view! { <p class="empty">"Nothing recorded yet."</p> }.into_any()
    } else {
        let rows = entries
            .into_iter()
            .map(|e| Row {
                key: e.id.to_string(),
                cells: vec![
                    Cell::Code(e.action),
                    Cell::Code(e.object),
                    Cell::Text(e.at),
                    Cell::Text(e.actor),
                    Cell::Text(e.source),
                ],
            })
            .collect();
        view! { <Table id="audit" cols=vec!["Action", "Object", "When", "Who", "From"] rows=rows/> }
            .into_any()
    };
    let newer = (!newest).then(|| view! { <a href=base.clone()>"← Newest"</a> });
    let older = older.map(|h| view! { <a href=h rel="next" id="older">"Older entries →"</a> });
    view! {
        {list}
        <p class="pager">{newer} " " {older}</p>
    }
}

#[component]
pub fn AuditView(p: AuditPage) -> impl IntoView {
    let AuditPage {
        slug,
        name,
        can_write,
        entries,
        older,
        newest,
    } = p;
    let slug = slug.unwrap_or_default();
    let base = format!("/t/{slug}/audit");
    view! {
        <TenantHead slug=slug name=name title="Audit log" current=TenantTab::Audit
            can_write=can_write/>
        <section class="card wide" aria-labelledby="audit-h">
            <h2 id="audit-h">"Who changed what, newest first"</h2>
            <AuditList entries=entries older=older newest=newest base=base/>
        </section>
    }
}
