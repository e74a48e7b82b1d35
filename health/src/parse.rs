//! Reading the texts VyOS's HTTP API returns for the op-mode `show`
//! commands the collector asks (`/show`, `{"op":"show","path":[...]}`):
//! the command's standard output, as a person would read it. Each parser
//! names the op-mode script (vyos-1x `op_mode/`, `op-mode-definitions/`)
//! whose text it reads, on 1.4 (sagitta) and 1.5 (current).
//!
//! The parsers never fail on a text they do not know: they return what
//! they recognised (an empty list), and the evaluation then reports the
//! expected items as missing, which is the truth as far as vxguard can
//! tell.

use serde::{Deserialize, Serialize};

/// One BGP neighbour of `show bgp summary`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpPeer {
    pub neighbor: String,
    /// FRR's state (`Established`, `Active`, `Connect`, `Idle`, ...); an
    /// Established session shows its received prefix count instead, and
    /// is reported here as `Established`.
    pub state: String,
    /// The `Up/Down` column: how long the session has been in its state
    /// (up when Established, down otherwise); `None` for `never`.
    pub up_down_secs: Option<u64>,
    /// Prefixes received (summed over the address families shown).
    pub prefixes: Option<u64>,
}

impl BgpPeer {
    pub fn established(&self) -> bool {
        self.state == "Established"
    }
}

/// The neighbours of op-mode `show bgp summary` (1.4 and 1.5:
/// `op-mode-definitions/show-bgp.xml.in` runs `vtysh_wrapper.sh`, i.e.
/// `vtysh -c "show bgp summary"`: FRR's table per address family, headed
/// `Neighbor V AS MsgRcvd MsgSent TblVer InQ OutQ Up/Down State/PfxRcd
/// PfxSnt Desc`). A neighbour listed in several families (IPv4 unicast,
/// L2VPN EVPN) is one peer, Established if it is in any. The lab router's
/// `Neighbor State` table reads too.
pub fn bgp_summary(text: &str) -> Vec<BgpPeer> {
    let mut out: Vec<BgpPeer> = Vec::new();
    let mut cols: Option<(usize, Option<usize>)> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"Neighbor") {
            let state = words
                .iter()
                .position(|w| w.to_ascii_lowercase().starts_with("state"));
            let up = words.iter().position(|w| *w == "Up/Down");
            cols = state.map(|s| (s, up));
            continue;
        }
        if words.is_empty() || words[0] == "Total" {
            cols = None;
            continue;
        }
        let Some((state_col, up_col)) = cols else {
            continue;
        };
        let Some(state) = words.get(state_col) else {
            continue;
        };
        let (state, prefixes) = match state.parse::<u64>() {
            Ok(n) => ("Established".to_string(), Some(n)),
            Err(_) => (state.to_string(), None),
        };
        let up_down_secs = up_col
            .and_then(|c| words.get(c))
            .and_then(|w| frr_uptime(w));
        let neighbor = words[0].to_string();
        match out.iter_mut().find(|p| p.neighbor == neighbor) {
            Some(p) => {
                if !p.established() && state == "Established" {
                    p.state = state;
                    p.up_down_secs = up_down_secs;
                }
                if let Some(n) = prefixes {
                    p.prefixes = Some(p.prefixes.unwrap_or(0) + n);
                }
            }
            None => out.push(BgpPeer {
                neighbor,
                state,
                up_down_secs,
                prefixes,
            }),
        }
    }
    out
}

/// FRR's `Up/Down` (`peer_uptime` in bgpd): `never`, `HH:MM:SS` under a
/// day, `XdHHhMMm` under a week, `XXwXdHHh` beyond.
pub fn frr_uptime(s: &str) -> Option<u64> {
    if s == "never" {
        return None;
    }
    if s.contains(':') {
        let p: Vec<u64> = s
            .split(':')
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        return match p.as_slice() {
            [h, m, sec] => Some(h * 3600 + m * 60 + sec),
            _ => None,
        };
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

/// One VRRP group of `show vrrp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpGroup {
    pub name: String,
    pub interface: String,
    pub vrid: u32,
    /// keepalived's state as VyOS names it: `MASTER`, `BACKUP`, `FAULT`,
    /// `INIT`; `DISABLED` for a disabled group.
    pub state: String,
    pub priority: Option<u32>,
}

/// What `show vrrp` said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vrrp {
    /// The summary table.
    Groups(Vec<VrrpGroup>),
    /// `VRRP is not running` (keepalived is down: no group holds a state).
    NotRunning,
    /// `VRRP not configured!`.
    NotConfigured,
}

/// Op-mode `show vrrp` (1.4 and 1.5: `op-mode-definitions/vrrp.xml.in`
/// runs `op_mode/vrrp.py --summary`): `VRRP not configured!`, `VRRP is
/// not running`, or a `tabulate` table (its default "simple" format) with
/// the headers `Name Interface VRID State Priority Last Transition`, a
/// dashed rule, one row per group.
pub fn vrrp(text: &str) -> Vrrp {
    let t = text.trim();
    if t.starts_with("VRRP not configured") {
        return Vrrp::NotConfigured;
    }
    if t.starts_with("VRRP is not running") {
        return Vrrp::NotRunning;
    }
    let mut out = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"Name") && words.contains(&"VRID") {
            in_table = true;
            continue;
        }
        if !in_table || words.is_empty() || words[0].starts_with("---") {
            continue;
        }
        if words.len() < 4 {
            continue;
        }
        let Ok(vrid) = words[2].parse() else {
            continue;
        };
        out.push(VrrpGroup {
            name: words[0].to_string(),
            interface: words[1].to_string(),
            vrid,
            state: words[3].to_ascii_uppercase(),
            priority: words.get(4).and_then(|p| p.parse().ok()),
        });
    }
    Vrrp::Groups(out)
}

/// One peer of a WireGuard interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WgPeerState {
    /// VyOS's peer name (1.5 prints it; 1.4's `wg show` does not).
    pub name: Option<String>,
    pub public_key: String,
    pub endpoint: Option<String>,
    /// Seconds since the latest handshake; `None`: none yet.
    pub handshake_age_secs: Option<u64>,
    /// Bytes received and sent (as precise as the text: 1.5 rounds down
    /// to the unit).
    pub rx_bytes: Option<u64>,
    pub tx_bytes: Option<u64>,
}

/// Op-mode `show interfaces wireguard <wg> summary`: on 1.4 `sudo wg show
/// <wg>` (`op-mode-definitions/show-interfaces-wireguard.xml.in`):
/// wireguard-tools' text, `peer: <public key>` blocks with `latest
/// handshake: 1 minute, 5 seconds ago` and `transfer: 1.50 KiB received,
/// 2.30 KiB sent`; on 1.5 `op_mode/interfaces_wireguard.py show_summary`
/// (`WireGuardOperational.show_interface` in
/// `python/vyos/ifconfig/wireguard.py`): `peer: <name>` blocks with
/// `public key:`, `latest handshake: 0:01:05` (Python's `timedelta`),
/// `status: active|inactive` and `transfer: 1 KB received, 2 KB sent`
/// (hurry.filesize's `alternative` units, rounded down).
pub fn wireguard(text: &str) -> Vec<WgPeerState> {
    let mut out: Vec<WgPeerState> = Vec::new();
    let mut cur: Option<WgPeerState> = None;
    for line in text.lines() {
        let l = line.trim();
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "interface" => {
                out.extend(cur.take());
            }
            "peer" => {
                out.extend(cur.take());
                let mut p = WgPeerState::default();
                if looks_like_key(v) {
                    p.public_key = v.to_string();
                } else {
                    p.name = Some(v.to_string());
                }
                cur = Some(p);
            }
            _ => {
                let Some(p) = cur.as_mut() else { continue };
                match k {
                    "public key" => p.public_key = v.to_string(),
                    "endpoint" => p.endpoint = Some(v.to_string()),
                    "latest handshake" => p.handshake_age_secs = handshake_age(v),
                    "transfer" => {
                        if let Some((rx, tx)) = v.split_once(" received, ") {
                            p.rx_bytes = byte_size(rx);
                            p.tx_bytes = byte_size(tx.trim_end_matches(" sent"));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out.extend(cur);
    out
}

/// A WireGuard public key: 32 bytes in base64 (44 characters, `=` last).
fn looks_like_key(s: &str) -> bool {
    s.len() == 44
        && s.ends_with('=')
        && s[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

/// `latest handshake:` in either shape: wireguard-tools' `1 day, 2 hours,
/// 3 minutes, 4 seconds ago` (or `Now`), or Python's `timedelta` string
/// `1 day, 2:03:04`.
pub fn handshake_age(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "Now" {
        return Some(0);
    }
    let s = s.trim_end_matches(" ago");
    let mut total = 0u64;
    for part in s.split(", ") {
        let part = part.trim();
        if part.contains(':') {
            total += frr_uptime(part)?;
            continue;
        }
        let (n, unit) = part.split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        total += n * match unit.trim_end_matches('s') {
            "year" => 365 * 86_400,
            "day" => 86_400,
            "hour" => 3600,
            "minute" => 60,
            "second" => 1,
            _ => return None,
        };
    }
    Some(total)
}

/// A size as wireguard-tools (`12 B`, `1.50 KiB`, `3.20 MiB`...), hurry.filesize
/// (`1 byte`, `5 bytes`, `1 KB`, `12 MB`...) or VyOS's `bytes_to_human`
/// (`745.31 MB`, `1.93 GB`) print it; binary multiples throughout.
pub fn byte_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" | "byte" | "bytes" => 1,
        "KiB" | "KB" | "K" => 1 << 10,
        "MiB" | "MB" | "M" => 1 << 20,
        "GiB" | "GB" | "G" => 1 << 30,
        "TiB" | "TB" | "T" => 1 << 40,
        "PiB" | "PB" | "P" => 1 << 50,
        _ => return None,
    };
    Some((n * mult as f64).round() as u64)
}

/// `show system memory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub total_bytes: u64,
    /// MemAvailable.
    pub free_bytes: u64,
    pub used_bytes: u64,
}

impl Memory {
    /// Used, in whole percent of the total.
    pub fn used_percent(&self) -> u64 {
        (self.used_bytes * 100)
            .checked_div(self.total_bytes)
            .unwrap_or(0)
    }
}

/// Op-mode `show system memory` (1.4 and 1.5:
/// `op-mode-definitions/show-system.xml.in` runs `op_mode/memory.py
/// show`): `Total: 1.93 GB`, `Free:  1.2 GB`, `Used:  745.31 MB`, from
/// /proc/meminfo's MemTotal and MemAvailable, sizes by `bytes_to_human`.
pub fn memory(text: &str) -> Option<Memory> {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| byte_size(v)).flatten()
        })
    };
    let total_bytes = get("Total")?;
    let free_bytes = get("Free")?;
    let used_bytes = get("Used").unwrap_or(total_bytes.saturating_sub(free_bytes));
    Some(Memory {
        total_bytes,
        free_bytes,
        used_bytes,
    })
}

/// One BFD session of `show bfd peers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdPeer {
    pub peer: String,
    pub local_address: Option<String>,
    pub vrf: Option<String>,
    pub interface: Option<String>,
    /// FRR's `Status:` (`up`, `down`, `init`, `shutdown`).
    pub status: String,
    /// `Uptime:` when up, `Downtime:` otherwise; `None` when not shown.
    pub since_secs: Option<u64>,
    /// `Diagnostics:` (`ok`, `control detection time expired`, ...).
    pub diagnostics: Option<String>,
}

impl BfdPeer {
    pub fn up(&self) -> bool {
        self.status == "up"
    }
}

/// Op-mode `show bfd peers` (1.4 and 1.5: `op-mode-definitions/show-bfd.xml.in`
/// runs `vtysh -c "show bfd peers"`): FRR's `BFD Peers:` followed by a
/// block per session, `peer <address> [multihop] [local-address <a>] [vrf
/// <v>] [interface <i>]`, then indented `Status: up`, `Uptime: 1 minute(s), 5
/// second(s)` (or `Downtime:`) and `Diagnostics: ok`.
pub fn bfd_peers(text: &str) -> Vec<BfdPeer> {
    let mut out: Vec<BfdPeer> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("peer ") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            let after = |k: &str| {
                w.iter()
                    .position(|x| *x == k)
                    .and_then(|i| w.get(i + 1))
                    .map(|s| s.to_string())
            };
            out.push(BfdPeer {
                peer: w.first().map(|s| s.to_string()).unwrap_or_default(),
                local_address: after("local-address"),
                vrf: after("vrf"),
                interface: after("interface"),
                status: String::new(),
                since_secs: None,
                diagnostics: None,
            });
            continue;
        }
        let Some(p) = out.last_mut() else { continue };
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Status" => p.status = v.to_ascii_lowercase(),
            "Uptime" | "Downtime" => p.since_secs = bfd_duration(v),
            "Diagnostics" => p.diagnostics = Some(v.to_string()),
            _ => {}
        }
    }
    out
}

/// FRR's BFD durations (`_display_peer_uptime`): `3 day(s), 2 hour(s), 1
/// minute(s), 5 second(s)`; `never`.
pub fn bfd_duration(s: &str) -> Option<u64> {
    if s.trim() == "never" {
        return None;
    }
    let mut total = 0;
    for part in s.split(',') {
        let (n, unit) = part.trim().split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        total += n * match unit.trim_end_matches("(s)") {
            "month" => 30 * 86_400,
            "day" => 86_400,
            "hour" => 3600,
            "minute" => 60,
            "second" => 1,
            _ => return None,
        };
    }
    Some(total)
}

/// One interface of `show interfaces counters`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfCounters {
    pub interface: String,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    /// `rx_over_errors` and `tx_carrier_errors`, as VyOS's columns are.
    pub rx_errors: u64,
    pub tx_errors: u64,
}

/// Op-mode `show interfaces counters` (1.4 and 1.5:
/// `op_mode/interfaces.py show_counters`): a `tabulate` table headed
/// `Interface Rx Packets Rx Bytes Tx Packets Tx Bytes Rx Dropped Tx
/// Dropped Rx Errors Tx Errors`, numbers left-aligned, one row per
/// interface whose operational state is up or unknown: an interface
/// that is down is not listed.
pub fn interface_counters(text: &str) -> Vec<IfCounters> {
    let mut out = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.first() == Some(&"Interface") && line.contains("Rx Bytes") {
            in_table = true;
            continue;
        }
        if !in_table || w.len() != 9 || w[0].starts_with("---") {
            continue;
        }
        let Some(n) = w[1..]
            .iter()
            .map(|x| x.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()
        else {
            continue;
        };
        out.push(IfCounters {
            interface: w[0].to_string(),
            rx_packets: n[0],
            rx_bytes: n[1],
            tx_packets: n[2],
            tx_bytes: n[3],
            rx_dropped: n[4],
            tx_dropped: n[5],
            rx_errors: n[6],
            tx_errors: n[7],
        });
    }
    out
}

/// `show system uptime`: the load averages, in percent of all cores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub uptime_secs: Option<u64>,
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// Op-mode `show system uptime` (1.4 and 1.5: `op_mode/uptime.py show`):
/// `Uptime: 1d 2h 3m 4s`, then `Load averages:` with `1  minute:   25.0%`,
/// `5  minutes:  ...`, `15 minutes: ...` (the kernel's load averages
/// divided by the core count: VyOS's CPU figure).
pub fn uptime(text: &str) -> Option<Load> {
    let pct = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            let k: Vec<&str> = k.split_whitespace().collect();
            (k.first() == Some(&key) && k.len() == 2)
                .then(|| v.trim().trim_end_matches('%').parse::<f64>().ok())
                .flatten()
        })
    };
    let uptime_secs = text.lines().find_map(|l| {
        let v = l.strip_prefix("Uptime:")?;
        let mut total = 0;
        for part in v.split_whitespace() {
            total += frr_uptime(part)?;
        }
        Some(total)
    });
    Some(Load {
        uptime_secs,
        one: pct("1")?,
        five: pct("5")?,
        fifteen: pct("15")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FRR 8/9 as VyOS 1.4 and 1.5 run it (`vtysh -c "show bgp summary"`):
    /// one table per address family.
    const FRR_SUMMARY: &str = "
IPv4 Unicast Summary (VRF default):
BGP router identifier 172.27.0.1, local AS number 65000 vrf-id 0
BGP table version 3
RIB entries 5, using 960 bytes of memory
Peers 3, using 2169 KiB of memory

Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc
172.27.0.2      4      65000        12        14        0    0    0 00:03:10            2        3 N/A
172.27.0.3      4      65000         0         0        0    0    0    never       Active        0 N/A
172.27.0.4      4      65000         0         0        0    0    0 1d02h03m      Connect        0 N/A

Total number of neighbors 3

L2VPN EVPN Summary (VRF default):
BGP router identifier 172.27.0.1, local AS number 65000 vrf-id 0
Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc
172.27.0.2      4      65000        12        14        0    0    0 00:03:10            5        3 N/A
172.27.0.3      4      65000        12        14        0    0    0 01w2d03h            7        3 N/A

Total number of neighbors 2
";

    #[test]
    fn bgp_summary_reads_every_family_and_the_up_down_column() {
        let p = bgp_summary(FRR_SUMMARY);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].neighbor, "172.27.0.2");
        assert!(p[0].established());
        assert_eq!(p[0].up_down_secs, Some(190));
        assert_eq!(p[0].prefixes, Some(7));
        // Active in IPv4 unicast, Established in EVPN: Established.
        assert!(p[1].established());
        assert_eq!(p[1].up_down_secs, Some(9 * 86_400 + 3 * 3600));
        assert_eq!(p[2].state, "Connect");
        assert_eq!(p[2].up_down_secs, Some(86_400 + 2 * 3600 + 180));
    }

    #[test]
    fn bgp_summary_reads_no_neighbors_and_the_lab_table() {
        assert!(bgp_summary("% No BGP neighbors found in VRF default\n").is_empty());
        assert!(bgp_summary("").is_empty());
        let lab = bgp_summary("Neighbor        State\n172.27.0.2      Unrealised\n");
        assert_eq!(lab.len(), 1);
        assert!(!lab[0].established());
        assert_eq!(lab[0].up_down_secs, None);
    }

    #[test]
    fn frr_uptimes() {
        assert_eq!(frr_uptime("never"), None);
        assert_eq!(frr_uptime("00:00:31"), Some(31));
        assert_eq!(frr_uptime("3d04h05m"), Some(3 * 86_400 + 4 * 3600 + 300));
        assert_eq!(frr_uptime("10w1d02h"), Some(71 * 86_400 + 7200));
        assert_eq!(frr_uptime("x"), None);
        assert_eq!(frr_uptime("3d04"), None);
    }

    /// `op_mode/vrrp.py --summary`: tabulate's "simple" table.
    const VRRP_TABLE: &str = "\
Name          Interface      VRID  State      Priority  Last Transition
------------  -----------  ------  -------  ----------  -----------------
acme-web      br10010          10  MASTER          200  1h2m3s
acme-db       br10011          11  BACKUP          100  5m
globex-app    eth1.20          20  FAULT           100  10s
";

    #[test]
    fn vrrp_summary_table() {
        let Vrrp::Groups(g) = vrrp(VRRP_TABLE) else {
            panic!("a table")
        };
        assert_eq!(g.len(), 3);
        assert_eq!(
            g[0],
            VrrpGroup {
                name: "acme-web".into(),
                interface: "br10010".into(),
                vrid: 10,
                state: "MASTER".into(),
                priority: Some(200),
            }
        );
        assert_eq!(g[1].state, "BACKUP");
        assert_eq!(g[2].state, "FAULT");
        assert_eq!(vrrp("VRRP is not running\n"), Vrrp::NotRunning);
        assert_eq!(vrrp("VRRP not configured!\n"), Vrrp::NotConfigured);
        assert_eq!(vrrp(""), Vrrp::Groups(vec![]));
    }

    const K1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const K2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
    const K3: &str = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";

    /// 1.4: `sudo wg show wg0` (wireguard-tools' text, no terminal).
    fn wg_show() -> String {
        format!(
            "interface: wg0
  public key: {K1}
  private key: (hidden)
  listening port: 51820

peer: {K2}
  endpoint: 192.0.2.2:51820
  allowed ips: 172.27.0.2/32
  latest handshake: 1 minute, 5 seconds ago
  transfer: 1.50 KiB received, 2.30 MiB sent
  persistent keepalive: every 25 seconds

peer: {K3}
  endpoint: 192.0.2.3:51820
  allowed ips: 172.27.0.3/32
  persistent keepalive: every 25 seconds
"
        )
    }

    /// 1.5: `interfaces_wireguard.py show_summary --intf-name=wg0`.
    fn wg_operational() -> String {
        format!(
            "interface: wg0
  address: 172.27.0.1/24
  public key: {K1}
  private key: (hidden)
  listening port: 51820

  peer: r2
    public key: {K2}
    latest handshake: 1 day, 0:02:03
    status: inactive
    endpoint: 192.0.2.2:51820
    allowed ips: 172.27.0.2/32
    transfer: 1 KB received, 12 bytes sent
    persistent keepalive: every 25 seconds

  peer: r3
    public key: {K3}
    status: inactive
    endpoint: 192.0.2.3:51820
    allowed ips: 172.27.0.3/32
    persistent keepalive: every 25 seconds

"
        )
    }

    #[test]
    fn wireguard_1_4_wg_show() {
        let p = wireguard(&wg_show());
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].public_key, K2);
        assert_eq!(p[0].name, None);
        assert_eq!(p[0].handshake_age_secs, Some(65));
        assert_eq!(p[0].rx_bytes, Some(1536));
        assert_eq!(p[0].tx_bytes, Some((2.30 * 1048576.0f64).round() as u64));
        assert_eq!(p[0].endpoint.as_deref(), Some("192.0.2.2:51820"));
        assert_eq!(p[1].public_key, K3);
        assert_eq!(p[1].handshake_age_secs, None);
        assert_eq!(p[1].rx_bytes, None);
    }

    #[test]
    fn wireguard_1_5_operational() {
        let p = wireguard(&wg_operational());
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name.as_deref(), Some("r2"));
        // The interface's own key is not a peer's.
        assert_eq!(p[0].public_key, K2);
        assert_eq!(p[0].handshake_age_secs, Some(86_400 + 123));
        assert_eq!(p[0].rx_bytes, Some(1024));
        assert_eq!(p[0].tx_bytes, Some(12));
        assert_eq!(p[1].name.as_deref(), Some("r3"));
        assert_eq!(p[1].public_key, K3);
        assert_eq!(p[1].handshake_age_secs, None);
        assert!(wireguard("WireGuard interface wg0 is not configured\n").is_empty());
    }

    #[test]
    fn handshake_ages() {
        assert_eq!(handshake_age("Now"), Some(0));
        assert_eq!(handshake_age("1 second ago"), Some(1));
        assert_eq!(
            handshake_age("1 year, 2 days, 1 hour, 1 minute, 2 seconds ago"),
            Some(367 * 86_400 + 3662)
        );
        assert_eq!(handshake_age("0:00:09"), Some(9));
        assert_eq!(handshake_age("3 days, 10:00:00"), Some(3 * 86_400 + 36_000));
        assert_eq!(handshake_age("(System clock wound backward)"), None);
    }

    #[test]
    fn memory_as_memory_py_prints_it() {
        let m = memory("Total: 1.93 GB\nFree:  1.2 GB\nUsed:  745.31 MB\n").unwrap();
        assert_eq!(m.total_bytes, (1.93 * (1u64 << 30) as f64).round() as u64);
        assert_eq!(m.used_bytes, (745.31 * (1u64 << 20) as f64).round() as u64);
        assert_eq!(m.used_percent(), 37);
        assert_eq!(memory("nonsense"), None);
        assert_eq!(byte_size("512 B"), Some(512));
        assert_eq!(byte_size("0"), Some(0));
        assert_eq!(byte_size("1 byte"), Some(1));
        assert_eq!(byte_size("3 furlongs"), None);
    }

    /// FRR 8.4's `show bfd peers` (vtysh in the lab router's namespace,
    /// captured by `lab/tests/netns_show.rs`): an up session, and the same
    /// session seen from the other end after its underlay went down.
    const BFD_UP: &str = "BFD Peers:
\tpeer 172.27.0.2 local-address 172.27.0.1 vrf default interface wg0
\t\tID: 4270875557
\t\tRemote ID: 2336912009
\t\tActive mode
\t\tStatus: up
\t\tUptime: 0 second(s)
\t\tDiagnostics: ok
\t\tRemote diagnostics: ok
\t\tPeer Type: dynamic
\t\tRTT min/avg/max: 0/0/0 usec
\t\tLocal timers:
\t\t\tDetect-multiplier: 3
\t\t\tReceive interval: 300ms
\t\t\tTransmission interval: 300ms
\t\t\tEcho receive interval: 50ms
\t\t\tEcho transmission interval: disabled
\t\tRemote timers:
\t\t\tDetect-multiplier: 3
\t\t\tReceive interval: 300ms
\t\t\tTransmission interval: 300ms
\t\t\tEcho receive interval: 50ms

";
    const BFD_DOWN: &str = "BFD Peers:
\tpeer 172.27.0.1 local-address 172.27.0.2 vrf default interface wg0
\t\tID: 2336912009
\t\tRemote ID: 0
\t\tActive mode
\t\tStatus: down
\t\tDowntime: 0 second(s)
\t\tDiagnostics: control detection time expired
\t\tRemote diagnostics: ok
\t\tPeer Type: dynamic
\t\tRTT min/avg/max: 0/0/0 usec
\t\tLocal timers:
\t\t\tDetect-multiplier: 3
\t\t\tReceive interval: 300ms

\tpeer 172.27.0.9 multihop local-address 172.27.0.2 vrf default
\t\tStatus: up
\t\tUptime: 2 day(s), 1 hour(s), 3 minute(s), 4 second(s)
\t\tDiagnostics: ok

";

    #[test]
    fn bfd_peers_as_frr_prints_them() {
        let up = bfd_peers(BFD_UP);
        assert_eq!(
            up,
            vec![BfdPeer {
                peer: "172.27.0.2".into(),
                local_address: Some("172.27.0.1".into()),
                vrf: Some("default".into()),
                interface: Some("wg0".into()),
                status: "up".into(),
                since_secs: Some(0),
                diagnostics: Some("ok".into()),
            }]
        );
        assert!(up[0].up());
        let down = bfd_peers(BFD_DOWN);
        assert_eq!(down.len(), 2);
        assert!(!down[0].up());
        assert_eq!(
            down[0].diagnostics.as_deref(),
            Some("control detection time expired")
        );
        assert!(down[1].up());
        assert_eq!(down[1].interface, None);
        assert_eq!(down[1].since_secs, Some(2 * 86_400 + 3600 + 184));
        assert!(bfd_peers("BFD Peers:\n").is_empty());
        assert_eq!(bfd_duration("never"), None);
        assert_eq!(bfd_duration("3 fortnight(s)"), None);
    }

    /// `show interfaces counters` as the lab router answers it from `ip -s
    /// -j link` (captured by `lab/tests/netns_show.rs`), VyOS's columns.
    const COUNTERS: &str = "\
Interface    Rx Packets    Rx Bytes    Tx Packets    Tx Bytes    Rx Dropped    Tx Dropped    Rx Errors    Tx Errors
-----------  ------------  ----------  ------------  ----------  ------------  ------------  -----------  -----------
lo           0             0           0             0           0             0             0            0
u0           22            3184        26            3680        0             0             0            0
vxlan20000   3             248         6             180         0             21            0            0
br20000      17            940         8             704         0             0             0            0
wg0          14            1326        19            1508        0             0             0            0
";

    #[test]
    fn interface_counters_table() {
        let c = interface_counters(COUNTERS);
        assert_eq!(c.len(), 5);
        assert_eq!(
            c[4],
            IfCounters {
                interface: "wg0".into(),
                rx_packets: 14,
                rx_bytes: 1326,
                tx_packets: 19,
                tx_bytes: 1508,
                rx_dropped: 0,
                tx_dropped: 0,
                rx_errors: 0,
                tx_errors: 0,
            }
        );
        assert_eq!(c[2].tx_dropped, 21);
        assert!(interface_counters("Invalid command\n").is_empty());
    }

    #[test]
    fn uptime_load_averages() {
        let l = uptime(
            "Uptime:  21m 12s\n\nLoad averages:\n1  minute:   220.5%\n5  minutes:  221.0%\n15 minutes:  161.5%\n",
        )
        .unwrap();
        assert_eq!(l.uptime_secs, Some(21 * 60 + 12));
        assert_eq!(l.one, 220.5);
        assert_eq!(l.five, 221.0);
        assert_eq!(l.fifteen, 161.5);
        assert_eq!(uptime("Uptime: 1d\n"), None);
    }
}
