//! Form pieces: a labelled field with its error, the submit button that
//! shows a form is on its way, and the errors that name no field.

use leptos::prelude::*;

/// A submit button that, once hydrated, shows that its form is on its way;
/// the form's `on:submit` (see [`busy_submit`]) sets `busy` and refuses a
/// second submission. On a page that is not hydrated, `app/style/boot.js`
/// does the same with `data-busy`. Without JavaScript the form simply posts.
#[component]
pub fn SubmitButton(
    label: &'static str,
    busy_label: &'static str,
    busy: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <button type="submit" class="primary" data-busy=busy_label aria-disabled=move || busy.get().then_some("true")>
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}

/// The submit handler that goes with [`SubmitButton`].
pub fn busy_submit(busy: RwSignal<bool>) -> impl Fn(leptos::ev::SubmitEvent) + 'static {
    move |ev| {
        if busy.get_untracked() {
            ev.prevent_default();
        } else {
            busy.set(true);
        }
    }
}

/// One labelled text field with its server-side error right below it.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    #[prop(into)] hint: String,
    /// The input type (`text`, or `password`).
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if error.is_some() {
        format!("{err_id} {hint_id}")
    } else {
        hint_id.clone()
    };
    let invalid = error.is_some().then_some("true");
    let has_error = error.is_some();
    view! {
        <div class="field" class:has-error=has_error>
            <label for=id>{label}</label>
            <input id=id name=id type=kind value=value required autofocus=has_error
                autocomplete=autocomplete spellcheck="false"
                aria-invalid=invalid aria-describedby=described/>
            {error.map(|e| view! { <p class="field-error" id=err_id>{e}</p> })}
            <small class="muted" id=hint_id>{hint}</small>
        </div>
    }
}

/// Errors that name no field, above a form.
#[cfg(feature = "ssr")]
#[component]
pub fn FormErrors(failed: &'static str, errors: Vec<String>) -> impl IntoView {
    (!errors.is_empty()).then(|| {
        view! {
            <div class="alert" role="alert" id="form-errors">
                <p>{failed}</p>
                <ul>{errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            </div>
        }
    })
}
