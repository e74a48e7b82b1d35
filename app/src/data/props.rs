//! What the server hands a page: plain data, serialised into the page for
//! hydration. Times are preformatted strings (UTC), so both sides render
//! the same text.

use serde::{Deserialize, Serialize};

use super::account::{ErrorPage, Login, PasswordPage};
use super::dashboard::{Dashboard, NetworkEdit};

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
    Login(Login),
    Dashboard(Box<Dashboard>),
    /// The platform admins' console (one of its sections).
    Admin(Box<super::admin::Console>),
    /// A tenant's members (admins add and remove them).
    Members(Box<super::members::MembersPage>),
    /// A tenant's API tokens (tenant admins).
    Tokens(Box<super::members::TokensPage>),
    /// A tenant's audit log.
    TenantAudit(Box<super::members::AuditPage>),
    /// Edit or delete one network (tenant admins).
    NetworkEdit(Box<NetworkEdit>),
    /// Change password (any signed-in user).
    Password(PasswordPage),
    /// The tenant's services and policy rules.
    Policy(Box<super::policy::PolicyPage>),
    /// The tenant's WireGuard clients (`super::clients`).
    Clients(Box<super::clients::ClientsPage>),
    /// Revoke one client (tenant admins).
    ClientDelete(Box<super::clients::ClientDelete>),
    /// One job of the tenant and its devices (`super::jobs`).
    Job(Box<super::jobs::JobPage>),
    /// The tenant's jobs, searched and filtered (`super::jobs`).
    Jobs(Box<super::jobs::JobsPage>),
    /// 404: also what another tenant's page answers.
    NotFound,
    Error(ErrorPage),
}

impl PageProps {
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
            Page::Login(_) | Page::Password(_) | Page::Dashboard(_) => {
                "/docs/tenant/first-steps.html"
            }
            Page::NetworkEdit(_) => "/docs/tenant/networks.html",
            Page::Policy(_) => "/docs/tenant/policy.html",
            Page::Clients(_) | Page::ClientDelete(_) => "/docs/tenant/clients.html",
            Page::Job(_) | Page::Jobs(_) => "/docs/tenant/jobs-and-health.html",
            Page::Members(_) | Page::Tokens(_) | Page::TenantAudit(_) => {
                "/docs/tenant/members.html"
            }
            Page::Admin(c) => c.help(),
            Page::NotFound | Page::Error(_) => "/docs/",
        }
    }
}
