//! The realised router's op-mode answers (`/show`), read from its
//! daemons and the kernel, in the shapes VyOS prints them
//! ([`crate::opmode`] formats; `crate::router` asks):
//!
//! - `bgp ...`, `bfd peers ...`: FRR's own text, `vtysh -N <ns> -c "show
//!   bgp ..."` in the router namespace, as VyOS's `vtysh_wrapper.sh` and
//!   `show-bfd.xml.in` run it;
//! - `vrrp`: keepalived's JSON dump (`SIGRTMIN+2`, `/tmp/keepalived.json`,
//!   what `op_mode/vrrp.py --summary` reads), for every keepalived of the
//!   router, as VyOS's table; `VRRP is not running` when none runs;
//! - `interfaces wireguard <wg> summary`: `wg show <dev>` (1.4's command),
//!   the Linux name replaced by VyOS's; `interfaces wireguard <wg> dump`
//!   (lab-internal) is `wg show <dev> dump`, which the router formats as
//!   1.5's `show_summary`;
//! - `interfaces counters`: `ip -s -j link` of the router namespace and its
//!   VRF namespaces, up interfaces only, under their VyOS names;
//! - `system uptime`: /proc/uptime and /proc/loadavg (the host's: the lab's
//!   routers share its CPUs); `system memory` stays the router's default.
//!
//! keepalived writes its dump to one host-wide file: dumps are taken one at
//! a time on the host (a mutex in this process, an `flock` across the lab's
//! router processes: without it, four routers asked at once removed each
//! other's dumps and answered `VRRP data is not available`), and a dump is
//! accepted only when every group in it is on one of this router's
//! interfaces (Linux names carry the router's id, unique on the host).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vyos_tree::ConfigTree;

use super::run::{alive, in_ns, ip, netns_exists, run, RunDir};
use super::types::Plan;
use crate::opmode;

/// keepalived's JSON dump file (keepalived 2.2, `vrrp_json.c`).
const KEEPALIVED_JSON: &str = "/tmp/keepalived.json";

/// Taken (`flock`) around each dump by every lab router on the host.
const KEEPALIVED_LOCK: &str = "/tmp/keepalived.json.vxguard-lab.lock";

static DUMP: Mutex<()> = Mutex::new(());

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Answers `path` from the daemons; `None` for what the router answers
/// from the configuration (or when nothing of it is built).
pub fn show(
    plan: &Plan,
    rd: &RunDir,
    path: &[String],
    running: &ConfigTree,
) -> Option<Result<String, String>> {
    let words: Vec<&str> = path.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["bgp", rest @ ..] => {
            plan.frr.as_ref()?;
            Some(vtysh(&plan.router_ns, "bgp", rest).map(|t| vyos_names(plan, &t)))
        }
        ["bfd", "peers", rest @ ..] => {
            plan.frr.as_ref()?;
            let mut w = vec!["peers"];
            w.extend_from_slice(rest);
            Some(vtysh(&plan.router_ns, "bfd", &w).map(|t| vyos_names(plan, &t)))
        }
        ["vrrp"] => {
            if plan.keepalived.is_empty() {
                return None;
            }
            Some(vrrp(plan, rd, running))
        }
        ["interfaces", "wireguard", ifname, what @ ("summary" | "dump")] => {
            let w = plan.wireguard.iter().find(|w| w.vyos == *ifname)?;
            let mut args = vec!["wg", "show", w.dev.as_str()];
            if *what == "dump" {
                args.push("dump");
            }
            Some(
                in_ns(&plan.netns_of(&w.place), &args)
                    .map(|t| {
                        if *what == "dump" {
                            t
                        } else {
                            t.replacen(
                                &format!("interface: {}\n", w.dev),
                                &format!("interface: {ifname}\n"),
                                1,
                            )
                        }
                    })
                    .map_err(|e| format!("{e}\n")),
            )
        }
        ["interfaces", "counters"] => Some(counters(plan)),
        ["system", "uptime"] => Some(uptime()),
        _ => None,
    }
}

/// `show <what> <words>` through vtysh in the router namespace. Words are
/// the API's path: only letters, digits and `.:/-` pass (they become one
/// vtysh command, never a shell's).
fn vtysh(ns: &str, what: &str, words: &[&str]) -> Result<String, String> {
    if let Some(w) = words.iter().find(|w| {
        w.is_empty()
            || !w
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:/-".contains(c))
    }) {
        return Err(format!("Invalid command: {w:?}\n"));
    }
    let cmd = format!("show {what} {}", words.join(" "));
    in_ns(ns, &["vtysh", "-N", ns, "-c", cmd.trim_end()]).map_err(|e| format!("{e}\n"))
}

/// FRR's text with the lab's Linux interface names (`<id>wg0`) as VyOS
/// names them (`wg0`): whole words only.
fn vyos_names(plan: &Plan, text: &str) -> String {
    let mut names: Vec<(&str, &str)> = plan
        .wireguard
        .iter()
        .map(|w| (w.dev.as_str(), w.vyos.as_str()))
        .chain(
            plan.vxlans
                .iter()
                .map(|v| (v.dev.as_str(), v.vyos.as_str())),
        )
        .chain(
            plan.bridges
                .iter()
                .map(|b| (b.dev.as_str(), b.vyos.as_str())),
        )
        .collect();
    // Longest first: `f1br1` must not rename inside `f1br10`.
    names.sort_by_key(|(d, _)| std::cmp::Reverse(d.len()));
    text.split_inclusive(|c: char| c.is_whitespace() || c == ',')
        .map(|w| {
            let core = w.trim_end_matches(|c: char| c.is_whitespace() || c == ',');
            match names.iter().find(|(d, _)| *d == core) {
                Some((_, v)) => format!("{v}{}", &w[core.len()..]),
                None => w.to_string(),
            }
        })
        .collect()
}

/// The pid of a keepalived (parent) of the router, if it runs.
fn keepalived_pid(rd: &RunDir, netns: &str) -> Option<String> {
    let pid = std::fs::read_to_string(super::vrrp::files(rd, netns)[1].as_path())
        .ok()?
        .trim()
        .to_string();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "keepalived" && alive(&pid)).then_some(pid)
}

/// `show vrrp`: every running keepalived's JSON dump, as VyOS's table.
fn vrrp(plan: &Plan, rd: &RunDir, running: &ConfigTree) -> Result<String, String> {
    let configured = running
        .root()
        .get(&["high-availability", "vrrp", "group"])
        .is_some_and(|g| g.children().next().is_some());
    if !configured {
        return Ok("VRRP not configured!\n".into());
    }
    match vrrp_rows(plan, rd)? {
        None => Ok("VRRP is not running\n".into()),
        Some(rows) => Ok(opmode::vrrp_summary(&rows)),
    }
}

/// Every VRRP group of the router's keepalived processes (VyOS's interface
/// names); `None` when none runs.
pub(crate) fn vrrp_rows(plan: &Plan, rd: &RunDir) -> Result<Option<Vec<opmode::VrrpRow>>, String> {
    let pids: Vec<String> = plan
        .keepalived
        .iter()
        .filter_map(|k| keepalived_pid(rd, &k.netns))
        .collect();
    if pids.is_empty() {
        return Ok(None);
    }
    // Linux name -> VyOS name of the interfaces VRRP runs on.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for b in &plan.bridges {
        names.insert(b.dev.clone(), b.vyos.clone());
        if let Some(l3) = &b.l3 {
            names.insert(l3.dev.clone(), b.vyos.clone());
        }
    }
    for w in &plan.wireguard {
        names.insert(w.dev.clone(), w.vyos.clone());
    }
    for v in &plan.vxlans {
        names.insert(v.dev.clone(), v.vyos.clone());
    }
    let mut rows = Vec::new();
    for pid in pids {
        let mut got = keepalived_dump(&pid, &names)?;
        for r in &mut got {
            if let Some(v) = names.get(&r.interface) {
                r.interface = v.clone();
            }
        }
        rows.extend(got);
    }
    Ok(Some(rows))
}

/// An exclusive `flock` on a host-wide file, held until dropped (closing
/// the file releases it); none when the file cannot be opened.
struct HostLock {
    _file: Option<std::fs::File>,
}

impl HostLock {
    fn take() -> HostLock {
        use std::os::unix::io::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(KEEPALIVED_LOCK)
            .ok();
        if let Some(f) = &f {
            // SAFETY: flock on a descriptor this struct owns.
            unsafe {
                libc::flock(f.as_raw_fd(), libc::LOCK_EX);
            }
        }
        HostLock { _file: f }
    }
}

/// Asks keepalived `pid` for its JSON dump and reads it (within 2 s).
fn keepalived_dump(
    pid: &str,
    ours: &BTreeMap<String, String>,
) -> Result<Vec<opmode::VrrpRow>, String> {
    let _one = DUMP.lock().unwrap_or_else(|e| e.into_inner());
    // And one at a time on the host: every lab router is its own process.
    let _host = HostLock::take();
    let file = Path::new(KEEPALIVED_JSON);
    let _ = std::fs::remove_file(file);
    let sig = (libc::SIGRTMIN() + 2).to_string();
    run(&["kill", "-s", &sig, pid]).map_err(|e| format!("{e}\n"))?;
    let t = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Some(rows) = opmode::keepalived_json_rows(&text, now()) {
                if rows.iter().all(|r| ours.contains_key(&r.interface)) {
                    return Ok(rows);
                }
            }
        }
        if t.elapsed() > Duration::from_secs(2) {
            // vrrp.py's VRRPNoData.
            return Err("VRRP data is not available (wait time exceeded)\n".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `show interfaces counters` of the router namespace and its VRFs'.
fn counters(plan: &Plan) -> Result<String, String> {
    // Linux name -> VyOS name per namespace; lab-internal links (a
    // bridge's veth port, its layer-3 end in a VRF) are left out.
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut namespaces = vec![plan.router_ns.clone()];
    namespaces.extend(plan.vrfs.iter().map(|v| v.netns.clone()));
    for ns in namespaces {
        if !netns_exists(&ns) {
            continue;
        }
        let json = ip(&ns, &["-s", "-j", "link", "show"]).map_err(|e| format!("{e}\n"))?;
        let internal: Vec<String> = plan
            .bridges
            .iter()
            .filter_map(|b| b.l3.as_ref())
            .flat_map(|l3| [l3.port.clone(), l3.dev.clone()])
            .collect();
        let in_router = ns == plan.router_ns;
        let rename = |dev: &str| -> Option<String> {
            let vyos = plan
                .bridges
                .iter()
                .filter(|b| b.l3.as_ref().is_none_or(|_| in_router))
                .find(|b| b.dev == dev)
                .map(|b| b.vyos.clone())
                .or_else(|| {
                    plan.wireguard
                        .iter()
                        .find(|w| w.dev == dev)
                        .map(|w| w.vyos.clone())
                })
                .or_else(|| {
                    plan.vxlans
                        .iter()
                        .find(|v| v.dev == dev)
                        .map(|v| v.vyos.clone())
                });
            match vyos {
                Some(v) => Some(v),
                None if internal.iter().any(|i| i == dev) => None,
                // The lab's own links (underlay, loopback) by their names;
                // in a VRF namespace only what the plan built.
                None if in_router => Some(dev.to_string()),
                None => None,
            }
        };
        for r in opmode::ip_link_counters(&json, &rename)? {
            if seen.insert(r.ifname.clone()) {
                rows.push(r);
            }
        }
    }
    Ok(opmode::interface_counters(&rows))
}

/// `show system uptime`.
fn uptime() -> Result<String, String> {
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}\n"));
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    opmode::uptime(&read("/proc/uptime")?, &read("/proc/loadavg")?, cores)
        .ok_or_else(|| "cannot read /proc/uptime or /proc/loadavg\n".into())
}
