//! `GET /metrics` (issue 18, item 3, the first part): vxguard's own metrics
//! in the OpenMetrics text format, wired as `vxguard serve` wires them.

mod harness;

use axum::http::{Method, StatusCode};
use harness::Env;
use vxguard::metrics::Metrics;

/// The demo behind the portal's router, instrumented, with `/metrics`.
async fn env_with_metrics(token: Option<&str>) -> Env {
    let mut e = Env::demo().await;
    let m = Metrics::new(token.map(String::from));
    e.app = m
        .instrument(vxguard::portal::app(e.st.clone(), "does-not-exist".into()))
        .merge(m.routes(e.db.clone()));
    e
}

/// The value of the one sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn requests_jobs_and_keys_are_counted_by_route_never_by_tenant() {
    let e = env_with_metrics(None).await;
    let t = e.token("acme-admin@example.com").await;
    for _ in 0..3 {
        let r = e.get("/api/v1/tenants/acme/networks", &t).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = e.get("/api/v1/tenants/finance/networks", &t).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.headers
    );
    let m = &r.text;
    assert!(m.ends_with("# EOF\n"), "{m}");
    let route = r#"route="/api/v1/tenants/{tenant}/networks""#;
    assert_eq!(
        sample(
            m,
            &format!(r#"vxguard_http_requests_total{{method="GET",{route},status="200"}}"#)
        ),
        Some(3.0),
        "{m}"
    );
    let refused = m
        .lines()
        .filter(|l| l.starts_with("vxguard_http_requests_total") && l.contains(route))
        .filter(|l| !l.contains(r#"status="200""#))
        .count();
    assert_eq!(refused, 1, "the refused request, under its own status: {m}");
    assert_eq!(
        sample(
            m,
            &format!(r#"vxguard_http_request_duration_seconds_count{{method="GET",{route}}}"#)
        ),
        Some(4.0),
        "{m}"
    );
    // No tenant's name (nor any path a caller chose) in a label.
    for slug in ["acme", "finance", "globex"] {
        assert!(
            !m.lines()
                .filter(|l| l.starts_with("vxguard_http"))
                .any(|l| l.contains(slug)),
            "{slug} in a label: {m}"
        );
    }
    // The demo's first job is queued; every router's API key has an age.
    assert_eq!(
        sample(m, r#"vxguard_jobs{status="queued"}"#),
        Some(1.0),
        "{m}"
    );
    assert!(
        sample(m, "vxguard_job_queue_oldest_seconds").is_some(),
        "{m}"
    );
    let ages = m
        .lines()
        .filter(|l| l.starts_with("vxguard_router_api_key_age_seconds{"))
        .count();
    assert_eq!(ages, 4, "{m}");
    e.drain().await;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    // Compiled, not applied (no --apply here): every device pending.
    let states: Vec<&str> = r
        .text
        .lines()
        .filter(|l| l.starts_with("vxguard_device_state{"))
        .collect();
    assert_eq!(states.len(), 6, "{states:?}");
    assert!(
        states.contains(
            &r#"vxguard_device_state{kind="router",device="vyos-dc1-01",state="pending"} 1"#
        ),
        "{states:?}"
    );
    assert_eq!(sample(&r.text, r#"vxguard_jobs{status="done"}"#), Some(1.0));
    assert_eq!(sample(&r.text, r#"vxguard_jobs{status="queued"}"#), None);
    assert_eq!(
        sample(&r.text, "vxguard_job_queue_oldest_seconds"),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_metrics_token_is_required_when_set() {
    let e = env_with_metrics(Some("s3cret-scrape")).await;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = e
        .call(Method::GET, "/metrics", Some("s3cret-scrapf"), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = e
        .call(Method::GET, "/metrics", Some("s3cret-scrape"), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("# TYPE vxguard_jobs gauge"), "{}", r.text);
}
