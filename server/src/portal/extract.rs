//! Who may do what on a portal page, in one place: axum extractors that
//! check the session, the form's origin and CSRF token, the tenant scope
//! and the role before a handler runs, and answer a refusal the way every
//! page does. A handler names what it needs (`TenantAdminForm`,
//! `TenantReader`, `PlatformAdmin`, ...) and gets a checked session and
//! scope, or never runs: the login redirect for a request without a
//! session (back to the page the extractor's [`Next`] names), the
//! "form expired" page for a bad origin or CSRF token, the not-found page
//! for another tenant's pages (and, for everyone but platform admins, for
//! the console) and the forbidden page for a member at an admin's page.
//! These rules were repeated in each handler (`write_scope`, `read_scope`,
//! `admin_session` and a CSRF check by hand), where one could drift from
//! the others.
//!
//! The checks run in the order the handlers ran them: the path, then the
//! body (axum's `Bytes`, so the body limit holds), then the session, then
//! the form's CSRF token, then the tenant and the role — except in the
//! console, where a non-admin gets the not-found page before any CSRF
//! check. An extractor that reads the body must be a handler's last
//! argument.

use super::respond::{field, forbidden_form, parse_form, problem_page, session_or_login, Form};
use super::session::{self, WebSession};
use crate::auth::principal::Source;
use crate::problem::Problem;
use crate::state::AppState;
use crate::tenancy::{self, TenantScope};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use next::{Dashboard, Here};
use std::collections::HashMap;
use std::marker::PhantomData;

/// Who may write through a tenant admin's extractor: its admins
/// ([`Admins`]), or, for the WireGuard client pages, also its members when
/// the tenant allows it ([`ClientMakers`]).
pub(super) trait Writers {
    const CLIENTS: bool;
}

/// A tenant's admins (and platform admins).
pub(super) struct Admins;

impl Writers for Admins {
    const CLIENTS: bool = false;
}

/// Those who may add a client: [`Admins`], and the tenant's members when
/// its `members_add_clients` is on (they change only the clients they
/// added: the store refuses the others).
pub(super) struct ClientMakers;

impl Writers for ClientMakers {
    const CLIENTS: bool = true;
}

/// A route's path parameters, decoded as `Path` decodes them.
type Params = HashMap<String, String>;

/// Where the login page sends a signed-out user back to (its `next`):
/// one of the pages in [`next`].
pub(super) trait Next {
    fn next(parts: &Parts, params: &Params) -> String;
}

/// The pages a login sends a user back to.
pub(super) mod next {
    use super::{fill, Next, Params};
    use axum::extract::MatchedPath;
    use axum::http::request::Parts;

    /// The page asked for: its route with the path's parameters filled
    /// in (without the query string).
    pub struct Here;

    impl Next for Here {
        fn next(parts: &Parts, params: &Params) -> String {
            match parts.extensions.get::<MatchedPath>() {
                Some(m) => fill(m.as_str(), params),
                None => parts.uri.path().to_string(),
            }
        }
    }

    macro_rules! page {
        ($(#[$doc:meta])* $name:ident = $template:literal) => {
            $(#[$doc])*
            pub struct $name;

            impl Next for $name {
                fn next(_: &Parts, params: &Params) -> String {
                    fill($template, params)
                }
            }
        };
    }

    page!(
        /// The tenant's dashboard, where a tenant admin's pages and
        /// forms send a signed-out user.
        Dashboard = "/t/{tenant}"
    );
    page!(
        /// The clients page, for its forms and its confirmations.
        Clients = "/t/{tenant}/clients"
    );
    page!(
        /// The console's start page (its tenant form).
        Console = "/admin"
    );
    page!(
        /// The console's platform page (its router actions).
        Platform = "/admin/platform"
    );
    page!(
        /// The form creating a site, router or hypervisor.
        NewSpec = "/admin/platform/{kind}/new"
    );
    page!(
        /// A site's, router's or hypervisor's editor.
        Spec = "/admin/platform/{kind}/{name}"
    );
}

/// A route template (`/t/{tenant}/clients`) with its parameters' values.
fn fill(template: &str, params: &Params) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        let key = &rest[open + 1..close];
        if let Some(v) = params.get(key) {
            out.push_str(v);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether the page's script asked for JSON (`Accept: application/json`).
pub(super) fn wants_json(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A problem as JSON (for the page's script) with no caching.
pub(super) fn problem_json(p: Problem) -> Response {
    let mut r = p.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A problem as the page answering a signed-in user (`problem_page`).
pub(super) trait OrPage<T> {
    fn or_page(self, s: &WebSession) -> Result<T, Response>;
}

impl<T, E: Into<Problem>> OrPage<T> for Result<T, E> {
    fn or_page(self, s: &WebSession) -> Result<T, Response> {
        self.map_err(|e| problem_page(Some(s), &e.into()))
    }
}

/// What the checks read off a request, taken before its body.
struct Asker {
    headers: HeaderMap,
    source: String,
    params: Params,
    /// The login page's `next` for this request.
    next: String,
}

impl Asker {
    async fn of<N: Next>(parts: &mut Parts, st: &AppState) -> Result<Asker, Response> {
        let params = match Path::<Params>::from_request_parts(parts, st).await {
            Ok(Path(p)) => p,
            Err(PathRejection::MissingPathParams(_)) => Params::new(),
            Err(r) => return Err(r.into_response()),
        };
        let source = match Source::from_request_parts(parts, st).await {
            Ok(Source(s)) => s,
            Err(never) => match never {},
        };
        Ok(Asker {
            headers: parts.headers.clone(),
            source,
            next: N::next(parts, &params),
            params,
        })
    }

    /// `Asker::of` and then the body, as `Path` and `Bytes` did.
    async fn with_form<N: Next>(req: Request, st: &AppState) -> Result<(Asker, Form), Response> {
        let (mut parts, body) = req.into_parts();
        let a = Asker::of::<N>(&mut parts, st).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), st)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok((a, parse_form(&body)))
    }

    fn tenant(&self) -> &str {
        self.params.get("tenant").map(String::as_str).unwrap_or("")
    }

    /// The session, or the login page that comes back here.
    async fn session(&self, st: &AppState) -> Result<WebSession, Response> {
        session_or_login(st, &self.headers, &self.source, &self.next).await
    }

    /// Whether the form came from this site with the session's token.
    fn form_ok(&self, s: &WebSession, f: &Form) -> bool {
        session::same_origin(&self.headers) && session::csrf_matches(&s.csrf, field(f, "csrf"))
    }

    /// The tenant of the path as `s` may see it (404 for another's), and,
    /// for `write`, only for its admins (403 for members).
    async fn scope(
        &self,
        st: &AppState,
        s: &WebSession,
        write: bool,
    ) -> Result<TenantScope, Problem> {
        let scope = tenancy::resolve(st, s.who.clone(), self.tenant()).await?;
        if write {
            scope.require_write()?;
        }
        Ok(scope)
    }

    /// [`Asker::scope`] for `W`'s writes.
    async fn write_scope<W: Writers>(
        &self,
        st: &AppState,
        s: &WebSession,
    ) -> Result<TenantScope, Problem> {
        let scope = tenancy::resolve(st, s.who.clone(), self.tenant()).await?;
        if W::CLIENTS {
            scope.require_client_write(st).await?;
        } else {
            scope.require_write()?;
        }
        Ok(scope)
    }

    /// A platform admin's session; anyone else gets the not-found page, as
    /// for any path that is not theirs.
    async fn platform_admin(&self, st: &AppState) -> Result<WebSession, Response> {
        let s = self.session(st).await?;
        if s.who.require_platform_admin().is_err() {
            return Err(problem_page(Some(&s), &Problem::not_found()));
        }
        Ok(s)
    }
}

/// A signed-in user, any role.
pub(super) struct SignedIn<N = Here> {
    pub session: WebSession,
    next: PhantomData<N>,
}

impl<N: Next> FromRequestParts<AppState> for SignedIn<N> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let a = Asker::of::<N>(parts, st).await?;
        let session = a.session(st).await?;
        Ok(SignedIn {
            session,
            next: PhantomData,
        })
    }
}

/// A signed-in user's form (any role): origin and CSRF token checked.
pub(super) struct SignedInForm<N = Here> {
    pub session: WebSession,
    pub form: Form,
    next: PhantomData<N>,
}

impl<N: Next> FromRequest<AppState> for SignedInForm<N> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (a, form) = Asker::with_form::<N>(req, st).await?;
        let session = a.session(st).await?;
        if !a.form_ok(&session, &form) {
            return Err(forbidden_form(Some(&session)));
        }
        Ok(SignedInForm {
            session,
            form,
            next: PhantomData,
        })
    }
}

/// A user of the `{tenant}` of the path, any role: its members read.
pub(super) struct TenantReader<N = Here> {
    pub session: WebSession,
    pub scope: TenantScope,
    next: PhantomData<N>,
}

impl<N: Next> FromRequestParts<AppState> for TenantReader<N> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let a = Asker::of::<N>(parts, st).await?;
        let session = a.session(st).await?;
        let scope = a.scope(st, &session, false).await.or_page(&session)?;
        Ok(TenantReader {
            session,
            scope,
            next: PhantomData,
        })
    }
}

/// An admin of the `{tenant}` of the path (or a platform admin), for a
/// page that only they see.
pub(super) struct TenantAdmin<N = Dashboard, W = Admins> {
    pub session: WebSession,
    pub scope: TenantScope,
    next: PhantomData<(N, W)>,
}

impl<N: Next, W: Writers> FromRequestParts<AppState> for TenantAdmin<N, W> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let a = Asker::of::<N>(parts, st).await?;
        let session = a.session(st).await?;
        let scope = a.write_scope::<W>(st, &session).await.or_page(&session)?;
        Ok(TenantAdmin {
            session,
            scope,
            next: PhantomData,
        })
    }
}

/// A tenant admin's form: origin and CSRF token checked before the
/// tenant is looked up.
pub(super) struct TenantAdminForm<N = Dashboard, W = Admins> {
    pub session: WebSession,
    pub scope: TenantScope,
    pub form: Form,
    next: PhantomData<(N, W)>,
}

impl<N: Next, W: Writers> FromRequest<AppState> for TenantAdminForm<N, W> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (a, form) = Asker::with_form::<N>(req, st).await?;
        Self::checked(&a, st, form).await
    }
}

impl<N, W: Writers> TenantAdminForm<N, W> {
    async fn checked(a: &Asker, st: &AppState, form: Form) -> Result<Self, Response> {
        let session = a.session(st).await?;
        if !a.form_ok(&session, &form) {
            return Err(forbidden_form(Some(&session)));
        }
        let scope = a.write_scope::<W>(st, &session).await.or_page(&session)?;
        Ok(TenantAdminForm {
            session,
            scope,
            form,
            next: PhantomData,
        })
    }
}

/// [`TenantAdminForm`] for a form the page's script may post asking for
/// JSON (`json`): then every refusal is a problem document (401 without
/// a session) instead of a page.
pub(super) struct TenantAdminScriptForm<N, W = Admins> {
    pub session: WebSession,
    pub scope: TenantScope,
    pub form: Form,
    pub json: bool,
    next: PhantomData<(N, W)>,
}

impl<N: Next, W: Writers> FromRequest<AppState> for TenantAdminScriptForm<N, W> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (a, form) = Asker::with_form::<N>(req, st).await?;
        let json = wants_json(&a.headers);
        if !json {
            let TenantAdminForm {
                session,
                scope,
                form,
                ..
            } = TenantAdminForm::<N, W>::checked(&a, st, form).await?;
            return Ok(TenantAdminScriptForm {
                session,
                scope,
                form,
                json,
                next: PhantomData,
            });
        }
        let session = match session::current(st, &a.headers, &a.source).await {
            Ok(Some(s)) => session::usable(s).map_err(problem_json)?,
            Ok(None) => return Err(problem_json(Problem::unauthorized("no session"))),
            Err(p) => return Err(problem_json(p)),
        };
        if !a.form_ok(&session, &form) {
            return Err(problem_json(Problem::forbidden(
                super::respond::FORM_EXPIRED,
            )));
        }
        let scope = a
            .write_scope::<W>(st, &session)
            .await
            .map_err(problem_json)?;
        Ok(TenantAdminScriptForm {
            session,
            scope,
            form,
            json,
            next: PhantomData,
        })
    }
}

/// A platform admin, for a console page.
pub(super) struct PlatformAdmin<N = Here> {
    pub session: WebSession,
    next: PhantomData<N>,
}

impl<N: Next> FromRequestParts<AppState> for PlatformAdmin<N> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let a = Asker::of::<N>(parts, st).await?;
        let session = a.platform_admin(st).await?;
        Ok(PlatformAdmin {
            session,
            next: PhantomData,
        })
    }
}

/// A platform admin's console form: origin and CSRF token checked (after
/// the role: others get the not-found page whatever they send).
pub(super) struct PlatformAdminForm<N = Here> {
    pub session: WebSession,
    pub form: Form,
    next: PhantomData<N>,
}

impl<N: Next> FromRequest<AppState> for PlatformAdminForm<N> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (a, form) = Asker::with_form::<N>(req, st).await?;
        let session = a.platform_admin(st).await?;
        if !a.form_ok(&session, &form) {
            return Err(forbidden_form(Some(&session)));
        }
        Ok(PlatformAdminForm {
            session,
            form,
            next: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_puts_the_parameters_in_the_route() {
        let p: Params = [("tenant", "acme"), ("id", "7 {x}")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(fill("/t/{tenant}", &p), "/t/acme");
        assert_eq!(fill("/t/{tenant}/jobs/{id}", &p), "/t/acme/jobs/7 {x}");
        assert_eq!(fill("/admin", &p), "/admin");
        assert_eq!(fill("/admin/{kind}", &p), "/admin/");
        assert_eq!(fill("/odd/{tenant", &p), "/odd/{tenant");
    }
}
