//! The tenant's services and policy page: the rules in the order they are
//! evaluated (shadowed and disabled ones marked), the default action, and
//! for tenant admins a rule form plus move, enable/disable and delete
//! buttons. Every change can be previewed first: the server compiles the
//! tenant with and without it and the page shows the lines that would go
//! and come on each device. Plain forms; nothing here needs JavaScript.

use leptos::prelude::*;

use crate::data::dashboard::ServiceRow;
use crate::data::policy::{PolicyPage, PreviewView, RuleForm, RulePager, RuleRow, RULES_PER_PAGE};
use crate::widgets::form::{busy_submit, Field};
use crate::widgets::nav::{TenantNav, TenantTab};

fn endpoint_choices(services: &[ServiceRow], networks: &[String]) -> Vec<(String, String)> {
    let mut v = vec![
        ("any".to_string(), "Anything".to_string()),
        (
            "external".to_string(),
            "External (outside the tenant)".to_string(),
        ),
    ];
    v.extend(
        services
            .iter()
            .map(|s| (format!("service:{}", s.id), format!("Service {}", s.id))),
    );
    v.extend(
        networks
            .iter()
            .map(|n| (format!("network:{n}"), format!("Network {n}"))),
    );
    v.push(("cidr".to_string(), "A CIDR prefix…".to_string()));
    v
}

/// A labelled select with its error below it.
#[component]
fn Select(
    id: &'static str,
    label: &'static str,
    value: String,
    choices: Vec<(String, String)>,
    error: Option<String>,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let invalid = error.is_some().then_some("true");
    let described = error.is_some().then(|| err_id.clone());
    let has_error = error.is_some();
    view! {
        <div class="field" class:has-error=has_error>
            <label for=id>{label}</label>
            <select id=id name=id aria-invalid=invalid aria-describedby=described>
                {choices
                    .into_iter()
                    .map(|(v, l)| {
                        let selected = v == value;
                        view! { <option value=v selected=selected>{l}</option> }
                    })
                    .collect_view()}
            </select>
            {error.map(|e| view! { <p class="field-error" id=err_id>{e}</p> })}
        </div>
    }
}

#[component]
pub fn PolicyPageView(p: PolicyPage, csrf: String) -> impl IntoView {
    let PolicyPage {
        slug,
        name,
        can_write,
        default_action,
        services,
        rules,
        pager,
        order_version,
        networks,
        form,
        preview,
        notice,
        alerts,
    } = p;
    let back = format!("/t/{slug}");
    let choices = endpoint_choices(&services, &networks);
    // A delete or reorder preview goes above the rules; a form's below it.
    let (top_preview, form_preview) = match preview {
        Some(pv) if pv.confirm.is_some() => (Some(pv), None),
        other => (None, other),
    };
    let form_view = can_write.then(|| {
        view! {
            <RuleFormView slug=slug.clone() csrf=csrf.clone() form=form choices=choices
                preview=form_preview/>
        }
    });
    view! {
        <div class="page-head">
            <p class="muted"><a href=back>"← " {name.clone()}</a></p>
            <h1>"Services and policy"</h1>
            <p class="muted">"Tenant " <code>{slug.clone()}</code>
                " · rules apply in order, first match wins; traffic no rule matches: "
                <code id="default-action">{default_action}</code></p>
            <TenantNav slug=slug.clone() current=TenantTab::Policy
                can_write=can_write/>
        </div>
        {notice.map(|n| view! { <p class="notice" role="status" id="policy-notice">{n}</p> })}
        {(!alerts.is_empty()).then(|| view! {
            <div class="alert" role="alert" id="policy-errors">
                <p>"Nothing was changed:"</p>
                <ul>{alerts.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            </div>
        })}
        {top_preview.map(|pv| {
            let back = format!("/t/{slug}/policy");
            view! { <PreviewCard pv=pv csrf=csrf.clone() back=back/> }
        })}
        <div class="grid">
            <section class="card wide" aria-labelledby="rules-h">
                <h2 id="rules-h">"Rules"</h2>
                <RulesTable rules=rules slug=slug.clone() csrf=csrf.clone() can_write=can_write
                    pager=pager order_version=order_version/>
                <Pager pager=pager slug=slug.clone()/>
            </section>
            {form_view}
            <section class="card" aria-labelledby="services-h">
                <h2 id="services-h">"Services"</h2>
                {if services.is_empty() {
                    view! { <p class="empty">"No services yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="plain" id="services">
                            {services
                                .into_iter()
                                .map(|s| view! { <li><strong>{s.id}</strong> ": " <code>{s.addresses.join(", ")}</code></li> })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </section>
        </div>
    }
}

#[component]
fn RulesTable(
    rules: Vec<RuleRow>,
    slug: String,
    csrf: String,
    can_write: bool,
    pager: RulePager,
    order_version: String,
) -> impl IntoView {
    if rules.is_empty() {
        return view! { <p class="empty">"No rules yet: all traffic gets the default action."</p> }
            .into_any();
    }
    view! {
        <div class="scroll">
            <table id="rules" class="stack-on-phone">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Traffic"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"State"</th>
                        {can_write.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {rules
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let traffic = if r.ports.is_empty() {
                                r.protocol.clone()
                            } else {
                                format!("{} {}", r.protocol, r.ports)
                            };
                            let state = if r.disabled {
                                view! { <span class="badge off">"disabled"</span> }.into_any()
                            } else if let Some(why) = r.shadowed.clone() {
                                view! {
                                    <span class="badge shadowed">"shadowed"</span>
                                    <br/><small class="shadow-reason">{why}</small>
                                }
                                .into_any()
                            } else {
                                view! { <span class="badge on">"active"</span> }.into_any()
                            };
                            let position = pager.first + i + 1;
                            let actions = can_write.then(|| {
                                view! {
                                    <td class="rule-actions">
                                        <RuleActions r=r.clone() position=position total=pager.total
                                            slug=slug.clone() csrf=csrf.clone()
                                            order_version=order_version.clone()/>
                                    </td>
                                }
                            });
                            let class = if r.disabled { "disabled" } else { "" };
                            view! {
                                <tr data-rule=r.id.to_string() class=class>
                                    <td data-label="Position" class="rule-pos">{position}</td>
                                    <th scope="row">
                                        <span class="rule-id">{r.id}</span> " "
                                        <span class="rule-desc">{r.description}</span>
                                    </th>
                                    <td data-label="Action"><span class=format!("act {}", r.action)>{r.action.clone()}</span></td>
                                    <td data-label="Traffic"><code>{traffic}</code></td>
                                    <td data-label="From">{r.source}</td>
                                    <td data-label="To">{r.destination}</td>
                                    <td data-label="State">{state}</td>
                                    {actions}
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

/// Which rules this page shows, the links to the pages around it and a
/// "go to page" form (a plain GET: no JavaScript needed).
#[component]
fn Pager(pager: RulePager, slug: String) -> impl IntoView {
    let RulePager {
        page,
        pages,
        first,
        total,
    } = pager;
    let base = format!("/t/{slug}/policy");
    let link = |to: usize, text: &'static str, rel: &'static str, id: &'static str| {
        let href = format!("{base}?page={to}");
        view! { <a href=href rel=rel id=id>{text}</a> }
    };
    let prev = (page > 1).then(|| {
        view! { {link(1, "« First", "first", "rules-first")} " " {link(page - 1, "‹ Previous", "prev", "rules-prev")} }
    });
    let next = (page < pages).then(|| {
        view! { {link(page + 1, "Next ›", "next", "rules-next")} " " {link(pages, "Last »", "last", "rules-last")} }
    });
    let shown = if total == 0 {
        String::new()
    } else {
        let last = (first + RULES_PER_PAGE).min(total);
        format!(
            "Rules {}–{last} of {total} · page {page} of {pages}",
            first + 1
        )
    };
    (pages > 1).then(|| {
        view! {
            <nav class="pager rule-pager" aria-label="Pages of rules">
                <span>{prev}</span>
                <span id="rules-shown">{shown}</span>
                <form method="get" action=base.clone() class="inline">
                    <label for="rules-page">"Page"</label> " "
                    <input type="number" id="rules-page" name="page" class="position" min="1"
                        max=pages.to_string() value=page.to_string() required/>
                    " " <button type="submit" class="small">"Go"</button>
                </form>
                <span>{next}</span>
            </nav>
        }
    })
}

/// Edit, move up/down or to a position (previewed first), enable/disable,
/// delete (previewed first) for one rule. A move form names only the rule,
/// where it goes (`to`, a position from 1 among all the rules, so a rule
/// can go to another page) and the version of the order the page showed:
/// the server works out the new order, so each row stays the same size
/// whatever the number of rules.
#[component]
fn RuleActions(
    r: RuleRow,
    position: usize,
    total: usize,
    slug: String,
    csrf: String,
    order_version: String,
) -> impl IntoView {
    let preview = format!("/t/{slug}/policy/preview");
    let edit = format!("/t/{slug}/policy?edit={}#rule-form", r.id);
    let toggle = format!("/t/{slug}/policy/rules/{}/toggle", r.id);
    let move_fields = || {
        view! {
            <input type="hidden" name="csrf" value=csrf.clone()/>
            <input type="hidden" name="op" value="move"/>
            <input type="hidden" name="rule" value=r.id.to_string()/>
            <input type="hidden" name="order_version" value=order_version.clone()/>
        }
    };
    let step = |to: usize, label: &'static str, aria: String| {
        view! {
            <form method="post" action=preview.clone() class="inline">
                {move_fields()}
                <input type="hidden" name="to" value=to.to_string()/>
                <button type="submit" class="small" aria-label=aria>{label}</button>
            </form>
        }
    };
    let up = (position > 1).then(|| step(position - 1, "↑ Up", format!("Move rule {} up", r.id)));
    let down = (position < total)
        .then(|| step(position + 1, "↓ Down", format!("Move rule {} down", r.id)));
    let to_anywhere = (total > 1).then(|| {
        view! {
            <form method="post" action=preview.clone() class="inline move-to">
                {move_fields()}
                <input type="number" name="to" class="position" min="1" max=total.to_string()
                    value=position.to_string() required
                    aria-label=format!("New position of rule {} (1 to {total})", r.id)/>
                <button type="submit" class="small"
                    aria-label=format!("Move rule {} to that position", r.id)>"Move"</button>
            </form>
        }
    });
    let toggle_label = if r.disabled { "Enable" } else { "Disable" };
    view! {
        <div class="row-actions">
            <a href=edit class="edit" aria-label=format!("Edit rule {}", r.id)>"Edit"</a>
            {up}
            {down}
            {to_anywhere}
            <form method="post" action=toggle class="inline">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="version" value=r.version.to_string()/>
                <button type="submit" class="small"
                    aria-label=format!("{toggle_label} rule {}", r.id)>{toggle_label}</button>
            </form>
            <form method="post" action=preview.clone() class="inline">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="op" value="delete"/>
                <input type="hidden" name="rule" value=r.id.to_string()/>
                <input type="hidden" name="version" value=r.version.to_string()/>
                <button type="submit" class="small danger-text"
                    aria-label=format!("Delete rule {}", r.id)>"Delete…"</button>
            </form>
        </div>
    }
}

#[component]
fn RuleFormView(
    slug: String,
    csrf: String,
    form: RuleForm,
    choices: Vec<(String, String)>,
    preview: Option<PreviewView>,
) -> impl IntoView {
    let RuleForm {
        editing,
        id,
        description,
        action,
        protocol,
        port,
        source,
        source_cidr,
        destination,
        destination_cidr,
        disabled,
        errors,
    } = form;
    let (title, save, act, op) = match editing {
        Some((n, _)) => (
            format!("Edit rule {n}"),
            "Save rule",
            format!("/t/{slug}/policy/rules/{n}"),
            "replace",
        ),
        None => (
            "Add a rule".to_string(),
            "Add rule",
            format!("/t/{slug}/policy/rules"),
            "create",
        ),
    };
    let preview_action = format!("/t/{slug}/policy/preview");
    // With a preview below it, the form takes the page's width.
    let card_class = if preview.is_some() {
        "card wide"
    } else {
        "card"
    };
    let form_errors = errors.form.clone();
    let busy = RwSignal::new(false);
    let actions = vec![
        ("accept".to_string(), "Accept".to_string()),
        ("drop".to_string(), "Drop".to_string()),
        ("reject".to_string(), "Reject".to_string()),
    ];
    let protocols = vec![
        ("any".to_string(), "Any".to_string()),
        ("tcp".to_string(), "TCP".to_string()),
        ("udp".to_string(), "UDP".to_string()),
        ("icmp".to_string(), "ICMP".to_string()),
    ];
    let id_field = match editing {
        Some((n, v)) => view! {
            <input type="hidden" name="id" value=n.to_string()/>
            <input type="hidden" name="version" value=v.to_string()/>
        }
        .into_any(),
        None => view! {
            <Field id="id" label="Rule number" value=id error=errors.get("id")
                hint="Rules apply in order of their numbers, lowest first."/>
        }
        .into_any(),
    };
    let cancel = editing.map(|_| {
        let href = format!("/t/{slug}/policy");
        view! { <a href=href>"Cancel"</a> }
    });
    view! {
        <section class=card_class aria-labelledby="rule-form-h" id="rule-form">
            <h2 id="rule-form-h">{title}</h2>
            {(!form_errors.is_empty()).then(|| view! {
                <div class="alert" role="alert" id="form-errors">
                    <p>"The rule was not saved:"</p>
                    <ul>{form_errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })}
            <form method="post" action=act class="stack" id="rule-edit-form" on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="op" value=op/>
                {id_field}
                <OptionalField id="description" label="Description" value=description
                    error=errors.get("description")/>
                <Select id="action" label="Action" value=action choices=actions error=errors.get("action")/>
                <Select id="protocol" label="Protocol" value=protocol choices=protocols
                    error=errors.get("protocol")/>
                <OptionalField id="port" label="Destination port" value=port
                    error=errors.get("port")
                    hint="TCP and UDP only: 443, 8000-8080, or a list such as 80, 443. Empty: every port."/>
                <Select id="source" label="From" value=source choices=choices.clone()
                    error=errors.get("source")/>
                <OptionalField id="source_cidr" label="From CIDR" value=source_cidr
                    error=errors.get("source_cidr") hint="Only when From is a CIDR prefix."/>
                <Select id="destination" label="To" value=destination choices=choices
                    error=errors.get("destination")/>
                <OptionalField id="destination_cidr" label="To CIDR" value=destination_cidr
                    error=errors.get("destination_cidr") hint="Only when To is a CIDR prefix."/>
                <div class="check">
                    <input type="checkbox" name="disabled" id="disabled" value="1" checked=disabled/>
                    <label for="disabled">"Disabled (kept, but not applied)"</label>
                </div>
                <div class="buttons">
                    <button type="submit" formaction=preview_action class="secondary" id="preview-button">
                        "Preview"
                    </button>
                    <button type="submit" class="primary" aria-disabled=move || busy.get().then_some("true")>
                        {move || if busy.get() { "Saving…" } else { save }}
                    </button>
                    {cancel}
                </div>
            </form>
            {preview.map(|pv| view! { <PreviewBody pv=pv/> })}
        </section>
    }
}

/// A text field that may stay empty.
#[component]
fn OptionalField(
    id: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    #[prop(default = "")] hint: &'static str,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if error.is_some() {
        format!("{err_id} {hint_id}")
    } else {
        hint_id.clone()
    };
    let invalid = error.is_some().then_some("true");
    let has_error = error.is_some();
    view! {
        <div class="field" class:has-error=has_error>
            <label for=id>{label}</label>
            <input id=id name=id type="text" value=value autocomplete="off" spellcheck="false"
                autofocus=has_error aria-invalid=invalid aria-describedby=described/>
            {error.map(|e| view! { <p class="field-error" id=err_id>{e}</p> })}
            <small class="muted" id=hint_id>{hint}</small>
        </div>
    }
}

/// A delete or reorder preview, with the button that makes the change.
#[component]
fn PreviewCard(pv: PreviewView, csrf: String, back: String) -> impl IntoView {
    let confirm = pv.confirm.clone();
    let busy = RwSignal::new(false);
    view! {
        <section class="card preview-card" aria-labelledby="preview-h">
            {confirm.map(|c| {
                let class = if c.danger { "danger" } else { "primary" };
                let label = c.label.clone();
                view! {
                    <form method="post" action=c.action class="confirm" id="confirm-form"
                        on:submit=busy_submit(busy)>
                        <input type="hidden" name="csrf" value=csrf/>
                        {c.fields
                            .into_iter()
                            .map(|(k, v)| view! { <input type="hidden" name=k value=v/> })
                            .collect_view()}
                        <button type="submit" class=class id="confirm-change"
                            aria-disabled=move || busy.get().then_some("true")>{label}</button>
                        " " <a href=back>"Cancel"</a>
                    </form>
                }
            })}
            <PreviewBody pv=pv/>
        </section>
    }
}

/// What a change would do, device by device.
#[component]
fn PreviewBody(pv: PreviewView) -> impl IntoView {
    let PreviewView {
        title,
        devices,
        warnings,
        ..
    } = pv;
    view! {
        <div class="preview" id="preview" role="region" aria-labelledby="preview-h">
            <h3 id="preview-h">"Preview: " {title}</h3>
            {warnings
                .into_iter()
                .map(|w| view! { <p class="warning">{w}</p> })
                .collect_view()}
            {if devices.is_empty() {
                view! { <p class="empty">"No device configuration would change."</p> }.into_any()
            } else {
                view! {
                    <p class="muted">"Lines that would go (−) and come (+) on each device."</p>
                    {devices
                        .into_iter()
                        .map(|d| {
                            let what = if d.kind == "router" { "VyOS router" } else { "OVS hypervisor" };
                            let summary = format!(
                                "{what} {}: −{} +{}",
                                d.device,
                                d.removed.len() + d.more_removed,
                                d.added.len() + d.more_added
                            );
                            let more = (d.more_removed + d.more_added > 0).then(|| {
                                let text = format!(
                                    "… and {} more lines (−{} +{}), not shown here.",
                                    d.more_removed + d.more_added,
                                    d.more_removed,
                                    d.more_added
                                );
                                view! { <p class="muted more-lines">{text}</p> }
                            });
                            view! {
                                <details class="device-diff" data-device=d.device.clone() data-kind=d.kind open=true>
                                    <summary>{summary}</summary>
                                    <pre class="diff"><code>
                                        {d.removed
                                            .into_iter()
                                            .map(|l| view! { <span class="del">"− " {l}</span> })
                                            .collect_view()}
                                        {d.added
                                            .into_iter()
                                            .map(|l| view! { <span class="add">"+ " {l}</span> })
                                            .collect_view()}
                                    </code></pre>
                                    {more}
                                </details>
                            }
                        })
                        .collect_view()}
                }
                .into_any()
            }}
        </div>
    }
}
