//! The portal driven in-process like a browser without JavaScript: a cookie
//! jar in front of `portal::app`, form posts with an `Origin`, and the
//! page's status, redirect, cookies and text. Shared by the `portal*` tests.

use super::{Env, PASSWORD};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub content_type: String,
    pub text: String,
}

/// A cookie jar in front of the portal's router.
pub struct Browser {
    pub app: axum::Router,
    pub jar: Vec<(String, String)>,
}

impl Browser {
    pub fn new(env: &Env) -> Self {
        Browser {
            app: vxguard::portal::app(env.st.clone(), "does-not-exist".into()),
            jar: vec![],
        }
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        origin: Option<&str>,
    ) -> Page {
        self.send_as(method, path, form, origin, false).await
    }

    /// `json`: ask for JSON, as the hydrated page's script does.
    pub async fn send_as(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        origin: Option<&str>,
        json: bool,
    ) -> Page {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "portal.test");
        if !self.jar.is_empty() {
            let c: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            b = b.header("cookie", c.join("; "));
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        if json {
            b = b.header("accept", "application/json");
        }
        let req = match form {
            Some(f) => {
                let body: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(f)
                    .finish();
                b.header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(body))
            }
            None => b.body(Body::empty()),
        }
        .unwrap();
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let location = header("location");
        let content_type = header("content-type").unwrap_or_default();
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &cookies {
            let (kv, _) = c.split_once(';').unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.jar.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.jar.push((k.into(), v.into()));
            }
        }
        let text =
            String::from_utf8_lossy(&r.into_body().collect().await.unwrap().to_bytes()).to_string();
        Page {
            status,
            location,
            cookies,
            content_type,
            text,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), Some("http://portal.test"))
            .await
    }

    /// What the hydrated page's script sends.
    pub async fn post_json(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send_as(
            Method::POST,
            path,
            Some(form),
            Some("http://portal.test"),
            true,
        )
        .await
    }

    pub async fn login(&mut self, email: &str) -> Page {
        let p = self.get("/login").await;
        assert_eq!(p.status, StatusCode::OK);
        let csrf = hidden(&p.text, "csrf");
        self.post(
            "/login",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await
    }

    /// Logs in and asserts it worked (a redirect onwards).
    pub async fn login_ok(&mut self, email: &str) {
        let p = self.login(email).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    }

    /// The session's CSRF token, from a page's logout form.
    pub async fn csrf(&mut self, page: &str) -> String {
        hidden(&self.get(page).await.text, "csrf")
    }
}

/// The value of the first hidden input named `name`.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}
