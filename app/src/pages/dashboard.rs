//! A tenant's dashboard (networks, latest jobs, policy and clients at a
//! glance, the "create network" form) and one network's edit and delete
//! pages, which share the network form.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::data::dashboard::follow_jobs;
#[cfg(feature = "ssr")]
use crate::data::dashboard::NetworkEdit;
use crate::data::dashboard::{
    ClientRow, Dashboard, FailedChange, JobRow, NetworkForm, NetworkRow, RouterChoice, ServiceRow,
};
#[cfg(feature = "ssr")]
use crate::data::health::TenantHealth;
#[cfg(feature = "ssr")]
use crate::widgets::diagram::{status_cell, DiagramView, HealthCounts, PlotView};
use crate::widgets::form::{busy_submit, Field, SubmitButton};
use crate::widgets::lists::Notice;
#[cfg(feature = "ssr")]
use crate::widgets::nav::back_link;
use crate::widgets::nav::{TenantNav, TenantTab};
#[cfg(feature = "ssr")]
use crate::widgets::table::{Cell, Row, Table};

#[component]
pub fn DashboardPage(d: Dashboard, csrf: String) -> impl IntoView {
    let Dashboard {
        slug,
        name,
        can_write,
        default_action,
        networks,
        services,
        rules,
        clients,
        jobs,
        sites,
        form,
        notice,
        failed,
        health,
    } = d;
    let sites_text = if sites.is_empty() {
        "no site yet".to_string()
    } else {
        sites.join(", ")
    };
    // Rendered by the server alone (`ServerOnly`): hydration leaves it be.
    #[cfg(feature = "ssr")]
    let health = view! { <HealthCard h=health.0/> }.to_html();
    #[cfg(not(feature = "ssr"))]
    let health = {
        let _ = health;
        String::new()
    };
    // Rendered by the server alone, like the health card.
    #[cfg(feature = "ssr")]
    let steps = first_steps(
        can_write,
        &slug,
        [!networks.is_empty(), rules > 0, !clients.is_empty()],
    );
    #[cfg(not(feature = "ssr"))]
    let steps = String::new();
    let form_view = can_write
        .then(|| view! { <NetworkFormView slug=slug.clone() csrf=csrf form=form edit=None/> });
    view! {
        <div class="page-head">
            <h1>{name}</h1>
            <p class="muted">"Tenant " <code>{slug.clone()}</code> " · reaches " {sites_text}</p>
            <TenantNav slug=slug.clone() current=TenantTab::Dashboard
                can_write=can_write/>
        </div>
        {notice.map(|n| view! { <Notice text=n jobs=format!("/t/{slug}/jobs")/> })}
        <FailedChanges failed=failed slug=slug.clone()/>
        <div id="first-steps-slot" inner_html=steps></div>
        <div class="grid">
            <section class="card wide" aria-labelledby="health-h" id="health" inner_html=health></section>
            <section class="card wide" aria-labelledby="networks-h">
                <h2 id="networks-h">"Networks"</h2>
                <NetworksTable networks=networks edit=can_write.then(|| slug.clone()) slug=slug.clone()/>
            </section>
            {form_view}
            <section class="card" aria-labelledby="jobs-h">
                <h2 id="jobs-h">"Latest jobs"</h2>
                <JobsTable jobs=jobs slug=slug.clone()/>
            </section>
            <section class="card" aria-labelledby="policy-h">
                <h2 id="policy-h">"Services and policy"</h2>
                <p>
                    <strong class="count" id="rules-count">{rules}</strong>
                    {if rules == 1 { " rule" } else { " rules" }}
                    "; traffic no rule matches: " <code>{default_action}</code>
                </p>
                <ServicesList services=services/>
                <p><a href=format!("/t/{slug}/policy") id="policy-link">"Services and policy rules →"</a></p>
            </section>
            <section class="card" aria-labelledby="clients-h">
                <h2 id="clients-h">"WireGuard clients"</h2>
                <ClientsTable clients=clients/>
                <p class="actions">
                    <a href=format!("/t/{slug}/clients") id="clients-link">
                        {if can_write { "Manage clients" } else { "All clients" }}
                    </a>
                </p>
            </section>
        </div>
    }
}

/// A new tenant's first steps, for those who can take them: a network, a
/// rule, a client, each linked and ticked once done; gone when all are.
#[cfg(feature = "ssr")]
fn first_steps(can_write: bool, slug: &str, done: [bool; 3]) -> String {
    if !can_write || done.iter().all(|d| *d) {
        return String::new();
    }
    let steps = [
        (
            "network",
            "#network-form".to_string(),
            "Create a network",
            "a subnet your machines join, reached on the sites you pick.",
        ),
        (
            "rule",
            format!("/t/{slug}/policy"),
            "Add a policy rule",
            "what may talk to what; until then the default action applies.",
        ),
        (
            "client",
            format!("/t/{slug}/clients"),
            "Add a WireGuard client",
            "a laptop or phone that reaches your networks from anywhere.",
        ),
    ];
    let left = done.iter().filter(|d| !**d).count();
    view! {
        <section class="callout first-steps" aria-labelledby="first-steps-h" id="first-steps">
            <h2 id="first-steps-h">"First steps"</h2>
            <p class="muted">{format!("{left} of 3 left. This list goes away once all are done.")}</p>
            <ol>
                {steps
                    .into_iter()
                    .zip(done)
                    .map(|((key, href, label, why), done)| {
                        let state = if done { "done" } else { "todo" };
                        view! {
                            <li data-step=key data-state=state>
                                {if done {
                                    view! { <s>{label}</s> " ✓ done" }.into_any()
                                } else {
                                    view! { <a href=href>{label}</a> ": " {why} }.into_any()
                                }}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
    .to_html()
}

/// The tenant's health at a glance: each network's gateway group per site
/// (its gateways, which is master, the status and why), each client
/// (connected, last handshake, bytes) and the picture of both. The inside
/// of the dashboard's `#health` card.
#[cfg(feature = "ssr")]
#[component]
fn HealthCard(h: TenantHealth) -> impl IntoView {
    let TenantHealth {
        collected_at,
        collected_ago,
        counts,
        groups,
        clients,
        map,
        traffic,
        traffic_none,
    } = h;
    let Some(at) = collected_at else {
        return view! {
            <h2 id="health-h">"Network health"</h2>
            <p class="empty" id="health-none">
                "Not collected yet: no collection round has run, so the state of your gateways and clients is unknown."
            </p>
        }
        .into_any();
    };
    let groups = if groups.is_empty() {
        view! { <p class="empty">"No gateway groups: no network has gateways yet."</p> }.into_any()
    } else {
        let rows = groups
            .into_iter()
            .map(|g| Row {
                key: format!("{}/{}", g.network, g.site),
                cells: vec![
                    Cell::Text(g.network),
                    Cell::Text(g.site),
                    status_cell(g.status, Some(g.reason)),
                    if g.masters.is_empty() {
                        Cell::Muted("none".into())
                    } else {
                        Cell::Text(g.masters.join(", "))
                    },
                    Cell::Text(
                        g.gateways
                            .into_iter()
                            .map(|(r, s)| format!("{r}: {}", s.to_lowercase()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ],
            })
            .collect();
        let cols = vec!["Network", "Site", "Status", "Master", "Gateways"];
        view! { <Table id="health-groups" cols=cols rows=rows/> }.into_any()
    };
    let clients = if clients.is_empty() {
        view! { <p class="empty">"No remote-access clients."</p> }.into_any()
    } else {
        let rows = clients
            .into_iter()
            .map(|c| {
                let (class, word) = match c.connected {
                    Some(true) => ("ok", "connected"),
                    Some(false) => ("idle", "not connected"),
                    None => ("unknown", "unknown"),
                };
                let mut state = vec![Cell::Badge {
                    class: format!("health {class}"),
                    text: word.into(),
                }];
                if c.status != "ok" {
                    state.push(Cell::Badge {
                        class: format!("health {}", c.status),
                        text: c.status,
                    });
                    state.push(Cell::Note(c.reason));
                }
                Row {
                    key: c.name.clone(),
                    cells: vec![
                        Cell::Text(c.name),
                        Cell::Many(state),
                        Cell::Text(c.handshake),
                        if c.traffic.is_empty() {
                            Cell::Muted("none seen".into())
                        } else {
                            Cell::Text(c.traffic)
                        },
                        Cell::Text(c.router.unwrap_or_default()),
                    ],
                }
            })
            .collect();
        let cols = vec!["Client", "State", "Last handshake", "Traffic", "Gateway"];
        view! { <Table id="health-clients" cols=cols rows=rows/> }.into_any()
    };
    view! {
        <h2 id="health-h">"Network health"</h2>
        <p class="muted" id="health-when">
            "Collected " {collected_ago} " (" {at} "): " <HealthCounts c=counts/>
        </p>
        {map.map(|d| view! { <DiagramView d=d/> })}
        {(!traffic.is_empty() || !traffic_none.is_empty())
            .then(|| view! { <h3 id="traffic-h">"Traffic per network, last hour"</h3> })}
        {no_traffic(&traffic_none, traffic.is_empty())}
        {traffic
            .into_iter()
            .map(|d| {
                let legend = vec![
                    ("traffic-in", "into the network (bytes/s)".to_string()),
                    ("traffic-out", "out of it (dashed)".to_string()),
                ];
                view! { <PlotView d=d legend=legend/> }
            })
            .collect_view()}
        <h3>"Gateways per network and site"</h3>
        {groups}
        <h3>"Remote-access clients"</h3>
        {clients}
    }
    .into_any()
}

/// Networks without a traffic figure in the last hour, in words instead
/// of an empty plot each: what is missing and why.
#[cfg(feature = "ssr")]
fn no_traffic(networks: &[String], all: bool) -> Option<impl IntoView> {
    if networks.is_empty() {
        return None;
    }
    let what = if all {
        "No traffic has been measured yet".to_string()
    } else if networks.len() == 1 {
        format!("No traffic measured yet for network {}", networks[0])
    } else {
        format!(
            "No traffic measured yet for networks {}",
            networks.join(", ")
        )
    };
    let why = ": a rate needs two readings of a gateway's counters, which are read once per \
               collection round, and the last hour has fewer (a network just created, or \
               gateways that did not answer).";
    Some(view! { <p class="empty-state" id="traffic-none"><strong>{what}</strong>{why}</p> })
}

/// `edit`: the tenant slug when the viewer may edit (adds an Edit link per row).
#[component]
fn NetworksTable(networks: Vec<NetworkRow>, edit: Option<String>, slug: String) -> impl IntoView {
    if networks.is_empty() {
        return view! { <p class="empty">"No networks yet."</p> }.into_any();
    }
    view! {
        <div class="scroll">
            <table id="networks" class="stack-on-phone">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"CIDR"</th>
                        <th scope="col">"VNI"</th>
                        <th scope="col">"Gateways per site"</th>
                        <th scope="col">"Ports"</th>
                        {edit.is_some().then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {networks
                        .into_iter()
                        .map(|n| {
                            let key = n.name.clone();
                            let edit_link = edit.as_ref().map(|t| {
                                let href = format!("/t/{t}/networks/{}", n.name);
                                let label = format!("Edit network {}", n.name);
                                view! { <td><a href=href aria-label=label class="edit">"Edit"</a></td> }
                            });
                            let failed = n.failed.map(|f| {
                                let href = format!("/t/{slug}/jobs/{}", f.job);
                                view! {
                                    <br/>
                                    <span class="last-failed">
                                        "last change failed: " {f.why} " ("
                                        <a href=href class="job-id">"job #" {f.job}</a> ")"
                                    </span>
                                }
                            });
                            view! {
                                <tr data-network=key>
                                    <th scope="row">{n.name}{failed}</th>
                                    <td data-label="CIDR"><code>{n.cidr}</code></td>
                                    <td data-label="VNI">{n.vni.map(|v| v.to_string()).unwrap_or_else(|| "pending".into())}</td>
                                    <td data-label="Gateways">
                                        <ul class="plain">
                                            {n.sites
                                                .into_iter()
                                                .map(|s| {
                                                    view! {
                                                        <li>
                                                            <strong>{s.site}</strong> ": "
                                                            <code>{s.virtual_address.unwrap_or_else(|| "pending".into())}</code>
                                                            " via " {s.gateways.join(", ")}
                                                        </li>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                    </td>
                                    <td data-label="Ports">{n.ports}</td>
                                    {edit_link}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A changed object's path in words: `tenants/acme/networks/web` is
/// "Network web", `tenants/acme/policy/rules/3` "Rule 3" (the path on
/// hover, as the API names it).
fn object_words(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        ["tenants", _, "networks", n, ..] => format!("Network {n}"),
        ["tenants", _, "services", n, ..] => format!("Service {n}"),
        ["tenants", _, "clients", n, ..] => format!("Client {n}"),
        ["tenants", _, "policy", "rules", n, ..] | ["tenants", _, "rules", n, ..] => {
            format!("Rule {n}")
        }
        ["tenants", _, "policy", ..] => "The policy".into(),
        ["tenants", t] => format!("Tenant {t}"),
        _ => path.to_string(),
    }
}

/// Failed changes of objects no row shows (a deleted network, a rule, a
/// client), each linking to its job.
#[component]
fn FailedChanges(failed: Vec<FailedChange>, slug: String) -> impl IntoView {
    (!failed.is_empty()).then(|| {
        view! {
            <section class="callout bad" aria-labelledby="failed-h" id="failed-changes">
                <h2 id="failed-h">"Changes that failed"</h2>
                <ul class="plain">
                    {failed
                        .into_iter()
                        .map(|f| {
                            let href = format!("/t/{slug}/jobs/{}", f.job);
                            view! {
                                <li>
                                    <span title=f.object.clone()>{object_words(&f.object)}</span>
                                    ": " {f.why} " ("
                                    <a href=href class="job-id">"job #" {f.job}</a> ")"
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}

/// The latest jobs. Once hydrated, the list follows the server's event
/// stream (`/t/{slug}/jobs/stream`: the same rows, sent again whenever a job
/// of the tenant is queued or changes state; the browser reconnects on its
/// own). Without JavaScript it is what the page was rendered with.
#[component]
fn JobsTable(jobs: Vec<JobRow>, slug: String) -> impl IntoView {
    let jobs = RwSignal::new(jobs);
    // Each job links to its page (which devices it reached).
    let base = format!("/t/{slug}/jobs");
    #[cfg(feature = "hydrate")]
    follow_jobs(&format!("/t/{slug}/jobs/stream"), jobs);
    #[cfg(not(feature = "hydrate"))]
    let _ = slug;
    move || {
        let list = jobs.get();
        if list.is_empty() {
            return view! { <p class="empty">"No jobs yet: changes start one."</p> }.into_any();
        }
        view! {
            <ul class="jobs" id="jobs" aria-live="polite">
                {list
                    .into_iter()
                    .map(|j| {
                        let class = format!("badge {}", j.status);
                        let why = (!j.why.is_empty()).then(|| {
                            view! {
                                <ul class="job-why">
                                    {j.why.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                                </ul>
                            }
                        });
                        view! {
                            <li data-job=j.id.to_string()>
                                <span class=class>{j.status}</span>
                                <a class="job-id" href=format!("{base}/{}", j.id)
                                    aria-label=format!("Job #{}", j.id)>"#" {j.id}</a>
                                " " {j.reason}
                                <br/>
                                <small class="muted">{j.created_at} " · " {j.created_by}</small>
                                {why}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    }
}

#[component]
fn ServicesList(services: Vec<ServiceRow>) -> impl IntoView {
    if services.is_empty() {
        return view! { <p class="empty">"No services yet."</p> }.into_any();
    }
    view! {
        <h3>"Services"</h3>
        <ul class="plain" id="services">
            {services
                .into_iter()
                .map(|s| view! { <li><strong>{s.id}</strong> ": " <code>{s.addresses.join(", ")}</code></li> })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn ClientsTable(clients: Vec<ClientRow>) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="empty">"No clients yet."</p> }.into_any();
    }
    view! {
        <ul class="plain" id="clients">
            {clients
                .into_iter()
                .map(|c| {
                    view! {
                        <li>
                            <strong>{c.name}</strong> " "
                            <code>{c.address.unwrap_or_else(|| "pending".into())}</code>
                            <br/>
                            <small class="muted">"reaches " {c.networks.join(", ")}</small>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The network form: creating one (`edit` is `None`) or editing the named
/// network at the given version.
#[component]
fn NetworkFormView(
    slug: String,
    csrf: String,
    form: NetworkForm,
    edit: Option<(String, i64)>,
) -> impl IntoView {
    let NetworkForm {
        name,
        cidr,
        gateways,
        routers,
        errors,
        suggested,
    } = form;
    let cidr_hint = match suggested {
        Some(s) => format!("An IPv4 prefix of /28 or larger in the tenant pools; {s} is free."),
        None => "An IPv4 prefix of /28 or larger in the tenant pools.".to_string(),
    };
    let action = match &edit {
        Some((n, _)) => format!("/t/{slug}/networks/{n}"),
        None => format!("/t/{slug}/networks"),
    };
    let editing = edit.is_some();
    let (title, failed, label, busy_label) = if editing {
        (
            "Edit the network",
            "The network was not changed:",
            "Save changes",
            "Saving…",
        )
    } else {
        (
            "Create a network",
            "The network was not created:",
            "Create network",
            "Creating…",
        )
    };
    let name_field = match &edit {
        Some((_, version)) => view! {
            <input type="hidden" name="version" value=version.to_string()/>
        }
        .into_any(),
        None => view! {
            <Field id="name" label="Name" value=name error=errors.get("name")
                hint="Lowercase letters, digits and dashes."/>
        }
        .into_any(),
    };
    let delete_link = edit.as_ref().map(|(n, _)| {
        let href = format!("/t/{slug}/networks/{n}/delete");
        let back = format!("/t/{slug}");
        view! {
            <p class="actions">
                <a href=back>"Cancel"</a> " · "
                <a href=href class="danger" id="delete-link">"Delete this network…"</a>
            </p>
        }
    });
    let gw_error = errors.get("gateways");
    let gw_invalid = gw_error.is_some();
    let form_errors = errors.form.clone();
    let busy = RwSignal::new(false);
    view! {
        <section class="card" aria-labelledby="new-network-h">
            <h2 id="new-network-h">{title}</h2>
            {(!form_errors.is_empty()).then(|| view! {
                <div class="alert" role="alert" id="form-errors">
                    <p>{failed}</p>
                    <ul>{form_errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })}
            <form method="post" action=action class="stack" id="network-form" novalidate on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=csrf/>
                {name_field}
                <Field id="cidr" label="Subnet (CIDR)" value=cidr error=errors.get("cidr")
                    hint=cidr_hint/>
                <fieldset class="field" class:has-error=gw_invalid
                    aria-describedby=gw_invalid.then_some("gateways-error")>
                    <legend>"Gateway routers"</legend>
                    <small class="muted">"Per site, the first one chosen is the preferred VRRP master. Chosen gateways are listed first, in their order."</small>
                    {chosen_first(routers, &gateways)
                        .into_iter()
                        .map(|r| {
                            let v = r.value();
                            let checked = gateways.contains(&v);
                            let id = format!("gw-{}", v.replace('/', "-"));
                            view! {
                                <div class="check">
                                    <input type="checkbox" name="gateway" id=id.clone() value=v checked=checked/>
                                    <label for=id>{r.name} <span class="muted">" (" {r.site} ")"</span></label>
                                </div>
                            }
                        })
                        .collect_view()}
                    {gw_error.map(|e| view! { <p class="field-error" id="gateways-error">{e}</p> })}
                </fieldset>
                <SubmitButton label=label busy_label=busy_label busy=busy/>
            </form>
            {delete_link}
        </section>
    }
}

/// Rendered by the server alone (not in the bundle, see
/// `PageProps::hydrates`).
#[cfg(feature = "ssr")]
#[component]
pub fn NetworkEditPage(e: NetworkEdit, csrf: String) -> impl IntoView {
    let NetworkEdit {
        slug,
        name,
        version,
        cidr,
        vni,
        form,
        confirm_delete,
    } = e;
    let back = format!("/t/{slug}");
    let head = view! {
        <div class="page-head">
            {back_link(back.clone(), "Dashboard".into())}
            <h1>"Network " <code>{name.clone()}</code></h1>
            <p class="muted">
                <code>{cidr}</code> " · VNI "
                {vni.map(|v| v.to_string()).unwrap_or_else(|| "pending".into())}
            </p>
            <TenantNav slug=slug.clone() current=TenantTab::Dashboard can_write=true/>
        </div>
    };
    if !confirm_delete {
        return view! {
            {head}
            <NetworkFormView slug=slug csrf=csrf form=form edit=Some((name, version))/>
        }
        .into_any();
    }
    let action = format!("/t/{slug}/networks/{name}/delete");
    let form_errors = form.errors.form.clone();
    let busy = RwSignal::new(false);
    view! {
        {head}
        <section class="card narrow" aria-labelledby="delete-h">
            <h2 id="delete-h">"Delete network " {name.clone()} "?"</h2>
            {(!form_errors.is_empty()).then(|| view! {
                <div class="alert" role="alert" id="form-errors">
                    <p>"The network was not deleted:"</p>
                    <ul>{form_errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })}
            <p>"Its gateways and flows are removed from every site; this cannot be undone."</p>
            <form method="post" action=action class="stack" id="delete-form" on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="version" value=version.to_string()/>
                <button type="submit" class="danger" id="confirm-delete"
                    data-busy="Deleting…" aria-disabled=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Deleting…" } else { "Delete the network" }}
                </button>
                <a href=back>"Keep it"</a>
            </form>
        </section>
    }
    .into_any()
}

/// The routers with the chosen gateways first, in the order they were
/// chosen (the first of a site is its preferred VRRP master), then the
/// others as given. A form posts its checkboxes in page order, so saving
/// the page unchanged keeps the order, and the master with it.
fn chosen_first(mut routers: Vec<RouterChoice>, gateways: &[String]) -> Vec<RouterChoice> {
    routers.sort_by_key(|r| {
        let v = r.value();
        gateways.iter().position(|g| *g == v).unwrap_or(usize::MAX)
    });
    routers
}
