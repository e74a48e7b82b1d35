//! The links between pages. Every page head is the same:
//! `[back] h1 [a line about the page] tabs`. The tabs are the tenant's
//! ([`TenantNav`]) or the console's; a tab's own page has no back link
//! (its tabs are the way around), and a page below a tab (a job, a
//! network, a client, a device, a revision, a spec, a password reset) has
//! [`back_link`] first and its tab current.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The way back from a page below a tab to the list it belongs to: the
/// page head's first line, "← " and the list's name. A plain function (no
/// component) keeps it one copy in the browser bundle.
#[cfg(feature = "ssr")]
pub fn back_link(href: String, label: String) -> AnyView {
    view! { <p class="muted back"><a href=href>"← " {label}</a></p> }.into_any()
}

/// Which of a tenant's pages is shown (for the navigation's current link).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TenantTab {
    Dashboard,
    Policy,
    Clients,
    Members,
    Tokens,
    Changes,
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
    links.push((TenantTab::Changes, format!("/t/{slug}/changes"), "Changes"));
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
