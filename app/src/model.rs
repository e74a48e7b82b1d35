//! What the server hands a page: plain data, serialised into the page for
//! hydration. Times are preformatted strings (UTC), so both sides render
//! the same text.

use serde::{Deserialize, Serialize};

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
    Admin(Box<crate::admin::Console>),
    /// A tenant's members (admins add and remove them).
    Members(Box<crate::members::MembersPage>),
    /// A tenant's API tokens (tenant admins).
    Tokens(Box<crate::members::TokensPage>),
    /// A tenant's audit log.
    TenantAudit(Box<crate::members::AuditPage>),
    /// Edit or delete one network (tenant admins).
    NetworkEdit(Box<NetworkEdit>),
    /// Change password (any signed-in user).
    Password(PasswordPage),
    /// The tenant's services and policy rules.
    Policy(Box<crate::policy::PolicyPage>),
    /// The tenant's WireGuard clients (`crate::clients`).
    Clients(Box<crate::clients::ClientsPage>),
    /// Revoke one client (tenant admins).
    ClientDelete(Box<crate::clients::ClientDelete>),
    /// 404: also what another tenant's page answers.
    NotFound,
    Error(ErrorPage),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub email: String,
    /// Where to go after logging in (a local path).
    pub next: String,
    pub error: Option<String>,
    /// The login form's own CSRF token (double-submitted in a cookie).
    pub csrf: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorPage {
    pub status: u16,
    pub title: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub slug: String,
    pub name: String,
    /// Tenant admins and platform admins may change things.
    pub can_write: bool,
    pub default_action: String,
    pub networks: Vec<NetworkRow>,
    pub services: Vec<ServiceRow>,
    pub rules: usize,
    pub clients: Vec<ClientRow>,
    pub jobs: Vec<JobRow>,
    /// Sites the tenant's networks reach.
    pub sites: Vec<String>,
    pub form: NetworkForm,
    /// Shown once after a successful change.
    pub notice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    pub name: String,
    pub cidr: String,
    pub vni: Option<u32>,
    pub sites: Vec<NetworkSiteRow>,
    pub ports: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSiteRow {
    pub site: String,
    pub gateways: Vec<String>,
    /// The VRRP virtual address (the tenant's default gateway at this site).
    pub virtual_address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub id: String,
    pub addresses: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRow {
    pub name: String,
    pub address: Option<String>,
    pub networks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub id: i64,
    pub reason: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    /// Why a failed job failed, as its tenant may read it (one line each).
    #[serde(default)]
    pub why: Vec<String>,
}

/// The "create network" form: what was typed, and the server's errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkForm {
    pub name: String,
    pub cidr: String,
    /// Chosen gateways as `site/router`.
    pub gateways: Vec<String>,
    /// Every router that can be a gateway.
    pub routers: Vec<RouterChoice>,
    pub errors: FieldErrors,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterChoice {
    pub site: String,
    pub name: String,
}

impl RouterChoice {
    /// The form value: `site/router`.
    pub fn value(&self) -> String {
        format!("{}/{}", self.site, self.name)
    }
}

/// Errors per form field; `form` holds those that name no field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldErrors {
    pub fields: Vec<(String, String)>,
    pub form: Vec<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_empty()
    }
    /// The messages for one field, joined.
    pub fn get(&self, field: &str) -> Option<String> {
        let v: Vec<&str> = self
            .fields
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        (!v.is_empty()).then(|| v.join("; "))
    }
}

/// One network's edit page, or (with `confirm_delete`) the question whether
/// to delete it. `version` is the object's version when the page was
/// rendered: the server refuses to save over a newer one (no lost update).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkEdit {
    pub slug: String,
    pub name: String,
    pub version: i64,
    /// The stored CIDR (`form.cidr` may hold what was typed).
    pub cidr: String,
    pub vni: Option<u32>,
    /// `form.name` is unused: names cannot change.
    pub form: NetworkForm,
    pub confirm_delete: bool,
}

/// The change-password form. Passwords are never sent back: after an
/// error the fields are empty and the errors sit next to them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordPage {
    pub errors: FieldErrors,
    /// Set after a successful change.
    pub changed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub networks: i64,
    pub users: i64,
    pub default_action: String,
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
            Page::NotFound => "Not found".into(),
            Page::Error(e) => e.title.clone(),
        }
    }
}
