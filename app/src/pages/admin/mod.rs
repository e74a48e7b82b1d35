//! The platform admins' console: tenants (and creating one with its first
//! admin), the platform's sites, routers and hypervisors, every user, the
//! jobs of all tenants, each device's revisions with their diff, and the
//! whole audit log.

// The spec editor is one of the console's sections (`Section::Spec`), so a
// part of this page rather than a page of its own.
mod health;
mod spec;

use leptos::prelude::*;

use crate::data::admin::{
    AdminJobRow, Console, DeviceListRow, DevicePage, DeviceStateRow, HypervisorRow, MeshKeyRow,
    RevisionPage, RouterRow, Section, SiteRow, TenantForm, TenantRow, UserRow,
};
use crate::data::lists::{FilterBar, Pager};
use crate::widgets::audit::AuditList;
use crate::widgets::form::{busy_submit, Field, FormErrors, SubmitButton};
use crate::widgets::job::{JobView, JobsList};
use crate::widgets::lists::{FilterBarView, Notice, PagerView};
use crate::widgets::nav::back_link;
use crate::widgets::reset::reset_view;
use crate::widgets::table::{Cell, Row, Table};
use health::health_view;
use spec::spec_view;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Tenants,
    Platform,
    Health,
    Devices,
    Users,
    Jobs,
    Audit,
}

#[component]
fn AdminNav(current: Tab) -> impl IntoView {
    let links = [
        (Tab::Tenants, "/admin", "Tenants"),
        (
            Tab::Platform,
            "/admin/platform",
            "Sites, routers, hypervisors",
        ),
        (Tab::Health, "/admin/health", "Health"),
        (Tab::Devices, "/admin/devices", "Devices"),
        (Tab::Users, "/admin/users", "Users"),
        (Tab::Jobs, "/admin/jobs", "Jobs"),
        (Tab::Audit, "/admin/audit", "Audit log"),
    ];
    view! {
        <nav class="subnav" aria-label="Admin console">
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

/// Where a page below a tab leads back to (`widgets::nav`'s rule).
fn back_of(s: &Section) -> Option<(String, String)> {
    let (href, label) = match s {
        Section::Job(_) => ("/admin/jobs".into(), "Jobs".into()),
        Section::Device(_) => ("/admin/devices".into(), "Devices".into()),
        Section::Revision(r) => (
            format!("/admin/devices/{}/{}", r.kind, r.name),
            format!("All revisions of {}", r.name),
        ),
        Section::Spec { .. } => (
            "/admin/platform".into(),
            "Sites, routers, hypervisors".into(),
        ),
        Section::ResetPassword { .. } => ("/admin/users".into(), "Users".into()),
        _ => return None,
    };
    Some((href, label))
}

#[component]
pub fn ConsoleView(c: Console, csrf: String) -> impl IntoView {
    let title = c.title();
    let back = back_of(&c.section).map(|(href, label)| back_link(href, label));
    let (tab, body) = match c.section {
        Section::Tenants {
            tenants,
            form,
            notice,
            filters,
            pager,
        } => (
            Tab::Tenants,
            view! { <TenantsSection tenants=tenants form=form notice=notice csrf=csrf filters=filters pager=pager/> }
                .into_any(),
        ),
        Section::Platform {
            sites,
            routers,
            hypervisors,
            notice,
        } => (
            Tab::Platform,
            view! { <PlatformSection sites=sites routers=routers hypervisors=hypervisors notice=notice csrf=csrf/> }
                .into_any(),
        ),
        Section::Health(h) => (Tab::Health, health_view(h)),
        Section::Users {
            users,
            filters,
            pager,
        } => (
            Tab::Users,
            view! { <UsersSection users=users filters=filters pager=pager/> }.into_any(),
        ),
        Section::ResetPassword { reset, .. } => (Tab::Users, reset_view(reset, csrf)),
        Section::Devices {
            devices,
            filters,
            pager,
        } => (
            Tab::Devices,
            view! { <DevicesSection devices=devices filters=filters pager=pager/> }.into_any(),
        ),
        Section::Jobs {
            jobs,
            filters,
            pager,
        } => (
            Tab::Jobs,
            view! { <JobsSection jobs=jobs filters=filters pager=pager/> }.into_any(),
        ),
        Section::Job(j) => (Tab::Jobs, view! { <JobView p=*j csrf=csrf/> }.into_any()),
        Section::Device(d) => (Tab::Devices, view! { <DeviceSection d=d/> }.into_any()),
        Section::Revision(r) => (Tab::Devices, view! { <RevisionSection r=*r/> }.into_any()),
        Section::Spec { edit, .. } => (Tab::Platform, spec_view(edit, csrf)),
        Section::Audit {
            entries,
            filters,
            pager,
        } => (
            Tab::Audit,
            view! {
                <section class="card wide" aria-labelledby="audit-h">
                    <h2 id="audit-h">"Everything recorded, newest first"</h2>
                    <AuditList entries=entries filters=filters pager=pager jobs="/admin/jobs".to_string() tenants=true/>
                </section>
            }
            .into_any(),
        ),
    };
    view! {
        <div class="page-head">
            {back}
            <h1>{title}</h1>
            <AdminNav current=tab/>
        </div>
        {body}
    }
}

#[component]
fn TenantsSection(
    tenants: Vec<TenantRow>,
    form: TenantForm,
    notice: Option<String>,
    csrf: String,
    filters: FilterBar,
    pager: Pager,
) -> impl IntoView {
    let filtered = filters.active;
    let table = if tenants.is_empty() && filtered {
        view! { <p class="empty">"No tenant matches this search."</p> }.into_any()
    } else if tenants.is_empty() {
        view! { <p class="empty">"No tenants yet: create the first one."</p> }.into_any()
    } else {
        let rows = tenants
            .into_iter()
            .map(|t| Row {
                key: t.slug.clone(),
                cells: vec![
                    Cell::Link {
                        href: format!("/t/{}", t.slug),
                        text: t.name,
                        label: None,
                        danger: false,
                    },
                    Cell::Code(t.slug.clone()),
                    Cell::Text(t.networks.to_string()),
                    Cell::Link {
                        href: format!("/admin/users?tenant={}", t.slug),
                        text: t.users.to_string(),
                        label: Some(format!("Users of {}", t.slug)),
                        danger: false,
                    },
                    Cell::Text(t.default_action),
                    Cell::Links(vec![
                        (format!("/admin/jobs?tenant={}", t.slug), "job list".into()),
                        (
                            format!("/admin/audit?tenant={}", t.slug),
                            "audit entries".into(),
                        ),
                    ]),
                ],
            })
            .collect();
        let cols = vec![
            "Tenant",
            "Slug",
            "Networks",
            "Users",
            "Default action",
            "See",
        ];
        view! { <Table id="tenants" cols=cols rows=rows/> }.into_any()
    };
    let TenantForm {
        slug,
        name,
        default_action,
        admin_email,
        errors,
    } = form;
    let action_error = errors.get("default_action");
    let action_invalid = action_error.is_some();
    let busy = RwSignal::new(false);
    view! {
        {notice.map(|n| view! { <Notice text=n jobs="/admin/jobs".to_string()/> })}
        <div class="grid">
            <section class="card wide" aria-labelledby="tenants-h">
                <h2 id="tenants-h">"Tenants"</h2>
                <FilterBarView bar=filters id="tenant-filters"/>
                {table}
                <PagerView pager=pager/>
            </section>
            <section class="card" aria-labelledby="new-tenant-h">
                <h2 id="new-tenant-h">"Create a tenant"</h2>
                <FormErrors failed="Nothing was created:" errors=errors.form.clone()/>
                <form method="post" action="/admin/tenants" class="stack" id="tenant-form" novalidate
                    on:submit=busy_submit(busy)>
                    <input type="hidden" name="csrf" value=csrf/>
                    <Field id="slug" label="Slug" value=slug error=errors.get("slug")
                        hint="Lowercase letters, digits and dashes; never changes."/>
                    <Field id="name" label="Name" value=name error=errors.get("name")
                        hint="Shown to its users, e.g. Research Lab."/>
                    <div class="field" class:has-error=action_invalid>
                        <label for="default_action">"Traffic no rule matches"</label>
                        <select id="default_action" name="default_action">
                            {[("drop", "Drop (silently)"), ("reject", "Reject"), ("accept", "Accept")]
                                .into_iter()
                                .map(|(v, l)| view! { <option value=v selected={default_action == v}>{l}</option> })
                                .collect_view()}
                        </select>
                        {action_error.map(|e| view! { <p class="field-error">{e}</p> })}
                    </div>
                    <fieldset class="field">
                        <legend>"Its first admin"</legend>
                        <Field id="admin_email" label="Admin email" value=admin_email
                            error=errors.get("admin_email") hint="They log in with it." kind="email"/>
                        <Field id="admin_password" label="Initial password" value=String::new()
                            error=errors.get("admin_password")
                            hint="At least 12 characters; they choose their own at their first login." kind="password"
                            autocomplete="new-password"/>
                    </fieldset>
                    <SubmitButton label="Create tenant and admin" busy_label="Creating…" busy=busy/>
                </form>
            </section>
        </div>
    }
}

fn device_link(kind: &str, name: &str) -> String {
    format!("/admin/devices/{kind}/{name}")
}

/// The link to a platform object's spec editor (`platform::SpecEditView`).
fn edit_cell(kind: &str, name: String) -> Cell {
    Cell::Link {
        href: format!("/admin/platform/{kind}/{name}"),
        text: "Edit".into(),
        label: Some(format!("Edit {name}")),
        danger: false,
    }
}

fn new_link(kind: &'static str) -> impl IntoView {
    view! {
        <p class="actions"><a href=format!("/admin/platform/{kind}/new") id=format!("new-{kind}")>{format!("New {kind}…")}</a></p>
    }
}

fn revision_text(r: Option<i32>) -> String {
    r.map(|r| format!("#{r}"))
        .unwrap_or_else(|| "none yet".into())
}

/// The state badge, the applied revision and the last error or drift.
fn state_cell(s: DeviceStateRow) -> Cell {
    let mut cells = vec![Cell::Badge {
        class: format!("device {}", s.state),
        text: s.state.clone(),
    }];
    if let Some(a) = s.applied {
        cells.push(Cell::Note(format!("applied #{a}")));
    }
    if s.drift_lines > 0 {
        cells.push(Cell::Note(format!("{} lines differ", s.drift_lines)));
    }
    if let Some(e) = s.error {
        cells.push(Cell::Note(e));
    }
    Cell::Many(cells)
}

/// A router's API key: its fingerprint, the rotation under way, and the
/// button that starts one.
fn api_key_cell(
    name: &str,
    fingerprint: Option<String>,
    rotation: Option<String>,
    csrf: &str,
) -> Cell {
    let Some(fp) = fingerprint else {
        return Cell::Muted("none yet (not compiled)".into());
    };
    let mut cells = vec![Cell::Code(fp)];
    match rotation {
        Some(step) => cells.push(Cell::Note(format!("rotation under way: {step}"))),
        None => {
            cells.push(Cell::Text(" ".into()));
            cells.push(Cell::Action {
                action: format!("/admin/routers/{name}/api-key/rotate"),
                csrf: csrf.to_string(),
                fields: vec![],
                text: "Rotate API key",
                label: format!("Rotate the API key of {name}"),
            });
        }
    }
    Cell::Many(cells)
}

/// A device's mesh key: its fingerprint, age and next rotation, and the
/// button that rotates it now (a key that may be compromised), for a
/// router or a hypervisor alike.
fn mesh_key_cell(name: &str, key: Option<MeshKeyRow>, csrf: &str) -> Cell {
    let Some(k) = key else {
        return Cell::Muted("none yet (not compiled)".into());
    };
    let mut cells = vec![Cell::Code(k.fingerprint)];
    if let Some(since) = k.since {
        cells.push(Cell::Note(format!("since {since}")));
    }
    if k.rotating {
        cells.push(Cell::Note("rotation under way".into()));
        return Cell::Many(cells);
    }
    if let Some(next) = k.next {
        cells.push(Cell::Note(format!("next {next}")));
    }
    cells.push(Cell::Action {
        action: format!("/admin/devices/{name}/wireguard-key/rotate"),
        csrf: csrf.to_string(),
        fields: vec![],
        text: "Rotate mesh key now",
        label: format!("Rotate the WireGuard mesh key of {name} now"),
    });
    Cell::Many(cells)
}

/// How the certificate is trusted and, when the router presents another
/// than the pinned one, that one and the button that pins it.
fn certificate_cell(name: &str, trust: String, presented: Option<String>, csrf: &str) -> Cell {
    let mut cells = vec![Cell::Code(trust)];
    if let Some(sha) = presented {
        cells.push(Cell::Note(format!("presents {sha}")));
        cells.push(Cell::Action {
            action: format!("/admin/routers/{name}/certificate/trust"),
            csrf: csrf.to_string(),
            fields: vec![("sha256".into(), sha)],
            text: "Trust this certificate",
            label: format!("Trust the certificate {name} presents"),
        });
    }
    Cell::Many(cells)
}

#[component]
fn PlatformSection(
    sites: Vec<SiteRow>,
    routers: Vec<RouterRow>,
    hypervisors: Vec<HypervisorRow>,
    notice: Option<String>,
    csrf: String,
) -> impl IntoView {
    let sites = if sites.is_empty() {
        view! { <p class="empty">"No sites yet."</p> }.into_any()
    } else {
        let rows = sites
            .into_iter()
            .map(|s| Row {
                key: s.name.clone(),
                cells: vec![
                    Cell::Text(s.name.clone()),
                    Cell::Code(s.public_blocks.join(", ")),
                    edit_cell("site", s.name),
                ],
            })
            .collect();
        view! { <Table id="sites" cols=vec!["Site", "Public blocks", "Spec"] rows=rows/> }
            .into_any()
    };
    // The routers' keys in a table of their own: eleven columns in one
    // left the keys and fingerprints a few characters wide at 1280 px
    // (issue 19), and a minimum width pushed State and Edit out.
    let (routers, router_keys) = if routers.is_empty() {
        (
            view! { <p class="empty">"No routers yet."</p> }.into_any(),
            None,
        )
    } else {
        let mut rows = Vec::new();
        let mut key_rows = Vec::new();
        for r in routers {
            let name = r.name.clone();
            let link = || Cell::Link {
                href: device_link("router", &name),
                text: name.clone(),
                label: None,
                danger: false,
            };
            key_rows.push(Row {
                key: r.name.clone(),
                cells: vec![
                    link(),
                    certificate_cell(&r.name, r.api_trust, r.presented_certificate, &csrf),
                    api_key_cell(&r.name, r.api_key, r.rotation, &csrf),
                    mesh_key_cell(&r.name, r.mesh_key, &csrf),
                ],
            });
            rows.push(Row {
                key: r.name.clone(),
                cells: vec![
                    link(),
                    Cell::Text(r.site),
                    Cell::Text(r.version),
                    Cell::Code(r.underlay_address),
                    Cell::Code(r.api_endpoint),
                    Cell::Text(revision_text(r.revision)),
                    state_cell(r.state),
                    edit_cell("router", r.name),
                ],
            });
        }
        let cols = vec![
            "Router", "Site", "VyOS", "Underlay", "API", "Revision", "State", "Spec",
        ];
        let key_cols = vec!["Router", "Certificate", "API key", "Mesh key"];
        (
            view! { <Table id="routers" cols=cols rows=rows/> }.into_any(),
            Some(view! {
                <section class="card wide" aria-labelledby="router-keys-h">
                    <h2 id="router-keys-h">"Router keys"</h2>
                    <Table id="router-keys" cols=key_cols rows=key_rows/>
                </section>
            }),
        )
    };
    let hypervisors = if hypervisors.is_empty() {
        view! { <p class="empty">"No hypervisors yet."</p> }.into_any()
    } else {
        let rows = hypervisors
            .into_iter()
            .map(|h| Row {
                key: h.name.clone(),
                cells: vec![
                    Cell::Link {
                        href: device_link("hypervisor", &h.name),
                        text: h.name.clone(),
                        label: None,
                        danger: false,
                    },
                    Cell::Text(h.site),
                    Cell::Code(h.underlay_address),
                    Cell::Code(h.vtep_address.unwrap_or_else(|| "allocated".into())),
                    Cell::Code(h.bridge),
                    mesh_key_cell(&h.name, h.mesh_key, &csrf),
                    Cell::Text(revision_text(h.revision)),
                    state_cell(h.state),
                    edit_cell("hypervisor", h.name),
                ],
            })
            .collect();
        let cols = vec![
            "Hypervisor",
            "Site",
            "Underlay",
            "VTEP",
            "Bridge",
            "Mesh key",
            "Revision",
            "State",
            "Spec",
        ];
        view! { <Table id="hypervisors" cols=cols rows=rows/> }.into_any()
    };
    view! {
        {notice.map(|n| view! { <Notice text=n jobs="/admin/jobs".to_string()/> })}
        <div class="grid">
            <section class="card wide" aria-labelledby="sites-h"><h2 id="sites-h">"Sites"</h2>{sites}{new_link("site")}</section>
            <section class="card wide" aria-labelledby="routers-h"><h2 id="routers-h">"Routers"</h2>{routers}{new_link("router")}</section>
            {router_keys}
            <section class="card wide" aria-labelledby="hvs-h"><h2 id="hvs-h">"Hypervisors"</h2>{hypervisors}{new_link("hypervisor")}</section>
        </div>
    }
}

#[component]
fn UsersSection(users: Vec<UserRow>, filters: FilterBar, pager: Pager) -> impl IntoView {
    let body = if users.is_empty() {
        let text = if filters.active {
            "No user matches these filters."
        } else {
            "No users yet."
        };
        view! { <p class="empty">{text}</p> }.into_any()
    } else {
        let rows = users
            .into_iter()
            .map(|u| Row {
                key: u.email.clone(),
                cells: vec![
                    Cell::Text(u.email.clone()),
                    match u.tenant {
                        Some(t) => Cell::Link {
                            href: format!("/t/{t}"),
                            text: t,
                            label: None,
                            danger: false,
                        },
                        None => Cell::Muted("platform".into()),
                    },
                    Cell::Text(u.role),
                    Cell::Text(u.created_at),
                    if u.you {
                        Cell::Muted("you".into())
                    } else {
                        Cell::Link {
                            href: format!("/admin/users/{}/reset", u.id),
                            text: "Reset password…".into(),
                            label: Some(format!("Reset the password of {}", u.email)),
                            danger: false,
                        }
                    },
                ],
            })
            .collect();
        view! { <Table id="users" cols=vec!["Email", "Tenant", "Role", "Since", ""] rows=rows/> }
            .into_any()
    };
    view! {
        <section class="card wide" aria-labelledby="users-h">
            <h2 id="users-h">"Every user"</h2>
            <FilterBarView bar=filters id="user-filters"/>
            {body}
            <PagerView pager=pager/>
        </section>
    }
}

#[component]
fn Pager(older: Option<String>, newest: bool, base: String) -> impl IntoView {
    let newer = (!newest).then(|| view! { <a href=base>"← Newest"</a> });
    let older = older.map(|h| view! { <a href=h rel="next" id="older">"Older →"</a> });
    view! { <p class="pager">{newer} " " {older}</p> }
}

#[component]
fn JobsSection(jobs: Vec<AdminJobRow>, filters: FilterBar, pager: Pager) -> impl IntoView {
    let filtered = filters.active;
    view! {
        <section class="card wide" aria-labelledby="jobs-h">
            <h2 id="jobs-h">"Jobs of every tenant, newest first"</h2>
            <FilterBarView bar=filters id="job-filters"/>
            <JobsList jobs=jobs base="/admin/jobs".to_string() admin=true filtered=filtered/>
            <PagerView pager=pager/>
        </section>
    }
}

/// Every router and hypervisor: name (a link to its revisions), kind,
/// site, latest revision (and the job that stored it), state.
#[component]
fn DevicesSection(devices: Vec<DeviceListRow>, filters: FilterBar, pager: Pager) -> impl IntoView {
    let body = if devices.is_empty() {
        let text = if filters.active {
            "No device matches these filters."
        } else {
            "No routers or hypervisors yet."
        };
        view! { <p class="empty">{text}</p> }.into_any()
    } else {
        let rows = devices
            .into_iter()
            .map(|d| {
                let mut rev = vec![Cell::Text(revision_text(d.revision))];
                if let Some(j) = d.job {
                    rev.push(Cell::Text(" · ".into()));
                    rev.push(Cell::Link {
                        href: format!("/admin/jobs/{j}"),
                        text: format!("job #{j}"),
                        label: None,
                        danger: false,
                    });
                }
                Row {
                    key: format!("{}/{}", d.kind, d.name),
                    cells: vec![
                        Cell::Link {
                            href: device_link(&d.kind, &d.name),
                            text: d.name.clone(),
                            label: None,
                            danger: false,
                        },
                        Cell::Text(d.kind),
                        Cell::Text(d.site),
                        Cell::Many(rev),
                        state_cell(d.state),
                    ],
                }
            })
            .collect();
        let cols = vec!["Device", "Kind", "Site", "Revision", "State"];
        view! { <Table id="devices" cols=cols rows=rows/> }.into_any()
    };
    view! {
        <section class="card wide" aria-labelledby="devices-h">
            <h2 id="devices-h">"Routers and hypervisors"</h2>
            <FilterBarView bar=filters id="device-filters"/>
            {body}
            <PagerView pager=pager/>
        </section>
    }
}

#[component]
fn DeviceSection(d: DevicePage) -> impl IntoView {
    let DevicePage {
        kind,
        name,
        revisions,
        older,
        newest,
    } = d;
    let base = device_link(&kind, &name);
    let body = if revisions.is_empty() {
        view! { <p class="empty">"No revisions yet: the device has not been compiled."</p> }
            .into_any()
    } else {
        let rows = revisions
            .into_iter()
            .map(|r| Row {
                key: r.seq.to_string(),
                cells: vec![
                    Cell::Link {
                        href: format!("{base}/{}", r.seq),
                        text: format!("#{}", r.seq),
                        label: None,
                        danger: false,
                    },
                    match r.job_id {
                        Some(j) => Cell::Link {
                            href: format!("/admin/jobs/{j}"),
                            text: format!("#{j}"),
                            label: Some(format!("Job #{j}")),
                            danger: false,
                        },
                        None => Cell::Muted("none".into()),
                    },
                    Cell::Text(r.created_at),
                    Cell::Text(r.changed_lines.to_string()),
                ],
            })
            .collect();
        let cols = vec!["Revision", "Job", "When", "Changed lines"];
        view! { <Table id="revisions" cols=cols rows=rows/> }.into_any()
    };
    view! {
        <section class="card wide" aria-labelledby="revs-h">
            <h2 id="revs-h">"Revisions of " <code>{name}</code></h2>
            {body}
            <Pager older=older newest=newest base=base/>
        </section>
    }
}

#[component]
fn RevisionSection(r: RevisionPage) -> impl IntoView {
    let RevisionPage {
        kind,
        name,
        seq,
        job_id,
        created_at,
        previous,
        diff,
        config,
    } = r;
    let base = device_link(&kind, &name);
    let against = match previous {
        Some(p) => {
            view! { "against " <a href=format!("{base}/{p}")>{format!("revision #{p}")}</a> }
                .into_any()
        }
        None => view! { "against nothing: the first revision" }.into_any(),
    };
    let (removed, added) = (
        diff.iter().filter(|d| !d.added).count(),
        diff.iter().filter(|d| d.added).count(),
    );
    let diff_view = if diff.is_empty() {
        view! { <p class="empty">"No line changed."</p> }.into_any()
    } else {
        view! {
            <pre class="diff" id="diff" tabindex="0" aria-label="Removed and added lines">
                {diff.into_iter().map(|d| {
                    let (class, mark) = if d.added { ("add", "+ ") } else { ("del", "- ") };
                    view! { <span class=class>{format!("{mark}{}\n", d.text)}</span> }
                }).collect_view()}
            </pre>
        }
        .into_any()
    };
    let what = if kind == "router" {
        "VyOS configuration (set commands)"
    } else {
        "Open vSwitch flows, groups and meters"
    };
    view! {
        <p class="muted">
            {created_at}
            {job_id.map(|j| view! { " · " <a href=format!("/admin/jobs/{j}") class="job-id">"job #" {j}</a> })}
        </p>
        <div class="grid">
            <section class="card wide" aria-labelledby="diff-h">
                <h2 id="diff-h">"Changes " {against}</h2>
                <p class="muted" id="diff-summary">{removed} " removed, " {added} " added"</p>
                {diff_view}
            </section>
            <section class="card wide" aria-labelledby="config-h">
                <h2 id="config-h">{what}</h2>
                <p class="muted">"Key material is shown as '<secret>'. Revision #" {seq} "."</p>
                <pre class="config" id="config" tabindex="0" aria-label="Configuration">{config}</pre>
            </section>
        </div>
    }
}
