//! `vxguard lab down`: removes what `lab up` made, working only from the
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
    #[error("{} step(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    Steps(Vec<String>),
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

/// What a router's realiser may have made beyond its record (it records
/// a build after it finished): daemons by the pid files in its run
/// directory and in FRR's per-namespace directory, wireguard-go sockets
/// named with its id, and its VRF namespaces (`<router ns>-<vrf>`).
fn sweep(ns: &str, id: &str, run: &Path, failed: &mut Vec<String>) {
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
