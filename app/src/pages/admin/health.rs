//! The console's device health page (`/admin/health`): the platform map,
//! the counts, and the items a page at a time with filters (status, kind,
//! site, router) as a plain GET form, so filtering and paging work
//! without JavaScript. Rendered by the
//! server alone (`ServerOnly`): the browser bundle holds only
//! [`health_view`]'s empty `inner_html`, which hydration leaves as the
//! server wrote it.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::data::health::ItemRow;
use crate::data::health::{AdminHealth, ServerOnly};
#[cfg(feature = "ssr")]
use crate::data::health::{AlertRow, DeviceHealth, StatTable};
#[cfg(feature = "ssr")]
use crate::widgets::diagram::{status_cell, DiagramView, HealthCounts};
#[cfg(feature = "ssr")]
use crate::widgets::table::{Cell, Row, Table};

/// The section: the server renders [`HealthSection`] into it.
pub fn health_view(h: ServerOnly<Box<AdminHealth>>) -> AnyView {
    #[cfg(feature = "ssr")]
    let html = view! { <HealthSection h=*h.0/> }.to_html();
    #[cfg(not(feature = "ssr"))]
    let html = {
        let _ = h;
        String::new()
    };
    view! { <div id="device-health" inner_html=html></div> }.into_any()
}

/// A `<select>` of a filter: "any" and each choice.
#[cfg(feature = "ssr")]
fn filter(id: &'static str, label: &'static str, chosen: String, choices: Vec<String>) -> AnyView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id name=id>
                <option value="" selected=chosen.is_empty()>"any"</option>
                {choices
                    .into_iter()
                    .map(|c| {
                        let sel = c == chosen;
                        let text = c.clone();
                        view! { <option value=c selected=sel>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
    .into_any()
}

/// The items as table rows: the item, its status with why (and the
/// device's error), the device it is seen on, its site, since when.
#[cfg(feature = "ssr")]
fn item_rows(items: Vec<ItemRow>) -> Vec<Row> {
    items
        .into_iter()
        .map(|i| {
            let mut status = vec![status_cell(i.status, Some(i.reason))];
            status.extend(i.detail.map(|d| Cell::Note(format!("device: {d}"))));
            // The device's health page (its revisions are linked there).
            let device = match i.device {
                Some((_, name)) => Cell::Link {
                    href: format!("/admin/health?router={}", urlencoding(&name)),
                    label: Some(format!("{name}'s health")),
                    text: name,
                    danger: false,
                },
                None => Cell::Muted("none".into()),
            };
            Row {
                key: i.key.clone(),
                cells: vec![
                    Cell::Code(i.key),
                    Cell::Many(status),
                    device,
                    Cell::Text(i.site.unwrap_or_default()),
                    Cell::Text(i.since),
                ],
            }
        })
        .collect()
}

/// A device name in a query string (names are DNS-like, but a name is
/// never trusted to be).
#[cfg(feature = "ssr")]
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One device's section: its status and why, links, and its last 24 hours.
#[cfg(feature = "ssr")]
fn device_section(d: DeviceHealth) -> AnyView {
    let DeviceHealth {
        kind,
        name,
        site,
        status,
        reason,
        detail,
        since,
        counts,
        history,
        revisions,
        stats,
        stats_note,
    } = d;
    let title = format!("{kind} {name}");
    view! {
        <section class="card wide" aria-labelledby="device-h" id="device-health-card">
            <h2 id="device-h">{title}</h2>
            <p>
                <span class=format!("badge health {status}")>{status.clone()}</span>
                " " {reason} <span class="muted">" (" {since} ")"</span>
            </p>
            {detail.map(|d| view! { <p class="muted">"device: " {d}</p> })}
            <p class="muted">
                {site.map(|s| format!("site {s} · "))}
                "its items and the links to it: " <HealthCounts c=counts/>
                " · " <a href=revisions>"its revisions"</a>
            </p>
            <DiagramView d=history/>
            {stats_note.map(|n| view! { <p class="muted" id="device-stats-note">{n}</p> })}
            {stats.into_iter().map(stat_table).collect_view()}
        </section>
    }
    .into_any()
}

/// A table of the device's counters, stacked on phones like the other
/// tables.
#[cfg(feature = "ssr")]
fn stat_table(t: StatTable) -> AnyView {
    let StatTable {
        id,
        caption,
        cols,
        rows,
    } = t;
    let head = cols
        .iter()
        .map(|c| view! { <th scope="col">{c.clone()}</th> })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|r| {
            let mut cells = r.into_iter();
            let first = cells.next().unwrap_or_default();
            let rest = cells
                .zip(cols.iter().skip(1))
                .map(|(c, label)| view! { <td data-label=label.clone()>{c}</td> })
                .collect_view();
            let key = first.clone();
            view! { <tr data-key=key><th scope="row">{first}</th>{rest}</tr> }
        })
        .collect_view();
    view! {
        <h3>{caption}</h3>
        <div class="scroll">
            <table id=id class="stack-on-phone">
                <thead><tr>{head}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The alerts firing now: each with its severity, how many instances and
/// the first few.
#[cfg(feature = "ssr")]
fn alerts_section(alerts: Vec<AlertRow>) -> AnyView {
    let body = if alerts.is_empty() {
        view! { <p class="empty" id="alerts-none">"No alert firing."</p> }.into_any()
    } else {
        let rows = alerts
            .into_iter()
            .map(|a| {
                let mut what = vec![Cell::Badge {
                    class: format!(
                        "health {}",
                        if a.severity == "critical" {
                            "down"
                        } else {
                            "degraded"
                        }
                    ),
                    text: a.severity,
                }];
                what.push(Cell::Note(format!(
                    "{} instance{}",
                    a.instances,
                    if a.instances == 1 { "" } else { "s" }
                )));
                let more = a.instances.saturating_sub(a.examples.len());
                // Separated in words: cells of one `Many` run together.
                let mut ex = vec![Cell::Text(a.examples.join("; "))];
                if more > 0 {
                    ex.push(Cell::Muted(format!("; and {more} more")));
                }
                Row {
                    key: a.alert.clone(),
                    cells: vec![Cell::Code(a.alert), Cell::Many(what), Cell::Many(ex)],
                }
            })
            .collect();
        let cols = vec!["Alert", "Severity", "Where"];
        view! { <Table id="alerts-firing" cols=cols rows=rows/> }.into_any()
    };
    view! {
        <section class="card wide" aria-labelledby="alerts-h" id="alerts-card">
            <h2 id="alerts-h">"Alerts firing now"</h2>
            <p class="muted">
                "The rule file's alerts on the collected state (vxguard monitoring rules, default thresholds), "
                "each held for its duration, computed from the last round."
            </p>
            {body}
        </section>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
#[component]
fn HealthSection(h: AdminHealth) -> impl IntoView {
    let AdminHealth {
        collected_at,
        collected_ago,
        counts,
        status,
        kind,
        site,
        router,
        kinds,
        sites,
        items,
        matched,
        next,
        first,
        map,
        device,
        alerts,
    } = h;
    let collected_any = collected_at.is_some();
    let when = match (collected_at, collected_ago) {
        (Some(at), Some(ago)) => view! {
            <p class="muted" id="health-when">
                "Collected " {ago} " (" {at} "): " <HealthCounts c=counts/>
            </p>
        }
        .into_any(),
        _ => view! {
            <p class="empty" id="health-none">
                "Not collected yet: no collection round has run (VXGUARD_HEALTH_INTERVAL_SECS)."
            </p>
        }
        .into_any(),
    };
    let shown = items.len();
    let table = if items.is_empty() {
        view! { <p class="empty" id="health-empty">"No item matches."</p> }.into_any()
    } else {
        let cols = vec!["Item", "Status", "Device", "Site", "Since"];
        view! { <Table id="health-items" cols=cols rows=item_rows(items)/> }.into_any()
    };
    let statuses = ["ok", "degraded", "down"].map(String::from).to_vec();
    view! {
        {when}
        <div class="grid">
            {device.map(device_section)}
            {collected_any.then(|| alerts_section(alerts))}
            {map.map(|d| view! {
                <section class="card wide" aria-labelledby="map-h">
                    <h2 id="map-h">"Platform map"</h2>
                    <DiagramView d=d/>
                </section>
            })}
            <section class="card wide" aria-labelledby="items-h">
                <h2 id="items-h">"Devices and links"</h2>
                <form method="get" action="/admin/health" class="filters" id="health-filters">
                    {filter("status", "Status", status, statuses)}
                    {filter("kind", "Kind", kind, kinds)}
                    {filter("site", "Site", site, sites)}
                    <div class="field">
                        <label for="router">"Router or hypervisor"</label>
                        <input id="router" name="router" type="text" value=router
                            placeholder="name" autocomplete="off"/>
                    </div>
                    <button type="submit" class="secondary">"Filter"</button>
                    <a href="/admin/health">"Clear"</a>
                </form>
                <p class="muted" id="health-matched">
                    {if shown < matched { format!("{shown} of {matched} matching items, worst first.") }
                     else { format!("{matched} matching items, worst first.") }}
                </p>
                {table}
                {(next.is_some() || first.is_some()).then(|| view! {
                    <nav class="pager" aria-label="Pages of items" id="health-pages">
                        {first.map(|h| view! { <a href=h rel="first">"First page"</a> })}
                        " "
                        {next.map(|h| view! { <a href=h rel="next">"Next page"</a> })}
                    </nav>
                })}
            </section>
        </div>
    }
}
