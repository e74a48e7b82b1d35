//! `track interface` of a VRRP group in a VRF (issue 17, check 8's VRRP
//! transitions): the group goes to FAULT when the tracked underlay link
//! loses its carrier, as VyOS's keepalived `track_interface` does, and
//! stays MASTER on a busy machine while the carrier stays.
//!
//! One lab router in a namespace, its `eth0` a veth to a second
//! namespace (taking that end down is the carrier loss), the group on a
//! bridge in VRF `acme` (keepalived in the VRF's namespace, `eth0` in the
//! router's). FAULT is seen as the gateway address leaving the bridge.
//!
//! Needs root, wireguard-go and keepalived; skipped with a message
//! otherwise (a failure under CI). Uses addresses only inside the
//! namespaces it creates and removes them when it ends, failed or not.

mod common;

use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

const CONFIG: &str = "\
set interfaces vxlan vxlan10000 remote '10.99.0.2'
set interfaces vxlan vxlan10000 source-address '10.99.0.1'
set interfaces vxlan vxlan10000 vni '10000'
set interfaces bridge br10000 address '100.65.0.2/24'
set interfaces bridge br10000 member interface vxlan10000
set interfaces bridge br10000 vrf 'acme'
set vrf name acme table '101'
set high-availability vrrp group acme-app address 100.65.0.1/24
set high-availability vrrp group acme-app interface 'br10000'
set high-availability vrrp group acme-app priority '200'
set high-availability vrrp group acme-app track interface 'eth0'
set high-availability vrrp group acme-app vrid '1'
";

fn holds_gateway(vrf_ns: &str, br: &str) -> bool {
    sh(&["ip", "-n", vrf_ns, "-br", "addr", "show", "dev", br])
        .is_ok_and(|a| a.contains("100.65.0.1/24"))
}

/// How long until `holds_gateway` is `want` (at most `within`).
fn until(vrf_ns: &str, br: &str, want: bool, within: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < within {
        if holds_gateway(vrf_ns, br) == want {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Busy loops, killed (by their own handles) when dropped.
struct Hogs(Vec<Child>);

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_tracked_underlay_faults_the_group_on_carrier_loss_only() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED a_tracked_underlay_faults_the_group_on_carrier_loss_only: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-track-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let (ra, peer) = (format!("vxk{tag}-ra"), format!("vxk{tag}-u"));
    for ns in [&ra, &peer] {
        lab.netns(ns);
    }
    must(&[
        "ip", "-n", &ra, "link", "add", "eth0", "type", "veth", "peer", "name", "u0", "netns",
        &peer,
    ]);
    must(&[
        "ip",
        "-n",
        &ra,
        "addr",
        "add",
        "10.99.0.1/24",
        "dev",
        "eth0",
    ]);
    must(&["ip", "-n", &ra, "link", "set", "eth0", "up"]);
    must(&["ip", "-n", &peer, "link", "set", "u0", "up"]);
    let id = format!("k{tag}");
    let re = realiser(&mut lab, &ra, &id, &run_dir.join("a"));
    let vrf_ns = format!("{ra}-acme");
    lab.namespaces.push(vrf_ns.clone());
    let br = format!("{id}br10000");
    let tree = ConfigTree::parse_set(CONFIG, &NoSchema).unwrap();
    re.realise(&ConfigTree::new(), &tree).unwrap();

    let conf = std::fs::read_to_string(run_dir.join("a").join(format!("keepalived-{vrf_ns}.conf")))
        .expect("keepalived's configuration");
    assert!(
        !conf.contains("vrrp_script") && conf.contains("track_file"),
        "the underlay is tracked by its link events, no exec'd check: {conf}"
    );
    until(&vrf_ns, &br, true, Duration::from_secs(15)).expect("the group never became MASTER");

    // A busy machine: every core taken by busy loops and the watcher
    // itself stopped (as starved) for 6 s, the carrier kept: the group
    // stays MASTER (an exec'd check timing out would have faulted it).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hogs = Hogs(
        (0..cores * 2)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect(),
    );
    // The watcher: the only process in the router's namespace.
    let watchers = must(&["ip", "netns", "pids", &ra]);
    let watchers: Vec<&str> = watchers.split_whitespace().collect();
    assert!(!watchers.is_empty(), "no carrier watcher in {ra}");
    for p in &watchers {
        must(&["kill", "-STOP", p]);
    }
    let left = until(&vrf_ns, &br, false, Duration::from_secs(6));
    for p in &watchers {
        must(&["kill", "-CONT", p]);
    }
    drop(hogs);
    assert_eq!(
        left, None,
        "the group left MASTER on a busy machine with its tracked carrier up"
    );

    // The tracked link loses its carrier: FAULT, the gateway leaves; back
    // when the carrier is.
    must(&["ip", "-n", &peer, "link", "set", "u0", "down"]);
    let fault = until(&vrf_ns, &br, false, Duration::from_secs(5))
        .expect("the group kept the gateway with its tracked link's carrier lost");
    eprintln!("carrier lost -> gateway given up in {fault:?}");
    must(&["ip", "-n", &peer, "link", "set", "u0", "up"]);
    let back = until(&vrf_ns, &br, true, Duration::from_secs(15))
        .expect("the group never took the gateway back with its carrier");
    eprintln!("carrier back -> gateway taken in {back:?}");
    drop(lab);
}
