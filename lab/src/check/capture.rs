//! Check 4's captures: `tcpdump -w` on every underlay link of the
//! inventory while the other checks run, then each file judged by
//! [`super::pcap::judge`]. Files of a failed capture are kept for reading.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::pcap::{self, Policy};
use super::probe::{self, CaptureProc, ProbeError};
use super::report::CaptureRow;
use super::tenants::Tenants;
use crate::inventory::Inventory;

/// Starts one capture per underlay link (all stopped if one fails).
pub fn start(inv: &Inventory, dir: &Path) -> Result<Vec<CaptureProc>, ProbeError> {
    std::fs::create_dir_all(dir).map_err(|e| ProbeError::Command {
        cmd: format!("mkdir {}", dir.display()),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, l) in inv.underlay_links.iter().enumerate() {
        let file = dir.join(format!("{i:02}-{}-{}.pcap", l.ns, l.ifname));
        out.push(probe::start_capture(&l.ns, &l.ifname, &file, &l.label)?);
    }
    Ok(out)
}

/// What may cross: UDP in the WireGuard port range; never a tenant
/// network, VM or client address, never the marker.
pub fn policy(inv: &Inventory, tenants: &Tenants, clients: &[Ipv4Addr], marker: &str) -> Policy {
    let mut nets: Vec<Ipv4Net> = tenants
        .values()
        .flat_map(|t| t.networks.iter().map(|n| n.cidr))
        .collect();
    nets.extend(
        inv.vms
            .iter()
            .map(|v| Ipv4Net::new(v.address, 32).expect("a /32")),
    );
    nets.extend(clients.iter().map(|a| Ipv4Net::new(*a, 32).expect("a /32")));
    Policy {
        // The mesh's slot B listens one below the platform port
        // (`vxguard_compiler::mesh::Slot::port`).
        wireguard_ports: vec![inv.wg_port.saturating_sub(1)..=inv.wg_port.saturating_add(1024)],
        tenant_nets: nets,
        marker: marker.as_bytes().to_vec(),
        internet: vec![inv.outside.address, crate::underlay::OUTSIDE_GATEWAY],
    }
}

/// Stops every capture and judges its file.
pub fn finish(caps: &mut [CaptureProc], policy: &Policy) -> Vec<CaptureRow> {
    // Let the last packets reach the files.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut rows = Vec::new();
    for c in caps.iter_mut() {
        c.guard.stop();
        let (verdict, error) = match std::fs::read(&c.file) {
            Ok(bytes) => match pcap::judge(&bytes, policy) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            },
            Err(e) => (None, Some(format!("{}: {e}", c.file.display()))),
        };
        let row = CaptureRow {
            link: c.label.clone(),
            file: c.file.display().to_string(),
            verdict,
            error,
        };
        if row.ok() {
            let _ = std::fs::remove_file(&c.file);
        }
        rows.push(row);
    }
    if let Some(dir) = caps.first().and_then(|c| c.file.parent()) {
        let _ = std::fs::remove_dir(dir); // only when empty: failures stay
    }
    rows
}
