//! The realised lab router answers the health collector's `/show` calls
//! from its daemons (issue 18, item 1): two routers over a veth underlay
//! with the EVPN configuration vxguard generates plus a VRRP group, asked
//! through their VyOS HTTP API, the answers read with the collector's own
//! parsers (`vxguard-health`). Then the daemons' state changes and the
//! answers follow: keepalived stopped on one router (`VRRP is not
//! running` there, the other takes the group over), the underlay link
//! taken down (BFD and BGP down, the link gone from the counters).
//!
//! Needs root, wireguard-go, FRR and keepalived; skipped with a message
//! otherwise.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vxguard_health::parse;
use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::router::{Options, Router};
use vyos_api::client::Client;
use vyos_api::wire::{ApiVersion, Configure, ConfigureCommand, ConfigureOp, Show};
use vyos_tree::{ConfigTree, NoSchema};

const KEY: &str = "lab-test-key";

async fn serve(r: Router, v: ApiVersion) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(r.serve(listener));
    Client::new(&format!("http://{addr}"), KEY, v).unwrap()
}

async fn show(c: &Client, path: &[&str]) -> String {
    let a = c
        .show(&Show {
            path: path.iter().map(|p| p.to_string()).collect(),
        })
        .await
        .unwrap();
    assert!(a.ok(), "show {path:?}: {:?}", a.error());
    a.envelope.data.as_str().unwrap_or_default().to_string()
}

/// Asks `path` until `ok` holds for its text (at most `within`).
async fn until(
    c: &Client,
    path: &[&str],
    within: Duration,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> (String, Duration) {
    let t = Instant::now();
    loop {
        // An answer that failed (keepalived exiting while asked: `VRRP
        // data is not available`) is asked again.
        let a = c
            .show(&Show {
                path: path.iter().map(|p| p.to_string()).collect(),
            })
            .await
            .unwrap();
        let text = match a.ok() {
            true => a.envelope.data.as_str().unwrap_or_default().to_string(),
            false => a.error().unwrap_or_default().to_string(),
        };
        if a.ok() && ok(&text) {
            return (text, t.elapsed());
        }
        assert!(t.elapsed() < within, "{what}: after {within:?}:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn vrrp_state(text: &str, group: &str) -> Option<String> {
    match parse::vrrp(text) {
        parse::Vrrp::Groups(g) => g.into_iter().find(|g| g.name == group).map(|g| g.state),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_answers_follow_the_daemons() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED show_answers_follow_the_daemons: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let dir = std::env::temp_dir().join(format!("vxguard-show-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: dir.clone(),
    };
    let [ra, rb] = ["ra", "rb"].map(|n| format!("vxs{tag}-{n}"));
    for ns in [&ra, &rb] {
        lab.netns(ns);
    }
    underlay(&ra, &rb);
    lab.namespaces.push(format!("{ra}-acme"));
    lab.namespaces.push(format!("{rb}-acme"));
    let (ka, pa) = keypair();
    let (kb, pb) = keypair();
    let mut clients = Vec::new();
    // One router of each API version: 1.4 prints `wg show`, 1.5 its own
    // WireGuard summary.
    let runs = [
        (&ra, format!("s{tag}"), "a", ApiVersion::V1_4),
        (&rb, format!("t{tag}"), "b", ApiVersion::V1_5),
    ];
    let mut realisers = Vec::new();
    for (ns, id, sub, v) in &runs {
        let state = dir.join(sub);
        let re = Arc::new(NetnsRealiser::new(ns, id, &state.join("run")).unwrap());
        lab.realisers.push(re.clone());
        realisers.push(state.join("run"));
        let router = Router::open(
            Options {
                key: KEY.into(),
                version: *v,
                state_dir: state,
                minute: Duration::from_secs(1),
                commit_delay: Duration::ZERO,
            },
            Arc::new(vxguard_lab::builtin_defs(*v)),
            re,
        )
        .unwrap();
        clients.push(serve(router, *v).await);
    }
    let vrrp = |me: u8, prio: u32| {
        ConfigTree::parse_set(
            &format!(
                "set high-availability vrrp group acme-gw interface 'br20000'\n\
                 set high-availability vrrp group acme-gw vrid '20'\n\
                 set high-availability vrrp group acme-gw priority '{prio}'\n\
                 set high-availability vrrp group acme-gw address '100.66.0.254/24'\n\
                 set interfaces bridge br20000 description 'r{me}'\n"
            ),
            &NoSchema,
        )
        .unwrap()
    };
    for (i, (c, cfg)) in [
        (&clients[0], evpn_config(1, 2, &ka, &pb)),
        (&clients[1], evpn_config(2, 1, &kb, &pa)),
    ]
    .into_iter()
    .enumerate()
    {
        let commands = cfg
            .commands()
            .into_iter()
            .chain(vrrp(i as u8 + 1, if i == 0 { 200 } else { 100 }).commands())
            .map(|c| ConfigureCommand {
                op: ConfigureOp::Set,
                path: c.path,
                value: None,
            })
            .collect();
        let a = c
            .configure(&Configure::Batch {
                commands,
                confirm_time: 0,
            })
            .await
            .unwrap();
        assert!(a.ok(), "commit refused: {:?}", a.error());
    }
    let (a, b) = (&clients[0], &clients[1]);
    let within = Duration::from_secs(40);

    // Everything up: the answers are the daemons'.
    let (bgp, t_bgp) = until(a, &["bgp", "summary"], within, "BGP Established", |t| {
        parse::bgp_summary(t)
            .iter()
            .any(|p| p.neighbor == "172.27.0.2" && p.established())
    })
    .await;
    assert!(bgp.contains("L2VPN EVPN Summary"), "FRR's own text: {bgp}");
    let (bfd, _) = until(a, &["bfd", "peers"], within, "BFD up", |t| {
        parse::bfd_peers(t)
            .iter()
            .any(|p| p.peer == "172.27.0.2" && p.up())
    })
    .await;
    assert!(
        bfd.contains(" interface wg0\n"),
        "VyOS's interface name: {bfd}"
    );
    let (va, _) = until(a, &["vrrp"], within, "ra MASTER", |t| {
        vrrp_state(t, "acme-gw").as_deref() == Some("MASTER")
    })
    .await;
    let (vb, _) = until(b, &["vrrp"], within, "rb BACKUP", |t| {
        vrrp_state(t, "acme-gw").as_deref() == Some("BACKUP")
    })
    .await;
    assert!(va.contains(" br20000 "), "VyOS's interface name: {va}");
    let (wg14, _) = until(
        a,
        &["interfaces", "wireguard", "wg0", "summary"],
        within,
        "a handshake (1.4)",
        |t| {
            parse::wireguard(t)
                .first()
                .is_some_and(|p| p.handshake_age_secs.is_some() && p.rx_bytes.is_some())
        },
    )
    .await;
    assert!(wg14.starts_with("interface: wg0\n"), "{wg14}");
    let (wg15, _) = until(
        b,
        &["interfaces", "wireguard", "wg0", "summary"],
        within,
        "a handshake (1.5)",
        |t| {
            parse::wireguard(t)
                .first()
                .is_some_and(|p| p.name.as_deref() == Some("r1") && p.handshake_age_secs.is_some())
        },
    )
    .await;
    let counters = show(a, &["interfaces", "counters"]).await;
    let c = parse::interface_counters(&counters);
    for i in ["wg0", "br20000", "vxlan20000", "u0", "lo"] {
        assert!(
            c.iter().any(|x| x.interface == i),
            "{i} in the counters:\n{counters}"
        );
    }
    assert!(
        c.iter()
            .find(|x| x.interface == "wg0")
            .is_some_and(|x| x.tx_bytes > 0 && x.rx_bytes > 0),
        "wg0 carried BGP: {counters}"
    );
    let up = show(a, &["system", "uptime"]).await;
    let load = parse::uptime(&up).unwrap_or_else(|| panic!("{up}"));
    assert!(
        load.one >= 0.0 && load.uptime_secs.is_some_and(|s| s > 0),
        "{up}"
    );
    eprintln!(
        "== captured (FRR, keepalived, wg, ip)\n{bgp}\n{bfd}\n{va}\n{vb}\n{wg14}\n{wg15}\n{counters}\n{up}"
    );

    // keepalived stopped on ra: ra says VRRP is not running, rb takes
    // the group over.
    let pid = std::fs::read_to_string(realisers[0].join(format!("keepalived-{ra}-acme.pid")))
        .expect("ra's keepalived pid file");
    let t = Instant::now();
    must(&["kill", pid.trim()]);
    let (gone, _) = until(a, &["vrrp"], within, "ra: not running", |t| {
        parse::vrrp(t) == parse::Vrrp::NotRunning
    })
    .await;
    assert_eq!(gone, "VRRP is not running\n");
    let (_, took) = until(b, &["vrrp"], within, "rb MASTER", |t| {
        vrrp_state(t, "acme-gw").as_deref() == Some("MASTER")
    })
    .await;
    eprintln!(
        "keepalived stopped on ra: rb MASTER after {:?}",
        t.elapsed().max(took)
    );

    // The underlay taken down on ra: BFD, then BGP, down on rb; u0 gone
    // from ra's counters (VyOS lists interfaces that are up only).
    let cut = Instant::now();
    must(&["ip", "-n", &ra, "link", "set", "u0", "down"]);
    let (bfd_down, t_bfd) = until(b, &["bfd", "peers"], within, "rb: BFD down", |t| {
        parse::bfd_peers(t)
            .iter()
            .any(|p| p.peer == "172.27.0.1" && !p.up())
    })
    .await;
    let (_, t_bgp_down) = until(b, &["bgp", "summary"], within, "rb: BGP down", |t| {
        parse::bgp_summary(t)
            .iter()
            .any(|p| p.neighbor == "172.27.0.1" && !p.established())
    })
    .await;
    let counters = show(a, &["interfaces", "counters"]).await;
    assert!(
        !parse::interface_counters(&counters)
            .iter()
            .any(|x| x.interface == "u0"),
        "u0 is down: {counters}"
    );
    eprintln!("== after the cut\n{bfd_down}");
    eprintln!(
        "show: BGP Established after {t_bgp:?}; cut: BFD down after {:?}, BGP down after {:?}",
        t_bfd.min(cut.elapsed()),
        t_bgp_down.max(t_bfd)
    );
}
