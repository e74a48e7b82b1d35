//! A tenant's WireGuard clients: the page's data and forms, and what the
//! hydrated create form sends to the server (`Submission`, browser build
//! only: never the private key, which it makes with `vxguard_wg_keys`).

use serde::{Deserialize, Serialize};

use super::form::FieldErrors;
use crate::wg::ClientConfig;

/// `/t/{tenant}/clients`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientsPage {
    pub slug: String,
    /// The tenant's display name.
    pub name: String,
    /// Tenant admins (and platform admins): every client is theirs to
    /// revoke, and the admins' tabs are shown.
    pub can_write: bool,
    /// Whether the viewer may add clients: admins, and members when the
    /// tenant allows it (they revoke and re-key only their own).
    #[serde(default)]
    pub can_add: bool,
    pub clients: Vec<ClientEntry>,
    /// The tenant's networks, which a client may be limited to.
    pub networks: Vec<String>,
    pub form: ClientForm,
    /// Shown once after a change.
    pub notice: Option<String>,
    /// After a create without JavaScript: the new client's configuration
    /// (the user adds their own private key).
    pub created: Option<ClientConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientEntry {
    pub name: String,
    /// Allocated by the server; `None` until allocated.
    pub address: Option<String>,
    pub public_key: String,
    /// Empty: every network of the tenant.
    pub networks: Vec<String>,
    /// Whether the configuration the client was given is the one its
    /// router expects (issue 17, item 5): `current`, `previous` (names the
    /// key being rotated out: works until the rotation's grace period
    /// ends) or `stale` (no longer connects). `None` while no router
    /// terminates the tenant's clients.
    #[serde(default)]
    pub configuration: Option<String>,
    /// When it was added (UTC, shown in the viewer's zone).
    #[serde(default)]
    pub added: String,
    /// Who added it (the audit log's actor: `user:<email>` or
    /// `token:<name>`), when the log still says.
    #[serde(default)]
    pub added_by: Option<String>,
    /// Added by the viewer (a member revokes and re-keys only these).
    #[serde(default)]
    pub mine: bool,
    /// When it stops working (UTC, shown in the viewer's zone); `None`:
    /// it does not expire. The worker removes it once this has passed.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The create form: what was typed and the server's errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientForm {
    pub name: String,
    pub public_key: String,
    pub networks: Vec<String>,
    /// As typed (a `datetime-local` value; the hydrated form sends it in
    /// UTC); empty: no expiry.
    #[serde(default)]
    pub expires_at: String,
    pub errors: FieldErrors,
}

/// What `POST /t/{tenant}/clients` answers a script (`Accept:
/// application/json`): the stored client, its job and its configuration
/// without the private key (`None` while the tenant has no network, so no
/// router terminates its clients).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientCreated {
    pub client: ClientEntry,
    pub job: i64,
    pub config: Option<ClientConfig>,
}

/// The question whether to revoke a client (tenant admins, or the member
/// who added it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientDelete {
    pub slug: String,
    /// The viewer is an admin (a member may revoke their own clients).
    #[serde(default)]
    pub can_write: bool,
    pub client: ClientEntry,
    /// The version shown, so that a client changed since is not deleted blindly.
    pub version: i64,
    pub errors: Vec<String>,
}

/// Which form field a problem's JSON pointer (into the client body) names.
pub fn client_field(pointer: &str) -> Option<&'static str> {
    match pointer.trim_start_matches('/').split('/').next()? {
        "name" => Some("name"),
        "public_key" => Some("public_key"),
        "allowed_networks" => Some("networks"),
        "expires_at" => Some("expires_at"),
        _ => None,
    }
}

/// Stands for the private key in a file the server helped write: it never
/// has the key.
pub const PRIVATE_KEY_PLACEHOLDER: &str = "<your private key>";

/// What the hydrated form sends: never a private key.
#[cfg(feature = "hydrate")]
pub struct Submission {
    pub action: String,
    pub csrf: String,
    pub name: String,
    /// Typed by the user; empty: generate a pair here.
    pub public_key: String,
    pub networks: Vec<String>,
    /// The form's `datetime-local` value (the viewer's time); empty: none.
    pub expires_at: String,
}

#[cfg(feature = "hydrate")]
#[derive(Deserialize)]
struct ProblemDoc {
    #[serde(default)]
    detail: String,
    #[serde(default)]
    errors: Vec<ProblemField>,
}

#[cfg(feature = "hydrate")]
#[derive(Deserialize)]
struct ProblemField {
    pointer: Option<String>,
    /// Names the other object in words, when the error lies in one.
    detail: String,
}

#[cfg(feature = "hydrate")]
impl Submission {
    /// Generates the key pair if needed, posts the public half, and returns
    /// the server's answer with the private key (if made here), or the
    /// errors to show.
    pub async fn send(self) -> Result<(ClientCreated, Option<String>), FieldErrors> {
        let fail = |m: String| FieldErrors {
            fields: vec![],
            form: vec![m],
        };
        let (private, public) = if self.public_key.is_empty() {
            let (p, q) = vxguard_wg_keys::keypair(random32().map_err(fail)?);
            (Some(p), q)
        } else {
            (None, self.public_key.clone())
        };
        let mut body = format!(
            "csrf={}&name={}&public_key={}",
            crate::wg::percent_encode(&self.csrf),
            crate::wg::percent_encode(&self.name),
            crate::wg::percent_encode(&public)
        );
        for n in &self.networks {
            body.push_str(&format!("&network={}", crate::wg::percent_encode(n)));
        }
        if !self.expires_at.is_empty() {
            body.push_str("&expires_at=");
            body.push_str(&crate::wg::percent_encode(&in_utc(&self.expires_at)));
        }
        let r = gloo_net::http::Request::post(&self.action)
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .map_err(|e| fail(e.to_string()))?
            .send()
            .await
            .map_err(|e| fail(format!("the server could not be reached ({e})")))?;
        if r.status() == 201 {
            let c: ClientCreated = r
                .json()
                .await
                .map_err(|e| fail(format!("unreadable answer ({e})")))?;
            return Ok((c, private));
        }
        let status = r.status();
        let p: ProblemDoc = r.json().await.map_err(|_| {
            fail(format!(
                "the server answered {status}; reload the page and try again"
            ))
        })?;
        let mut e = FieldErrors::default();
        for f in p.errors {
            match f.pointer.as_deref().and_then(client_field) {
                Some(field) => e.fields.push((field.to_string(), f.detail)),
                // Another object's error names it in its sentence.
                None => e.form.push(f.detail),
            }
        }
        if e.is_empty() {
            e.form.push(p.detail);
        }
        Err(e)
    }
}

/// A `datetime-local` value (the viewer's time, no zone) as RFC 3339 in
/// UTC, by the browser's own calendar (daylight saving included); as
/// typed if the browser cannot read it (the server then says why).
#[cfg(feature = "hydrate")]
fn in_utc(local: &str) -> String {
    use leptos::web_sys::js_sys::Date;
    let d = Date::new(&local.into());
    if d.get_time().is_nan() {
        local.to_string()
    } else {
        String::from(d.to_iso_string())
    }
}

/// 32 random bytes from the browser's cryptographic generator.
#[cfg(feature = "hydrate")]
fn random32() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    leptos::prelude::window()
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut b))
        .map_err(|_| "this browser has no cryptographic random generator".to_string())?;
    Ok(b)
}
