//! An audit log's entries with their pager: the tenant's page and the
//! admin console show the same list.

use leptos::prelude::*;

use super::table::{Cell, Row, Table};
use crate::data::members::AuditRow;

/// An audit log page's entries and its older/newer links (`base`: the
/// page's path without a cursor).
#[component]
pub fn AuditList(
    entries: Vec<AuditRow>,
    older: Option<String>,
    newest: bool,
    base: String,
) -> impl IntoView {
    let list = if entries.is_empty() {
        view! { <p class="empty">"Nothing recorded yet."</p> }.into_any()
    } else {
        let rows = entries
            .into_iter()
            .map(|e| Row {
                key: e.id.to_string(),
                cells: vec![
                    Cell::Code(e.action),
                    Cell::Code(e.object),
                    Cell::Text(e.at),
                    Cell::Text(e.actor),
                    Cell::Text(e.source),
                ],
            })
            .collect();
        view! { <Table id="audit" cols=vec!["Action", "Object", "When", "Who", "From"] rows=rows/> }
            .into_any()
    };
    let newer = (!newest).then(|| view! { <a href=base.clone()>"← Newest"</a> });
    let older = older.map(|h| view! { <a href=h rel="next" id="older">"Older entries →"</a> });
    view! {
        {list}
        <p class="pager">{newer} " " {older}</p>
    }
}
