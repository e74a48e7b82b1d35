//! `lab down --prefix`: a lab whose state directory is lost (another
//! session's interrupted run) is removed by its prefix alone, and nothing
//! of a neighbour with a longer prefix is touched.
//!
//! Needs root; skipped with a message otherwise (a failure under CI).

mod common;

use common::{sh, skip_reason, Lab};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use vxguard_lab::down;

/// Files removed on drop, also when an assertion fails.
struct Files(Vec<std::path::PathBuf>);

impl Drop for Files {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Waits (up to 10 s) until `ready` holds; panics otherwise.
fn settle(ready: impl Fn() -> bool) {
    let t = std::time::Instant::now();
    while !ready() {
        assert!(t.elapsed().as_secs() < 10, "a test process did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn alive(c: &mut Child) -> bool {
    matches!(c.try_wait(), Ok(None))
}

#[test]
fn a_lost_lab_is_swept_by_its_prefix_and_only_it() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED a_lost_lab_is_swept_by_its_prefix_and_only_it: {why}");
        return;
    }
    // A prefix of this run's own: `z` and three digits; its neighbour
    // `<prefix>0` shares every character but the dash.
    let prefix = format!("z{:03}", std::process::id() % 1000);
    let neighbour = format!("{prefix}0-keep");
    // Namespaces and processes go when `g` drops, sockets with `files`.
    let mut g = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: std::env::temp_dir().join(format!("vxguard-down-test-{}", std::process::id())),
    };
    let mut files = Files(Vec::new());
    let lost = [format!("{prefix}-hv-ovs"), format!("{prefix}-vm1")];
    for ns in lost.iter().chain([&neighbour]) {
        g.netns(ns);
    }
    let spawn = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    // A daemon left in a lost namespace, one in the neighbour's, and a
    // lab router (it listens outside its namespace) serving a lost one.
    g.children
        .push(spawn(&["ip", "netns", "exec", &lost[0], "sleep", "600"]));
    g.children
        .push(spawn(&["ip", "netns", "exec", &neighbour, "sleep", "600"]));
    g.children.push(spawn(&[
        "sh",
        "-c",
        "while :; do sleep 1; done",
        "lab",
        "router",
        "--netns",
        &lost[1],
    ]));
    // wireguard-go sockets of devices whose id starts with the prefix's
    // last character: a dead one's (nobody listens) and a live one.
    std::fs::create_dir_all("/var/run/wireguard").unwrap();
    let c = prefix.chars().last().unwrap();
    let dead = Path::new("/var/run/wireguard").join(format!("{c}t{}wg0.sock", std::process::id()));
    let live = Path::new("/var/run/wireguard").join(format!("{c}t{}wg1.sock", std::process::id()));
    drop(UnixListener::bind(&dead).unwrap());
    let _listening = UnixListener::bind(&live).unwrap();
    files.0.extend([dead.clone(), live.clone()]);
    assert_eq!(down::namespaces_of(&prefix), {
        let mut l = lost.to_vec();
        l.sort();
        l
    });

    // A spawned process is what the sweep looks for only once it entered
    // its namespace and its arguments are readable: wait for both.
    for (i, ns) in [(0, &lost[0]), (1, &neighbour)] {
        let pid = g.children[i].id().to_string();
        settle(|| {
            sh(&["ip", "netns", "pids", ns]).is_ok_and(|p| p.split_whitespace().any(|p| p == pid))
        });
    }
    let router = g.children[2].id();
    settle(|| {
        std::fs::read(format!("/proc/{router}/cmdline")).is_ok_and(|c| {
            c.ends_with(lost[1].as_bytes()) || c.ends_with(format!("{}\0", lost[1]).as_bytes())
        })
    });
    let removed = down::sweep_prefix(&prefix).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(removed, 2, "both lost namespaces removed");
    assert!(down::namespaces_of(&prefix).is_empty());
    for ns in &lost {
        assert!(!Path::new("/var/run/netns").join(ns).exists(), "{ns} left");
    }
    assert!(
        !alive(&mut g.children[0]),
        "the daemon in {} still runs",
        lost[0]
    );
    assert!(
        !alive(&mut g.children[2]),
        "the lab router serving {} still runs",
        lost[1]
    );
    assert!(
        alive(&mut g.children[1]),
        "the neighbour's daemon was killed"
    );
    assert!(
        Path::new("/var/run/netns").join(&neighbour).exists(),
        "the neighbour's namespace was removed"
    );
    assert!(!dead.exists(), "a dead wireguard-go socket was left");
    assert!(live.exists(), "a live wireguard-go socket was removed");
    assert!(matches!(
        down::sweep_prefix("BAD-"),
        Err(down::DownError::BadPrefix(_))
    ));
}
