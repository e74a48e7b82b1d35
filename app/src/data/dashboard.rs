//! A tenant's dashboard and its network form: the rows it shows, the form's
//! model, and (in the browser) the jobs list following the server's event
//! stream.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::form::FieldErrors;

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
    /// Failed changes of objects no row shows (a deleted network, a rule,
    /// a client...).
    #[serde(default)]
    pub failed: Vec<FailedChange>,
    /// Its gateway groups and clients as last collected, and their
    /// picture (rendered by the server alone).
    #[serde(default)]
    pub health: super::health::ServerOnly<super::health::TenantHealth>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    pub name: String,
    pub cidr: String,
    pub vni: Option<u32>,
    pub sites: Vec<NetworkSiteRow>,
    pub ports: usize,
    /// Its latest change failed and nothing has carried it out since.
    #[serde(default)]
    pub failed: Option<FailedChange>,
}

/// A change that failed, on the object it concerns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedChange {
    /// What it was about (`tenants/acme/networks/web`).
    pub object: String,
    pub job: i64,
    /// Why, in the tenant's own words (the job's first error).
    pub why: String,
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
    /// A subnet the checks would accept (free in the tenant pools, outside
    /// the WireGuard overlay), worked out by the server for the hint.
    #[serde(default)]
    pub suggested: Option<String>,
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

/// Keeps `jobs` up to date from the server's event stream at `url`.
#[cfg(feature = "hydrate")]
pub fn follow_jobs(url: &str, jobs: RwSignal<Vec<JobRow>>) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let on_jobs =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            if let Ok(v) = leptos::serde_json::from_str::<Vec<JobRow>>(&text) {
                if jobs.with_untracked(|j| *j != v) {
                    jobs.set(v);
                }
            }
        });
    let _ = source.add_event_listener_with_callback("jobs", on_jobs.as_ref().unchecked_ref());
    // Both live as long as the page: every navigation is a full page load.
    on_jobs.forget();
    std::mem::forget(source);
}
