//! A hypervisor's Open vSwitch statistics (issue 18: "every hypervisor's
//! OVS: port, flow and meter statistics over its OpenFlow connection").
//! The driver asks the bridge with OpenFlow 1.3 multipart requests
//! (`ovs-ofctl dump-ports`, `dump-flows`, `meter-stats`); this module reads
//! their answers and adds them to the hypervisor's item as the fact `ovs`:
//!
//! - `ports`: each port's counters, with the tenant and network the intent
//!   attaches it to (the tunnel port and `LOCAL` have none);
//! - `tables`: flows, packets and bytes summed per flow table;
//! - `tenants`: the same per tenant, a flow being the tenant's when it
//!   matches or sets the tenant's `metadata` (its allocated id, as
//!   `vxguard_compiler::ovs` writes the flows);
//! - `meters`: each meter's packets in and packets its drop band dropped,
//!   with the port (and so tenant, network) whose flow uses it.
//!
//! Counters change every round: they are facts, never reasons. A bridge
//! that does not answer leaves `ovs_error` (operators only: the item's
//! status stays what its apply records say).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::Intent;

use crate::{Item, Kind};

/// One port's counters (`None`: the port does not count it, `?` in OVS).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStats {
    pub port: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_dropped: Option<u64>,
    pub tx_dropped: Option<u64>,
    pub rx_errors: Option<u64>,
    pub tx_errors: Option<u64>,
}

/// One flow as far as the statistics go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub table: u8,
    pub packets: u64,
    pub bytes: u64,
    /// The `metadata` it matches or sets (the tenant's id).
    pub metadata: Option<u64>,
    /// The port it matches (`in_port`).
    pub in_port: Option<String>,
    /// The meter its actions go through.
    pub meter: Option<u32>,
}

/// One meter's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterStats {
    pub meter: u32,
    pub packets: u64,
    pub bytes: u64,
    /// Packets its bands dropped (the compiler's meters have one drop band).
    pub dropped: u64,
}

/// What the bridge answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OvsStats {
    pub ports: Vec<PortStats>,
    pub flows: Vec<FlowStats>,
    pub meters: Vec<MeterStats>,
}

/// Who owns what on the hypervisors, from the intent and its allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owners {
    /// (hypervisor, port) → (tenant, network).
    pub ports: BTreeMap<(String, String), (String, String)>,
    /// Tenant id (flow `metadata`) → tenant.
    pub tenants: BTreeMap<u64, String>,
}

impl Owners {
    /// Takes out what the tenants `slugs` own.
    pub fn remove_tenants(&mut self, slugs: &BTreeSet<String>) {
        if slugs.is_empty() {
            return;
        }
        self.ports.retain(|_, (t, _)| !slugs.contains(t));
        self.tenants.retain(|_, t| !slugs.contains(t));
    }

    /// Adds what a tenant owns: its ports (hypervisor, port, network)
    /// and, once allocated, its id.
    pub fn add_tenant(&mut self, slug: &str, id: Option<u32>, ports: &[(String, String, String)]) {
        if let Some(id) = id {
            self.tenants.insert(u64::from(id), slug.to_string());
        }
        for (h, p, n) in ports {
            self.ports
                .insert((h.clone(), p.clone()), (slug.to_string(), n.clone()));
        }
    }
}

/// Owners from the intent: each tenant port on its hypervisor, each
/// allocated tenant id.
pub fn owners(intent: &Intent, alloc: &Allocation) -> Owners {
    let mut o = Owners::default();
    for t in &intent.tenants {
        if let Some(a) = alloc.tenants.get(t.slug.as_str()) {
            o.tenants.insert(u64::from(a.id), t.slug.to_string());
        }
        for n in &t.networks {
            for p in &n.ports {
                o.ports.insert(
                    (p.hypervisor.to_string(), p.name.clone()),
                    (t.slug.to_string(), n.name.to_string()),
                );
            }
        }
    }
    o
}

/// Each hypervisor's OpenFlow target (name, `ovs-ofctl` target).
pub fn targets(intent: &Intent) -> Vec<(String, String)> {
    intent
        .platform
        .hypervisors
        .iter()
        .map(|h| (h.name.to_string(), h.openflow_target()))
        .collect()
}

fn number(v: &str) -> Option<u64> {
    let v = v.trim().trim_end_matches(',');
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn unquote(v: &str) -> String {
    v.trim().trim_matches('"').to_string()
}

/// `key=value` pairs of a `rx pkts=1, bytes=90, drop=?` line.
fn pairs(text: &str) -> BTreeMap<&str, &str> {
    text.split(',')
        .filter_map(|p| p.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// `ovs-ofctl -O OpenFlow13 dump-ports BRIDGE --names` (OFPMP_PORT_STATS).
pub fn dump_ports(text: &str) -> Vec<PortStats> {
    let mut out: Vec<PortStats> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("port ") {
            let Some((name, counters)) = rest.split_once(": rx ") else {
                continue;
            };
            let p = pairs(counters);
            out.push(PortStats {
                port: unquote(name),
                rx_packets: p.get("pkts").and_then(|v| number(v)).unwrap_or(0),
                rx_bytes: p.get("bytes").and_then(|v| number(v)).unwrap_or(0),
                rx_dropped: p.get("drop").and_then(|v| number(v)),
                rx_errors: p.get("errs").and_then(|v| number(v)),
                ..Default::default()
            });
        } else if let (Some(tx), Some(last)) = (l.strip_prefix("tx "), out.last_mut()) {
            let p = pairs(tx);
            last.tx_packets = p.get("pkts").and_then(|v| number(v)).unwrap_or(0);
            last.tx_bytes = p.get("bytes").and_then(|v| number(v)).unwrap_or(0);
            last.tx_dropped = p.get("drop").and_then(|v| number(v));
            last.tx_errors = p.get("errs").and_then(|v| number(v));
        }
    }
    out
}

/// `ovs-ofctl -O OpenFlow13 dump-flows BRIDGE --names` (OFPMP_FLOW).
pub fn dump_flows(text: &str) -> Vec<FlowStats> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if !l.starts_with("cookie=") {
            continue;
        }
        let (matches, actions) = l.split_once(" actions=").unwrap_or((l, ""));
        let mut f = FlowStats::default();
        for part in matches.split([',', ' ']).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            match k {
                "table" => f.table = v.parse().unwrap_or(0),
                "n_packets" => f.packets = number(v).unwrap_or(0),
                "n_bytes" => f.bytes = number(v).unwrap_or(0),
                "metadata" => f.metadata = number(v.split('/').next().unwrap_or(v)),
                "in_port" => f.in_port = Some(unquote(v)),
                _ => {}
            }
        }
        for a in actions.split(',') {
            if let Some(m) = a.strip_prefix("meter:") {
                f.meter = m.parse().ok();
            } else if let Some(v) = a
                .strip_prefix("set_field:")
                .and_then(|a| a.strip_suffix("->metadata"))
            {
                f.metadata = f.metadata.or_else(|| number(v));
            } else if let Some(v) = a.strip_prefix("write_metadata:") {
                f.metadata = f
                    .metadata
                    .or_else(|| number(v.split('/').next().unwrap_or(v)));
            }
        }
        out.push(f);
    }
    out
}

/// `ovs-ofctl -O OpenFlow13 meter-stats BRIDGE` (OFPMP_METER).
pub fn meter_stats(text: &str) -> Vec<MeterStats> {
    let mut out: Vec<MeterStats> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("meter:") {
            let mut m = MeterStats::default();
            let mut words = rest.split_whitespace();
            m.meter = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            for w in words {
                match w.split_once(':') {
                    Some(("packet_in_count", v)) => m.packets = number(v).unwrap_or(0),
                    Some(("byte_in_count", v)) => m.bytes = number(v).unwrap_or(0),
                    _ => {}
                }
            }
            out.push(m);
        } else if let (Some(last), Some((band, rest))) = (out.last_mut(), l.split_once(": ")) {
            if band.parse::<u32>().is_ok() {
                if let Some(v) = rest
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("packet_count:"))
                {
                    last.dropped += number(v).unwrap_or(0);
                }
            }
        }
    }
    out
}

/// The fact `ovs` of hypervisor `hv`: its ports, tables, tenants and
/// meters with their owners.
pub fn fact(hv: &str, s: &OvsStats, owners: &Owners) -> Value {
    let owner =
        |port: Option<&str>| port.and_then(|p| owners.ports.get(&(hv.to_string(), p.to_string())));
    let ports: Vec<Value> = s
        .ports
        .iter()
        .map(|p| {
            let mut v = json!(p);
            if let Some((t, n)) = owner(Some(&p.port)) {
                v["tenant"] = json!(t);
                v["network"] = json!(n);
            }
            v
        })
        .collect();
    let mut tables: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
    let mut tenants: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    let mut meter_port: BTreeMap<u32, &str> = BTreeMap::new();
    for f in &s.flows {
        let t = tables.entry(f.table).or_default();
        *t = (t.0 + 1, t.1 + f.packets, t.2 + f.bytes);
        if let Some(name) = f.metadata.and_then(|m| owners.tenants.get(&m)) {
            let t = tenants.entry(name).or_default();
            *t = (t.0 + 1, t.1 + f.packets, t.2 + f.bytes);
        }
        if let (Some(m), Some(p)) = (f.meter, f.in_port.as_deref()) {
            meter_port.entry(m).or_insert(p);
        }
    }
    let triple = |(flows, packets, bytes): (u64, u64, u64)| json!({"flows": flows, "packets": packets, "bytes": bytes});
    let meters: Vec<Value> = s
        .meters
        .iter()
        .map(|m| {
            let mut v = json!(m);
            if let Some(p) = meter_port.get(&m.meter) {
                v["port"] = json!(p);
                if let Some((t, n)) = owner(Some(p)) {
                    v["tenant"] = json!(t);
                    v["network"] = json!(n);
                }
            }
            v
        })
        .collect();
    json!({
        "ports": ports,
        "tables": tables.into_iter().map(|(k, v)| {
            let mut o = triple(v);
            o["table"] = json!(k);
            o
        }).collect::<Vec<_>>(),
        "tenants": tenants.into_iter().map(|(k, v)| {
            let mut o = triple(v);
            o["tenant"] = json!(k);
            o
        }).collect::<Vec<_>>(),
        "meters": meters,
    })
}

/// Adds a hypervisor's answer (by name: its statistics, or why the bridge
/// did not answer) to its item.
pub fn apply_item(
    item: &mut Item,
    answers: &BTreeMap<String, Result<OvsStats, String>>,
    owners: &Owners,
) {
    if item.kind != Kind::Hypervisor {
        return;
    }
    let Some(name) = item.device.clone() else {
        return;
    };
    let Some(a) = answers.get(&name) else {
        return;
    };
    if !item.facts.is_object() {
        item.facts = json!({});
    }
    let Some(o) = item.facts.as_object_mut() else {
        return;
    };
    match a {
        Ok(s) => {
            o.insert("ovs".into(), fact(&name, s, owners));
            o.insert("ovs_collected".into(), json!(true));
        }
        Err(e) => {
            o.insert("ovs_error".into(), json!(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // As ovs-vswitchd 3.1 answers (userspace datapath).
    const PORTS: &str = r#"OFPST_PORT reply (OF1.3) (xid=0x2): 3 ports
  port LOCAL: rx pkts=0, bytes=0, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=0, bytes=0, drop=0, errs=0, coll=0
           duration=0.158s
  port  "fin-web1": rx pkts=1, bytes=90, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=4, bytes=300, drop=2, errs=0, coll=0
           duration=0.144s
  port  "vxg-tun": rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
           duration=0.124s
"#;
    const FLOWS: &str = r#" cookie=0x0, duration=0.109s, table=0, n_packets=1, n_bytes=90, priority=100,in_port="fin-web1" actions=meter:1,set_field:0x2->metadata,goto_table:20
 cookie=0x0, duration=0.187s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL
 cookie=0x0, duration=0.080s, table=20, n_packets=1, n_bytes=90, priority=10,metadata=0x2 actions=drop
 cookie=0x0, duration=0.080s, table=20, n_packets=7, n_bytes=700, priority=10,metadata=0x3 actions=drop
"#;
    const METERS: &str = "OFPST_METER reply (OF1.3) (xid=0x2):
meter:1 flow_count:1 packet_in_count:12 byte_in_count:900 duration:0.170s bands:
0: packet_count:5 byte_count:400
";

    #[test]
    fn ports_flows_and_meters_are_read() {
        let p = dump_ports(PORTS);
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].port, "fin-web1");
        assert_eq!((p[1].rx_packets, p[1].rx_bytes), (1, 90));
        assert_eq!(
            (p[1].tx_packets, p[1].tx_bytes, p[1].tx_dropped),
            (4, 300, Some(2))
        );
        assert_eq!((p[2].port.as_str(), p[2].rx_dropped), ("vxg-tun", None));
        let f = dump_flows(FLOWS);
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].in_port.as_deref(), Some("fin-web1"));
        assert_eq!((f[0].meter, f[0].metadata), (Some(1), Some(2)));
        assert_eq!((f[2].table, f[2].packets, f[2].metadata), (20, 1, Some(2)));
        assert_eq!(f[1].metadata, None);
        let m = meter_stats(METERS);
        assert_eq!(
            m,
            [MeterStats {
                meter: 1,
                packets: 12,
                bytes: 900,
                dropped: 5
            }]
        );
        assert!(dump_ports("").is_empty() && dump_flows("").is_empty());
    }

    #[test]
    fn the_fact_names_owners_and_sums_tables_and_tenants() {
        let s = OvsStats {
            ports: dump_ports(PORTS),
            flows: dump_flows(FLOWS),
            meters: meter_stats(METERS),
        };
        let owners = Owners {
            ports: [(
                ("hv1".to_string(), "fin-web1".to_string()),
                ("finance".to_string(), "web".to_string()),
            )]
            .into(),
            tenants: [(2, "finance".to_string())].into(),
        };
        let v = fact("hv1", &s, &owners);
        assert_eq!(v["ports"][1]["tenant"], "finance");
        assert_eq!(v["ports"][1]["network"], "web");
        assert!(v["ports"][2].get("tenant").is_none());
        assert_eq!(
            v["tables"][0],
            json!({"table": 0, "flows": 2, "packets": 1, "bytes": 90})
        );
        assert_eq!(
            v["tables"][1],
            json!({"table": 20, "flows": 2, "packets": 8, "bytes": 790})
        );
        // Metadata 3 belongs to no tenant of the intent: not attributed.
        assert_eq!(
            v["tenants"],
            json!([{"tenant": "finance", "flows": 2, "packets": 2, "bytes": 180}])
        );
        assert_eq!(v["meters"][0]["port"], "fin-web1");
        assert_eq!(v["meters"][0]["tenant"], "finance");
        assert_eq!(v["meters"][0]["dropped"], 5);
        // Another hypervisor's port of the same name is not finance's.
        assert!(fact("hv2", &s, &owners)["ports"][1].get("tenant").is_none());
    }
}
