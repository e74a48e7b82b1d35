//! A mesh change on the two-slot mesh (issue 17, item 2;
//! `vxguard_compiler::mesh`) loses no packet and drops no BGP session,
//! under VyOS's change semantics (the lab rebuilds a WireGuard interface
//! whenever anything under its `peer` changes).
//!
//! Two lab routers A and B in namespaces, their mesh addresses on `dum0`,
//! both mesh slots (`wg0`, `wg65536`) peered, the mesh routed into `wg0`
//! by `protocols static`, iBGP with BFD between the dummy addresses. A
//! third router C joins as the worker stages it: (1) the standby slot
//! `wg65536` takes the new peer on A and B (VyOS rebuilds it) while `wg0`
//! carries traffic; (2) the route moves to `wg65536`, A first, then B; (3)
//! `wg0` takes the peer too. Meanwhile A pings B every 10 ms: every
//! request must be answered, `wg0` must not be rebuilt before step 3, and
//! BGP must still be on its first connection at the end.
//!
//! Needs root, wireguard-go, FRR and keepalived; skipped with a message
//! otherwise (a failure under CI). Uses addresses only inside the
//! namespaces it creates and removes them when it ends, failed or not.

mod common;

use common::*;
use std::time::{Duration, Instant};
use vxguard_lab::netns::NetnsRealiser;

use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

/// A peer line set for one slot.
struct Peer<'a> {
    name: &'a str,
    last: u8,
    public: &'a str,
}

fn slot(ifname: &str, port: u16, key: &str, peers: &[Peer]) -> String {
    let mut s = format!(
        "set interfaces wireguard {ifname} description 'vxguard mesh'\n\
         set interfaces wireguard {ifname} mtu '1440'\n\
         set interfaces wireguard {ifname} port '{port}'\n\
         set interfaces wireguard {ifname} private-key '{key}'\n"
    );
    for p in peers {
        let (n, l, k) = (p.name, p.last, p.public);
        s.push_str(&format!(
            "set interfaces wireguard {ifname} peer {n} address '10.99.0.{l}'\n\
             set interfaces wireguard {ifname} peer {n} allowed-ips '172.27.0.{l}/32'\n\
             set interfaces wireguard {ifname} peer {n} persistent-keepalive '1'\n\
             set interfaces wireguard {ifname} peer {n} port '{port}'\n\
             set interfaces wireguard {ifname} peer {n} public-key '{k}'\n"
        ));
    }
    s
}

/// Router `me`'s platform part as vxguard renders it: the slots' peers
/// given, the mesh routed into `active`.
fn config(me: u8, keys: (&str, &str), a: &[Peer], b: &[Peer], active: &str) -> ConfigTree {
    let peer = 3 - me;
    let mut text = format!(
        "\
set interfaces dummy dum0 address '172.27.0.{me}/32'
set interfaces dummy dum0 description 'vxguard VTEP'
set protocols static route 172.27.0.0/20 interface {active}
set protocols static route 172.27.0.0/20 blackhole distance '254'
set protocols bgp address-family l2vpn-evpn advertise-all-vni
set protocols bgp neighbor 172.27.0.{peer} address-family l2vpn-evpn
set protocols bgp neighbor 172.27.0.{peer} bfd
set protocols bgp neighbor 172.27.0.{peer} remote-as 'internal'
set protocols bgp neighbor 172.27.0.{peer} update-source '172.27.0.{me}'
set protocols bgp parameters router-id '172.27.0.{me}'
set protocols bgp system-as '65000'
set system host-name 'r{me}'
"
    );
    text.push_str(&slot("wg0", 51820, keys.0, a));
    text.push_str(&slot("wg65536", 51819, keys.1, b));
    ConfigTree::parse_set(&text, &NoSchema).unwrap()
}

fn ifindex(ns: &str, dev: &str) -> u64 {
    let out = must(&["ip", "-n", ns, "-j", "link", "show", "dev", dev]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["ifindex"].as_u64().unwrap()
}

/// `show bgp neighbors <n> json`'s state and established-connection count.
fn bgp(ns: &str, neighbor: &str) -> (String, u64) {
    let out = sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "vtysh",
        "-N",
        ns,
        "-c",
        &format!("show bgp neighbors {neighbor} json"),
    ])
    .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let n = &v[neighbor];
    (
        n["bgpState"].as_str().unwrap_or("").to_string(),
        n["connectionsEstablished"].as_u64().unwrap_or(0),
    )
}

fn wait_established(ns: &str, neighbor: &str, within: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < within {
        if bgp(ns, neighbor).0 == "Established" {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Whether `dev`'s peer with `public` has handshaken.
fn handshaken(ns: &str, dev: &str, public: &str) -> bool {
    sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "wg",
        "show",
        dev,
        "latest-handshakes",
    ])
    .is_ok_and(|o| {
        o.lines().any(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(public) && w.next().is_some_and(|t| t != "0")
        })
    })
}

/// Waits until A reaches B's dummy address over the mesh and BGP between
/// the dummy addresses is up.
fn mesh_up(ra: &str) {
    // From the dummy address: the mesh's allowed-ips hold the mesh
    // addresses only (BGP and VXLAN name their source the same way).
    let t = Instant::now();
    while sh(&[
        "ip",
        "netns",
        "exec",
        ra,
        "ping",
        "-c1",
        "-W1",
        "-q",
        "-I",
        "172.27.0.1",
        "172.27.0.2",
    ])
    .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "A never reached B's dummy address over wg0: {}\n{}",
            sh(&["ip", "-n", ra, "route"]).unwrap_or_default(),
            sh(&["ip", "netns", "exec", ra, "wg", "show"]).unwrap_or_default()
        );
    }
    assert!(
        wait_established(ra, "172.27.0.2", Duration::from_secs(60)),
        "BGP between the dummy addresses never came up: {:?}",
        bgp(ra, "172.27.0.2")
    );
}

/// A pings B's mesh address from its own every 10 ms until [`judge_ping`].
fn start_ping(ra: &str, run_dir: &std::path::Path) -> std::process::Child {
    let ping_log = run_dir.join("ping.log");
    let ping = std::process::Command::new("ip")
        .args(["netns", "exec", ra, "ping", "-i", "0.01", "-W", "1"])
        .args(["-I", "172.27.0.1", "172.27.0.2"])
        .stdout(std::fs::File::create(&ping_log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    ping
}

/// Stops the ping and asserts that every request was answered.
fn judge_ping(mut ping: std::process::Child, run_dir: &std::path::Path, what: &str) {
    let ping_log = run_dir.join("ping.log");
    // Stop the ping with SIGINT so that it prints its summary.
    let _ = sh(&["kill", "-INT", &ping.id().to_string()]);
    let _ = ping.wait();
    let log = std::fs::read_to_string(&ping_log).unwrap_or_default();
    // Every request up to the last answered one was answered (the one in
    // flight when ping was stopped does not count).
    let mut seqs: Vec<u64> = log
        .lines()
        .filter_map(|l| l.split("icmp_seq=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    let last = seqs.last().copied().unwrap_or(0);
    let missing: Vec<u64> = (1..=last)
        .filter(|s| seqs.binary_search(s).is_err())
        .collect();
    eprintln!("{what} under ping: {last} requests, {} lost", missing.len());
    assert!(last > 300, "too few pings to judge: {log}");
    assert!(
        missing.is_empty(),
        "requests lost during the {what}: {missing:?}"
    );
}

/// Two lab routers A and B in namespaces `<prefix><tag>-ra` and `-rb`,
/// joined by an underlay, with realisers whose interfaces are named from
/// `ids` (distinct per test: wireguard-go's sockets are host-wide).
struct Pair {
    run_dir: std::path::PathBuf,
    ra: String,
    rb: String,
    ida: String,
    idb: String,
    rea: std::sync::Arc<NetnsRealiser>,
    reb: std::sync::Arc<NetnsRealiser>,
    // Last: removes what the routers made when the test ends, failed or not.
    _lab: Lab,
}

fn two_routers(name: &str, prefix: &str, ids: (&str, &str)) -> Pair {
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-{name}-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let (ra, rb) = (format!("{prefix}{tag}-ra"), format!("{prefix}{tag}-rb"));
    for ns in [&ra, &rb] {
        lab.netns(ns);
    }
    underlay(&ra, &rb);
    let (ida, idb) = (format!("{}{tag}", ids.0), format!("{}{tag}", ids.1));
    let rea = realiser(&mut lab, &ra, &ida, &run_dir.join("a"));
    let reb = realiser(&mut lab, &rb, &idb, &run_dir.join("b"));
    Pair {
        run_dir,
        ra,
        rb,
        ida,
        idb,
        rea,
        reb,
        _lab: lab,
    }
}

#[test]
fn a_router_joins_the_mesh_without_a_lost_packet() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED a_router_joins_the_mesh_without_a_lost_packet: {why}");
        return;
    }
    let Pair {
        run_dir,
        ra,
        rb,
        ida,
        idb,
        rea,
        reb,
        _lab,
    } = two_routers("mesh", "vxm", ("m", "n"));
    let (ka, pa) = keypair();
    let (kb, pb) = keypair();
    let (_, pc) = keypair();
    let peer_a = || Peer {
        name: "ra",
        last: 1,
        public: &pa,
    };
    let peer_b = || Peer {
        name: "rb",
        last: 2,
        public: &pb,
    };
    let peer_c = || Peer {
        name: "rc",
        last: 3,
        public: &pc,
    };
    // Each router's configuration at each step: (slot A peers, slot B
    // peers, active slot), without and with C.
    let a_cfg = |with_c_a: bool, with_c_b: bool, active: &str| {
        let a: Vec<Peer> = std::iter::once(peer_b())
            .chain(with_c_a.then(peer_c))
            .collect();
        let b: Vec<Peer> = std::iter::once(peer_b())
            .chain(with_c_b.then(peer_c))
            .collect();
        config(1, (&ka, &ka), &a, &b, active)
    };
    let b_cfg = |with_c_a: bool, with_c_b: bool, active: &str| {
        let a: Vec<Peer> = std::iter::once(peer_a())
            .chain(with_c_a.then(peer_c))
            .collect();
        let b: Vec<Peer> = std::iter::once(peer_a())
            .chain(with_c_b.then(peer_c))
            .collect();
        config(2, (&kb, &kb), &a, &b, active)
    };
    let (a0, b0) = (a_cfg(false, false, "wg0"), b_cfg(false, false, "wg0"));
    rea.realise(&ConfigTree::new(), &a0).unwrap();
    reb.realise(&ConfigTree::new(), &b0).unwrap();
    let (wga, wgb) = (format!("{ida}wg0"), format!("{ida}wg65536"));
    mesh_up(&ra);
    let route = must(&["ip", "-n", &ra, "route", "show", "172.27.0.0/20"]);
    assert!(route.contains(&format!("dev {wga}")), "{route}");

    // A pings B's mesh address from its own every 10 ms, from here on.
    let ping = start_ping(&ra, &run_dir);
    let wg0_at_start = ifindex(&ra, &wga);
    let standby_at_start = ifindex(&ra, &wgb);

    // (1) Staged: the standby slot takes C on both, wg0 untouched.
    let (a1, b1) = (a_cfg(false, true, "wg0"), b_cfg(false, true, "wg0"));
    rea.realise(&a0, &a1).unwrap();
    reb.realise(&b0, &b1).unwrap();
    assert_ne!(
        ifindex(&ra, &wgb),
        standby_at_start,
        "the standby slot's peers changed: the lab rebuilds it, as VyOS does"
    );
    assert_eq!(ifindex(&ra, &wga), wg0_at_start, "wg0 was rebuilt");
    // The worker waits for the standby's handshakes before it switches.
    let t = Instant::now();
    while !(handshaken(&ra, &wgb, &pb) && handshaken(&rb, &format!("{idb}wg65536"), &pa)) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the standby slot never handshook"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));

    // (2) Switched: A first, then B a moment later (any order works: each
    // answers on both slots).
    let (a2, b2) = (a_cfg(false, true, "wg65536"), b_cfg(false, true, "wg65536"));
    rea.realise(&a1, &a2).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    reb.realise(&b1, &b2).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let route = must(&["ip", "-n", &ra, "route", "show", "172.27.0.0/20"]);
    assert!(route.contains(&format!("dev {wgb}")), "{route}");
    assert_eq!(
        ifindex(&ra, &wga),
        wg0_at_start,
        "wg0 was rebuilt by the switch"
    );

    // (3) Released: the old slot takes C too (rebuilt, carrying nothing).
    let (a3, b3) = (a_cfg(true, true, "wg65536"), b_cfg(true, true, "wg65536"));
    rea.realise(&a2, &a3).unwrap();
    reb.realise(&b2, &b3).unwrap();
    assert_ne!(ifindex(&ra, &wga), wg0_at_start, "wg0 took C: rebuilt");
    std::thread::sleep(Duration::from_secs(2));

    judge_ping(ping, &run_dir, "mesh change");
    let (state, connections) = bgp(&ra, "172.27.0.2");
    assert_eq!(
        (state.as_str(), connections),
        ("Established", 1),
        "BGP dropped during the mesh change"
    );
}

/// A key rotation on the two slots (issue 17, item 4): A's mesh key is
/// replaced while A pings B every 10 ms. (1) Staged: A's standby slot
/// takes the new key and B's standby slot A's new public key (VyOS
/// rebuilds both), while `wg0` keeps the old key on both ends; (2) once
/// the standby has handshaken with the new key, traffic moves to it; (3)
/// released: `wg0` takes the new key too. Every request is answered, BGP
/// stays on its first connection, and at the end no interface of A holds
/// the old key nor any of B names it.
#[test]
fn a_key_rotates_without_a_lost_packet() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED a_key_rotates_without_a_lost_packet: {why}");
        return;
    }
    let Pair {
        run_dir,
        ra,
        rb,
        ida,
        idb,
        rea,
        reb,
        _lab,
    } = two_routers("rotate", "vxk", ("k", "l"));
    let (ka_old, pa_old) = keypair();
    let (ka_new, pa_new) = keypair();
    let (kb, pb) = keypair();
    fn peer_a(public: &str) -> Peer<'_> {
        Peer {
            name: "ra",
            last: 1,
            public,
        }
    }
    let peer_b = || Peer {
        name: "rb",
        last: 2,
        public: &pb,
    };
    // Each step: A's key on (slot A, slot B), and the active slot; B's
    // slots name A by the public half of the key A's slot runs.
    let step = |a_keys: (&str, &str), b_names: (&str, &str), active: &str| {
        let a = config(1, a_keys, &[peer_b()], &[peer_b()], active);
        let b = config(
            2,
            (&kb, &kb),
            &[peer_a(b_names.0)],
            &[peer_a(b_names.1)],
            active,
        );
        (a, b)
    };
    let (a0, b0) = step((&ka_old, &ka_old), (&pa_old, &pa_old), "wg0");
    rea.realise(&ConfigTree::new(), &a0).unwrap();
    reb.realise(&ConfigTree::new(), &b0).unwrap();
    let (wga, wgb) = (format!("{ida}wg0"), format!("{ida}wg65536"));
    mesh_up(&ra);
    let ping = start_ping(&ra, &run_dir);
    let wg0_at_start = ifindex(&ra, &wga);

    // (1) Staged: the standby slots take the new key, wg0 keeps the old.
    let (a1, b1) = step((&ka_old, &ka_new), (&pa_old, &pa_new), "wg0");
    rea.realise(&a0, &a1).unwrap();
    reb.realise(&b0, &b1).unwrap();
    assert_eq!(ifindex(&ra, &wga), wg0_at_start, "wg0 was rebuilt");
    let t = Instant::now();
    while !handshaken(&rb, &format!("{idb}wg65536"), &pa_new) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "B's standby slot never handshook with A's new key"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));

    // (2) Switched: B first this time.
    let (a2, b2) = step((&ka_old, &ka_new), (&pa_old, &pa_new), "wg65536");
    reb.realise(&b1, &b2).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    rea.realise(&a1, &a2).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let route = must(&["ip", "-n", &ra, "route", "show", "172.27.0.0/20"]);
    assert!(route.contains(&format!("dev {wgb}")), "{route}");

    // (3) Released: wg0 takes the new key on both ends.
    let (a3, b3) = step((&ka_new, &ka_new), (&pa_new, &pa_new), "wg65536");
    rea.realise(&a2, &a3).unwrap();
    reb.realise(&b2, &b3).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    judge_ping(ping, &run_dir, "key rotation");
    let (state, connections) = bgp(&ra, "172.27.0.2");
    assert_eq!(
        (state.as_str(), connections),
        ("Established", 1),
        "BGP dropped during the key rotation"
    );
    // The old key is gone from both ends: A runs only the new one, and B
    // names A by it on both slots (a peer still holding the old public
    // key would get no handshake from A).
    let a_keys = must(&[
        "ip",
        "netns",
        "exec",
        &ra,
        "wg",
        "show",
        "all",
        "private-key",
    ]);
    let a_public = must(&[
        "ip",
        "netns",
        "exec",
        &ra,
        "wg",
        "show",
        "all",
        "public-key",
    ]);
    assert!(!a_keys.contains(&ka_old), "A still runs its old key");
    assert_eq!(a_public.matches(&pa_new).count(), 2, "{a_public}");
    let b_peers = must(&["ip", "netns", "exec", &rb, "wg", "show", "all", "peers"]);
    assert!(
        !b_peers.contains(&pa_old),
        "B still names A's old key: {b_peers}"
    );
    let t = Instant::now();
    while !handshaken(&rb, &format!("{idb}wg0"), &pa_new) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "B's wg0 never handshook with A's new key"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
