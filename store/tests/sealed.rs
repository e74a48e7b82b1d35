//! Secrets at rest (issue 17, item 3) against a real PostgreSQL: what the
//! store seals never appears in a `pg_dump` in any encoding, reads give
//! the plaintext back, records moved between rows do not open, a database
//! from before is sealed on its first start, a wrong master key is refused,
//! and a rotation (rewrap) leaves the previous key needed by nothing.

use sqlx::{Connection, PgPool};
use std::sync::Arc;
use vxguard_compiler::intent::yaml::parse_intent;
use vxguard_compiler::model::Secrets;
use vxguard_keystore::{leaks, FileMasterKey, Key, MasterKey};
use vxguard_store::{intent, sealed, StoreError};

fn server_url() -> String {
    std::env::var("VXGUARD_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

struct Db {
    name: String,
    url: String,
    pool: PgPool,
}

impl Db {
    async fn new() -> Db {
        let name = format!("vxguard_sealed_test_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", server_url());
        let pool = vxguard_store::db::connect(&url, 4)
            .await
            .expect("test database");
        Db { name, url, pool }
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

    /// The whole database as `pg_dump` writes it (plain SQL).
    fn dump(&self) -> Vec<u8> {
        let o = std::process::Command::new("pg_dump")
            .arg("--no-owner")
            .arg(&self.url)
            .output()
            .expect("pg_dump runs (PostgreSQL's client binaries)");
        assert!(
            o.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.len() > 1000, "a dump of the schema at least");
        o.stdout
    }
}

fn new_key(name: &str) -> Arc<dyn MasterKey> {
    Arc::new(FileMasterKey::from_key(Key::random().unwrap(), name))
}

fn example() -> vxguard_compiler::intent::Intent {
    let text = include_str!("../../examples/two-dc.yaml");
    parse_intent(text).map_err(|_| "example parses").unwrap().0
}

/// Every secret of `s` with a name for reports.
fn named(s: &Secrets, jwt: &str) -> Vec<(String, String)> {
    let mut out = vec![("token-signing secret".to_string(), jwt.to_string())];
    for (n, r) in &s.routers {
        out.push((
            format!("{n} WireGuard private key"),
            r.wireguard_private_key.clone(),
        ));
        out.push((format!("{n} API key"), r.api_key.clone()));
    }
    for (n, h) in &s.hypervisors {
        out.push((
            format!("{n} WireGuard private key"),
            h.wireguard_private_key.clone(),
        ));
    }
    out
}

async fn device_secrets(db: &PgPool) -> Secrets {
    let mut tx = db.begin().await.unwrap();
    let s = intent::reconcile_secrets(&mut tx, &example())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    s
}

#[tokio::test]
async fn a_dump_holds_no_secret_in_any_encoding() {
    let db = Db::new().await;
    assert!(!sealed::status(&db.pool).await.unwrap().unsealed_left);
    let o = sealed::open(&db.pool, new_key("dump test"), true)
        .await
        .unwrap();
    assert!(o.first);
    let s = device_secrets(&db.pool).await;
    assert_eq!((s.routers.len(), s.hypervisors.len()), (4, 2));
    let fresh = "f".repeat(8) + &hex::encode([0x5au8; 28]);
    let jwt = vxguard_store::db::jwt_secret(&db.pool, &fresh)
        .await
        .unwrap();
    assert_eq!(jwt, fresh.as_bytes());
    // Read back: the same plaintext, from the sealed rows.
    let back = intent::secrets(&mut *db.pool.acquire().await.unwrap())
        .await
        .unwrap();
    assert_eq!(back, s);
    let doc = intent::secrets_doc(&db.pool).await.unwrap().unwrap();
    assert_eq!(
        doc["routers"]["vyos-dc1-01"]["api_key"].as_str(),
        Some(s.routers["vyos-dc1-01"].api_key.as_str())
    );
    // A second reconcile changes nothing and keeps the keys.
    assert_eq!(device_secrets(&db.pool).await, s);

    let secrets = named(&s, &fresh);
    assert_eq!(secrets.len(), 11);
    let dump = db.dump();
    let found = leaks::find(&dump, &secrets);
    assert!(found.is_empty(), "the dump betrays: {found:?}");
    // No plain-text table or row is left either.
    let text = String::from_utf8_lossy(&dump);
    assert!(!text.contains("unsealed_device_secrets"));
    let plain_settings: i64 =
        sqlx::query_scalar("SELECT count(*) FROM settings WHERE key = 'jwt_secret'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(plain_settings, 0);

    // The search would have found them: stored in plain text, as text and
    // as bytes, every one is found.
    sqlx::query("CREATE TABLE probe (t text, b bytea)")
        .execute(&db.pool)
        .await
        .unwrap();
    for (_, v) in &secrets {
        let raw = hex::decode(v).ok().unwrap_or_else(|| v.as_bytes().to_vec());
        sqlx::query("INSERT INTO probe VALUES ($1, $2)")
            .bind(v)
            .bind(raw)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let found = leaks::find(&db.dump(), &secrets);
    for (n, _) in &secrets {
        assert!(
            found.iter().any(|f| f.starts_with(&format!("{n} as "))),
            "{n} not found in plain text: the search is broken"
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn records_moved_between_rows_do_not_open() {
    let db = Db::new().await;
    sealed::open(&db.pool, new_key("swap test"), true)
        .await
        .unwrap();
    device_secrets(&db.pool).await;
    // vyos-dc1-01's sealed keys copied onto vyos-dc1-02's row.
    sqlx::query(
        "UPDATE sealed_secrets d SET wrapped_key = s.wrapped_key, nonce = s.nonce,
             ciphertext = s.ciphertext
         FROM sealed_secrets s
         WHERE s.scope = 'router' AND s.name = 'vyos-dc1-01'
           AND d.scope = 'router' AND d.name = 'vyos-dc1-02'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let e = intent::secrets(&mut *db.pool.acquire().await.unwrap())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Keystore(_)), "{e:?}");
    assert!(
        msg.contains("sealed_secrets/router/vyos-dc1-02") && msg.contains("moved"),
        "{msg}"
    );
    // Only the ciphertext altered: it does not decrypt.
    sqlx::query(
        "UPDATE sealed_secrets SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)
         WHERE scope = 'router' AND name = 'vyos-dc1-01'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM sealed_secrets WHERE scope = 'router' AND name = 'vyos-dc1-02'")
        .execute(&db.pool)
        .await
        .unwrap();
    let msg = intent::secrets(&mut *db.pool.acquire().await.unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("vyos-dc1-01") && msg.contains("does not decrypt"),
        "{msg}"
    );
    db.drop().await;
}

#[tokio::test]
async fn a_database_from_before_is_sealed_on_its_first_start() {
    let db = Db::new().await;
    // What the store kept before: the device keys as plain JSON, the
    // signing secret as a plain setting.
    let mut plain = Secrets::default();
    vxguard_store::device_keys::reconcile(&mut plain, &example()).unwrap();
    sqlx::query("INSERT INTO unsealed_device_secrets (id, doc) VALUES (1, $1)")
        .bind(serde_json::to_value(&plain).unwrap())
        .execute(&db.pool)
        .await
        .unwrap();
    let jwt = hex::encode([0x77u8; 32]);
    sqlx::query("INSERT INTO settings (key, value) VALUES ('jwt_secret', $1)")
        .bind(&jwt)
        .execute(&db.pool)
        .await
        .unwrap();
    let secrets = named(&plain, &jwt);
    assert!(!leaks::find(&db.dump(), &secrets).is_empty());
    let st = sealed::status(&db.pool).await.unwrap();
    assert!(st.unsealed_left && st.master_key.is_none());

    let key = new_key("upgrade test");
    let o = sealed::open(&db.pool, key.clone(), true).await.unwrap();
    assert_eq!(
        (o.first, o.sealed_devices, o.sealed_signing_secret),
        (true, 6, true)
    );
    // The same keys, from sealed rows; the signing secret kept.
    let back = intent::secrets(&mut *db.pool.acquire().await.unwrap())
        .await
        .unwrap();
    assert_eq!(back, plain);
    let j = vxguard_store::db::jwt_secret(&db.pool, "another fresh secret, not used")
        .await
        .unwrap();
    assert_eq!(j, jwt.as_bytes());
    let found = leaks::find(&db.dump(), &secrets);
    assert!(
        found.is_empty(),
        "after the upgrade the dump betrays: {found:?}"
    );
    let st = sealed::status(&db.pool).await.unwrap();
    assert!(!st.unsealed_left);
    assert_eq!(st.master_key.as_deref(), Some(key.id()));
    // Once: a second start seals nothing more.
    let o = sealed::open(&db.pool, key, true).await.unwrap();
    assert_eq!(
        (o.first, o.sealed_devices, o.sealed_signing_secret),
        (false, 0, false)
    );
    db.drop().await;
}

#[tokio::test]
async fn a_wrong_master_key_is_refused() {
    let db = Db::new().await;
    let right = new_key("the right key");
    sealed::open(&db.pool, right.clone(), true).await.unwrap();
    device_secrets(&db.pool).await;
    let wrong = new_key("file /somewhere/wrong.key");
    let e = sealed::open(&db.pool, wrong.clone(), true)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::WrongMasterKey { .. }), "{e:?}");
    assert!(
        msg.contains("/somewhere/wrong.key")
            && msg.contains(right.id())
            && msg.contains(wrong.id()),
        "{msg}"
    );
    // A key with the right id that does not open the check record (a
    // corrupt key file) is refused too.
    struct Liar(Arc<dyn MasterKey>, String);
    impl MasterKey for Liar {
        fn id(&self) -> &str {
            &self.1
        }
        fn source(&self) -> String {
            "a liar".into()
        }
        fn wrap(&self, k: &Key, c: &[u8]) -> vxguard_keystore::Result<Vec<u8>> {
            self.0.wrap(k, c)
        }
        fn unwrap(&self, w: &[u8], c: &[u8]) -> vxguard_keystore::Result<Key> {
            self.0.unwrap(w, c)
        }
    }
    let liar = Arc::new(Liar(wrong, right.id().to_string()));
    let msg = sealed::open(&db.pool, liar, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("sealed_secrets/check/master_key"), "{msg}");
    db.drop().await;
}

#[tokio::test]
async fn rewrap_leaves_the_previous_key_needed_by_nothing() {
    let db = Db::new().await;
    let old = new_key("old");
    sealed::open(&db.pool, old.clone(), true).await.unwrap();
    let s = device_secrets(&db.pool).await;
    let jwt = vxguard_store::db::jwt_secret(&db.pool, &hex::encode([1u8; 32]))
        .await
        .unwrap();
    let new_bytes = Key::random().unwrap();
    let new: Arc<dyn MasterKey> = Arc::new(FileMasterKey::from_key(new_bytes.clone(), "new"));
    let r = sealed::rewrap(&db.pool, new.clone(), Some(&new_bytes))
        .await
        .unwrap();
    // Six devices, the signing secret and the check record.
    assert_eq!((r.records, r.bridged), (8, true));
    assert_eq!((r.from.as_str(), r.to.as_str()), (old.id(), new.id()));
    let st = sealed::status(&db.pool).await.unwrap();
    assert_eq!(st.master_key.as_deref(), Some(new.id()));
    assert_eq!(st.records, vec![(new.id().to_string(), 8)]);
    assert_eq!(st.bridges, vec![new.id().to_string()]);
    // Again to the same key: refused.
    assert!(matches!(
        sealed::rewrap(&db.pool, new.clone(), None).await,
        Err(StoreError::SameMasterKey { .. })
    ));
    // A writer after the rewrap seals under the new key (a new device).
    let mut grown = example();
    let mut extra = grown.platform.routers[0].clone();
    extra.name = vxguard_compiler::ids::Name::new("vyos-dc1-09").unwrap();
    grown.platform.routers.push(extra);
    let mut tx = db.pool.begin().await.unwrap();
    let s2 = intent::reconcile_secrets(&mut tx, &grown).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s2.routers.len(), 5);
    let st = sealed::status(&db.pool).await.unwrap();
    assert_eq!(st.records, vec![(new.id().to_string(), 9)]);

    // A process still holding only the old key opens the database through
    // the bridge (the running servers keep working).
    let o = sealed::open(&db.pool, old.clone(), true).await.unwrap();
    assert!(o.through_bridge && o.bridges_removed == 0, "{o:?}");
    // The first service started with the new key removes the bridge ...
    let o = sealed::open(&db.pool, new.clone(), true).await.unwrap();
    assert!(!o.through_bridge && o.bridges_removed == 1, "{o:?}");
    // ... and the old key opens nothing any more.
    let e = sealed::open(&db.pool, old.clone(), true).await.unwrap_err();
    assert!(matches!(e, StoreError::WrongMasterKey { .. }), "{e:?}");
    // Every record opens with the new key alone.
    let rows: Vec<(String, String, String, Vec<u8>, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT scope, name, master_key, wrapped_key, nonce, ciphertext FROM sealed_secrets",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 9);
    for (scope, name, master_key, wrapped_key, nonce, ciphertext) in rows {
        let rec = vxguard_keystore::Sealed {
            master_key,
            wrapped_key,
            nonce,
            ciphertext,
        };
        let ctx = format!("sealed_secrets/{scope}/{name}");
        vxguard_keystore::open(&*new, &ctx, &rec).unwrap();
        assert!(vxguard_keystore::open(&*old, &ctx, &rec).is_err());
    }
    let back = intent::secrets(&mut *db.pool.acquire().await.unwrap())
        .await
        .unwrap();
    assert_eq!(back, s2);
    assert_eq!(back.routers["vyos-dc1-01"], s.routers["vyos-dc1-01"]);
    assert_eq!(
        vxguard_store::db::jwt_secret(&db.pool, "unused")
            .await
            .unwrap(),
        jwt
    );
    db.drop().await;
}

/// Issue 17, item 8: revisions stored before placeholders hold real keys;
/// the first start rewrites them (configurations, edit scripts, digests
/// and diffs), so the dump holds none, every revision still rebuilds
/// (its digest checked) to the text with placeholders, and a second start
/// rewrites nothing.
#[tokio::test]
async fn revisions_with_keys_are_rewritten_on_the_first_start() {
    use vxguard_compiler::sealed::{seal_text, wireguard_placeholder, Vault};
    use vxguard_store::{jobs, revisions};
    let db = Db::new().await;
    let key = new_key("revisions test");
    assert_eq!(
        sealed::open(&db.pool, key.clone(), true)
            .await
            .unwrap()
            .sealed_revisions,
        0
    );
    let s = device_secrets(&db.pool).await;
    let (rname, r) = s.routers.iter().next().unwrap();
    let (hname, h) = s.hypervisors.iter().next().unwrap();
    let filler: String = (0..60)
        .map(|i| format!("set firewall group network-group N{i} network '10.{i}.0.0/16'\n"))
        .collect();
    let router = |host: &str| {
        format!(
            "set interfaces wireguard wg0 private-key '{}'\nset service https api keys id vxguard key '{}'\n{filler}set system host-name '{host}'\n",
            r.wireguard_private_key, r.api_key
        )
    };
    let hv = format!(
        "## flows\n# vxguard flows for hypervisor {hname} (site dc1), bridge br-int, VTEP 172.27.0.9\n{}## groups\n## meters\n## wireguard\n[Interface]\nPrivateKey = {}\nListenPort = 51820\n",
        "table=0,priority=0,actions=drop\n".repeat(40),
        h.wireguard_private_key
    );
    let mut conn = db.pool.acquire().await.unwrap();
    let job = jobs::enqueue(&mut conn, None, "test", "test")
        .await
        .unwrap();
    let texts = [
        (
            "router",
            rname.as_str(),
            vec![router("a"), router("b"), router("c")],
        ),
        ("hypervisor", hname.as_str(), vec![hv.clone()]),
    ];
    for (kind, name, configs) in &texts {
        let mut previous: Option<&str> = None;
        for (i, c) in configs.iter().enumerate() {
            let seq = i as i32 + 1;
            let diff = match previous {
                None => c.clone(),
                Some(_) => format!(
                    "set interfaces wireguard wg0 private-key '{}'\n",
                    r.wireguard_private_key
                ),
            };
            revisions::insert(
                &mut conn,
                kind,
                name,
                seq,
                c,
                &revisions::digest(c),
                previous,
                &diff,
                job,
            )
            .await
            .unwrap();
            previous = Some(c);
        }
        sqlx::query("INSERT INTO revisions_to_seal (device_kind, device) VALUES ($1, $2)")
            .bind(kind)
            .bind(name)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let scripts: i64 = sqlx::query_scalar("SELECT count(*) FROM revisions WHERE delta IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(scripts, 2, "the router's later revisions are edit scripts");
    drop(conn);
    let secrets = named(&s, "not stored");
    assert!(!leaks::find(&db.dump(), &secrets).is_empty(), "the control");

    let o = sealed::open(&db.pool, key.clone(), true).await.unwrap();
    assert_eq!(o.sealed_revisions, 2);
    let found = leaks::find(&db.dump(), &secrets);
    assert!(
        found.is_empty(),
        "after the rewrite the dump betrays: {found:?}"
    );
    let mut conn = db.pool.acquire().await.unwrap();
    for (kind, name, configs) in &texts {
        for (i, c) in configs.iter().enumerate() {
            let seq = i as i32 + 1;
            let back = revisions::config_at(&mut conn, kind, name, seq)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(back, seal_text(c, &mut Vault::default()));
        }
    }
    let (_, latest) = revisions::latest_config(&mut conn, "hypervisor", hname)
        .await
        .unwrap()
        .unwrap();
    assert!(latest.contains(&format!(
        "PrivateKey = {}\n",
        wireguard_placeholder(&h.wireguard_public_key)
    )));
    drop(conn);
    let list = revisions::list(&db.pool, "router", rname, None, 10)
        .await
        .unwrap();
    assert!(list
        .iter()
        .all(|l| !l.diff.contains(&r.wireguard_private_key)));
    assert_eq!(
        sealed::open(&db.pool, key, true)
            .await
            .unwrap()
            .sealed_revisions,
        0
    );
    db.drop().await;
}
