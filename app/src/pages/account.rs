//! Logging in and changing one's password.

use leptos::prelude::*;

use crate::data::account::{Login, PasswordPage};
use crate::widgets::form::{busy_submit, Field, SubmitButton};

#[component]
pub fn LoginPage(login: Login) -> impl IntoView {
    let has_error = login.error.is_some();
    let busy = RwSignal::new(false);
    view! {
        <section class="card narrow">
            <h1>"Log in"</h1>
            {login.error.map(|e| view! { <p class="alert" role="alert" id="login-error">{e}</p> })}
            <form method="post" action="/login" class="stack" on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=login.csrf/>
                <input type="hidden" name="next" value=login.next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required
                    value=login.email autofocus=!has_error
                    aria-describedby=has_error.then_some("login-error")/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password"
                    autocomplete="current-password" required autofocus=has_error/>
                <SubmitButton label="Log in" busy_label="Logging in…" busy=busy/>
            </form>
        </section>
    }
}

#[component]
pub fn PasswordPageView(p: PasswordPage, csrf: String) -> impl IntoView {
    let PasswordPage {
        errors,
        changed,
        required,
    } = p;
    let form_errors = errors.form.clone();
    let busy = RwSignal::new(false);
    view! {
        <section class="card narrow">
            <h1>"Change password"</h1>
            {required.then(|| view! {
                <p class="notice" role="status" id="password-required">
                    "Welcome. An admin chose the password you logged in with: choose your own to continue. Until then, this is the only page you can use."
                </p>
            })}
            {changed.then(|| view! {
                <p class="notice" role="status" id="password-changed">
                    "Your password was changed. Every other session of yours was logged out; this one stays."
                </p>
            })}
            {(!form_errors.is_empty()).then(|| view! {
                <div class="alert" role="alert" id="form-errors">
                    <ul>{form_errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })}
            <form method="post" action="/account/password" class="stack" id="password-form"
                on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=csrf/>
                <Field id="current_password" label="Current password" value=String::new()
                    error=errors.get("current_password") hint="" kind="password"
                    autocomplete="current-password"/>
                <Field id="new_password" label="New password" value=String::new()
                    error=errors.get("new_password") hint="At least 12 characters." kind="password"
                    autocomplete="new-password"/>
                <Field id="confirm_password" label="New password again" value=String::new()
                    error=errors.get("confirm_password") hint="" kind="password"
                    autocomplete="new-password"/>
                <SubmitButton label="Change password" busy_label="Changing…" busy=busy/>
            </form>
        </section>
    }
}
