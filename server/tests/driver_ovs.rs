//! The OVS driver against a real ovs-vswitchd (userspace datapath, in a
//! network namespace of its own, management socket in a run directory the
//! test makes) and a real PostgreSQL database: the example's golden
//! hypervisor revision applied to a fresh bridge; a second revision that
//! changes one rule changes one flow; the same revision again is
//! `unchanged`; a bridge without the tunnel port fails and keeps its
//! flows; a flow added by hand is drift; meters and groups come and go
//! with the revision; and the worker's own revision (the demo platform,
//! keys from the secret store) applies to a lab hypervisor built from it.
//!
//! Needs root and Open vSwitch; skipped with a message otherwise, except
//! under CI (`CI` set), where a missing part fails the test.

mod harness;

use harness::Env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;
use vxguard::driver::ovs::{self, Outcome, OvsTarget};
use vxguard_compiler::hypervisor_config::HypervisorConfig;

const HV: &str = "hv-dc1-01";

fn sh(args: &[&str]) -> Result<String, String> {
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
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

fn must(args: &[&str]) -> String {
    sh(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Why this test cannot run here, or `None`; under CI a reason is a failure.
fn skip_reason() -> Option<&'static str> {
    let why = if sh(&["id", "-u"]).map(|s| s.trim().to_string()).as_deref() != Ok("0") {
        Some("not root")
    } else if sh(&[
        "sh",
        "-c",
        "command -v ovs-vswitchd && command -v ovsdb-server && command -v ovsdb-tool && command -v ovs-vsctl && command -v ovs-ofctl",
    ])
    .is_err()
    {
        Some("Open vSwitch is missing (scripts/setup installs openvswitch-switch)")
    } else {
        None
    };
    if let (Some(why), Some(_)) = (why, std::env::var_os("CI")) {
        panic!("the OVS driver tests cannot run under CI: {why}");
    }
    why
}

/// One ovs-vswitchd with bridge `br-int` (netdev) in its own namespace;
/// the daemons, the namespace and the run directory go on drop.
struct Switch {
    ns: String,
    dir: PathBuf,
    target: OvsTarget,
}

impl Switch {
    fn start() -> Switch {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let ns = format!("vxo{}-{n}", std::process::id() % 10000);
        let dir = std::env::temp_dir().join(format!("vxguard-ovs-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        must(&["ip", "netns", "add", &ns]);
        let s = Switch {
            ns: ns.clone(),
            dir: dir.clone(),
            target: OvsTarget {
                name: HV.into(),
                openflow: format!("unix:{}/br-int.mgmt", dir.display()),
            },
        };
        must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        let d = dir.display().to_string();
        let env = |c: &mut Command| {
            c.env("OVS_RUNDIR", &d)
                .env("OVS_DBDIR", &d)
                .env("OVS_LOGDIR", &d);
        };
        let run = |args: &[&str]| {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            env(&mut c);
            let out = c.output().unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "ovsdb-tool",
            "create",
            &format!("{d}/conf.db"),
            "/usr/share/openvswitch/vswitch.ovsschema",
        ]);
        run(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "ovsdb-server",
            &format!("{d}/conf.db"),
            &format!("--remote=punix:{d}/db.sock"),
            &format!("--pidfile={d}/ovsdb.pid"),
            &format!("--unixctl={d}/ovsdb.ctl"),
            &format!("--log-file={d}/ovsdb.log"),
            "-vconsole:off",
            "--detach",
        ]);
        s.vsctl(&["--no-wait", "init"]);
        run(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "ovs-vswitchd",
            &format!("unix:{d}/db.sock"),
            &format!("--pidfile={d}/vswitchd.pid"),
            &format!("--unixctl={d}/vswitchd.ctl"),
            &format!("--log-file={d}/vswitchd.log"),
            "-vconsole:off",
            "--detach",
        ]);
        s.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "bridge",
            "br-int",
            "datapath_type=netdev",
        ]);
        s
    }

    fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db=unix:{}/db.sock", self.dir.display());
        let mut a = vec!["ovs-vsctl", &db];
        a.extend_from_slice(args);
        must(&a)
    }

    /// The VM ports the golden flows name, and the tunnel port.
    fn add_ports(&self, vtep: &str) {
        for p in ["fin-web1", "acme-app1", "globex-app1"] {
            self.vsctl(&[
                "add-port",
                "br-int",
                p,
                "--",
                "set",
                "interface",
                p,
                "type=internal",
            ]);
        }
        self.vsctl(&[
            "add-port",
            "br-int",
            "vxg-tun",
            "--",
            "set",
            "interface",
            "vxg-tun",
            "type=vxlan",
            "options:remote_ip=flow",
            "options:key=flow",
            &format!("options:local_ip={vtep}"),
        ]);
    }

    fn add_ports_tunnel_only(&self, vtep: &str) {
        self.vsctl(&[
            "add-port",
            "br-int",
            "vxg-tun",
            "--",
            "set",
            "interface",
            "vxg-tun",
            "type=vxlan",
            "options:remote_ip=flow",
            "options:key=flow",
            &format!("options:local_ip={vtep}"),
        ]);
    }

    fn ofctl(&self, args: &[&str]) -> String {
        let mut a = vec!["ovs-ofctl", "-O", "OpenFlow13"];
        let (cmd, rest) = args.split_first().unwrap();
        a.push(cmd);
        a.push(&self.target.openflow);
        a.extend_from_slice(rest);
        must(&a)
    }

    /// The group table as sorted lines.
    fn groups(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ofctl(&["dump-groups", "--names"])
            .lines()
            .filter(|l| l.starts_with(' '))
            .map(|l| l.trim().to_string())
            .collect();
        v.sort();
        v
    }

    /// The flow table as a sorted set of lines (no counters).
    fn flows(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ofctl(&["dump-flows", "--no-stats", "--names"])
            .lines()
            .filter(|l| l.starts_with(' '))
            .map(|l| l.trim().to_string())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        for pid in ["vswitchd.pid", "ovsdb.pid"] {
            if let Ok(p) = std::fs::read_to_string(self.dir.join(pid)) {
                let _ = sh(&["kill", p.trim()]);
            }
        }
        // ovs-vswitchd removes its taps on exit: give it a moment.
        let t = Instant::now();
        while Path::new(&self.dir.join("vswitchd.pid")).exists()
            && t.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = sh(&["ip", "netns", "del", &self.ns]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn golden(ext: &str) -> String {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../compiler/tests/golden/");
    std::fs::read_to_string(format!("{p}{HV}.{ext}")).unwrap()
}

/// The example's hv-dc1-01 revision as the worker stores it.
fn golden_config() -> HypervisorConfig {
    HypervisorConfig {
        vtep: "172.27.0.5".parse().unwrap(),
        bridge: "br-int".into(),
        flows: golden("flows"),
        groups: golden("groups"),
        meters: golden("meters"),
        wireguard: golden("wg"),
    }
}

/// The same with acme's telnet rule on port 24 instead of 23: one flow.
fn one_rule_changed() -> HypervisorConfig {
    let mut c = golden_config();
    let old = "metadata=1,tp_dst=23,actions=drop";
    assert_eq!(c.flows.matches(old).count(), 1);
    c.flows = c.flows.replace(old, "metadata=1,tp_dst=24,actions=drop");
    c
}

async fn revision(db: &sqlx::PgPool, c: &HypervisorConfig) -> i64 {
    let seq: i32 = sqlx::query_scalar(
        "SELECT coalesce(max(seq), 0) + 1 FROM revisions WHERE device_kind = 'hypervisor' AND device = $1",
    )
    .bind(HV)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO revisions (device_kind, device, seq, config, diff) VALUES ('hypervisor', $1, $2, $3, '') RETURNING id",
    )
    .bind(HV)
    .bind(seq)
    .bind(c.render_text())
    .fetch_one(db)
    .await
    .unwrap()
}

async fn record(db: &sqlx::PgPool, id: i64) -> (String, String, String, Option<String>) {
    sqlx::query_as(
        "SELECT device_kind, outcome, commands, error FROM device_applies WHERE id = $1 AND finished_at IS NOT NULL",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap()
}

fn config_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

#[tokio::test]
async fn a_revision_applies_then_one_changed_rule_changes_one_flow() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let e = Env::empty().await;
    let sw = Switch::start();
    sw.add_ports("172.27.0.5");
    let rev1 = revision(&e.db, &golden_config()).await;
    let t = Instant::now();
    let r = ovs::apply(&e.db, &sw.target, rev1).await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}", r.outcome);
    let flows = sw.flows();
    assert_eq!(flows.len(), config_lines(&golden("flows")));
    assert_eq!(
        sw.ofctl(&["dump-groups"]).matches("group_id=").count(),
        config_lines(&golden("groups"))
    );
    assert!(ovs::drift(&sw.target, &golden_config().render_text())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        record(&e.db, r.id).await,
        (
            "hypervisor".into(),
            "applied".into(),
            r.changes.join("\n"),
            None
        )
    );
    // Groups first, flows in one bundle: 2 calls.
    assert_eq!(r.attempts, 2, "{:?}", r.changes);

    let rev2 = revision(&e.db, &one_rule_changed()).await;
    let r2 = ovs::apply(&e.db, &sw.target, rev2).await.unwrap();
    assert_eq!(r2.outcome, Outcome::Applied, "{:?}", r2.outcome);
    let after = sw.flows();
    let gone: Vec<_> = flows.iter().filter(|f| !after.contains(f)).collect();
    let new: Vec<_> = after.iter().filter(|f| !flows.contains(f)).collect();
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(gone[0].contains("tp_dst=23") && new[0].contains("tp_dst=24"));
    assert_eq!(r2.changes.len(), 2, "{:?}", r2.changes);
    assert_eq!(r2.attempts, 1, "only the flows were replaced");
    assert_eq!(record(&e.db, r2.id).await.1, "applied");

    let r3 = ovs::apply(&e.db, &sw.target, rev2).await.unwrap();
    assert_eq!(r3.outcome, Outcome::Unchanged);
    assert!(r3.changes.is_empty() && r3.attempts == 0);
    assert_eq!(record(&e.db, r3.id).await.1, "unchanged");
    eprintln!(
        "applied {} flows and {} groups in {took:?}",
        flows.len(),
        config_lines(&golden("groups"))
    );
}

#[tokio::test]
async fn a_bridge_without_the_tunnel_port_fails_and_keeps_its_flows() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let e = Env::empty().await;
    let sw = Switch::start();
    sw.add_ports("172.27.0.5");
    let rev1 = revision(&e.db, &golden_config()).await;
    let rev2 = revision(&e.db, &one_rule_changed()).await;
    assert_eq!(
        ovs::apply(&e.db, &sw.target, rev1).await.unwrap().outcome,
        Outcome::Applied
    );
    sw.vsctl(&["del-port", "br-int", "vxg-tun"]);
    let before = sw.flows();
    let groups = sw.groups();
    let r = ovs::apply(&e.db, &sw.target, rev2).await.unwrap();
    let error = r.outcome.error().unwrap_or_default().to_string();
    assert!(
        error.contains("has no port `vxg-tun`") && error.contains("nothing was changed"),
        "{error}"
    );
    assert_eq!(sw.flows(), before, "the flows are untouched");
    assert_eq!(sw.groups(), groups);
    let (kind, outcome, _, recorded) = record(&e.db, r.id).await;
    assert_eq!((kind.as_str(), outcome.as_str()), ("hypervisor", "failed"));
    assert_eq!(recorded.as_deref(), Some(error.as_str()));

    // A revision the switch refuses half-way (a flow to a group that does
    // not exist): the flows stay, the group changed before them is put back.
    sw.add_ports_tunnel_only("172.27.0.5");
    let before = sw.flows();
    let mut bad = one_rule_changed();
    bad.groups = bad.groups.replace(
        "group_id=20001,type=all,bucket=actions=output:acme-app1",
        "group_id=20001,type=all,bucket=actions=output:acme-app1,bucket=actions=output:fin-web1",
    );
    bad.flows
        .push_str("table=20,priority=5,reg6=10000,actions=group:99999\n");
    let rev3 = revision(&e.db, &bad).await;
    let r = ovs::apply(&e.db, &sw.target, rev3).await.unwrap();
    let error = r.outcome.error().unwrap_or_default();
    assert!(
        error.contains("replacing the flows") && error.contains("groups restored"),
        "{error}"
    );
    assert_eq!(sw.flows(), before);
    assert_eq!(sw.groups(), groups);

    // A bridge that does not answer at all.
    let gone = OvsTarget {
        name: HV.into(),
        openflow: format!("unix:{}/nope.mgmt", sw.dir.display()),
    };
    let r = ovs::apply(&e.db, &gone, rev2).await.unwrap();
    let error = r.outcome.error().unwrap_or_default();
    assert!(error.contains("does not answer"), "{error}");
}

#[tokio::test]
async fn a_flow_added_by_hand_is_drift_until_the_next_apply() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let e = Env::empty().await;
    let sw = Switch::start();
    sw.add_ports("172.27.0.5");
    let text = golden_config().render_text();
    let rev1 = revision(&e.db, &golden_config()).await;
    ovs::apply(&e.db, &sw.target, rev1).await.unwrap();
    assert!(ovs::drift(&sw.target, &text).await.unwrap().is_empty());
    sw.ofctl(&[
        "add-flow",
        "table=0,priority=300,udp,tp_dst=53,actions=drop",
    ]);
    let drift = ovs::drift(&sw.target, &text).await.unwrap();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(
        drift[0].starts_with('+') && drift[0].contains("priority=300,udp,tp_dst=53"),
        "{drift:?}"
    );
    // A group changed by hand is drift too.
    sw.ofctl(&["mod-group", "group_id=20001,type=all,bucket=actions=drop"]);
    assert_eq!(ovs::drift(&sw.target, &text).await.unwrap().len(), 3);
    let r = ovs::apply(&e.db, &sw.target, rev1).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
    assert!(r.changes.starts_with(&drift), "{:?}", r.changes);
    assert_eq!(r.attempts, 2, "the group, then the flows");
    assert!(ovs::drift(&sw.target, &text).await.unwrap().is_empty());
}

#[tokio::test]
async fn meters_and_groups_come_and_go_with_the_revision() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let e = Env::empty().await;
    let sw = Switch::start();
    sw.add_ports("172.27.0.5");
    let plain = golden_config();
    // acme's VM rate-limited (the compiler's meter syntax) and a new group.
    let mut metered = golden_config();
    metered.meters = "meter=1,pktps,burst,stats,bands=type=drop,rate=1000,burst_size=100\n".into();
    metered.flows = metered.flows.replace(
        "in_port=acme-app1,ip,nw_src=100.65.0.10,actions=",
        "in_port=acme-app1,ip,nw_src=100.65.0.10,actions=meter:1,",
    );
    metered
        .groups
        .push_str("group_id=30000,type=all,bucket=actions=output:acme-app1\n");
    metered
        .flows
        .push_str("table=20,priority=5,reg6=10000,actions=group:30000\n");
    let rev1 = revision(&e.db, &plain).await;
    let rev3 = revision(&e.db, &metered).await;
    ovs::apply(&e.db, &sw.target, rev1).await.unwrap();
    let r = ovs::apply(&e.db, &sw.target, rev3).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}", r.outcome);
    let meters = sw.ofctl(&["dump-meters"]);
    assert!(meters.contains("meter=1 pktps burst stats"), "{meters}");
    assert!(sw.ofctl(&["dump-groups"]).contains("group_id=30000"));
    assert!(ovs::drift(&sw.target, &metered.render_text())
        .await
        .unwrap()
        .is_empty());
    // A changed rate is a mod-meter.
    let mut faster = metered.clone();
    faster.meters = faster.meters.replace("rate=1000", "rate=2000");
    let rev4 = revision(&e.db, &faster).await;
    let r = ovs::apply(&e.db, &sw.target, rev4).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}", r.outcome);
    assert_eq!(r.attempts, 1);
    assert!(sw.ofctl(&["dump-meters"]).contains("rate=2000"));
    // Back: the meter and the group are deleted after the flows stop using them.
    let rev5 = revision(&e.db, &plain).await;
    let r = ovs::apply(&e.db, &sw.target, rev5).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}", r.outcome);
    assert!(!sw.ofctl(&["dump-meters"]).contains("meter=1"));
    assert!(!sw.ofctl(&["dump-groups"]).contains("group_id=30000"));
    assert_eq!(sw.flows().len(), config_lines(&plain.flows));
    assert!(ovs::drift(&sw.target, &plain.render_text())
        .await
        .unwrap()
        .is_empty());
}

/// Removes a lab hypervisor (from its record) and the host namespace made for it.
struct LabHv {
    run_dir: PathBuf,
    host_ns: String,
}

impl Drop for LabHv {
    fn drop(&mut self) {
        if let Err(e) = vxguard_lab::hypervisor::teardown(&self.run_dir) {
            eprintln!("hypervisor teardown: {e}");
        }
        let _ = sh(&["ip", "netns", "del", &self.host_ns]);
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

#[tokio::test]
async fn the_workers_revision_applies_to_a_lab_hypervisor_built_from_it() {
    use vxguard_lab::hypervisor::{self, HypervisorSpec, VmSpec};
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    if sh(&["sh", "-c", "command -v wireguard-go && command -v wg"]).is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "wireguard-go is missing under CI"
        );
        eprintln!("SKIPPED: wireguard-go is missing");
        return;
    }
    let e = Env::demo().await;
    e.drain().await;
    let (rev, text): (i64, String) = sqlx::query_as(
        "SELECT id, config FROM revisions WHERE device_kind = 'hypervisor' AND device = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(HV)
    .fetch_one(&e.db)
    .await
    .unwrap();
    let config = HypervisorConfig::parse_text(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.wireguard.contains("PrivateKey = ") && config.wireguard.contains("[Peer]"));

    // Every port the intent puts on this hypervisor becomes a VM.
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/two-dc.yaml"
    ))
    .unwrap();
    let (intent, _) = vxguard_compiler::intent::yaml::parse_intent(&yaml).unwrap();
    let tag = std::process::id() % 100;
    let mut vms = Vec::new();
    for t in &intent.tenants {
        for n in &t.networks {
            for p in n.ports.iter().filter(|p| p.hypervisor.as_str() == HV) {
                vms.push(VmSpec {
                    port: p.name.clone(),
                    ns: format!("vxw{tag}-{}", p.name),
                    address: ipnet::Ipv4Net::new(p.address.unwrap(), n.cidr.prefix_len()).unwrap(),
                    gateway: n.cidr.hosts().next().unwrap(),
                });
            }
        }
    }
    let host_ns = format!("vxw{tag}-h");
    let run_dir = std::env::temp_dir().join(format!("vxguard-ovs-labhv-{}", std::process::id()));
    must(&["ip", "netns", "add", &host_ns]);
    let _guard = LabHv {
        run_dir: run_dir.clone(),
        host_ns: host_ns.clone(),
    };
    let spec = HypervisorSpec {
        name: HV.into(),
        id: format!("w{tag}"),
        ns: host_ns,
        ovs_ns: format!("vxw{tag}-o"),
        run_dir,
        bridge: config.bridge.clone(),
        config: config.clone(),
        mtu: 1390,
        vms,
    };
    let built = hypervisor::build(&spec).unwrap_or_else(|e| panic!("{e}"));
    let target = OvsTarget {
        name: HV.into(),
        openflow: built.openflow.clone(),
    };
    // `vxguard apply-hypervisor` finds the bridge through the declared
    // `openflow_endpoint`.
    sqlx::query(
        "UPDATE objects SET spec = jsonb_set(spec, '{openflow_endpoint}', to_jsonb($2::text)) WHERE kind = 'hypervisor' AND name = $1",
    )
    .bind(HV)
    .bind(&built.openflow)
    .execute(&e.db)
    .await
    .unwrap();
    let args = |drift| vxguard::driver::ApplyHypervisorArgs {
        hypervisor: HV.into(),
        openflow: None,
        revision: None,
        drift,
        database_url: e.url.clone(),
    };
    assert!(
        !vxguard::driver::run_hypervisor(args(true)).await.unwrap(),
        "an empty bridge drifts"
    );
    assert!(vxguard::driver::run_hypervisor(args(false)).await.unwrap());
    let (outcome, kind): (String, String) = sqlx::query_as(
        "SELECT outcome, device_kind FROM device_applies WHERE revision_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(rev)
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert_eq!((outcome.as_str(), kind.as_str()), ("applied", "hypervisor"));
    assert!(vxguard::driver::run_hypervisor(args(true)).await.unwrap());
    assert!(ovs::drift(&target, &text).await.unwrap().is_empty());
    let again = ovs::apply(&e.db, &target, rev).await.unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);
}

/// The health collector's statistics of a bridge (issue 18), over its
/// OpenFlow connection: port, flow and meter statistics of a bridge
/// running the golden revision with a meter on finance's web port, after
/// real pings from that port; a bridge that does not answer is an error
/// naming it.
#[tokio::test]
async fn port_flow_and_meter_statistics_are_read_over_openflow() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    use vxguard_health::ovs::{fact, Owners};
    let e = Env::demo().await;
    let sw = Switch::start();
    sw.add_ports("172.27.0.5");
    let mut c = golden_config();
    let line = "in_port=fin-web1,ip,nw_src=100.64.1.10,actions=";
    assert_eq!(c.flows.matches(line).count(), 1);
    c.flows = c.flows.replace(
        line,
        "in_port=fin-web1,ip,nw_src=100.64.1.10,actions=meter:1,",
    );
    c.meters = "meter=1,pktps,burst,stats,bands=type=drop,rate=1,burst_size=1\n".into();
    let rev = revision(&e.db, &c).await;
    assert_eq!(
        ovs::apply(&e.db, &sw.target, rev).await.unwrap().outcome,
        Outcome::Applied
    );
    let timeout = std::time::Duration::from_secs(5);
    let before = vxguard_drivers::ovs::stats(&sw.target, timeout)
        .await
        .unwrap();
    // 20 UDP datagrams from the VM's address on fin-web1 to a neighbour
    // entered by hand (no ARP): IPv4 packets of 98 bytes that enter the
    // bridge on that port.
    let ns = |args: &[&str]| {
        let mut a = vec!["ip", "netns", "exec", &sw.ns];
        a.extend_from_slice(args);
        must(&a)
    };
    ns(&["ip", "link", "set", "fin-web1", "up"]);
    ns(&["ip", "addr", "add", "100.64.1.10/24", "dev", "fin-web1"]);
    ns(&[
        "ip",
        "neigh",
        "replace",
        "100.64.1.99",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "fin-web1",
    ]);
    ns(&[
        "python3",
        "-c",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(20): s.sendto(b'x' * 56, ('100.64.1.99', 9))",
    ]);
    let port = |s: &vxguard_health::ovs::OvsStats, p: &str| {
        s.ports
            .iter()
            .find(|x| x.port == p)
            .cloned()
            .unwrap_or_else(|| panic!("no port {p}: {:?}", s.ports))
    };
    let b = port(&before, "fin-web1");
    // The switch counts as it polls its ports: read until it has (2 s at most).
    let t0 = Instant::now();
    let s = loop {
        let s = vxguard_drivers::ovs::stats(&sw.target, timeout)
            .await
            .unwrap();
        if port(&s, "fin-web1").rx_packets >= b.rx_packets + 20 || t0.elapsed().as_secs() >= 2 {
            break s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let a = port(&s, "fin-web1");
    // A figure, not a check: one bridge's three statistics requests.
    let t1 = Instant::now();
    vxguard_drivers::ovs::stats(&sw.target, timeout)
        .await
        .unwrap();
    eprintln!(
        "stats of a bridge with {} flows, {} ports: {:?}",
        s.flows.len(),
        s.ports.len(),
        t1.elapsed()
    );
    assert!(a.rx_packets >= b.rx_packets + 20, "{b:?} then {a:?}");
    assert!(a.rx_bytes >= b.rx_bytes + 20 * 98, "{b:?} then {a:?}");
    // Every flow of the revision is counted, per table as the file has them.
    let per_table = |t: u8| s.flows.iter().filter(|f| f.table == t).count();
    for t in [0u8, 10, 11, 20] {
        let want = c
            .flows
            .lines()
            .filter(|l| l.starts_with(&format!("table={t},")))
            .count();
        assert!(want > 0);
        assert_eq!(per_table(t), want, "table {t}");
    }
    assert_eq!(s.flows.len(), config_lines(&c.flows));
    // The datagrams met the metered flow's meter (1 packet/s), which let
    // the first through and dropped most of the rest: the flow counts
    // only what passed it.
    let metered = s.flows.iter().find(|f| f.meter == Some(1)).unwrap();
    assert_eq!(metered.in_port.as_deref(), Some("fin-web1"));
    assert!(metered.packets >= 1 && metered.packets < 20, "{metered:?}");
    assert_eq!(s.meters.len(), 1, "{:?}", s.meters);
    assert!(s.meters[0].packets >= 20, "{:?}", s.meters);
    assert!(
        s.meters[0].dropped >= 10 && s.meters[0].dropped < s.meters[0].packets,
        "{:?}",
        s.meters
    );
    // The fact the collector stores: finance's port, flows and meter
    // under finance; acme's port under acme; the tunnel under no tenant.
    let owners = Owners {
        ports: [
            (
                (HV.to_string(), "fin-web1".to_string()),
                ("finance".to_string(), "web".to_string()),
            ),
            (
                (HV.to_string(), "acme-app1".to_string()),
                ("acme".to_string(), "app".to_string()),
            ),
        ]
        .into(),
        tenants: [(2, "finance".to_string()), (1, "acme".to_string())].into(),
    };
    let f = fact(HV, &s, &owners);
    eprintln!("the fact ovs: {} bytes of JSON", f.to_string().len());
    let ports = f["ports"].as_array().unwrap();
    let of = |p: &str| ports.iter().find(|x| x["port"] == p).unwrap().clone();
    assert_eq!(
        (
            of("fin-web1")["tenant"].as_str(),
            of("fin-web1")["network"].as_str()
        ),
        (Some("finance"), Some("web"))
    );
    assert_eq!(of("acme-app1")["tenant"], "acme");
    assert!(of("vxg-tun").get("tenant").is_none());
    let finance = f["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "finance")
        .unwrap();
    assert!(
        finance["packets"].as_u64().unwrap() >= metered.packets,
        "{finance}"
    );
    assert!(finance["flows"].as_u64().unwrap() > 10, "{finance}");
    assert_eq!(f["meters"][0]["tenant"], "finance");

    // The collector's round: the demo's hv-dc1-01 reached at this bridge
    // (its declared `openflow_endpoint`), its statistics kept on its item
    // with the owners the demo's intent gives its ports.
    sqlx::query(
        "UPDATE objects SET spec = jsonb_set(spec, '{openflow_endpoint}', to_jsonb($2::text)) WHERE kind = 'hypervisor' AND name = $1",
    )
    .bind(HV)
    .bind(&sw.target.openflow)
    .execute(&e.db)
    .await
    .unwrap();
    let settings = vxguard::health::Settings::every(std::time::Duration::from_secs(6));
    vxguard::health::round(&e.db, &settings)
        .await
        .unwrap()
        .expect("a round");
    let facts: serde_json::Value =
        sqlx::query_scalar("SELECT facts FROM health_items WHERE key = $1")
            .bind(format!("hypervisor:{HV}"))
            .fetch_one(&e.db)
            .await
            .unwrap();
    let ports = facts["ovs"]["ports"]
        .as_array()
        .unwrap_or_else(|| panic!("{facts}"));
    let fin = ports.iter().find(|p| p["port"] == "fin-web1").unwrap();
    assert_eq!(
        (fin["tenant"].as_str(), fin["network"].as_str()),
        (Some("finance"), Some("web")),
        "{fin}"
    );
    assert!(fin["rx_packets"].as_u64().unwrap() >= 20, "{fin}");
    assert_eq!(
        facts["ovs"]["tables"].as_array().unwrap().len(),
        4,
        "{facts}"
    );
    assert!(facts.get("ovs_error").is_none(), "{facts}");
    // Another hypervisor of the demo, with no bridge at its endpoint: why.
    let other: serde_json::Value = sqlx::query_scalar(
        "SELECT facts FROM health_items WHERE kind = 'hypervisor' AND key <> $1 LIMIT 1",
    )
    .bind(format!("hypervisor:{HV}"))
    .fetch_one(&e.db)
    .await
    .unwrap();
    assert!(
        other["ovs"].is_null() && other["ovs_error"].is_string(),
        "{other}"
    );

    // A bridge that does not answer: an error naming it, within the time.
    let gone = OvsTarget {
        name: HV.into(),
        openflow: format!("unix:{}/nope.mgmt", sw.dir.display()),
    };
    let err = vxguard_drivers::ovs::stats(&gone, timeout)
        .await
        .unwrap_err();
    assert!(err.contains("nope.mgmt"), "{err}");
}
