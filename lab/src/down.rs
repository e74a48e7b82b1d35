//! `vxguard-lab down`: removes what `lab up` made, working only from the
//! inventory on disk (so it also cleans up after `lab up` crashed half-way,
//! or after the host's processes were killed). Every step is attempted even
//! when an earlier one fails; the errors are reported together at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::inventory::{Inventory, FILE};
use crate::netns::{apply, NetnsRealiser};
use crate::underlay;

#[derive(Debug, thiserror::Error)]
pub enum DownError {
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error("--prefix {0:?}: 1-4 lowercase letters or digits")]
    BadPrefix(String),
    #[error("{} step(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    Steps(Vec<String>),
}

/// `vxguard-lab down`: the lab in the state directory (the default one
/// unless only `--prefix` is given), then what carries the prefix.
pub fn run(a: &crate::DownArgs) -> Result<(), DownError> {
    let state = match (&a.state, &a.prefix) {
        (Some(s), _) => Some(s.clone()),
        (None, None) => Some(crate::DEFAULT_STATE.into()),
        (None, Some(_)) => None,
    };
    if let Some(s) = state {
        down(&s)?;
    }
    if let Some(p) = &a.prefix {
        let n = sweep_prefix(p)?;
        eprintln!("lab down: {n} namespaces named {p}-* removed");
    }
    Ok(())
}

/// Tears the lab in `state` down; a missing inventory means nothing is up.
pub fn down(state: &Path) -> Result<(), DownError> {
    if !state.join(FILE).exists() {
        eprintln!(
            "lab down: no lab inventory in {}; nothing to do",
            state.display()
        );
        return Ok(());
    }
    let inv = Inventory::load(state)?;
    let mut failed = Vec::new();
    for p in inv.processes.iter().rev() {
        stop(p.pid, &p.what);
    }
    for r in &inv.routers {
        // The realiser records what it built; tearing that down stops the
        // daemons it started (wireguard-go, FRR, keepalived). A router
        // killed in the middle of a commit may have started more than its
        // record says: `sweep` finds those by their pid files.
        let run = r.state_dir.join("run");
        if !apply::netns_exists(&r.ns) {
            // Gone already (an earlier, interrupted `down`): only leftovers.
            sweep(&r.ns, &r.id, &run, &mut failed);
            continue;
        }
        match NetnsRealiser::new(&r.ns, &r.id, &run) {
            Ok(real) => {
                if let Err(e) = real.teardown() {
                    failed.push(format!("router {}: {e}", r.name));
                }
            }
            Err(e) => failed.push(format!("router {}: {e}", r.name)),
        }
        sweep(&r.ns, &r.id, &run, &mut failed);
    }
    for h in &inv.hypervisors {
        // Its own record lists the daemons, links and namespaces it made.
        if h.run_dir.join(crate::hypervisor::RECORD).exists() {
            if let Err(e) = crate::hypervisor::teardown(&h.run_dir) {
                failed.push(format!("hypervisor {}: {e}", h.name));
            }
        }
    }
    for ns in inv.namespaces.iter().rev() {
        if let Err(e) = underlay::delete_ns(ns) {
            failed.push(format!("namespace {ns}: {e}"));
        }
    }
    // The prefix is the lab's: whatever still carries it (a hypervisor
    // killed before it wrote its record, say) is this lab's leftover.
    if let Err(DownError::Steps(s)) = sweep_prefix(&inv.prefix) {
        failed.extend(s);
    }
    if failed.is_empty() {
        if let Err(e) = std::fs::remove_dir_all(state) {
            failed.push(format!("{}: {e}", state.display()));
        }
    }
    if failed.is_empty() {
        eprintln!(
            "lab down: {} namespaces, {} processes removed",
            inv.namespaces.len(),
            inv.processes.len()
        );
        Ok(())
    } else {
        Err(DownError::Steps(failed))
    }
}

/// Removes every namespace named `<prefix>-*`, the processes in them and
/// the lab routers serving them, and stale wireguard-go sockets of the
/// prefix's devices: what a lab with that prefix left behind when its
/// state directory is lost (an interrupted run of another session, say).
/// Returns how many namespaces it removed.
pub fn sweep_prefix(prefix: &str) -> Result<usize, DownError> {
    if !crate::inventory::valid_prefix(prefix) {
        return Err(DownError::BadPrefix(prefix.into()));
    }
    let owned = format!("{prefix}-");
    let mut failed = Vec::new();
    // Lab routers listen on the host's loopback, outside their namespace:
    // found by the namespace they serve (`--netns <prefix>-...`).
    for pid in lab_routers(&owned) {
        stop(pid, "lab router");
    }
    let names = namespaces_of(prefix);
    for ns in &names {
        if let Ok(pids) = apply::run(&["ip", "netns", "pids", ns]) {
            for pid in pids.split_whitespace().filter_map(|p| p.parse().ok()) {
                stop(pid, &format!("a process in {ns}"));
            }
        }
        let _ = std::fs::remove_dir_all(Path::new("/var/run/frr").join(ns));
    }
    for ns in &names {
        if let Err(e) = underlay::delete_ns(ns) {
            failed.push(format!("namespace {ns}: {e}"));
        }
    }
    // Device ids start with the prefix's last character (`node_id`); a
    // socket nobody answers on any more is a dead wireguard-go's.
    if let (Some(c), Ok(entries)) = (
        prefix.chars().last(),
        std::fs::read_dir(apply::WG_SOCKET_DIR),
    ) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(c)
                && name.ends_with(".sock")
                && std::os::unix::net::UnixStream::connect(e.path()).is_err()
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if failed.is_empty() {
        Ok(names.len())
    } else {
        Err(DownError::Steps(failed))
    }
}

/// The namespaces named `<prefix>-*` on this host, sorted.
pub fn namespaces_of(prefix: &str) -> Vec<String> {
    let owned = format!("{prefix}-");
    let mut names: Vec<String> = std::fs::read_dir("/var/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Pids of lab router processes whose `--netns` starts with `owned`:
/// `vxguard-lab router ...` (the lab binary, issue 16), and `... lab router
/// ...` as the production binary ran them before, so a lab started by an
/// older build is still taken down.
fn lab_routers(owned: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            let is_router = args
                .windows(2)
                .any(|w| w[1] == b"router" && (w[0] == b"lab" || w[0].ends_with(b"vxguard-lab")));
            is_router
                && args
                    .windows(2)
                    .any(|w| w[0] == b"--netns" && w[1].starts_with(owned.as_bytes()))
        })
        .collect()
}

/// What a router's realiser may have made beyond its record (it records
/// a build after it finished): daemons by the pid files in its run
/// directory and in FRR's per-namespace directory, wireguard-go sockets
/// named with its id, and its VRF namespaces (`<router ns>-<vrf>`).
pub(crate) fn sweep(ns: &str, id: &str, run: &Path, failed: &mut Vec<String>) {
    let daemons = [
        "wireguard-go",
        "keepalived",
        "zebra",
        "bgpd",
        "bfdd",
        "watchfrr",
    ];
    let frr_dir = Path::new("/var/run/frr").join(ns);
    for dir in [run, frr_dir.as_path()] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "pid") {
                continue;
            }
            let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok())
            else {
                continue;
            };
            // Only a daemon the realiser starts, never a reused pid.
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if daemons.contains(&comm.trim()) {
                stop(pid, comm.trim());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&frr_dir);
    let wg_prefix = format!("{id}wg");
    if let Ok(entries) = std::fs::read_dir(apply::WG_SOCKET_DIR) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&wg_prefix) && name.ends_with(".sock") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let vrf_prefix = format!("{ns}-");
    if let Ok(entries) = std::fs::read_dir("/var/run/netns") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&vrf_prefix) {
                if let Err(e) = underlay::delete_ns(&name) {
                    failed.push(format!("namespace {name}: {e}"));
                }
            }
        }
    }
}

/// SIGTERM, then SIGKILL after 3 s; a pid that is gone is left alone.
pub fn stop(pid: u32, what: &str) {
    let p = pid.to_string();
    if !apply::alive(&p) {
        return;
    }
    let _ = apply::run(&["kill", &p]);
    let t = Instant::now();
    while apply::alive(&p) && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if apply::alive(&p) {
        eprintln!("lab down: {what} (pid {pid}) ignored SIGTERM; killing it");
        let _ = apply::run(&["kill", "-9", &p]);
    }
}
