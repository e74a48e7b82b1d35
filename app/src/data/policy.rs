//! The services and policy page: the rules (one page of them at a time),
//! the rule form and a change's preview.

use serde::{Deserialize, Serialize};

use super::dashboard::ServiceRow;
use super::form::FieldErrors;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyPage {
    pub slug: String,
    pub name: String,
    pub can_write: bool,
    pub default_action: String,
    pub services: Vec<ServiceRow>,
    /// This page's share of the rules ([`RULES_PER_PAGE`] at most), in
    /// evaluation order (by number): a tenant may hold thousands, and the
    /// page, its embedded JSON and what the browser hydrates must stay
    /// bounded whatever their count.
    pub rules: Vec<RuleRow>,
    /// Where `rules` sit in the whole policy.
    pub pager: RulePager,
    /// The version of the whole order (the server's digest of every rule's
    /// number and version). Move forms carry it, so that a move made from
    /// a page older than any change to the rules is refused (412), as the
    /// whole order with each rule's version used to be.
    pub order_version: String,
    /// Choices for a rule's source and destination.
    pub networks: Vec<String>,
    /// The add or edit form (tenant admins).
    pub form: RuleForm,
    /// A previewed change, with the form that makes it.
    pub preview: Option<PreviewView>,
    /// Shown once after a successful change.
    pub notice: Option<String>,
    /// Errors of a change made without the form (move, delete, enable).
    pub alerts: Vec<String>,
}

/// Rules per page of the policy page.
pub const RULES_PER_PAGE: usize = 100;

/// One page of the rules: page `page` of `pages` (from 1), whose first rule
/// is at index `first` (from 0) of all `total`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePager {
    pub page: usize,
    pub pages: usize,
    pub first: usize,
    pub total: usize,
}

impl RulePager {
    /// Page `page` (clamped to the pages there are) of `total` rules.
    pub fn new(total: usize, page: usize) -> Self {
        let pages = total.div_ceil(RULES_PER_PAGE).max(1);
        let page = page.clamp(1, pages);
        RulePager {
            page,
            pages,
            first: (page - 1) * RULES_PER_PAGE,
            total,
        }
    }

    /// The page that shows the rule at `index` (from 0).
    pub fn page_of(index: usize) -> usize {
        index / RULES_PER_PAGE + 1
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleRow {
    pub id: u32,
    pub version: i64,
    pub description: String,
    pub action: String,
    pub protocol: String,
    /// Destination ports as written, or empty for all.
    pub ports: String,
    pub source: String,
    pub destination: String,
    pub disabled: bool,
    /// Why the rule never applies, when an earlier rule covers it.
    pub shadowed: Option<String>,
}

/// The rule form: what was typed and the server's errors. Endpoints are
/// `any`, `external`, `service:NAME`, `network:NAME` or `cidr` (then the
/// `*_cidr` field holds the prefix).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleForm {
    /// The rule being edited and the version the form was filled from.
    pub editing: Option<(u32, i64)>,
    pub id: String,
    pub description: String,
    pub action: String,
    pub protocol: String,
    pub port: String,
    pub source: String,
    pub source_cidr: String,
    pub destination: String,
    pub destination_cidr: String,
    pub disabled: bool,
    pub errors: FieldErrors,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewView {
    /// What the change is, in words ("Move rule 3 above rule 2").
    pub title: String,
    pub devices: Vec<DeviceChange>,
    pub warnings: Vec<String>,
    /// For a change made without the rule form (delete, reorder): the form
    /// that makes it, shown with the preview.
    pub confirm: Option<ConfirmForm>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceChange {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub device: String,
    /// The first lines that would go and come ([`PREVIEW_LINES`] each at
    /// most: a move across 2,000 rules rewrites thousands of lines per
    /// device, megabytes the page would carry twice, as HTML and as JSON).
    pub removed: Vec<String>,
    pub added: Vec<String>,
    /// How many more lines would go and come than `removed` and `added` show.
    pub more_removed: usize,
    pub more_added: usize,
}

/// Lines a preview shows per device, of those that go and of those that come.
pub const PREVIEW_LINES: usize = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfirmForm {
    pub action: String,
    pub label: String,
    pub danger: bool,
    /// Hidden fields (besides the CSRF token).
    pub fields: Vec<(String, String)>,
}
