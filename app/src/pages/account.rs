//! Logging in and changing one's password.

use leptos::prelude::*;

use crate::data::account::{Login, PasswordPage};
use crate::widgets::form::{busy_submit, Field, SubmitButton};

#[component]
pub fn LoginPage(login: Login) -> impl IntoView {
    let Login {
        email,
        next,
        error,
        fields,
        csrf,
    } = login;
    let has_error = error.is_some();
    let busy = RwSignal::new(false);
    // The first field with something to fix takes the focus; with only a
    // wrong email or password, the password does (the email is kept).
    let email_error = fields.get("email");
    let password_error = fields.get("password");
    let email_focus = email_error.is_some() || (!has_error && password_error.is_none());
    let password_focus = !email_focus;
    let described = |field_error: bool, id: &'static str| {
        let mut v = Vec::new();
        if field_error {
            v.push(id);
        }
        if has_error {
            v.push("login-error");
        }
        (!v.is_empty()).then(|| v.join(" "))
    };
    let email_described = described(email_error.is_some(), "email-error");
    let password_described = described(password_error.is_some(), "password-error");
    let (email_bad, password_bad) = (email_error.is_some(), password_error.is_some());
    view! {
        <section class="card narrow">
            <h1>"Log in"</h1>
            {error.map(|e| view! { <p class="alert" role="alert" id="login-error">{e}</p> })}
            <form method="post" action="/login" class="stack" id="login-form" novalidate
                on:submit=busy_submit(busy)>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="next" value=next/>
                <div class="field" class:has-error=email_bad>
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required
                        value=email autofocus=email_focus
                        aria-invalid=email_bad.then_some("true")
                        aria-describedby=email_described/>
                    {email_error.map(|e| view! { <p class="field-error" id="email-error">{e}</p> })}
                </div>
                <div class="field" class:has-error=password_bad>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password"
                        autocomplete="current-password" required autofocus=password_focus
                        aria-invalid=password_bad.then_some("true")
                        aria-describedby=password_described/>
                    {password_error.map(|e| view! { <p class="field-error" id="password-error">{e}</p> })}
                </div>
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
            <form method="post" action="/account/password" class="stack" id="password-form" novalidate
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
