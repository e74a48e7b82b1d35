//! A [`Diagram`] drawn as inline SVG: the server lays it out, this only
//! draws its shapes (one small function for every picture, so the browser
//! bundle grows by one renderer, not one per picture). Accessible: the
//! picture is an image named by its `<title>` and described by its
//! `<desc>`; nodes carry text labels with a status word and a `<title>`
//! each; a legend names the colours and line styles.

use leptos::prelude::*;

use crate::data::health::{Counts, Diagram, Shape};
use crate::widgets::table::Cell;

fn shape(s: Shape) -> AnyView {
    match s {
        Shape::Rect {
            x,
            y,
            w,
            h,
            class,
            tip,
        } => view! {
            <rect x=x.to_string() y=y.to_string() width=w.to_string() height=h.to_string()
                rx="6" class=class>{tip.map(|t| view! { <title>{t}</title> })}</rect>
        }
        .into_any(),
        Shape::Line {
            x1,
            y1,
            x2,
            y2,
            class,
            tip,
        } => view! {
            <line x1=x1.to_string() y1=y1.to_string() x2=x2.to_string() y2=y2.to_string()
                class=class>{tip.map(|t| view! { <title>{t}</title> })}</line>
        }
        .into_any(),
        Shape::Text {
            x,
            y,
            class,
            anchor,
            text,
        } => view! {
            <text x=x.to_string() y=y.to_string() class=class text-anchor=anchor>{text}</text>
        }
        .into_any(),
        Shape::Link {
            href,
            label,
            shapes,
        } => view! {
            <a href=href aria-label=label>{shapes.into_iter().map(shape).collect_view()}</a>
        }
        .into_any(),
    }
}

/// The picture, with its legend below.
#[component]
pub fn DiagramView(d: Diagram) -> impl IntoView {
    let Diagram {
        id,
        title,
        desc,
        width,
        height,
        shapes,
    } = d;
    let tid = format!("{id}-title");
    let did = format!("{id}-desc");
    let labelled = format!("{tid} {did}");
    view! {
        <figure class="diagram">
            <div class="diagram-box">
                <svg id=id.clone() class="map" xmlns="http://www.w3.org/2000/svg"
                    viewBox=format!("0 0 {width} {height}") width=width.to_string()
                    height=height.to_string() role="img" aria-labelledby=labelled>
                    <title id=tid>{title}</title>
                    <desc id=did>{desc}</desc>
                    {shapes.into_iter().map(shape).collect_view()}
                </svg>
            </div>
            <figcaption class="legend">
                <span class="key st-ok">"ok"</span>
                <span class="key st-degraded">"degraded (dashed)"</span>
                <span class="key st-down">"down (dotted)"</span>
                <span class="key st-unknown">"not collected"</span>
            </figcaption>
        </figure>
    }
}

/// "3 ok, 1 degraded, 0 down" (words, not only colours).
#[component]
pub fn HealthCounts(c: Counts) -> impl IntoView {
    view! {
        <span class="counts">
            <span class="st-ok">{c.ok} " ok"</span> ", "
            <span class="st-degraded">{c.degraded} " degraded"</span> ", "
            <span class="st-down">{c.down} " down"</span>
        </span>
    }
}

/// A status badge (`ok`, `degraded`, `down`), and why on its own line.
pub fn status_cell(status: String, reason: Option<String>) -> Cell {
    let mut v = vec![Cell::Badge {
        class: format!("health {status}"),
        text: status,
    }];
    v.extend(reason.map(Cell::Note));
    Cell::Many(v)
}

/// A plot laid out by the server (lines over time) with its own legend:
/// each key a class the stylesheet draws (`traffic-in` solid,
/// `traffic-out` dashed, so colour is not the only cue) and its words.
#[cfg(feature = "ssr")]
#[component]
pub fn PlotView(d: Diagram, legend: Vec<(&'static str, String)>) -> impl IntoView {
    let Diagram {
        id,
        title,
        desc,
        width,
        height,
        shapes,
    } = d;
    let tid = format!("{id}-title");
    let did = format!("{id}-desc");
    let labelled = format!("{tid} {did}");
    view! {
        <figure class="diagram plot">
            <div class="diagram-box">
                <svg id=id.clone() class="map" xmlns="http://www.w3.org/2000/svg"
                    viewBox=format!("0 0 {width} {height}") width=width.to_string()
                    height=height.to_string() role="img" aria-labelledby=labelled>
                    <title id=tid>{title}</title>
                    <desc id=did>{desc.clone()}</desc>
                    {shapes.into_iter().map(shape).collect_view()}
                </svg>
            </div>
            <figcaption class="legend">
                {legend.into_iter().map(|(class, words)| view! { <span class=format!("key {class}")>{words}</span> }).collect_view()}
                <span class="muted">{desc}</span>
            </figcaption>
        </figure>
    }
}
