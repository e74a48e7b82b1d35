//! Helpers shared by the netns integration tests: commands, the guard
//! that removes what a test made, hosts, and the EVPN configuration.
#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vxguard_lab::netns::NetnsRealiser;
use vyos_tree::{ConfigTree, NoSchema};

pub fn sh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "`{}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn must(args: &[&str]) -> String {
    sh(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Why these tests cannot run here (not root, a daemon missing), or
/// `None`. Under CI (`CI` set) a reason is a failure, not a skip: CI's
/// machine is set up by scripts/setup, so a skip there would hide a gap.
pub fn skip_reason() -> Option<&'static str> {
    let why = if sh(&["id", "-u"]).as_deref() != Ok("0") {
        Some("not root")
    } else if sh(&["sh", "-c", "command -v wireguard-go && command -v wg"]).is_err() {
        Some("wireguard-go or wg is missing (scripts/setup installs them)")
    } else if sh(&["test", "-x", "/usr/lib/frr/bgpd"]).is_err() {
        Some("FRR is missing (scripts/setup installs it)")
    } else if sh(&["sh", "-c", "command -v keepalived && command -v nft"]).is_err() {
        Some("keepalived or nft is missing (scripts/setup installs them)")
    } else {
        None
    };
    if let (Some(why), Some(_)) = (why, std::env::var_os("CI")) {
        panic!("the lab tests cannot run under CI: {why}");
    }
    why
}

/// Everything the test made; dropped last, also when a step panics.
pub struct Lab {
    /// Listeners started in host namespaces (killed by pid on drop).
    pub children: Vec<std::process::Child>,
    pub realisers: Vec<Arc<NetnsRealiser>>,
    pub namespaces: Vec<String>,
    pub run_dir: std::path::PathBuf,
}

impl Lab {
    pub fn netns(&mut self, name: &str) {
        must(&["ip", "netns", "add", name]);
        self.namespaces.push(name.into());
        must(&["ip", "-n", name, "link", "set", "lo", "up"]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for r in &self.realisers {
            if let Err(e) = r.teardown() {
                eprintln!("teardown: {e}");
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

/// The lab's underlay between two router namespaces (not the
/// configuration's): a veth `u0` with 10.99.0.1/24 in `ra` and .2 in `rb`.
pub fn underlay(ra: &str, rb: &str) {
    must(&[
        "ip", "-n", ra, "link", "add", "u0", "type", "veth", "peer", "name", "u0", "netns", rb,
    ]);
    for (ns, a) in [(ra, "10.99.0.1/24"), (rb, "10.99.0.2/24")] {
        must(&["ip", "-n", ns, "addr", "add", a, "dev", "u0"]);
        must(&["ip", "-n", ns, "link", "set", "u0", "up"]);
    }
}

/// A realiser for the router in `ns` (id `id`, its run directory `dir`),
/// torn down with `lab`.
pub fn realiser(lab: &mut Lab, ns: &str, id: &str, dir: &std::path::Path) -> Arc<NetnsRealiser> {
    let re = Arc::new(NetnsRealiser::new(ns, id, dir).unwrap());
    lab.realisers.push(re.clone());
    re
}

pub fn keypair() -> (String, String) {
    let private = must(&["wg", "genkey"]);
    let out = Command::new("sh")
        .args(["-c", &format!("echo '{private}' | wg pubkey")])
        .output()
        .unwrap();
    (
        private,
        String::from_utf8(out.stdout).unwrap().trim().into(),
    )
}

/// Pings until the first reply (at most `within`); returns how long it took.
pub fn first_reply(ns: &str, dst: &str, within: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < within {
        if sh(&["ip", "netns", "exec", ns, "ping", "-c1", "-W1", "-q", dst]).is_ok() {
            return Some(t.elapsed());
        }
    }
    None
}

/// Connects a host namespace to a router's bridge and gives it `addr`.
pub fn attach(router: &str, port: &str, bridge: &str, host: &str, addr: &str) {
    must(&[
        "ip", "-n", router, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
        host,
    ]);
    must(&["ip", "-n", router, "link", "set", port, "master", bridge]);
    must(&["ip", "-n", router, "link", "set", port, "up"]);
    must(&["ip", "-n", host, "addr", "add", addr, "dev", "eth0"]);
    must(&["ip", "-n", host, "link", "set", "eth0", "mtu", "1390", "up"]);
}

/// As vxguard generates it for EVPN: no static remote, `nolearning`, iBGP
/// l2vpn-evpn with BFD over the WireGuard mesh.
pub fn evpn_config(me: u8, peer: u8, my_key: &str, peer_pub: &str) -> ConfigTree {
    let text = format!(
        "\
set interfaces wireguard wg0 address '172.27.0.{me}/20'
set interfaces wireguard wg0 peer r{peer} address '10.99.0.{peer}'
set interfaces wireguard wg0 peer r{peer} allowed-ips '172.27.0.{peer}/32'
set interfaces wireguard wg0 peer r{peer} port '51820'
set interfaces wireguard wg0 peer r{peer} public-key '{peer_pub}'
set interfaces wireguard wg0 port '51820'
set interfaces wireguard wg0 private-key '{my_key}'
set interfaces vxlan vxlan20000 mtu '1390'
set interfaces vxlan vxlan20000 parameters nolearning
set interfaces vxlan vxlan20000 source-address '172.27.0.{me}'
set interfaces vxlan vxlan20000 vni '20000'
set interfaces bridge br20000 address '100.66.0.{me}/24'
set interfaces bridge br20000 member interface vxlan20000
set interfaces bridge br20000 mtu '1390'
set interfaces bridge br20000 vrf 'acme'
set vrf name acme table '101'
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
    ConfigTree::parse_set(&text, &NoSchema).unwrap()
}

/// Listens on TCP `ports` in namespace `ns`, accepting and closing.
pub fn listen(lab: &mut Lab, ns: &str, ports: &[u16]) {
    let script = format!(
        "import socket,select\nss=[]\nfor p in {ports:?}:\n s=socket.socket(); \
         s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',p)); \
         s.listen(16); ss.append(s)\nprint('up',flush=True)\nwhile True:\n \
         r,_,_=select.select(ss,[],[])\n for s in r: s.accept()[0].close()\n"
    );
    let mut c = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(c.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "up");
    lab.children.push(c);
}

/// Whether a TCP connection from `ns` to `dst:port` is accepted within 1 s.
pub fn connects(ns: &str, dst: &str, port: u16) -> bool {
    let code =
        format!("import socket\nsocket.create_connection(('{dst}',{port}),timeout=1).close()");
    sh(&["ip", "netns", "exec", ns, "python3", "-c", &code]).is_ok()
}
