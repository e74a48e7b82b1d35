//! An admin's password reset of another user, on the console's users list
//! and a tenant's members page: the confirm step, then the temporary
//! password shown once. Rendered by the server alone (`ServerOnly`: a
//! plain form needs no script), so the bundle holds only the empty
//! `inner_html` of [`reset_view`].

use leptos::prelude::*;

use crate::data::health::ServerOnly;
use crate::data::members::PasswordReset;
#[cfg(feature = "ssr")]
use crate::widgets::form::FormErrors;

/// The card: the server renders [`ResetPasswordCard`] into it.
pub fn reset_view(r: ServerOnly<PasswordReset>, csrf: String) -> AnyView {
    #[cfg(feature = "ssr")]
    let html = view! { <ResetPasswordCard r=r.0 csrf=csrf/> }.to_html();
    #[cfg(not(feature = "ssr"))]
    let html = {
        let _ = (r, csrf);
        String::new()
    };
    view! { <div id="password-reset" inner_html=html></div> }.into_any()
}

#[cfg(feature = "ssr")]
#[component]
fn ResetPasswordCard(r: PasswordReset, csrf: String) -> impl IntoView {
    let PasswordReset {
        email,
        action,
        back,
        temporary,
        errors,
    } = r;
    if let Some(t) = temporary {
        return view! {
            <section class="card wide secret" aria-labelledby="reset-h" id="reset-done">
                <h2 id="reset-h">"New temporary password for " {email}</h2>
                <p><strong>"Copy it now: it is shown only this once."</strong>
                    " Give it to them by a channel you trust. Their sessions have ended; at their next
                    login they must choose their own password before anything else."</p>
                <label for="temporary-password">"Temporary password"</label>
                <input id="temporary-password" type="text" readonly value=t spellcheck="false"
                    autocomplete="off"/>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card narrow" aria-labelledby="reset-h">
            <h2 id="reset-h">{format!("Reset the password of {email}?")}</h2>
            <FormErrors failed="The password was not reset:" errors=errors/>
            <p>"They get a new temporary password, shown to you once; their current password and
                every session and refresh token of theirs stop working. At their next login they
                must choose their own password."</p>
            <form method="post" action=action class="stack" id="reset-form">
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" class="danger" id="confirm-reset">"Reset the password"</button>
                <a href=back>"Keep it"</a>
            </form>
        </section>
    }
    .into_any()
}
