//! A tenant's client interface rotated in two key epochs (issue 17, item
//! 5; `vxguard_compiler::model::ClientEpoch`), in the lab router's
//! realiser with real wireguard-go clients: a client on the old
//! configuration keeps pinging, without a lost request, while the next
//! epoch's interface (its own key and port, a `/32` route per client in
//! the tenant's VRF) is added and a client on the new configuration
//! connects through it; once released (the old interface gone) the old
//! configuration gets no answer and the new one still does. Root, real
//! wireguard-go and FRR (skipped with a message otherwise).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{first_reply, keypair, must, skip_reason, Lab};
use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

const GATEWAY: &str = "100.64.9.1";
const OLD_PORT: u16 = 51825;
const NEW_PORT: u16 = 46289;

/// One epoch's interface as the compiler renders it.
fn interface(
    ifname: &str,
    port: u16,
    key: &str,
    address: bool,
    peers: &[(&str, &str, &str)],
) -> String {
    let mut s = String::new();
    if address {
        s.push_str(&format!(
            "set interfaces wireguard {ifname} address '{GATEWAY}/24'\n"
        ));
    }
    s.push_str(&format!(
        "set interfaces wireguard {ifname} description 'vxguard tenant acme clients'\n\
         set interfaces wireguard {ifname} port '{port}'\n\
         set interfaces wireguard {ifname} private-key '{key}'\n\
         set interfaces wireguard {ifname} vrf 'acme'\n"
    ));
    for (name, public, addr) in peers {
        s.push_str(&format!(
            "set interfaces wireguard {ifname} peer {name} allowed-ips '{addr}/32'\n\
             set interfaces wireguard {ifname} peer {name} public-key '{public}'\n"
        ));
    }
    s
}

fn tree(parts: &[String]) -> ConfigTree {
    // BGP as every compiled router has it (the realiser runs FRR for it,
    // whose staticd installs the VRF's routes).
    let mut text = String::from(
        "set vrf name acme table '105'\n\
         set vrf name acme protocols bgp system-as '65000'\n\
         set vrf name acme protocols bgp address-family ipv4-unicast redistribute connected\n\
         set protocols bgp system-as '65000'\n\
         set protocols bgp parameters router-id '172.27.0.1'\n\
         set system host-name 'r1'\n",
    );
    for p in parts {
        text.push_str(p);
    }
    ConfigTree::parse_set(&text, &NoSchema).unwrap()
}

/// A wireguard-go client in namespace `ns` (underlay `addr` on a veth to
/// the router's namespace), tunnel address `tunnel`, talking to `router`
/// (public key) on `port`.
fn client(
    lab: &mut Lab,
    r: &str,
    ns: &str,
    n: u8,
    key: &str,
    router: &str,
    port: u16,
    tunnel: &str,
) {
    lab.netns(ns);
    let dev = format!("c{n}");
    // wireguard-go's control socket (/var/run/wireguard/NAME.sock) is
    // not per namespace: a name per client.
    let wg = format!("wgc{n}");
    must(&[
        "ip", "-n", r, "link", "add", &dev, "type", "veth", "peer", "name", "eth0", "netns", ns,
    ]);
    must(&[
        "ip",
        "-n",
        r,
        "addr",
        "add",
        &format!("10.98.{n}.1/24"),
        "dev",
        &dev,
    ]);
    must(&["ip", "-n", r, "link", "set", &dev, "up"]);
    must(&[
        "ip",
        "-n",
        ns,
        "addr",
        "add",
        &format!("10.98.{n}.2/24"),
        "dev",
        "eth0",
    ]);
    must(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "wireguard-go", "-f", &wg])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    lab.children.push(child);
    let mut up = false;
    for _ in 0..50 {
        if must(&["ip", "-n", ns, "link"]).contains(&wg) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "wireguard-go made no {wg} in {ns}");
    let key_file = lab.run_dir.join(format!("{ns}.key"));
    std::fs::create_dir_all(&lab.run_dir).unwrap();
    std::fs::write(&key_file, key).unwrap();
    must(&[
        "ip",
        "netns",
        "exec",
        ns,
        "wg",
        "set",
        &wg,
        "private-key",
        key_file.to_str().unwrap(),
        "peer",
        router,
        "endpoint",
        &format!("10.98.{n}.1:{port}"),
        "allowed-ips",
        "100.64.9.0/24",
        "persistent-keepalive",
        "1",
    ]);
    must(&[
        "ip",
        "-n",
        ns,
        "addr",
        "add",
        &format!("{tunnel}/32"),
        "dev",
        &wg,
    ]);
    must(&["ip", "-n", ns, "link", "set", &wg, "mtu", "1420", "up"]);
    must(&["ip", "-n", ns, "route", "add", "100.64.9.0/24", "dev", &wg]);
}

#[test]
fn an_old_client_configuration_works_through_the_grace_and_stops_at_release() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED an_old_client_configuration_works_through_the_grace_and_stops_at_release: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let run_dir =
        std::env::temp_dir().join(format!("vxguard-clientkeys-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let n = |s: &str| format!("ck{tag}-{s}");
    let (r, c1, c2) = (n("r1"), n("c1"), n("c2"));
    lab.netns(&r);
    let re = std::sync::Arc::new(NetnsRealiser::new(&r, "k1", &run_dir.join("r")).unwrap());
    lab.realisers.push(re.clone());
    lab.namespaces.push(format!("{r}-acme"));
    let (old_key, old_pub) = keypair();
    let (new_key, new_pub) = keypair();
    let (c1_key, c1_pub) = keypair();
    let (c2_key, c2_pub) = keypair();

    // Before: the tenant's first epoch, one client.
    let v1 = tree(&[interface(
        "wg5",
        OLD_PORT,
        &old_key,
        true,
        &[("laptop", &c1_pub, "100.64.9.2")],
    )]);
    let p = re.plan(&v1).unwrap();
    assert!(p.not_realised.is_empty(), "{:?}", p.not_realised);
    re.realise(&ConfigTree::new(), &v1).unwrap();
    client(
        &mut lab,
        &r,
        &c1,
        1,
        &c1_key,
        &old_pub,
        OLD_PORT,
        "100.64.9.2",
    );
    assert!(
        first_reply(&c1, GATEWAY, Duration::from_secs(10)).is_some(),
        "the client on the first epoch gets no answer"
    );

    // The rotation, a client on the new configuration: the next epoch's
    // interface beside the old one, which is not changed, while the old
    // client pings every 10 ms.
    let v2 = tree(&[
        interface(
            "wg5",
            OLD_PORT,
            &old_key,
            true,
            &[("laptop", &c1_pub, "100.64.9.2")],
        ),
        interface(
            "wg60005",
            NEW_PORT,
            &new_key,
            false,
            &[("phone", &c2_pub, "100.64.9.3")],
        ),
        "set vrf name acme protocols static route 100.64.9.3/32 interface wg60005\n".into(),
    ]);
    let p = re.plan(&v2).unwrap();
    assert!(p.not_realised.is_empty(), "{:?}", p.not_realised);
    let ping = Command::new("ip")
        .args([
            "netns", "exec", &c1, "ping", "-i", "0.01", "-w", "4", "-q", GATEWAY,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    re.realise(&v1, &v2).unwrap();
    let out = ping.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let counts: Vec<u64> = text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .map(|l| {
            l.split(',')
                .take(2)
                .map(|p| p.split_whitespace().next().unwrap().parse().unwrap())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(counts.len(), 2, "{text}");
    assert!(counts[0] > 100, "{text}");
    assert_eq!(
        counts[0], counts[1],
        "the old configuration lost requests: {text}"
    );
    eprintln!(
        "old client during the rotation: {} of {} answered",
        counts[1], counts[0]
    );
    client(
        &mut lab,
        &r,
        &c2,
        2,
        &c2_key,
        &new_pub,
        NEW_PORT,
        "100.64.9.3",
    );
    let vrf = format!("{r}-acme");
    let diagnose = || {
        let run = |a: &[&str]| common::sh(a).unwrap_or_else(|e| e);
        format!(
            "routes in {vrf}:\n{}\nlinks:\n{}\nwg:\n{}\nfrr:\n{}",
            run(&["ip", "-n", &vrf, "route"]),
            run(&["ip", "-n", &vrf, "-br", "link"]),
            run(&["ip", "netns", "exec", &vrf, "wg", "show"]),
            run(&[
                "ip",
                "netns",
                "exec",
                &r,
                "vtysh",
                "-c",
                "show running-config"
            ]),
        )
    };
    assert!(
        first_reply(&c2, GATEWAY, Duration::from_secs(10)).is_some(),
        "the client on the new configuration gets no answer\n{}",
        diagnose()
    );
    assert!(first_reply(&c1, GATEWAY, Duration::from_secs(3)).is_some());

    // Released: only the new epoch's interface, with the subnet; the old
    // configuration gets no answer, the new one does.
    let v3 = tree(&[interface(
        "wg60005",
        NEW_PORT,
        &new_key,
        true,
        &[("phone", &c2_pub, "100.64.9.3")],
    )]);
    re.realise(&v2, &v3).unwrap();
    assert!(
        first_reply(&c2, GATEWAY, Duration::from_secs(10)).is_some(),
        "the new configuration gets no answer after the release"
    );
    assert!(
        first_reply(&c1, GATEWAY, Duration::from_secs(4)).is_none(),
        "the old configuration still works after the release"
    );
}
