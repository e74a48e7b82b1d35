//! Editing the platform's sites, routers and hypervisors in the admin
//! console: a form generated from the kind's JSON Schema (a field per
//! property, its description as help, the server's errors at the field),
//! a preview of what the change does on the devices before it is applied,
//! and the spec as JSON for experts (exactly what the API stores). The
//! server checks everything and renders the page alone: plain HTML forms
//! that work without JavaScript and add nothing to the browser bundle.

use leptos::prelude::*;

use crate::data::health::ServerOnly;
use crate::data::platform::SpecEdit;
#[cfg(feature = "ssr")]
use crate::data::platform::{Input, SchemaField};

/// The section: the server renders [`SpecEditView`] into it.
pub fn spec_view(e: ServerOnly<Box<SpecEdit>>, csrf: String) -> AnyView {
    #[cfg(feature = "ssr")]
    let html = view! { <SpecEditView e=*e.0 csrf=csrf/> }.to_html();
    #[cfg(not(feature = "ssr"))]
    let html = {
        let _ = (e, csrf);
        String::new()
    };
    view! { <div id="spec-edit" inner_html=html></div> }.into_any()
}

/// One schema property as a labelled input, select or list.
#[cfg(feature = "ssr")]
fn schema_field(f: SchemaField) -> AnyView {
    let id = format!("f-{}", f.name);
    let name = format!("f.{}", f.name);
    let label = f.label();
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let described = match f.error {
        Some(_) => format!("{err_id} {hint_id}"),
        None => hint_id.clone(),
    };
    let invalid = f.error.as_ref().map(|_| "true");
    let required = f.required;
    let input = match f.input {
        Input::Select(options) => view! {
            <select id=id.clone() name=name required=required aria-invalid=invalid aria-describedby=described>
                {(!required).then(|| view! { <option value="" selected=f.value.is_empty()>"(not set)"</option> })}
                {options
                    .into_iter()
                    .map(|o| {
                        let sel = o == f.value;
                        let text = o.clone();
                        view! { <option value=o selected=sel>{text}</option> }
                    })
                    .collect_view()}
            </select>
        }
        .into_any(),
        Input::Lines => view! {
            <textarea id=id.clone() name=name rows="3" spellcheck="false" aria-invalid=invalid
                aria-describedby=described>{f.value}</textarea>
        }
        .into_any(),
        Input::Text => view! {
            <input id=id.clone() name=name type="text" value=f.value required=required
                readonly=f.readonly spellcheck="false" aria-invalid=invalid aria-describedby=described/>
        }
        .into_any(),
    };
    let mark = required.then(|| view! { <span class="muted">" (required)"</span> });
    view! {
        <div class="field" data-field=f.name.clone()>
            <label for=id>{label}{mark}</label>
            {input}
            {f.error.map(|e| view! { <p class="field-error" id=err_id>{e}</p> })}
            <small class="muted" id=hint_id>{f.help}</small>
        </div>
    }
    .into_any()
}

/// The form: every field, then Preview and Apply.
#[cfg(feature = "ssr")]
fn fields_form(
    action: String,
    csrf: String,
    version: Option<i64>,
    fields: Vec<SchemaField>,
    apply: &'static str,
) -> AnyView {
    view! {
        <form method="post" action=action class="stack" id="fields-form" novalidate>
            <input type="hidden" name="csrf" value=csrf/>
            {version.map(|v| view! { <input type="hidden" name="version" value=v.to_string()/> })}
            {fields.into_iter().map(schema_field).collect_view()}
            <p class="actions">
                <button type="submit" name="do" value="preview" class="secondary" id="preview-change">"Preview on the devices"</button>
                " "
                <button type="submit" name="do" value="apply" class="primary" id="apply-change">{apply}</button>
            </p>
        </form>
    }
    .into_any()
}

/// The errors that name no field of the form.
#[cfg(feature = "ssr")]
fn form_errors(failed: &'static str, errors: Vec<String>) -> Option<AnyView> {
    (!errors.is_empty()).then(|| {
        view! {
            <div class="alert" role="alert" id="form-errors">
                <p>{failed}</p>
                <ul>{errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            </div>
        }
        .into_any()
    })
}

#[cfg(feature = "ssr")]
#[component]
fn SpecEditView(e: SpecEdit, csrf: String) -> impl IntoView {
    use crate::pages::policy::PreviewBody;
    let SpecEdit {
        kind,
        name,
        version,
        spec,
        errors,
        notice,
        job,
        confirm_delete,
        fields,
        preview,
    } = e;
    let notice = notice.map(|n| {
        view! {
            <p class="notice" role="status" id="notice">
                {n}
                {job.map(|j| view! { " " <a href="/admin/jobs" id="job-link">{format!("Job #{j}")}</a> " compiles it." })}
            </p>
        }
    });
    let preview = preview.map(|pv| {
        view! { <section class="card wide preview-card" aria-labelledby="preview-h"><PreviewBody pv=pv/></section> }
    });
    let json_card = |action: String,
                     hint: &'static str,
                     label: &'static str,
                     version: Option<i64>| {
        view! {
            <section class="card wide" aria-labelledby="json-h">
                <h2 id="json-h">"The JSON, for experts"</h2>
                <form method="post" action=action class="stack" id="spec-form">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    {version.map(|v| view! { <input type="hidden" name="version" value=v.to_string()/> })}
                    <div class="field">
                        <label for="spec">{format!("The {kind} as JSON")}</label>
                        <p class="muted" id="spec-hint">{hint}</p>
                        <textarea id="spec" name="spec" class="spec" rows="14" spellcheck="false"
                            aria-describedby="spec-hint">{spec.clone()}</textarea>
                    </div>
                    <button type="submit" class="primary">{label}</button>
                </form>
            </section>
        }
    };
    let Some(name) = name else {
        let action = format!("/admin/platform/{kind}");
        return view! {
            <section class="card wide" aria-labelledby="spec-h">
                <h2 id="spec-h">"A new " {kind.clone()}</h2>
                {form_errors("Nothing was created:", errors)}
                <p class="muted">"Each field is described under it. Preview shows what the devices would get; nothing is written until you create it."</p>
                {fields_form(action.clone(), csrf.clone(), None, fields, "Create")}
            </section>
            {preview}
            {json_card(action, "Copied from an existing one: give it a name and change what differs.", "Create", None)}
        }
        .into_any();
    };
    let base = format!("/admin/platform/{kind}/{name}");
    if confirm_delete {
        let action = format!("{base}/delete");
        return view! {
            <section class="card narrow" aria-labelledby="delete-h">
                <h2 id="delete-h">"Delete " {kind.clone()} " " <code>{name.clone()}</code> "?"</h2>
                {form_errors("It was not deleted:", errors)}
                {notice}
                <p>"The change is refused while anything still refers to it; otherwise it cannot be undone."</p>
                <form method="post" action=action class="stack" id="delete-form">
                    <input type="hidden" name="csrf" value=csrf/>
                    <input type="hidden" name="version" value=version.to_string()/>
                    <button type="submit" class="danger" id="confirm-delete">"Delete it"</button>
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
        {notice}
        <section class="card wide" aria-labelledby="spec-h">
            <h2 id="spec-h">"Edit " <code>{name.clone()}</code></h2>
            <p class="muted">"Version " {version} {revisions} " · The name cannot change; applying starts a job."</p>
            {form_errors("Nothing was saved:", errors)}
            {fields_form(base.clone(), csrf.clone(), Some(version), fields, "Apply")}
        </section>
        {preview}
        {json_card(base.clone(), "The same object as JSON; saving starts a job.", "Save", Some(version))}
        <p class="actions"><a href=format!("{base}/delete") class="danger" id="delete-link">"Delete this " {kind.clone()} "…"</a></p>
    }
    .into_any()
}
