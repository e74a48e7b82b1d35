//! Check 8 (issue 17, "Proof on real packets"): a hypervisor, then a
//! router, added to the running platform and removed again, each a
//! platform change as an operator makes it (vxguard's API), realised in
//! the lab (`crate::grow`), while ICMP runs every 10 ms inside a site (a
//! VM to its gateway) and across sites (a VM to a VM). vxguard stages each
//! mesh change (docs/src/operator/mesh-changes.md: staged, switched,
//! released), so on every device not being changed the change must cost
//! nothing: 0 requests lost, no BGP or BFD session dropped, no VRRP
//! transition.
//!
//! The platform side (registration, the new router's API key, the
//! hypervisor's keys, waiting for the mesh change's steps) needs vxguard's
//! store, so it is a [`Grower`] the lab binary gives; here are the traffic,
//! the routers' daemons read before and after each phase, and the
//! judgement (pure, unit-tested).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::probe::ChildGuard;
use super::report::Figure;
use crate::inventory::{Inventory, RouterNode};
use crate::netns::NetnsRealiser;

/// A device kind check 8 adds and removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Hypervisor,
    Router,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Hypervisor => "hypervisor",
            DeviceKind::Router => "router",
        }
    }
}

/// What one platform change took, as the grower saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    /// The device added or removed.
    pub device: String,
    /// Seconds from the change's start to each step seen (`staged`,
    /// `switched`, `released`, `applied`: every device on its latest
    /// revision, no job left).
    pub steps: Vec<(String, f64)>,
    /// Per device not changed: seconds from the start to its last apply.
    pub devices: Vec<(String, f64)>,
    /// The whole change, from the API call (or the realising before it) to
    /// every device applied.
    pub secs: f64,
}

/// The platform half of check 8 (the lab binary's: it needs the store).
/// Each call returns once vxguard's mesh change is released and every
/// device holds its latest revision.
pub trait Grower: Sync {
    /// Realises a new device of `kind` in the lab and registers it.
    fn add(&self, kind: DeviceKind) -> Result<Change, String>;
    /// Unregisters device `name` and, once the platform no longer needs
    /// it, removes it from the lab.
    fn remove(&self, kind: DeviceKind, name: &str) -> Result<Change, String>;
}

/// One ICMP flow: `ping -i 0.01` from a VM's namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// `acme-app1 -> dc1 gateway`.
    pub name: String,
    /// `inside a site` or `across sites`.
    pub scope: &'static str,
    pub ns: String,
    pub dst: Ipv4Addr,
}

/// The flows the lab allows: per site, a VM to its gateway; and one VM to
/// a VM of the same network in another site. One tenant's VMs (`acme`
/// when it has some: its policy lets ICMP through; else the first).
pub fn flows(inv: &Inventory) -> Vec<Flow> {
    let tenant = if inv.vms.iter().any(|v| v.tenant == "acme") {
        "acme"
    } else {
        match inv.vms.first() {
            Some(v) => v.tenant.as_str(),
            None => return Vec::new(),
        }
    };
    let mut vms: Vec<_> = inv.vms.iter().filter(|v| v.tenant == tenant).collect();
    vms.sort_by(|a, b| a.port.cmp(&b.port));
    let mut out = Vec::new();
    let mut sites = Vec::new();
    for v in &vms {
        if !sites.contains(&v.site) {
            sites.push(v.site.clone());
            out.push(Flow {
                name: format!("{} -> its {} gateway", v.port, v.site),
                scope: "inside a site",
                ns: v.ns.clone(),
                dst: v.gateway,
            });
        }
    }
    if let Some((a, b)) = vms.iter().find_map(|a| {
        vms.iter()
            .find(|b| b.network == a.network && b.site != a.site)
            .map(|b| (a, b))
    }) {
        out.push(Flow {
            name: format!("{} -> {}", a.port, b.port),
            scope: "across sites",
            ns: a.ns.clone(),
            dst: b.address,
        });
    }
    out
}

/// Requests sent and lost in `ping -D` output: sent is the highest
/// sequence number answered (a request still in flight when the ping
/// stopped is not counted), lost every number below it not answered.
pub fn ping_loss(text: &str) -> (u64, u64) {
    let mut got = std::collections::BTreeSet::new();
    for l in text.lines() {
        if !l.contains(" bytes from ") {
            continue;
        }
        let Some(seq) = l
            .split_whitespace()
            .find_map(|w| w.strip_prefix("icmp_seq="))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        got.insert(seq);
    }
    // ping numbers from 1; a wrapped counter (65,535 requests, 11 min at
    // 10 ms) is beyond a phase.
    let last = got.iter().next_back().copied().unwrap_or(0);
    (last, last.saturating_sub(got.len() as u64))
}

/// Pings running in the background, their output in files.
pub struct Pings {
    running: Vec<(Flow, PathBuf, ChildGuard)>,
}

impl Pings {
    pub fn start(flows: &[Flow], dir: &Path) -> Result<Pings, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut running = Vec::new();
        for (i, f) in flows.iter().enumerate() {
            let path = dir.join(format!("ping.{i}"));
            let out =
                std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let child = Command::new("ip")
                .args(["netns", "exec", &f.ns, "ping", "-D", "-n", "-i", "0.01"])
                .arg(f.dst.to_string())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("starting ping in {}: {e}", f.ns))?;
            running.push((
                f.clone(),
                path,
                ChildGuard {
                    what: f.name.clone(),
                    child: Some(child),
                },
            ));
        }
        Ok(Pings { running })
    }

    /// Stops every ping and counts: per flow, sent and lost.
    pub fn finish(mut self) -> Vec<(Flow, u64, u64)> {
        let mut out = Vec::new();
        for (f, path, mut g) in self.running.drain(..) {
            g.stop();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let _ = std::fs::remove_file(&path);
            let (sent, lost) = ping_loss(&text);
            out.push((f, sent, lost));
        }
        out
    }
}

/// One BGP session as FRR reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bgp {
    pub state: String,
    pub established: u64,
    pub dropped: u64,
}

/// One BFD session as FRR reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bfd {
    pub status: String,
    pub down_events: u64,
}

/// One VRRP group: its state and seconds since its last transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vrrp {
    pub state: String,
    pub since_secs: u64,
}

/// A router's sessions and groups at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub bgp: BTreeMap<String, Bgp>,
    pub bfd: BTreeMap<String, Bfd>,
    pub vrrp: BTreeMap<String, Vrrp>,
    /// When keepalived dumped `vrrp`: the window two snapshots' ages are
    /// compared over (a phase's own length would count the time taken by
    /// the snapshots of the routers before this one: found by the first
    /// runs, which judged unmoved groups as transitions).
    pub vrrp_at: Option<Instant>,
}

/// `show bgp vrf all neighbors json`: `vrf/neighbor` -> session.
pub fn bgp_sessions(json: &str) -> Result<BTreeMap<String, Bgp>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("bgp neighbors: {e}"))?;
    let mut out = BTreeMap::new();
    for (vrf, ns) in v.as_object().into_iter().flatten() {
        for (peer, n) in ns.as_object().into_iter().flatten() {
            let Some(state) = n.get("bgpState").and_then(Value::as_str) else {
                continue;
            };
            let num = |k: &str| n.get(k).and_then(Value::as_u64).unwrap_or(0);
            out.insert(
                format!("{vrf}/{peer}"),
                Bgp {
                    state: state.into(),
                    established: num("connectionsEstablished"),
                    dropped: num("connectionsDropped"),
                },
            );
        }
    }
    Ok(out)
}

/// `show bfd peers json` and `show bfd peers counters json`:
/// `vrf/peer/local/interface` -> session.
pub fn bfd_sessions(peers: &str, counters: &str) -> Result<BTreeMap<String, Bfd>, String> {
    let key = |p: &Value| {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
        format!(
            "{}/{}/{}/{}",
            s("vrf"),
            s("peer"),
            s("local"),
            s("interface")
        )
    };
    let peers: Value = serde_json::from_str(peers).map_err(|e| format!("bfd peers: {e}"))?;
    let counters: Value =
        serde_json::from_str(counters).map_err(|e| format!("bfd peers counters: {e}"))?;
    let downs: BTreeMap<String, u64> = counters
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                key(c),
                c.get("session-down").and_then(Value::as_u64).unwrap_or(0),
            )
        })
        .collect();
    Ok(peers
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let k = key(p);
            let down_events = downs.get(&k).copied().unwrap_or(0);
            let status = p
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (
                k,
                Bfd {
                    status,
                    down_events,
                },
            )
        })
        .collect())
}

/// What changed between two snapshots of one router, their VRRP dumps
/// `elapsed` apart, for
/// the sessions and groups of `before` (the devices not being changed:
/// `before` is taken before the device is added, so it has none of its
/// sessions). One line per drop or transition.
pub fn judge(before: &Snapshot, after: &Snapshot, elapsed: Duration) -> Vec<String> {
    let mut bad = Vec::new();
    for (k, b) in before.bgp.iter().filter(|(_, b)| b.state == "Established") {
        match after.bgp.get(k) {
            None => bad.push(format!("BGP {k}: gone")),
            Some(a) if a.state != "Established" => bad.push(format!("BGP {k}: {}", a.state)),
            Some(a) if a.dropped > b.dropped || a.established > b.established => bad.push(format!(
                "BGP {k}: dropped {} time(s)",
                a.dropped.saturating_sub(b.dropped).max(1)
            )),
            Some(_) => {}
        }
    }
    for (k, b) in before.bfd.iter().filter(|(_, b)| b.status == "up") {
        match after.bfd.get(k) {
            None => bad.push(format!("BFD {k}: gone")),
            Some(a) if a.status != "up" => bad.push(format!("BFD {k}: {}", a.status)),
            Some(a) if a.down_events > b.down_events => bad.push(format!(
                "BFD {k}: down {} time(s)",
                a.down_events - b.down_events
            )),
            Some(_) => {}
        }
    }
    // Whole seconds on both ends: a group whose last transition is older
    // than the window (less a second of rounding) had none in it.
    let window = elapsed.as_secs();
    for (k, b) in &before.vrrp {
        match after.vrrp.get(k) {
            None => bad.push(format!("VRRP {k}: gone")),
            Some(a) if a.state != b.state => {
                bad.push(format!("VRRP {k}: {} -> {}", b.state, a.state))
            }
            Some(a) if a.since_secs + 1 < b.since_secs + window => bad.push(format!(
                "VRRP {k}: a transition {} s before the end",
                a.since_secs
            )),
            Some(_) => {}
        }
    }
    bad
}

fn vtysh(ns: &str, cmd: &str) -> Result<String, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "vtysh", "-N", ns, "-c", cmd])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("vtysh in {ns}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "vtysh in {ns} -c {cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads a running lab router's BGP and BFD sessions (FRR, in its
/// namespace) and VRRP groups (its keepalived processes).
pub fn snapshot(r: &RouterNode) -> Result<Snapshot, String> {
    let bgp = bgp_sessions(&vtysh(&r.ns, "show bgp vrf all neighbors json")?)?;
    let bfd = bfd_sessions(
        &vtysh(&r.ns, "show bfd peers json")?,
        &vtysh(&r.ns, "show bfd peers counters json")?,
    )?;
    let real = NetnsRealiser::new(&r.ns, &r.id, &r.state_dir.join("run"))
        .map_err(|e| format!("router {}: {e}", r.name))?;
    let groups = real
        .vrrp_groups()
        .map_err(|e| format!("router {}: VRRP: {}", r.name, e.trim()))?;
    let vrrp_at = Some(Instant::now());
    let vrrp = groups
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            (
                format!("{}/{}", g.name, g.interface),
                Vrrp {
                    state: g.state,
                    since_secs: g.since_secs,
                },
            )
        })
        .collect();
    Ok(Snapshot {
        bgp,
        bfd,
        vrrp,
        vrrp_at,
    })
}

fn snapshots(routers: &[RouterNode]) -> Result<BTreeMap<String, Snapshot>, String> {
    routers
        .iter()
        .map(|r| snapshot(r).map(|s| (r.name.clone(), s)))
        .collect()
}

/// One phase's outcome, for the figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    /// `hypervisor added`, `router removed`...
    pub what: String,
    pub change: Change,
    /// Per flow: sent, lost.
    pub flows: Vec<(Flow, u64, u64)>,
    /// Sessions and groups judged on the devices not being changed.
    pub bgp: usize,
    pub bfd: usize,
    pub vrrp: usize,
    pub routers: usize,
    /// Every drop or transition (`router: what`).
    pub bad: Vec<String>,
}

impl Phase {
    pub fn lost(&self) -> u64 {
        self.flows.iter().map(|f| f.2).sum()
    }

    pub fn sent(&self) -> u64 {
        self.flows.iter().map(|f| f.1).sum()
    }

    pub fn ok(&self) -> bool {
        self.lost() == 0 && self.bad.is_empty() && self.flows.iter().all(|f| f.1 > 0)
    }

    /// The figure: the whole change's seconds; the steps, per-device
    /// applies, each flow's requests and every drop in the detail.
    pub fn figure(&self) -> Figure {
        let steps: Vec<String> = self
            .change
            .steps
            .iter()
            .map(|(s, t)| format!("{s} {t:.1} s"))
            .collect();
        let devices: Vec<String> = self
            .change
            .devices
            .iter()
            .map(|(d, t)| format!("{d} {t:.1} s"))
            .collect();
        let flows: Vec<String> = self
            .flows
            .iter()
            .map(|(f, sent, lost)| format!("{} ({}): {lost} lost of {sent}", f.name, f.scope))
            .collect();
        let mut detail = format!(
            "{}: {}; last apply per device: {}; {} lost of {} ICMP requests every 10 ms ({}); \
             on {} routers not changed: {} BGP, {} BFD sessions, {} VRRP groups judged",
            self.change.device,
            steps.join(", "),
            devices.join(", "),
            self.lost(),
            self.sent(),
            flows.join("; "),
            self.routers,
            self.bgp,
            self.bfd,
            self.vrrp,
        );
        if self.bad.is_empty() {
            detail.push_str(": 0 drops, 0 transitions");
        } else {
            detail.push_str(&format!(": {}", self.bad.join("; ")));
        }
        Figure {
            name: format!("8 mesh change: {}", self.what),
            value: Some(self.change.secs),
            unit: "s".into(),
            detail,
            ok: self.ok(),
        }
    }
}

/// Runs one phase: snapshots of the unchanged routers, pings started,
/// `change` (the add or the removal), a second of traffic after it, the
/// pings counted, snapshots again, judged against `before`.
fn phase(
    what: String,
    routers: &[RouterNode],
    before: &BTreeMap<String, Snapshot>,
    flows: &[Flow],
    dir: &Path,
    change: impl FnOnce() -> Result<Change, String>,
) -> Result<Phase, String> {
    let at_start = snapshots(routers)?;
    let pings = Pings::start(flows, dir)?;
    std::thread::sleep(Duration::from_secs(1));
    let changed = change();
    std::thread::sleep(Duration::from_secs(1));
    let counted = pings.finish();
    let change = changed?;
    let after = snapshots(routers)?;
    let mut bad = Vec::new();
    let (mut bgp, mut bfd, mut vrrp) = (0, 0, 0);
    for r in routers {
        let (Some(b0), Some(s), Some(a)) = (
            before.get(&r.name),
            at_start.get(&r.name),
            after.get(&r.name),
        ) else {
            continue;
        };
        // Judged: the sessions and groups there were before check 8 began
        // (none of a device it added); their counters from this phase's
        // start.
        let judged = Snapshot {
            bgp: s
                .bgp
                .iter()
                .filter(|(k, _)| b0.bgp.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            bfd: s
                .bfd
                .iter()
                .filter(|(k, _)| b0.bfd.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            vrrp: s
                .vrrp
                .iter()
                .filter(|(k, _)| b0.vrrp.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            vrrp_at: s.vrrp_at,
        };
        let window = match (s.vrrp_at, a.vrrp_at) {
            (Some(x), Some(y)) => y.saturating_duration_since(x),
            _ => Duration::ZERO,
        };
        bgp += judged.bgp.len();
        bfd += judged.bfd.len();
        vrrp += judged.vrrp.len();
        bad.extend(
            judge(&judged, a, window)
                .into_iter()
                .map(|x| format!("{}: {x}", r.name)),
        );
    }
    Ok(Phase {
        what,
        change,
        flows: counted,
        bgp,
        bfd,
        vrrp,
        routers: routers.len(),
        bad,
    })
}

/// Runs check 8 for each of `kinds`: the device added, then removed, each
/// a phase with its figure. `dir`: where the pings write (removed). The
/// figures of the phases that ran, and why a phase could not run (the
/// phases after it are not run).
pub fn check(
    inv: &Inventory,
    grower: &dyn Grower,
    kinds: &[DeviceKind],
    dir: &Path,
) -> (Vec<Figure>, Option<String>) {
    let mut figures = Vec::new();
    let error = run_phases(inv, grower, kinds, dir, &mut figures).err();
    let _ = std::fs::remove_dir_all(dir);
    (figures, error)
}

fn run_phases(
    inv: &Inventory,
    grower: &dyn Grower,
    kinds: &[DeviceKind],
    dir: &Path,
    figures: &mut Vec<Figure>,
) -> Result<(), String> {
    let flows = flows(inv);
    if flows.is_empty() {
        return Err("no VMs in the lab to send traffic from".into());
    }
    // Every router of the lab when check 8 began: none of them is changed.
    let routers = inv.routers.clone();
    let before = snapshots(&routers)?;
    for &kind in kinds {
        if super::signal::interrupted() {
            break;
        }
        let k = kind.as_str();
        eprintln!("lab check: check 8, a {k} added under traffic");
        let added = phase(format!("{k} added"), &routers, &before, &flows, dir, || {
            grower.add(kind)
        })?;
        let name = added.change.device.clone();
        figures.push(added.figure());
        eprintln!("lab check: check 8, {k} {name} removed under traffic");
        let removed = phase(
            format!("{k} removed"),
            &routers,
            &before,
            &flows,
            dir,
            || grower.remove(kind, &name),
        )?;
        figures.push(removed.figure());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_output_counts_requests_sent_and_lost() {
        let text = "PING 100.65.0.1 (100.65.0.1) 56(84) bytes of data.\n\
            [1765000000.000001] 64 bytes from 100.65.0.1: icmp_seq=1 ttl=64 time=0.5 ms\n\
            [1765000000.010001] 64 bytes from 100.65.0.1: icmp_seq=2 ttl=64 time=0.5 ms\n\
            [1765000000.040001] 64 bytes from 100.65.0.1: icmp_seq=5 ttl=64 time=0.5 ms\n\
            [1765000000.040002] 64 bytes from 100.65.0.1: icmp_seq=5 ttl=64 time=0.5 ms (DUP!)\n\
            [1765000000.050001] 64 bytes from 100.65.0.1: icmp_seq=6 ttl=64 time=0.5 ms\n\
            From 100.65.0.1 icmp_seq=7 Destination Host Unreachable\n";
        assert_eq!(ping_loss(text), (6, 2), "3 and 4 lost, 7 not answered");
        assert_eq!(ping_loss(""), (0, 0));
    }

    #[test]
    fn bgp_and_bfd_sessions_are_read_from_frrs_json() {
        let bgp = r#"{"default":{"vrfId":0,"vrfName":"default",
            "172.27.0.2":{"bgpState":"Established","connectionsEstablished":1,"connectionsDropped":0},
            "172.27.0.3":{"bgpState":"Active","connectionsEstablished":2,"connectionsDropped":2}}}"#;
        let s = bgp_sessions(bgp).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s["default/172.27.0.3"],
            Bgp {
                state: "Active".into(),
                established: 2,
                dropped: 2
            }
        );
        assert!(bgp_sessions("not json").is_err());
        let peers = r#"[{"multihop":false,"peer":"172.27.0.2","local":"172.27.0.1","vrf":"default","status":"up"}]"#;
        let counters = r#"[{"multihop":false,"peer":"172.27.0.2","local":"172.27.0.1","vrf":"default","session-up":1,"session-down":3}]"#;
        let b = bfd_sessions(peers, counters).unwrap();
        assert_eq!(
            b["default/172.27.0.2/172.27.0.1/"],
            Bfd {
                status: "up".into(),
                down_events: 3
            }
        );
    }

    fn snap(dropped: u64, bfd_down: u64, vrrp: (&str, u64)) -> Snapshot {
        let mut s = Snapshot::default();
        s.bgp.insert(
            "default/172.27.0.2".into(),
            Bgp {
                state: "Established".into(),
                established: 1 + dropped,
                dropped,
            },
        );
        s.bfd.insert(
            "default/172.27.0.2".into(),
            Bfd {
                status: "up".into(),
                down_events: bfd_down,
            },
        );
        s.vrrp.insert(
            "acme-app-dc1/br1".into(),
            Vrrp {
                state: vrrp.0.into(),
                since_secs: vrrp.1,
            },
        );
        s
    }

    #[test]
    fn drops_and_transitions_are_found_and_nothing_else() {
        let before = snap(0, 0, ("MASTER", 100));
        let ten = Duration::from_secs(10);
        assert!(judge(&before, &snap(0, 0, ("MASTER", 110)), ten).is_empty());
        // Rounding: a second less is not a transition.
        assert!(judge(&before, &snap(0, 0, ("MASTER", 109)), ten).is_empty());
        let bad = judge(&before, &snap(1, 1, ("MASTER", 3)), ten);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("BGP default/172.27.0.2: dropped 1"));
        assert!(bad[1].starts_with("BFD default/172.27.0.2: down 1"));
        assert!(bad[2].starts_with("VRRP acme-app-dc1/br1: a transition 3 s"));
        let bad = judge(&before, &snap(0, 0, ("BACKUP", 110)), ten);
        assert_eq!(bad, ["VRRP acme-app-dc1/br1: MASTER -> BACKUP"]);
        // A session that went away is a drop; one that was never up is not
        // judged.
        let mut gone = snap(0, 0, ("MASTER", 110));
        gone.bgp.clear();
        gone.bfd.clear();
        assert_eq!(judge(&before, &gone, ten).len(), 2);
        let mut down = before.clone();
        down.bgp
            .values_mut()
            .for_each(|b| b.state = "Active".into());
        assert!(judge(&down, &gone, ten)
            .iter()
            .all(|b| !b.starts_with("BGP")));
    }

    #[test]
    fn flows_run_inside_each_site_and_across_sites() {
        use crate::inventory::Vm;
        let vm = |port: &str, site: &str, last: u8| Vm {
            tenant: "acme".into(),
            network: "app".into(),
            port: port.into(),
            hypervisor: format!("hv-{site}"),
            site: site.into(),
            ns: format!("vxt-{port}"),
            address: Ipv4Addr::new(100, 65, 0, last),
            prefix_len: 24,
            gateway: Ipv4Addr::new(100, 65, 0, if site == "dc1" { 1 } else { 4 }),
        };
        let inv = Inventory {
            vms: vec![vm("acme-app2", "dc2", 11), vm("acme-app1", "dc1", 10)],
            ..Default::default()
        };
        let f = flows(&inv);
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "acme-app1 -> its dc1 gateway",
                "acme-app2 -> its dc2 gateway",
                "acme-app1 -> acme-app2"
            ]
        );
        assert_eq!(f[2].dst, Ipv4Addr::new(100, 65, 0, 11));
        assert_eq!(f[2].scope, "across sites");
        assert!(flows(&Inventory::default()).is_empty());
    }
}
