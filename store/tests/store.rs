//! The store against a real PostgreSQL (a fresh database per test, on the
//! server named by `VXGUARD_TEST_PG`, default the local one the project's
//! `scripts/postgres` starts; dropped at the end).

use sqlx::{Connection, PgPool};
use vxguard_store::{
    audit, jobs, locks, revisions, sessions, tenants, tokens, users, Store, StoreError,
};

fn server_url() -> String {
    std::env::var("VXGUARD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

struct Db {
    name: String,
    pool: PgPool,
}

impl Db {
    async fn new() -> Db {
        let name = format!("vxguard_store_test_{}", uuid::Uuid::new_v4().simple());
        let pool = vxguard_store::db::connect(&format!("{}/{name}", server_url()), 4)
            .await
            .expect("test database");
        Db { name, pool }
    }

    async fn drop(self) {
        self.pool.close().await;
        let mut c = sqlx::PgConnection::connect(&format!("{}/postgres", server_url()))
            .await
            .unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut c)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_job_is_claimed_once_and_finished_once() {
    let db = Db::new().await;
    let store = Store::new(db.pool.clone());
    let mut tx = store.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, None, "test", "test").await.unwrap();
    Store::commit(tx).await.unwrap();

    let c = jobs::claim(&db.pool, "w1").await.unwrap().expect("a job");
    assert_eq!((c.id, c.attempts), (id, 1));
    // Leased: nobody else gets it.
    assert!(jobs::claim(&db.pool, "w2").await.unwrap().is_none());

    let mut tx = store.begin().await.unwrap();
    assert!(jobs::finish(&mut tx, &c, "w1", "done", None, None)
        .await
        .unwrap());
    Store::commit(tx).await.unwrap();
    // A second finish with the same claim does nothing.
    let mut tx = store.begin().await.unwrap();
    assert!(!jobs::finish(&mut tx, &c, "w1", "failed", None, None)
        .await
        .unwrap());
    drop(tx);

    let j = jobs::get(&db.pool, id).await.unwrap().unwrap();
    assert_eq!(j.status, "done");
    assert_eq!(jobs::list(&db.pool, None, None, 10).await.unwrap().len(), 1);
    db.drop().await;
}

#[tokio::test]
async fn a_failed_job_is_retried_later() {
    let db = Db::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    let id = jobs::enqueue(&mut conn, None, "test", "test")
        .await
        .unwrap();
    let c = jobs::claim(&db.pool, "w1").await.unwrap().unwrap();
    jobs::retry_later(&db.pool, &c, "w1", "database gone", "applying failed")
        .await
        .unwrap();
    let j = jobs::get(&db.pool, id).await.unwrap().unwrap();
    assert_eq!(j.status, "queued");
    // Backed off: not due yet.
    assert!(jobs::claim(&db.pool, "w2").await.unwrap().is_none());
    db.drop().await;
}

#[tokio::test]
async fn the_audit_chain_verifies_and_the_lock_is_taken_in_transactions() {
    let db = Db::new().await;
    let store = Store::new(db.pool.clone());
    let mut tx = store.begin().await.unwrap();
    locks::xact_lock(&mut tx, locks::WRITE).await.unwrap();
    for i in 0..3 {
        audit::own_account(
            &mut tx,
            &format!("u{i}@example.com"),
            None,
            "login",
            "local",
        )
        .await
        .unwrap();
    }
    Store::commit(tx).await.unwrap();
    assert_eq!(audit::verify(&db.pool).await.unwrap().unwrap(), 3);
    let listed = audit::list(&db.pool, &audit::Filter::default(), 2)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].object, "users/u2@example.com");
    db.drop().await;
}

#[tokio::test]
async fn users_tokens_and_logins() {
    let db = Db::new().await;
    let store = Store::new(db.pool.clone());
    let t = uuid::Uuid::new_v4();
    let mut tx = store.begin().await.unwrap();
    tenants::insert(&mut tx, t, "acme", "Acme", "drop")
        .await
        .unwrap();
    assert_eq!(users::lock_tenant_and_count(&mut tx, t).await.unwrap(), 0);
    let new = users::NewUser {
        email: "a@example.com",
        password_hash: "x",
        role: "tenant_admin",
        tenant_id: Some(t),
        must_change_password: true,
    };
    let u = users::insert(&mut tx, &new, true).await.unwrap();
    assert_eq!(u.tenant.as_deref(), Some("acme"));
    Store::commit(tx).await.unwrap();
    // Same email, same tenant: a conflict on the email (and the
    // transaction is void, as any failed statement leaves it).
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        users::insert(&mut tx, &new, true).await,
        Err(StoreError::Conflict { what: "email" })
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let tok = tokens::NewToken {
        tenant_id: t,
        name: "ci",
        role: "tenant_member",
        token_hash: b"hash",
        maker: Some(u.id),
    };
    tokens::insert(&mut tx, &tok).await.unwrap();
    Store::commit(tx).await.unwrap();
    let a = tokens::authenticate(&db.pool, b"hash")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.tenant_id, a.name.as_str()), (t, "ci"));

    let creds = users::signing_in(&db.pool, "a@example.com")
        .await
        .unwrap()
        .unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::days(1);
    store
        .logged_in(&creds, b"r1", expires, "local")
        .await
        .unwrap();
    assert!(matches!(
        store.refresh(b"r1", b"r2", expires, "local").await.unwrap(),
        sessions::Refreshed::Rotated { .. }
    ));
    // The used token again: the whole login is revoked.
    assert!(matches!(
        store.refresh(b"r1", b"r3", expires, "local").await.unwrap(),
        sessions::Refreshed::Reused
    ));
    assert!(matches!(
        store.refresh(b"r2", b"r4", expires, "local").await.unwrap(),
        sessions::Refreshed::Revoked
    ));

    // Deleting the maker revokes the token.
    let mut tx = store.begin().await.unwrap();
    let revoked = users::delete(&mut tx, u.id).await.unwrap();
    Store::commit(tx).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert!(tokens::authenticate(&db.pool, b"hash")
        .await
        .unwrap()
        .is_none());
    db.drop().await;
}

/// An account an admin made must change its password: its portal session
/// says so until the password is set, which clears it (audited); an
/// account made without the flag is never asked.
#[tokio::test]
async fn a_forced_password_change_lasts_until_the_password_is_set() {
    let db = Db::new().await;
    let store = Store::new(db.pool.clone());
    let mut tx = store.begin().await.unwrap();
    for (email, forced) in [("new@example.com", true), ("own@example.com", false)] {
        let new = users::NewUser {
            email,
            password_hash: "x",
            role: "platform_admin",
            tenant_id: None,
            must_change_password: forced,
        };
        users::insert(&mut tx, &new, false).await.unwrap();
    }
    Store::commit(tx).await.unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::days(1);
    let mut sessions_of = Vec::new();
    for (email, n) in [("new@example.com", 1u8), ("own@example.com", 2u8)] {
        let creds = users::signing_in(&db.pool, email).await.unwrap().unwrap();
        let family = store
            .logged_in(&creds, &[b'r', n], expires, "local")
            .await
            .unwrap();
        sessions::start_web(
            &db.pool,
            sessions::NewWebSession {
                token_hash: &[b's', n],
                user: creds.id,
                family,
                csrf: "c",
                expires_at: expires,
            },
        )
        .await
        .unwrap();
        sessions_of.push((creds, family, [b's', n]));
    }
    let web = |h: [u8; 2]| {
        let pool = db.pool.clone();
        async move { sessions::web(&pool, &h, 60).await.unwrap().unwrap() }
    };
    assert!(web(sessions_of[0].2).await.must_change_password);
    assert!(!web(sessions_of[1].2).await.must_change_password);
    let (creds, family, token) = &sessions_of[0];
    store
        .password_changed(creds, "y", Some(*family), "local")
        .await
        .unwrap();
    assert!(!web(*token).await.must_change_password);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'user.password_changed' AND object = 'users/new@example.com'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    db.drop().await;
}

#[tokio::test]
async fn revisions_are_listed_newest_first_and_read_one_by_one() {
    let db = Db::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    let job = jobs::enqueue(&mut conn, None, "test", "test")
        .await
        .unwrap();
    let configs = ["a\n", "a\nb\n", "a\nc\n"];
    let mut previous = None;
    for (i, c) in configs.iter().enumerate() {
        let seq = i as i32 + 1;
        revisions::insert(
            &mut conn,
            "router",
            "r1",
            seq,
            c,
            &revisions::digest(c),
            previous,
            &format!("d{seq}"),
            job,
        )
        .await
        .unwrap();
        previous = Some(*c);
    }
    drop(conn);

    let all = revisions::list(&db.pool, "router", "r1", None, 10)
        .await
        .unwrap();
    let seqs: Vec<i32> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [3, 2, 1]);
    assert_eq!((all[0].diff.as_str(), all[0].job_id), ("d3", Some(job)));
    // The cursor is the last number of the previous page.
    let page = revisions::list(&db.pool, "router", "r1", Some(3), 1)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [2]);
    assert!(revisions::list(&db.pool, "hypervisor", "r1", None, 10)
        .await
        .unwrap()
        .is_empty());

    let one = revisions::get_summary(&db.pool, "router", "r1", 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one, all[1]);
    assert!(revisions::get_summary(&db.pool, "router", "r1", 4)
        .await
        .unwrap()
        .is_none());

    assert_eq!(
        revisions::seq_before(&db.pool, "router", "r1", 3)
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        revisions::seq_before(&db.pool, "router", "r1", 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        revisions::config(&db.pool, "router", "r1", 3)
            .await
            .unwrap()
            .as_deref(),
        Some("a\nc\n")
    );
    assert!(revisions::config(&db.pool, "router", "r1", 9)
        .await
        .unwrap()
        .is_none());
    db.drop().await;
}

/// A tenant deleted while a compile ran: recording what the compile made
/// leaves it out instead of failing the job on the foreign key (seen in
/// the API contract run: a tenant deleted mid-compile failed a platform
/// job).
/// The worker's expired-clients query reads the partial index of clients
/// with an expiry (migration 0020), not every object: with sequential
/// scans ruled out the plan names the index (the planner may still prefer
/// a scan of a table this small, so it is asked to avoid one).
#[tokio::test]
async fn the_expired_clients_query_reads_its_index() {
    let db = Db::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN {}",
        vxguard_store::objects::EXPIRED_CLIENTS
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("objects_client_expiry"), "{plan}");
    drop(conn);
    db.drop().await;
}

#[tokio::test]
async fn a_compile_records_nothing_for_a_tenant_deleted_meanwhile() {
    let db = Db::new().await;
    let (intent, _) =
        vxguard_compiler::intent::yaml::parse_intent(include_str!("../../examples/two-dc.yaml"))
            .unwrap();
    let t = &intent.tenants[0];
    let gone = uuid::Uuid::new_v4();
    let mut conn = db.pool.acquire().await.unwrap();
    let n = vxguard_store::intent::record_compiled(&mut conn, &[(gone, t)])
        .await
        .unwrap();
    assert_eq!(n, 1, "asked to record one");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_compiled")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    drop(conn);
    db.drop().await;
}

/// A job stores its devices' revisions together (`revisions::insert_all`,
/// with their heads read in one query): the rows are those storing them
/// one at a time gives, and each configuration reads back exactly.
#[tokio::test]
async fn revisions_stored_together_are_those_stored_one_by_one() {
    let db = Db::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    let job = jobs::enqueue(&mut conn, None, "test", "test")
        .await
        .unwrap();
    // Three rounds of three devices; "c" appears only from the second.
    // Texts share a long body, so that later revisions are edit scripts.
    let body: String = (0..40).map(|i| format!("set line {i}\n")).collect();
    let text = |lines: &str| format!("{body}{lines}");
    let owned = [
        vec![("a", text("x\ny\n")), ("b", text("p\n"))],
        vec![
            ("a", text("x\nz\ny\n")),
            ("b", text("q\n")),
            ("c", text("only\n")),
        ],
        vec![
            ("a", text("z\ny\n")),
            ("b", text("q\nr\n")),
            ("c", text("only\nmore\n")),
        ],
    ];
    let rounds: Vec<Vec<(&str, &str)>> = owned
        .iter()
        .map(|r| r.iter().map(|(d, c)| (*d, c.as_str())).collect())
        .collect();
    let mut last: std::collections::HashMap<&str, &str> = Default::default();
    for round in &rounds {
        let names: Vec<String> = round.iter().map(|(d, _)| format!("all-{d}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let heads = revisions::heads(&mut conn, "router", &refs).await.unwrap();
        let digests: Vec<String> = round.iter().map(|(_, c)| revisions::digest(c)).collect();
        let mut rows = Vec::new();
        for (((d, c), name), digest) in round.iter().zip(&names).zip(&digests) {
            let seq = heads.get(name).map_or(1, |h| h.seq + 1);
            assert_eq!(
                heads.get(name).map(|h| h.digest.clone()),
                last.get(d).map(|p| revisions::digest(p)),
                "{name}'s head"
            );
            rows.push(revisions::NewRevision {
                device: name,
                seq,
                config: c,
                digest,
                previous: last.get(d).map(|p| (*p, None)),
                diff: "d",
            });
            // The same revision, stored alone.
            revisions::insert(
                &mut conn,
                "router",
                &format!("one-{d}"),
                seq,
                c,
                digest,
                last.get(d).copied(),
                "d",
                job,
            )
            .await
            .unwrap();
        }
        revisions::insert_all(&mut conn, "router", job, &rows)
            .await
            .unwrap();
        for (d, c) in round {
            last.insert(*d, *c);
        }
    }
    let stored = |prefix: &'static str| {
        let pool = db.pool.clone();
        async move {
            let rows: Vec<(String, i32, Option<String>, Option<String>, String, String)> =
                sqlx::query_as(
                    "SELECT substr(device, length($1) + 1), seq, config, delta, digest, diff
                     FROM revisions WHERE device LIKE $1 || '%' ORDER BY device, seq",
                )
                .bind(prefix)
                .fetch_all(&pool)
                .await
                .unwrap();
            rows
        }
    };
    let together = stored("all-").await;
    assert_eq!(together.len(), 8);
    assert!(
        together.iter().any(|r| r.3.is_some()),
        "later revisions are edit scripts"
    );
    assert_eq!(together, stored("one-").await);
    for (d, c) in &rounds[2] {
        let name = format!("all-{d}");
        let seq = together.iter().filter(|r| r.0 == *d).count() as i32;
        let back = revisions::config(&db.pool, "router", &name, seq)
            .await
            .unwrap();
        assert_eq!(back.as_deref(), Some(*c), "{name} at {seq}");
    }
    db.drop().await;
}
