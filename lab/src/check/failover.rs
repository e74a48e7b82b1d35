//! Check 7: one router of a gateway pair goes down (its underlay link, so
//! its WireGuard, VXLAN and VRRP adverts go with it) while a stream of TCP
//! connects runs through the gateways; the interruption is the gap between
//! the last success before and the first success after. The link comes
//! back up whatever happens. Two rounds where the lab has the VMs for
//! them: the stream inside the database's site (the gateway pair's VRRP),
//! then from another site with that site's gateway down (the mesh: the
//! other sites keep reaching the hypervisor through its direct peers).
//!
//! With the portal (issue 18, item 6), each round also looks at the
//! tenant's dashboard as people would: before the cut its network's group
//! at the site shows the router as master; the link stays down until the
//! dashboard shows another gateway as master (the collector's next round),
//! at most [`DASHBOARD_WITHIN`]; the time from the cut is a figure.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::api::{ApiError, Portal};
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
/// How long the tenant's dashboard may take to show the router as master
/// before the cut, and another gateway once it is cut: a few collection
/// rounds (every 10 s in scripts/lab-e2e) and the preempt delay.
pub const DASHBOARD_WITHIN: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum FailoverError {
    #[error("no {what} in the lab: {why}")]
    Missing { what: String, why: String },
    #[error("{0}")]
    Probe(#[from] probe::ProbeError),
    #[error("before the failure, {0} did not connect at all")]
    Baseline(String),
    #[error("the tenant's dashboard: {0}")]
    Portal(#[from] ApiError),
}

/// The master(s) a tenant's dashboard shows for its network's gateway
/// group at a site (`Master` of the `health-groups` row `network/site`,
/// its text without markup: `none` when it has none); `None` when the
/// page has no such row (not collected yet).
pub fn dashboard_master(html: &str, network: &str, site: &str) -> Option<String> {
    let table = &html[html.find("id=\"health-groups\"")?..];
    let row = &table[table.find(&format!("<tr data-key=\"{network}/{site}\""))?..];
    let row = &row[..row.find("</tr>")?];
    let cell = &row[row.find("data-label=\"Master\"")?..];
    let cell = &cell[cell.find('>')? + 1..cell.find("</td>")?];
    // The text without tags and comments.
    let mut text = String::new();
    let mut rest = cell;
    while let Some(i) = rest.find('<') {
        text.push_str(&rest[..i]);
        rest = rest[i..].find('>').map_or("", |j| &rest[i + j + 1..]);
    }
    text.push_str(rest);
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Polls the tenant's dashboard every 500 ms until `done` holds for the
/// master it shows (or `within` passes): that master (the last seen if
/// never) and whether `done` held.
fn watch_dashboard(
    portal: &Portal,
    network: &str,
    site: &str,
    within: Duration,
    done: impl Fn(&str) -> bool,
) -> Result<(Option<String>, bool), FailoverError> {
    let t = Instant::now();
    let mut seen = None;
    loop {
        let html = portal.page(&format!("/t/{TENANT}"))?;
        seen = dashboard_master(&html, network, site).or(seen);
        if seen.as_deref().is_some_and(&done) {
            return Ok((seen, true));
        }
        if t.elapsed() > within || super::signal::interrupted() {
            return Ok((seen, false));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
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
/// With `portal`, each round's gateway move is also watched on the
/// tenant's dashboard.
pub fn check(
    inv: &Inventory,
    tenants: &Tenants,
    marker: &str,
    portal: Option<&Portal>,
) -> Result<Vec<Figure>, FailoverError> {
    let mut figures = Vec::new();
    for r in plan(inv, tenants)? {
        if super::signal::interrupted() {
            break;
        }
        figures.extend(round(&r, marker, portal)?);
    }
    Ok(figures)
}

fn round(r: &Round, marker: &str, portal: Option<&Portal>) -> Result<Vec<Figure>, FailoverError> {
    let (src, dst, router) = (r.src, r.dst, r.router);
    // The dashboard before the cut: the router is its group's master
    // (after an earlier round, once it has taken its gateways back).
    let before = match portal {
        Some(p) => Some(watch_dashboard(
            p,
            &src.network,
            &src.site,
            DASHBOARD_WITHIN,
            |m| m == router.name,
        )?),
        None => None,
    };
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
    // The link stays down until the dashboard shows another master.
    let moved = match portal {
        Some(p) => {
            let (m, ok) = watch_dashboard(
                p,
                &src.network,
                &src.site,
                DASHBOARD_WITHIN.saturating_sub(cut_at.elapsed()),
                |m| m != "none" && !m.split(", ").any(|x| x == router.name),
            )?;
            Some((m, ok, cut_at.elapsed().as_secs_f64()))
        }
        None => None,
    };
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
    let mut figures = vec![
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
    ];
    if let (Some((was, was_ok)), Some((now, now_ok, after))) = (before, moved) {
        let say = |m: &Option<String>| m.clone().unwrap_or_else(|| "no row".into());
        figures.push(Figure {
            name: format!(
                "7 tenant dashboard shows the gateway move ({} down, {})",
                router.name, r.scope
            ),
            value: now_ok.then_some((after * 10.0).round() / 10.0),
            unit: "s".into(),
            detail: format!(
                "/t/{TENANT}, {} at {}: master {} before the cut{}, {} while {} was down{}",
                src.network,
                src.site,
                say(&was),
                if was_ok { "" } else { " (never the router)" },
                say(&now),
                router.name,
                if now_ok {
                    String::new()
                } else {
                    format!(" (no move within {DASHBOARD_WITHIN:?})")
                },
            ),
            ok: was_ok && now_ok,
        });
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(at: f64, ok: bool) -> Attempt {
        Attempt { at, ok }
    }

    #[test]
    fn the_dashboards_master_is_read_from_the_groups_row() {
        // As app/src/widgets/table.rs renders the health card's groups.
        let row = |net: &str, master: &str| {
            format!(
                "<tr data-key=\"{net}/dc1\"><th scope=\"row\">{net}</th><td data-label=\"Site\">dc1</td>\
                 <td data-label=\"Status\"><span class=\"badge health ok\">ok</span> </td>\
                 <td data-label=\"Master\">{master}</td>\
                 <td data-label=\"Gateways\">vyos-dc1-01: master, vyos-dc1-02: backup</td></tr>"
            )
        };
        let page = format!(
            "<h2>Networks</h2><table id=\"networks\">{}</table>\
             <table id=\"health-groups\" class=\"stack-on-phone\"><tbody>{}{}</tbody></table>",
            row("web", "vyos-dc1-09"),
            row("web", "vyos-dc1-01<!-- -->"),
            row("db", "<span class=\"muted\">none</span>"),
        );
        assert_eq!(
            dashboard_master(&page, "web", "dc1").as_deref(),
            Some("vyos-dc1-01"),
            "the health table's row, not another table's"
        );
        assert_eq!(
            dashboard_master(&page, "db", "dc1").as_deref(),
            Some("none")
        );
        assert_eq!(dashboard_master(&page, "db", "dc2"), None);
        assert_eq!(
            dashboard_master("<p id=\"health-none\">Not collected yet</p>", "web", "dc1"),
            None
        );
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
