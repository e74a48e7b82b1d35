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
                        <td data-label="Who" class="actor">{actor}</td>
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

/// A path that may break after its slashes only (`<wbr>`), never inside a
/// name.
pub fn path_view(path: &str) -> AnyView {
    let mut parts = path.split('/').peekable();
    let mut out: Vec<AnyView> = Vec::new();
    while let Some(p) = parts.next() {
        out.push(p.to_string().into_any());
        if parts.peek().is_some() {
            out.push(view! { "/" <wbr/> }.into_any());
        }
    }
    out.into_iter().collect_view().into_any()
}
