//! How a portal page reads a form and answers: the form's fields, the
//! page for a problem, the redirect to a page or to the login. Shared by
//! the pages and by the checks in `extract`, which come before them.

use super::document::html;
use super::session::{self, WebSession};
use crate::problem::Problem;
use crate::state::AppState;
use app::{ErrorPage, Page, PageProps};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub(super) type Form = Vec<(String, String)>;

pub(super) fn parse_form(body: &[u8]) -> Form {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub(super) fn field<'a>(f: &'a Form, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub(super) fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn to_login(path: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
    see_other(&format!("/login?next={next}"))
}

pub(super) fn props(s: Option<&WebSession>, page: Page) -> PageProps {
    PageProps {
        user: s.map(WebSession::user),
        csrf: s.map(|s| s.csrf.clone()).unwrap_or_default(),
        page,
    }
}

/// A problem as a page: 404 is the not-found page, whatever the cause.
pub(super) fn problem_page(s: Option<&WebSession>, p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let page = if status == StatusCode::NOT_FOUND {
        Page::NotFound
    } else {
        Page::Error(ErrorPage {
            status: p.status,
            title: p.title.clone(),
            detail: p.detail.clone(),
        })
    };
    html(status, &props(s, page))
}

/// Why a form with a bad origin or CSRF token is refused.
pub(super) const FORM_EXPIRED: &str =
    "This form was not sent from this site, or it has expired: reload the page and try again.";

pub(super) fn forbidden_form(s: Option<&WebSession>) -> Response {
    problem_page(s, &Problem::forbidden(FORM_EXPIRED))
}

/// The session, or the response for a request without one. A session
/// that must change its password gets only the password page (and
/// logging out): anything else, read or write, is sent there undone.
pub(super) async fn session_or_login(
    st: &AppState,
    h: &HeaderMap,
    source: &str,
    path: &str,
) -> Result<WebSession, Response> {
    match session::current(st, h, source).await {
        Ok(Some(s))
            if s.must_change_password && !matches!(path, "/account/password" | "/logout") =>
        {
            Err(see_other(session::CHOOSE_PASSWORD))
        }
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(to_login(path)),
        Err(p) => Err(problem_page(None, &p)),
    }
}

/// The version the form was rendered from (for If-Match), or the error page.
pub(super) fn version_of(f: &Form, s: &WebSession) -> Result<i64, Response> {
    field(f, "version").parse().map_err(|_| {
        problem_page(
            Some(s),
            &Problem::new(StatusCode::BAD_REQUEST, "no version"),
        )
    })
}

pub(super) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
