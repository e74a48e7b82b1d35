//! An audit log's entries with their filters and pager: the tenant's page
//! and the admin console show the same list.

use leptos::prelude::*;

use super::lists::{FilterBarView, PagerView};
use crate::data::lists::{FilterBar, Pager};
use crate::data::members::AuditRow;

/// An audit log page: its filter bar, its entries (each with the job its
/// change queued, linked to `{jobs}/N`, and its before and after when
/// recorded) and its pager. `tenants`: the console's whole log shows each
/// entry's tenant.
#[component]
pub fn AuditList(
    entries: Vec<AuditRow>,
    filters: FilterBar,
    pager: Pager,
    jobs: String,
    tenants: bool,
) -> impl IntoView {
    let active = filters.active;
    let list = if entries.is_empty() {
        let text = if active {
            "No entry matches these filters."
        } else {
            "Nothing recorded yet."
        };
        view! { <p class="empty">{text}</p> }.into_any()
    } else {
        let rows = entries
            .into_iter()
            .map(|e| {
                let AuditRow {
                    id,
                    at,
                    actor,
                    action,
                    object,
                    source,
                    job,
                    tenant,
                    before,
                    after,
                } = e;
                let failed = action.ends_with(".failed") || action.contains("reuse_detected");
                let job = job.map(|j| {
                    view! { <a href=format!("{jobs}/{j}") class="job-id" aria-label=format!("Job #{j}")>"#" {j}</a> }
                });
                let tenant = tenants.then(|| {
                    view! {
                        <td data-label="Tenant">
                            {match tenant {
                                Some(t) => view! { <a href=format!("/t/{t}")>{t.clone()}</a> }.into_any(),
                                None => view! { <span class="muted">"platform"</span> }.into_any(),
                            }}
                        </td>
                    }
                });
                let detail = (before.is_some() || after.is_some()).then(|| {
                    view! {
                        <details class="audit-detail">
                            <summary>"Before and after"</summary>
                            <div class="before-after">
                                <div>
                                    <h4>"Before"</h4>
                                    {match before {
                                        Some(b) => view! { <pre class="json">{b}</pre> }.into_any(),
                                        None => view! { <p class="muted">"nothing (created)"</p> }.into_any(),
                                    }}
                                </div>
                                <div>
                                    <h4>"After"</h4>
                                    {match after {
                                        Some(a) => view! { <pre class="json">{a}</pre> }.into_any(),
                                        None => view! { <p class="muted">"nothing (deleted)"</p> }.into_any(),
                                    }}
                                </div>
                            </div>
                        </details>
                    }
                });
                view! {
                    <tr data-key=id.to_string() class:audit-failed=failed>
                        <th scope="row"><code class="token">{action}</code></th>
                        <td data-label="Object"><code class="path">{path_view(&object)}</code>{detail}</td>
                        {tenant}
                        <td data-label="Job">{job}</td>
                        <td data-label="When" class="when">{at}</td>
                        <td data-label="Who" class="actor">{who_view(&actor)}</td>
                        <td data-label="From">{source}</td>
                    </tr>
                }
            })
            .collect_view();
        let tenant_head = tenants.then(|| view! { <th scope="col">"Tenant"</th> });
        view! {
            <div class="scroll">
                <table id="audit" class="stack-on-phone">
                    <thead>
                        <tr>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Object"</th>
                            {tenant_head}
                            <th scope="col">"Job"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"From"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <FilterBarView bar=filters id="audit-filters"/>
        {list}
        <PagerView pager=pager/>
    }
}

/// Who made a change (`user:a-b@example.com`): it may break after its
/// kind's colon and before the `@` only, each piece whole (a dash inside a
/// name is no place to break), so the console's wider table still fits a
/// 1280-px screen.
fn who_view(actor: &str) -> AnyView {
    let (kind, rest) = match actor.split_once(':') {
        Some((k, r)) if !k.is_empty() && !k.contains('@') => (format!("{k}:"), r),
        _ => (String::new(), actor),
    };
    let mut pieces = Vec::new();
    if !kind.is_empty() {
        pieces.push(kind);
    }
    split_at_sign(rest, &mut pieces);
    whole_pieces(pieces)
}

/// A path that may break after its slashes and before an address's `@`
/// only, never inside a name (`users/` `finance-admin` `@example.com`).
pub fn path_view(path: &str) -> AnyView {
    let segments: Vec<&str> = path.split('/').collect();
    let mut pieces = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let seg = if i + 1 < segments.len() {
            format!("{seg}/")
        } else {
            seg.to_string()
        };
        split_at_sign(&seg, &mut pieces);
    }
    whole_pieces(pieces)
}

/// `a@b` as `a` and `@b` (an address breaks before its `@`).
fn split_at_sign(s: &str, pieces: &mut Vec<String>) {
    match s.split_once('@') {
        Some((user, domain)) if !user.is_empty() => {
            pieces.push(user.to_string());
            pieces.push(format!("@{domain}"));
        }
        _ => pieces.push(s.to_string()),
    }
}

/// Pieces that never break inside (`.whole`), with a `<wbr>` between.
fn whole_pieces(pieces: Vec<String>) -> AnyView {
    let last = pieces.len().saturating_sub(1);
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            view! { <span class="whole">{p}</span> {(i < last).then(|| view! { <wbr/> })} }
        })
        .collect_view()
        .into_any()
}
