//! `lab check`'s probes and capture judge on a tiny real lab built here:
//! two tenant "VMs" (namespaces) joined by WireGuard (wireguard-go) over a
//! veth that plays the underlay, and a third namespace of another tenant
//! holding the same address as one of them. Real namespaces, sockets,
//! wireguard-go and tcpdump; no vxguard. Needs root (skipped otherwise).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use vxguard_compiler::intent::Tenant;
use vxguard_lab::check::{capture, probe, reach, tenants};
use vxguard_lab::inventory::{Inventory, Link, Vm};

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "`{}`: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn skip_reason() -> Option<&'static str> {
    let ok = |c: &str| {
        Command::new("sh")
            .args(["-c", c])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let why = if !ok("test $(id -u) = 0") {
        Some("not root")
    } else if !ok(
        "command -v wireguard-go && command -v wg && command -v tcpdump && command -v nft",
    ) {
        Some("wireguard-go, wg, tcpdump or nft missing (scripts/setup installs them)")
    } else {
        None
    };
    if let (Some(w), Some(_)) = (why, std::env::var_os("CI")) {
        panic!("cannot run under CI: {w}");
    }
    why
}

/// What the test made, removed on drop even when an assertion fails.
struct Fake {
    namespaces: Vec<String>,
    children: Vec<Child>,
    socks: Vec<String>,
    dir: std::path::PathBuf,
}

impl Drop for Fake {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for s in &self.socks {
            let _ = std::fs::remove_file(s);
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const WG_PORT: u16 = 51820;

/// Builds: `P-a` (10.99.0.1) and `P-b` (10.99.0.2), tenant t, joined by
/// wireguard-go over veth `ua`/`ub` (10.98.0.1/.2, the underlay); `P-c`,
/// tenant u, with 10.99.0.2 on its loopback and no link to anything.
fn build(p: &str, fake: &mut Fake) -> Inventory {
    let ns = |s: &str| format!("{p}-{s}");
    for s in ["a", "b", "c"] {
        let _ = Command::new("ip")
            .args(["netns", "del", &ns(s)])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", &ns(s)]);
        fake.namespaces.push(ns(s));
        sh(&["ip", "-n", &ns(s), "link", "set", "lo", "up"]);
    }
    sh(&[
        "ip",
        "-n",
        &ns("a"),
        "link",
        "add",
        "ua",
        "type",
        "veth",
        "peer",
        "name",
        "ub",
        "netns",
        &ns("b"),
    ]);
    let keys: Vec<(String, String)> = (0..2)
        .map(|_| {
            let k = sh(&["wg", "genkey"]);
            let out = Command::new("sh")
                .args(["-c", &format!("echo {k} | wg pubkey")])
                .output()
                .unwrap();
            (k, String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .collect();
    for (i, (s, under, tenant_addr, peer_under, peer_tenant)) in [
        ("a", "ua", "10.99.0.1", "10.98.0.2", "10.99.0.2"),
        ("b", "ub", "10.99.0.2", "10.98.0.1", "10.99.0.1"),
    ]
    .into_iter()
    .enumerate()
    {
        let n = ns(s);
        sh(&[
            "ip",
            "-n",
            &n,
            "addr",
            "add",
            &format!("{}/24", if s == "a" { "10.98.0.1" } else { "10.98.0.2" }),
            "dev",
            under,
        ]);
        sh(&["ip", "-n", &n, "link", "set", under, "up"]);
        let dev = format!("{p}{s}");
        let child = Command::new("ip")
            .args(["netns", "exec", &n, "wireguard-go", "-f", &dev])
            .env("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        fake.children.push(child);
        let sock = format!("/var/run/wireguard/{dev}.sock");
        fake.socks.push(sock.clone());
        for _ in 0..200 {
            if std::path::Path::new(&sock).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let keyfile = fake.dir.join(format!("{s}.key"));
        std::fs::write(&keyfile, &keys[i].0).unwrap();
        sh(&[
            "ip",
            "netns",
            "exec",
            &n,
            "wg",
            "set",
            &dev,
            "private-key",
            &keyfile.display().to_string(),
            "listen-port",
            &WG_PORT.to_string(),
            "peer",
            &keys[1 - i].1,
            "endpoint",
            &format!("{peer_under}:{WG_PORT}"),
            "allowed-ips",
            &format!("{peer_tenant}/32"),
        ]);
        sh(&[
            "ip",
            "-n",
            &n,
            "addr",
            "add",
            &format!("{tenant_addr}/32"),
            "dev",
            &dev,
        ]);
        sh(&["ip", "-n", &n, "link", "set", &dev, "up"]);
        sh(&[
            "ip",
            "-n",
            &n,
            "route",
            "add",
            &format!("{peer_tenant}/32"),
            "dev",
            &dev,
        ]);
    }
    sh(&[
        "ip",
        "-n",
        &ns("c"),
        "addr",
        "add",
        "10.99.0.2/32",
        "dev",
        "lo",
    ]);
    let vm = |tenant: &str, port: &str, s: &str, addr: &str| Vm {
        tenant: tenant.into(),
        network: "n".into(),
        port: port.into(),
        hypervisor: format!("hv-{s}"),
        site: if s == "a" { "dc1" } else { "dc2" }.into(),
        ns: ns(s),
        address: addr.parse().unwrap(),
        prefix_len: 24,
        gateway: Ipv4Addr::new(10, 99, 0, 254),
    };
    let inv = Inventory {
        prefix: p.into(),
        api: "http://127.0.0.1:9".into(),
        wg_port: WG_PORT,
        namespaces: fake.namespaces.clone(),
        vms: vec![
            vm("t", "t-a", "a", "10.99.0.1"),
            vm("t", "t-b", "b", "10.99.0.2"),
            vm("u", "u-c", "c", "10.99.0.2"),
        ],
        underlay_links: vec![Link {
            ns: ns("a"),
            ifname: "ua".into(),
            label: "a <-> b".into(),
        }],
        ..Default::default()
    };
    // Through the file, as `lab check` reads it.
    inv.save(&fake.dir).unwrap();
    Inventory::load(&fake.dir).unwrap()
}

fn tenant(slug: &str) -> Tenant {
    serde_json::from_value(json!({
        "slug": slug, "name": slug,
        "networks": [{"name": "n", "cidr": "10.99.0.0/24", "sites": []}],
        "policy": {"default_action": "accept", "rules": [
            {"id": 1, "action": "drop", "protocol": "tcp", "destination_port": 22}
        ]}
    }))
    .unwrap()
}

#[test]
fn probes_and_the_capture_judge_on_a_real_wireguard_link() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let p = format!("vck{}", std::process::id() % 100_000);
    let mut fake = Fake {
        namespaces: vec![],
        children: vec![],
        socks: vec![],
        dir: std::env::temp_dir().join(format!("{p}-state")),
    };
    std::fs::create_dir_all(&fake.dir).unwrap();
    let inv = build(&p, &mut fake);
    let ts: tenants::Tenants = [
        ("t".to_string(), tenant("t")),
        ("u".to_string(), tenant("u")),
    ]
    .into();
    let policies: BTreeMap<_, _> = ts
        .iter()
        .map(|(k, t)| (k.clone(), tenants::compiled(t, None)))
        .collect();
    let marker = format!("VXGMARK-{}", probe::random_hex(8));
    let mut listeners = probe::Listeners::new();
    reach::listen_all(&inv.vms, &mut listeners).unwrap();
    let vms: Vec<reach::Node> = inv.vms.iter().map(reach::Node::vm).collect();
    let jobs = reach::jobs(&vms, None, &policies, false);
    let timeout = Duration::from_millis(800);

    // Round 1, captured: the policy drops tcp/22, the fake lab does not.
    let caps_dir = fake.dir.join("caps1");
    let mut caps = capture::start(&inv, &caps_dir).unwrap();
    let rows = reach::run(&jobs, &listeners, &marker, timeout, 8);
    let policy = capture::policy(&inv, &ts, &[], &marker);
    let verdicts = capture::finish(&mut caps, &policy);
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.ok())
        .map(|r| format!("{} -> {} {}", r.from, r.to, r.probe))
        .collect();
    assert_eq!(
        bad,
        vec!["t-a -> t-b tcp/22", "t-b -> t-a tcp/22"],
        "{rows:#?}"
    );
    // Across tenants: t-a to 10.99.0.2 is answered, by t-b, never u-c.
    let x = rows
        .iter()
        .find(|r| r.from == "t-a" && r.to == "u-c" && r.probe == "tcp/443")
        .unwrap();
    assert!(x.ok() && !x.reached && x.detail.contains("t-b"), "{x:?}");
    let inside = rows
        .iter()
        .find(|r| r.from == "t-a" && r.to == "t-b" && r.probe == "tcp/443")
        .unwrap();
    assert!(inside.ok() && inside.reached, "{inside:?}");
    assert!(rows
        .iter()
        .any(|r| r.probe == "icmp" && r.reached && r.ok()));
    // Only WireGuard crossed the underlay, though every probe carried the marker.
    assert_eq!(verdicts.len(), 1);
    let v = verdicts[0].verdict.as_ref().unwrap();
    assert!(verdicts[0].ok(), "{verdicts:#?}");
    assert!(v.wireguard > 20 && v.marker_hits == 0, "{v:?}");

    // Round 2: the fake lab enforces 22 (nft in b) and all is as expected.
    let rules = fake.dir.join("drop22.nft");
    std::fs::write(
        &rules,
        "table ip t {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 drop\n }\n}\n",
    )
    .unwrap();
    for s in ["a", "b"] {
        sh(&[
            "ip",
            "netns",
            "exec",
            &format!("{p}-{s}"),
            "nft",
            "-f",
            &rules.display().to_string(),
        ]);
    }
    let rows = reach::run(&jobs, &listeners, &marker, timeout, 8);
    assert!(
        rows.iter().all(|r| r.ok()),
        "{:#?}",
        rows.iter().filter(|r| !r.ok()).collect::<Vec<_>>()
    );

    // Round 3: plaintext across the captured link is caught, marker and all.
    let mut caps = capture::start(&inv, &fake.dir.join("caps2")).unwrap();
    let out = probe::connect(
        &format!("{p}-a"),
        SocketAddr::from(([10, 98, 0, 2], 443)),
        &format!("{marker} in clear"),
        timeout,
    );
    assert!(out.connected(), "{out:?}");
    let verdicts = capture::finish(&mut caps, &policy);
    let v = verdicts[0].verdict.as_ref().unwrap();
    assert!(!verdicts[0].ok());
    assert!(v.marker_hits >= 1, "{v:?}");
    assert!(
        v.violations
            .iter()
            .any(|x| x.contains("IPv4 protocol 6 10.98.0.1 -> 10.98.0.2")),
        "{v:?}"
    );
    // A failed capture's file is kept for reading.
    assert!(std::path::Path::new(&verdicts[0].file).exists());
    drop(listeners);
}

/// The fake lab's intent for `--no-api`: finance with web (a, dc1) and db
/// (b, dc2), whose dc1 gateway is router `r-d`; tenant u elsewhere.
const FAKE_INTENT: &str = r#"
platform:
  sites: [{ name: dc1 }, { name: dc2 }]
  routers:
    - { name: r-a, site: dc1, version: "1.5", underlay_address: 10.98.0.1, api_endpoint: "http://127.0.0.1:9" }
    - { name: r-b, site: dc2, version: "1.5", underlay_address: 10.98.0.2, api_endpoint: "http://127.0.0.1:9" }
    - { name: r-d, site: dc1, version: "1.5", underlay_address: 10.96.0.1, api_endpoint: "http://127.0.0.1:9" }
tenants:
  - slug: finance
    name: Finance
    networks:
      - { name: web, cidr: 10.99.0.0/31, sites: [{ site: dc1, gateways: [r-d, r-a] }] }
      - { name: db, cidr: 10.99.0.2/31, sites: [{ site: dc2, gateways: [r-b] }] }
    services:
      - { id: web-servers, addresses: [10.99.0.1/32] }
      - { id: database-servers, addresses: [10.99.0.2/32] }
    policy: { default_action: accept }
  - slug: u
    name: U
    networks:
      - { name: n, cidr: 10.99.0.0/24, sites: [] }
    policy: { default_action: accept }
"#;

#[test]
fn the_whole_check_runs_green_on_the_fake_lab() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let p = format!("vcw{}", std::process::id() % 100_000);
    let mut fake = Fake {
        namespaces: vec![],
        children: vec![],
        socks: vec![],
        dir: std::env::temp_dir().join(format!("{p}-state")),
    };
    std::fs::create_dir_all(&fake.dir).unwrap();
    let mut inv = build(&p, &mut fake);
    inv.vms[0].tenant = "finance".into();
    inv.vms[0].network = "web".into();
    inv.vms[1].tenant = "finance".into();
    inv.vms[1].network = "db".into();
    // r-d: a router off the path, with a link to take down and a
    // keepalived configuration in its run directory.
    let d = format!("{p}-d");
    let _ = Command::new("ip")
        .args(["netns", "del", &d])
        .stderr(Stdio::null())
        .status();
    sh(&["ip", "netns", "add", &d]);
    fake.namespaces.push(d.clone());
    sh(&[
        "ip", "-n", &d, "link", "add", "ud", "type", "veth", "peer", "name", "ud2",
    ]);
    sh(&["ip", "-n", &d, "link", "set", "ud", "up"]);
    let rd_dir = fake.dir.join("r-d");
    std::fs::create_dir_all(rd_dir.join("run")).unwrap();
    std::fs::write(rd_dir.join("run/keepalived-x.conf"), "    advert_int 0.1\n").unwrap();
    let router =
        |name: &str, site: &str, ns: String, ifname: &str, addr: [u8; 4], dir: &std::path::Path| {
            vxguard_lab::inventory::RouterNode {
                name: name.into(),
                site: site.into(),
                ns,
                id: "x".into(),
                version: "1.5".into(),
                api_url: "http://127.0.0.1:9".into(),
                state_dir: dir.to_path_buf(),
                underlay_if: ifname.into(),
                underlay_address: Ipv4Addr::from(addr),
            }
        };
    inv.routers = vec![
        router(
            "r-a",
            "dc1",
            format!("{p}-a"),
            "ua",
            [10, 98, 0, 1],
            &fake.dir,
        ),
        router(
            "r-b",
            "dc2",
            format!("{p}-b"),
            "ub",
            [10, 98, 0, 2],
            &fake.dir,
        ),
        router("r-d", "dc1", d.clone(), "ud", [10, 96, 0, 1], &rd_dir),
    ];
    inv.save(&fake.dir).unwrap();
    let topo = fake.dir.join("intent.yaml");
    std::fs::write(&topo, FAKE_INTENT).unwrap();
    let args = vxguard_lab::check::CheckArgs {
        state: fake.dir.clone(),
        json: true,
        topology: topo,
        no_api: true,
        email: String::new(),
        password: String::new(),
        changes: 0,
        skip: vec!["client".into(), "change".into()],
        timeout_ms: 800,
        parallel: 8,
        outside_routed: false,
        apply_wait_secs: 5,
        database_url: String::new(),
        minute_secs: 60.0,
        iperf_secs: 2,
    };
    let report = vxguard_lab::check::check(&inv, &args, None);
    let text = report.to_text();
    eprintln!("{text}");
    assert_eq!(report.failures(), 0, "{text}");
    let fig = |n: &str| {
        report
            .figures
            .iter()
            .find(|f| f.name.starts_with(n))
            .unwrap_or_else(|| panic!("no figure {n}: {text}"))
    };
    // r-d is off the path: the stream barely notices.
    let f = fig("7 failover interruption (r-d down, across sites)");
    assert!(
        f.value.unwrap() < 1.0 && f.detail.contains("advert_int 0.1 s"),
        "{f:?}"
    );
    assert!(fig("throughput ratio").value.unwrap() > 0.0);
    assert!(report.captures.iter().all(|c| c.ok()) && report.captures.len() == 1);
    assert!(text.contains("== 2 across tenants:") && text.contains("lab check: all green"));
    // The link came back.
    assert!(sh(&["ip", "-n", &d, "link", "show", "ud"]).contains("UP"));
    // And through the file and the printer, as the command runs it.
    vxguard_lab::check::run(&args, None).unwrap();

    // Captures on a link the tenant traffic does not take: "only
    // WireGuard" holds vacuously, and that is an error.
    let mut off = inv.clone();
    off.underlay_links = vec![Link {
        ns: d.clone(),
        ifname: "ud".into(),
        label: "off the path".into(),
    }];
    let mut quick = args.clone();
    quick.skip = vec![
        "client".into(),
        "change".into(),
        "failover".into(),
        "throughput".into(),
    ];
    let report = vxguard_lab::check::check(&off, &quick, None);
    assert!(report.captures.iter().all(|c| c.ok()));
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].contains("no capture saw WireGuard"));
}
