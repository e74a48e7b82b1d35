//! The lab router's op-mode answers (`/show`) in the shapes VyOS prints
//! them, for the commands vxguard's health collector asks (the server's
//! `health` module; the parsers are `vxguard-health`'s `parse`):
//!
//! - `show vrrp` (`op_mode/vrrp.py --summary`): `VRRP not configured!`,
//!   else, with no keepalived running, `VRRP is not running`;
//! - `show interfaces wireguard <wg> summary`: on 1.4 `wg show <wg>`'s
//!   text, on 1.5 `interfaces_wireguard.py show_summary`'s; unrealised, the
//!   configured peers with no handshake (the interface's own key is not
//!   printed: the lab derives none);
//! - `show system memory` (`op_mode/memory.py show`): this machine's
//!   /proc/meminfo, as `bytes_to_human` writes it.
//!
//! A realiser may answer instead from its daemons ([`crate::realise::Realiser::show`]).

use vyos_api::wire::ApiVersion;
use vyos_tree::ConfigTree;

/// `show vrrp` with no keepalived running.
pub fn vrrp_unrealised(running: &ConfigTree) -> String {
    if running
        .root()
        .get(&["high-availability", "vrrp", "group"])
        .is_some_and(|g| g.children().next().is_some())
    {
        "VRRP is not running\n".into()
    } else {
        "VRRP not configured!\n".into()
    }
}

fn value(n: Option<vyos_tree::NodeRef<'_>>, leaf: &str) -> Option<String> {
    n.and_then(|n| n.child(leaf))
        .and_then(|c| c.children().next().map(|(v, _)| v.to_string()))
}

fn values(n: Option<vyos_tree::NodeRef<'_>>, leaf: &str) -> Vec<String> {
    n.and_then(|n| n.child(leaf))
        .map(|c| c.children().map(|(v, _)| v.to_string()).collect())
        .unwrap_or_default()
}

/// `show interfaces wireguard <ifname> summary` of a configured interface
/// whose peers never shook hands; `Err` is VyOS's text for an interface
/// that is not configured.
pub fn wireguard_unrealised(
    running: &ConfigTree,
    ifname: &str,
    version: ApiVersion,
) -> Result<String, String> {
    let Some(wg) = running.root().get(&["interfaces", "wireguard", ifname]) else {
        return Err(match version {
            ApiVersion::V1_4 => "Unable to access interface: No such device\n".to_string(),
            ApiVersion::V1_5 => format!("WireGuard interface {ifname} is not configured\n"),
        });
    };
    let port = value(Some(wg), "port").unwrap_or_else(|| "51820".into());
    let mut out = format!("interface: {ifname}\n");
    let peers: Vec<(String, Option<vyos_tree::NodeRef<'_>>)> = wg
        .child("peer")
        .map(|p| {
            p.children()
                .map(|(n, c)| (n.to_string(), Some(c)))
                .collect()
        })
        .unwrap_or_default();
    match version {
        ApiVersion::V1_4 => {
            out.push_str(&format!(
                "  private key: (hidden)\n  listening port: {port}\n\n"
            ));
            for (_, p) in &peers {
                let key = value(*p, "public-key").unwrap_or_default();
                out.push_str(&format!("peer: {key}\n"));
                if let (Some(a), Some(port)) = (value(*p, "address"), value(*p, "port")) {
                    out.push_str(&format!("  endpoint: {a}:{port}\n"));
                }
                let ips = values(*p, "allowed-ips");
                if !ips.is_empty() {
                    out.push_str(&format!("  allowed ips: {}\n", ips.join(", ")));
                }
                if let Some(k) = value(*p, "persistent-keepalive") {
                    out.push_str(&format!("  persistent keepalive: every {k} seconds\n"));
                }
                out.push('\n');
            }
        }
        ApiVersion::V1_5 => {
            if let Some(d) = value(Some(wg), "description") {
                out.push_str(&format!("  description: {d}\n"));
            }
            let addrs = values(Some(wg), "address");
            if !addrs.is_empty() {
                out.push_str(&format!("  address: {}\n", addrs.join(", ")));
            }
            out.push_str(&format!(
                "  private key: (hidden)\n  listening port: {port}\n\n"
            ));
            for (name, p) in &peers {
                let key = value(*p, "public-key").unwrap_or_default();
                out.push_str(&format!(
                    "  peer: {name}\n    public key: {key}\n    status: inactive\n"
                ));
                if let (Some(a), Some(port)) = (value(*p, "address"), value(*p, "port")) {
                    out.push_str(&format!("    endpoint: {a}:{port}\n"));
                }
                let ips = values(*p, "allowed-ips");
                if !ips.is_empty() {
                    out.push_str(&format!("    allowed ips: {}\n", ips.join(", ")));
                }
                if let Some(k) = value(*p, "persistent-keepalive") {
                    out.push_str(&format!("    persistent keepalive: every {k} seconds\n"));
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// VyOS's `bytes_to_human` (vyos.utils.convert): binary units B, KB, MB,
/// GB, TB, two decimals at most as Python's `round` leaves them.
pub fn bytes_to_human(bytes: u64) -> String {
    if bytes == 0 {
        return "0 B".into();
    }
    let exp = 63 - bytes.leading_zeros();
    let (div, unit) = match exp {
        0..=9 => (1u64, "B"),
        10..=19 => (1 << 10, "KB"),
        20..=29 => (1 << 20, "MB"),
        30..=39 => (1 << 30, "GB"),
        _ => (1 << 40, "TB"),
    };
    let v = ((bytes as f64 / div as f64) * 100.0).round() / 100.0;
    // Python prints a float's shortest form: 1.5, 1.25, 2.0.
    let mut s = format!("{v}");
    if !s.contains('.') {
        s.push_str(".0");
    }
    if div == 1 {
        s = bytes.to_string();
    }
    format!("{s} {unit}")
}

/// `show system memory` from /proc/meminfo's text.
pub fn memory(meminfo: &str) -> Option<String> {
    let kb = |key: &str| {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let total = kb("MemTotal")? * 1024;
    let free = kb("MemAvailable")? * 1024;
    let used = total.saturating_sub(free);
    Some(format!(
        "Total: {}\nFree:  {}\nUsed:  {}",
        bytes_to_human(total),
        bytes_to_human(free),
        bytes_to_human(used)
    ))
}

/// `show bfd peers` with no bfdd running: FRR's heading, then each
/// neighbour configured with `bfd` as a peer whose status is
/// `unrealised` (never `up`).
pub fn bfd_unrealised(running: &ConfigTree) -> String {
    let mut out = String::from("BFD Peers:\n");
    if let Some(n) = running.root().get(&["protocols", "bgp", "neighbor"]) {
        for (peer, c) in n.children() {
            if c.child("bfd").is_some() {
                out.push_str(&format!(
                    "\tpeer {peer} vrf default\n\t\tStatus: unrealised\n\n"
                ));
            }
        }
    }
    out
}

/// `show interfaces counters` with nothing built: `lo` and the configured
/// WireGuard, VXLAN and bridge interfaces, all counters zero.
pub fn counters_unrealised(running: &ConfigTree) -> String {
    let mut rows = vec![IfCounters {
        ifname: "lo".into(),
        ..IfCounters::default()
    }];
    for kind in ["bridge", "vxlan", "wireguard"] {
        if let Some(n) = running.root().get(&["interfaces", kind]) {
            for (name, _) in n.children() {
                rows.push(IfCounters {
                    ifname: name.to_string(),
                    ..IfCounters::default()
                });
            }
        }
    }
    interface_counters(&rows)
}

/// One row of `show vrrp`'s summary (`VRRP.format` in vyos-1x's
/// `python/vyos/ifconfig/vrrp.py`, from keepalived's JSON dump).
#[derive(Clone, Debug, PartialEq)]
pub struct VrrpRow {
    pub name: String,
    pub interface: String,
    pub vrid: u64,
    pub state: String,
    pub priority: u64,
    /// Seconds since the last transition.
    pub since_secs: u64,
}

/// keepalived's state codes as VyOS decodes them (`VRRP.decode_state`).
pub fn vrrp_state(code: i64) -> &'static str {
    match code {
        0 => "INIT",
        1 => "BACKUP",
        2 => "MASTER",
        3 => "FAULT",
        _ => "UNKNOWN",
    }
}

/// The rows of keepalived's JSON dump (`/tmp/keepalived.json`, written on
/// `SIGRTMIN+2`: a list of `{"data": {"iname", "ifp_ifname", "vrid",
/// "state", "effective_priority", "last_transition"}, "stats": ...}`),
/// `now` in Unix seconds; `None` when the text is not such a dump.
pub fn keepalived_json_rows(json: &str, now: f64) -> Option<Vec<VrrpRow>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut out = Vec::new();
    for g in v.as_array()? {
        let d = g.get("data")?;
        let last = d
            .get("last_transition")
            .and_then(|t| t.as_f64())
            .unwrap_or(now);
        out.push(VrrpRow {
            name: d.get("iname")?.as_str()?.to_string(),
            interface: d.get("ifp_ifname")?.as_str()?.to_string(),
            vrid: d.get("vrid")?.as_u64()?,
            state: vrrp_state(d.get("state")?.as_i64()?).to_string(),
            priority: d.get("effective_priority")?.as_u64()?,
            since_secs: (now - last).max(0.0) as u64,
        });
    }
    Some(out)
}

/// vyos-1x's `seconds_to_human` (vyos.utils.convert): `1w2d3h4m5s`, units
/// that are zero left out, each preceded by `separator` but the first
/// week's.
pub fn seconds_to_human(s: u64, separator: &str) -> String {
    let mut s = s;
    let mut out = String::new();
    let weeks = s / (7 * 86_400);
    if weeks > 0 {
        out = format!("{weeks}w");
        s %= 7 * 86_400;
    }
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        let n = s / size;
        if n > 0 {
            out = format!("{out}{separator}{n}{unit}");
            s %= size;
        }
    }
    if s > 0 {
        out = format!("{out}{separator}{s}s");
    }
    out
}

/// Python's `tabulate(rows, headers)` in its default "simple" format:
/// columns two spaces apart, each as wide as its widest cell and at least
/// its header plus two, numbers right-aligned (`numalign="left"` puts
/// them left, as `show interfaces counters` asks), text left-aligned, a
/// dashed rule under the headers.
pub fn tabulate(headers: &[&str], rows: &[Vec<String>], numbers_left: bool) -> String {
    let numeric: Vec<bool> = (0..headers.len())
        .map(|c| {
            !numbers_left
                && !rows.is_empty()
                && rows.iter().all(|r| {
                    r.get(c)
                        .is_some_and(|v| !v.is_empty() && v.parse::<f64>().is_ok())
                })
        })
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(c, h)| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |v| v.chars().count()))
                .max()
                .unwrap_or(0)
                .max(h.chars().count() + 2)
        })
        .collect();
    let cell = |c: usize, v: &str| {
        if numeric[c] {
            format!("{v:>w$}", w = widths[c])
        } else {
            format!("{v:<w$}", w = widths[c])
        }
    };
    let line = |cells: Vec<String>| cells.join("  ").trim_end().to_string();
    let mut out = vec![
        line(
            headers
                .iter()
                .enumerate()
                .map(|(c, h)| cell(c, h))
                .collect(),
        ),
        line(widths.iter().map(|w| "-".repeat(*w)).collect()),
    ];
    for r in rows {
        out.push(line(
            (0..headers.len())
                .map(|c| cell(c, r.get(c).map(String::as_str).unwrap_or("")))
                .collect(),
        ));
    }
    out.join("\n")
}

/// `show vrrp` from keepalived's groups (`op_mode/vrrp.py --summary`).
pub fn vrrp_summary(rows: &[VrrpRow]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.interface.clone(),
                r.vrid.to_string(),
                r.state.clone(),
                r.priority.to_string(),
                seconds_to_human(r.since_secs, ""),
            ]
        })
        .collect();
    tabulate(
        &[
            "Name",
            "Interface",
            "VRID",
            "State",
            "Priority",
            "Last Transition",
        ],
        &rows,
        false,
    ) + "\n"
}

/// One interface of `show interfaces counters`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfCounters {
    pub ifname: String,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub rx_over_errors: u64,
    pub tx_carrier_errors: u64,
}

/// The interfaces of `ip -s -j link` (iproute2's JSON, one `-s`) that
/// `show interfaces counters` lists: operationally up or unknown only
/// (`_get_counter_data` in `op_mode/interfaces.py` skips the others), each
/// named by `rename` (`None`: left out).
pub fn ip_link_counters(
    json: &str,
    rename: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<IfCounters>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("ip -s -j link: not JSON: {e}"))?;
    let mut out = Vec::new();
    for l in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(name) = l.get("ifname").and_then(|n| n.as_str()) else {
            continue;
        };
        let oper = l
            .get("operstate")
            .and_then(|s| s.as_str())
            .unwrap_or("UNKNOWN");
        if !matches!(oper, "UP" | "UNKNOWN") {
            continue;
        }
        let Some(ifname) = rename(name) else { continue };
        let st = l.get("stats64").or_else(|| l.get("stats"));
        let n = |dir: &str, k: &str| {
            st.and_then(|s| s.get(dir))
                .and_then(|d| d.get(k))
                .and_then(|x| x.as_u64())
                .unwrap_or(0)
        };
        out.push(IfCounters {
            ifname,
            rx_packets: n("rx", "packets"),
            rx_bytes: n("rx", "bytes"),
            tx_packets: n("tx", "packets"),
            tx_bytes: n("tx", "bytes"),
            rx_dropped: n("rx", "dropped"),
            tx_dropped: n("tx", "dropped"),
            rx_over_errors: n("rx", "over_errors"),
            tx_carrier_errors: n("tx", "carrier_errors"),
        });
    }
    Ok(out)
}

/// `show interfaces counters` (`_format_show_counters` in
/// `op_mode/interfaces.py`: `tabulate(..., numalign="left")`).
pub fn interface_counters(rows: &[IfCounters]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.ifname.clone()];
            v.extend(
                [
                    r.rx_packets,
                    r.rx_bytes,
                    r.tx_packets,
                    r.tx_bytes,
                    r.rx_dropped,
                    r.tx_dropped,
                    r.rx_over_errors,
                    r.tx_carrier_errors,
                ]
                .map(|n| n.to_string()),
            );
            v
        })
        .collect();
    tabulate(
        &[
            "Interface",
            "Rx Packets",
            "Rx Bytes",
            "Tx Packets",
            "Tx Bytes",
            "Rx Dropped",
            "Tx Dropped",
            "Rx Errors",
            "Tx Errors",
        ],
        &rows,
        true,
    ) + "\n"
}

/// `show system uptime` (`op_mode/uptime.py show`, 1.4 and 1.5; the
/// script is not in the vyos-1x excerpt here, written from its source as
/// remembered): the uptime by `seconds_to_human(.., separator=" ")` and
/// the load averages of /proc/loadavg divided by the core count, in
/// percent with one decimal.
pub fn uptime(proc_uptime: &str, proc_loadavg: &str, cores: usize) -> Option<String> {
    let up: f64 = proc_uptime.split_whitespace().next()?.parse().ok()?;
    let l: Vec<f64> = proc_loadavg
        .split_whitespace()
        .take(3)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if l.len() != 3 {
        return None;
    }
    let c = cores.max(1) as f64;
    Some(format!(
        "Uptime: {}\n\nLoad averages:\n1  minute:   {:.1}%\n5  minutes:  {:.1}%\n15 minutes:  {:.1}%\n",
        seconds_to_human(up as u64, " "),
        l[0] / c * 100.0,
        l[1] / c * 100.0,
        l[2] / c * 100.0
    ))
}

/// hurry.filesize's `size(n, system=alternative)`: whole units, rounded
/// down (`1 KB`, `12 MB`, `1 byte`, `5 bytes`).
pub fn filesize_alternative(n: u64) -> String {
    for (f, u) in [
        (1u64 << 50, "PB"),
        (1 << 40, "TB"),
        (1 << 30, "GB"),
        (1 << 20, "MB"),
        (1 << 10, "KB"),
    ] {
        if n >= f {
            return format!("{} {u}", n / f);
        }
    }
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// Python's `str(timedelta(seconds=s))`: `0:01:05`, `1 day, 0:02:03`.
pub fn timedelta(s: u64) -> String {
    let (d, r) = (s / 86_400, s % 86_400);
    let hms = format!("{}:{:02}:{:02}", r / 3600, r % 3600 / 60, r % 60);
    match d {
        0 => hms,
        1 => format!("1 day, {hms}"),
        _ => format!("{d} days, {hms}"),
    }
}

/// One peer of a WireGuard interface as `wg show <dev> dump` gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WgDumpPeer {
    pub public_key: String,
    pub endpoint: Option<String>,
    pub allowed_ips: Vec<String>,
    /// Unix seconds; 0: never.
    pub latest_handshake: u64,
    pub rx: u64,
    pub tx: u64,
    pub keepalive: Option<u64>,
}

/// The interface's public key and port, and its peers, from `wg show <dev>
/// dump` (tab-separated: the interface's line, then one per peer).
pub fn wg_dump(text: &str) -> Option<(String, String, Vec<WgDumpPeer>)> {
    let mut lines = text.lines();
    let first: Vec<&str> = lines.next()?.split('\t').collect();
    let (public, port) = (first.get(1)?.to_string(), first.get(2)?.to_string());
    let mut peers = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() < 8 {
            continue;
        }
        let opt = |s: &str| (s != "(none)" && s != "off" && !s.is_empty()).then(|| s.to_string());
        peers.push(WgDumpPeer {
            public_key: f[0].into(),
            endpoint: opt(f[2]),
            allowed_ips: opt(f[3])
                .map(|a| a.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            latest_handshake: f[4].parse().unwrap_or(0),
            rx: f[5].parse().unwrap_or(0),
            tx: f[6].parse().unwrap_or(0),
            keepalive: f[7].parse().ok(),
        });
    }
    Some((public, port, peers))
}

/// `show interfaces wireguard <ifname> summary` on 1.5
/// (`WireGuardOperational.show_interface`): the configured peers that the
/// interface knows, in configuration order, from `wg show <dev> dump`;
/// `now` in Unix seconds.
pub fn wireguard_v15(
    running: &ConfigTree,
    ifname: &str,
    dump: &str,
    now: u64,
) -> Result<String, String> {
    let Some(wg) = running.root().get(&["interfaces", "wireguard", ifname]) else {
        return Err(format!("WireGuard interface {ifname} is not configured\n"));
    };
    let (public, port, peers) =
        wg_dump(dump).ok_or_else(|| format!("Unable to access interface: {ifname}\n"))?;
    let mut out = format!("interface: {ifname}\n");
    if let Some(d) = value(Some(wg), "description") {
        out.push_str(&format!("  description: {d}\n"));
    }
    let addrs = values(Some(wg), "address");
    if !addrs.is_empty() {
        out.push_str(&format!("  address: {}\n", addrs.join(", ")));
    }
    out.push_str(&format!(
        "  public key: {public}\n  private key: (hidden)\n  listening port: {port}\n\n"
    ));
    let configured: Vec<(String, Option<vyos_tree::NodeRef<'_>>)> = wg
        .child("peer")
        .map(|p| {
            p.children()
                .map(|(n, c)| (n.to_string(), Some(c)))
                .collect()
        })
        .unwrap_or_default();
    for (name, p) in &configured {
        if peers.is_empty() {
            continue;
        }
        let key = value(*p, "public-key").unwrap_or_default();
        if let Some(w) = peers.iter().find(|w| w.public_key == key) {
            out.push_str(&format!("  peer: {name}\n    public key: {key}\n"));
            let mut status = "inactive";
            if w.latest_handshake > 0 {
                let age = now.saturating_sub(w.latest_handshake);
                out.push_str(&format!("    latest handshake: {}\n", timedelta(age)));
                if age < 300 {
                    status = "active";
                }
            }
            out.push_str(&format!("    status: {status}\n"));
            if let Some(e) = &w.endpoint {
                out.push_str(&format!("    endpoint: {e}\n"));
            }
            if !w.allowed_ips.is_empty() {
                out.push_str(&format!("    allowed ips: {}\n", w.allowed_ips.join(", ")));
            }
            if w.rx > 0 || w.tx > 0 {
                out.push_str(&format!(
                    "    transfer: {} received, {} sent\n",
                    filesize_alternative(w.rx),
                    filesize_alternative(w.tx)
                ));
            }
            if let Some(k) = w.keepalive {
                out.push_str(&format!("    persistent keepalive: every {k} seconds\n"));
            }
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_python_prints_them() {
        assert_eq!(bytes_to_human(0), "0 B");
        assert_eq!(bytes_to_human(512), "512 B");
        assert_eq!(bytes_to_human(1536), "1.5 KB");
        assert_eq!(bytes_to_human(2 << 30), "2.0 GB");
        assert_eq!(
            memory("MemTotal:        2000000 kB\nMemFree: 1 kB\nMemAvailable:    1000000 kB\n")
                .unwrap(),
            "Total: 1.91 GB\nFree:  976.56 MB\nUsed:  976.56 MB"
        );
    }

    #[test]
    fn unrealised_wireguard_lists_the_configured_peers() {
        let t = ConfigTree::parse_set(
            "set interfaces wireguard wg0 port '51820'\n\
             set interfaces wireguard wg0 peer r2 public-key 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0='\n\
             set interfaces wireguard wg0 peer r2 address '192.0.2.2'\n\
             set interfaces wireguard wg0 peer r2 port '51820'\n\
             set interfaces wireguard wg0 peer r2 allowed-ips '172.27.0.2/32'\n\
             set interfaces wireguard wg0 peer r2 persistent-keepalive '25'\n\
             set high-availability vrrp group g1 vrid '1'\n",
            &vyos_tree::NoSchema,
        )
        .unwrap();
        let v14 = wireguard_unrealised(&t, "wg0", ApiVersion::V1_4).unwrap();
        assert!(v14.contains("\npeer: TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\n  endpoint: 192.0.2.2:51820\n"), "{v14}");
        let v15 = wireguard_unrealised(&t, "wg0", ApiVersion::V1_5).unwrap();
        assert!(v15.contains("  peer: r2\n    public key: TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\n    status: inactive\n"), "{v15}");
        assert!(wireguard_unrealised(&t, "wg9", ApiVersion::V1_5).is_err());
        assert_eq!(vrrp_unrealised(&t), "VRRP is not running\n");
        assert_eq!(
            vrrp_unrealised(&ConfigTree::new()),
            "VRRP not configured!\n"
        );
    }

    /// keepalived 2.2.7's JSON dump, captured here (one group in FAULT:
    /// its interface did not exist).
    const KEEPALIVED_JSON: &str = r#"[{"data":{"iname":"g1","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"d0","master_priority":0,"last_transition":1796581333.963776,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":7,"base_priority":150,"effective_priority":150,"vipset":false,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":3,"wantstate":3,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.9.9.1\/24 dev d0 scope global"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":0,"become_master":0,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}]"#;

    #[test]
    fn vrrp_from_keepalived_json_as_vrrp_py_prints_it() {
        let rows = keepalived_json_rows(KEEPALIVED_JSON, 1796581333.963776 + 3723.5).unwrap();
        assert_eq!(
            rows,
            vec![VrrpRow {
                name: "g1".into(),
                interface: "d0".into(),
                vrid: 7,
                state: "FAULT".into(),
                priority: 150,
                since_secs: 3723,
            }]
        );
        let mut two = rows.clone();
        two.push(VrrpRow {
            name: "acme-web-dc1".into(),
            interface: "br10010".into(),
            vrid: 10,
            state: "MASTER".into(),
            priority: 200,
            since_secs: 5,
        });
        assert_eq!(
            vrrp_summary(&two),
            "\
Name          Interface      VRID  State      Priority  Last Transition
------------  -----------  ------  -------  ----------  -----------------
g1            d0                7  FAULT           150  1h2m3s
acme-web-dc1  br10010          10  MASTER          200  5s
"
        );
        assert_eq!(keepalived_json_rows("not json", 0.0), None);
        assert_eq!(keepalived_json_rows("[{\"data\":{}}]", 0.0), None);
        assert_eq!(seconds_to_human(8 * 86_400 + 61, ""), "1w1d1m1s");
        assert_eq!(seconds_to_human(3600, " "), " 1h");
    }

    /// iproute2 6.1's `ip -s -j link`, captured here (trimmed to the
    /// fields read, one link down).
    const IP_LINK: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","stats64":{"rx":{"bytes":1200,"packets":12,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":1200,"packets":12,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},{"ifindex":2,"ifname":"f1wg0","flags":["POINTOPOINT","MULTICAST","NOARP","UP","LOWER_UP"],"mtu":1420,"operstate":"UNKNOWN","stats64":{"rx":{"bytes":52,"packets":1,"errors":0,"dropped":3,"over_errors":0,"multicast":0},"tx":{"bytes":4096,"packets":7,"errors":0,"dropped":0,"carrier_errors":2,"collisions":0}}},{"ifindex":3,"ifname":"u0","flags":["BROADCAST","MULTICAST"],"operstate":"DOWN","stats64":{"rx":{"bytes":9,"packets":1},"tx":{"bytes":9,"packets":1}}}]"#;

    #[test]
    fn counters_as_interfaces_py_prints_them() {
        let rows =
            ip_link_counters(IP_LINK, &|d| Some(d.trim_start_matches("f1").to_string())).unwrap();
        assert_eq!(rows.len(), 2, "a link down is not listed: {rows:?}");
        assert_eq!(rows[1].ifname, "wg0");
        assert_eq!(rows[1].tx_bytes, 4096);
        assert_eq!(rows[1].rx_dropped, 3);
        assert_eq!(rows[1].tx_carrier_errors, 2);
        assert_eq!(
            interface_counters(&rows),
            "\
Interface    Rx Packets    Rx Bytes    Tx Packets    Tx Bytes    Rx Dropped    Tx Dropped    Rx Errors    Tx Errors
-----------  ------------  ----------  ------------  ----------  ------------  ------------  -----------  -----------
lo           12            1200        12            1200        0             0             0            0
wg0          1             52          7             4096        3             0             0            2
"
        );
        assert!(ip_link_counters("nope", &|d| Some(d.into())).is_err());
    }

    #[test]
    fn uptime_and_load_per_core() {
        assert_eq!(
            uptime("93784.51 180000.00\n", "0.50 1.00 3.00 2/300 999\n", 2).unwrap(),
            "Uptime:  1d 2h 3m 4s\n\nLoad averages:\n1  minute:   25.0%\n5  minutes:  50.0%\n15 minutes:  150.0%\n"
        );
        assert_eq!(uptime("x", "0 0 0", 1), None);
    }

    #[test]
    fn wireguard_1_5_from_the_dump() {
        let t = ConfigTree::parse_set(
            "set interfaces wireguard wg0 address '172.27.0.1/24'\n\
             set interfaces wireguard wg0 port '51820'\n\
             set interfaces wireguard wg0 peer r2 public-key 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0='\n\
             set interfaces wireguard wg0 peer r3 public-key 'gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA='\n",
            &vyos_tree::NoSchema,
        )
        .unwrap();
        let dump = "cHJpdmF0ZQ==\txTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\t51820\toff\n\
TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\t(none)\t10.99.0.2:51820\t172.27.0.2/32\t1000\t2048\t12\t25\n\
gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=\t(none)\t(none)\t172.27.0.3/32\t0\t0\t0\toff\n";
        let out = wireguard_v15(&t, "wg0", dump, 1065).unwrap();
        assert_eq!(
            out,
            "interface: wg0
  address: 172.27.0.1/24
  public key: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
  private key: (hidden)
  listening port: 51820

  peer: r2
    public key: TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
    latest handshake: 0:01:05
    status: active
    endpoint: 10.99.0.2:51820
    allowed ips: 172.27.0.2/32
    transfer: 2 KB received, 12 bytes sent
    persistent keepalive: every 25 seconds

  peer: r3
    public key: gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=
    status: inactive
    allowed ips: 172.27.0.3/32

"
        );
        assert_eq!(timedelta(2 * 86_400 + 5), "2 days, 0:00:05");
        assert_eq!(filesize_alternative(1), "1 byte");
        assert_eq!(filesize_alternative(3 << 20), "3 MB");
        assert!(wireguard_v15(&t, "wg9", dump, 0).is_err());
    }
}
