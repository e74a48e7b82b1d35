//! The root of every page: the header (with the user and a logout button)
//! and the page the props name. The one module that knows every page.

use leptos::prelude::*;

use crate::data::props::{Page, PageProps, User};
#[cfg(feature = "ssr")]
use crate::pages::account::{LoginPage, PasswordPageView};
#[cfg(feature = "ssr")]
use crate::pages::admin::ConsoleView;
#[cfg(feature = "ssr")]
use crate::pages::clients::ClientDeleteView;
use crate::pages::clients::ClientsPageView;
use crate::pages::dashboard::DashboardPage;
#[cfg(feature = "ssr")]
use crate::pages::dashboard::NetworkEditPage;
#[cfg(feature = "ssr")]
use crate::pages::job::JobPageView;
#[cfg(feature = "ssr")]
use crate::pages::jobs::JobsPageView;
#[cfg(feature = "ssr")]
use crate::pages::members::{AuditView, MembersView, TokensView};
use crate::pages::policy::PolicyPageView;
#[cfg(feature = "ssr")]
use crate::widgets::error::ErrorView;

/// The root of every page: the header (with the user and a logout button)
/// and the page itself.
#[component]
pub fn App(props: PageProps) -> impl IntoView {
    let help = props.help();
    let PageProps { user, csrf, page } = props;
    let home = match &user {
        Some(u) if u.platform_admin => "/admin".to_string(),
        Some(u) => u
            .tenant
            .as_ref()
            .map(|t| format!("/t/{t}"))
            .unwrap_or_else(|| "/".into()),
        None => "/login".to_string(),
    };
    let main = match page {
        #[cfg(feature = "ssr")]
        Page::Login(l) => view! { <LoginPage login=l/> }.into_any(),
        Page::Dashboard(d) => view! { <DashboardPage d=*d csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::Admin(c) => view! { <ConsoleView c=*c csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::Members(m) => view! { <MembersView p=*m csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::Tokens(t) => view! { <TokensView p=*t csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::TenantAudit(a) => view! { <AuditView p=*a/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::NetworkEdit(e) => view! { <NetworkEditPage e=*e csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::Password(p) => view! { <PasswordPageView p=p csrf=csrf.clone()/> }.into_any(),
        Page::Policy(p) => view! { <PolicyPageView p=*p csrf=csrf.clone()/> }.into_any(),
        Page::Clients(c) => view! { <ClientsPageView p=*c csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::ClientDelete(d) => view! { <ClientDeleteView d=*d csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::Job(j) => view! { <JobPageView p=*j csrf=csrf.clone()/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::Jobs(j) => view! { <JobsPageView p=*j/> }.into_any(),
        #[cfg(feature = "ssr")]
        Page::NotFound => view! {
            <ErrorView status=404 title="Not found".to_string()
                detail="There is nothing here, or it is not yours to see.".to_string()/>
        }
        .into_any(),
        #[cfg(feature = "ssr")]
        Page::Error(e) => {
            view! { <ErrorView status=e.status title=e.title detail=e.detail/> }.into_any()
        }
    };
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <a class="brand" href=home>"vxguard"</a>
            <a class="help" href=help>"Help"</a>
            {user.map(|u| view! { <UserBox user=u csrf=csrf/> })}
        </header>
        <main id="main" tabindex="-1">{main}</main>
    }
}

#[component]
fn UserBox(user: User, csrf: String) -> impl IntoView {
    view! {
        <div class="who">
            <span class="email">{user.email}</span>
            " "
            <span class="role">{user.role}</span>
            " "
            <a href="/account/password" class="link">"Change password"</a>
            <form method="post" action="/logout" class="inline">
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" class="link">"Log out"</button>
            </form>
        </div>
    }
}
