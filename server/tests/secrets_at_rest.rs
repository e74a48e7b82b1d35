//! Secrets at rest (issue 17, item 3), through the `vxguard` binary: a
//! start with a missing, too-open or wrong master key stops with a message
//! naming the file and the reason; `vxguard keys rewrap` rotates the
//! master key while this process (a running server) keeps working, and
//! afterwards the previous key is needed by nothing; after the demo is
//! compiled, a `pg_dump` holds none of the keys vxguard keeps, its
//! revisions included.

mod harness;

use harness::Env;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use vxguard_keystore::leaks;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vxguard-secrets-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn harness_key() -> PathBuf {
    harness::master_key_args().master_key_file.unwrap()
}

/// `vxguard ARGS` against `e`'s database with the master key file `key`;
/// killed (and the test failed) after 60 s.
fn vxguard(e: &Env, key: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vxguard"));
    c.args(args)
        .env("DATABASE_URL", &e.url)
        .env("VXGUARD_MASTER_KEY_FILE", key)
        .env_remove("VXGUARD_JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("vxguard runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!(
                "vxguard {args:?} still runs after 60 s: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn random_key_file(dir: &Path, name: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{}\n", hex::encode(rand_bytes()))).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn rand_bytes() -> [u8; 32] {
    *vxguard_keystore::Key::random().unwrap().as_bytes()
}

#[tokio::test]
async fn a_start_without_the_right_master_key_stops_and_says_why() {
    let e = Env::demo().await;
    let dir = tmp("start");
    let listen = ["serve", "--listen", "127.0.0.1:0", "--no-worker"];

    let wrong = random_key_file(&dir, "wrong.key", 0o600);
    for args in [&listen[..], &["worker"], &["demo"]] {
        let o = vxguard(&e, &wrong, args);
        assert!(!o.status.success(), "{args:?} started with a wrong key");
        let err = stderr(&o);
        assert!(
            err.contains(&wrong.display().to_string())
                && err.contains("sealed under master key")
                && err.contains("wrong master key file"),
            "{args:?}: {err}"
        );
    }

    let missing = dir.join("missing.key");
    let o = vxguard(&e, &missing, &listen);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("master key file {}: missing", missing.display()))
            && err.contains("restore the file from its backup"),
        "{err}"
    );
    assert!(
        !missing.exists(),
        "a key was made for a database that has one"
    );

    let open = random_key_file(&dir, "open.key", 0o644);
    let o = vxguard(&e, &open, &listen);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&open.display().to_string()) && err.contains("mode 0644"),
        "{err}"
    );

    let o = vxguard(&e, &dir, &listen);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));

    std::fs::write(dir.join("junk.key"), "not a key").unwrap();
    std::fs::set_permissions(dir.join("junk.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = vxguard(&e, &dir.join("junk.key"), &listen);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a master key"), "{}", stderr(&o));

    // The right key still opens it.
    let o = vxguard(&e, &harness_key(), &["keys", "status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_fresh_database_gets_a_new_key_file_owner_only() {
    let e = Env::empty().await;
    // Env::empty opened it with the harness key: a fresh database of its own.
    let name = format!("vxguard_test_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{name}", harness::server_url());
    let dir = tmp("fresh");
    let key = dir.join("state/vxguard/master.key");
    let o = Command::new(env!("CARGO_BIN_EXE_vxguard"))
        .args(["demo"])
        .env("DATABASE_URL", &url)
        .env("VXGUARD_MASTER_KEY_FILE", &key)
        .output()
        .unwrap();
    let err = stderr(&o);
    let dropped = async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&format!("{}/postgres", harness::server_url()))
            .await
            .unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut c)
            .await
            .unwrap();
    };
    dropped.await;
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("made a new master key in {}", key.display()))
            && err.contains("back this file up"),
        "{err}"
    );
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    drop(e);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn rewrap_rotates_online_and_then_the_old_key_opens_nothing() {
    let e = Env::demo().await;
    assert_eq!(e.drain().await, 1);
    let before = vxguard_store::intent::secrets_doc(&e.db)
        .await
        .unwrap()
        .unwrap();
    let dir = tmp("rewrap");
    let new = dir.join("new.key");
    let o = vxguard(
        &e,
        &harness_key(),
        &[
            "keys",
            "rewrap",
            "--new-master-key-file",
            new.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("rewrapped 8 sealed records"), "{out}");
    assert_eq!(
        std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second rewrap to the same key is refused.
    let o = vxguard(
        &e,
        &new,
        &[
            "keys",
            "rewrap",
            "--new-master-key-file",
            new.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());

    // This process is a server that was running with the previous key: it
    // keeps reading and writing secrets (a new router needs new keys).
    let admin = e.token("admin@example.com").await;
    let spec = json!({
        "name": "vyos-dc1-09",
        "site": "dc1",
        "version": "1.4",
        "underlay_address": "5.254.54.19",
        "api_endpoint": "https://5.254.54.19",
    });
    let r = e.post("/api/v1/routers", &admin, spec).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(e.drain().await, 1);
    let after = vxguard_store::intent::secrets_doc(&e.db)
        .await
        .unwrap()
        .unwrap();
    for r in ["vyos-dc1-01", "vyos-dc2-02"] {
        assert_eq!(after["routers"][r], before["routers"][r]);
    }
    assert!(after["routers"]["vyos-dc1-09"]["api_key"].is_string());
    let st = vxguard_store::sealed::status(&e.db).await.unwrap();
    assert_eq!(st.records.len(), 1, "all under the new key: {st:?}");

    let o = vxguard(&e, &new, &["keys", "status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vxguard(&e, &harness_key(), &["keys", "status"]);
    assert_eq!(o.status.code(), Some(1));

    // The first worker started with the new key removes the bridge.
    let mut w = Command::new(env!("CARGO_BIN_EXE_vxguard"))
        .args(["worker", "--name", "rewrap-test"])
        .env("DATABASE_URL", &e.url)
        .env("VXGUARD_MASTER_KEY_FILE", &new)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let st = vxguard_store::sealed::status(&e.db).await.unwrap();
        if st.bridges.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the worker did not remove the bridge"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.kill().unwrap();
    w.wait().unwrap();

    // Now the previous key opens nothing, and the new one everything.
    let o = vxguard(&e, &harness_key(), &["demo"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("sealed under master key"),
        "{}",
        stderr(&o)
    );
    let o = vxguard(&e, &new, &["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

/// Every key vxguard keeps for `e`: devices' private and API keys, the
/// token-signing secret.
async fn every_key(e: &Env) -> Vec<(String, String)> {
    let doc = vxguard_store::intent::secrets_doc(&e.db)
        .await
        .unwrap()
        .unwrap();
    let jwt = vxguard::db::jwt_secret(&e.db).await.unwrap();
    let mut out = vec![(
        "token-signing secret".to_string(),
        String::from_utf8(jwt).unwrap(),
    )];
    for kind in ["routers", "hypervisors"] {
        for (name, s) in doc[kind].as_object().unwrap() {
            for field in ["wireguard_private_key", "api_key"] {
                if let Some(v) = s[field].as_str() {
                    out.push((format!("{name} {field}"), v.to_string()));
                }
            }
        }
    }
    out
}

fn dump(e: &Env, extra: &[&str]) -> Vec<u8> {
    let o = Command::new("pg_dump")
        .arg("--no-owner")
        .args(extra)
        .arg(&e.url)
        .output()
        .expect("pg_dump runs");
    assert!(o.status.success(), "pg_dump: {}", stderr(&o));
    o.stdout
}

/// After the demo is loaded and compiled, with a client and an API token
/// made: no key vxguard keeps is in the database's dump, in any encoding
/// (the test below adds the stored revisions).
#[tokio::test]
async fn a_dump_after_the_demo_compiled_holds_no_key_outside_revisions() {
    let e = Env::demo().await;
    e.drain().await;
    let t = e.token("acme-admin@example.com").await;
    let r = e
        .post(
            "/api/v1/tenants/acme/clients",
            &t,
            json!({"name": "laptop"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    e.drain().await;
    let keys = every_key(&e).await;
    assert_eq!(
        keys.len(),
        1 + 4 * 2 + 2,
        "{:?}",
        keys.iter().map(|k| &k.0).collect::<Vec<_>>()
    );
    let found = leaks::find(&dump(&e, &["--exclude-table-data=revisions"]), &keys);
    assert!(found.is_empty(), "the dump betrays: {found:?}");
}

/// Issue 17, item 8: revisions hold no key either. The worker compiles
/// with placeholders in place of private and API keys
/// (`vxguard_compiler::sealed`), and the drivers put the real ones back as
/// they send, so the whole dump, `revisions` included, holds none; the
/// revisions still name each router's and hypervisor's key by placeholder.
#[tokio::test]
async fn a_dump_after_the_demo_compiled_holds_no_key_at_all() {
    let e = Env::demo().await;
    e.drain().await;
    let keys = every_key(&e).await;
    let whole = dump(&e, &[]);
    let found = leaks::find(&whole, &keys);
    assert!(found.is_empty(), "the dump betrays: {found:?}");
    let text = String::from_utf8_lossy(&whole);
    let secrets = vxguard_store::intent::secrets(&mut *e.db.acquire().await.unwrap())
        .await
        .unwrap();
    for (name, r) in &secrets.routers {
        let p = vxguard_compiler::sealed::wireguard_placeholder(&r.wireguard_public_key);
        assert!(
            text.contains(&p),
            "router {name}'s key placeholder not stored"
        );
    }
    for (name, h) in &secrets.hypervisors {
        let p = vxguard_compiler::sealed::wireguard_placeholder(&h.wireguard_public_key);
        assert!(
            text.contains(&format!("PrivateKey = {p}")),
            "hypervisor {name}"
        );
    }
}

/// `vxguard keys scan` (issue 17, item 8; scripts/lab-e2e runs it over the
/// lab's debug log and dump): a file holding a key, in any encoding, is
/// named with the key's owner and exit 1, the key itself never printed; a
/// clean file passes.
#[tokio::test]
async fn keys_scan_names_a_file_holding_a_key_and_never_prints_it() {
    let e = Env::demo().await;
    e.drain().await;
    let dir = tmp("scan");
    let secrets = vxguard_store::intent::secrets(&mut *e.db.acquire().await.unwrap())
        .await
        .unwrap();
    let (name, r) = secrets.routers.iter().next().unwrap();
    let api_key = r.api_key.clone();
    let upper = api_key.to_uppercase();
    let clean = dir.join("clean.log");
    std::fs::write(&clean, "nothing to see\n").unwrap();
    let leaky = dir.join("leaky.log");
    std::fs::write(&leaky, format!("debug: body={{\"key\": \"{upper}\"}}\n")).unwrap();
    let o = vxguard(
        &e,
        &harness_key(),
        &["keys", "scan", clean.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = vxguard(
        &e,
        &harness_key(),
        &[
            "keys",
            "scan",
            clean.to_str().unwrap(),
            leaky.to_str().unwrap(),
        ],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "leaky.log: holds the router {name} API key as hex-decoded HEX"
        )),
        "{out}"
    );
    assert!(!out.contains("clean.log: holds"), "{out}");
    assert!(
        !out.contains(&api_key) && !out.contains(&upper),
        "the scan printed the key"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
