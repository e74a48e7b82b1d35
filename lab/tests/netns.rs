//! The netns realiser on the real host: two lab routers in namespaces
//! joined by a veth underlay, each given a configuration of the shape
//! vxguard's compiler generates (WireGuard mesh, a tenant VXLAN in a
//! bridge in a VRF), and tenant hosts (namespaces) on each router's
//! bridge that must reach each other across VXLAN over WireGuard.
//!
//! Needs root and wireguard-go; skipped with a message otherwise. Uses
//! addresses only inside the namespaces it creates, and removes every
//! namespace and wireguard-go it started when it ends, failed or not.

mod common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

/// A router's configuration as vxguard generates it, cut to one mesh peer
/// and two tenants with the same CIDR (acme on VNI 10000, globex on 10003).
fn config(me: u8, peer: u8, my_key: &str, peer_pub: &str) -> ConfigTree {
    let (gw, prio) = (me + 1, if me == 1 { 200 } else { 100 });
    let text = format!(
        "\
set interfaces wireguard wg0 address '172.27.0.{me}/20'
set interfaces wireguard wg0 description 'vxguard mesh'
set interfaces wireguard wg0 mtu '1440'
set interfaces wireguard wg0 peer r{peer} address '10.99.0.{peer}'
set interfaces wireguard wg0 peer r{peer} allowed-ips '172.27.0.{peer}/32'
set interfaces wireguard wg0 peer r{peer} persistent-keepalive '25'
set interfaces wireguard wg0 peer r{peer} port '51820'
set interfaces wireguard wg0 peer r{peer} public-key '{peer_pub}'
set interfaces wireguard wg0 port '51820'
set interfaces wireguard wg0 private-key '{my_key}'
set interfaces vxlan vxlan10000 mtu '1390'
set interfaces vxlan vxlan10000 remote '172.27.0.{peer}'
set interfaces vxlan vxlan10000 source-address '172.27.0.{me}'
set interfaces vxlan vxlan10000 vni '10000'
set interfaces vxlan vxlan10003 mtu '1390'
set interfaces vxlan vxlan10003 remote '172.27.0.{peer}'
set interfaces vxlan vxlan10003 source-address '172.27.0.{me}'
set interfaces vxlan vxlan10003 vni '10003'
set interfaces bridge br10000 address '100.65.0.{gw}/24'
set interfaces bridge br10000 description 'vxguard tenant acme network app'
set interfaces bridge br10000 member interface vxlan10000
set interfaces bridge br10000 mtu '1390'
set interfaces bridge br10000 vrf 'acme'
set interfaces bridge br10003 address '100.65.0.{gw}/24'
set interfaces bridge br10003 member interface vxlan10003
set interfaces bridge br10003 mtu '1390'
set interfaces bridge br10003 vrf 'globex'
set vrf name acme table '101'
set vrf name globex table '103'
set high-availability vrrp group acme-app address 100.65.0.1/24
set high-availability vrrp group acme-app interface 'br10000'
set high-availability vrrp group acme-app priority '{prio}'
set high-availability vrrp group acme-app vrid '1'
"
    );
    ConfigTree::parse_set(&text, &NoSchema).unwrap()
}

#[test]
fn tenant_hosts_ping_across_vxlan_over_wireguard() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED tenant_hosts_ping_across_vxlan_over_wireguard: {why}");
        return;
    }
    let started = Instant::now();
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-netns-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let ra = format!("vxt{tag}-ra");
    let rb = format!("vxt{tag}-rb");
    let (ha, hb, hg, hg2) = (
        format!("vxt{tag}-ha"),
        format!("vxt{tag}-hb"),
        format!("vxt{tag}-hg"),
        format!("vxt{tag}-h2"),
    );
    for ns in [&ra, &rb, &ha, &hb, &hg, &hg2] {
        lab.netns(ns);
    }
    underlay(&ra, &rb);

    let (ka, pa) = keypair();
    let (kb, pb) = keypair();
    let ida = format!("a{tag}");
    let idb = format!("b{tag}");
    let rea = realiser(&mut lab, &ra, &ida, &run_dir.join("a"));
    let reb = realiser(&mut lab, &rb, &idb, &run_dir.join("b"));
    // Registered for cleanup before they exist, in case realise panics.
    for (r, v) in [
        (&ra, "acme"),
        (&ra, "globex"),
        (&rb, "acme"),
        (&rb, "globex"),
    ] {
        lab.namespaces.push(format!("{r}-{v}"));
    }

    let ca = config(1, 2, &ka, &pb);
    let cb = config(2, 1, &kb, &pa);
    let t_build = Instant::now();
    rea.realise(&ConfigTree::new(), &ca).unwrap();
    reb.realise(&ConfigTree::new(), &cb).unwrap();
    let build = t_build.elapsed();

    // Tenant hosts: acme on each router's br10000, a globex host with
    // the same address as acme host A on router A's br10003, another on B's.
    let attach = |router: &str, id: &str, host: &str, br: &str, addr: &str| {
        let port = format!("{id}{}", &host[host.len() - 2..]);
        must(&[
            "ip", "-n", router, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
            "netns", host,
        ]);
        must(&[
            "ip",
            "-n",
            router,
            "link",
            "set",
            &port,
            "master",
            &format!("{id}{br}"),
        ]);
        must(&["ip", "-n", router, "link", "set", &port, "up"]);
        must(&["ip", "-n", host, "addr", "add", addr, "dev", "eth0"]);
        must(&["ip", "-n", host, "link", "set", "eth0", "mtu", "1390", "up"]);
    };
    attach(&ra, &ida, &ha, "br10000", "100.65.0.10/24");
    attach(&rb, &idb, &hb, "br10000", "100.65.0.11/24");
    attach(&ra, &ida, &hg, "br10003", "100.65.0.10/24");
    attach(&rb, &idb, &hg2, "br10003", "100.65.0.12/24");

    let first = first_reply(&ha, "100.65.0.11", Duration::from_secs(15))
        .expect("acme host A never reached acme host B across VXLAN over WireGuard");
    let out = must(&[
        "ip",
        "netns",
        "exec",
        &ha,
        "ping",
        "-c5",
        "-i0.2",
        "-W2",
        "100.65.0.11",
    ]);
    assert!(out.contains(" 0% packet loss"), "{out}");
    let rtt = out.lines().last().unwrap_or_default().to_string();

    // The gateway (VRRP, A has priority 200) lives in A's VRF namespace,
    // reached through the bridge from both sides.
    let vip_on = |r: &str, id: &str| {
        sh(&[
            "ip",
            "-n",
            &format!("{r}-acme"),
            "-br",
            "addr",
            "show",
            "dev",
            &format!("{id}br10000"),
        ])
        .is_ok_and(|a| a.contains("100.65.0.1/24"))
    };
    let t = Instant::now();
    while !vip_on(&ra, &ida) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "A never became VRRP master"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let elected = t.elapsed();
    assert!(!vip_on(&rb, &idb), "both routers hold the gateway address");
    must(&[
        "ip",
        "netns",
        "exec",
        &ha,
        "ping",
        "-c1",
        "-W2",
        "100.65.0.1",
    ]);
    must(&[
        "ip",
        "netns",
        "exec",
        &hb,
        "ping",
        "-c1",
        "-W2",
        "100.65.0.1",
    ]);
    must(&[
        "ip",
        "netns",
        "exec",
        &hb,
        "ping",
        "-c1",
        "-W2",
        "100.65.0.2",
    ]);

    // The tunnel really is WireGuard: a handshake with the peer.
    let hs = must(&[
        "ip",
        "netns",
        "exec",
        &ra,
        "wg",
        "show",
        &format!("{ida}wg0"),
        "latest-handshakes",
    ]);
    assert!(!hs.ends_with("\t0"), "no WireGuard handshake: {hs}");

    // globex has the same CIDR on another VNI: its hosts (one with acme
    // host A's address) reach each other, never acme's host on B.
    first_reply(&hg, "100.65.0.12", Duration::from_secs(10))
        .expect("globex host A never reached globex host B");
    assert!(
        sh(&[
            "ip",
            "netns",
            "exec",
            &hg,
            "ping",
            "-c2",
            "-i0.2",
            "-W1",
            "100.65.0.11"
        ])
        .is_err(),
        "a globex host reached an acme host"
    );

    // A change: B's acme network moves to VNI 10001 on both routers; the
    // VXLAN is rebuilt (its bridge kept), WireGuard is left running.
    let wg_pid_before =
        std::fs::read_to_string(run_dir.join("b").join(format!("{idb}wg0.pid"))).unwrap();
    let renumber = |t: &ConfigTree| {
        let s = t
            .render_set(&NoSchema)
            .replace("vni '10000'", "vni '10001'");
        ConfigTree::parse_set(&s, &NoSchema).unwrap()
    };
    let (ca2, cb2) = (renumber(&ca), renumber(&cb));
    rea.realise(&ca, &ca2).unwrap();
    reb.realise(&cb, &cb2).unwrap();
    let wg_pid_after =
        std::fs::read_to_string(run_dir.join("b").join(format!("{idb}wg0.pid"))).unwrap();
    assert_eq!(
        wg_pid_before, wg_pid_after,
        "wireguard-go was restarted for a VXLAN change"
    );
    // The bridges did not change, so the hosts' ports stayed on them.
    first_reply(&ha, "100.65.0.11", Duration::from_secs(10))
        .expect("no reply after the VNI change");
    let vx = must(&[
        "ip",
        "-n",
        &ra,
        "-d",
        "link",
        "show",
        &format!("{ida}vxlan10000"),
    ]);
    assert!(vx.contains("vxlan id 10001"), "{vx}");

    // A new WireGuard peer rebuilds wg0, as VyOS does (any change under
    // `peer`, T4702): wireguard-go starts again and the mesh address
    // (VXLAN's source) goes and comes back; traffic returns.
    let wg_pid_before =
        std::fs::read_to_string(run_dir.join("a").join(format!("{ida}wg0.pid"))).unwrap();
    let (_, client_pub) = keypair();
    let with_peer = ConfigTree::parse_set(
        &format!(
            "{}\nset interfaces wireguard wg0 peer laptop allowed-ips '172.27.9.9/32'\n\
             set interfaces wireguard wg0 peer laptop public-key '{client_pub}'\n",
            ca2.render_set(&NoSchema)
        ),
        &NoSchema,
    )
    .unwrap();
    let mut monitor = std::process::Command::new("ip")
        .args(["-n", &ra, "monitor", "address"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    rea.realise(&ca2, &with_peer).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _ = monitor.kill();
    let events = String::from_utf8_lossy(&monitor.wait_with_output().unwrap().stdout).into_owned();
    assert!(
        events.contains("Deleted") && events.contains("172.27.0.1/20"),
        "wg0 was not rebuilt for a new peer (its address stayed): {events}"
    );
    let wg_pid_after =
        std::fs::read_to_string(run_dir.join("a").join(format!("{ida}wg0.pid"))).unwrap();
    assert_ne!(wg_pid_before, wg_pid_after, "wireguard-go kept running");
    first_reply(&ha, "100.65.0.11", Duration::from_secs(10))
        .expect("no reply after wg0 was rebuilt");
    let peers = must(&[
        "ip",
        "netns",
        "exec",
        &ra,
        "wg",
        "show",
        &format!("{ida}wg0"),
        "peers",
    ]);
    assert!(peers.contains(&client_pub), "{peers}");
    rea.realise(&with_peer, &ca2).unwrap();
    let peers = must(&[
        "ip",
        "netns",
        "exec",
        &ra,
        "wg",
        "show",
        &format!("{ida}wg0"),
        "peers",
    ]);
    assert!(
        !peers.contains(&client_pub),
        "the removed peer stayed: {peers}"
    );

    // Failover: the group leaves A's configuration; B takes the gateway.
    let ca3 = ConfigTree::parse_set(
        &ca2.render_set(&NoSchema)
            .lines()
            .filter(|l| !l.starts_with("set high-availability"))
            .collect::<Vec<_>>()
            .join("\n"),
        &NoSchema,
    )
    .unwrap();
    let t = Instant::now();
    rea.realise(&ca2, &ca3).unwrap();
    while !vip_on(&rb, &idb) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "B never took over the gateway"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let failover = t.elapsed();
    assert!(!vip_on(&ra, &ida));
    first_reply(&ha, "100.65.0.1", Duration::from_secs(5))
        .expect("gateway unreachable after failover");

    // Teardown leaves nothing of the realisers behind.
    rea.teardown().unwrap();
    assert!(!std::path::Path::new(&format!("/var/run/netns/{ra}-acme")).exists());
    assert!(!std::path::Path::new(&format!("/var/run/wireguard/{ida}wg0.sock")).exists());
    for dev in [
        "wg0",
        "vxlan10000",
        "vxlan10003",
        "br10000",
        "br10000p",
        "br10003",
    ] {
        let dev = format!("{ida}{dev}");
        assert!(
            sh(&["ip", "-n", &ra, "link", "show", &dev]).is_err(),
            "{dev} left behind"
        );
    }
    eprintln!(
        "netns realiser: build {build:?}, first reply {first:?}, {rtt}, VRRP master after \
         {elected:?}, failover {failover:?}, whole test {:?}",
        started.elapsed()
    );
}

#[test]
fn evpn_sessions_establish_and_hosts_ping_without_static_remotes() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED evpn_sessions_establish_and_hosts_ping_without_static_remotes: {why}");
        return;
    }
    let started = Instant::now();
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-evpn-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let [ra, rb, ha, hb] = ["ra", "rb", "ha", "hb"].map(|n| format!("vxe{tag}-{n}"));
    for ns in [&ra, &rb, &ha, &hb] {
        lab.netns(ns);
    }
    underlay(&ra, &rb);
    let (ka, pa) = keypair();
    let (kb, pb) = keypair();
    let (ida, idb) = (format!("c{tag}"), format!("d{tag}"));
    let rea = realiser(&mut lab, &ra, &ida, &run_dir.join("a"));
    let reb = realiser(&mut lab, &rb, &idb, &run_dir.join("b"));
    lab.namespaces.push(format!("{ra}-acme"));
    lab.namespaces.push(format!("{rb}-acme"));

    let ca = evpn_config(1, 2, &ka, &pb);
    let cb = evpn_config(2, 1, &kb, &pa);
    // Before any commit: no FRR, so no session may look established.
    assert!(rea
        .bgp_sessions(&ca)
        .iter()
        .all(|s| s.state == "Unrealised"));
    rea.realise(&ConfigTree::new(), &ca).unwrap();
    reb.realise(&ConfigTree::new(), &cb).unwrap();
    attach(
        &ra,
        &format!("{ida}ha"),
        &format!("{ida}br20000"),
        &ha,
        "100.66.0.10/24",
    );
    attach(
        &rb,
        &format!("{idb}hb"),
        &format!("{idb}br20000"),
        &hb,
        "100.66.0.11/24",
    );

    let t = Instant::now();
    let established = loop {
        let s = rea.bgp_sessions(&ca);
        if s.iter()
            .any(|s| s.neighbor == "172.27.0.2" && s.state == "Established")
        {
            break t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no session after 30 s: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Only EVPN can have told each VTEP where the other is.
    let first = first_reply(&ha, "100.66.0.11", Duration::from_secs(20))
        .expect("hosts never reached each other over EVPN");
    let fdb = must(&[
        "bridge",
        "-n",
        &ra,
        "fdb",
        "show",
        "dev",
        &format!("{ida}vxlan20000"),
    ]);
    assert!(
        fdb.contains("dst 172.27.0.2"),
        "no remote VTEP learned from BGP: {fdb}"
    );

    // A change to BGP (BFD off) is reloaded in place: bgpd keeps its pid.
    let pid = |d: &str| std::fs::read_to_string(format!("/var/run/frr/{ra}/{d}.pid")).unwrap();
    let bgpd_before = pid("bgpd");
    let ca2 = ConfigTree::parse_set(
        &ca.render_set(&NoSchema)
            .replace("set protocols bgp neighbor 172.27.0.2 bfd\n", ""),
        &NoSchema,
    )
    .unwrap();
    assert_ne!(ca, ca2);
    rea.realise(&ca, &ca2).unwrap();
    assert_eq!(bgpd_before, pid("bgpd"));
    let run = must(&[
        "ip",
        "netns",
        "exec",
        &ra,
        "vtysh",
        "-N",
        &ra,
        "-c",
        "show running-config",
    ]);
    assert!(!run.contains("neighbor 172.27.0.2 bfd"), "{run}");

    // A restarted lab router (a new realiser, reading what was built from
    // its run directory) over the running host converges: nothing is
    // rebuilt, wireguard-go keeps running.
    let wg_pid =
        |d: &str| std::fs::read_to_string(run_dir.join("a").join(format!("{d}.pid"))).unwrap();
    let wg_before = wg_pid(&format!("{ida}wg0"));
    let rea2 = Arc::new(NetnsRealiser::new(&ra, &ida, &run_dir.join("a")).unwrap());
    lab.realisers.push(rea2.clone());
    rea2.realise(&ConfigTree::new(), &ca2).unwrap();
    assert_eq!(wg_before, wg_pid(&format!("{ida}wg0")));
    let master = must(&["ip", "-n", &ra, "link", "show", &format!("{ida}ha")]);
    assert!(
        master.contains(&format!("master {ida}br20000")),
        "bridge rebuilt: {master}"
    );
    first_reply(&ha, "100.66.0.11", Duration::from_secs(20)).expect("no reply after a restart");

    // Without the record (lost run directory file), a new realiser still
    // converges over what exists: every create replaces a leftover.
    std::fs::remove_file(run_dir.join("a").join("built.boot")).unwrap();
    let rea3 = Arc::new(NetnsRealiser::new(&ra, &ida, &run_dir.join("a")).unwrap());
    lab.realisers.push(rea3.clone());
    rea3.realise(&ConfigTree::new(), &ca2).unwrap();
    // The bridge was rebuilt this time: the test's host port goes back on it.
    let (port, br) = (format!("{ida}ha"), format!("{ida}br20000"));
    must(&["ip", "-n", &ra, "link", "set", &port, "master", &br]);
    first_reply(&ha, "100.66.0.11", Duration::from_secs(20)).expect("no reply after a rebuild");

    rea3.teardown().unwrap();
    assert!(!std::path::Path::new(&format!("/var/run/frr/{ra}")).exists());
    eprintln!(
        "evpn: session established after {established:?}, first reply {first:?}, whole test {:?}",
        started.elapsed()
    );
}

/// The Finance policy as the compiler generates it, on one router whose
/// two Finance networks are routed in the Finance VRF namespace.
#[test]
fn firewall_holds_on_routed_tenant_traffic() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED firewall_holds_on_routed_tenant_traffic: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-fw-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let [r, web, db] = ["r", "web", "db"].map(|n| format!("vxf{tag}-{n}"));
    for ns in [&r, &web, &db] {
        lab.netns(ns);
    }
    let id = format!("e{tag}");
    let re = Arc::new(NetnsRealiser::new(&r, &id, &run_dir).unwrap());
    lab.realisers.push(re.clone());
    lab.namespaces.push(format!("{r}-finance"));
    let text = "\
set firewall group interface-group VXG-finance interface 'br10002'
set firewall group interface-group VXG-finance interface 'br10004'
set firewall group network-group VXG-finance-INT network '100.64.1.0/28'
set firewall group network-group VXG-finance-INT network '100.64.1.16/28'
set firewall group network-group VXG-finance-S-database-servers network '100.64.1.20/32'
set firewall group network-group VXG-finance-S-web-servers network '100.64.1.10/32'
set firewall ipv4 forward filter default-action 'accept'
set firewall ipv4 forward filter rule 2 action 'jump'
set firewall ipv4 forward filter rule 2 jump-target 'VXG-finance'
set firewall ipv4 forward filter rule 2 outbound-interface group 'VXG-finance'
set firewall ipv4 name VXG-finance default-action 'drop'
set firewall ipv4 name VXG-finance rule 1 action 'accept'
set firewall ipv4 name VXG-finance rule 1 state 'established'
set firewall ipv4 name VXG-finance rule 1 state 'related'
set firewall ipv4 name VXG-finance rule 2 action 'drop'
set firewall ipv4 name VXG-finance rule 2 state 'invalid'
set firewall ipv4 name VXG-finance rule 100 action 'accept'
set firewall ipv4 name VXG-finance rule 100 destination group network-group 'VXG-finance-S-web-servers'
set firewall ipv4 name VXG-finance rule 100 destination port '443'
set firewall ipv4 name VXG-finance rule 100 protocol 'tcp'
set firewall ipv4 name VXG-finance rule 110 action 'accept'
set firewall ipv4 name VXG-finance rule 110 destination group network-group 'VXG-finance-S-database-servers'
set firewall ipv4 name VXG-finance rule 110 destination port '5432'
set firewall ipv4 name VXG-finance rule 110 protocol 'tcp'
set firewall ipv4 name VXG-finance rule 110 source group network-group 'VXG-finance-S-web-servers'
set firewall ipv4 name VXG-finance rule 120 action 'drop'
set firewall ipv4 name VXG-finance rule 120 destination port '22'
set firewall ipv4 name VXG-finance rule 120 protocol 'tcp'
set firewall ipv4 name VXG-finance rule 120 source group network-group '!VXG-finance-INT'
set interfaces bridge br10002 address '100.64.1.1/28'
set interfaces bridge br10002 vrf 'finance'
set interfaces bridge br10004 address '100.64.1.17/28'
set interfaces bridge br10004 vrf 'finance'
set vrf name finance table '102'
";
    let cfg = ConfigTree::parse_set(text, &NoSchema).unwrap();
    re.realise(&ConfigTree::new(), &cfg).unwrap();
    for (host, br, addr, gw) in [
        (&web, "br10002", "100.64.1.10/28", "100.64.1.1"),
        (&db, "br10004", "100.64.1.20/28", "100.64.1.17"),
    ] {
        attach(
            &r,
            &format!("{id}{}", &host[host.len() - 2..]),
            &format!("{id}{br}"),
            host,
            addr,
        );
        must(&["ip", "-n", host, "route", "add", "default", "via", gw]);
    }
    listen(&mut lab, &web, &[22, 443, 5432]);
    listen(&mut lab, &db, &[22, 443, 5432]);

    // Routed between the two networks, through the VRF namespace.
    assert!(
        connects(&web, "100.64.1.20", 5432),
        "web -> db:5432 must be allowed"
    );
    assert!(
        connects(&db, "100.64.1.10", 443),
        "db -> web:443 must be allowed"
    );
    assert!(
        !connects(&db, "100.64.1.10", 5432),
        "db -> web:5432 is not in the policy"
    );
    assert!(
        !connects(&web, "100.64.1.20", 22),
        "22 inside falls to default drop"
    );
    assert!(
        !connects(&web, "100.64.1.20", 443),
        "443 to a non-web server"
    );
    assert!(
        sh(&[
            "ip",
            "netns",
            "exec",
            &web,
            "ping",
            "-c1",
            "-W1",
            "100.64.1.20"
        ])
        .is_err(),
        "ICMP falls to default drop"
    );

    // A change through the configuration takes effect: allow 22 to db.
    let open = format!(
        "{text}set firewall ipv4 name VXG-finance rule 130 action 'accept'\n\
         set firewall ipv4 name VXG-finance rule 130 destination port '22'\n\
         set firewall ipv4 name VXG-finance rule 130 protocol 'tcp'\n"
    );
    let cfg2 = ConfigTree::parse_set(&open, &NoSchema).unwrap();
    let t = Instant::now();
    re.realise(&cfg, &cfg2).unwrap();
    assert!(connects(&web, "100.64.1.20", 22), "rule 130 must allow 22");
    eprintln!(
        "firewall: change applied and effective in {:?}",
        t.elapsed()
    );
    // The ruleset is in the VRF namespace, where the routing happens.
    let listed = must(&[
        "ip",
        "netns",
        "exec",
        &format!("{r}-finance"),
        "nft",
        "list",
        "chain",
        "ip",
        "vyos_filter",
        "NAME_VXG-finance",
    ]);
    assert!(listed.contains("tcp dport 22"), "{listed}");
    // `lab down` after a crash: a new realiser removes what the run
    // directory says was built.
    drop(lab.realisers.pop());
    drop(re);
    NetnsRealiser::new(&r, &id, &run_dir)
        .unwrap()
        .teardown()
        .unwrap();
    assert!(sh(&["ip", "netns", "exec", &format!("{r}-finance"), "true"]).is_err());
    assert!(sh(&["ip", "-n", &r, "link", "show", &format!("{id}br10002")]).is_err());
}

/// The compiler's own output for router vyos-dc1-01 of the example
/// platform (three tenants, WireGuard mesh and client interfaces, static
/// and EVPN VNIs, VRRP, the firewall, BGP) builds on one router.
#[test]
fn the_compilers_example_router_builds() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED the_compilers_example_router_builds: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-example-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let r = format!("vxx{tag}-r");
    lab.netns(&r);
    let id = format!("x{tag}");
    let re = Arc::new(NetnsRealiser::new(&r, &id, &run_dir).unwrap());
    lab.realisers.push(re.clone());
    for v in ["acme", "finance", "globex"] {
        lab.namespaces.push(format!("{r}-{v}"));
    }
    let cfg = ConfigTree::parse_set(
        include_str!("../src/netns/testdata/vyos-dc1-01.set"),
        &NoSchema,
    )
    .unwrap();
    let t = Instant::now();
    re.realise(&ConfigTree::new(), &cfg).unwrap();
    let built = t.elapsed();
    let plan = re.plan(&cfg).unwrap();
    for w in &plan.wireguard {
        let ns = plan.netns_of(&w.place);
        let port = must(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "wg",
            "show",
            &w.dev,
            "listen-port",
        ]);
        assert_eq!(
            Some(port.as_str()),
            w.port.map(|p| p.to_string()).as_deref()
        );
        // The UDP socket is on the underlay, in the router namespace, also
        // for an interface in a VRF (as VyOS's): clients reach it there.
        let sport = format!("sport = :{port}");
        let listening = |ns: &str| {
            !must(&["ip", "netns", "exec", ns, "ss", "-Hlun", &sport])
                .trim()
                .is_empty()
        };
        assert!(listening(&r), "{} does not listen in {r}", w.dev);
        if ns != r {
            assert!(!listening(&ns), "{} listens in {ns}", w.dev);
        }
    }
    for v in &plan.vxlans {
        // A VRF's L3 VNI is in the VRF's namespace, with its bridge.
        let d = must(&[
            "ip",
            "-n",
            &plan.netns_of(&v.place),
            "-d",
            "link",
            "show",
            &v.dev,
        ]);
        assert!(d.contains(&format!("vxlan id {} ", v.vni)), "{d}");
        assert!(d.contains(&format!("master {id}br{}", v.vni)), "{d}");
    }
    for v in ["acme", "finance", "globex"] {
        let ns = format!("{r}-{v}");
        let rules = must(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "nft",
            "list",
            "table",
            "ip",
            "vyos_filter",
        ]);
        assert!(rules.contains("chain NAME_VXG-finance"), "{rules}");
        assert!(std::fs::read_to_string(run_dir.join(format!("keepalived-{ns}.pid"))).is_ok());
    }
    let finance = must(&["ip", "-n", &format!("{r}-finance"), "-br", "addr"]);
    assert!(
        finance.contains(&format!("{id}wg2")) && finance.contains("100.64.0.1/24"),
        "{finance}"
    );
    assert!(finance.contains(&format!("{id}br10002")) && finance.contains("100.64.1.2/28"));
    let bgp = must(&[
        "ip",
        "netns",
        "exec",
        &r,
        "vtysh",
        "-N",
        &r,
        "-c",
        "show bgp summary json",
    ]);
    assert!(bgp.contains("172.27.0.4"), "{bgp}");
    // FRR sees the three VRFs with their L3 VNIs (SVI in the VRF).
    let vni = must(&[
        "ip",
        "netns",
        "exec",
        &r,
        "vtysh",
        "-N",
        &r,
        "-c",
        "show vrf vni",
    ]);
    for (v, n) in [("acme", 1), ("finance", 2), ("globex", 3)] {
        let line = vni.lines().find(|l| l.starts_with(v)).unwrap_or_default();
        assert!(
            line.contains(&format!("900000{n}")) && line.contains(&format!("{id}br900000{n}")),
            "{vni}"
        );
    }
    eprintln!("example router built in {built:?}");
}
