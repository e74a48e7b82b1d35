//! The portal: server-rendered Leptos pages (crate `app`) on the API's
//! port. Each route loads its data through the same service layer as the
//! API (`auth::session`, `vxguard_store`, `tenancy::resolve`), renders
//! `app::App` to HTML with it, and embeds the same data for the browser
//! bundle to hydrate (built by scripts/build-portal, embedded in the binary
//! and served at `/pkg/` under content-hashed names: `bundle`).
//!
//! Pages: `/` (where the user starts), `/login`, `/logout` (POST),
//! `/t/{tenant}` (dashboard) with `POST /t/{tenant}/networks`,
//! `/t/{tenant}/networks/{name}` (edit, tenant admins) and `.../delete`
//! (confirm, then delete), `GET /t/{tenant}/jobs` (the latest jobs as JSON) and
//! `/t/{tenant}/jobs/stream` (the same, live, as server-sent events),
//! `/t/{tenant}/jobs/{id}` and `/admin/jobs/{id}` (one job and the devices
//! it reached: `job`),
//! `/t/{tenant}/members`, `/tokens` and `/audit` (`members`),
//! `/t/{tenant}/policy` (services and rules, with previews: `policy`),
//! `/t/{tenant}/clients` (WireGuard clients, key pairs made in the browser:
//! `clients`), the admin console under `/admin` (`admin`; device health
//! and the platform map at `/admin/health`: `health`; editing sites,
//! routers and hypervisors under `/admin/platform/{kind}`: `platform`), and
//! `/account/password` (change password, any signed-in user).
//! The guides (`docs/`, built into the binary like the bundle) are served,
//! to anyone, at `/docs/` (`docs`); each page's Help link points into them.
//! Anonymous users are sent to `/login`; another tenant's pages answer 404
//! exactly like missing ones; every POST is CSRF-checked (`session`).
//! Who may see or change a page is checked, and refused, before its
//! handler runs, by the extractors it takes (`extract`).

mod admin;
pub mod bundle;
mod clients;
mod data;
pub mod docs;
mod document;
mod extract;
mod health;
mod job;
mod lists;
mod members;
mod pages;
mod platform;
mod policy;
mod respond;
pub mod session;
mod spec_form;

pub use document::html;

use crate::api;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bundle::Bundle;
use docs::Docs;
use std::path::PathBuf;
use std::sync::Arc;

/// The API and the portal on one router, with [`Bundle::load`]'s bundle:
/// the embedded one, else `<site_root>/pkg` (`$LEPTOS_SITE_ROOT`), and
/// [`Docs::load`]'s guides (the embedded ones, else `<site_root>/docs`).
pub fn app(st: AppState, site_root: PathBuf) -> Router {
    app_with(st, Bundle::load(&site_root), Docs::load(&site_root))
}

/// [`app`] serving `bundle` at `/pkg/` and its boot script, and the
/// embedded guides (if any) at `/docs/`.
pub fn app_with_bundle(st: AppState, bundle: Arc<Bundle>) -> Router {
    let docs =
        Docs::embedded().unwrap_or_else(|| Arc::new(Docs::none("this binary embeds no guides")));
    app_with(st, bundle, docs)
}

/// [`app`] serving `bundle` at `/pkg/` and `docs` at `/docs/`.
pub fn app_with(st: AppState, bundle: Arc<Bundle>, docs: Arc<Docs>) -> Router {
    let pkg = bundle.clone();
    let docs_index = docs.clone();
    api::routes()
        .route("/", get(pages::index))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/admin", get(admin::index))
        .route("/admin/tenants", post(admin::create_tenant))
        .route("/admin/platform", get(admin::platform))
        .route("/admin/platform/{kind}", post(platform::create))
        .route("/admin/platform/{kind}/new", get(platform::new_form))
        .route(
            "/admin/platform/{kind}/{name}",
            get(platform::edit_form).post(platform::update),
        )
        .route(
            "/admin/platform/{kind}/{name}/delete",
            get(platform::delete_form).post(platform::delete),
        )
        .route(
            "/admin/routers/{name}/api-key/rotate",
            post(admin::rotate_api_key),
        )
        .route(
            "/admin/routers/{name}/certificate/trust",
            post(admin::trust_certificate),
        )
        .route(
            "/admin/devices/{name}/wireguard-key/rotate",
            post(admin::rotate_mesh_key),
        )
        .route("/admin/health", get(admin::health))
        .route("/admin/users", get(admin::users))
        .route(
            "/admin/users/{id}/reset",
            get(admin::reset_form).post(admin::reset),
        )
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/jobs/{id}", get(job::admin_job))
        .route("/admin/jobs/{id}/retry", post(job::admin_retry))
        .route("/admin/devices", get(admin::devices))
        .route("/admin/audit", get(admin::audit))
        .route("/admin/devices/{kind}/{name}", get(admin::device))
        .route("/admin/devices/{kind}/{name}/{seq}", get(admin::revision))
        .route(
            "/t/{tenant}/members",
            get(members::members).post(members::add_member),
        )
        .route(
            "/t/{tenant}/members/clients",
            post(members::set_members_add_clients),
        )
        .route(
            "/t/{tenant}/members/{id}/remove",
            get(members::remove_member_form).post(members::remove_member),
        )
        .route(
            "/t/{tenant}/members/{id}/reset",
            get(members::reset_form).post(members::reset),
        )
        .route(
            "/t/{tenant}/tokens",
            get(members::tokens).post(members::create_token),
        )
        .route(
            "/t/{tenant}/tokens/{id}/revoke",
            post(members::revoke_token),
        )
        .route("/t/{tenant}/audit", get(members::audit))
        .route(
            "/account/password",
            get(pages::password_form).post(pages::change_password),
        )
        .route("/t/{tenant}", get(pages::dashboard))
        .route("/t/{tenant}/networks", post(pages::create_network))
        .route("/t/{tenant}/jobs", get(pages::latest_jobs))
        .route("/t/{tenant}/jobs/stream", get(pages::jobs_stream))
        .route("/t/{tenant}/jobs/{id}", get(job::tenant_job))
        .route("/t/{tenant}/jobs/{id}/retry", post(job::tenant_retry))
        .route("/t/{tenant}/changes", get(job::tenant_jobs))
        .route(
            "/t/{tenant}/clients",
            get(clients::page).post(clients::create),
        )
        .route("/t/{tenant}/clients/{name}/rekey", post(clients::rekey))
        .route(
            "/t/{tenant}/clients/{name}/delete",
            get(clients::delete_form).post(clients::delete),
        )
        .route(
            "/t/{tenant}/networks/{name}",
            get(pages::edit_network_form).post(pages::update_network),
        )
        .route(
            "/t/{tenant}/networks/{name}/delete",
            get(pages::delete_network_form).post(pages::delete_network),
        )
        .route("/t/{tenant}/policy", get(policy::page))
        .route("/t/{tenant}/policy/rules", post(policy::create))
        .route("/t/{tenant}/policy/rules/{id}", post(policy::update))
        .route("/t/{tenant}/policy/rules/{id}/toggle", post(policy::toggle))
        .route("/t/{tenant}/policy/rules/{id}/delete", post(policy::delete))
        .route("/t/{tenant}/policy/order", post(policy::reorder))
        .route("/t/{tenant}/policy/preview", post(policy::preview))
        .route("/t/{tenant}/policy/default", post(policy::default_action))
        .route("/t/{tenant}/policy/services", post(policy::service_create))
        .route(
            "/t/{tenant}/policy/services/{name}",
            post(policy::service_update),
        )
        .route(
            "/t/{tenant}/policy/services/{name}/delete",
            post(policy::service_delete),
        )
        .route_layer(axum::middleware::from_fn(refuse_nul))
        .route(app::STYLE_PATH, get(style))
        .route(
            app::BOOT_PATH,
            get(move |headers: axum::http::HeaderMap| async move { bundle.boot(&headers) }),
        )
        .route(
            "/pkg/{*file}",
            get(
                move |axum::extract::Path(file): axum::extract::Path<String>| async move {
                    pkg.file(&file)
                },
            ),
        )
        .route(
            "/docs",
            get(|| async { axum::response::Redirect::permanent("/docs/") }),
        )
        .route(
            "/docs/",
            get(move |headers: axum::http::HeaderMap| async move { docs_index.file("", &headers) }),
        )
        .route(
            "/docs/{*path}",
            get(
                move |axum::extract::Path(path): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap| async move {
                    docs.file(&path, &headers)
                },
            ),
        )
        .fallback(fallback)
        .with_state(st)
}

/// `api::check_nul` for the portal's routes and the API's: a page for
/// the portal, a problem for the API.
async fn refuse_nul(req: Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    match api::check_nul(req).await {
        Ok(req) => next.run(req).await,
        Err(p) if api => p.into_response(),
        Err(p) => respond::problem_page(None, &p),
    }
}

async fn fallback(st: axum::extract::State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return Problem::new(StatusCode::NOT_FOUND, "no such endpoint").into_response();
    }
    let source = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    pages::not_found(&st, req.headers(), &source).await
}

fn asset(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", app::STYLE)
}
