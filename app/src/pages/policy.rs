//! The tenant's services and policy page: the rules in the order they are
//! evaluated (shadowed and disabled ones marked), the default action, and
//! for tenant admins a rule form plus move, enable/disable and delete
//! buttons. Every change can be previewed first: the server compiles the
//! tenant with and without it and the page shows the lines that would go
//! and come on each device. Plain forms; nothing here needs JavaScript.

use leptos::prelude::*;

use crate::data::policy::{PolicyPage, PreviewView, RuleForm, ServiceItem};
#[cfg(feature = "ssr")]
use crate::data::policy::{RuleFilter, RulePager, RuleRow, ServiceForm, RULES_PER_PAGE};
use crate::widgets::form::{busy_submit, Field};
use crate::widgets::nav::{TenantNav, TenantTab};

fn endpoint_choices(services: &[ServiceItem], networks: &[String]) -> Vec<(String, String)> {
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
        name: _,
        can_write,
        default_action,
        tenant_version,
        services,
        service_form,
        rules,
        pager,
        filter,
        total_rules,
        order_version,
        networks,
        form,
        preview,
        notice,
        alerts,
    } = p;
    // Drag and drop over the rules (their rows are server-rendered HTML):
    // installed once the page is hydrated, only for those who may move.
    #[cfg(feature = "hydrate")]
    if can_write {
        Effect::new(move |_| drag::install());
    }
    let choices = endpoint_choices(&services, &networks);
    let service_names: Vec<String> = services.iter().map(|s| s.id.clone()).collect();
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
    // The rules, the services and the default action need no JavaScript:
    // the server alone renders them (`inner_html`, which hydration leaves as
    // the server wrote it), so the browser bundle holds neither their views
    // nor a hydrated element per row.
    #[cfg(feature = "ssr")]
    let (rules_html, services_html) = (
        view! {
            <RuleSearch filter=filter.clone() services=service_names slug=slug.clone()
                shown=pager.total total=total_rules/>
            <RulesTable rules=rules slug=slug.clone() csrf=csrf.clone() can_write=can_write
                total=total_rules order_version=order_version filtered=!filter.is_empty()/>
            <Pager pager=pager slug=slug.clone() filter=filter/>
        }
        .to_html(),
        view! {
            <ServicesCard services=services form=service_form slug=slug.clone()
                csrf=csrf.clone() can_write=can_write/>
            <DefaultActionCard action=default_action.clone() version=tenant_version slug=slug.clone()
                csrf=csrf.clone() can_write=can_write/>
        }
        .to_html(),
    );
    #[cfg(not(feature = "ssr"))]
    let (rules_html, services_html) = {
        let _ = (
            services,
            service_form,
            rules,
            pager,
            filter,
            total_rules,
            order_version,
        );
        let _ = (service_names, tenant_version);
        (String::new(), String::new())
    };
    view! {
        <div class="page-head">
            <h1>"Services and policy"</h1>
            <p class="muted">"Tenant " <code>{slug.clone()}</code>
                " · rules apply in order, first match wins; traffic no rule matches: "
                <code id="default-action">{default_action.clone()}</code></p>
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
                <div class="server-only" inner_html=rules_html></div>
            </section>
            {form_view}
            <div class="server-only" inner_html=services_html></div>
        </div>
    }
}

#[cfg(feature = "ssr")]
#[component]
fn RulesTable(
    rules: Vec<RuleRow>,
    slug: String,
    csrf: String,
    can_write: bool,
    /// Every rule's count (positions go from 1 to it).
    total: usize,
    order_version: String,
    filtered: bool,
) -> impl IntoView {
    if rules.is_empty() {
        let text = if filtered {
            "No rule matches the search."
        } else {
            "No rules yet: all traffic gets the default action."
        };
        return view! { <p class="empty" id="rules-empty">{text}</p> }.into_any();
    }
    // Dragging a row (its handle) onto another submits the row's own move
    // form with that row's position (`drag`, once hydrated); without
    // JavaScript the handles stay hidden and the move forms do it.
    let draggable = (can_write && total > 1).then_some("move");
    view! {
        {draggable.map(|_| view! {
            <p class="muted drag-help" id="drag-help">
                "Drag a rule by its handle ⠿ onto another rule to move it there, or type its new position: the move is previewed first, and the rule keeps its number."
            </p>
            <p class="sr-only" id="drag-status" role="status" aria-live="polite"></p>
        })}
        <div class="scroll">
            <table id="rules" class="stack-on-phone" data-drag=draggable>
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
                        .map(|r| {
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
                            let position = r.position;
                            let actions = can_write.then(|| {
                                view! {
                                    <td class="rule-actions">
                                        <RuleActions r=r.clone() position=position total=total
                                            slug=slug.clone() csrf=csrf.clone()
                                            order_version=order_version.clone()/>
                                    </td>
                                }
                            });
                            let class = if r.disabled { "disabled" } else { "" };
                            let handle = draggable.map(|_| {
                                view! {
                                    <button type="button" class="drag-handle" tabindex="-1"
                                        aria-label=format!("Drag rule {} to another position (or press to type it)", r.id)
                                        title="Drag onto another rule to move this one there">"⠿"</button>
                                }
                            });
                            view! {
                                <tr data-rule=r.id.to_string() id=format!("rule-{}", r.id) class=class
                                    data-position=position.to_string()>
                                    <td data-label="Position" class="rule-pos">{handle}{position}</td>
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

/// Search and filters over the rules: a plain GET form, so a filtered
/// list is a link that can be shared and needs no JavaScript.
#[cfg(feature = "ssr")]
#[component]
fn RuleSearch(
    filter: RuleFilter,
    services: Vec<String>,
    slug: String,
    /// How many rules the filter lets through, and how many there are.
    shown: usize,
    total: usize,
) -> impl IntoView {
    let base = format!("/t/{slug}/policy");
    let actions = [
        ("", "Any verdict"),
        ("accept", "Accept"),
        ("drop", "Drop"),
        ("reject", "Reject"),
    ];
    let active = !filter.is_empty();
    let summary = if active {
        format!("{shown} of {total} rules match")
    } else {
        format!("{total} rules")
    };
    let service = filter.service.clone();
    let action = filter.action.clone();
    view! {
        <form method="get" action=base.clone() class="rule-search" id="rule-search" role="search"
            aria-label="Search the rules">
            <div class="field">
                <label for="rules-q">"Find rules"</label>
                <input type="search" id="rules-q" name="q" value=filter.q.clone()
                    placeholder="number, description, port, network…" autocomplete="off" spellcheck="false"/>
            </div>
            <div class="field">
                <label for="rules-action">"Verdict"</label>
                <select id="rules-action" name="action">
                    {actions
                        .into_iter()
                        .map(|(v, l)| view! { <option value=v selected=v == action>{l}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="rules-service">"Service used"</label>
                <select id="rules-service" name="service">
                    <option value="" selected=service.is_empty()>"Any service"</option>
                    {services
                        .into_iter()
                        .map(|v| {
                            let sel = v == service;
                            let label = v.clone();
                            view! { <option value=v selected=sel>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="buttons">
                <button type="submit" class="small">"Search"</button>
                {active.then(|| view! { <a href=base.clone() id="rules-clear">"Clear"</a> })}
            </div>
            <p class="muted" id="rules-count" role="status">{summary}</p>
        </form>
    }
}

/// Which rules this page shows, the links to the pages around it and a
/// "go to page" form (a plain GET: no JavaScript needed).
#[cfg(feature = "ssr")]
#[component]
fn Pager(pager: RulePager, slug: String, filter: RuleFilter) -> impl IntoView {
    let RulePager {
        page,
        pages,
        first,
        total,
    } = pager;
    let base = format!("/t/{slug}/policy");
    let keep = filter.query();
    let link = |to: usize, text: &'static str, rel: &'static str, id: &'static str| {
        let href = format!("{base}?page={to}{keep}#rules-h");
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
                    {[("q", filter.q.clone()), ("action", filter.action.clone()), ("service", filter.service.clone())]
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| view! { <input type="hidden" name=k value=v/> })
                        .collect_view()}
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
#[cfg(feature = "ssr")]
#[component]
fn RuleActions(
    r: RuleRow,
    position: usize,
    total: usize,
    slug: String,
    csrf: String,
    order_version: String,
) -> impl IntoView {
    let preview = format!("/t/{slug}/policy/preview#preview");
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
    let preview_action = format!("/t/{slug}/policy/preview#preview");
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
                hint="A rule's number never changes. A new rule goes right after the rule with the next lower number; move it anywhere afterwards."/>
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
            <form method="post" action=act class="stack" id="rule-edit-form" novalidate on:submit=busy_submit(busy)>
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
            {preview.map(preview_html)}
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
            {preview_html(pv)}
        </section>
    }
}

/// What a change would do (the server renders it alone, as the rules).
fn preview_html(pv: PreviewView) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let html = view! { <PreviewBody pv=pv/> }.to_html();
    #[cfg(not(feature = "ssr"))]
    let html = {
        let _ = pv;
        String::new()
    };
    view! { <div class="server-only" inner_html=html></div> }
}

/// What a change would do, device by device.
#[cfg(feature = "ssr")]
#[component]
pub(crate) fn PreviewBody(pv: PreviewView) -> impl IntoView {
    let PreviewView {
        title,
        summary,
        devices,
        warnings,
        ..
    } = pv;
    view! {
        <div class="preview" id="preview" role="region" aria-labelledby="preview-h" tabindex="-1">
            <h3 id="preview-h">"Preview: " {title}</h3>
            <p class="preview-summary" id="preview-summary">{summary}</p>
            {warnings
                .into_iter()
                .map(|w| view! { <p class="warning">{w}</p> })
                .collect_view()}
            {(!devices.is_empty()).then(|| {
                view! {
                    <p class="muted">"Lines that would go (−) and come (+), once per group of devices that change the same."</p>
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
                            let same = (!d.same_on.is_empty()).then(|| {
                                let text = format!(" · same on {}", d.same_on.join(", "));
                                view! { <span class="same-on">{text}</span> }
                            });
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
                                    <summary>{summary}{same}</summary>
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
            })}
        </div>
    }
}

/// The tenant's services: each with its addresses and the rules that use
/// it, an Edit link and a Delete button (tenant admins), and the service
/// form. A service still in use cannot be deleted: the error at its row
/// names the rules.
#[cfg(feature = "ssr")]
#[component]
fn ServicesCard(
    services: Vec<ServiceItem>,
    form: ServiceForm,
    slug: String,
    csrf: String,
    can_write: bool,
) -> impl IntoView {
    let list = if services.is_empty() {
        view! { <p class="empty">"No services yet: a service names addresses that rules can use as source or destination."</p> }
            .into_any()
    } else {
        view! {
            <div class="scroll">
                <table id="services" class="stack-on-phone">
                    <thead>
                        <tr>
                            <th scope="col">"Service"</th>
                            <th scope="col">"Addresses"</th>
                            <th scope="col">"Used by"</th>
                            {can_write.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {services
                            .into_iter()
                            .map(|sv| {
                                let used = if sv.used_by.is_empty() {
                                    "no rule".to_string()
                                } else {
                                    let n: Vec<String> = sv.used_by.iter().map(|r| r.to_string()).collect();
                                    format!("{} {}", if n.len() == 1 { "rule" } else { "rules" }, n.join(", "))
                                };
                                let err_id = format!("service-{}-error", sv.id);
                                let actions = can_write.then(|| {
                                    let edit = format!("/t/{slug}/policy?edit_service={}#service-form", sv.id);
                                    let del = format!("/t/{slug}/policy/services/{}/delete", sv.id);
                                    let described = sv.error.is_some().then(|| err_id.clone());
                                    view! {
                                        <td class="rule-actions">
                                            <div class="row-actions">
                                                <a href=edit class="edit" aria-label=format!("Edit service {}", sv.id)>"Edit"</a>
                                                <form method="post" action=del class="inline">
                                                    <input type="hidden" name="csrf" value=csrf.clone()/>
                                                    <input type="hidden" name="version" value=sv.version.to_string()/>
                                                    <button type="submit" class="small danger-text" aria-describedby=described
                                                        aria-label=format!("Delete service {}", sv.id)>"Delete"</button>
                                                </form>
                                            </div>
                                        </td>
                                    }
                                });
                                view! {
                                    <tr data-service=sv.id.clone() class:has-error=sv.error.is_some()>
                                        <th scope="row">
                                            <strong>{sv.id.clone()}</strong>
                                            {(!sv.description.is_empty()).then(|| view! { <br/><small class="muted">{sv.description.clone()}</small> })}
                                            {sv.error.clone().map(|e| view! { <p class="field-error" id=err_id.clone() role="alert">{e}</p> })}
                                        </th>
                                        <td data-label="Addresses"><code class="addresses">{sv.addresses.join(", ")}</code></td>
                                        <td data-label="Used by" class="used-by">{used}</td>
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
    };
    let form_view = can_write
        .then(|| view! { <ServiceFormView form=form slug=slug.clone() csrf=csrf.clone()/> });
    view! {
        <section class="card wide" aria-labelledby="services-h">
            <h2 id="services-h">"Services"</h2>
            {list}
            {form_view}
        </section>
    }
}

#[cfg(feature = "ssr")]
#[component]
fn ServiceFormView(form: ServiceForm, slug: String, csrf: String) -> impl IntoView {
    let ServiceForm {
        editing,
        id,
        description,
        addresses,
        errors,
    } = form;
    let (title, act, save) = match editing {
        Some(_) => (
            format!("Edit service {id}"),
            format!("/t/{slug}/policy/services/{id}"),
            "Save service",
        ),
        None => (
            "Add a service".to_string(),
            format!("/t/{slug}/policy/services"),
            "Add service",
        ),
    };
    let busy = RwSignal::new(false);
    let name_field = match editing {
        Some(v) => view! {
            <input type="hidden" name="id" value=id.clone()/>
            <input type="hidden" name="version" value=v.to_string()/>
        }
        .into_any(),
        None => view! {
            <Field id="service_id" label="Name" value=id.clone() error=errors.get("id")
                hint="Lowercase letters, digits and dashes, e.g. web-servers. It cannot change later."/>
        }
        .into_any(),
    };
    let addr_err = errors.get("addresses");
    let addr_has_error = addr_err.is_some();
    let addr_invalid = addr_err.is_some().then_some("true");
    let addr_described = if addr_err.is_some() {
        "service_addresses-error service_addresses-hint"
    } else {
        "service_addresses-hint"
    };
    let cancel = editing.map(|_| {
        let href = format!("/t/{slug}/policy");
        view! { <a href=href>"Cancel"</a> }
    });
    view! {
        <div id="service-form" class="subform">
            <h3 id="service-form-h">{title}</h3>
            {(!errors.form.is_empty()).then(|| view! {
                <div class="alert" role="alert" id="service-form-errors">
                    <p>"The service was not saved:"</p>
                    <ul>{errors.form.clone().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })}
            <form method="post" action=act class="stack" id="service-edit-form" novalidate on:submit=busy_submit(busy)
                aria-labelledby="service-form-h">
                <input type="hidden" name="csrf" value=csrf/>
                {name_field}
                <OptionalField id="service_description" label="Purpose" value=description
                    error=errors.get("description")/>
                <div class="field" class:has-error=addr_has_error>
                    <label for="service_addresses">"Addresses"</label>
                    <textarea id="service_addresses" name="addresses" rows="3" spellcheck="false"
                        autofocus=addr_has_error aria-invalid=addr_invalid
                        aria-describedby=addr_described>{addresses}</textarea>
                    {addr_err.map(|e| view! { <p class="field-error" id="service_addresses-error">{e}</p> })}
                    <small class="muted" id="service_addresses-hint">
                        "IPv4 prefixes, one per line or separated by commas: 100.64.1.10/32, 100.64.2.0/28."
                    </small>
                </div>
                <div class="buttons">
                    <button type="submit" class="primary" aria-disabled=move || busy.get().then_some("true")>
                        {move || if busy.get() { "Saving…" } else { save }}
                    </button>
                    {cancel}
                </div>
            </form>
        </div>
    }
}

/// What the policy does with traffic no rule matches; tenant admins change
/// it (at the tenant's version the page showed).
#[cfg(feature = "ssr")]
#[component]
fn DefaultActionCard(
    action: String,
    version: i64,
    slug: String,
    csrf: String,
    can_write: bool,
) -> impl IntoView {
    let form = can_write.then(|| {
        let choices = [
            ("accept", "Accept"),
            ("drop", "Drop (silently)"),
            ("reject", "Reject (tell the sender)"),
        ];
        let act = format!("/t/{slug}/policy/default");
        let preview = format!("/t/{slug}/policy/preview#preview");
        view! {
            <form method="post" action=act class="inline-form" id="default-action-form">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="version" value=version.to_string()/>
                <label for="default_action">"Traffic no rule matches"</label> " "
                <select id="default_action" name="default_action">
                    {choices
                        .into_iter()
                        .map(|(v, l)| view! { <option value=v selected=v == action>{l}</option> })
                        .collect_view()}
                </select> " "
                <button type="submit" class="small secondary" formaction=preview name="op" value="default"
                    id="default-preview" aria-label="Preview the default action">"Preview"</button> " "
                <button type="submit" class="small">"Save default action"</button>
            </form>
        }
    });
    view! {
        <section class="card" aria-labelledby="default-h">
            <h2 id="default-h">"When no rule matches"</h2>
            <p class="muted">"The default action: what happens to traffic that no enabled rule matches."</p>
            {form}
        </section>
    }
}

/// Moving a rule by dragging its row's handle (⠿) onto another row, with
/// pointer events (a mouse, a pen or a finger): while dragging, the row
/// under the pointer shows where the rule would land (a line above it when
/// the rule moves up, below it when it moves down) and a status line says
/// it in words; on release the dragged row's own move form (`op=move`,
/// `rule`, `to`, `order_version`) is submitted with `to` set to that row's
/// position, so the server works out the order and shows its preview as
/// for the form. Escape, or releasing outside the rules, cancels. Pressing
/// the handle without dragging focuses the row's position field: the
/// keyboard's way to the same move.
#[cfg(feature = "hydrate")]
mod drag {
    use leptos::prelude::{document, window};
    use leptos::wasm_bindgen::{closure::Closure, JsCast};
    use leptos::web_sys::{
        Element, Event, HtmlElement, HtmlFormElement, HtmlInputElement, KeyboardEvent, PointerEvent,
    };
    use std::cell::RefCell;

    /// The drag under way: the dragged row, its rule and position, and the
    /// position it would go to now.
    struct Drag {
        row: Element,
        rule: String,
        from: usize,
        to: Option<usize>,
        target: Option<Element>,
        /// The pointer's last height, to scroll only towards where it goes.
        y: i32,
    }

    thread_local! {
        static DRAG: RefCell<Option<Drag>> = const { RefCell::new(None) };
        /// A drag just ended on the handle: the click that follows is not a press.
        static DRAGGED: RefCell<bool> = const { RefCell::new(false) };
    }

    fn listen<E: JsCast + 'static>(on: &leptos::web_sys::EventTarget, name: &str, f: fn(E)) {
        let cb = Closure::<dyn Fn(Event)>::new(move |e: Event| {
            if let Ok(e) = e.dyn_into::<E>() {
                f(e)
            }
        });
        let _ = on.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
        cb.forget();
    }

    pub fn install() {
        let Some(table) = document().get_element_by_id("rules") else {
            return;
        };
        if !table.has_attribute("data-drag") {
            return;
        }
        listen::<PointerEvent>(&table, "pointerdown", down);
        listen::<PointerEvent>(&table, "pointermove", moving);
        listen::<PointerEvent>(&table, "pointerup", up);
        listen::<PointerEvent>(&table, "pointercancel", |_| cancel());
        listen::<Event>(&table, "click", press);
        listen::<KeyboardEvent>(&document(), "keydown", |e| {
            if e.key() == "Escape" {
                cancel();
            }
        });
    }

    fn handle_of(e: &Event) -> Option<Element> {
        e.target()?
            .dyn_into::<Element>()
            .ok()?
            .closest(".drag-handle")
            .ok()?
    }

    fn position(row: &Element) -> Option<usize> {
        row.get_attribute("data-position")?.parse().ok()
    }

    fn say(text: &str) {
        if let Some(s) = document().get_element_by_id("drag-status") {
            s.set_text_content(Some(text));
        }
    }

    fn down(e: PointerEvent) {
        let Some(handle) = handle_of(&e) else { return };
        if e.button() != 0 {
            return;
        }
        let Some(row) = handle.closest("tr[data-rule]").ok().flatten() else {
            return;
        };
        let (Some(rule), Some(from)) = (row.get_attribute("data-rule"), position(&row)) else {
            return;
        };
        e.prevent_default();
        let _ = handle.set_pointer_capture(e.pointer_id());
        let _ = row.class_list().add_1("dragging");
        say(&format!(
            "Moving rule {rule} from position {from}: drop it on another rule."
        ));
        DRAG.with(|d| {
            *d.borrow_mut() = Some(Drag {
                row,
                rule,
                from,
                to: None,
                target: None,
                y: e.client_y(),
            })
        });
    }

    /// The row under the pointer, if it is another rule's.
    fn row_at(x: i32, y: i32) -> Option<Element> {
        let el = document().element_from_point(x as f32, y as f32)?;
        el.closest("#rules tbody tr[data-rule]").ok()?
    }

    fn unmark(d: &mut Drag) {
        if let Some(t) = d.target.take() {
            let _ = t.class_list().remove_2("drop-before", "drop-after");
        }
        d.to = None;
    }

    fn moving(e: PointerEvent) {
        DRAG.with(|d| {
            let mut d = d.borrow_mut();
            let Some(d) = d.as_mut() else { return };
            e.prevent_default();
            // Moving towards the window's top or bottom edge, near it, the
            // page scrolls along.
            let h = window().inner_height().ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as i32;
            let (y, dy) = (e.client_y(), e.client_y() - d.y);
            d.y = y;
            if y < 48 && dy < 0 {
                window().scroll_by_with_x_and_y(0.0, -24.0);
            } else if h > 0 && y > h - 48 && dy > 0 {
                window().scroll_by_with_x_and_y(0.0, 24.0);
            }
            let over = row_at(e.client_x(), e.client_y());
            if over.as_ref() == d.target.as_ref() && over.is_some() {
                return;
            }
            unmark(d);
            let Some(row) = over else {
                say(&format!("Moving rule {}: drop it on another rule.", d.rule));
                return;
            };
            let Some(to) = position(&row).filter(|&p| p != d.from) else {
                return;
            };
            let (class, how) = if to < d.from { ("drop-before", "above") } else { ("drop-after", "below") };
            let _ = row.class_list().add_1(class);
            let other = row.get_attribute("data-rule").unwrap_or_default();
            say(&format!(
                "Rule {} would go to position {to}, {how} rule {other}: release to preview the move.",
                d.rule
            ));
            d.to = Some(to);
            d.target = Some(row);
        });
    }

    fn up(_: PointerEvent) {
        let Some(mut d) = DRAG.with(|d| d.borrow_mut().take()) else {
            return;
        };
        DRAGGED.with(|f| *f.borrow_mut() = d.to.is_some() || d.target.is_some());
        let to = d.to;
        unmark(&mut d);
        let _ = d.row.class_list().remove_1("dragging");
        let Some(to) = to else {
            say("");
            return;
        };
        // The row's own move form, as the keyboard would submit it.
        let form = d.row.query_selector("form.move-to").ok().flatten();
        let input = d
            .row
            .query_selector("form.move-to input[name=to]")
            .ok()
            .flatten();
        let (Some(form), Some(input)) = (
            form.and_then(|f| f.dyn_into::<HtmlFormElement>().ok()),
            input.and_then(|i| i.dyn_into::<HtmlInputElement>().ok()),
        ) else {
            return;
        };
        input.set_value(&to.to_string());
        let _ = d.row.class_list().add_1("moving");
        say(&format!(
            "Previewing the move of rule {} to position {to}…",
            d.rule
        ));
        let _ = form.submit();
    }

    fn cancel() {
        if let Some(mut d) = DRAG.with(|d| d.borrow_mut().take()) {
            unmark(&mut d);
            let _ = d.row.class_list().remove_1("dragging");
            say("Move cancelled.");
        }
    }

    /// A press on a handle (not the end of a drag): to the row's position field.
    fn press(e: Event) {
        if handle_of(&e).is_none() {
            return;
        }
        if DRAGGED.with(|f| std::mem::take(&mut *f.borrow_mut())) {
            return;
        }
        let input = handle_of(&e)
            .and_then(|h| h.closest("tr[data-rule]").ok().flatten())
            .and_then(|r| {
                r.query_selector("form.move-to input[name=to]")
                    .ok()
                    .flatten()
            })
            .and_then(|i| i.dyn_into::<HtmlElement>().ok());
        if let Some(i) = input {
            let _ = i.focus();
        }
    }
}
