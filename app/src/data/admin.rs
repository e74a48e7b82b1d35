//! The platform admins' console: its sections and their rows.

use serde::{Deserialize, Serialize};

use super::form::FieldErrors;
use super::lists::{FilterBar, Pager};
// A job row is the jobs' own (a tenant's list shows it too).
pub use super::jobs::AdminJobRow;
use super::members::AuditRow;
use super::platform::SpecEdit;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Console {
    pub section: Section,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Section {
    Tenants {
        tenants: Vec<TenantRow>,
        form: TenantForm,
        notice: Option<String>,
        filters: FilterBar,
        pager: Pager,
    },
    Platform {
        sites: Vec<SiteRow>,
        routers: Vec<RouterRow>,
        hypervisors: Vec<HypervisorRow>,
        /// What the last action did (a rotation begun, a certificate
        /// trusted).
        notice: Option<String>,
    },
    /// Every device's health, filtered, and the platform map (rendered
    /// by the server alone).
    Health(super::health::ServerOnly<Box<super::health::AdminHealth>>),
    Users {
        users: Vec<UserRow>,
        filters: FilterBar,
        pager: Pager,
    },
    /// A user's password reset: asked, or done with the temporary password.
    /// The title names the user (`title`); only the server renders `reset`.
    ResetPassword {
        title: String,
        reset: super::health::ServerOnly<super::members::PasswordReset>,
    },
    /// Every router and hypervisor, filtered, with its state.
    Devices {
        devices: Vec<DeviceListRow>,
        filters: FilterBar,
        pager: Pager,
    },
    Jobs {
        jobs: Vec<AdminJobRow>,
        filters: FilterBar,
        pager: Pager,
    },
    /// One job and its devices (`super::jobs`).
    Job(Box<super::jobs::JobPage>),
    Device(DevicePage),
    Revision(Box<RevisionPage>),
    /// A site, router or hypervisor: edit, new or delete (see `platform`),
    /// rendered by the server alone; `title` is [`SpecEdit::title`].
    Spec {
        title: String,
        edit: super::health::ServerOnly<Box<SpecEdit>>,
    },
    Audit {
        entries: Vec<AuditRow>,
        filters: FilterBar,
        pager: Pager,
    },
}

impl Console {
    pub fn title(&self) -> String {
        match &self.section {
            Section::Tenants { .. } => "Platform".into(),
            Section::Platform { .. } => "Sites, routers and hypervisors".into(),
            Section::Health(_) => "Device health".into(),
            Section::Users { .. } => "Users".into(),
            Section::ResetPassword { title, .. } => title.clone(),
            Section::Devices { .. } => "Devices".into(),
            Section::Jobs { .. } => "Jobs".into(),
            Section::Job(j) => format!("Job #{}", j.id),
            Section::Device(d) => format!("{} {}", d.kind, d.name),
            Section::Revision(r) => format!("{} {} revision {}", r.kind, r.name, r.seq),
            Section::Audit { .. } => "Audit log".into(),
            Section::Spec { title, .. } => title.clone(),
        }
    }

    /// The operator guide's chapter about this section (the Help link).
    pub fn help(&self) -> &'static str {
        match &self.section {
            Section::Platform { .. } | Section::Spec { .. } => "/docs/operator/platform.html",
            Section::Health(_) => "/docs/operator/device-health.html",
            Section::Devices { .. } | Section::Device(_) | Section::Revision(_) => {
                "/docs/operator/applying.html"
            }
            Section::Tenants { .. }
            | Section::Users { .. }
            | Section::ResetPassword { .. }
            | Section::Jobs { .. }
            | Section::Job(_)
            | Section::Audit { .. } => "/docs/operator/portal.html",
        }
    }
}

/// The "new tenant" form: the tenant and its first admin. Never the password.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantForm {
    pub slug: String,
    pub name: String,
    /// `drop`, `reject` or `accept`.
    pub default_action: String,
    pub admin_email: String,
    pub errors: FieldErrors,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    pub name: String,
    pub public_blocks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterRow {
    pub name: String,
    pub site: String,
    pub version: String,
    pub underlay_address: String,
    pub api_endpoint: String,
    /// How the driver trusts the API's certificate: `pinned AB:CD:...`,
    /// `public roots`, or `plain HTTP (loopback)`.
    pub api_trust: String,
    /// The latest revision's number, if compiled yet.
    pub revision: Option<i32>,
    pub state: DeviceStateRow,
    /// The fingerprint of the API key the driver uses now (never the key);
    /// `None` before the first compile.
    pub api_key: Option<String>,
    /// A rotation under way: `added` or `switched`.
    pub rotation: Option<String>,
    /// The certificate the router presents now, read when its last apply
    /// failed on the pinned one (for "Trust this certificate").
    pub presented_certificate: Option<String>,
    pub mesh_key: Option<MeshKeyRow>,
}

/// A device's WireGuard mesh key (never the key): `None` before its first
/// compile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeshKeyRow {
    pub fingerprint: String,
    /// When it became current, and when the schedule rotates it next.
    pub since: Option<String>,
    pub next: Option<String>,
    /// A rotation is under way (the old key still held).
    pub rotating: bool,
}

/// Where a device stands (the server's `driver::status`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceStateRow {
    /// `applied`, `pending`, `failed` or `drifted`.
    pub state: String,
    /// The revision last applied.
    pub applied: Option<i32>,
    /// The last failed apply's error, or why drift could not be checked.
    pub error: Option<String>,
    /// Lines of drift (shown as a count; the API has them).
    pub drift_lines: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HypervisorRow {
    pub name: String,
    pub site: String,
    pub underlay_address: String,
    pub vtep_address: Option<String>,
    pub bridge: String,
    pub revision: Option<i32>,
    pub state: DeviceStateRow,
    pub mesh_key: Option<MeshKeyRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub tenant: Option<String>,
    pub created_at: String,
    /// The viewer's own account: no reset (they change it on their
    /// account page).
    pub you: bool,
}

/// One device in the console's device list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceListRow {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    pub site: String,
    pub revision: Option<i32>,
    pub state: DeviceStateRow,
    /// The job whose compile stored the latest revision.
    pub job: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevisionRow {
    pub seq: i32,
    pub job_id: Option<i64>,
    pub created_at: String,
    /// Lines of the stored change (commands or flow lines).
    pub changed_lines: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevicePage {
    pub kind: String,
    pub name: String,
    pub revisions: Vec<RevisionRow>,
    pub older: Option<String>,
    pub newest: bool,
}

/// One line of a revision's diff against the previous one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    pub added: bool,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevisionPage {
    pub kind: String,
    pub name: String,
    pub seq: i32,
    pub job_id: Option<i64>,
    pub created_at: String,
    /// The previous revision's number (`None` for the first).
    pub previous: Option<i32>,
    /// Removed and added lines against `previous` (or against nothing).
    pub diff: Vec<DiffLine>,
    /// The whole configuration (key material redacted).
    pub config: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub networks: i64,
    pub users: i64,
    pub default_action: String,
}
