//! A tenant's members, API tokens and audit log: rows and forms.

use serde::{Deserialize, Serialize};

use super::form::FieldErrors;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    pub id: String,
    pub email: String,
    /// `tenant admin` or `tenant member`.
    pub role: String,
    pub created_at: String,
}

/// The "add a member" form: what was typed (never the password) and the
/// server's errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberForm {
    pub email: String,
    /// `tenant_member` or `tenant_admin`.
    pub role: String,
    pub errors: FieldErrors,
}

/// An admin's password reset of another user: asked (`temporary` is
/// `None`: the confirm step) or done (the temporary password, on this one
/// page only: the answer to the POST, never a redirect, so it is in no URL).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub email: String,
    /// Where the confirm form posts.
    pub action: String,
    /// The list the reset was asked from.
    pub back: String,
    pub temporary: Option<String>,
    /// Why it was refused (e.g. one's own account).
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembersPage {
    pub slug: String,
    pub name: String,
    /// Tenant admins (and platform admins) add and remove members.
    pub can_write: bool,
    /// Whether members may add their own WireGuard clients (the tenant's
    /// setting, which its admins change here).
    #[serde(default)]
    pub members_add_clients: bool,
    /// The viewer's email (nobody removes themselves).
    pub me: String,
    pub members: Vec<MemberRow>,
    pub form: MemberForm,
    pub notice: Option<String>,
    /// Set on the page that asks whether to remove this member.
    pub confirm_remove: Option<MemberRow>,
    /// The page asks for or shows a password reset (`reset`, which only
    /// the server renders).
    pub resetting: bool,
    pub reset: super::health::ServerOnly<Option<PasswordReset>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenForm {
    pub name: String,
    /// `tenant_member` or `tenant_admin`.
    pub role: String,
    pub errors: FieldErrors,
}

/// A token just created: its secret, on this one page only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub name: String,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokensPage {
    pub slug: String,
    pub name: String,
    pub tokens: Vec<TokenRow>,
    pub form: TokenForm,
    pub created: Option<CreatedToken>,
    pub notice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub source: String,
    /// The job the change queued (linked).
    #[serde(default)]
    pub job: Option<i64>,
    /// The tenant's slug (the console's whole log shows it).
    #[serde(default)]
    pub tenant: Option<String>,
    /// What the object was and became, as indented JSON.
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
}

/// One page of an audit log, newest first. `slug` is the tenant's, `None`
/// for the platform's whole log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub slug: Option<String>,
    pub name: String,
    pub can_write: bool,
    pub entries: Vec<AuditRow>,
    /// The search and filters (a GET form).
    pub filters: super::lists::FilterBar,
    pub pager: super::lists::Pager,
}
