//! Reading a capture file (classic pcap, as `tcpdump -w` writes it) and
//! judging it for check 4: the underlay must carry WireGuard and nothing
//! else a tenant sent. Pure: bytes in, a verdict out.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use ipnet::Ipv4Net;
use serde::Serialize;

/// Link types handled (`LINKTYPE_*`): tcpdump on a veth writes Ethernet.
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LINUX_SLL: u32 = 113;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PcapError {
    #[error("capture is {0} bytes: shorter than a pcap header (24)")]
    Short(usize),
    #[error("magic {0:#010x}: not a classic pcap file (pcapng is not read)")]
    Magic(u32),
    #[error("link type {0}: only Ethernet (1), raw IP (101) and Linux cooked (113) are read")]
    LinkType(u32),
    #[error("record {index} at byte {offset}: {reason}")]
    Record {
        index: usize,
        offset: usize,
        reason: String,
    },
}

/// One captured frame: its bytes as captured (maybe truncated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub data: &'a [u8],
}

/// A parsed capture: the link type and every frame.
#[derive(Debug)]
pub struct Capture<'a> {
    pub link_type: u32,
    pub frames: Vec<Frame<'a>>,
}

/// Parses a classic pcap file (either byte order, micro- or nanosecond).
/// A last record cut short (tcpdump killed mid-write) is ignored; a bad
/// length elsewhere is an error.
pub fn parse(bytes: &[u8]) -> Result<Capture<'_>, PcapError> {
    if bytes.len() < 24 {
        return Err(PcapError::Short(bytes.len()));
    }
    let magic = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        m => return Err(PcapError::Magic(m)),
    };
    let u32_at = |b: &[u8], o: usize| {
        let a: [u8; 4] = b[o..o + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link_type = u32_at(bytes, 20) & 0x0fff_ffff;
    if !matches!(
        link_type,
        LINKTYPE_ETHERNET | LINKTYPE_RAW | LINKTYPE_LINUX_SLL
    ) {
        return Err(PcapError::LinkType(link_type));
    }
    let snaplen = u32_at(bytes, 16).max(65_535) as usize;
    let mut frames = Vec::new();
    let mut off = 24;
    while off < bytes.len() {
        if bytes.len() - off < 16 {
            break; // a header cut short at the end
        }
        let incl = u32_at(bytes, off + 8) as usize;
        if incl > snaplen.max(262_144) {
            return Err(PcapError::Record {
                index: frames.len(),
                offset: off,
                reason: format!("captured length {incl} exceeds the snapshot length"),
            });
        }
        let start = off + 16;
        if start + incl > bytes.len() {
            break; // a frame cut short at the end
        }
        frames.push(Frame {
            data: &bytes[start..start + incl],
        });
        off = start + incl;
    }
    Ok(Capture { link_type, frames })
}

/// What one frame is, as far as check 4 cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Arp,
    /// IPv6 neighbour discovery / MLD between link-local addresses: the
    /// kernel's own chatter on every veth, not tenant traffic.
    Ipv6LinkLocal,
    Udp {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        /// The payload has WireGuard's message shape.
        wireguard: bool,
    },
    /// An ICMP error (unreachable, time exceeded) about a UDP packet: the
    /// ports of the packet it quotes (its payload is not quoted far enough
    /// to carry tenant data: 8 bytes of UDP header).
    IcmpAboutUdp {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
    },
    /// IPv4 other than UDP (protocol number).
    OtherIp {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
    },
    Other(String),
}

/// Classifies one frame of a capture of `link_type`.
pub fn classify(link_type: u32, f: &[u8]) -> Kind {
    let (ethertype, payload) = match link_type {
        LINKTYPE_RAW => match f.first().map(|b| b >> 4) {
            Some(4) => (0x0800, f),
            Some(6) => (0x86dd, f),
            _ => return Kind::Other("raw frame, not IP".into()),
        },
        LINKTYPE_LINUX_SLL => {
            if f.len() < 16 {
                return Kind::Other("short cooked header".into());
            }
            (u16::from_be_bytes([f[14], f[15]]), &f[16..])
        }
        _ => {
            if f.len() < 14 {
                return Kind::Other("short Ethernet header".into());
            }
            let mut et = u16::from_be_bytes([f[12], f[13]]);
            let mut p = &f[14..];
            while (et == 0x8100 || et == 0x88a8) && p.len() >= 4 {
                et = u16::from_be_bytes([p[2], p[3]]);
                p = &p[4..];
            }
            (et, p)
        }
    };
    match ethertype {
        0x0806 => Kind::Arp,
        0x0800 => ipv4(payload),
        0x86dd => ipv6(payload),
        e => Kind::Other(format!("ethertype {e:#06x}")),
    }
}

fn ipv4(p: &[u8]) -> Kind {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return Kind::Other("short or bad IPv4 header".into());
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let proto = p[9];
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let frag_offset = u16::from_be_bytes([p[6], p[7]]) & 0x1fff;
    if proto == 17 && frag_offset == 0 && p.len() >= ihl + 4 {
        let l4 = &p[ihl..];
        return Kind::Udp {
            src,
            dst,
            sport: u16::from_be_bytes([l4[0], l4[1]]),
            dport: u16::from_be_bytes([l4[2], l4[3]]),
            wireguard: l4.get(8..).is_some_and(is_wireguard),
        };
    }
    if proto == 1 && frag_offset == 0 && p.len() >= ihl + 8 + 20 {
        let icmp = &p[ihl..];
        let inner = &icmp[8..];
        let inner_ihl = usize::from(inner[0] & 0x0f) * 4;
        if matches!(icmp[0], 3 | 11) && inner[9] == 17 && inner.len() >= inner_ihl + 4 {
            let u = &inner[inner_ihl..];
            return Kind::IcmpAboutUdp {
                src,
                dst,
                sport: u16::from_be_bytes([u[0], u[1]]),
                dport: u16::from_be_bytes([u[2], u[3]]),
            };
        }
    }
    Kind::OtherIp { src, dst, proto }
}

/// Whether a UDP payload has the shape of a WireGuard message: type 1-4,
/// three zero bytes, and the type's length (initiation 148, response 92,
/// cookie 64, data 32 + a multiple of 16).
pub fn is_wireguard(m: &[u8]) -> bool {
    if m.len() < 4 || m[1..4] != [0, 0, 0] {
        return false;
    }
    match m[0] {
        1 => m.len() == 148,
        2 => m.len() == 92,
        3 => m.len() == 64,
        4 => m.len() >= 32 && (m.len() - 32) % 16 == 0,
        _ => false,
    }
}

fn ipv6(p: &[u8]) -> Kind {
    if p.len() < 40 {
        return Kind::Other("short IPv6 header".into());
    }
    let src_ll = (p[8] == 0xfe && p[9] & 0xc0 == 0x80) || p[8..24].iter().all(|b| *b == 0);
    let dst_ll = (p[24] == 0xfe && p[25] & 0xc0 == 0x80) || p[24] == 0xff;
    // ICMPv6 directly, or behind a hop-by-hop header (MLD).
    let icmp = p[6] == 58 || (p[6] == 0 && p.get(40) == Some(&58));
    if src_ll && dst_ll && icmp {
        Kind::Ipv6LinkLocal
    } else {
        Kind::Other("IPv6 beyond link-local control".into())
    }
}

/// What may cross an underlay link.
#[derive(Clone, Debug)]
pub struct Policy {
    /// UDP ports WireGuard uses (mesh port, tenant client ports).
    pub wireguard_ports: Vec<RangeInclusive<u16>>,
    /// Tenant networks and VM addresses: never on the wire in clear.
    pub tenant_nets: Vec<Ipv4Net>,
    /// Bytes that must appear nowhere (the run's marker).
    pub marker: Vec<u8>,
    /// The internet's own addresses (the outside host and the wan's side
    /// of its link): what they send is the checks' probes from outside
    /// and the wan's answers to them, not tenant traffic leaving a site.
    /// Traffic *to* them from a tenant address is still a violation.
    pub internet: Vec<Ipv4Addr>,
}

/// The verdict on one capture.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub frames: usize,
    pub wireguard: usize,
    pub arp: usize,
    pub ipv6_link_local: usize,
    /// ICMP errors about WireGuard packets (see [`Kind::IcmpAboutUdp`]).
    #[serde(default)]
    pub icmp_about_wireguard: usize,
    /// Frames sent by the internet (see [`Policy::internet`]).
    #[serde(default)]
    pub internet: usize,
    /// Distinct UDP ports seen (the lower of source and destination).
    pub udp_ports: Vec<u16>,
    /// Times the marker was found in the capture's bytes.
    pub marker_hits: usize,
    /// Up to 10 frames that should not be there, described.
    pub violations: Vec<String>,
    pub violation_count: usize,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.violation_count == 0 && self.marker_hits == 0
    }
}

/// Judges a whole capture file: every frame classified, and the marker
/// searched in all bytes (headers included: a marker is never a header).
pub fn judge(bytes: &[u8], policy: &Policy) -> Result<Verdict, PcapError> {
    let cap = parse(bytes)?;
    let mut v = Verdict {
        frames: cap.frames.len(),
        marker_hits: count(bytes, &policy.marker),
        ..Default::default()
    };
    let tenant = |a: &Ipv4Addr| policy.tenant_nets.iter().any(|n| n.contains(a));
    let wg = |p: u16| policy.wireguard_ports.iter().any(|r| r.contains(&p));
    let mut ports = BTreeMap::new();
    for (i, f) in cap.frames.iter().enumerate() {
        let kind = classify(cap.link_type, f.data);
        // WireGuard from the internet (remote-access clients) counts as
        // WireGuard; anything else it sends is its own probing.
        let from_internet = match &kind {
            Kind::Udp {
                src,
                sport,
                dport,
                wireguard,
                ..
            } => policy.internet.contains(src) && !(*wireguard && (wg(*sport) || wg(*dport))),
            Kind::OtherIp { src, .. } => policy.internet.contains(src),
            _ => false,
        };
        let bad = match kind {
            _ if from_internet => {
                v.internet += 1;
                None
            }
            Kind::Arp => {
                v.arp += 1;
                None
            }
            Kind::Ipv6LinkLocal => {
                v.ipv6_link_local += 1;
                None
            }
            Kind::Udp {
                src,
                dst,
                sport,
                dport,
                wireguard,
            } => {
                *ports.entry(sport.min(dport)).or_insert(0) += 1;
                if tenant(&src) || tenant(&dst) {
                    Some(format!(
                        "UDP {src}:{sport} -> {dst}:{dport}: tenant address"
                    ))
                } else if dport == 4789 || sport == 4789 {
                    Some(format!(
                        "UDP {src}:{sport} -> {dst}:{dport}: VXLAN in clear"
                    ))
                } else if (wg(sport) || wg(dport)) && wireguard {
                    v.wireguard += 1;
                    None
                } else if wg(sport) || wg(dport) {
                    Some(format!(
                        "UDP {src}:{sport} -> {dst}:{dport}: a WireGuard port, not a WireGuard message"
                    ))
                } else {
                    Some(format!(
                        "UDP {src}:{sport} -> {dst}:{dport}: not a WireGuard port"
                    ))
                }
            }
            // A host or the wan saying a WireGuard packet could not be
            // delivered (a peer cut off by check 7, a revoked client's
            // interface gone): about WireGuard, carrying none of its data.
            Kind::IcmpAboutUdp { sport, dport, .. } if wg(sport) || wg(dport) => {
                v.icmp_about_wireguard += 1;
                None
            }
            Kind::IcmpAboutUdp {
                src,
                dst,
                sport,
                dport,
            } => Some(format!(
                "ICMP {src} -> {dst} about UDP port {sport} -> {dport}: not WireGuard"
            )),
            Kind::OtherIp { src, dst, proto } => Some(format!(
                "IPv4 protocol {proto} {src} -> {dst}{}",
                if tenant(&src) || tenant(&dst) {
                    ": tenant address"
                } else {
                    ""
                }
            )),
            Kind::Other(what) => Some(what),
        };
        if let Some(b) = bad {
            v.violation_count += 1;
            if v.violations.len() < 10 {
                v.violations.push(format!("frame {}: {b}", i + 1));
            }
        }
    }
    v.udp_ports = ports.into_keys().collect();
    Ok(v)
}

/// Non-overlapping occurrences of `needle` in `hay` (0 for an empty needle).
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    let mut n = 0;
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

/// Test and tooling helper: a classic little-endian pcap of Ethernet frames.
pub fn write_pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Test helper: an Ethernet + IPv4 frame with protocol `proto` and `l4`.
pub fn ipv4_frame(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    let total = (20 + l4.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(l4);
    f
}

/// Test helper: a UDP frame.
pub fn udp_frame(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    l4.extend_from_slice(&[0, 0]);
    l4.extend_from_slice(payload);
    ipv4_frame(src, dst, 17, &l4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn policy() -> Policy {
        Policy {
            wireguard_ports: vec![51820..=52844],
            tenant_nets: vec!["100.64.1.0/28".parse().unwrap()],
            marker: b"VXGMARK-1234".to_vec(),
            internet: vec![a("198.51.100.10"), a("198.51.100.1")],
        }
    }

    fn icmp_unreachable_about_udp(dport: u16) -> Vec<u8> {
        let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0];
        let mut inner = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 64, 17, 0, 0];
        inner.extend_from_slice(&[198, 51, 100, 10, 5, 254, 43, 171]);
        m.extend_from_slice(&inner);
        m.extend_from_slice(&40000u16.to_be_bytes());
        m.extend_from_slice(&dport.to_be_bytes());
        m.extend_from_slice(&[0, 16, 0, 0]);
        m
    }

    #[test]
    fn icmp_errors_about_wireguard_pass_and_others_do_not() {
        let pcap = write_pcap(&[
            ipv4_frame(
                a("5.254.43.171"),
                a("5.254.54.10"),
                1,
                &icmp_unreachable_about_udp(51822),
            ),
            ipv4_frame(
                a("5.254.43.171"),
                a("5.254.54.10"),
                1,
                &icmp_unreachable_about_udp(53),
            ),
        ]);
        let v = judge(&pcap, &policy()).unwrap();
        assert_eq!(v.icmp_about_wireguard, 1, "{v:?}");
        assert_eq!(v.violation_count, 1, "{:?}", v.violations);
        assert!(v.violations[0].contains("not WireGuard"));
    }

    #[test]
    fn the_internet_probing_a_tenant_address_passes_but_a_tenant_answering_in_clear_does_not() {
        let pcap = write_pcap(&[
            // The outside host tries tcp/22 on a tenant address; the wan
            // answers "unreachable".
            ipv4_frame(a("198.51.100.10"), a("100.64.1.10"), 6, &[0; 20]),
            ipv4_frame(a("198.51.100.1"), a("198.51.100.10"), 1, &[3; 8]),
            // A tenant VM's packet to the internet, unencrypted.
            ipv4_frame(a("100.64.1.10"), a("198.51.100.10"), 6, &[0; 20]),
        ]);
        let v = judge(&pcap, &policy()).unwrap();
        assert_eq!(v.internet, 2, "{v:?}");
        assert_eq!(v.violation_count, 1, "{:?}", v.violations);
        assert!(v.violations[0].contains("tenant address"));
    }

    /// A WireGuard data message of `n` padded bytes.
    fn wgdata(n: usize) -> Vec<u8> {
        let mut m = vec![4, 0, 0, 0];
        m.extend_from_slice(&[7; 28]);
        m.extend(std::iter::repeat_n(9, n * 16));
        m
    }

    fn arp() -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
        f.extend_from_slice(&[0; 28]);
        f
    }

    #[test]
    fn wireguard_and_arp_pass_and_are_counted() {
        let pcap = write_pcap(&[
            udp_frame(
                a("5.254.54.10"),
                51820,
                a("5.254.43.170"),
                51820,
                &wgdata(2),
            ),
            udp_frame(a("198.51.100.10"), 40000, a("5.254.54.10"), 51821, &{
                let mut m = vec![1, 0, 0, 0];
                m.resize(148, 5);
                m
            }),
            arp(),
        ]);
        let v = judge(&pcap, &policy()).unwrap();
        assert!(v.ok(), "{v:?}");
        assert_eq!((v.frames, v.wireguard, v.arp), (3, 2, 1));
        assert_eq!(v.udp_ports, vec![40000, 51820]);
    }

    #[test]
    fn vxlan_tenant_addresses_tcp_and_the_marker_fail() {
        let pcap = write_pcap(&[
            udp_frame(a("172.27.0.1"), 33000, a("172.27.0.2"), 4789, &[0; 50]),
            ipv4_frame(a("100.64.1.10"), a("100.64.1.11"), 6, &[0; 20]),
            udp_frame(a("5.254.54.10"), 51820, a("5.254.43.170"), 53, &[0; 8]),
            ipv4_frame(
                a("5.254.54.10"),
                a("5.254.43.170"),
                6,
                b"xxxxVXGMARK-1234yy",
            ),
        ]);
        let v = judge(&pcap, &policy()).unwrap();
        assert!(!v.ok());
        assert_eq!(v.violation_count, 4, "{:?}", v.violations);
        assert_eq!(v.marker_hits, 1);
        assert!(v.violations[0].contains("VXLAN"), "{:?}", v.violations);
        assert!(v.violations[1].contains("tenant address"));
        assert!(
            v.violations[2].contains("not a WireGuard message"),
            "{:?}",
            v.violations
        );
        // A marker inside a well-formed WireGuard message still fails.
        let mut m = wgdata(1);
        m[32..44].copy_from_slice(b"VXGMARK-1234");
        let only_marker = write_pcap(&[udp_frame(
            a("5.254.54.10"),
            51820,
            a("5.254.43.170"),
            51820,
            &m,
        )]);
        let v = judge(&only_marker, &policy()).unwrap();
        assert_eq!((v.violation_count, v.marker_hits, v.ok()), (0, 1, false));
        // Other UDP ports fail even when the payload looks like WireGuard.
        let off = write_pcap(&[udp_frame(
            a("5.254.54.10"),
            1000,
            a("5.254.43.170"),
            2000,
            &wgdata(1),
        )]);
        let v = judge(&off, &policy()).unwrap();
        assert!(
            v.violations[0].contains("not a WireGuard port"),
            "{:?}",
            v.violations
        );
        assert!(is_wireguard(&wgdata(0)) && !is_wireguard(&wgdata(0)[..31]));
    }

    #[test]
    fn big_endian_nanosecond_files_parse_and_a_cut_last_record_is_ignored() {
        let mut le = write_pcap(&[arp(), arp()]);
        le.truncate(le.len() - 5);
        assert_eq!(parse(&le).unwrap().frames.len(), 1);
        // Rewrite the header big-endian, nanosecond magic.
        let f = arp();
        let mut be = Vec::new();
        be.extend_from_slice(&0xa1b2_3c4du32.to_be_bytes());
        be.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        be.extend_from_slice(&65535u32.to_be_bytes());
        be.extend_from_slice(&1u32.to_be_bytes());
        be.extend_from_slice(&[0; 8]);
        be.extend_from_slice(&(f.len() as u32).to_be_bytes());
        be.extend_from_slice(&(f.len() as u32).to_be_bytes());
        be.extend_from_slice(&f);
        let c = parse(&be).unwrap();
        assert_eq!((c.link_type, c.frames.len()), (1, 1));
        assert_eq!(classify(c.link_type, c.frames[0].data), Kind::Arp);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(parse(&[0; 10]).unwrap_err(), PcapError::Short(10));
        assert_eq!(parse(&[0; 24]).unwrap_err(), PcapError::Magic(0));
        let mut p = write_pcap(&[]);
        p[20] = 228; // pcapng-only link type in a classic header
        assert_eq!(parse(&p).unwrap_err(), PcapError::LinkType(228));
        let mut p = write_pcap(&[arp()]);
        p[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&p), Err(PcapError::Record { index: 0, .. })));
    }

    #[test]
    fn ipv6_link_local_control_is_counted_and_other_ipv6_is_not_allowed() {
        let mut f = vec![0x33, 0x33, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd];
        let mut ip = vec![0x60, 0, 0, 0, 0, 8, 58, 255];
        ip.extend_from_slice(&[0xfe, 0x80]);
        ip.extend_from_slice(&[0; 14]);
        ip.extend_from_slice(&[0xff, 0x02]);
        ip.extend_from_slice(&[0; 13]);
        ip.push(2);
        ip.extend_from_slice(&[133, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&ip);
        assert_eq!(classify(1, &f), Kind::Ipv6LinkLocal);
        f[14 + 8] = 0x20; // global source
        assert!(matches!(classify(1, &f), Kind::Other(_)));
    }
}
