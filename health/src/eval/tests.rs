//! Each rule, made to pass and to fail.

use super::*;
use crate::expect::{expected, ClientExpect, GroupExpect, HypervisorExpect, PeerExpect};
use crate::parse::VrrpGroup;

const NOW: i64 = 1_000_000;
const K_R2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const K_HV: &str = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";
const K_LAPTOP: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

/// r1 and r2 (dc1) peer each other and hv1; acme's `web` has both as
/// gateways; acme's `laptop` connects to r1's wg7.
fn world() -> Expected {
    let router =
        |name: &str, other: &str, addr: [u8; 4], other_key: &str, ifs: Vec<String>| RouterExpect {
            name: name.into(),
            site: "dc1".into(),
            bgp: vec![(other.into(), addr.into())],
            mesh_interface: "wg0".into(),
            mesh_peers: vec![
                PeerExpect {
                    name: "hv1".into(),
                    kind: "hypervisor",
                    public_key: K_HV.into(),
                },
                PeerExpect {
                    name: other.into(),
                    kind: "router",
                    public_key: other_key.into(),
                },
            ],
            client_interfaces: ifs,
        };
    Expected {
        routers: vec![
            router("r1", "r2", [172, 27, 0, 2], K_R2, vec!["wg7".into()]),
            router("r2", "r1", [172, 27, 0, 1], "", vec![]),
        ],
        hypervisors: vec![HypervisorExpect {
            name: "hv1".into(),
            site: "dc1".into(),
        }],
        groups: vec![GroupExpect {
            tenant: "acme".into(),
            network: "web".into(),
            site: "dc1".into(),
            group: "acme-web".into(),
            gateways: vec!["r1".into(), "r2".into()],
        }],
        clients: vec![ClientExpect {
            tenant: "acme".into(),
            name: "laptop".into(),
            router: "r1".into(),
            interface: "wg7".into(),
            public_key: K_LAPTOP.into(),
        }],
    }
}

fn bgp(addr: &str, state: &str, up_down: Option<u64>) -> BgpPeer {
    BgpPeer {
        neighbor: addr.into(),
        state: state.into(),
        up_down_secs: up_down,
        prefixes: (state == "Established").then_some(3),
    }
}

fn wg(key: &str, age: Option<u64>) -> WgPeerState {
    WgPeerState {
        public_key: key.into(),
        handshake_age_secs: age,
        rx_bytes: Some(100),
        tx_bytes: Some(200),
        ..Default::default()
    }
}

fn vrrp(state: &str) -> Vrrp {
    Vrrp::Groups(vec![VrrpGroup {
        name: "acme-web".into(),
        interface: "br10".into(),
        vrid: 10,
        state: state.into(),
        priority: Some(200),
    }])
}

/// Healthy answers for r1 (master) and r2 (backup).
fn healthy() -> BTreeMap<String, Seen> {
    let mem = Memory {
        total_bytes: 1000,
        free_bytes: 600,
        used_bytes: 400,
    };
    let r1 = Answers {
        at: None,
        bgp: Ok(vec![bgp("172.27.0.2", "Established", Some(100))]),
        vrrp: Ok(vrrp("MASTER")),
        wireguard: [
            (
                "wg0".to_string(),
                Ok(vec![wg(K_R2, Some(20)), wg(K_HV, Some(30))]),
            ),
            ("wg7".to_string(), Ok(vec![wg(K_LAPTOP, Some(5))])),
        ]
        .into(),
        memory: Ok(mem),
    };
    let mut r2 = r1.clone();
    r2.bgp = Ok(vec![bgp("172.27.0.1", "Established", Some(100))]);
    r2.vrrp = Ok(vrrp("BACKUP"));
    // r2's view of r1: named (1.5 prints names; r1's key is unknown here).
    let mut by_name = wg("", Some(20));
    by_name.name = Some("r1".into());
    r2.wireguard = [("wg0".to_string(), Ok(vec![by_name, wg(K_HV, Some(40))]))].into();
    [
        ("r1".to_string(), Seen::Answered(r1)),
        ("r2".to_string(), Seen::Answered(r2)),
    ]
    .into()
}

fn applied_all() -> BTreeMap<String, Record> {
    ["r1", "r2", "hv1"]
        .into_iter()
        .map(|n| {
            (
                n.to_string(),
                Record {
                    applied: true,
                    api_key_since: Some(NOW - 3600),
                    ..Default::default()
                },
            )
        })
        .collect()
}

fn run(
    seen: &BTreeMap<String, Seen>,
    records: &BTreeMap<String, Record>,
    previous: &BTreeMap<String, i64>,
) -> BTreeMap<String, Item> {
    run_with(seen, records, &|k| {
        previous.get(k).map(|&t| Previous {
            bad_since: Some(t),
            at: None,
        })
    })
}

fn run_with(
    seen: &BTreeMap<String, Seen>,
    records: &BTreeMap<String, Record>,
    previous: PreviousOf<'_>,
) -> BTreeMap<String, Item> {
    let e = world();
    evaluate(&Round {
        expected: &e,
        seen,
        records,
        previous,
        now: NOW,
        rules: Rules::default(),
    })
    .into_iter()
    .map(|i| (i.key.clone(), i))
    .collect()
}

fn r1(seen: &mut BTreeMap<String, Seen>) -> &mut Answers {
    match seen.get_mut("r1") {
        Some(Seen::Answered(a)) => a,
        _ => unreachable!(),
    }
}

#[test]
fn all_healthy_is_all_ok() {
    let items = run(&healthy(), &applied_all(), &BTreeMap::new());
    assert_eq!(items.len(), 2 + 2 + 4 + 1 + 1 + 1);
    for i in items.values() {
        assert_eq!(i.status, Status::Ok, "{i:?}");
        assert_eq!(i.bad_since, None);
        assert_eq!(i.detail, None, "{i:?}");
    }
    assert_eq!(items["vrrp:acme:web:dc1"].reason, "master r1");
    assert_eq!(items["client:acme:laptop"].reason, "connected");
    assert_eq!(items["client:acme:laptop"].facts["connected"], true);
    assert_eq!(
        items["wireguard:r2:r1"].reason,
        "latest handshake within 180 s"
    );
    // Times, not ages: the handshake 20 s before now.
    assert_eq!(items["wireguard:r2:r1"].facts["handshake_at"], NOW - 20);
    assert_eq!(items["bgp:r1:r2"].facts["state_since"], NOW - 100);
    assert_eq!(items["router:r1"].facts["api_key_since"], NOW - 3600);
    assert_eq!(items["router:r1"].facts["memory_used_bytes"], 400);
}

#[test]
fn bgp_not_established_is_degraded_then_down_after_30_s() {
    let mut seen = healthy();
    r1(&mut seen).bgp = Ok(vec![bgp("172.27.0.2", "Active", None)]);
    let items = run(&seen, &applied_all(), &BTreeMap::new());
    let i = &items["bgp:r1:r2"];
    assert_eq!(i.status, Status::Degraded);
    assert_eq!(i.reason, "not Established (Active)");
    assert_eq!(i.bad_since, Some(NOW));
    // Seen down since 29 s: still degraded; since 30 s: down.
    let prev = [("bgp:r1:r2".to_string(), NOW - 29)].into();
    assert_eq!(
        run(&seen, &applied_all(), &prev)["bgp:r1:r2"].status,
        Status::Degraded
    );
    let prev = [("bgp:r1:r2".to_string(), NOW - 30)].into();
    let i = &run(&seen, &applied_all(), &prev)["bgp:r1:r2"];
    assert_eq!(i.status, Status::Down);
    assert_eq!(i.reason, "not Established (Active) for over 30 s");
    assert_eq!(i.bad_since, Some(NOW - 30));
    // FRR's Up/Down says it has been down 5 minutes: down at first sight.
    r1(&mut seen).bgp = Ok(vec![bgp("172.27.0.2", "Connect", Some(300))]);
    let i = &run(&seen, &applied_all(), &BTreeMap::new())["bgp:r1:r2"];
    assert_eq!(i.status, Status::Down);
    // Missing from the table altogether.
    r1(&mut seen).bgp = Ok(vec![]);
    let prev = [("bgp:r1:r2".to_string(), NOW - 60)].into();
    let i = &run(&seen, &applied_all(), &prev)["bgp:r1:r2"];
    assert_eq!(i.reason, "not Established (not configured) for over 30 s");
    // Not expected before the peer has a revision applied.
    let mut rec = applied_all();
    rec.get_mut("r2").unwrap().applied = false;
    assert_eq!(run(&seen, &rec, &prev)["bgp:r1:r2"].status, Status::Ok);
}

#[test]
fn stale_or_missing_handshakes_are_down() {
    let mut seen = healthy();
    r1(&mut seen)
        .wireguard
        .insert("wg0".into(), Ok(vec![wg(K_R2, Some(181)), wg(K_HV, None)]));
    let items = run(&seen, &applied_all(), &BTreeMap::new());
    assert_eq!(items["wireguard:r1:r2"].status, Status::Down);
    assert_eq!(
        items["wireguard:r1:r2"].reason,
        "latest handshake over 180 s ago"
    );
    assert_eq!(items["wireguard:r1:hv1"].status, Status::Down);
    assert_eq!(items["wireguard:r1:hv1"].reason, "no handshake yet");
    // 180 s is still fine.
    r1(&mut seen)
        .wireguard
        .insert("wg0".into(), Ok(vec![wg(K_R2, Some(180))]));
    let items = run(&seen, &applied_all(), &BTreeMap::new());
    assert_eq!(items["wireguard:r1:r2"].status, Status::Ok);
    assert_eq!(items["wireguard:r1:hv1"].reason, "the peer is not on wg0");
    // The show failing is degraded, with the error for operators only.
    r1(&mut seen)
        .wireguard
        .insert("wg0".into(), Err("400: boom".into()));
    let i = &run(&seen, &applied_all(), &BTreeMap::new())["wireguard:r1:r2"];
    assert_eq!(i.status, Status::Degraded);
    assert_eq!(i.detail.as_deref(), Some("400: boom"));
}

#[test]
fn a_group_needs_exactly_one_master() {
    let mut seen = healthy();
    r1(&mut seen).vrrp = Ok(vrrp("BACKUP"));
    let items = run(&seen, &applied_all(), &BTreeMap::new());
    let g = &items["vrrp:acme:web:dc1"];
    assert_eq!(g.status, Status::Down);
    assert_eq!(g.reason, "no master (r1 BACKUP, r2 BACKUP)");
    r1(&mut seen).vrrp = Ok(vrrp("MASTER"));
    if let Some(Seen::Answered(a)) = seen.get_mut("r2") {
        a.vrrp = Ok(vrrp("MASTER"));
    }
    let g = &run(&seen, &applied_all(), &BTreeMap::new())["vrrp:acme:web:dc1"];
    assert_eq!(g.status, Status::Down);
    assert_eq!(g.reason, "2 masters (split brain): r1, r2");
    // One master, the other gateway dead: degraded, no error text in the
    // reason (the tenant reads it), the error in the detail.
    seen.insert(
        "r2".into(),
        Seen::Unreachable("connect to 10.0.0.2:443: refused".into()),
    );
    let g = &run(&seen, &applied_all(), &BTreeMap::new())["vrrp:acme:web:dc1"];
    assert_eq!(g.status, Status::Degraded);
    assert_eq!(
        g.reason,
        "master r1, but no backup ready (r1 MASTER, r2 unknown (does not answer))"
    );
    assert!(!g.reason.contains("10.0.0.2"));
    assert!(g.detail.as_deref().unwrap().contains("10.0.0.2"));
    // keepalived not running anywhere: no master.
    r1(&mut seen).vrrp = Ok(Vrrp::NotRunning);
    let g = &run(&seen, &applied_all(), &BTreeMap::new())["vrrp:acme:web:dc1"];
    assert_eq!(g.status, Status::Down);
    assert!(
        g.reason.starts_with("no master (r1 not running"),
        "{}",
        g.reason
    );
}

#[test]
fn router_rules_each_degrade_or_down() {
    let mut seen = healthy();
    let mut rec = applied_all();
    seen.insert("r2".into(), Seen::Unreachable("timed out after 5 s".into()));
    let items = run(&seen, &rec, &BTreeMap::new());
    let r2 = &items["router:r2"];
    assert_eq!(r2.status, Status::Down);
    assert_eq!(r2.reason, "does not answer");
    assert_eq!(r2.detail.as_deref(), Some("timed out after 5 s"));
    assert_eq!(items["bgp:r2:r1"].status, Status::Down);
    assert_eq!(items["wireguard:r2:r1"].reason, "r2 does not answer");
    // r1 still collected.
    assert_eq!(items["router:r1"].status, Status::Ok);

    let r1rec = rec.get_mut("r1").unwrap();
    r1rec.apply_failed = Some("commit failed: secret".into());
    r1rec.drift = Some("-a\n+b\n".into());
    r1rec.api_key_since = Some(NOW - 9 * 86_400 - 1);
    r1(&mut seen).memory = Ok(Memory {
        total_bytes: 100,
        free_bytes: 5,
        used_bytes: 95,
    });
    let i = &run(&seen, &rec, &BTreeMap::new())["router:r1"];
    assert_eq!(i.status, Status::Degraded);
    assert_eq!(
        i.reason,
        "memory 95 % used; the last apply failed; the running configuration drifted from its revision (2 lines); its API key is over 777600 s old (rotation interval plus grace)"
    );
    assert_eq!(i.detail.as_deref(), Some("apply: commit failed: secret"));
    // A key exactly at the limit is fine; no schedule, no limit.
    let r1rec = rec.get_mut("r1").unwrap();
    *r1rec = Record {
        applied: true,
        api_key_since: Some(NOW - 9 * 86_400),
        ..Default::default()
    };
    r1(&mut seen).memory = Ok(Memory {
        total_bytes: 100,
        free_bytes: 11,
        used_bytes: 89,
    });
    assert_eq!(
        run(&seen, &rec, &BTreeMap::new())["router:r1"].status,
        Status::Ok
    );
    // The previous bad_since is kept while it stays bad.
    let prev = [("router:r2".to_string(), NOW - 500)].into();
    assert_eq!(
        run(&seen, &rec, &prev)["router:r2"].bad_since,
        Some(NOW - 500)
    );
}

#[test]
fn clients_are_ok_connected_or_not_and_down_when_missing() {
    let mut seen = healthy();
    r1(&mut seen)
        .wireguard
        .insert("wg7".into(), Ok(vec![wg(K_LAPTOP, Some(600))]));
    let c = &run(&seen, &applied_all(), &BTreeMap::new())["client:acme:laptop"];
    assert_eq!(c.status, Status::Ok);
    assert_eq!(c.reason, "not connected (no handshake in 180 s)");
    assert_eq!(c.facts["connected"], false);
    r1(&mut seen).wireguard.insert("wg7".into(), Ok(vec![]));
    let c = &run(&seen, &applied_all(), &BTreeMap::new())["client:acme:laptop"];
    assert_eq!(c.status, Status::Down);
    assert_eq!(c.reason, "not configured on its gateway r1");
    seen.insert("r1".into(), Seen::Unreachable("tls: bad pin".into()));
    let c = &run(&seen, &applied_all(), &BTreeMap::new())["client:acme:laptop"];
    assert_eq!(c.status, Status::Down);
    assert_eq!(c.reason, "its gateway r1 does not answer");
    assert!(!serde_json::to_string(&c.facts).unwrap().contains("tls"));
}

#[test]
fn hypervisors_report_their_last_apply() {
    let mut rec = applied_all();
    rec.get_mut("hv1").unwrap().apply_failed = Some("ovs-ofctl: refused".into());
    let h = &run(&healthy(), &rec, &BTreeMap::new())["hypervisor:hv1"];
    assert_eq!(h.status, Status::Degraded);
    assert_eq!(h.reason, "the last apply failed");
}

#[test]
fn expectations_from_the_demo_intent() {
    let text = include_str!("../../../examples/two-dc.yaml");
    let (intent, _) = vxguard_compiler::intent::yaml::parse_intent(text).expect("parses");
    let mut d = vxguard_compiler::diag::Diagnostics::default();
    let alloc = vxguard_compiler::alloc::allocate(&intent, &Default::default(), &mut d);
    let e = expected(&intent, &alloc, &BTreeMap::new());
    let n = intent.platform.routers.len();
    assert_eq!(e.routers.len(), n);
    // The mesh is watched on the slot that carries traffic.
    let mut switched = alloc.clone();
    switched.mesh = switched.mesh.switched();
    let on_b = expected(&intent, &switched, &BTreeMap::new());
    for (a, b) in e.routers.iter().zip(&on_b.routers) {
        assert_eq!(
            (a.mesh_interface.as_str(), b.mesh_interface.as_str()),
            ("wg0", "wg65536")
        );
    }
    for r in &e.routers {
        assert_eq!(r.bgp.len(), n - 1);
        assert_eq!(
            r.mesh_peers.len(),
            n - 1 + intent.platform.hypervisors.len()
        );
    }
    let groups: usize = intent
        .tenants
        .iter()
        .flat_map(|t| &t.networks)
        .map(|n| n.sites.len())
        .sum();
    assert_eq!(e.groups.len(), groups);
    assert!(e
        .groups
        .iter()
        .all(|g| g.group == format!("{}-{}", g.tenant, g.network)));
    let clients: usize = intent.tenants.iter().map(|t| t.clients.len()).sum();
    assert_eq!(e.clients.len(), clients);
    for c in &e.clients {
        let r = e.routers.iter().find(|r| r.name == c.router).unwrap();
        assert!(r.client_interfaces.contains(&c.interface));
    }
}

/// The facts `/metrics` reads: whether a router answered, whether a link
/// or group is expected up, whether a peer list was read at all.
#[test]
fn facts_say_what_was_observed_and_what_is_expected() {
    let mut seen = healthy();
    let items = run(&seen, &applied_all(), &BTreeMap::new());
    assert_eq!(items["router:r1"].facts["answered"], true);
    assert_eq!(items["bgp:r1:r2"].facts["expected"], true);
    assert_eq!(items["wireguard:r1:r2"].facts["expected"], true);
    assert_eq!(items["wireguard:r1:r2"].facts["observed"], true);
    assert_eq!(items["vrrp:acme:web:dc1"].facts["expected"], true);
    assert_eq!(
        items["vrrp:acme:web:dc1"].facts["master"],
        serde_json::json!(["r1"])
    );
    // r2 not applied: its links are not expected up, hv1's peer on r1 is.
    let mut rec = applied_all();
    rec.get_mut("r2").unwrap().applied = false;
    let items = run(&seen, &rec, &BTreeMap::new());
    assert_eq!(items["bgp:r1:r2"].facts["expected"], false);
    assert_eq!(items["wireguard:r1:r2"].facts["expected"], false);
    assert_eq!(items["wireguard:r1:hv1"].facts["expected"], true);
    // No gateway applied and no master: the group is not expected yet.
    let mut none = applied_all();
    for r in ["r1", "r2"] {
        none.get_mut(r).unwrap().applied = false;
    }
    r1(&mut seen).vrrp = Ok(vrrp("BACKUP"));
    let items = run(&seen, &none, &BTreeMap::new());
    assert_eq!(items["vrrp:acme:web:dc1"].facts["expected"], false);
    // r1 dead: not answered, its peer lists unread.
    seen.insert("r1".into(), Seen::Unreachable("timeout".into()));
    let items = run(&seen, &applied_all(), &BTreeMap::new());
    assert_eq!(items["router:r1"].facts["answered"], false);
    assert_eq!(items["wireguard:r1:r2"].facts["observed"], false);
    assert_eq!(items["bgp:r1:r2"].facts["state"], "unknown");
}

/// A round later with nothing changed on the devices, the items are the
/// same: ages read a little later (the text's second, the time to ask, FRR's
/// minutes after a day) keep the previous round's time, so the store has
/// nothing to write. A real change (a new handshake, a flap) moves it.
#[test]
fn an_unchanged_network_evaluates_to_the_same_items() {
    let first = run(&healthy(), &applied_all(), &BTreeMap::new());
    let prev = |k: &str| {
        first.get(k).map(|i| Previous {
            bad_since: i.bad_since,
            at: observed_time(&i.facts),
        })
    };
    // 30 s later, every age read 31-33 s older (one more in the text's
    // rounding, one to ask): each time within the tolerance.
    let mut later = healthy();
    for a in later.values_mut() {
        if let Seen::Answered(a) = a {
            a.at = Some(NOW + 30);
            for p in a.bgp.as_mut().unwrap() {
                p.up_down_secs = p.up_down_secs.map(|s| s + 33);
            }
            for peers in a.wireguard.values_mut() {
                for p in peers.as_mut().unwrap() {
                    p.handshake_age_secs = p.handshake_age_secs.map(|s| s + 31);
                }
            }
        }
    }
    let e = world();
    let second: BTreeMap<String, Item> = evaluate(&Round {
        expected: &e,
        seen: &later,
        records: &applied_all(),
        previous: &prev,
        now: NOW + 30,
        rules: Rules::default(),
    })
    .into_iter()
    .map(|i| (i.key.clone(), i))
    .collect();
    assert_eq!(first, second);
    // A session up for 9 days reads in minutes: 2 minutes off is the same.
    let mut seen = healthy();
    r1(&mut seen).bgp = Ok(vec![bgp("172.27.0.2", "Established", Some(9 * 86_400))]);
    let a = run(&seen, &applied_all(), &BTreeMap::new());
    r1(&mut seen).bgp = Ok(vec![bgp(
        "172.27.0.2",
        "Established",
        Some(9 * 86_400 + 120),
    )]);
    let at = observed_time(&a["bgp:r1:r2"].facts);
    let b = run_with(&seen, &applied_all(), &|k| {
        (k == "bgp:r1:r2").then_some(Previous {
            bad_since: None,
            at,
        })
    });
    assert_eq!(b["bgp:r1:r2"].facts, a["bgp:r1:r2"].facts);
    // A new handshake 100 s later is a change.
    let mut seen = healthy();
    let hs = |seen: &mut BTreeMap<String, Seen>, age| {
        r1(seen)
            .wireguard
            .insert("wg7".into(), Ok(vec![wg(K_LAPTOP, Some(age))]));
    };
    hs(&mut seen, 105);
    let a = run(&seen, &applied_all(), &BTreeMap::new());
    hs(&mut seen, 5);
    let at = observed_time(&a["client:acme:laptop"].facts);
    assert_eq!(at, Some(NOW - 105));
    let b = run_with(&seen, &applied_all(), &|_| {
        Some(Previous {
            bad_since: None,
            at,
        })
    });
    assert_eq!(b["client:acme:laptop"].facts["handshake_at"], NOW - 5);
}
