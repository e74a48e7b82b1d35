//! What the searchable lists share: their filter bar (a plain GET form, so
//! it works without JavaScript; the server fills in what the query string
//! held) and their pager (links the server builds with the filters kept).

use serde::{Deserialize, Serialize};

/// A list's filter form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterBar {
    /// The list's path (the form's `action`, and "Clear").
    pub action: String,
    pub fields: Vec<FilterField>,
    /// Whether a filter is set (then "Clear filters" is shown).
    pub active: bool,
    /// How many rows this page shows (for screen readers and tests).
    pub shown: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FilterField {
    /// A free-text search.
    Text {
        name: String,
        label: String,
        value: String,
        placeholder: String,
    },
    /// One of a few values; the first option is "any" (empty value).
    Choice {
        name: String,
        label: String,
        value: String,
        /// (value, label)
        options: Vec<(String, String)>,
    },
    /// A day (`YYYY-MM-DD`, UTC).
    Date {
        name: String,
        label: String,
        value: String,
    },
}

/// A list's pages: newest first, older pages by cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pager {
    /// The next (older) page, if there is one.
    pub older: Option<String>,
    /// The first page, when this is not it.
    pub first: Option<String>,
}
