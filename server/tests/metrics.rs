//! `GET /metrics` (issue 18, item 3, the first part): vxguard's own metrics
//! in the OpenMetrics text format, wired as `vxguard serve` wires them.

mod harness;

use axum::http::{Method, StatusCode};
use harness::Env;
use std::collections::BTreeMap;
use vxguard::metrics::Metrics;

/// The demo behind the portal's router, instrumented, with `/metrics`.
async fn env_with_metrics(token: Option<&str>) -> Env {
    let mut e = Env::demo().await;
    let m = Metrics::new(token.map(String::from));
    e.app = m
        .instrument(vxguard::portal::app(e.st.clone(), "does-not-exist".into()))
        .merge(m.routes(e.db.clone()));
    e
}

/// The value of the one sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn requests_jobs_and_keys_are_counted_by_route_never_by_tenant() {
    let e = env_with_metrics(None).await;
    let t = e.token("acme-admin@example.com").await;
    for _ in 0..3 {
        let r = e.get("/api/v1/tenants/acme/networks", &t).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = e.get("/api/v1/tenants/finance/networks", &t).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.headers
    );
    let m = &r.text;
    assert!(m.ends_with("# EOF\n"), "{m}");
    let route = r#"route="/api/v1/tenants/{tenant}/networks""#;
    assert_eq!(
        sample(
            m,
            &format!(r#"vxguard_http_requests_total{{method="GET",{route},status="200"}}"#)
        ),
        Some(3.0),
        "{m}"
    );
    let refused = m
        .lines()
        .filter(|l| l.starts_with("vxguard_http_requests_total") && l.contains(route))
        .filter(|l| !l.contains(r#"status="200""#))
        .count();
    assert_eq!(refused, 1, "the refused request, under its own status: {m}");
    assert_eq!(
        sample(
            m,
            &format!(r#"vxguard_http_request_duration_seconds_count{{method="GET",{route}}}"#)
        ),
        Some(4.0),
        "{m}"
    );
    // No tenant's name (nor any path a caller chose) in a label.
    for slug in ["acme", "finance", "globex"] {
        assert!(
            !m.lines()
                .filter(|l| l.starts_with("vxguard_http"))
                .any(|l| l.contains(slug)),
            "{slug} in a label: {m}"
        );
    }
    // The demo's first job is queued; every router's API key has an age.
    assert_eq!(
        sample(m, r#"vxguard_jobs{status="queued"}"#),
        Some(1.0),
        "{m}"
    );
    assert!(
        sample(m, "vxguard_job_queue_oldest_seconds").is_some(),
        "{m}"
    );
    let ages = m
        .lines()
        .filter(|l| l.starts_with("vxguard_router_api_key_age_seconds{"))
        .count();
    assert_eq!(ages, 4, "{m}");
    e.drain().await;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    // Compiled, not applied (no --apply here): every device pending.
    let states: Vec<&str> = r
        .text
        .lines()
        .filter(|l| l.starts_with("vxguard_device_state{"))
        .collect();
    assert_eq!(states.len(), 6, "{states:?}");
    assert!(
        states.contains(
            &r#"vxguard_device_state{kind="router",device="vyos-dc1-01",state="pending"} 1"#
        ),
        "{states:?}"
    );
    assert_eq!(sample(&r.text, r#"vxguard_jobs{status="done"}"#), Some(1.0));
    assert_eq!(sample(&r.text, r#"vxguard_jobs{status="queued"}"#), None);
    assert_eq!(
        sample(&r.text, "vxguard_job_queue_oldest_seconds"),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_metrics_token_is_required_when_set() {
    let e = env_with_metrics(Some("s3cret-scrape")).await;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = e
        .call(Method::GET, "/metrics", Some("s3cret-scrapf"), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = e
        .call(Method::GET, "/metrics", Some("s3cret-scrape"), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("# TYPE vxguard_jobs gauge"), "{}", r.text);
}

mod devices {
    //! The collected device series (issue 18, item 3): a health round
    //! evaluated by `vxguard-health` from made-up router answers (the
    //! facts exactly as the collector writes them), stored, scraped.

    use std::collections::BTreeMap;
    use vxguard_health::eval::{evaluate, Answers, Record, Round, Rules, Seen};
    use vxguard_health::expect::{
        ClientExpect, Expected, GroupExpect, HypervisorExpect, PeerExpect, RouterExpect,
    };
    use vxguard_health::parse::{BgpPeer, Memory, Vrrp, VrrpGroup, WgPeerState};

    fn key(n: &str) -> String {
        format!("{n:=<43}=")
    }

    fn router(name: &str, site: &str, bgp: &[(&str, [u8; 4])], mesh: &[&str]) -> RouterExpect {
        RouterExpect {
            name: name.into(),
            site: site.into(),
            bgp: bgp
                .iter()
                .map(|(n, a)| (n.to_string(), (*a).into()))
                .collect(),
            mesh_interface: "wg0".into(),
            mesh_peers: mesh
                .iter()
                .map(|p| PeerExpect {
                    name: p.to_string(),
                    kind: if p.starts_with("hv") {
                        "hypervisor"
                    } else {
                        "router"
                    },
                    public_key: key(p),
                })
                .collect(),
            client_interfaces: if name == "r-a" {
                vec!["wg5".into(), "wg6".into()]
            } else {
                vec![]
            },
        }
    }

    fn group(tenant: &str, network: &str, site: &str, gateways: &[&str]) -> GroupExpect {
        GroupExpect {
            tenant: tenant.into(),
            network: network.into(),
            site: site.into(),
            group: format!("{tenant}-{network}"),
            gateways: gateways.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn bgp(addr: &str, state: &str) -> BgpPeer {
        BgpPeer {
            neighbor: addr.into(),
            state: state.into(),
            up_down_secs: Some(300),
            prefixes: None,
        }
    }

    fn wg(peer: &str, age: Option<u64>) -> WgPeerState {
        WgPeerState {
            public_key: key(peer),
            handshake_age_secs: age,
            ..Default::default()
        }
    }

    fn vrrp(groups: &[(&str, &str)]) -> Result<Vrrp, String> {
        Ok(Vrrp::Groups(
            groups
                .iter()
                .map(|(name, state)| VrrpGroup {
                    name: name.to_string(),
                    interface: "br1".into(),
                    vrid: 1,
                    state: state.to_string(),
                    priority: None,
                })
                .collect(),
        ))
    }

    fn memory(used: u64) -> Result<Memory, String> {
        Ok(Memory {
            total_bytes: 1000,
            free_bytes: 1000 - used,
            used_bytes: used,
        })
    }

    /// r-a and r-b at dc1, r-c at dc2 (dead), hv1; r-d has no revision
    /// applied yet. acme's and globex's `app` have gateways r-a and r-b
    /// (globex's in split brain), finance's `web` r-c; acme's client `ops`
    /// is connected, finance's `cfo-laptop` is not.
    pub(super) async fn store_round(db: &sqlx::PgPool) {
        store_round_with(db, false).await;
    }

    /// [`store_round_counting`]'s first round.
    pub(super) async fn store_round_with(db: &sqlx::PgPool, stats: bool) {
        store_round_counting(db, stats, 1, vxguard_store::api_keys::unix_now()).await;
    }

    /// With `stats`, also the routers' vitals (BFD, counters, load) and
    /// the hypervisors' bridge statistics as the collector adds them: hv1
    /// answers with acme's and globex's ports and a meter, hv2 does not.
    /// Round `n` (evaluated at `now`) finds r-a's interface counters and
    /// load `n` times round 1's, all else alike.
    pub(super) async fn store_round_counting(
        db: &sqlx::PgPool,
        stats: bool,
        n: u64,
        now: i64,
    ) -> vxguard_store::health::Written {
        let a = [172, 27, 0, 1];
        let b = [172, 27, 0, 2];
        let c = [172, 27, 0, 3];
        let d = [172, 27, 0, 4];
        let expected = Expected {
            routers: vec![
                router(
                    "r-a",
                    "dc1",
                    &[("r-b", b), ("r-c", c), ("r-d", d)],
                    &["r-b", "r-c", "hv1"],
                ),
                router(
                    "r-b",
                    "dc1",
                    &[("r-a", a), ("r-c", c)],
                    &["r-a", "r-c", "hv1"],
                ),
                router("r-c", "dc2", &[("r-a", a), ("r-b", b)], &["r-a", "r-b"]),
            ],
            hypervisors: vec![HypervisorExpect {
                name: "hv1".into(),
                site: "dc1".into(),
            }],
            groups: vec![
                group("acme", "app", "dc1", &["r-a", "r-b"]),
                group("globex", "app", "dc1", &["r-a", "r-b"]),
                group("finance", "web", "dc2", &["r-c"]),
            ],
            clients: vec![
                ClientExpect {
                    tenant: "acme".into(),
                    name: "ops".into(),
                    router: "r-a".into(),
                    interface: "wg5".into(),
                    public_key: key("ops"),
                },
                ClientExpect {
                    tenant: "finance".into(),
                    name: "cfo-laptop".into(),
                    router: "r-a".into(),
                    interface: "wg6".into(),
                    public_key: key("cfo"),
                },
            ],
        };
        let seen: BTreeMap<String, Seen> = [
            (
                "r-a".to_string(),
                Seen::Answered(Answers {
                    at: None,
                    bgp: Ok(vec![
                        bgp("172.27.0.2", "Established"),
                        bgp("172.27.0.3", "Active"),
                        bgp("172.27.0.4", "Idle"),
                    ]),
                    vrrp: vrrp(&[("acme-app", "MASTER"), ("globex-app", "MASTER")]),
                    wireguard: [
                        (
                            "wg0".to_string(),
                            Ok(vec![wg("r-b", Some(20)), wg("hv1", None)]),
                        ),
                        ("wg5".to_string(), Ok(vec![wg("ops", Some(5))])),
                        ("wg6".to_string(), Ok(vec![wg("cfo", Some(500))])),
                    ]
                    .into(),
                    memory: memory(850),
                }),
            ),
            (
                "r-b".to_string(),
                Seen::Answered(Answers {
                    at: None,
                    bgp: Ok(vec![
                        bgp("172.27.0.1", "Established"),
                        bgp("172.27.0.3", "Established"),
                    ]),
                    vrrp: vrrp(&[("acme-app", "BACKUP"), ("globex-app", "MASTER")]),
                    wireguard: [(
                        "wg0".to_string(),
                        Ok(vec![
                            wg("r-a", Some(30)),
                            wg("r-c", Some(400)),
                            wg("hv1", Some(10)),
                        ]),
                    )]
                    .into(),
                    memory: memory(300),
                }),
            ),
            (
                "r-c".to_string(),
                Seen::Unreachable("connect: connection refused".into()),
            ),
        ]
        .into();
        let records: BTreeMap<String, Record> = ["r-a", "r-b", "r-c", "hv1", "r-d"]
            .into_iter()
            .map(|n| {
                (
                    n.to_string(),
                    Record {
                        applied: n != "r-d",
                        ..Default::default()
                    },
                )
            })
            .collect();
        let mut expected = expected;
        let mut records = records;
        if stats {
            expected.hypervisors.push(HypervisorExpect {
                name: "hv2".into(),
                site: "dc2".into(),
            });
            records.insert(
                "hv2".into(),
                Record {
                    applied: true,
                    ..Default::default()
                },
            );
        }
        let mut items = evaluate(&Round {
            expected: &expected,
            seen: &seen,
            records: &records,
            previous: &|_| None,
            now,
            rules: Rules::default(),
        });
        if stats {
            add_stats(&mut items, &expected, now, n);
        }
        let tx = vxguard_store::health::begin_round(db, 0.0)
            .await
            .unwrap()
            .expect("the round's lock");
        tx.finish(
            &items,
            vxguard_store::health::RoundStats {
                took_ms: 1234,
                routers: 3,
                answered: 2,
            },
        )
        .await
        .unwrap()
    }

    /// The routers' vitals and the hypervisors' bridge statistics, parsed
    /// from texts as the devices print them.
    fn add_stats(items: &mut [vxguard_health::Item], expected: &Expected, now: i64, n: u64) {
        use vxguard_health::ovs;
        use vxguard_health::parse::{BfdPeer, IfCounters, Load};
        use vxguard_health::vitals::{self, VitalRules, Vitals};
        let peer = |p: &str, status: &str| BfdPeer {
            peer: p.into(),
            local_address: None,
            vrf: None,
            interface: None,
            status: status.into(),
            since_secs: None,
            diagnostics: None,
        };
        let ifc = |name: &str, rx: u64, tx: u64| IfCounters {
            interface: name.into(),
            rx_packets: rx / 100,
            rx_bytes: rx,
            tx_packets: tx / 100,
            tx_bytes: tx,
            rx_dropped: 3,
            tx_dropped: 0,
            rx_errors: 1,
            tx_errors: 0,
        };
        let v: BTreeMap<String, Vitals> = [
            (
                "r-a".to_string(),
                Vitals {
                    // r-b's BFD up, r-c's down; r-d has none.
                    bfd: Ok(vec![peer("172.27.0.2", "up"), peer("172.27.0.3", "down")]),
                    interfaces: Ok(vec![
                        ifc("wg0", 5000 * n, 7000 * n),
                        ifc("eth0", 100 * n, 200 * n),
                    ]),
                    load: Ok(Load {
                        uptime_secs: Some(60),
                        one: 30.0,
                        five: 25.0 * n as f64,
                        fifteen: 20.0,
                    }),
                },
            ),
            (
                "r-b".to_string(),
                Vitals {
                    bfd: Err("show bfd peers answered 400: no BFD".into()),
                    interfaces: Err("not understood".into()),
                    load: Err("not understood".into()),
                },
            ),
        ]
        .into();
        vitals::apply(items, &v, expected, now, VitalRules::default());
        // As ovs-vswitchd 3.1 answers OpenFlow 1.3's port, flow and meter
        // statistics requests (`ovs-ofctl dump-ports`, `dump-flows`, `meter-stats`).
        let ports = r#"OFPST_PORT reply (OF1.3) (xid=0x2): 3 ports
  port  "acme-app1": rx pkts=10, bytes=1000, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=20, bytes=2000, drop=1, errs=0, coll=0
  port  "globex-app1": rx pkts=30, bytes=3000, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=40, bytes=4000, drop=0, errs=0, coll=0
  port  "vxg-tun": rx pkts=50, bytes=5000, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=60, bytes=6000, drop=?, errs=?, coll=?
"#;
        let flows = r#" cookie=0x0, duration=1s, table=0, n_packets=10, n_bytes=1000, priority=100,in_port="acme-app1" actions=meter:1,set_field:0x1->metadata,goto_table:20
 cookie=0x0, duration=1s, table=0, n_packets=30, n_bytes=3000, priority=100,in_port="globex-app1" actions=set_field:0x3->metadata,goto_table:20
 cookie=0x0, duration=1s, table=0, n_packets=0, n_bytes=0, priority=0 actions=drop
 cookie=0x0, duration=1s, table=20, n_packets=10, n_bytes=1000, priority=10,metadata=0x1 actions=group:20001
"#;
        let meters = "OFPST_METER reply (OF1.3) (xid=0x2):
meter:1 flow_count:1 packet_in_count:10 byte_in_count:1000 duration:1s bands:
0: packet_count:4 byte_count:400
";
        let answers: BTreeMap<String, Result<ovs::OvsStats, String>> = [
            (
                "hv1".to_string(),
                Ok(ovs::OvsStats {
                    ports: ovs::dump_ports(ports),
                    flows: ovs::dump_flows(flows),
                    meters: ovs::meter_stats(meters),
                }),
            ),
            (
                "hv2".to_string(),
                Err("`dump-ports` of tcp:192.0.2.9:6653: Connection refused".into()),
            ),
        ]
        .into();
        let owners = ovs::Owners {
            ports: [
                (("hv1", "acme-app1"), ("acme", "app")),
                (("hv1", "globex-app1"), ("globex", "app")),
            ]
            .into_iter()
            .map(|((h, p), (t, n))| ((h.into(), p.into()), (t.into(), n.into())))
            .collect(),
            tenants: [(1, "acme".to_string()), (3, "globex".to_string())].into(),
        };
        for i in items.iter_mut() {
            ovs::apply_item(i, &answers, &owners);
        }
    }
}

#[tokio::test]
async fn vitals_and_bridge_statistics_are_exported_with_their_labels() {
    let e = env_with_metrics(None).await;
    devices::store_round_with(&e.db, true).await;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let m = &r.text;
    let sorted = |name: &str| {
        let mut v = family(m, name);
        v.sort();
        v
    };
    // BFD of the sessions expected up that have one (r-a -> r-d: r-d has
    // no revision; r-b could not say).
    assert_eq!(
        sorted("vxguard_bfd_peer_up"),
        [
            r#"vxguard_bfd_peer_up{site="dc1",router="r-a",peer="r-b"} 1"#,
            r#"vxguard_bfd_peer_up{site="dc1",router="r-a",peer="r-c"} 0"#,
        ]
    );
    assert_eq!(
        sorted("vxguard_router_cpu_load_ratio"),
        [r#"vxguard_router_cpu_load_ratio{site="dc1",router="r-a"} 0.25"#]
    );
    assert_eq!(
        sorted("vxguard_router_interface_bytes_total"),
        [
            r#"vxguard_router_interface_bytes_total{site="dc1",router="r-a",interface="eth0",direction="rx"} 100"#,
            r#"vxguard_router_interface_bytes_total{site="dc1",router="r-a",interface="eth0",direction="tx"} 200"#,
            r#"vxguard_router_interface_bytes_total{site="dc1",router="r-a",interface="wg0",direction="rx"} 5000"#,
            r#"vxguard_router_interface_bytes_total{site="dc1",router="r-a",interface="wg0",direction="tx"} 7000"#,
        ]
    );
    assert_eq!(
        sample(
            m,
            r#"vxguard_router_interface_dropped_total{site="dc1",router="r-a",interface="wg0",direction="rx"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            m,
            r#"vxguard_router_interface_errors_total{site="dc1",router="r-a",interface="wg0",direction="rx"}"#
        ),
        Some(1.0)
    );
    // The bridges: hv1 answered, hv2 did not (and has no statistics).
    assert_eq!(
        sorted("vxguard_hypervisor_ovs_up"),
        [
            r#"vxguard_hypervisor_ovs_up{site="dc1",hypervisor="hv1"} 1"#,
            r#"vxguard_hypervisor_ovs_up{site="dc2",hypervisor="hv2"} 0"#,
        ]
    );
    assert!(!m.contains(r#"hypervisor="hv2",port"#), "{m}");
    assert_eq!(
        sorted("vxguard_ovs_port_bytes_total")
            .into_iter()
            .filter(|l| l.contains(r#"direction="rx""#))
            .collect::<Vec<_>>(),
        [
            r#"vxguard_ovs_port_bytes_total{site="dc1",hypervisor="hv1",port="acme-app1",tenant="acme",network="app",direction="rx"} 1000"#,
            r#"vxguard_ovs_port_bytes_total{site="dc1",hypervisor="hv1",port="globex-app1",tenant="globex",network="app",direction="rx"} 3000"#,
            r#"vxguard_ovs_port_bytes_total{site="dc1",hypervisor="hv1",port="vxg-tun",tenant="",network="",direction="rx"} 5000"#,
        ]
    );
    assert_eq!(
        sample(
            m,
            r#"vxguard_ovs_port_dropped_total{site="dc1",hypervisor="hv1",port="acme-app1",tenant="acme",network="app",direction="tx"}"#
        ),
        Some(1.0)
    );
    // The tunnel does not count drops: no series rather than a made-up 0.
    assert!(
        !m.contains(r#"vxguard_ovs_port_dropped_total{site="dc1",hypervisor="hv1",port="vxg-tun""#)
    );
    assert_eq!(
        sorted("vxguard_ovs_table_flows"),
        [
            r#"vxguard_ovs_table_flows{site="dc1",hypervisor="hv1",table="0"} 3"#,
            r#"vxguard_ovs_table_flows{site="dc1",hypervisor="hv1",table="20"} 1"#,
        ]
    );
    assert_eq!(
        sample(
            m,
            r#"vxguard_ovs_table_packets_total{site="dc1",hypervisor="hv1",table="0"}"#
        ),
        Some(40.0)
    );
    assert_eq!(
        sorted("vxguard_ovs_tenant_packets_total"),
        [
            r#"vxguard_ovs_tenant_packets_total{site="dc1",hypervisor="hv1",tenant="acme"} 20"#,
            r#"vxguard_ovs_tenant_packets_total{site="dc1",hypervisor="hv1",tenant="globex"} 30"#,
        ]
    );
    assert_eq!(
        sorted("vxguard_ovs_meter_dropped_packets_total"),
        [
            r#"vxguard_ovs_meter_dropped_packets_total{site="dc1",hypervisor="hv1",meter="1",port="acme-app1",tenant="acme",network="app"} 4"#,
        ]
    );
    // A tenant's label never sits on another tenant's port.
    for l in m.lines().filter(|l| l.starts_with("vxguard_ovs_")) {
        if l.contains(r#"tenant="acme""#) {
            assert!(!l.contains("globex"), "{l}");
        }
        if l.contains(r#"tenant="globex""#) {
            assert!(!l.contains("acme"), "{l}");
        }
    }
}

/// A router's counters and load are those of the latest round, not of
/// the round that last changed something else about it: a second round
/// where only r-a's counters and load moved is exported as such.
#[tokio::test]
async fn router_counters_and_load_are_the_latest_rounds() {
    let e = env_with_metrics(None).await;
    // One time for both rounds: an item not ok is dated by it.
    let now = vxguard_store::api_keys::unix_now();
    devices::store_round_counting(&e.db, true, 1, now).await;
    let wg0 = r#"vxguard_router_interface_bytes_total{site="dc1",router="r-a",interface="wg0",direction="rx"}"#;
    let cpu = r#"vxguard_router_cpu_load_ratio{site="dc1",router="r-a"}"#;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(sample(&r.text, wg0), Some(5000.0));
    assert_eq!(sample(&r.text, cpu), Some(0.25));
    let w = devices::store_round_counting(&e.db, true, 2, now).await;
    // r-a's item alone is written again; no status moved.
    assert_eq!((w.items, w.history, w.deleted), (1, 0, 0), "{w:?}");
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(sample(&r.text, wg0), Some(10000.0), "the second round's");
    assert_eq!(
        sample(
            &r.text,
            r#"vxguard_router_interface_bytes_total{site="dc1",router="r-a",interface="eth0",direction="tx"}"#
        ),
        Some(400.0)
    );
    assert_eq!(sample(&r.text, cpu), Some(0.5));
}

/// A scrape reads only the items that have series of their own (the
/// column `exported` PostgreSQL keeps from the facts, migration 0018) and
/// counts every item in SQL: at 200 routers with none answering that is
/// 220 items of ~130,000. What is left out: the dead r-c's sessions and
/// peers (not read), r-a's session to r-d (not expected up). An item
/// whose facts change is read from then on.
#[tokio::test]
async fn a_scrape_reads_only_the_items_with_series_and_counts_them_all() {
    let e = env_with_metrics(None).await;
    devices::store_round_with(&e.db, true).await;
    let mut read: Vec<String> = vxguard_store::metrics::health_series(&e.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    read.sort();
    assert_eq!(
        read,
        [
            "bgp:r-a:r-b",
            "bgp:r-a:r-c",
            "bgp:r-b:r-a",
            "bgp:r-b:r-c",
            "client:acme:ops",
            "client:finance:cfo-laptop",
            "hypervisor:hv1",
            "hypervisor:hv2",
            "router:r-a",
            "router:r-b",
            "router:r-c",
            "vrrp:acme:app:dc1",
            "vrrp:finance:web:dc2",
            "vrrp:globex:app:dc1",
            "wireguard:r-a:hv1",
            "wireguard:r-a:r-b",
            "wireguard:r-a:r-c",
            "wireguard:r-b:hv1",
            "wireguard:r-b:r-a",
            "wireguard:r-b:r-c",
        ]
    );
    let all: Vec<(String, String)> = sqlx::query_as("SELECT kind, status FROM health_items")
        .fetch_all(&e.db)
        .await
        .unwrap();
    assert!(all.len() > read.len() + 4, "{}", all.len());
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut counted = 0.0;
    for kind in ["router", "hypervisor", "bgp", "wireguard", "vrrp", "client"] {
        for status in ["ok", "degraded", "down"] {
            let n = all.iter().filter(|(k, s)| k == kind && s == status).count();
            let got = sample(
                &r.text,
                &format!(r#"vxguard_health_items{{kind="{kind}",status="{status}"}}"#),
            );
            assert_eq!(got, Some(n as f64), "{kind} {status}");
            counted += n as f64;
        }
    }
    assert_eq!(counted, all.len() as f64);
    let session = r#"vxguard_bgp_session_up{site="dc2",router="r-c",peer="r-a"}"#;
    assert_eq!(sample(&r.text, session), None, "r-c was not read");
    sqlx::query(
        "UPDATE health_items SET facts = facts || '{\"state\": \"Established\"}' \
         WHERE key = 'bgp:r-c:r-a'",
    )
    .execute(&e.db)
    .await
    .unwrap();
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(sample(&r.text, session), Some(1.0), "{}", r.text);
}

/// The lines of `/metrics` of one family (`name{` or `name `).
fn family<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let (a, b) = (format!("{name}{{"), format!("{name} "));
    text.lines()
        .filter(|l| l.starts_with(&a) || l.starts_with(&b))
        .collect()
}

#[tokio::test]
async fn collected_device_state_is_exported_with_site_router_and_tenant_labels() {
    let e = env_with_metrics(None).await;
    // `vxguard monitoring scrape-config --database`: the demo's two VyOS
    // 1.5 routers' exporters, on their mesh addresses.
    let (loaded, alloc) = vxguard_store::health::intent_and_allocation(&e.db)
        .await
        .unwrap();
    let targets = vxguard::monitoring_cmd::exporter_targets(&loaded.intent, &alloc);
    let names: Vec<(&str, &str)> = targets
        .iter()
        .map(|t| (t.name.as_str(), t.site.as_str()))
        .collect();
    assert_eq!(names, [("vyos-dc1-02", "dc1"), ("vyos-dc2-02", "dc2")]);
    assert_eq!(
        targets[0].address,
        alloc.routers["vyos-dc1-02"].mesh_address.to_string()
    );
    // Before any round: the families are there, empty.
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(family(&r.text, "vxguard_bgp_session_up").is_empty());
    assert!(family(&r.text, "vxguard_health_round_timestamp_seconds").is_empty());
    assert_eq!(
        sample(&r.text, r#"vxguard_health_items{kind="bgp",status="down"}"#),
        Some(0.0)
    );

    devices::store_round(&e.db).await;
    let now = vxguard_store::api_keys::unix_now() as f64;
    let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let m = &r.text;
    assert!(m.ends_with("# EOF\n"), "{m}");
    let sorted = |name: &str| {
        let mut v = family(m, name);
        v.sort();
        v
    };
    // The collector's last round.
    let at = sample(m, "vxguard_health_round_timestamp_seconds").unwrap();
    assert!((at - now).abs() < 30.0, "{at} vs {now}");
    assert_eq!(
        sample(m, "vxguard_health_round_duration_seconds"),
        Some(1.234)
    );
    assert_eq!(
        sample(m, "vxguard_health_round_routers_answered"),
        Some(2.0)
    );
    // Routers: r-c does not answer (and has no memory figure).
    assert_eq!(
        sorted("vxguard_router_up"),
        [
            r#"vxguard_router_up{site="dc1",router="r-a"} 1"#,
            r#"vxguard_router_up{site="dc1",router="r-b"} 1"#,
            r#"vxguard_router_up{site="dc2",router="r-c"} 0"#,
        ]
    );
    assert_eq!(
        sorted("vxguard_router_memory_used_ratio"),
        [
            r#"vxguard_router_memory_used_ratio{site="dc1",router="r-a"} 0.85"#,
            r#"vxguard_router_memory_used_ratio{site="dc1",router="r-b"} 0.3"#,
        ]
    );
    assert_eq!(
        sample(
            m,
            r#"vxguard_router_health_status{site="dc2",router="r-c"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            m,
            r#"vxguard_hypervisor_health_status{site="dc1",hypervisor="hv1"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(m, r#"vxguard_health_items{kind="router",status="down"}"#),
        Some(1.0)
    );
    // BGP: only sessions expected up and read. r-a -> r-d (no revision
    // applied at r-d) and the dead r-c's own sessions are not there.
    assert_eq!(
        sorted("vxguard_bgp_session_up"),
        [
            r#"vxguard_bgp_session_up{site="dc1",router="r-a",peer="r-b"} 1"#,
            r#"vxguard_bgp_session_up{site="dc1",router="r-a",peer="r-c"} 0"#,
            r#"vxguard_bgp_session_up{site="dc1",router="r-b",peer="r-a"} 1"#,
            r#"vxguard_bgp_session_up{site="dc1",router="r-b",peer="r-c"} 1"#,
        ]
    );
    // WireGuard: the latest handshake's time; 0 for never (hv1 on r-a)
    // and for a peer missing from wg0 (r-c on r-a).
    let hs = |router: &str, peer: &str| {
        sample(
            m,
            &format!(
                r#"vxguard_wireguard_latest_handshake_timestamp_seconds{{site="dc1",router="{router}",peer="{peer}"}}"#
            ),
        )
    };
    assert_eq!(
        family(m, "vxguard_wireguard_latest_handshake_timestamp_seconds").len(),
        6,
        "{m}"
    );
    for (router, peer, age) in [
        ("r-a", "r-b", 20.0),
        ("r-b", "r-a", 30.0),
        ("r-b", "r-c", 400.0),
    ] {
        let t = hs(router, peer).unwrap();
        assert!((now - age - t).abs() < 30.0, "{router}->{peer}: {t}");
    }
    assert_eq!(hs("r-a", "hv1"), Some(0.0));
    assert_eq!(hs("r-a", "r-c"), Some(0.0));
    // Gateway groups: masters counted, each gateway's part; finance's
    // only gateway is dead: no master, and no gateway series.
    assert_eq!(
        sorted("vxguard_vrrp_masters"),
        [
            r#"vxguard_vrrp_masters{tenant="acme",network="app",site="dc1"} 1"#,
            r#"vxguard_vrrp_masters{tenant="finance",network="web",site="dc2"} 0"#,
            r#"vxguard_vrrp_masters{tenant="globex",network="app",site="dc1"} 2"#,
        ]
    );
    // Backups ready and gateways per group (VxguardVrrpNoBackup): acme's
    // r-b backs r-a up; globex's two masters back nothing up; finance's
    // only gateway is dead.
    assert_eq!(
        sorted("vxguard_vrrp_backups"),
        [
            r#"vxguard_vrrp_backups{tenant="acme",network="app",site="dc1"} 1"#,
            r#"vxguard_vrrp_backups{tenant="finance",network="web",site="dc2"} 0"#,
            r#"vxguard_vrrp_backups{tenant="globex",network="app",site="dc1"} 0"#,
        ]
    );
    assert_eq!(
        sorted("vxguard_vrrp_gateways"),
        [
            r#"vxguard_vrrp_gateways{tenant="acme",network="app",site="dc1"} 2"#,
            r#"vxguard_vrrp_gateways{tenant="finance",network="web",site="dc2"} 1"#,
            r#"vxguard_vrrp_gateways{tenant="globex",network="app",site="dc1"} 2"#,
        ]
    );
    assert_eq!(
        sorted("vxguard_vrrp_gateway_master"),
        [
            r#"vxguard_vrrp_gateway_master{tenant="acme",network="app",site="dc1",router="r-a"} 1"#,
            r#"vxguard_vrrp_gateway_master{tenant="acme",network="app",site="dc1",router="r-b"} 0"#,
            r#"vxguard_vrrp_gateway_master{tenant="globex",network="app",site="dc1",router="r-a"} 1"#,
            r#"vxguard_vrrp_gateway_master{tenant="globex",network="app",site="dc1",router="r-b"} 1"#,
        ]
    );
    assert_eq!(
        sorted("vxguard_client_connected"),
        [
            r#"vxguard_client_connected{tenant="acme",client="ops"} 1"#,
            r#"vxguard_client_connected{tenant="finance",client="cfo-laptop"} 0"#,
        ]
    );
    // A tenant label carries only that tenant's own networks and clients;
    // platform series (routers, links) carry no tenant at all.
    let own: BTreeMap<&str, &[&str]> = [
        ("acme", &["network=\"app\"", "client=\"ops\""][..]),
        ("globex", &["network=\"app\""][..]),
        ("finance", &["network=\"web\"", "client=\"cfo-laptop\""][..]),
    ]
    .into();
    let mut tenant_lines = 0;
    for l in m.lines().filter(|l| l.contains("tenant=")) {
        tenant_lines += 1;
        let (tenant, allowed) = own
            .iter()
            .find(|(t, _)| l.contains(&format!("tenant=\"{t}\"")))
            .unwrap_or_else(|| panic!("an unknown tenant: {l}"));
        assert!(allowed.iter().any(|a| l.contains(a)), "{tenant}: {l}");
        for (other, theirs) in own.iter().filter(|(t, _)| *t != tenant) {
            for x in theirs.iter().filter(|x| !allowed.contains(x)) {
                assert!(!l.contains(x), "{other}'s {x} under {tenant}: {l}");
            }
        }
    }
    // Masters, backups and gateways per group, each gateway's part, clients.
    assert_eq!(tenant_lines, 3 + 3 + 3 + 4 + 2, "{m}");
    for platform in [
        "vxguard_router_",
        "vxguard_bgp_",
        "vxguard_wireguard_",
        "vxguard_hypervisor_",
    ] {
        assert!(
            !m.lines()
                .any(|l| l.starts_with(platform) && l.contains("tenant=")),
            "{platform}: {m}"
        );
    }
}

/// The size and cost of `/metrics` at 200 routers (the full mesh: 39 800
/// BGP sessions and 39 800 WireGuard peers) with 600 gateway groups and
/// 300 clients, every item evaluated by `vxguard-health` as the collector
/// would. Ignored by default (a figure, not a check of behaviour):
/// `cargo test -p vxguard --test metrics -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn scrape_at_200_routers() {
    use std::time::Instant;
    use vxguard_health::eval::{evaluate, Answers, Record, Round, Rules, Seen};
    use vxguard_health::expect::{ClientExpect, Expected, GroupExpect, PeerExpect, RouterExpect};
    use vxguard_health::parse::{BgpPeer, Memory, Vrrp, VrrpGroup, WgPeerState};

    const N: usize = 200;
    let e = env_with_metrics(None).await;
    let name = |i: usize| format!("r{i:03}");
    let site = |i: usize| format!("s{:02}", i / 2);
    let addr = |i: usize| std::net::Ipv4Addr::new(172, 27, (i / 250) as u8, (i % 250 + 1) as u8);
    let key = |i: usize| format!("{:=<43}=", name(i));
    let mut expected = Expected::default();
    for i in 0..N {
        let others = (0..N).filter(|j| *j != i);
        expected.routers.push(RouterExpect {
            name: name(i),
            site: site(i),
            bgp: others.clone().map(|j| (name(j), addr(j))).collect(),
            mesh_interface: "wg0".into(),
            mesh_peers: others
                .map(|j| PeerExpect {
                    name: name(j),
                    kind: "router",
                    public_key: key(j),
                })
                .collect(),
            client_interfaces: vec![],
        });
    }
    let tenants = ["acme", "finance", "globex"];
    for t in tenants {
        for n in 0..100 {
            for s in [0, 1] {
                expected.groups.push(GroupExpect {
                    tenant: t.into(),
                    network: format!("net{n}"),
                    site: site(s * 2),
                    group: format!("{t}-net{n}"),
                    gateways: vec![name(s * 2), name(s * 2 + 1)],
                });
            }
            expected.clients.push(ClientExpect {
                tenant: t.into(),
                name: format!("c{n}"),
                router: name(0),
                interface: "wg9".into(),
                public_key: format!("{t}{n:=<40}=="),
            });
        }
    }
    expected.routers[0].client_interfaces.push("wg9".into());
    let mut seen = BTreeMap::new();
    for i in 0..N {
        let vrrp = Vrrp::Groups(
            expected
                .groups
                .iter()
                .filter(|g| g.gateways.contains(&name(i)))
                .map(|g| VrrpGroup {
                    name: g.group.clone(),
                    interface: "br1".into(),
                    vrid: 1,
                    state: if i % 2 == 0 { "MASTER" } else { "BACKUP" }.into(),
                    priority: None,
                })
                .collect(),
        );
        let mut wireguard: BTreeMap<String, Result<Vec<WgPeerState>, String>> = [(
            "wg0".to_string(),
            Ok((0..N)
                .filter(|j| *j != i)
                .map(|j| WgPeerState {
                    public_key: key(j),
                    handshake_age_secs: Some(30),
                    rx_bytes: Some(1 << 30),
                    tx_bytes: Some(1 << 30),
                    ..Default::default()
                })
                .collect()),
        )]
        .into();
        if i == 0 {
            wireguard.insert(
                "wg9".into(),
                Ok(expected
                    .clients
                    .iter()
                    .map(|c| WgPeerState {
                        public_key: c.public_key.clone(),
                        handshake_age_secs: Some(10),
                        ..Default::default()
                    })
                    .collect()),
            );
        }
        seen.insert(
            name(i),
            Seen::Answered(Answers {
                at: None,
                bgp: Ok((0..N)
                    .filter(|j| *j != i)
                    .map(|j| BgpPeer {
                        neighbor: addr(j).to_string(),
                        state: "Established".into(),
                        up_down_secs: Some(3600),
                        prefixes: Some(10),
                    })
                    .collect()),
                vrrp: Ok(vrrp),
                wireguard,
                memory: Ok(Memory {
                    total_bytes: 4 << 30,
                    free_bytes: 3 << 30,
                    used_bytes: 1 << 30,
                }),
            }),
        );
    }
    let records: BTreeMap<String, Record> = (0..N)
        .map(|i| {
            (
                name(i),
                Record {
                    applied: true,
                    ..Default::default()
                },
            )
        })
        .collect();
    let t = Instant::now();
    let items = evaluate(&Round {
        expected: &expected,
        seen: &seen,
        records: &records,
        previous: &|_| None,
        now: vxguard_store::api_keys::unix_now(),
        rules: Rules::default(),
    });
    let evaluated = t.elapsed();
    let t = Instant::now();
    let tx = vxguard_store::health::begin_round(&e.db, 0.0)
        .await
        .unwrap()
        .unwrap();
    let w = tx
        .finish(&items, vxguard_store::health::RoundStats::default())
        .await
        .unwrap();
    let stored = t.elapsed();
    assert_eq!(w.items, items.len());
    eprintln!(
        "{} items: evaluated in {evaluated:?}, stored in {stored:?}",
        items.len()
    );
    // The same round again: read back, compared, nothing written.
    let t = Instant::now();
    let tx = vxguard_store::health::begin_round(&e.db, 0.0)
        .await
        .unwrap()
        .unwrap();
    let w = tx
        .finish(&items, vxguard_store::health::RoundStats::default())
        .await
        .unwrap();
    eprintln!("the same round again: {w:?} in {:?}", t.elapsed());
    assert_eq!((w.items, w.history, w.deleted), (0, 0, 0));
    let t = Instant::now();
    let rows = vxguard_store::metrics::health_series(&e.db).await.unwrap();
    eprintln!("health_series: {} rows in {:?}", rows.len(), t.elapsed());
    let mut times = Vec::new();
    let mut last = String::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = e.call(Method::GET, "/metrics", None, None, &[]).await;
        times.push(t.elapsed());
        assert_eq!(r.status, StatusCode::OK);
        last = r.text;
    }
    let series = last.lines().filter(|l| !l.starts_with('#')).count();
    let count = |f: &str| family(&last, f).len();
    eprintln!(
        "/metrics: {} bytes, {series} samples (bgp {}, wireguard {}, vrrp {}, clients {}); scrapes {times:?}",
        last.len(),
        count("vxguard_bgp_session_up"),
        count("vxguard_wireguard_latest_handshake_timestamp_seconds"),
        count("vxguard_vrrp_masters") + count("vxguard_vrrp_gateway_master"),
        count("vxguard_client_connected"),
    );
    assert_eq!(count("vxguard_bgp_session_up"), N * (N - 1));
    assert_eq!(
        count("vxguard_wireguard_latest_handshake_timestamp_seconds"),
        N * (N - 1)
    );
    let f = std::env::temp_dir().join("vxguard-metrics-200-routers.txt");
    std::fs::write(&f, &last).unwrap();
    eprintln!("written to {}", f.display());
}
