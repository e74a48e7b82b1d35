//! A form's errors as the server reports them, per field.

use serde::{Deserialize, Serialize};

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
