//! Rendering a hypervisor's WireGuard interfaces as `wg setconf` texts.
//!
//! The hypervisor's VTEP address is its own (see `ovs`), on no WireGuard
//! interface: it has the two mesh slots of `crate::mesh`, each a full mesh
//! in which every other VTEP (each router and hypervisor of every site) is
//! a peer holding its own address alone. `wg setconf` knows neither
//! addresses nor routes, so the host routes every AllowedIPs of the active
//! slot into that slot; the text is the keys, the ports and the peers, one
//! `wg setconf` document per slot after a `# slot <ifname>` line.

use crate::mesh::Slot;
use crate::model::{HypervisorModel, WgPeer};
use std::fmt::Write;
use std::net::IpAddr;

const SLOT: &str = "# slot ";
const ACTIVE: &str = "# active ";

/// A header, `# active <slot>`, then each slot's `[Interface]` and one
/// `[Peer]` per peer, in the model's order (sorted by name): the same
/// model gives the same text byte for byte.
pub fn render(h: &HypervisorModel) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# vxguard WireGuard for hypervisor {}: wg setconf SLOT FILE per slot, the mesh routed into the active one",
        h.name
    );
    let _ = writeln!(s, "{ACTIVE}{}", h.mesh_active.ifname());
    for m in &h.mesh {
        let _ = writeln!(s, "{SLOT}{}", m.slot.ifname());
        let _ = writeln!(s, "[Interface]");
        let _ = writeln!(s, "PrivateKey = {}", m.private_key);
        let _ = writeln!(s, "ListenPort = {}", m.port);
        for p in &m.peers {
            peer(&mut s, p);
        }
    }
    s
}

/// Each slot's interface name and `wg setconf` text. A text from before
/// the slots (one interface, no `# slot` line) is slot A's.
pub fn slots(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for l in text.lines() {
        if let Some(name) = l.strip_prefix(SLOT) {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some((_, t)) = out.last_mut() {
            t.push_str(l);
            t.push('\n');
        }
    }
    if out.is_empty() {
        out.push((Slot::A.ifname().to_string(), text.to_string()));
    }
    out
}

/// The interface the host routes the mesh into (slot A for a text from
/// before the slots).
pub fn active(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(ACTIVE))
        .map_or(Slot::A.ifname(), str::trim)
        .to_string()
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
    use crate::model::MeshSlot;
    use std::net::Ipv4Addr;

    fn model() -> HypervisorModel {
        let peers = |port: u16| {
            vec![
                WgPeer {
                    name: "r1".into(),
                    public_key: "PUB1=".into(),
                    endpoint: Some(("192.0.2.1".parse().unwrap(), port)),
                    allowed_ips: vec![
                        "172.27.0.1/32".parse().unwrap(),
                        "172.27.0.0/20".parse().unwrap(),
                    ],
                    keepalive: Some(25),
                },
                WgPeer {
                    name: "r2".into(),
                    public_key: "PUB2=".into(),
                    endpoint: Some(("2001:db8::2".parse().unwrap(), port)),
                    allowed_ips: vec!["172.27.0.2/32".parse().unwrap()],
                    keepalive: None,
                },
            ]
        };
        HypervisorModel {
            name: "hv1".into(),
            site: "dc1".into(),
            bridge: "br-int".into(),
            vtep: Ipv4Addr::new(172, 27, 0, 5),
            tenant_mtu: 1390,
            networks: Vec::new(),
            mesh: [
                MeshSlot {
                    slot: Slot::A,
                    port: 51820,
                    private_key: "PRIV=".into(),
                    peers: peers(51820),
                },
                MeshSlot {
                    slot: Slot::B,
                    port: 51819,
                    private_key: "PRIV=".into(),
                    peers: peers(51819)[..1].to_vec(),
                },
            ],
            mesh_active: Slot::B,
        }
    }

    const A: &str = "\
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
Endpoint = [2001:db8::2]:51820
AllowedIPs = 172.27.0.2/32
";
    const B: &str = "\
[Interface]
PrivateKey = PRIV=
ListenPort = 51819

# r1
[Peer]
PublicKey = PUB1=
Endpoint = 192.0.2.1:51819
AllowedIPs = 172.27.0.1/32, 172.27.0.0/20
PersistentKeepalive = 25
";

    #[test]
    fn renders_one_setconf_text_per_slot() {
        let text = render(&model());
        assert_eq!(
            text,
            format!(
                "# vxguard WireGuard for hypervisor hv1: wg setconf SLOT FILE per slot, the mesh routed into the active one\n\
                 # active wg65536\n# slot wg0\n{A}# slot wg65536\n{B}"
            )
        );
        assert_eq!(
            slots(&text),
            vec![
                ("wg0".to_string(), A.to_string()),
                ("wg65536".into(), B.into())
            ]
        );
        assert_eq!(active(&text), "wg65536");
    }

    #[test]
    fn a_text_from_before_the_slots_is_slot_a() {
        assert_eq!(slots(A), vec![("wg0".to_string(), A.to_string())]);
        assert_eq!(active(A), "wg0");
    }

    #[test]
    fn allowed_ips_are_read_back() {
        let got = allowed_ips(A);
        let want: Vec<ipnet::Ipv4Net> = ["172.27.0.1/32", "172.27.0.0/20", "172.27.0.2/32"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
    }
}
