//! The services and policy page: the rules (one page of them at a time),
//! the rule form and a change's preview.

use serde::{Deserialize, Serialize};

use super::form::FieldErrors;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyPage {
    pub slug: String,
    pub name: String,
    pub can_write: bool,
    pub default_action: String,
    /// The tenant's version (the default action's form carries it: a save
    /// over a newer change to the tenant is refused, 412).
    pub tenant_version: i64,
    pub services: Vec<ServiceItem>,
    /// The add or edit form of a service (tenant admins).
    pub service_form: ServiceForm,
    /// This page's share of the rules ([`RULES_PER_PAGE`] at most), in
    /// evaluation order (by number): a tenant may hold thousands, and the
    /// page, its embedded JSON and what the browser hydrates must stay
    /// bounded whatever their count.
    pub rules: Vec<RuleRow>,
    /// Where `rules` sit among the rules the filter lets through (all of
    /// them without one).
    pub pager: RulePager,
    /// The search and filters the rules are shown with (`?q=&action=&service=`).
    pub filter: RuleFilter,
    /// How many rules the policy holds (the pager counts those shown).
    pub total_rules: usize,
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

/// One service: its addresses, the rules that use it, and why it could
/// not be deleted (the rules that still use it), shown at its row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceItem {
    pub id: String,
    pub description: String,
    pub addresses: Vec<String>,
    pub version: i64,
    /// The numbers of the rules that name it as source or destination.
    pub used_by: Vec<u32>,
    pub error: Option<String>,
}

/// The service form: what was typed and the server's errors. `addresses`
/// holds one prefix per line (commas also separate).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceForm {
    /// The version of the service being edited (its name is `id`).
    pub editing: Option<i64>,
    pub id: String,
    pub description: String,
    pub addresses: String,
    pub errors: FieldErrors,
}

/// Which rules to show: those whose number, description, ports or
/// endpoints contain `q` (any case), with action `action` and naming
/// service `service` as source or destination; empty means any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFilter {
    pub q: String,
    pub action: String,
    pub service: String,
}

impl RuleFilter {
    pub fn is_empty(&self) -> bool {
        self.q.is_empty() && self.action.is_empty() && self.service.is_empty()
    }

    /// The filter as a query string's pairs (`&q=..&action=..`), empty
    /// when there is none: pager links and forms keep it.
    pub fn query(&self) -> String {
        let mut out = String::new();
        for (k, v) in [
            ("q", &self.q),
            ("action", &self.action),
            ("service", &self.service),
        ] {
            if !v.is_empty() {
                out.push('&');
                out.push_str(k);
                out.push('=');
                out.extend(v.bytes().map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                        (b as char).to_string()
                    }
                    b => format!("%{b:02X}"),
                }));
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleRow {
    pub id: u32,
    /// Its place among all the rules, from 1 (the order they are evaluated
    /// in; a rule's number never changes when it moves).
    pub position: usize,
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
    /// What the change does, in words, first: "Adds 1 firewall rule on 4
    /// routers; adds 2 flows on 2 hypervisors."
    pub summary: String,
    /// One entry per group of devices whose lines would change the same.
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
    /// Other devices of the same kind whose lines would change exactly the
    /// same ("same on vyos-dc1-02, ..."): shown once.
    pub same_on: Vec<String>,
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
