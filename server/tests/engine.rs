//! The worker's compile engine against the database: one worker runs a
//! series of jobs (rule writes, a new tenant with a network, a tenant
//! removed, a tenant whose stored intent no longer compiles), each job
//! recompiling only the tenants that changed; afterwards every device's
//! latest revision is exactly what a full compile of the stored intent
//! gives, and each job named only the devices its tenant touches.

mod harness;

use axum::http::StatusCode;
use harness::Env;
use serde_json::{json, Value};
use vxguard_store::intent as store_intent;

async fn job_result(e: &Env, job: i64) -> (String, Value, Value) {
    sqlx::query_as::<_, (String, Option<Value>, Option<Value>)>(
        "SELECT status, result, errors FROM jobs WHERE id = $1",
    )
    .bind(job)
    .fetch_one(&e.db)
    .await
    .map(|(s, r, x)| (s, r.unwrap_or(Value::Null), x.unwrap_or(Value::Null)))
    .unwrap()
}

fn job_of(r: &harness::Resp) -> i64 {
    r.header("x-job").expect("x-job").parse().unwrap()
}

/// Every device's latest revision against a full compile of what is stored.
async fn assert_revisions_are_a_full_compile(e: &Env) {
    let mut conn = e.db.acquire().await.unwrap();
    let loaded = store_intent::load(&mut conn).await.unwrap();
    let alloc = store_intent::allocation_for_update(&mut conn)
        .await
        .unwrap();
    // The worker compiles with placeholders for keys (issue 17, item 8).
    let secrets = vxguard_compiler::sealed::placeholder_secrets(
        &store_intent::secrets(&mut conn).await.unwrap(),
    );
    let defs = harness::defs();
    let set = vxguard_compiler::DefinitionSet {
        by_version: defs.iter().map(|(k, v)| (*k, v)).collect(),
    };
    let full = vxguard_compiler::compile(&loaded.intent, &alloc, &secrets, &set).unwrap();
    let devices: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT device_kind, device FROM revisions ORDER BY device_kind, device",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut seen = 0;
    for (kind, device) in devices {
        let (_, config) = vxguard_store::revisions::latest_config(&mut conn, &kind, &device)
            .await
            .unwrap()
            .unwrap();
        let want = match kind.as_str() {
            "router" => full.routers[&device].set.clone(),
            _ => vxguard::worker::ovs_text(&full.hypervisors[&device]),
        };
        assert!(
            config == want,
            "{kind} {device}: the latest revision is not a full compile's"
        );
        seen += 1;
    }
    assert_eq!(seen, full.routers.len() + full.hypervisors.len());
}

#[tokio::test]
async fn one_worker_recompiles_only_what_changed_and_matches_a_full_compile() {
    let e = Env::demo().await;
    assert_eq!(e.drain().await, 1);
    let acme = e.token("acme-admin@example.com").await;
    let globex = e.token("globex-admin@example.com").await;
    let admin = e.token("admin@example.com").await;

    // A rule of acme's: its four gateways, nothing else.
    let r = e
        .post(
            "/api/v1/tenants/acme/rules",
            &acme,
            json!({"id": 40, "action": "accept", "protocol": "tcp", "destination_port": 8443}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let j = job_of(&r);
    assert_eq!(e.drain().await, 1);
    let (status, result, _) = job_result(&e, j).await;
    assert_eq!(status, "done");
    assert_eq!(
        result["routers"],
        json!(["vyos-dc1-01", "vyos-dc1-02", "vyos-dc2-01", "vyos-dc2-02"])
    );
    assert_eq!(result["hypervisors"], json!(["hv-dc1-01", "hv-dc2-01"]));
    assert_revisions_are_a_full_compile(&e).await;

    // A new tenant with a network like acme's, on the same gateways.
    let r = e
        .post(
            "/api/v1/tenants",
            &admin,
            json!({"slug": "aardvark", "name": "Aardvark"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    e.drain().await;
    let net = e.get("/api/v1/tenants/acme/networks/app", &admin).await;
    assert_eq!(net.status, StatusCode::OK, "{}", net.text);
    let mut spec = net.body["spec"].clone();
    if spec.is_null() {
        spec = net.body.clone();
    }
    let mut body = serde_json::Map::new();
    for k in ["cidr", "sites"] {
        body.insert(k.into(), spec[k].clone());
    }
    body.insert("name".into(), json!("web"));
    let r = e
        .post(
            "/api/v1/tenants/aardvark/networks",
            &admin,
            Value::Object(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let j = job_of(&r);
    e.drain().await;
    let (status, result, errors) = job_result(&e, j).await;
    assert_eq!(status, "done", "{errors}");
    assert!(
        !result["routers"].as_array().unwrap().is_empty(),
        "{result}"
    );
    assert_revisions_are_a_full_compile(&e).await;

    // Acme's stored network made invalid behind the API's back: acme is
    // held back at its last good configuration, globex's change goes on.
    sqlx::query("UPDATE objects SET spec = jsonb_set(spec, '{sites,0,gateways}', '[\"vyos-gone-01\", \"vyos-dc1-02\"]') WHERE kind = 'network' AND name = 'app' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')")
        .execute(&e.db)
        .await
        .unwrap();
    let r = e.delete("/api/v1/tenants/globex/rules/20", &globex).await;
    assert!(r.status.is_success(), "{}", r.text);
    let j = job_of(&r);
    e.drain().await;
    let (status, result, _) = job_result(&e, j).await;
    assert_eq!(status, "done", "globex's job is not acme's problem");
    assert!(!result["routers"].as_array().unwrap().is_empty());
    let operator: Value = sqlx::query_scalar("SELECT operator_errors FROM jobs WHERE id = $1")
        .bind(j)
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert!(operator.to_string().contains("vyos-gone-01"), "{operator}");
    assert!(
        !result.to_string().contains("acme"),
        "globex's job says nothing of acme: {result}"
    );
    // Repaired: acme compiles again, and everything is a full compile's.
    sqlx::query("UPDATE objects SET spec = jsonb_set(spec, '{sites,0,gateways}', '[\"vyos-dc1-01\", \"vyos-dc1-02\"]') WHERE kind = 'network' AND name = 'app' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')")
        .execute(&e.db)
        .await
        .unwrap();
    let r = e
        .post(
            "/api/v1/tenants/acme/rules",
            &acme,
            json!({"id": 41, "action": "accept", "protocol": "tcp", "destination_port": 8444}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    e.drain().await;
    assert_revisions_are_a_full_compile(&e).await;

    // The new tenant removed: its lines leave the devices.
    let r = e.delete("/api/v1/tenants/aardvark", &admin).await;
    assert!(r.status.is_success(), "{}", r.text);
    e.drain().await;
    assert_revisions_are_a_full_compile(&e).await;
    let mut conn = e.db.acquire().await.unwrap();
    assert!(
        !vxguard_store::intent::on_routers(&mut conn, "aardvark")
            .await
            .unwrap(),
        "aardvark is on no router"
    );
    // Revisions after the first hold edit scripts, and every one of them
    // rebuilds (each rebuild is checked against its digest).
    let all: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT device_kind, device, seq FROM revisions ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    for (kind, device, seq) in &all {
        let c = vxguard_store::revisions::config_at(&mut conn, kind, device, *seq)
            .await
            .unwrap();
        assert!(c.is_some(), "{kind} {device} #{seq}");
    }
    let scripts: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions WHERE config IS NULL")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(
        scripts > 0 && scripts < all.len() as i64,
        "{scripts} of {}",
        all.len()
    );
}
