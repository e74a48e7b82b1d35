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
}
