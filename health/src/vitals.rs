//! What a router says of itself beyond its sessions (issue 18, item 1):
//! BFD peers (`show bfd peers`), interface counters (`show interfaces
//! counters`) and CPU load (`show system uptime`). Read after the
//! evaluation ([`crate::eval`]) and added to its items:
//!
//! - the router's item gains `cpu_load_percent` (the 5-minute load over
//!   all cores, whole percent) and `interfaces` (each listed interface's
//!   byte, drop and error counters) in its facts; it is degraded when the
//!   load is over [`VitalRules::cpu_degraded_percent`], or when a revision
//!   is applied and the mesh interface is not listed (VyOS lists the
//!   interfaces that are up only: the mesh is down on that router);
//! - each BGP session's item gains `bfd` (FRR's status of the BFD session
//!   to the peer's address, when there is one) and is degraded when its
//!   session is Established but BFD is not up (the path is failing and
//!   BGP has not noticed yet, or BFD is misconfigured).
//!
//! Counters and load change every round: they are facts, never reasons,
//! and the router's item is stored again whenever they move (one item
//! per router), so readers see the latest round's.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::expect::Expected;
use crate::parse::{BfdPeer, IfCounters, Load};
use crate::{Item, Kind, Status};

/// The answers, each parsed or why it failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Vitals {
    pub bfd: Result<Vec<BfdPeer>, String>,
    pub interfaces: Result<Vec<IfCounters>, String>,
    pub load: Result<Load, String>,
}

/// The thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VitalRules {
    /// The 5-minute load average over all cores, in percent.
    pub cpu_degraded_percent: f64,
}

impl Default for VitalRules {
    fn default() -> Self {
        VitalRules {
            cpu_degraded_percent: 90.0,
        }
    }
}

/// Adds the vitals of each router (by name) to the round's items; `now`
/// in Unix seconds (an item this makes degraded is so since now).
pub fn apply(
    items: &mut [Item],
    vitals: &BTreeMap<String, Vitals>,
    expected: &Expected,
    now: i64,
    rules: VitalRules,
) {
    for item in items.iter_mut() {
        apply_item(item, vitals, expected, now, rules);
    }
}

/// [`apply`] for one item (a collector that evaluates and stores items
/// one at a time).
pub fn apply_item(
    item: &mut Item,
    vitals: &BTreeMap<String, Vitals>,
    expected: &Expected,
    now: i64,
    rules: VitalRules,
) {
    let Some(v) = item.device.as_ref().and_then(|d| vitals.get(d)) else {
        return;
    };
    match item.kind {
        Kind::Router => {
            let mesh = item
                .device
                .as_deref()
                .and_then(|d| expected.routers.iter().find(|r| r.name == d))
                .map_or("wg0", |r| r.mesh_interface.as_str());
            router(item, v, mesh, now, rules)
        }
        Kind::Bgp => {
            let device = item.device.as_deref().unwrap_or_default();
            let addr = expected
                .routers
                .iter()
                .find(|r| r.name == device)
                .and_then(|r| {
                    r.bgp
                        .iter()
                        .find(|(p, _)| Some(p) == item.peer.as_ref())
                        .map(|(_, a)| a.to_string())
                });
            if let (Some(addr), Ok(peers)) = (addr, &v.bfd) {
                let b = peers.iter().find(|p| p.peer == addr).cloned();
                bgp(item, b.as_ref(), now);
            }
        }
        _ => {}
    }
}

fn worsen(item: &mut Item, status: Status, reason: &str, now: i64) {
    if item.status == Status::Ok {
        item.reason = reason.to_string();
        item.bad_since = Some(now);
    } else {
        item.reason = format!("{}; {reason}", item.reason);
    }
    item.status = item.status.max(status);
}

fn set_fact(item: &mut Item, key: &str, value: Value) {
    if !item.facts.is_object() {
        item.facts = json!({});
    }
    if let Some(o) = item.facts.as_object_mut() {
        o.insert(key.to_string(), value);
    }
}

/// `mesh`: the mesh slot carrying traffic.
fn router(item: &mut Item, v: &Vitals, mesh: &str, now: i64, rules: VitalRules) {
    if let Ok(l) = &v.load {
        set_fact(item, "cpu_load_percent", json!(l.five.round() as i64));
        if l.five > rules.cpu_degraded_percent {
            worsen(
                item,
                Status::Degraded,
                &format!(
                    "CPU load over {}% for 5 minutes",
                    rules.cpu_degraded_percent
                ),
                now,
            );
        }
    }
    if let Ok(ifs) = &v.interfaces {
        let facts: serde_json::Map<String, Value> = ifs
            .iter()
            .map(|i| {
                (
                    i.interface.clone(),
                    json!({
                        "rx_bytes": i.rx_bytes,
                        "tx_bytes": i.tx_bytes,
                        "rx_dropped": i.rx_dropped,
                        "tx_dropped": i.tx_dropped,
                        "rx_errors": i.rx_errors,
                        "tx_errors": i.tx_errors,
                    }),
                )
            })
            .collect();
        set_fact(item, "interfaces", Value::Object(facts));
        let applied = item.facts.get("applied").and_then(Value::as_bool) == Some(true);
        if applied && !ifs.iter().any(|i| i.interface == mesh) {
            worsen(
                item,
                Status::Degraded,
                &format!("its mesh interface {mesh} is down"),
                now,
            );
        }
    }
}

fn bgp(item: &mut Item, bfd: Option<&BfdPeer>, now: i64) {
    let Some(b) = bfd else {
        set_fact(item, "bfd", Value::Null);
        return;
    };
    set_fact(item, "bfd", json!(b.status));
    let established = item.facts.get("state").and_then(Value::as_str) == Some("Established");
    if established && !b.up() {
        let why = match b.diagnostics.as_deref() {
            Some(d) if d != "ok" => format!("BFD {} ({d})", b.status),
            _ => format!("BFD {}", b.status),
        };
        worsen(item, Status::Degraded, &why, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::RouterExpect;

    fn item(kind: Kind, peer: Option<&str>, facts: Value) -> Item {
        Item {
            kind,
            key: format!("{}:r1:{}", kind.as_str(), peer.unwrap_or("")),
            device: Some("r1".into()),
            peer: peer.map(str::to_string),
            tenant: None,
            network: None,
            site: Some("dc1".into()),
            status: Status::Ok,
            reason: "ok".into(),
            detail: None,
            facts,
            bad_since: None,
        }
    }

    fn bfd(peer: &str, status: &str, diag: &str) -> BfdPeer {
        BfdPeer {
            peer: peer.into(),
            local_address: None,
            vrf: Some("default".into()),
            interface: Some("wg0".into()),
            status: status.into(),
            since_secs: Some(3),
            diagnostics: Some(diag.into()),
        }
    }

    fn counters(names: &[&str]) -> Vec<IfCounters> {
        names
            .iter()
            .map(|n| IfCounters {
                interface: n.to_string(),
                rx_bytes: 10,
                tx_bytes: 20,
                ..IfCounters::default()
            })
            .collect()
    }

    fn expected() -> Expected {
        let r = RouterExpect {
            name: "r1".into(),
            site: "dc1".into(),
            bgp: vec![
                ("r2".into(), "172.27.0.2".parse().unwrap()),
                ("r3".into(), "172.27.0.3".parse().unwrap()),
            ],
            mesh_interface: "wg0".into(),
            mesh_peers: vec![],
            client_interfaces: vec![],
        };
        Expected {
            routers: vec![r],
            ..Expected::default()
        }
    }

    #[test]
    fn bfd_down_under_an_established_session_degrades_it() {
        let mut items = vec![
            item(Kind::Bgp, Some("r2"), json!({"state": "Established"})),
            item(Kind::Bgp, Some("r3"), json!({"state": "Established"})),
        ];
        let v = Vitals {
            bfd: Ok(vec![
                bfd("172.27.0.2", "up", "ok"),
                bfd("172.27.0.3", "down", "control detection time expired"),
            ]),
            interfaces: Err("not asked".into()),
            load: Err("not asked".into()),
        };
        let vitals = BTreeMap::from([("r1".to_string(), v)]);
        apply(&mut items, &vitals, &expected(), 100, VitalRules::default());
        assert_eq!(items[0].status, Status::Ok);
        assert_eq!(items[0].facts["bfd"], "up");
        assert_eq!(items[1].status, Status::Degraded);
        assert_eq!(items[1].reason, "BFD down (control detection time expired)");
        assert_eq!(items[1].bad_since, Some(100));
        // A session already not Established keeps its own reason.
        let mut down = vec![item(Kind::Bgp, Some("r3"), json!({"state": "Active"}))];
        down[0].status = Status::Down;
        down[0].reason = "not Established (Active)".into();
        apply(&mut down, &vitals, &expected(), 100, VitalRules::default());
        assert_eq!(down[0].status, Status::Down);
        assert_eq!(down[0].reason, "not Established (Active)");
    }

    #[test]
    fn load_and_the_mesh_interface() {
        let v = |ifs: &[&str], five: f64| Vitals {
            bfd: Ok(vec![]),
            interfaces: Ok(counters(ifs)),
            load: Ok(Load {
                uptime_secs: Some(60),
                one: five,
                five,
                fifteen: five,
            }),
        };
        let run = |v: Vitals, applied: bool| {
            let mut items = vec![item(Kind::Router, None, json!({"applied": applied}))];
            let vitals = BTreeMap::from([("r1".to_string(), v)]);
            apply(&mut items, &vitals, &expected(), 7, VitalRules::default());
            items.remove(0)
        };
        let ok = run(v(&["lo", "eth0", "wg0"], 12.4), true);
        assert_eq!(ok.status, Status::Ok, "{}", ok.reason);
        assert_eq!(ok.facts["cpu_load_percent"], 12);
        assert_eq!(ok.facts["interfaces"]["wg0"]["tx_bytes"], 20);
        let busy = run(v(&["lo", "eth0", "wg0"], 95.0), true);
        assert_eq!(busy.status, Status::Degraded);
        assert_eq!(busy.reason, "CPU load over 90% for 5 minutes");
        let cut = run(v(&["lo", "eth0"], 95.0), true);
        assert_eq!(
            cut.reason,
            "CPU load over 90% for 5 minutes; its mesh interface wg0 is down"
        );
        // Nothing applied yet: no mesh interface is expected.
        assert_eq!(run(v(&["lo"], 1.0), false).status, Status::Ok);
    }
}
