//! Check 7: one router of a gateway pair goes down (its underlay link, so
//! its WireGuard, VXLAN and VRRP adverts go with it) while a stream of TCP
//! connects runs through the gateways; the interruption is the gap between
//! the last success before and the first success after. The link comes
//! back up whatever happens. Two rounds where the lab has the VMs for
//! them: the stream inside the database's site (the gateway pair's VRRP),
//! then from another site with that site's gateway down (the mesh: the
//! other sites keep reaching the hypervisor through its direct peers).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::probe::{self, OnDrop};
use super::report::Figure;
use super::tenants::{self, Tenants};
use crate::inventory::{Inventory, RouterNode, Vm};

pub const TENANT: &str = "finance";
const PORT: u16 = 5432;
const EVERY: Duration = Duration::from_millis(20);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
/// How long the stream may stay broken before the check gives up.
const MAX_OUTAGE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum FailoverError {
    #[error("no {what} in the lab: {why}")]
    Missing { what: String, why: String },
    #[error("{0}")]
    Probe(#[from] probe::ProbeError),
    #[error("before the failure, {0} did not connect at all")]
    Baseline(String),
}

/// One attempt of the stream: when it ended (since the stream started) and
/// whether it connected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attempt {
    pub at: f64,
    pub ok: bool,
}

/// The interruption the cut caused (seconds since the start): the longest
/// gap between consecutive successes from the last success before `cut`
/// on, among gaps that began before `restore` (the link's return). Not
/// simply "the first success after the cut": connects already on their way
/// when the link goes down (or before the router notices) still succeed.
/// `None` if the stream never came back (or never worked before).
pub fn interruption(attempts: &[Attempt], cut: f64, restore: f64) -> Option<f64> {
    let before = attempts
        .iter()
        .filter(|a| a.ok && a.at <= cut)
        .map(|a| a.at)
        .next_back()?;
    let ok: Vec<f64> = attempts
        .iter()
        .filter(|a| a.ok && a.at >= before)
        .map(|a| a.at)
        .collect();
    ok.windows(2)
        .filter(|w| w[0] < restore)
        .map(|w| w[1] - w[0])
        .reduce(f64::max)
}

/// The longest gap between consecutive successes in `[from, to]`.
pub fn longest_gap(attempts: &[Attempt], from: f64, to: f64) -> f64 {
    let ok: Vec<f64> = attempts
        .iter()
        .filter(|a| a.ok && a.at >= from && a.at <= to)
        .map(|a| a.at)
        .collect();
    ok.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

/// The values of `key` (e.g. `advert_int`) in the router's keepalived
/// configurations (its run directory), each once, in the order found.
pub fn keepalived_values(state_dir: &Path, key: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![state_dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "conf") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    for l in t.lines() {
                        let Some(v) = l.trim().strip_prefix(key) else {
                            continue;
                        };
                        if !v.starts_with(' ') {
                            continue;
                        }
                        if !found.contains(&v.trim().to_string()) {
                            found.push(v.trim().to_string());
                        }
                    }
                }
            }
        }
    }
    found
}

/// `advert_int` values of the router's keepalived configurations, or a
/// note that it has none written.
pub fn advert_interval(state_dir: &Path) -> String {
    let found = keepalived_values(state_dir, "advert_int");
    if found.is_empty() {
        "unknown (no keepalived configuration found)".into()
    } else {
        format!("{} s", found.join(", "))
    }
}

/// The longest `preempt_delay` of the router's groups: how long after its
/// return it may still take a gateway back.
pub fn preempt_delay(state_dir: &Path) -> Duration {
    keepalived_values(state_dir, "preempt_delay")
        .iter()
        .filter_map(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .fold(Duration::ZERO, |a, v| a.max(Duration::from_secs_f64(v)))
}

/// One failover round: a stream from `src` to `dst` while `router` (the
/// preferred gateway of the source's network in its site) is down.
#[derive(Clone, Debug)]
pub struct Round<'a> {
    pub src: &'a Vm,
    pub dst: &'a Vm,
    pub router: &'a RouterNode,
    /// `inside a site` or `across sites`.
    pub scope: &'static str,
}

/// The rounds the lab allows, each from a web server to a database in
/// another network (so the stream is routed by the gateway pair): one
/// inside the database's site (the pair's VRRP failover), one from
/// another site (the mesh: every VTEP is a direct peer of every other,
/// so the other site must not lose the hypervisor with the router).
pub fn plan<'a>(inv: &'a Inventory, tenants: &Tenants) -> Result<Vec<Round<'a>>, FailoverError> {
    let missing = |what: &str, why: String| FailoverError::Missing {
        what: what.into(),
        why,
    };
    let t = tenants
        .get(TENANT)
        .ok_or_else(|| missing("tenant", format!("{TENANT} is not in vxguard")))?;
    let service = |id: &str| {
        t.services
            .iter()
            .find(|s| s.id.as_str() == id)
            .ok_or_else(|| missing("service", id.into()))
    };
    let db = service("database-servers")?;
    let web = service("web-servers")?;
    let in_ = |v: &Vm, s: &vxguard_compiler::intent::Service| {
        v.tenant == TENANT && s.addresses.iter().any(|a| a.contains(&v.address))
    };
    let dst = inv
        .vms
        .iter()
        .find(|v| in_(v, db))
        .ok_or_else(|| missing("database VM", format!("none of {TENANT}")))?;
    let mut rounds = Vec::new();
    for (scope, same_site) in [("inside a site", true), ("across sites", false)] {
        let Some(src) = inv
            .vms
            .iter()
            .find(|v| in_(v, web) && v.network != dst.network && (v.site == dst.site) == same_site)
        else {
            continue;
        };
        let gw = tenants::first_gateway(t, &src.network, &src.site).ok_or_else(|| {
            missing(
                "gateway",
                format!("{} has none in {}", src.network, src.site),
            )
        })?;
        let router = inv
            .router(&gw)
            .ok_or_else(|| missing("router", format!("{gw} is not in the inventory")))?;
        rounds.push(Round {
            src,
            dst,
            router,
            scope,
        });
    }
    if rounds.is_empty() {
        return Err(missing(
            "web VM",
            "none outside the database network".into(),
        ));
    }
    Ok(rounds)
}

/// Runs check 7: every round of [`plan`], one after the other.
pub fn check(
    inv: &Inventory,
    tenants: &Tenants,
    marker: &str,
) -> Result<Vec<Figure>, FailoverError> {
    let mut figures = Vec::new();
    for r in plan(inv, tenants)? {
        if super::signal::interrupted() {
            break;
        }
        figures.extend(round(&r, marker)?);
    }
    Ok(figures)
}

fn round(r: &Round, marker: &str) -> Result<Vec<Figure>, FailoverError> {
    let (src, dst, router) = (r.src, r.dst, r.router);
    let addr = SocketAddr::from((dst.address, PORT));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let stream = {
        let stop = stop.clone();
        let ns = src.ns.clone();
        let payload = format!("{marker} failover stream");
        std::thread::spawn(move || -> Result<Vec<Attempt>, probe::ProbeError> {
            probe::enter(&ns)?;
            let mut v = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = probe::connect_here(addr, &payload, CONNECT_TIMEOUT).connected();
                v.push(Attempt {
                    at: start.elapsed().as_secs_f64(),
                    ok,
                });
                if let Some(rest) = EVERY.checked_sub(t.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            Ok(v)
        })
    };
    let stop_guard = {
        let stop = stop.clone();
        OnDrop(move || stop.store(true, Ordering::Relaxed))
    };
    std::thread::sleep(Duration::from_secs(2));
    let ns = router.ns.clone();
    let ifname = router.underlay_if.clone();
    let cut = start.elapsed().as_secs_f64();
    // The kernel drops a link's routes when it goes down; the default
    // route (the underlay gateway) must come back with the link, or the
    // router stays cut off from the other site after the check.
    let routes = probe::run(&["ip", "-n", &ns, "route", "show", "default"])?;
    probe::run(&["ip", "-n", &ns, "link", "set", &ifname, "down"])?;
    let link_guard = OnDrop(|| {
        let _ = probe::run(&["ip", "-n", &ns, "link", "set", &ifname, "up"]);
        for r in routes.lines().filter(|l| !l.trim().is_empty()) {
            let mut args = vec!["ip", "-n", &ns, "route", "replace"];
            args.extend(r.split_whitespace());
            let _ = probe::run(&args);
        }
    });
    // Down until the stream has worked again for 2 s, or MAX_OUTAGE.
    let cut_at = Instant::now();
    std::thread::sleep((MAX_OUTAGE).min(Duration::from_secs(3)));
    while cut_at.elapsed() < MAX_OUTAGE && !super::signal::interrupted() {
        std::thread::sleep(Duration::from_millis(500));
        // The stream's results are only read at the end; probe separately.
        if probe::connect(
            &src.ns,
            addr,
            &format!("{marker} failover probe"),
            CONNECT_TIMEOUT,
        )
        .connected()
        {
            std::thread::sleep(Duration::from_secs(2));
            break;
        }
    }
    let restore = start.elapsed().as_secs_f64();
    drop(link_guard);
    // The router returns and takes its gateways back after its preempt
    // delay: watch that too, and 5 s more.
    let preempt = preempt_delay(&router.state_dir);
    std::thread::sleep(preempt + Duration::from_secs(5));
    drop(stop_guard);
    let attempts = stream.join().expect("stream thread")?;
    let end = start.elapsed().as_secs_f64();
    if !attempts.iter().any(|a| a.ok && a.at <= cut) {
        return Err(FailoverError::Baseline(format!(
            "{} -> {}:{PORT}",
            src.port, dst.port
        )));
    }
    let gap = interruption(&attempts, cut, restore);
    let back = longest_gap(&attempts, restore, end);
    let fails = attempts.iter().filter(|a| !a.ok).count();
    let detail = format!(
        "{} -> {}:{PORT} ({}) every {} ms through {}'s pair, {} down ({} {}), VRRP advert_int {}, preempt delay {:?}; {} of {} connects failed",
        src.port,
        dst.port,
        r.scope,
        EVERY.as_millis(),
        router.name,
        router.name,
        router.ns,
        router.underlay_if,
        advert_interval(&router.state_dir),
        preempt,
        fails,
        attempts.len()
    );
    Ok(vec![
        Figure {
            name: format!(
                "7 failover interruption ({} down, {})",
                router.name, r.scope
            ),
            value: gap,
            unit: "s".into(),
            detail,
            ok: gap.is_some(),
        },
        Figure {
            name: format!("7 longest gap after {} returned ({})", router.name, r.scope),
            value: Some(back),
            unit: "s".into(),
            detail: "between successes, from the link's return to the end".into(),
            ok: attempts.iter().any(|a| a.ok && a.at > restore),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(at: f64, ok: bool) -> Attempt {
        Attempt { at, ok }
    }

    #[test]
    fn the_interruption_is_the_longest_gap_while_the_router_is_down() {
        let s = [
            a(0.0, true),
            a(0.5, true),
            a(0.9, true),
            a(1.1, false),
            a(1.4, false),
            a(1.6, true),
            a(1.7, true),
        ];
        assert!((interruption(&s, 1.0, 2.0).unwrap() - 0.7).abs() < 1e-9);
        assert_eq!(interruption(&s[..5], 1.0, 2.0), None);
        assert_eq!(interruption(&s[3..], 1.0, 2.0), None);
        // A connect that was on its way at the cut still succeeds: the
        // outage is the gap after it.
        let late = [
            a(0.9, true),
            a(1.05, true),
            a(1.1, false),
            a(1.4, false),
            a(1.6, true),
            a(1.7, true),
            a(1.9, true),
            a(2.1, true),
            // After the return: another gap, not the cut's.
            a(2.2, false),
            a(2.9, true),
        ];
        assert!((interruption(&late, 1.0, 2.0).unwrap() - 0.55).abs() < 1e-9);
        assert!((longest_gap(&s, 0.0, 2.0) - 0.7).abs() < 1e-9);
        assert!((longest_gap(&s, 1.5, 2.0) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn advert_interval_and_preempt_delay_are_read_from_keepalived_configurations() {
        let d = std::env::temp_dir().join(format!("vxg-adv-{}", std::process::id()));
        std::fs::create_dir_all(d.join("run/ka")).unwrap();
        assert!(advert_interval(&d).starts_with("unknown"));
        std::fs::write(
            d.join("run/ka/x.conf"),
            "vrrp_instance a {\n    advert_int 0.1\n}\n",
        )
        .unwrap();
        assert_eq!(advert_interval(&d), "0.1 s");
        assert_eq!(preempt_delay(&d), Duration::ZERO);
        std::fs::write(
            d.join("run/ka/y.conf"),
            "vrrp_instance b {\n    advert_int 1\n    preempt_delay 5\n}\n\
             vrrp_instance c {\n    preempt_delay 2\n}\n",
        )
        .unwrap();
        assert_eq!(preempt_delay(&d), Duration::from_secs(5));
        let mut adverts = keepalived_values(&d, "advert_int");
        adverts.sort();
        assert_eq!(adverts, ["0.1", "1"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
