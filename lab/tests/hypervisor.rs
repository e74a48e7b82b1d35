//! A lab hypervisor next to a lab router, both from the compiler's output
//! for examples/two-dc.yaml (fresh WireGuard keys): router vyos-dc1-01
//! built by the netns realiser, hypervisor hv-dc1-01 by
//! `vxguard_lab::hypervisor` (OVS userspace datapath, wireguard-go) with
//! its three VMs, joined by an underlay bridge. With hv-dc1-01's flows,
//! groups and meters loaded, acme's VM pings acme's gateway (the VRRP
//! address on the router) across OVS → VXLAN → WireGuard, globex's VM
//! with the same address reaches globex's gateway (another VRF), and a
//! capture on the hypervisor's underlay link sees only WireGuard's UDP.
//!
//! Needs root, wireguard-go, FRR, keepalived, nft and Open vSwitch;
//! skipped with a message otherwise (a failure under CI).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_compiler::intent::yaml;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};
use vxguard_compiler::DefinitionSet;
use vxguard_lab::hypervisor::{self, HypervisorSpec, VmSpec};
use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::realise::Realiser;
use vyos_tree::{ConfigTree, NoSchema};

const ROUTER: &str = "vyos-dc1-01";
const HV: &str = "hv-dc1-01";

/// Removes the hypervisor (from its record) before the lab's namespaces go.
struct HvGuard(PathBuf);
impl Drop for HvGuard {
    fn drop(&mut self) {
        if let Err(e) = hypervisor::teardown(&self.0) {
            eprintln!("hypervisor teardown: {e}");
        }
    }
}

/// A capture that ends (by pid) on drop.
struct Capture(std::process::Child);
impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ovs_missing() -> Option<&'static str> {
    let why = sh(&[
        "sh",
        "-c",
        "command -v ovs-vswitchd && command -v ovsdb-server && command -v ovs-ofctl && command -v tcpdump",
    ])
    .err()
    .map(|_| "Open vSwitch or tcpdump is missing (scripts/setup installs them)");
    if let (Some(why), Some(_)) = (why, std::env::var_os("CI")) {
        panic!("the hypervisor test cannot run under CI: {why}");
    }
    why
}

#[test]
fn a_vm_pings_its_gateway_across_ovs_vxlan_and_wireguard() {
    if let Some(why) = skip_reason().or_else(ovs_missing) {
        eprintln!("SKIPPED a_vm_pings_its_gateway_across_ovs_vxlan_and_wireguard: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let run_dir = std::env::temp_dir().join(format!("vxguard-hv-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: run_dir.clone(),
    };
    let (ul, r, h) = (
        format!("vxh{tag}-ul"),
        format!("vxh{tag}-r"),
        format!("vxh{tag}-h"),
    );
    for ns in [&ul, &r, &h] {
        lab.netns(ns);
    }
    // The underlay: one bridge, the router and the hypervisor on it, with
    // the addresses the intent gives them; no IPv6 noise on the wire.
    must(&["ip", "-n", &ul, "link", "add", "br0", "type", "bridge"]);
    must(&["ip", "-n", &ul, "link", "set", "br0", "up"]);
    must(&[
        "ip",
        "netns",
        "exec",
        &ul,
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.disable_ipv6=1",
    ]);
    for (ns, port, addr) in [(&r, "pr", "5.254.54.10/24"), (&h, "ph", "5.254.54.20/24")] {
        must(&[
            "ip", "-n", &ul, "link", "add", port, "type", "veth", "peer", "name", "ul0", "netns",
            ns,
        ]);
        must(&["ip", "-n", &ul, "link", "set", port, "master", "br0", "up"]);
        must(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.ul0.disable_ipv6=1",
        ]);
        must(&["ip", "-n", ns, "addr", "add", addr, "dev", "ul0"]);
        must(&["ip", "-n", ns, "link", "set", "ul0", "up"]);
    }

    // Compile the example with real keys.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/two-dc.yaml"),
    )
    .unwrap();
    let (mut intent, _) = yaml::parse_intent(&text).unwrap();
    // The routers' underlay is `ul0` here: their gateway groups track it.
    for x in &mut intent.platform.routers {
        x.underlay_interface = "ul0".into();
    }
    let mut secrets = Secrets::default();
    for x in &intent.platform.routers {
        let (private, public) = keypair();
        secrets.routers.insert(
            x.name.to_string(),
            RouterSecrets {
                wireguard_private_key: private,
                wireguard_public_key: public,
                api_key: "lab".into(),
                api_key_next: None,
                api_key_retired: None,
                api_key_since: None,
                wireguard_previous: None,
                wireguard_since: None,
                client_key: None,
                client_epochs: Default::default(),
                client_rotation: None,
            },
        );
    }
    for x in &intent.platform.hypervisors {
        let (private, public) = keypair();
        secrets.hypervisors.insert(
            x.name.to_string(),
            HypervisorSecrets {
                wireguard_private_key: private,
                wireguard_public_key: public,
                wireguard_previous: None,
                wireguard_since: None,
            },
        );
    }
    let out = vxguard_compiler::compile(
        &intent,
        &Default::default(),
        &secrets,
        &DefinitionSet::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));

    // The router.
    let rid = format!("r{tag}");
    let re = Arc::new(NetnsRealiser::new(&r, &rid, &run_dir.join("router")).unwrap());
    lab.realisers.push(re.clone());
    for v in ["acme", "finance", "globex"] {
        lab.namespaces.push(format!("{r}-{v}"));
    }
    let t = Instant::now();
    let cfg = ConfigTree::parse_set(&out.routers[ROUTER].set, &NoSchema).unwrap();
    re.realise(&ConfigTree::new(), &cfg).unwrap();
    let router_built = t.elapsed();

    // The hypervisor and its VMs: every port of the intent on it.
    let config = HypervisorConfig::from(&out.hypervisors[HV]);
    let mut vms = Vec::new();
    let mut gateway = BTreeMap::new();
    for tenant in &intent.tenants {
        let ta = &out.allocation.tenants[tenant.slug.as_str()];
        for n in &tenant.networks {
            for (i, p) in n.ports.iter().enumerate() {
                if p.hypervisor.as_str() != HV {
                    continue;
                }
                let gw = ta.networks[n.name.as_str()].sites["dc1"].virtual_address;
                gateway.insert(p.name.clone(), gw);
                vms.push(VmSpec {
                    port: p.name.clone(),
                    ns: format!("vxh{tag}-{}{i}", &tenant.slug.as_str()[..1]),
                    address: ipnet::Ipv4Net::new(p.address.unwrap(), n.cidr.prefix_len()).unwrap(),
                    gateway: gw,
                });
            }
        }
    }
    let acme_vm = vms
        .iter()
        .find(|v| v.port == "acme-app1")
        .unwrap()
        .ns
        .clone();
    let hv_dir = run_dir.join("hypervisor");
    let _hv_guard = HvGuard(hv_dir.clone());
    let spec = HypervisorSpec {
        name: HV.into(),
        id: format!("h{tag}"),
        ns: h.clone(),
        ovs_ns: format!("vxh{tag}-o"),
        run_dir: hv_dir.clone(),
        bridge: config.bridge.clone(),
        config: config.clone(),
        mtu: out.tenant_mtu,
        vms,
    };
    let t = Instant::now();
    let built = hypervisor::build(&spec).unwrap_or_else(|e| panic!("{e}"));
    let hv_built = t.elapsed();
    assert!(built
        .openflow
        .starts_with(&format!("unix:{}", hv_dir.display())));

    // The flows, as the driver would: groups and meters, then the flows.
    let ofctl = |args: &[&str]| {
        let mut a = vec!["ovs-ofctl", "-O", "OpenFlow13"];
        a.extend_from_slice(args);
        must(&a)
    };
    let file = |name: &str, text: &str| {
        let p = hv_dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let t = Instant::now();
    ofctl(&[
        "--bundle",
        "add-groups",
        &built.openflow,
        &file("groups", &config.groups),
    ]);
    for m in config.meters.lines().filter(|l| !l.is_empty()) {
        ofctl(&["add-meter", &built.openflow, m]);
    }
    ofctl(&[
        "--bundle",
        "replace-flows",
        &built.openflow,
        &file("flows", &config.flows),
    ]);
    let flows_loaded = t.elapsed();

    // Acme's gateway: the VRRP address, held by the router (priority 200,
    // alone on the segment) once VRRP has settled.
    let gw = gateway["acme-app1"].to_string();
    let vip = format!("{gw}/");
    let t = Instant::now();
    while !sh(&["ip", "-n", &format!("{r}-acme"), "-br", "addr"]).is_ok_and(|a| a.contains(&vip)) {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the router never took acme's gateway address {gw}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Capture on the hypervisor's underlay link while the VM pings.
    let mut child = Command::new("ip")
        .args([
            "netns", "exec", &ul, "tcpdump", "-i", "ph", "-nn", "-l", "-q", "-p",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let capture = Capture(child);
    let mut stderr = std::io::BufReader::new(stderr);
    let mut started = String::new();
    while !started.contains("listening on ph") {
        let mut l = String::new();
        assert!(stderr.read_line(&mut l).unwrap() > 0, "tcpdump: {started}");
        started.push_str(&l);
    }
    let lines = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });

    let first = first_reply(&acme_vm, &gw, Duration::from_secs(20)).unwrap_or_else(|| {
        let dump = sh(&[
            "ovs-ofctl",
            "-O",
            "OpenFlow13",
            "dump-flows",
            &built.openflow,
        ])
        .unwrap_or_default();
        panic!("acme-app1 never reached its gateway {gw}; flows:\n{dump}")
    });
    let ping = must(&[
        "ip", "netns", "exec", &acme_vm, "ping", "-c10", "-i0.2", "-W2", &gw,
    ]);
    assert!(ping.contains(" 0% packet loss"), "{ping}");
    let rtt = ping.lines().last().unwrap_or_default().to_string();
    // A big packet fits the tenant MTU end to end (no fragmentation: DF).
    let size = (out.tenant_mtu - 28).to_string();
    let big = must(&[
        "ip", "netns", "exec", &acme_vm, "ping", "-c2", "-M", "do", "-s", &size, "-W2", &gw,
    ]);
    assert!(big.contains(" 0% packet loss"), "{big}");
    // Globex's VM has the same address on another VNI: it reaches globex's
    // gateway (the router's globex VRF), a different host from acme's.
    let globex_vm = spec
        .vms
        .iter()
        .find(|v| v.port == "globex-app1")
        .unwrap()
        .ns
        .clone();
    let ggw = gateway["globex-app1"].to_string();
    let gvip = format!("{ggw}/");
    let t = Instant::now();
    while !sh(&["ip", "-n", &format!("{r}-globex"), "-br", "addr"]).is_ok_and(|a| a.contains(&gvip))
    {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the router never took globex's gateway address {ggw}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    first_reply(&globex_vm, &ggw, Duration::from_secs(20))
        .expect("globex-app1 never reached its gateway");
    let mac = |vm: &str, gw: &str| {
        must(&["ip", "-n", vm, "neigh", "show", gw])
            .split_whitespace()
            .skip_while(|w| *w != "lladdr")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    let (acme_mac, globex_mac) = (mac(&acme_vm, &gw), mac(&globex_vm, &ggw));
    assert!(
        !acme_mac.is_empty() && acme_mac != globex_mac,
        "{acme_mac} / {globex_mac}"
    );
    std::thread::sleep(Duration::from_millis(300));
    drop(capture);
    let seen = lines.join().unwrap();

    let wg = format!(".{} ", intent.platform.wireguard.port);
    let wg_end = format!(".{}:", intent.platform.wireguard.port);
    let mut udp_wg = 0;
    let mut other = Vec::new();
    for l in &seen {
        if l.contains(" ARP, ") {
            continue;
        }
        let wireguard = l.contains(" IP ")
            && l.contains(": UDP, length")
            && (l.contains(&wg) || l.contains(&wg_end));
        if wireguard {
            udp_wg += 1;
        } else {
            other.push(l.clone());
        }
    }
    assert!(
        other.is_empty(),
        "not WireGuard on the underlay: {other:#?}"
    );
    assert!(
        udp_wg >= 26,
        "only {udp_wg} WireGuard packets for 13 pings: {seen:#?}"
    );
    // Teardown from the record alone: daemons, sockets and namespaces go.
    hypervisor::teardown(&hv_dir).unwrap();
    for pid in &built.pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "process {pid} survived teardown"
        );
    }
    for ns in &built.namespaces {
        assert!(
            sh(&["ip", "netns", "exec", ns, "true"]).is_err(),
            "{ns} survived"
        );
    }
    assert!(!std::path::Path::new(&format!("/var/run/wireguard/{}.sock", built.wg_dev)).exists());
    assert!(sh(&["ip", "-n", &h, "link", "show", &format!("h{tag}vt")]).is_err());
    eprintln!(
        "router built in {router_built:?}, hypervisor in {hv_built:?}, flows loaded in {flows_loaded:?}; \
         first reply after {first:?}; {rtt}; gateway MACs acme {acme_mac}, globex {globex_mac}; \
         underlay capture: {udp_wg} WireGuard UDP packets, nothing else but ARP"
    );
}

/// A spec that cannot be built is refused before anything is made, with
/// the reason; teardown of a run directory without a record is a no-op.
#[test]
fn a_bad_spec_is_refused_before_anything_is_made() {
    let dir = std::env::temp_dir().join(format!("vxguard-hv-bad-{}", std::process::id()));
    let config = HypervisorConfig {
        vtep: "172.27.0.5".parse().unwrap(),
        bridge: "br-int".into(),
        flows: String::new(),
        groups: String::new(),
        meters: String::new(),
        wireguard: "[Interface]\nListenPort = 51820\n".into(),
    };
    let mut spec = HypervisorSpec {
        name: HV.into(),
        id: "toolong".into(),
        ns: format!("vxh-nonexistent-{}", std::process::id()),
        ovs_ns: "vxh-unused".into(),
        run_dir: dir.clone(),
        bridge: "br-int".into(),
        config,
        mtu: 1390,
        vms: Vec::new(),
    };
    let e = hypervisor::build(&spec).unwrap_err().to_string();
    assert!(e.contains("\"toolong\"") && e.contains("1-3"), "{e}");
    spec.id = "z9".into();
    let e = hypervisor::build(&spec).unwrap_err().to_string();
    assert!(e.contains("does not exist"), "{e}");
    assert!(!dir.exists(), "nothing was made");
    hypervisor::teardown(&dir).unwrap();
}
