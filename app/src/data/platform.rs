//! One platform object's spec page (site, router, hypervisor) in the admin
//! console: a form the server generates from the kind's JSON Schema, the
//! JSON being edited (for experts), the server's errors at their fields,
//! a preview of the change on the devices, and notices. Rendered by the
//! server alone ([`super::health::ServerOnly`]): plain HTML forms.

use serde::{Deserialize, Serialize};

/// One platform object's page: its edit form, the form creating a new one
/// (`name` is `None`), or (with `confirm_delete`) the question whether to
/// delete it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// The form: one field per property of the kind's schema, in order.
    pub fields: Vec<SchemaField>,
    /// What the change would do on the devices (the form's "Preview").
    pub preview: Option<super::policy::PreviewView>,
}

/// One property of a kind's JSON Schema as a form field (`f.<name>`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaField {
    /// The property's name in the JSON.
    pub name: String,
    /// The schema's description (and its default), shown under the field.
    pub help: String,
    pub input: Input,
    pub required: bool,
    /// The name of an existing object: shown, not editable.
    pub readonly: bool,
    /// What the field holds: the stored value or what was typed (a list
    /// one item per line).
    pub value: String,
    /// The server's reasons about this field, in a sentence.
    pub error: Option<String>,
}

/// How a property is typed in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Input {
    #[default]
    Text,
    /// One of the schema's `enum` values.
    Select(Vec<String>),
    /// An array of strings, one per line.
    Lines,
}

impl SchemaField {
    /// "underlay_address" as "Underlay address".
    pub fn label(&self) -> String {
        capital(&self.name.replace('_', " "))
    }
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
