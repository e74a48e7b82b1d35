//! Editing the platform's sites, routers and hypervisors in the admin
//! console: the spec as JSON in a textarea (exactly what the API stores),
//! saved, created or deleted through the same write path as the API. The
//! server checks everything; the page shows its answers.

use crate::pages::{busy_submit, SubmitButton};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One platform object's page: its edit form, the form creating a new one
/// (`name` is `None`), or (with `confirm_delete`) the question whether to
/// delete it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

#[component]
fn Errors(failed: &'static str, errors: Vec<String>) -> impl IntoView {
    (!errors.is_empty()).then(|| {
        view! {
            <div class="alert" role="alert" id="form-errors">
                <p>{failed}</p>
                <ul>{errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            </div>
        }
    })
}

#[component]
pub fn SpecEditView(e: SpecEdit, csrf: String) -> impl IntoView {
    let SpecEdit {
        kind,
        name,
        version,
        spec,
        errors,
        notice,
        job,
        confirm_delete,
    } = e;
    let back = view! { <p class="muted"><a href="/admin/platform">"← Sites, routers, hypervisors"</a></p> };
    let notice = notice.map(|n| {
        view! {
            <p class="notice" role="status" id="notice">
                {n}
                {job.map(|j| view! { " " <a href="/admin/jobs" id="job-link">{format!("Job #{j}")}</a> " compiles it." })}
            </p>
        }
    });
    let busy = RwSignal::new(false);
    let Some(name) = name else {
        let action = format!("/admin/platform/{kind}");
        return view! {
            {back}
            <section class="card wide" aria-labelledby="spec-h">
                <h2 id="spec-h">"A new " {kind.clone()}</h2>
                <Errors failed="Nothing was created:" errors=errors/>
                <form method="post" action=action class="stack" id="spec-form" on:submit=busy_submit(busy)>
                    <input type="hidden" name="csrf" value=csrf/>
                    <div class="field">
                        <label for="spec">{format!("The {kind} as JSON")}</label>
                        <p class="muted" id="spec-hint">"Copied from an existing one: give it a name and change what differs."</p>
                        <textarea id="spec" name="spec" class="spec" rows="14" spellcheck="false"
                            aria-describedby="spec-hint">{spec}</textarea>
                    </div>
                    <SubmitButton label="Create" busy_label="Creating…" busy=busy/>
                </form>
            </section>
        }
        .into_any();
    };
    let base = format!("/admin/platform/{kind}/{name}");
    if confirm_delete {
        let action = format!("{base}/delete");
        return view! {
            {back}
            <section class="card narrow" aria-labelledby="delete-h">
                <h2 id="delete-h">"Delete " {kind.clone()} " " <code>{name.clone()}</code> "?"</h2>
                <Errors failed=r#"It was not deleted:"# errors=errors/>
                {notice}
                <p>"The change is refused while anything still refers to it; otherwise it cannot be undone."</p>
                <form method="post" action=action class="stack" id="delete-form" on:submit=busy_submit(busy)>
                    <input type="hidden" name="csrf" value=csrf/>
                    <input type="hidden" name="version" value=version.to_string()/>
                    <button type="submit" class="danger" id="confirm-delete"
                        aria-disabled=move || busy.get().then_some("true")>
                        {move || if busy.get() { "Deleting…" } else { "Delete it" }}
                    </button>
                    <a href=base>"Keep it"</a>
                </form>
            </section>
        }
        .into_any();
    }
    let revisions = (kind != "site").then(|| {
        view! { " · " <a href=format!("/admin/devices/{kind}/{name}")>"Revisions"</a> }
    });
    view! {
        {back}
        {notice}
        <section class="card wide" aria-labelledby="spec-h">
            <h2 id="spec-h">"Edit " <code>{name.clone()}</code></h2>
            <p class="muted">"Version " {version} {revisions}</p>
            <Errors failed="Nothing was saved:" errors=errors/>
            <form method="post" action=base.clone() class="stack" id="spec-form" on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="version" value=version.to_string()/>
                <div class="field">
                    <label for="spec">{format!("The {kind} as JSON")}</label>
                    <p class="muted" id="spec-hint">"The name cannot change; saving starts a job."</p>
                    <textarea id="spec" name="spec" class="spec" rows="14" spellcheck="false"
                        aria-describedby="spec-hint">{spec}</textarea>
                </div>
                <SubmitButton label="Save" busy_label="Saving…" busy=busy/>
            </form>
            <p class="actions"><a href=format!("{base}/delete") class="danger" id="delete-link">"Delete this " {kind.clone()} "…"</a></p>
        </section>
    }
    .into_any()
}
