//! The searchable lists' query strings (a plain GET form's fields: works
//! without JavaScript): what each filter holds, the form that shows them
//! again, and the pager's links with the filters kept. The lists filter in
//! SQL (the store's `Filter`s); this only reads and writes query strings.

use super::respond::encode;
use crate::problem::{ApiResult, Problem};
use app::data::lists::{FilterBar, FilterField, Pager};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

/// A list's query string.
pub(super) struct ListQuery<'a> {
    q: &'a HashMap<String, String>,
}

impl<'a> ListQuery<'a> {
    pub fn new(q: &'a HashMap<String, String>) -> Self {
        ListQuery { q }
    }

    /// A filter's value: trimmed, none when empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.q
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(String::from)
    }

    /// A filter that must be one of `allowed` (else 400, naming it).
    pub fn choice(&self, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        match self.get(name) {
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
            Some(_) => Err(Problem::field(
                StatusCode::BAD_REQUEST,
                name,
                format!("choose one of: {}", allowed.join(", ")),
            )),
            None => Ok(None),
        }
    }

    /// The start of a day (`YYYY-MM-DD`, UTC) given as `name`; with
    /// `next`, the start of the day after (an inclusive "to" day).
    pub fn day(&self, name: &str, next: bool) -> ApiResult<Option<DateTime<Utc>>> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| {
            Problem::field(
                StatusCode::BAD_REQUEST,
                name,
                "give a day as YYYY-MM-DD, e.g. 2026-12-06",
            )
        })?;
        let d = if next { d.succ_opt().unwrap_or(d) } else { d };
        Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
    }

    /// The cursor (a number: the last row of the previous page).
    pub fn cursor<T: std::str::FromStr>(&self) -> ApiResult<Option<T>> {
        self.get("cursor")
            .map(|c| {
                c.parse().map_err(|_| {
                    Problem::field(
                        StatusCode::BAD_REQUEST,
                        "cursor",
                        "is not a page of this list",
                    )
                })
            })
            .transpose()
    }

    /// The cursor as text (lists ordered by a name).
    pub fn cursor_text(&self) -> Option<String> {
        self.get("cursor")
    }

    /// The list's path with the filters `names` kept, and `extra` after
    /// them (`cursor=...`).
    pub fn href(&self, path: &str, names: &[&str], extra: Option<(&str, &str)>) -> String {
        let mut parts: Vec<String> = names
            .iter()
            .filter_map(|n| self.get(n).map(|v| format!("{n}={}", encode(&v))))
            .collect();
        if let Some((k, v)) = extra {
            parts.push(format!("{k}={}", encode(v)));
        }
        if parts.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", parts.join("&"))
        }
    }

    /// Whether any of the filters `names` is set.
    pub fn active(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.get(n).is_some())
    }

    /// The pager: the next page by `next_cursor`, and the first page when
    /// this one is not it (both with the filters kept).
    pub fn pager(&self, path: &str, names: &[&str], next_cursor: Option<String>) -> Pager {
        Pager {
            older: next_cursor.map(|c| self.href(path, names, Some(("cursor", &c)))),
            first: self
                .get("cursor")
                .is_some()
                .then(|| self.href(path, names, None)),
        }
    }

    pub fn text(&self, name: &str, label: &str, placeholder: &str) -> FilterField {
        FilterField::Text {
            name: name.into(),
            label: label.into(),
            value: self.get(name).unwrap_or_default(),
            placeholder: placeholder.into(),
        }
    }

    /// A choice whose first option is "any" (`any`'s label).
    pub fn select(
        &self,
        name: &str,
        label: &str,
        any: &str,
        options: &[(&str, &str)],
    ) -> FilterField {
        let mut opts = vec![(String::new(), any.to_string())];
        opts.extend(options.iter().map(|(v, l)| (v.to_string(), l.to_string())));
        FilterField::Choice {
            name: name.into(),
            label: label.into(),
            value: self.get(name).unwrap_or_default(),
            options: opts,
        }
    }

    pub fn date(&self, name: &str, label: &str) -> FilterField {
        FilterField::Date {
            name: name.into(),
            label: label.into(),
            value: self.get(name).unwrap_or_default(),
        }
    }

    /// The filter bar of a list at `path` with `fields`; `names` are the
    /// filters (for "Clear filters").
    pub fn bar(
        &self,
        path: &str,
        names: &[&str],
        fields: Vec<FilterField>,
        shown: usize,
    ) -> FilterBar {
        FilterBar {
            action: path.to_string(),
            fields,
            active: self.active(names),
            shown,
        }
    }
}

/// The job states, as the filters offer them.
pub(super) const JOB_STATES: [(&str, &str); 4] = [
    ("queued", "queued (waiting)"),
    ("running", "running"),
    ("failed", "failed"),
    ("done", "done"),
];

/// The kinds of change a job carries, as the filters offer them.
pub(super) const JOB_KINDS: [(&str, &str); 9] = [
    ("network", "networks"),
    ("rule", "rules"),
    ("service", "services"),
    ("client", "clients"),
    ("policy", "policy (order, default)"),
    ("tenant", "tenants"),
    ("router", "routers"),
    ("hypervisor", "hypervisors"),
    ("site", "sites"),
];

/// The job filters a tenant's list and the console's share.
pub(super) const JOB_FILTERS: [&str; 5] = ["q", "status", "kind", "from", "to"];

/// The store's filter of a jobs list's query string.
pub(super) fn job_filter(
    l: &ListQuery<'_>,
    tenant: Option<uuid::Uuid>,
) -> ApiResult<vxguard_store::jobs::Filter> {
    let states: Vec<&str> = JOB_STATES.iter().map(|s| s.0).collect();
    Ok(vxguard_store::jobs::Filter {
        tenant,
        platform: false,
        status: l.choice("status", &states)?,
        kind: l.get("kind"),
        search: l.get("q"),
        since: l.day("from", false)?,
        until: l.day("to", true)?,
        before: l.cursor()?,
    })
}

/// The jobs filter fields (`tenants`: the console's tenant choice).
pub(super) fn job_fields(
    l: &ListQuery<'_>,
    tenants: Option<&[(String, String)]>,
) -> Vec<app::data::lists::FilterField> {
    let mut f = vec![l.text("q", "Search", "change or who")];
    f.push(l.select("status", "State", "any state", &JOB_STATES));
    if let Some(t) = tenants {
        let opts: Vec<(&str, &str)> = t.iter().map(|(v, l)| (v.as_str(), l.as_str())).collect();
        f.push(l.select("tenant", "Tenant", "every tenant", &opts));
    }
    f.push(l.select("kind", "Kind", "any kind", &JOB_KINDS));
    f.push(l.date("from", "From (UTC)"));
    f.push(l.date("to", "To (UTC)"));
    f
}

/// Jobs per page of the lists.
pub(super) const JOBS_PAGE: i64 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn links_keep_the_filters_and_drop_empty_ones() {
        let m = q(&[("status", "failed"), ("q", "web net"), ("kind", " ")]);
        let l = ListQuery::new(&m);
        assert_eq!(
            l.href(
                "/admin/jobs",
                &["q", "status", "kind"],
                Some(("cursor", "12"))
            ),
            "/admin/jobs?q=web+net&status=failed&cursor=12"
        );
        assert!(l.active(&["kind", "status"]));
        assert!(!l.active(&["kind"]));
        let p = l.pager("/admin/jobs", &["status"], None);
        assert_eq!(p.older, None);
        assert_eq!(p.first, None);
    }

    #[test]
    fn days_are_whole_utc_days_and_bad_values_are_named() {
        let m = q(&[
            ("from", "2026-12-06"),
            ("to", "2026-12-06"),
            ("status", "x"),
        ]);
        let l = ListQuery::new(&m);
        let from = l.day("from", false).unwrap().unwrap();
        let to = l.day("to", true).unwrap().unwrap();
        assert_eq!((to - from).num_hours(), 24);
        let bad = q(&[("from", "06/12/2026")]);
        assert!(ListQuery::new(&bad).day("from", false).is_err());
        assert!(l.choice("status", &["done"]).is_err());
    }
}
