//! The portal in the browser: hydrates the page the server rendered, from
//! the same props it rendered it with (`<script id="vx-props">`), then marks
//! `<body data-hydrated="true">` so tests (and curious people) can tell.
//! Only the pages that need it carry props and load this bundle
//! (`app::PageProps::hydrates`); `boot.js` marks the others itself.

use app::{App, PageProps};
use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(text) = document()
        .get_element_by_id("vx-props")
        .and_then(|e| e.text_content())
    else {
        leptos::logging::warn!("vxguard: no props in this page; not hydrating");
        return;
    };
    let props: PageProps = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            leptos::logging::warn!("vxguard: unreadable props ({e}); not hydrating");
            return;
        }
    };
    leptos::mount::hydrate_body(move || view! { <App props=props/> });
    if let Some(b) = document().body() {
        let _ = b.set_attribute("data-hydrated", "true");
    }
}
