#![recursion_limit = "256"]
//! vxguard's portal pages, as Leptos components.
//!
//! The server (`vxguard serve`, feature `ssr`) routes each request, loads what
//! the page shows through the same service layer as the API, and renders
//! [`App`] with those [`PageProps`] to HTML ([`render_document`]). The props also
//! travel in the page as JSON (`<script id="vx-props">`), so the browser
//! build (`frontend`, feature `hydrate`) hydrates the very same view and
//! adds what needs JavaScript. Every page works without it: links and plain
//! `POST` forms, answered by the server.
//!
//! Nothing here decides what is allowed or valid: the server does, and the
//! pages show its answers (including per-field errors).

// Layers, each importing only those below it (no import cycle, see
// `scripts/check-cycles`): `shell` picks the page; `pages` render one page
// each and import `widgets` and `data`, never another page; `widgets` are
// what several pages share; `data` is what the server hands a page.
pub mod data;
mod pages;
mod shell;
pub mod wg;
mod widgets;

// The server's paths to the pages' data (`app::admin::Console`, ...).
pub use data::{admin, clients, health, members, platform, policy};

pub use data::account::{ErrorPage, Login, PasswordPage};
pub use data::admin::TenantRow;
pub use data::dashboard::{
    ClientRow, Dashboard, JobRow, NetworkEdit, NetworkForm, NetworkRow, NetworkSiteRow,
    RouterChoice, ServiceRow,
};
pub use data::form::FieldErrors;
pub use data::jobs::{JobDeviceRow, JobPage, JobsPage};
pub use data::policy::{ConfirmForm, DeviceChange, PolicyPage, PreviewView, RuleForm, RuleRow};
pub use data::props::{Page, PageProps, User};
pub use shell::App;

/// The portal's style sheet, served by the server at [`STYLE_PATH`].
pub const STYLE: &str = concat!(
    include_str!("../style/portal.css"),
    include_str!("../style/admin.css"),
    include_str!("../style/health.css"),
    include_str!("../style/lists.css")
);
pub const STYLE_PATH: &str = "/assets/portal.css";
/// Loads the hydrate bundle; a separate file so that the content security
/// policy can forbid inline scripts.
pub const BOOT_JS: &str = include_str!("../style/boot.js");
pub const BOOT_PATH: &str = "/assets/boot.js";

/// The whole HTML document for a page: head (title, style, props, boot
/// script) and the server-rendered body that `frontend` hydrates.
#[cfg(feature = "ssr")]
pub fn render_document(props: &PageProps) -> String {
    use leptos::prelude::*;
    // Inside <script>, `</script>` or `<!--` must not appear: JSON allows
    // `\u003c` for `<` in strings, the only place it can occur.
    let json = props.hydrates().then(|| {
        leptos::serde_json::to_string(props)
            .expect("props serialise")
            .replace('<', "\\u003c")
    });
    let title = props.title();
    let owner = Owner::new();
    let body = owner.with(|| {
        let p = props.clone();
        view! { <App props=p/> }.to_html()
    });
    let mut out = String::with_capacity(body.len() + json.as_ref().map_or(0, String::len) + 600);
    out.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<title>");
    out.push_str(&escape(&title));
    out.push_str(" · vxguard</title>");
    out.push_str(&format!(
        "<link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"{STYLE_PATH}\">"
    ));
    // A page that is not hydrated carries no props: `boot.js` then does
    // not load the bundle (whose views do not include that page).
    if let Some(json) = json {
        out.push_str("<script type=\"application/json\" id=\"vx-props\">");
        out.push_str(&json);
        out.push_str("</script>");
    }
    out.push_str(&format!(
        "<script type=\"module\" src=\"{BOOT_PATH}\"></script></head><body>"
    ));
    out.push_str(&body);
    out.push_str("</body></html>");
    out
}

#[cfg(feature = "ssr")]
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
