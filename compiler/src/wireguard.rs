//! Rendering a hypervisor's WireGuard interface as `wg setconf` text.
//!
//! The hypervisor's VTEP address is its WireGuard address (see `ovs`):
//! every other VTEP (each router and hypervisor of every site) is a peer
//! holding its own address alone. `wg setconf` knows neither addresses nor
//! routes, so the host adds a route into the interface for every peer's
//! AllowedIPs; this text is only the keys, the port and the peers.

use crate::model::{HypervisorModel, WgPeer};
use std::fmt::Write;
use std::net::IpAddr;

/// `[Interface]` then one `[Peer]` per peer, in the model's order (sorted
/// by name): the same model gives the same text byte for byte.
pub fn render(h: &HypervisorModel) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# vxguard WireGuard for hypervisor {}: wg setconf IF FILE",
        h.name
    );
    let _ = writeln!(s, "[Interface]");
    let _ = writeln!(s, "PrivateKey = {}", h.private_key);
    let _ = writeln!(s, "ListenPort = {}", h.wg_port);
    for p in &h.wg_peers {
        peer(&mut s, p);
    }
    s
}

fn peer(s: &mut String, p: &WgPeer) {
    let _ = writeln!(s, "\n# {}", p.name);
    let _ = writeln!(s, "[Peer]");
    let _ = writeln!(s, "PublicKey = {}", p.public_key);
    if let Some((addr, port)) = p.endpoint {
        match addr {
            IpAddr::V4(a) => writeln!(s, "Endpoint = {a}:{port}"),
            IpAddr::V6(a) => writeln!(s, "Endpoint = [{a}]:{port}"),
        }
        .expect("writing to a String");
    }
    let allowed: Vec<String> = p.allowed_ips.iter().map(|n| n.to_string()).collect();
    let _ = writeln!(s, "AllowedIPs = {}", allowed.join(", "));
    if let Some(k) = p.keepalive {
        let _ = writeln!(s, "PersistentKeepalive = {k}");
    }
}

/// Every AllowedIPs prefix of a `wg setconf` text: the routes the host
/// points into the interface.
pub fn allowed_ips(text: &str) -> Vec<ipnet::Ipv4Net> {
    let mut out = Vec::new();
    for l in text.lines() {
        let l = l.split('#').next().unwrap_or("").trim();
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("AllowedIPs") {
            out.extend(
                v.split(',')
                    .filter_map(|n| n.trim().parse::<ipnet::Ipv4Net>().ok()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn model() -> HypervisorModel {
        HypervisorModel {
            name: "hv1".into(),
            site: "dc1".into(),
            bridge: "br-int".into(),
            vtep: Ipv4Addr::new(172, 27, 0, 5),
            tenant_mtu: 1390,
            networks: Vec::new(),
            wg_peers: vec![
                WgPeer {
                    name: "r1".into(),
                    public_key: "PUB1=".into(),
                    endpoint: Some(("192.0.2.1".parse().unwrap(), 51820)),
                    allowed_ips: vec![
                        "172.27.0.1/32".parse().unwrap(),
                        "172.27.0.0/20".parse().unwrap(),
                    ],
                    keepalive: Some(25),
                },
                WgPeer {
                    name: "r2".into(),
                    public_key: "PUB2=".into(),
                    endpoint: Some(("2001:db8::2".parse().unwrap(), 51821)),
                    allowed_ips: vec!["172.27.0.2/32".parse().unwrap()],
                    keepalive: None,
                },
            ],
            wg_port: 51820,
            private_key: "PRIV=".into(),
        }
    }

    #[test]
    fn renders_setconf_text() {
        assert_eq!(
            render(&model()),
            "\
# vxguard WireGuard for hypervisor hv1: wg setconf IF FILE
[Interface]
PrivateKey = PRIV=
ListenPort = 51820

# r1
[Peer]
PublicKey = PUB1=
Endpoint = 192.0.2.1:51820
AllowedIPs = 172.27.0.1/32, 172.27.0.0/20
PersistentKeepalive = 25

# r2
[Peer]
PublicKey = PUB2=
Endpoint = [2001:db8::2]:51821
AllowedIPs = 172.27.0.2/32
"
        );
    }

    #[test]
    fn allowed_ips_are_read_back() {
        let got = allowed_ips(&render(&model()));
        let want: Vec<ipnet::Ipv4Net> = ["172.27.0.1/32", "172.27.0.0/20", "172.27.0.2/32"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
    }
}
