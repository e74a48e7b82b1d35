//! The lab router with the netns realiser, driven through its VyOS HTTP
//! API as vxguard's driver drives a router: commits are validated against
//! vyos-1x's definitions, realised in namespaces, `/show bgp` answers from
//! FRR, a commit the realiser cannot build fails and changes nothing, and
//! a 1.5 commit-confirm that is not confirmed takes the host back.
//!
//! Needs root, wireguard-go and FRR; skipped with a message otherwise.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::router::{Options, Router};
use vyos_api::client::Client;
use vyos_api::wire::{ApiVersion, Configure, ConfigureCommand, ConfigureOp, Show};
use vyos_tree::ConfigTree;

const KEY: &str = "lab-test-key";

async fn serve(r: Router) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(r.serve(listener));
    Client::new(&format!("http://{addr}"), KEY, ApiVersion::V1_5).unwrap()
}

fn batch(tree: &ConfigTree, confirm_time: u32) -> Configure {
    Configure::Batch {
        commands: tree
            .commands()
            .into_iter()
            .map(|c| ConfigureCommand {
                op: ConfigureOp::Set,
                path: c.path,
                value: None,
            })
            .collect(),
        confirm_time,
    }
}

fn set(words: &[&str]) -> ConfigureCommand {
    ConfigureCommand {
        op: ConfigureOp::Set,
        path: words.iter().map(|w| w.to_string()).collect(),
        value: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_through_the_api_are_realised() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED commits_through_the_api_are_realised: {why}");
        return;
    }
    let tag = std::process::id() % 100;
    let dir = std::env::temp_dir().join(format!("vxguard-api-test-{}", std::process::id()));
    let mut lab = Lab {
        children: Vec::new(),
        realisers: Vec::new(),
        namespaces: Vec::new(),
        run_dir: dir.clone(),
    };
    let [ra, rb, ha, hb] = ["ra", "rb", "ha", "hb"].map(|n| format!("vxa{tag}-{n}"));
    for ns in [&ra, &rb, &ha, &hb] {
        lab.netns(ns);
    }
    underlay(&ra, &rb);
    lab.namespaces.push(format!("{ra}-acme"));
    lab.namespaces.push(format!("{rb}-acme"));
    let defs = Arc::new(vxguard_lab::builtin_defs(ApiVersion::V1_5));
    let (ka, pa) = keypair();
    let (kb, pb) = keypair();
    let mut clients = Vec::new();
    for (ns, id, sub) in [(&ra, format!("f{tag}"), "a"), (&rb, format!("g{tag}"), "b")] {
        let state = dir.join(sub);
        let re = Arc::new(NetnsRealiser::new(ns, &id, &state.join("run")).unwrap());
        lab.realisers.push(re.clone());
        let router = Router::open(
            Options {
                key: KEY.into(),
                version: ApiVersion::V1_5,
                state_dir: state,
                minute: Duration::from_secs(1),
                commit_delay: Duration::ZERO,
            },
            defs.clone(),
            re,
        )
        .unwrap();
        clients.push(serve(router).await);
    }
    let (ida, idb) = (format!("f{tag}"), format!("g{tag}"));
    let ca = evpn_config(1, 2, &ka, &pb);
    let cb = evpn_config(2, 1, &kb, &pa);

    let t = Instant::now();
    for (c, cfg) in [(&clients[0], &ca), (&clients[1], &cb)] {
        let a = c.configure(&batch(cfg, 0)).await.unwrap();
        assert!(a.ok(), "commit refused: {:?}", a.error());
    }
    let committed = t.elapsed();
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

    // `/show bgp` answers from FRR (vtysh's text): the driver's health check.
    let show = Show {
        path: vec!["bgp".into(), "summary".into()],
    };
    let t = Instant::now();
    loop {
        let a = clients[0].show(&show).await.unwrap();
        let text = a.envelope.data.as_str().unwrap_or_default().to_string();
        // FRR's own text: an Established session shows its prefix count.
        if vxguard_health::parse::bgp_summary(&text)
            .iter()
            .any(|p| p.neighbor == "172.27.0.2" && p.established())
        {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no session: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let established = t.elapsed();
    let ping = tokio::task::spawn_blocking({
        let ha = ha.clone();
        move || first_reply(&ha, "100.66.0.11", Duration::from_secs(20))
    })
    .await
    .unwrap();
    ping.expect("hosts never reached each other after commits through the API");

    // A commit the definitions accept but the realiser cannot build (a
    // 16-character Linux name) fails, and nothing of it is built.
    let long = Configure::Batch {
        commands: vec![
            set(&["interfaces", "vxlan", "vxlan123456789", "vni", "4242"]),
            set(&[
                "interfaces",
                "vxlan",
                "vxlan123456789",
                "source-address",
                "172.27.0.1",
            ]),
        ],
        confirm_time: 0,
    };
    let a = clients[0].configure(&long).await.unwrap();
    assert_eq!(a.status, 400, "{:?}", a.envelope);
    assert!(
        a.error().unwrap_or_default().contains("longer than 15"),
        "{:?}",
        a.error()
    );

    // 1.5 commit-confirm, never confirmed: the bridge it adds is built,
    // then removed when the timer (1 minute = 1 s here) reverts.
    let extra = Configure::Batch {
        commands: vec![set(&[
            "interfaces",
            "bridge",
            "br77",
            "address",
            "192.0.2.1/24",
        ])],
        confirm_time: 1,
    };
    let a = clients[0].configure(&extra).await.unwrap();
    assert!(a.ok(), "{:?}", a.error());
    let br77 = format!("{ida}br77");
    assert!(
        sh(&["ip", "-n", &ra, "link", "show", &br77]).is_ok(),
        "br77 not built"
    );
    let t = Instant::now();
    while sh(&["ip", "-n", &ra, "link", "show", &br77]).is_ok() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "commit-confirm never reverted the host"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "api: two commits realised in {committed:?}, session Established after {established:?}, \
         revert removed br77 {:?} after its check",
        t.elapsed()
    );
}
