//! Editing the platform's sites, routers and hypervisors in the admin
//! console: the spec as JSON in a textarea (exactly what the API stores),
//! saved, created or deleted through the same write path as the API. The
//! server checks everything; the page shows its answers.

use leptos::prelude::*;

use crate::data::platform::SpecEdit;
use crate::widgets::form::{busy_submit, FormErrors, SubmitButton};

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
                <FormErrors failed="Nothing was created:" errors=errors/>
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
                <FormErrors failed=r#"It was not deleted:"# errors=errors/>
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
            <FormErrors failed="Nothing was saved:" errors=errors/>
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
