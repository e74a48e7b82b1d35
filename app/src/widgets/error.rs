//! The error page's body (404 and the server's errors).

use leptos::prelude::*;

#[component]
pub fn ErrorView(status: u16, title: String, detail: String) -> impl IntoView {
    view! {
        <section class="card narrow error-page">
            <p class="status">{status}</p>
            <h1>{title}</h1>
            <p>{detail}</p>
            <p><a href="/">"Back to the start"</a></p>
        </section>
    }
}
