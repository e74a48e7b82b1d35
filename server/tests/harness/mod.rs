//! A fresh PostgreSQL database per test (on the machine's server at
//! 127.0.0.1:5432), loaded with the demo platform, the API driven
//! in-process, and a worker that drains jobs on demand. The database is
//! dropped when the test ends, even when it fails.

#![allow(dead_code)]

pub mod browser;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;
use vxguard::worker::Worker;
use vxguard::{api, db, demo, state::AppState};
use vxguard_compiler::intent::VyosVersion;
use vyos_defs::Definitions;

pub const PASSWORD: &str = "vxguard-demo-password";

pub fn server_url() -> String {
    std::env::var("VXGUARD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn defs() -> Arc<BTreeMap<VyosVersion, Definitions>> {
    static D: OnceLock<Arc<BTreeMap<VyosVersion, Definitions>>> = OnceLock::new();
    D.get_or_init(|| {
        // The write path judges with the same (built-in) definitions as
        // the worker.
        vxguard::definitions::install(Arc::new(
            vxguard::definitions::load(&[]).expect("VyOS definitions load"),
        ))
    })
    .clone()
}

/// The master key file of this test process: the secrets of every test
/// database are sealed under it (made once, kept in cargo's temporary
/// directory for integration tests).
pub fn master_key_args() -> vxguard::master_key::MasterKeyArgs {
    vxguard::master_key::MasterKeyArgs {
        master_key_file: Some(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("vxguard-test-master.key"),
        ),
    }
}

pub struct Env {
    pub name: String,
    pub url: String,
    pub db: PgPool,
    pub st: AppState,
    pub app: Router,
    /// The worker [`Env::drain`] runs jobs with: one for the whole test,
    /// so that every job after the first goes through its compile engine
    /// (what changed since the last job), as in a running server.
    drainer: std::sync::OnceLock<Worker>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, h: &str) -> Option<String> {
        self.headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
}

impl Env {
    /// An empty, migrated database.
    pub async fn empty() -> Env {
        // Writes validate with the definitions the workers use.
        defs();
        let name = format!("vxguard_test_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", server_url());
        let db = db::connect(&url, 8).await.expect("test database");
        vxguard::master_key::open(&db, &master_key_args(), vxguard::master_key::Start::Command)
            .await
            .expect("the test master key opens the test database");
        let secret = db::jwt_secret(&db).await.expect("secret");
        let st = AppState::new(db.clone(), &secret, 30);
        let app = api::router(st.clone());
        Env {
            name,
            url,
            db,
            st,
            app,
            drainer: Default::default(),
        }
    }

    /// The demo platform: two sites, four routers, two hypervisors, tenants
    /// finance, acme and globex, with `<slug>-admin@example.com` and
    /// `<slug>-member@example.com` accounts and `admin@example.com`.
    pub async fn demo() -> Env {
        let e = Env::empty().await;
        let ok = demo::run(demo::DemoArgs {
            database_url: e.url.clone(),
            file: None,
            password: PASSWORD.into(),
            master_key: master_key_args(),
        })
        .await
        .expect("demo loads");
        assert!(ok);
        e
    }

    /// A worker storing three devices' revisions per query: the demo's
    /// jobs (four routers) then store in chunks, as the benchmark
    /// platform's (hundreds) do.
    pub fn worker(&self, name: &str) -> Worker {
        Worker::new(self.db.clone(), name, defs(), None).storing_per_query(3)
    }

    /// Runs every runnable job in this process.
    pub async fn drain(&self) -> usize {
        self.drainer
            .get_or_init(|| self.worker("test-worker"))
            .drain()
            .await
            .expect("drain")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        let r = self.app.clone().oneshot(req).await.expect("infallible");
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None, &[]).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body), &[])
            .await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value, if_match: Option<&str>) -> Resp {
        let h: Vec<(&str, &str)> = if_match.map(|m| vec![("if-match", m)]).unwrap_or_default();
        self.call(Method::PUT, path, Some(token), Some(body), &h)
            .await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    pub async fn login_pair(&self, email: &str, password: &str) -> Resp {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"email": email, "password": password})),
            &[],
        )
        .await
    }

    /// An access token for a demo account.
    pub async fn token(&self, email: &str) -> String {
        let r = self.login_pair(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text);
        r.body["access_token"].as_str().expect("token").to_string()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = format!("{}/postgres", server_url());
        // A thread of its own: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut c)
                            .await;
                }
            });
        })
        .join();
    }
}
