//! Throughput: iperf3 TCP between two VMs of one tenant in different sites
//! (through WireGuard and VXLAN) against the raw underlay between two
//! routers' namespaces of different sites, in the same run, as a ratio.
//! Runs after the captures stop (raw underlay TCP is plaintext by design).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use vxguard_compiler::policy::CompiledPolicy;

use super::expect::{evaluate, Probe};
use super::probe::{self, ChildGuard};
use super::report::Figure;
use crate::inventory::Inventory;

const PORT: u16 = 5201;

#[derive(Debug, thiserror::Error)]
pub enum ThroughputError {
    #[error("no {0} in the lab")]
    Missing(String),
    #[error("{0}")]
    Probe(#[from] probe::ProbeError),
    #[error("iperf3 {what}: {reason}")]
    Iperf { what: String, reason: String },
}

/// Received bits per second from `iperf3 -J` client output.
pub fn received_bps(json: &str) -> Option<f64> {
    let v: Value = serde_json::from_str(json).ok()?;
    v["end"]["sum_received"]["bits_per_second"].as_f64()
}

/// One iperf3 run: server in `server_ns` on `addr`, client in `client_ns`.
fn iperf(
    server_ns: &str,
    client_ns: &str,
    addr: Ipv4Addr,
    secs: u32,
    what: &str,
) -> Result<f64, ThroughputError> {
    let a = addr.to_string();
    let port = PORT.to_string();
    let child = Command::new("ip")
        .args([
            "netns", "exec", server_ns, "iperf3", "-s", "-1", "-B", &a, "-p", &port,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ThroughputError::Iperf {
            what: what.into(),
            reason: e.to_string(),
        })?;
    let _server = ChildGuard {
        what: format!("iperf3 server in {server_ns}"),
        child: Some(child),
    };
    std::thread::sleep(Duration::from_millis(500));
    let out = probe::run_in(
        client_ns,
        &[
            "iperf3",
            "-c",
            &a,
            "-p",
            &port,
            "-t",
            &secs.to_string(),
            "-J",
            "--connect-timeout",
            "3000",
        ],
    )?;
    received_bps(&out).ok_or_else(|| ThroughputError::Iperf {
        what: what.into(),
        reason: "no end.sum_received.bits_per_second in its JSON".into(),
    })
}

/// Runs both measurements and the ratio.
pub fn check(
    inv: &Inventory,
    policies: &BTreeMap<String, CompiledPolicy>,
    secs: u32,
) -> Result<Vec<Figure>, ThroughputError> {
    // A same-tenant pair across sites whose policy lets iperf3's port in.
    let (a, b) = inv
        .vms
        .iter()
        .flat_map(|a| inv.vms.iter().map(move |b| (a, b)))
        .find(|(a, b)| {
            a.tenant == b.tenant
                && a.site != b.site
                && policies
                    .get(&a.tenant)
                    .is_some_and(|p| evaluate(p, a.address, b.address, Probe::Tcp(PORT)).allowed())
        })
        .ok_or_else(|| {
            ThroughputError::Missing(format!("tenant VM pair across sites allowed on tcp/{PORT}"))
        })?;
    let (ra, rb) = inv
        .routers
        .iter()
        .flat_map(|x| inv.routers.iter().map(move |y| (x, y)))
        .find(|(x, y)| x.site != y.site)
        .ok_or_else(|| ThroughputError::Missing("routers in two sites".into()))?;
    let tenant = iperf(&b.ns, &a.ns, b.address, secs, "tenant")?;
    let raw = iperf(&rb.ns, &ra.ns, rb.underlay_address, secs, "underlay")?;
    let mbps = |x: f64| x / 1e6;
    Ok(vec![
        Figure {
            name: "throughput tenant across sites".into(),
            value: Some(mbps(tenant)),
            unit: "Mbit/s".into(),
            detail: format!(
                "{} -> {} ({}), iperf3 TCP {secs} s",
                a.port, b.port, a.tenant
            ),
            ok: tenant > 0.0,
        },
        Figure {
            name: "throughput raw underlay".into(),
            value: Some(mbps(raw)),
            unit: "Mbit/s".into(),
            detail: format!("{} -> {} underlay addresses", ra.name, rb.name),
            ok: raw > 0.0,
        },
        Figure {
            name: "throughput ratio tenant/underlay".into(),
            value: Some(tenant / raw),
            unit: "".into(),
            detail: "same run".into(),
            ok: true,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iperf3_json_gives_the_received_rate() {
        let j = r#"{"end":{"sum_sent":{"bits_per_second":2e9},"sum_received":{"bits_per_second":1.5e9}}}"#;
        assert_eq!(received_bps(j), Some(1.5e9));
        assert_eq!(received_bps("{}"), None);
        assert_eq!(received_bps("not json"), None);
    }
}
