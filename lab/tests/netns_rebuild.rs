//! The lab router changes interfaces as VyOS does (issue 17, item 1): a
//! WireGuard interface is rebuilt when anything under `peer` changes, a
//! VXLAN interface when its `remote` (or VNI, port, source) changes, and
//! neither for anything else; a VXLAN rebuilt leaves its bridge without
//! carrier for a moment, and keepalived, running where VyOS runs it (on
//! the bridge), goes to FAULT and gives up the gateway address.
//!
//! Two lab routers in namespaces, A the VRRP master (priority 200) with
//! only its VXLAN on its tenant bridge. A rebuild is seen as a new
//! ifindex; carrier loss in `ip monitor link` on the bridge's layer-3
//! end; the FAULT as the gateway address leaving A.
//!
//! Needs root, wireguard-go and keepalived; skipped with a message
//! otherwise (a failure under CI). Uses addresses only inside the
//! namespaces it creates and removes them when it ends, failed or not.

mod common;

use common::*;
use std::time::{Duration, Instant};

use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

/// What differs between the configurations this test applies to A.
#[derive(Clone, Copy, Default)]
struct Knobs {
    /// In place on VyOS: descriptions, a second wg0 address, VXLAN MTU,
    /// a second bridge address.
    cosmetic: bool,
    /// Under `peer`: a rebuild of wg0.
    keepalive_20: bool,
    /// A VXLAN `remote` more: a rebuild of the VXLAN.
    extra_remote: bool,
}

fn config(me: u8, peer: u8, my_key: &str, peer_pub: &str, k: Knobs) -> ConfigTree {
    let prio = if me == 1 { 200 } else { 100 };
    let keepalive = if k.keepalive_20 { 20 } else { 25 };
    let mut text = format!(
        "\
set interfaces wireguard wg0 address '172.27.0.{me}/20'
set interfaces wireguard wg0 mtu '1440'
set interfaces wireguard wg0 peer r{peer} address '10.99.0.{peer}'
set interfaces wireguard wg0 peer r{peer} allowed-ips '172.27.0.{peer}/32'
set interfaces wireguard wg0 peer r{peer} persistent-keepalive '{keepalive}'
set interfaces wireguard wg0 peer r{peer} port '51820'
set interfaces wireguard wg0 peer r{peer} public-key '{peer_pub}'
set interfaces wireguard wg0 port '51820'
set interfaces wireguard wg0 private-key '{my_key}'
set interfaces vxlan vxlan10000 remote '172.27.0.{peer}'
set interfaces vxlan vxlan10000 source-address '172.27.0.{me}'
set interfaces vxlan vxlan10000 vni '10000'
set interfaces bridge br10000 address '100.65.0.{}/24'
set interfaces bridge br10000 member interface vxlan10000
set interfaces bridge br10000 mtu '1390'
set interfaces bridge br10000 vrf 'acme'
set vrf name acme table '101'
set high-availability vrrp group acme-app address 100.65.0.1/24
set high-availability vrrp group acme-app interface 'br10000'
set high-availability vrrp group acme-app priority '{prio}'
set high-availability vrrp group acme-app vrid '1'
",
        me + 1
    );
    text.push_str(if k.cosmetic {
        "set interfaces wireguard wg0 description 'mesh, renamed'\n\
         set interfaces wireguard wg0 address '172.27.1.1/32'\n\
         set interfaces vxlan vxlan10000 description 'acme app'\n\
         set interfaces vxlan vxlan10000 mtu '1380'\n\
         set interfaces bridge br10000 description 'acme app, renamed'\n\
         set interfaces bridge br10000 address '100.65.9.1/24'\n"
    } else {
        "set interfaces wireguard wg0 description 'vxguard mesh'\n\
         set interfaces vxlan vxlan10000 mtu '1390'\n"
    });
    if k.extra_remote {
        text.push_str("set interfaces vxlan vxlan10000 remote '172.27.0.9'\n");
    }
    ConfigTree::parse_set(&text, &NoSchema).unwrap()
}

fn ifindex(ns: &str, dev: &str) -> u64 {
    let out = must(&["ip", "-n", ns, "-j", "link", "show", "dev", dev]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["ifindex"].as_u64().unwrap()
}

/// What one change on A did: which links were rebuilt, whether the
/// bridge's layer-3 end lost carrier, whether A gave up the gateway.
#[derive(Debug, PartialEq)]
struct Effect {
    wg_rebuilt: bool,
    vxlan_rebuilt: bool,
    bridge_rebuilt: bool,
    carrier_lost: bool,
    gateway_left: bool,
}

struct RouterA<'a> {
    ns: &'a str,
    vrf_ns: String,
    id: &'a str,
    realiser: &'a NetnsRealiser,
    run_dir: std::path::PathBuf,
}

impl RouterA<'_> {
    fn dev(&self, vyos: &str) -> String {
        format!("{}{vyos}", self.id)
    }

    fn holds_gateway(&self) -> bool {
        sh(&[
            "ip",
            "-n",
            &self.vrf_ns,
            "-br",
            "addr",
            "show",
            "dev",
            &self.dev("br10000"),
        ])
        .is_ok_and(|a| a.contains("100.65.0.1/24"))
    }

    fn wait_for_gateway(&self, within: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < within {
            if self.holds_gateway() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Applies `old` -> `new` and watches for `watch` afterwards.
    fn change(&self, old: &ConfigTree, new: &ConfigTree, watch: Duration) -> Effect {
        let (wg, vx, br) = (self.dev("wg0"), self.dev("vxlan10000"), self.dev("br10000"));
        let before = (
            ifindex(self.ns, &wg),
            ifindex(self.ns, &vx),
            ifindex(self.ns, &br),
        );
        assert!(
            self.holds_gateway(),
            "A is not the master before the change"
        );
        let log = self.run_dir.join("monitor.log");
        let mut monitor = std::process::Command::new("ip")
            .args(["-n", &self.vrf_ns, "monitor", "link"])
            .stdout(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        self.realiser.realise(old, new).unwrap();
        let mut gateway_left = false;
        let t = Instant::now();
        while t.elapsed() < watch {
            gateway_left |= !self.holds_gateway();
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = monitor.kill();
        let _ = monitor.wait();
        let events = std::fs::read_to_string(&log).unwrap_or_default();
        let carrier_lost = events
            .lines()
            .any(|l| l.contains(&format!(" {br}@")) && l.contains("NO-CARRIER"));
        Effect {
            wg_rebuilt: ifindex(self.ns, &wg) != before.0,
            vxlan_rebuilt: ifindex(self.ns, &vx) != before.1,
            bridge_rebuilt: ifindex(self.ns, &br) != before.2,
            carrier_lost,
            gateway_left,
        }
    }
}

#[test]
fn interfaces_are_rebuilt_where_vyos_rebuilds_them_and_nowhere_else() {
    if let Some(why) = skip_reason() {
        eprintln!(
            "SKIPPED interfaces_are_rebuilt_where_vyos_rebuilds_them_and_nowhere_else: {why}"
        );
        return;
    }
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-rebuild-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let (ra, rb, hb) = (
        format!("vxr{tag}-ra"),
        format!("vxr{tag}-rb"),
        format!("vxr{tag}-hb"),
    );
    for ns in [&ra, &rb, &hb] {
        lab.netns(ns);
    }
    underlay(&ra, &rb);
    let (ka, pa) = keypair();
    let (kb, pb) = keypair();
    let (ida, idb) = (format!("p{tag}"), format!("q{tag}"));
    let rea = realiser(&mut lab, &ra, &ida, &run_dir.join("a"));
    let reb = realiser(&mut lab, &rb, &idb, &run_dir.join("b"));
    lab.namespaces.push(format!("{ra}-acme"));
    lab.namespaces.push(format!("{rb}-acme"));

    let a = |k: Knobs| config(1, 2, &ka, &pb, k);
    let base = a(Knobs::default());
    rea.realise(&ConfigTree::new(), &base).unwrap();
    reb.realise(
        &ConfigTree::new(),
        &config(2, 1, &kb, &pa, Knobs::default()),
    )
    .unwrap();
    // A tenant host behind B: the gateway must answer it across the mesh.
    attach(
        &rb,
        &format!("{idb}h"),
        &format!("{idb}br10000"),
        &hb,
        "100.65.0.10/24",
    );
    let router = RouterA {
        ns: &ra,
        vrf_ns: format!("{ra}-acme"),
        id: &ida,
        realiser: &rea,
        run_dir: run_dir.clone(),
    };
    assert!(
        router.wait_for_gateway(Duration::from_secs(10)),
        "A never became the VRRP master"
    );
    first_reply(&hb, "100.65.0.1", Duration::from_secs(10))
        .expect("the host behind B never reached the gateway on A");

    // Everything VyOS changes in place: nothing rebuilt, no carrier lost,
    // the gateway stays.
    let cosmetic = a(Knobs {
        cosmetic: true,
        ..Knobs::default()
    });
    let e = router.change(&base, &cosmetic, Duration::from_secs(4));
    assert_eq!(
        e,
        Effect {
            wg_rebuilt: false,
            vxlan_rebuilt: false,
            bridge_rebuilt: false,
            carrier_lost: false,
            gateway_left: false,
        },
        "a change VyOS makes in place"
    );
    let wg = must(&[
        "ip",
        "-n",
        &ra,
        "-br",
        "addr",
        "show",
        "dev",
        &router.dev("wg0"),
    ]);
    assert!(wg.contains("172.27.1.1/32"), "{wg}");
    let vx = must(&[
        "ip",
        "-n",
        &ra,
        "link",
        "show",
        "dev",
        &router.dev("vxlan10000"),
    ]);
    assert!(vx.contains("mtu 1380"), "{vx}");
    let br = must(&[
        "ip",
        "-n",
        &router.vrf_ns,
        "-br",
        "addr",
        "show",
        "dev",
        &router.dev("br10000"),
    ]);
    assert!(br.contains("100.65.9.1/24"), "{br}");

    // A peer's keepalive: wg0 rebuilt (T4702), the VXLAN and the bridge
    // kept, and their carrier with them; traffic returns.
    let peer_change = a(Knobs {
        cosmetic: true,
        keepalive_20: true,
        ..Knobs::default()
    });
    let e = router.change(&cosmetic, &peer_change, Duration::from_secs(1));
    assert_eq!(
        (
            e.wg_rebuilt,
            e.vxlan_rebuilt,
            e.bridge_rebuilt,
            e.carrier_lost
        ),
        (true, false, false, false),
        "a change under `peer`: {e:?}"
    );
    first_reply(&hb, "100.65.0.1", Duration::from_secs(10))
        .expect("the gateway was not reached again after wg0 was rebuilt");
    assert!(router.wait_for_gateway(Duration::from_secs(10)));

    // A VXLAN remote more: the VXLAN rebuilt, its bridge kept but without
    // carrier meanwhile, keepalived to FAULT: A gives up the gateway.
    let remote_change = a(Knobs {
        cosmetic: true,
        keepalive_20: true,
        extra_remote: true,
    });
    let e = router.change(&peer_change, &remote_change, Duration::from_secs(2));
    assert_eq!(
        e,
        Effect {
            wg_rebuilt: false,
            vxlan_rebuilt: true,
            bridge_rebuilt: false,
            carrier_lost: true,
            gateway_left: true,
        },
        "a change of a VXLAN's remotes"
    );
    // ... and takes it back (priority 200) once its bridge has carrier.
    assert!(
        router.wait_for_gateway(Duration::from_secs(15)),
        "A never became the master again"
    );
    let fdb = must(&[
        "bridge",
        "-n",
        &ra,
        "fdb",
        "show",
        "dev",
        &router.dev("vxlan10000"),
    ]);
    assert!(fdb.contains("dst 172.27.0.9"), "{fdb}");
    first_reply(&hb, "100.65.0.1", Duration::from_secs(10))
        .expect("the gateway was not reached again after the VXLAN was rebuilt");
}
