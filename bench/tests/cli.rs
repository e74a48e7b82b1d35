//! `vxguard-bench` end to end: `compile` runs on a small generated
//! platform and prints its figures; `api load` writes one into a fresh
//! PostgreSQL database (the real one, as scripts/bench-api does) and
//! refuses a database that already holds a platform. Figures are printed,
//! never compared with a time.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vxguard-bench"))
}

#[test]
fn compile_prints_its_figures() {
    let o = bin()
        .args(["compile", "--sites", "2", "--routers", "4"])
        .args(["--hypervisors", "2", "--tenants", "6", "--changes", "3"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "platform: 4 routers, 2 hypervisors, 6 tenants;",
        "full compile + validation: ",
        "one-tenant change (3 runs,",
        "a write's device check, platform sketches kept (3 runs)",
        "peak RSS: ",
    ] {
        assert!(out.contains(want), "no `{want}` in:\n{out}");
    }
}

/// A bad `--vyos-defs` is an error naming the flag (exit 2), as in `vxguard`.
#[test]
fn compile_names_a_bad_definitions_flag() {
    let o = bin()
        .args(["compile", "--tenants", "1", "--vyos-defs", "1.6=/x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--vyos-defs 1.6=/x: unknown VyOS version `1.6`"),
        "{err}"
    );
}

#[test]
fn api_load_writes_a_generated_platform_once() {
    let server = std::env::var("VXGUARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("vxguard_benchtest_{}", std::process::id());
    let url = format!("{server}/{name}");
    let key = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("vxguard-bench-test.key");
    let load = || {
        bin()
            .args(["api", "load", "--database-url", &url])
            .args(["--sites", "2", "--routers", "4", "--hypervisors", "2"])
            .args(["--tenants", "6", "--users", "2"])
            .arg("--master-key-file")
            .arg(&key)
            .output()
            .unwrap()
    };
    let first = load();
    let second = load();
    drop_database(&server, &name);
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // 6 tenants: 2 networks, 2 services, 10 rules and 5 clients each.
    assert!(
        out.contains("2 sites, 4 routers, 2 hypervisors, 6 tenants with 114 objects"),
        "{out}"
    );
    assert!(out.contains("\"t0-admin@example.com\""), "{out}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("already holds a platform"), "{err}");
}

fn drop_database(server: &str, name: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        if let Ok(mut c) = sqlx::PgConnection::connect(&format!("{server}/postgres")).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    });
}
