//! One table component for the members, tokens, audit and admin console
//! pages: each page turns its rows into [`Cell`]s (plain data) and this
//! renders them. Why: every `view!` is its own generic code in the browser
//! bundle, so ten hand-written tables cost ten times what one costs.

use leptos::prelude::*;

/// One cell's content.
pub enum Cell {
    Text(String),
    Code(String),
    /// Greyed out (e.g. "none", "never").
    Muted(String),
    /// A link; `label` is its accessible name when the text alone is vague.
    Link {
        href: String,
        text: String,
        label: Option<String>,
        danger: bool,
    },
    /// One link per line.
    Links(Vec<(String, String)>),
    /// A state badge (`class` is one of the badge's states).
    Badge {
        class: String,
        text: String,
    },
    /// A small, greyed note on its own line.
    Note(String),
    /// A one-button POST form (with the session's CSRF token).
    Post {
        action: String,
        csrf: String,
        text: &'static str,
        label: String,
    },
    /// A one-button POST form that is not a deletion, with hidden fields
    /// besides the CSRF token (`(name, value)`).
    Action {
        action: String,
        csrf: String,
        fields: Vec<(String, String)>,
        text: &'static str,
        label: String,
    },
    /// Several cells, one after another.
    Many(Vec<Cell>),
}

pub struct Row {
    /// `data-key` of the row (tests and scripts find rows by it).
    pub key: String,
    /// The first cell is the row's header.
    pub cells: Vec<Cell>,
}

fn cell(c: Cell) -> AnyView {
    match c {
        Cell::Text(t) => t.into_any(),
        Cell::Code(t) => view! { <code>{t}</code> }.into_any(),
        Cell::Muted(t) => view! { <span class="muted">{t}</span> }.into_any(),
        Cell::Link {
            href,
            text,
            label,
            danger,
        } => view! { <a href=href aria-label=label class:danger=danger>{text}</a> }.into_any(),
        Cell::Links(l) => view! {
            <ul class="plain">
                {l.into_iter().map(|(href, text)| view! { <li><a href=href>{text}</a></li> }).collect_view()}
            </ul>
        }
        .into_any(),
        Cell::Badge { class, text } => {
            view! { <span class=format!("badge {class}")>{text}</span> " " }.into_any()
        }
        Cell::Note(t) => view! { <br/><small class="muted">{t}</small> }.into_any(),
        Cell::Post {
            action,
            csrf,
            text,
            label,
        } => view! {
            <form method="post" action=action class="inline">
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" class="link danger" aria-label=label>{text}</button>
            </form>
        }
        .into_any(),
        Cell::Action {
            action,
            csrf,
            fields,
            text,
            label,
        } => view! {
            <form method="post" action=action class="inline">
                <input type="hidden" name="csrf" value=csrf/>
                {fields
                    .into_iter()
                    .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
                    .collect_view()}
                <button type="submit" class="link" aria-label=label>{text}</button>
            </form>
        }
        .into_any(),
        Cell::Many(v) => v.into_iter().map(cell).collect_view().into_any(),
    }
}

/// A table that becomes one card per row on a phone. `cols` are the
/// headers; an empty one is an actions column (its header only for screen
/// readers).
#[component]
pub fn Table(id: &'static str, cols: Vec<&'static str>, rows: Vec<Row>) -> impl IntoView {
    let head = cols
        .iter()
        .map(|c| match *c {
            "" => view! { <th scope="col"><span class="sr-only">"Actions"</span></th> }.into_any(),
            c => view! { <th scope="col">{c}</th> }.into_any(),
        })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|r| {
            let mut cells = r.cells.into_iter();
            let first = cells.next().map(cell);
            let rest = cells
                .zip(cols.iter().skip(1))
                .map(|(c, label)| {
                    let label = (!label.is_empty()).then_some(*label);
                    view! { <td data-label=label>{cell(c)}</td> }
                })
                .collect_view();
            view! { <tr data-key=r.key><th scope="row">{first}</th>{rest}</tr> }
        })
        .collect_view();
    view! {
        <div class="scroll">
            <table id=id class="stack-on-phone">
                <thead><tr>{head}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
