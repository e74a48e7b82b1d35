//! Tenants' writes side by side: each loads, checks and allocates its own
//! tenant only, so many run at once; what spans tenants (tenant numbers,
//! VNIs, hypervisor ports) is never handed out twice, and no write is lost.

mod harness;

use axum::http::StatusCode;
use harness::Env;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

const TENANTS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_across_tenants_lose_nothing_and_share_no_number() {
    let e = Arc::new(Env::demo().await);
    assert_eq!(e.drain().await, 1);
    let admin = e.token("admin@example.com").await;
    let net = e.get("/api/v1/tenants/acme/networks/app", &admin).await;
    assert_eq!(net.status, StatusCode::OK, "{}", net.text);
    let sites = net.body["spec"]["sites"].clone();
    assert!(sites.is_array(), "{}", net.text);
    for i in 0..TENANTS {
        let r = e
            .post(
                "/api/v1/tenants",
                &admin,
                json!({"slug": format!("t{i}"), "name": format!("T{i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    // Every tenant at once: two networks each (new VNIs, and a tenant
    // number for its first), five rules each, and all of them racing for
    // one hypervisor port.
    let mut tasks = Vec::new();
    for i in 0..TENANTS {
        let (e, admin, sites) = (e.clone(), admin.clone(), sites.clone());
        tasks.push(tokio::spawn(async move {
            let mut port_won = false;
            for n in 0..2 {
                let mut body = json!({
                    "name": format!("n{n}"),
                    "cidr": format!("100.65.{}.0/24", 100 + i * 2 + n),
                    "sites": sites,
                });
                if n == 0 {
                    body["ports"] =
                        json!([{"hypervisor": "hv-dc1-01", "name": "shared-vm", "address": format!("100.65.{}.10", 100 + i * 2)}]);
                }
                let r = e
                    .post(&format!("/api/v1/tenants/t{i}/networks"), &admin, body)
                    .await;
                match (n, r.status) {
                    (_, StatusCode::CREATED) => port_won |= n == 0,
                    (0, StatusCode::CONFLICT) => {
                        assert!(r.text.contains("already attached"), "{}", r.text);
                        // Without the port, the network goes in.
                        let r = e
                            .post(
                                &format!("/api/v1/tenants/t{i}/networks"),
                                &admin,
                                json!({"name": "n0", "cidr": format!("100.65.{}.0/24", 100 + i * 2), "sites": sites}),
                            )
                            .await;
                        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
                    }
                    (_, s) => panic!("t{i} n{n}: {s}: {}", r.text),
                }
            }
            for k in 0..5 {
                let r = e
                    .post(
                        &format!("/api/v1/tenants/t{i}/rules"),
                        &admin,
                        json!({"id": 10 + k, "action": "accept", "protocol": "tcp", "destination_port": 1000 + k}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "t{i} rule {k}: {}", r.text);
            }
            port_won
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += t.await.unwrap() as usize;
    }
    assert_eq!(winners, 1, "one tenant holds the shared port");

    // Nothing lost: every network and rule is stored.
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT t.slug, count(o.*) FROM tenants t JOIN objects o ON o.tenant_id = t.id
         WHERE t.slug LIKE 't%' GROUP BY t.slug ORDER BY t.slug",
    )
    .fetch_all(&e.db)
    .await
    .unwrap();
    assert_eq!(counts.len(), TENANTS);
    for (slug, n) in &counts {
        assert_eq!(*n, 7, "{slug}: 2 networks and 5 rules");
    }
    // No number twice: tenant numbers and VNIs across every tenant.
    let docs: Vec<Value> = sqlx::query_scalar("SELECT doc FROM tenant_allocations")
        .fetch_all(&e.db)
        .await
        .unwrap();
    assert_eq!(docs.len(), TENANTS + 3);
    let mut ids = HashSet::new();
    let mut vnis = HashSet::new();
    for d in &docs {
        assert!(ids.insert(d["id"].as_u64().unwrap()), "tenant number twice");
        assert!(vnis.insert(d["l3_vni"].as_u64().unwrap()));
        for (_, n) in d["networks"].as_object().unwrap() {
            assert!(vnis.insert(n["vni"].as_u64().unwrap()), "VNI twice: {d}");
        }
    }
    assert_eq!(vnis.len(), 3 + 4 + TENANTS * 3, "L3 and L2 VNIs");
    let claims: i64 =
        sqlx::query_scalar("SELECT count(*) FROM port_claims WHERE port = 'shared-vm'")
            .fetch_one(&e.db)
            .await
            .unwrap();
    assert_eq!(claims, 1);

    // The worker compiles all of it; the numbers the writes took are the
    // ones on the devices.
    let before: Vec<Value> =
        sqlx::query_scalar("SELECT doc FROM tenant_allocations ORDER BY tenant_id")
            .fetch_all(&e.db)
            .await
            .unwrap();
    e.drain().await;
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status <> 'done'")
        .fetch_one(&e.db)
        .await
        .unwrap();
    assert_eq!(failed, 0);
    let after: Vec<Value> =
        sqlx::query_scalar("SELECT doc FROM tenant_allocations ORDER BY tenant_id")
            .fetch_all(&e.db)
            .await
            .unwrap();
    assert_eq!(
        before, after,
        "the worker kept every number the writes took"
    );
}
