//! One platform object's spec page (site, router, hypervisor) in the admin
//! console: the JSON being edited, the server's errors and notices.

use serde::{Deserialize, Serialize};

/// One platform object's page: its edit form, the form creating a new one
/// (`name` is `None`), or (with `confirm_delete`) the question whether to
/// delete it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpecEdit {
    /// `site`, `router` or `hypervisor`.
    pub kind: String,
    /// `None` for the "new" form.
    pub name: Option<String>,
    /// The version the spec was read at (the server refuses to save over a
    /// newer one); 0 for the "new" form.
    pub version: i64,
    /// The textarea's content: pretty JSON, or what was typed.
    pub spec: String,
    /// The server's reasons, e.g. "`/site`: no such site" or a JSON syntax
    /// error with its line:column.
    pub errors: Vec<String>,
    /// Why the page is shown again (stale version), or what was done.
    pub notice: Option<String>,
    /// A job the last save started (links to the jobs page).
    pub job: Option<i64>,
    pub confirm_delete: bool,
}

impl SpecEdit {
    pub fn title(&self) -> String {
        match (&self.name, self.confirm_delete) {
            (None, _) => format!("New {}", self.kind),
            (Some(n), true) => format!("Delete {} {n}", self.kind),
            (Some(n), false) => format!("{} {n}", capital(&self.kind)),
        }
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
