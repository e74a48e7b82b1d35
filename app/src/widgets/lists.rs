//! What the searchable lists share: the filter bar (a plain GET form), the
//! pager, and notices whose job numbers link to the job's page.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::data::lists::{FilterBar, FilterField, Pager};

/// A list's search and filters: a GET form the server reads, so it works
/// without JavaScript and its result can be bookmarked.
#[cfg(feature = "ssr")]
#[component]
pub fn FilterBarView(bar: FilterBar, id: &'static str) -> impl IntoView {
    let FilterBar {
        action,
        fields,
        active,
        shown,
    } = bar;
    let fields = fields
        .into_iter()
        .map(|f| {
            let (name, label, input) = match f {
                FilterField::Text {
                    name,
                    label,
                    value,
                    placeholder,
                } => {
                    let input = view! {
                        <input type="search" id=format!("f-{name}") name=name.clone() value=value
                            placeholder=placeholder/>
                    }
                    .into_any();
                    (name, label, input)
                }
                FilterField::Choice {
                    name,
                    label,
                    value,
                    options,
                } => {
                    let input = view! {
                        <select id=format!("f-{name}") name=name.clone()>
                            {options
                                .into_iter()
                                .map(|(v, l)| {
                                    let selected = v == value;
                                    view! { <option value=v selected=selected>{l}</option> }
                                })
                                .collect_view()}
                        </select>
                    }
                    .into_any();
                    (name, label, input)
                }
                FilterField::Date { name, label, value } => {
                    let input = view! {
                        <input type="date" id=format!("f-{name}") name=name.clone() value=value/>
                    }
                    .into_any();
                    (name, label, input)
                }
            };
            view! {
                <div class="field">
                    <label for=format!("f-{name}")>{label}</label>
                    {input}
                </div>
            }
        })
        .collect_view();
    let clear = active.then(|| view! { <a href=action.clone() class="clear">"Clear filters"</a> });
    let count = match (shown, active) {
        (0, true) => "Nothing matches these filters.".to_string(),
        (1, _) => "1 shown".to_string(),
        (n, _) => format!("{n} shown"),
    };
    view! {
        <form method="get" action=action.clone() class="filters" id=id role="search">
            {fields}
            <button type="submit">"Filter"</button>
            {clear}
        </form>
        <p class="muted filter-count" aria-live="polite">{count}</p>
    }
}

/// Older pages and the way back to the first.
#[cfg(feature = "ssr")]
#[component]
pub fn PagerView(pager: Pager) -> impl IntoView {
    let Pager { older, first } = pager;
    let first = first.map(|h| view! { <a href=h id="first">"← Newest"</a> });
    let older = older.map(|h| view! { <a href=h rel="next" id="older">"Older →"</a> });
    view! { <p class="pager">{first} " " {older}</p> }
}

/// `text` with every `job #N` a link to `{jobs}/N`.
pub fn job_links(text: &str, jobs: &str) -> AnyView {
    let mut parts: Vec<AnyView> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find("job #") {
        let digits = rest[at + 5..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            parts.push(rest[..at + 5].to_string().into_any());
            rest = &rest[at + 5..];
            continue;
        }
        let id = &rest[at + 5..at + 5 + digits];
        parts.push(rest[..at].to_string().into_any());
        let href = format!("{jobs}/{id}");
        let shown = format!("{}{id}", &rest[at..at + 5]);
        parts.push(view! { <a href=href class="job-id">{shown}</a> }.into_any());
        rest = &rest[at + 5 + digits..];
    }
    parts.push(rest.to_string().into_any());
    parts.into_iter().collect_view().into_any()
}

/// A notice after an action; its job numbers link to their pages.
#[component]
pub fn Notice(text: String, jobs: String) -> impl IntoView {
    view! { <p class="notice" role="status">{job_links(&text, &jobs)}</p> }
}
