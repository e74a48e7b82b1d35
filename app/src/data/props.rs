//! What the server hands a page: plain data, serialised into the page for
//! hydration. Times are preformatted strings (UTC), so both sides render
//! the same text.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::account::{ErrorPage, Login, PasswordPage};
use super::dashboard::Dashboard;
#[cfg(feature = "ssr")]
use super::dashboard::NetworkEdit;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageProps {
    /// The signed-in user; `None` on the login page and for anonymous errors.
    pub user: Option<User>,
    /// The session's CSRF token, put in every form (empty when anonymous;
    /// the login form carries its own).
    pub csrf: String,
    pub page: Page,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub email: String,
    /// `platform admin`, `tenant admin` or `tenant member`.
    pub role: String,
    /// The user's tenant slug; `None` for platform admins.
    pub tenant: Option<String>,
    pub platform_admin: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Page {
    #[cfg(feature = "ssr")]
    Login(Login),
    Dashboard(Box<Dashboard>),
    /// The platform admins' console (one of its sections).
    #[cfg(feature = "ssr")]
    Admin(Box<super::admin::Console>),
    /// A tenant's members (admins add and remove them).
    #[cfg(feature = "ssr")]
    Members(Box<super::members::MembersPage>),
    /// A tenant's API tokens (tenant admins).
    #[cfg(feature = "ssr")]
    Tokens(Box<super::members::TokensPage>),
    /// A tenant's audit log.
    #[cfg(feature = "ssr")]
    TenantAudit(Box<super::members::AuditPage>),
    /// Edit or delete one network (tenant admins).
    #[cfg(feature = "ssr")]
    NetworkEdit(Box<NetworkEdit>),
    /// Change password (any signed-in user).
    #[cfg(feature = "ssr")]
    Password(PasswordPage),
    /// The tenant's services and policy rules.
    Policy(Box<super::policy::PolicyPage>),
    /// The tenant's WireGuard clients (`super::clients`).
    Clients(Box<super::clients::ClientsPage>),
    /// Revoke one client (tenant admins).
    #[cfg(feature = "ssr")]
    ClientDelete(Box<super::clients::ClientDelete>),
    /// One job of the tenant and its devices (`super::jobs`).
    #[cfg(feature = "ssr")]
    Job(Box<super::jobs::JobPage>),
    /// The tenant's jobs, searched and filtered (`super::jobs`).
    #[cfg(feature = "ssr")]
    Jobs(Box<super::jobs::JobsPage>),
    /// 404: also what another tenant's page answers.
    #[cfg(feature = "ssr")]
    NotFound,
    #[cfg(feature = "ssr")]
    Error(ErrorPage),
}

impl PageProps {
    #[cfg(feature = "ssr")]
    pub fn title(&self) -> String {
        match &self.page {
            Page::Login(_) => "Log in".into(),
            Page::Dashboard(d) => d.name.clone(),
            Page::Admin(c) => c.title(),
            Page::Members(m) => format!("Members of {}", m.name),
            Page::Tokens(t) => format!("API tokens of {}", t.name),
            Page::TenantAudit(a) => format!("Audit log of {}", a.name),
            Page::Password(_) => "Change password".into(),
            Page::Policy(p) => format!("Policy · {}", p.name),
            Page::Clients(c) => format!("WireGuard clients · {}", c.name),
            Page::ClientDelete(d) => format!("Revoke client {}", d.client.name),
            Page::NetworkEdit(e) if e.confirm_delete => format!("Delete network {}", e.name),
            Page::NetworkEdit(e) => format!("Network {}", e.name),
            Page::Job(j) => format!("Job #{}", j.id),
            Page::Jobs(j) => format!("Changes · {}", j.name),
            Page::NotFound => "Not found".into(),
            Page::Error(e) => e.title.clone(),
        }
    }

    /// The chapter of the guides (served at `/docs/`) about this page: the
    /// header's Help link.
    pub fn help(&self) -> &'static str {
        match &self.page {
            Page::Dashboard(_) => "/docs/tenant/first-steps.html",
            Page::Policy(_) => "/docs/tenant/policy.html",
            Page::Clients(_) => "/docs/tenant/clients.html",
            #[cfg(feature = "ssr")]
            Page::Login(_) | Page::Password(_) => "/docs/tenant/first-steps.html",
            #[cfg(feature = "ssr")]
            Page::NetworkEdit(_) => "/docs/tenant/networks.html",
            #[cfg(feature = "ssr")]
            Page::ClientDelete(_) => "/docs/tenant/clients.html",
            #[cfg(feature = "ssr")]
            Page::Job(_) | Page::Jobs(_) => "/docs/tenant/jobs-and-health.html",
            #[cfg(feature = "ssr")]
            Page::Members(_) | Page::Tokens(_) | Page::TenantAudit(_) => {
                "/docs/tenant/members.html"
            }
            #[cfg(feature = "ssr")]
            Page::Admin(c) => c.help(),
            #[cfg(feature = "ssr")]
            Page::NotFound | Page::Error(_) => "/docs/",
        }
    }

    /// Whether the browser hydrates this page. Only the dashboard (its live
    /// jobs), the policy page (drag to move a rule) and the clients page
    /// (key pairs made in the browser) need the bundle; every other page is
    /// rendered by the server alone and sent without props, so its views
    /// are not in the bundle at all (issue 19: room under the wasm budget).
    /// `app/style/boot.js` gives those pages' forms their busy state.
    #[cfg(feature = "ssr")]
    pub fn hydrates(&self) -> bool {
        matches!(
            self.page,
            Page::Dashboard(_) | Page::Policy(_) | Page::Clients(_)
        )
    }
}
