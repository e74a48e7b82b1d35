//! A tenant's people and automation: its members (users with a role), its
//! API tokens (the secret shown once, on the page that created it) and its
//! audit history.

use leptos::prelude::*;

use crate::data::members::{AuditPage, MemberForm, MembersPage, TokenForm, TokensPage};
use crate::widgets::audit::AuditList;
use crate::widgets::form::{busy_submit, Field, FormErrors, SubmitButton};
use crate::widgets::nav::{back_link, TenantNav, TenantTab};
use crate::widgets::reset::reset_view;
use crate::widgets::table::{Cell, Row, Table};

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

/// The page head; `below`: a page below the tab (a member's reset or
/// removal), which starts with the way back to the tab's list.
#[component]
fn TenantHead(
    slug: String,
    name: String,
    title: &'static str,
    current: TenantTab,
    can_write: bool,
    below: Option<(String, String)>,
) -> impl IntoView {
    view! {
        <div class="page-head">
            {below.map(|(href, label)| back_link(href, label))}
            <h1>{title}</h1>
            <p class="muted">"Tenant " {name}</p>
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
        members_add_clients,
        me,
        members,
        form,
        notice,
        confirm_remove,
        resetting,
        reset,
    } = p;
    let below = (resetting || confirm_remove.is_some())
        .then(|| (format!("/t/{slug}/members"), "Members".to_string()));
    let head = view! {
        <TenantHead slug=slug.clone() name=name title="Members" current=TenantTab::Members
            can_write=can_write below=below/>
    };
    if resetting {
        let r = crate::data::health::ServerOnly(reset.0.unwrap_or_default());
        return view! { {head} {reset_view(r, csrf)} }.into_any();
    }
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
                        data-busy="Removing…" aria-disabled=move || busy.get().then_some("true")>
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
                    cells.push(Cell::Many(vec![
                        Cell::Link {
                            href: format!("/t/{slug}/members/{}/reset", m.id),
                            text: "Reset password…".into(),
                            label: Some(format!("Reset the password of {}", m.email)),
                            danger: false,
                        },
                        Cell::Text(" · ".into()),
                        Cell::Link {
                            href: format!("/t/{slug}/members/{}/remove", m.id),
                            text: "Remove…".into(),
                            label: Some(format!("Remove {}", m.email)),
                            danger: true,
                        },
                    ]));
                }
                Row {
                    key: m.email,
                    cells,
                }
            })
            .collect();
        view! { <Table id="members" cols=cols rows=rows/> }.into_any()
    };
    let devices = can_write.then(|| {
        let action = format!("/t/{slug}/members/clients");
        view! {
            <section class="card" aria-labelledby="member-clients-h">
                <h2 id="member-clients-h">"Members' devices"</h2>
                <form method="post" action=action class="stack" id="members-clients-form">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <label>
                        <input type="checkbox" name="members_add_clients" id="members-add-clients"
                            checked=members_add_clients/>
                        " Members may add their own WireGuard clients"
                    </label>
                    <p class="muted">"They revoke and re-key only the clients they added."</p>
                    <button type="submit" class="secondary" id="members-clients-save">"Save"</button>
                </form>
            </section>
        }
    });
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
                <form method="post" action=action class="stack" id="member-form" novalidate on:submit=busy_submit(busy)>
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
            {devices}
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
            can_write=true below=None/>
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
                <form method="post" action=action class="stack" id="token-form" novalidate on:submit=busy_submit(busy)>
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

#[component]
pub fn AuditView(p: AuditPage) -> impl IntoView {
    let AuditPage {
        slug,
        name,
        can_write,
        entries,
        filters,
        pager,
    } = p;
    let slug = slug.unwrap_or_default();
    let jobs = format!("/t/{slug}/jobs");
    view! {
        <TenantHead slug=slug name=name title="Audit log" current=TenantTab::Audit
            can_write=can_write below=None/>
        <section class="card wide" aria-labelledby="audit-h">
            <h2 id="audit-h">"Who changed what, newest first"</h2>
            <AuditList entries=entries filters=filters pager=pager jobs=jobs tenants=false/>
        </section>
    }
}
