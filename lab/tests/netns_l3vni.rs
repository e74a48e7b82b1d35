//! Per-VRF BGP in the lab router's realiser: EVPN type-5 routes over a
//! tenant's L3 VNI (symmetric IRB) between two routers over WireGuard,
//! each holding the gateway of one of the tenant's networks only. Root,
//! real wireguard-go and FRR (skipped with a message otherwise).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{attach, first_reply, keypair, must, sh, skip_reason, Lab};
use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

/// A tenant: VRF name, L3 VNI, route-target number, the L2 VNI of its
/// network on router 1 (10.50.1.0/24) and on router 2 (10.50.2.0/24).
struct Tenant {
    name: &'static str,
    l3vni: u32,
    rt: u32,
    vni: [u32; 2],
}

const TENANTS: [Tenant; 2] = [
    Tenant {
        name: "blue",
        l3vni: 9000101,
        rt: 1,
        vni: [10101, 10102],
    },
    Tenant {
        name: "red",
        l3vni: 9000102,
        rt: 2,
        vni: [10201, 10202],
    },
];

/// As the compiler generates a router holding one network's gateway per
/// tenant: the network's VNI and bridge in the VRF, the VRF's L3 VNI
/// (VXLAN `nolearning` + bridge in the VRF), per-VRF BGP advertising the
/// connected prefixes as type-5 routes.
fn config(me: u8, peer: u8, my_key: &str, peer_pub: &str) -> ConfigTree {
    let mut text = format!(
        "\
set interfaces wireguard wg0 address '172.27.0.{me}/20'
set interfaces wireguard wg0 peer r{peer} address '10.99.0.{peer}'
set interfaces wireguard wg0 peer r{peer} allowed-ips '172.27.0.{peer}/32'
set interfaces wireguard wg0 peer r{peer} port '51820'
set interfaces wireguard wg0 peer r{peer} public-key '{peer_pub}'
set interfaces wireguard wg0 port '51820'
set interfaces wireguard wg0 private-key '{my_key}'
set protocols bgp address-family l2vpn-evpn advertise-all-vni
set protocols bgp neighbor 172.27.0.{peer} address-family l2vpn-evpn
set protocols bgp neighbor 172.27.0.{peer} remote-as 'internal'
set protocols bgp neighbor 172.27.0.{peer} update-source '172.27.0.{me}'
set protocols bgp parameters router-id '172.27.0.{me}'
set protocols bgp system-as '65000'
set system host-name 'r{me}'
"
    );
    for t in &TENANTS {
        let (name, l3, rt) = (t.name, t.l3vni, t.rt);
        let vni = t.vni[usize::from(me - 1)];
        text.push_str(&format!(
            "\
set interfaces vxlan vxlan{vni} mtu '1390'
set interfaces vxlan vxlan{vni} parameters nolearning
set interfaces vxlan vxlan{vni} source-address '172.27.0.{me}'
set interfaces vxlan vxlan{vni} vni '{vni}'
set interfaces bridge br{vni} address '10.50.{me}.1/24'
set interfaces bridge br{vni} member interface vxlan{vni}
set interfaces bridge br{vni} mtu '1390'
set interfaces bridge br{vni} vrf '{name}'
set interfaces vxlan vxlan{l3} mtu '1390'
set interfaces vxlan vxlan{l3} parameters nolearning
set interfaces vxlan vxlan{l3} source-address '172.27.0.{me}'
set interfaces vxlan vxlan{l3} vni '{l3}'
set interfaces bridge br{l3} member interface vxlan{l3}
set interfaces bridge br{l3} mtu '1390'
set interfaces bridge br{l3} vrf '{name}'
set vrf name {name} protocols bgp address-family ipv4-unicast redistribute connected
set vrf name {name} protocols bgp address-family l2vpn-evpn advertise ipv4 unicast
set vrf name {name} protocols bgp address-family l2vpn-evpn rd '172.27.0.{me}:{rt}'
set vrf name {name} protocols bgp address-family l2vpn-evpn route-target export '65000:{rt}'
set vrf name {name} protocols bgp address-family l2vpn-evpn route-target import '65000:{rt}'
set vrf name {name} protocols bgp system-as '65000'
set vrf name {name} table '10{rt}'
set vrf name {name} vni '{l3}'
"
        ));
    }
    ConfigTree::parse_set(&text, &NoSchema).unwrap()
}

#[test]
fn type5_routes_route_between_gateways_on_different_routers() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED type5_routes_route_between_gateways_on_different_routers: {why}");
        return;
    }
    let started = Instant::now();
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-l3vni-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let n = |s: &str| format!("l3v{tag}-{s}");
    let (r1, r2) = (n("r1"), n("r2"));
    // Hosts: tenant blue/red, on router 1 (network A) or 2 (network B).
    let hosts = ["ba", "bb", "ra", "rb"].map(n);
    for ns in [&r1, &r2].into_iter().chain(hosts.iter()) {
        lab.netns(ns);
    }
    must(&[
        "ip", "-n", &r1, "link", "add", "u0", "type", "veth", "peer", "name", "u0", "netns", &r2,
    ]);
    for (ns, a) in [(&r1, "10.99.0.1/24"), (&r2, "10.99.0.2/24")] {
        must(&["ip", "-n", ns, "addr", "add", a, "dev", "u0"]);
        must(&["ip", "-n", ns, "link", "set", "u0", "up"]);
    }
    let (k1, p1) = keypair();
    let (k2, p2) = keypair();
    let (id1, id2) = ("q1", "q2");
    let re1 = Arc::new(NetnsRealiser::new(&r1, id1, &run_dir.join("1")).unwrap());
    let re2 = Arc::new(NetnsRealiser::new(&r2, id2, &run_dir.join("2")).unwrap());
    lab.realisers.push(re1.clone());
    lab.realisers.push(re2.clone());
    for r in [&r1, &r2] {
        for t in &TENANTS {
            lab.namespaces.push(format!("{r}-{}", t.name));
        }
    }
    let c1 = config(1, 2, &k1, &p2);
    let c2 = config(2, 1, &k2, &p1);
    let p = re1.plan(&c1).unwrap();
    assert!(p.not_realised.is_empty(), "{:?}", p.not_realised);

    re1.realise(&ConfigTree::new(), &c1).unwrap();
    re2.realise(&ConfigTree::new(), &c2).unwrap();
    let committed = Instant::now();

    // The L3 VNI and its SVI are in the VRF's namespace; the VXLAN's
    // underlay stays in the router's.
    let l3 = must(&[
        "ip",
        "-d",
        "-n",
        &format!("{r1}-blue"),
        "link",
        "show",
        "q1vxlan9000101",
    ]);
    assert!(l3.contains("master q1br9000101"), "{l3}");
    assert!(
        l3.contains("link-netns") || l3.contains("link-netnsid"),
        "{l3}"
    );

    let (ba, bb, ra, rb) = (&hosts[0], &hosts[1], &hosts[2], &hosts[3]);
    for (t, i) in TENANTS.iter().zip([0usize, 2]) {
        let [v1, v2] = t.vni;
        let last = if t.name == "blue" { 10 } else { 20 };
        attach(
            &r1,
            &format!("q1h{v1}"),
            &format!("q1br{v1}"),
            &hosts[i],
            "10.50.1.10/24",
        );
        attach(
            &r2,
            &format!("q2h{v2}"),
            &format!("q2br{v2}"),
            &hosts[i + 1],
            &format!("10.50.2.{last}/24"),
        );
        must(&[
            "ip",
            "-n",
            &hosts[i],
            "route",
            "add",
            "default",
            "via",
            "10.50.1.1",
        ]);
        must(&[
            "ip",
            "-n",
            &hosts[i + 1],
            "route",
            "add",
            "default",
            "via",
            "10.50.2.1",
        ]);
    }

    // Network A's host (gateway on router 1) reaches network B's host
    // (gateway on router 2) only through the type-5 route over the L3 VNI.
    let first = first_reply(ba, "10.50.2.10", Duration::from_secs(60)).unwrap_or_else(|| {
        panic!(
            "blue A never reached blue B over the L3 VNI: {}",
            diagnose(&r1)
        )
    });
    let since_commit = committed.elapsed();
    first_reply(bb, "10.50.1.10", Duration::from_secs(10)).expect("blue B -> A");
    first_reply(ra, "10.50.2.20", Duration::from_secs(30)).expect("red A -> red B");
    first_reply(rb, "10.50.1.10", Duration::from_secs(10)).expect("red B -> A");

    for r in [&r1, &r2] {
        let out = must(&[
            "ip",
            "netns",
            "exec",
            r,
            "vtysh",
            "-N",
            r,
            "-c",
            "show bgp l2vpn evpn route type prefix",
        ]);
        for pfx in ["[10.50.1.0]", "[10.50.2.0]"] {
            assert!(out.contains(pfx), "{r}: no type-5 route for {pfx}: {out}");
        }
    }
    // The remote prefix is in the VRF's table, through the SVI.
    let route = must(&[
        "ip",
        "-n",
        &format!("{r1}-blue"),
        "route",
        "show",
        "10.50.2.0/24",
    ]);
    assert!(route.contains("q1br9000101"), "{route}");

    // Same CIDRs, other VNIs: each tenant reaches its own host only.
    assert!(sh(&[
        "ip",
        "netns",
        "exec",
        ba,
        "ping",
        "-c2",
        "-W1",
        "-q",
        "10.50.2.20"
    ])
    .is_err());
    assert!(sh(&[
        "ip",
        "netns",
        "exec",
        ra,
        "ping",
        "-c2",
        "-W1",
        "-q",
        "10.50.2.10"
    ])
    .is_err());

    // Taking a tenant away removes its VRF (FRR lets go of the namespace)
    // and leaves the other routed.
    let strip = |c: &ConfigTree| {
        let text: String = c
            .render_set(&NoSchema)
            .lines()
            .filter(|l| {
                !["name red ", "'red'", "10201", "10202", "9000102"]
                    .iter()
                    .any(|x| l.contains(x))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        ConfigTree::parse_set(&text, &NoSchema).unwrap()
    };
    // A restarted lab router (a new realiser reading what was built)
    // converges without rebuilding: FRR keeps running, traffic flows.
    let pid = |d: &str| std::fs::read_to_string(format!("/var/run/frr/{r1}/{d}.pid")).unwrap();
    let zebra_before = pid("zebra");
    let re1r = Arc::new(NetnsRealiser::new(&r1, id1, &run_dir.join("1")).unwrap());
    lab.realisers.push(re1r.clone());
    re1r.realise(&ConfigTree::new(), &c1).unwrap();
    assert_eq!(zebra_before, pid("zebra"));
    first_reply(ba, "10.50.2.10", Duration::from_secs(10)).expect("no reply after a restart");

    // Without the record, every VRF namespace is made again: FRR lets go
    // of the old ones and binds the new ones, and type-5 routing returns.
    std::fs::remove_file(run_dir.join("1").join("built.boot")).unwrap();
    let re1n = Arc::new(NetnsRealiser::new(&r1, id1, &run_dir.join("1")).unwrap());
    lab.realisers.push(re1n.clone());
    re1n.realise(&ConfigTree::new(), &c1).unwrap();
    for v in TENANTS.map(|t| t.vni[0]) {
        // The bridges were rebuilt: the test's host ports go back on them.
        must(&[
            "ip",
            "-n",
            &r1,
            "link",
            "set",
            &format!("q1h{v}"),
            "master",
            &format!("q1br{v}"),
        ]);
    }
    // The gateway's layer-3 end is new (new MAC): hosts ask again.
    for h in [ba, ra] {
        must(&["ip", "-n", h, "neigh", "flush", "all"]);
    }
    let t = Instant::now();
    if first_reply(ba, "10.50.2.10", Duration::from_secs(30)).is_none() {
        panic!(
            "no reply after a rebuild: {}\n{}",
            diagnose(&r1),
            diagnose(&r2)
        );
    }
    let after_rebuild = t.elapsed();
    if first_reply(ra, "10.50.2.20", Duration::from_secs(10)).is_none() {
        panic!(
            "red: no reply after a rebuild: {}\n{}\n{:?}",
            diagnose_vrf(&r1, "red"),
            diagnose_vrf(&r2, "red"),
            sh(&["ip", "-n", ra, "neigh"])
        );
    }

    let c1b = strip(&c1);
    re1n.realise(&c1, &c1b).unwrap();
    assert!(!std::path::Path::new(&format!("/run/netns/{r1}-red")).exists());
    let zebra = std::fs::read_to_string(format!("/var/run/frr/{r1}/zebra.pid")).unwrap();
    let inside = must(&["ls", &format!("/proc/{}/root/run/netns", zebra.trim())]);
    assert_eq!(inside, "blue", "FRR's VRFs after removing red");
    if first_reply(ba, "10.50.2.10", Duration::from_secs(20)).is_none() {
        panic!("blue after red went: {}", diagnose(&r1));
    }

    re1n.teardown().unwrap();
    re2.teardown().unwrap();
    for r in [&r1, &r2] {
        assert!(!std::path::Path::new(&format!("/var/run/frr/{r}")).exists());
        assert!(!std::path::Path::new(&format!("/run/netns/{r}-blue")).exists());
    }
    eprintln!(
        "l3vni: first reply across routers {first:?} ({since_commit:?} after both commits), \
         {after_rebuild:?} after a rebuild without record, whole test {:?}",
        started.elapsed()
    );
}

/// What FRR and the VRF namespace hold, for a failure message.
fn diagnose(r: &str) -> String {
    diagnose_vrf(r, "blue")
}

fn diagnose_vrf(r: &str, vrf: &str) -> String {
    let vtysh = |c: &str| sh(&["ip", "netns", "exec", r, "vtysh", "-N", r, "-c", c]);
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        (
            vtysh("show vrf"),
            vtysh(&format!("show interface vrf {vrf} brief")),
            vtysh("show bgp l2vpn evpn route type prefix"),
        ),
        vtysh("show evpn vni"),
        vtysh("show vrf vni"),
        sh(&["ip", "-n", &format!("{r}-{vrf}"), "route"]),
        sh(&["ip", "-n", &format!("{r}-{vrf}"), "neigh"]),
        sh(&["ip", "-n", &format!("{r}-{vrf}"), "-br", "link"]),
    )
}
