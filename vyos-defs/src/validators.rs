//! Native re-implementations of the external validators named in
//! `<validator name=...>` (vyos-1x `src/validators/*`, mostly wrappers around
//! `ipaddrcheck` and small Python scripts). Running them as subprocesses
//! would be slow and needs a VyOS image; this keeps validation in-process.
//!
//! Choices where semantics had to be decided (see also FINDINGS.md):
//! - `*-prefix` (ipaddrcheck `--is-*-net`): host bits must be zero (`10.0.0.0/8` ok, `10.0.0.1/8` not).
//! - `*-host` (`--is-*-host`): address/len where the address is not the
//!   network address (any address for IPv4 /31,/32 and IPv6 /127,/128).
//! - `ip-cidr`: any address/len.
//! - `*-address`: a single address without `/len`.
//! - `ipv4`/`ipv6`: address or address/len.
//! - `*-exclude`: the same check on a value that must start with `!`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Outcome of one validator: `None` means the validator is not implemented
/// (callers accept the value and record the name as unchecked).
pub fn check(name: &str, argument: Option<&str>, value: &str) -> Option<bool> {
    let args: Vec<&str> = argument
        .map(|a| a.split_whitespace().collect())
        .unwrap_or_default();
    if let Some(base) = name.strip_suffix("-exclude") {
        return match value.strip_prefix('!') {
            Some(rest) => check(base, argument, rest),
            None => known(base).then_some(false),
        };
    }
    let ok = match name {
        "numeric" => numeric(&args, value),
        "ipv4-address" => v4(value).is_some(),
        "ipv6-address" => v6(value).is_some(),
        "ip-address" => v4(value).is_some() || v6(value).is_some(),
        "ipv4" => v4(value).is_some() || v4net(value).is_some(),
        "ipv6" => v6(value).is_some() || v6net(value).is_some(),
        "ipv4-prefix" => v4net(value).is_some_and(|(a, l)| is_v4_network(a, l)),
        "ipv6-prefix" => v6net(value).is_some_and(|(a, l)| is_v6_network(a, l)),
        "ip-prefix" => {
            v4net(value).is_some_and(|(a, l)| is_v4_network(a, l))
                || v6net(value).is_some_and(|(a, l)| is_v6_network(a, l))
        }
        "ipv4-host" => v4net(value).is_some_and(|(a, l)| l >= 31 || !is_v4_network(a, l)),
        "ipv6-host" => v6net(value).is_some_and(|(a, l)| l >= 127 || !is_v6_network(a, l)),
        "ip-host" => {
            v4net(value).is_some_and(|(a, l)| l >= 31 || !is_v4_network(a, l))
                || v6net(value).is_some_and(|(a, l)| l >= 127 || !is_v6_network(a, l))
        }
        "ip-cidr" => v4net(value).is_some() || v6net(value).is_some(),
        "ipv4-multicast" => v4(value).is_some_and(|a| a.is_multicast()),
        "ipv6-multicast" => v6(value).is_some_and(|a| a.is_multicast()),
        "ipv6-link-local" => v6(value).is_some_and(|a| (a.segments()[0] & 0xffc0) == 0xfe80),
        "ipv6-eui64-prefix" => v6net(value).is_some_and(|(_, l)| l == 64),
        "ipv6-srv6-segments" => !value.is_empty() && value.split('/').all(|s| v6(s).is_some()),
        "ipv4-range" => range(value, |s| v4(s).map(u32::from).map(u128::from)),
        "ipv6-range" => range(value, |s| v6(s).map(u128::from)),
        "ipv4-range-mask" => ipv4_range_mask(value),
        "mac-address" => mac(value),
        "fqdn" => fqdn(value),
        "base64" => base64(value),
        "port-range" => port_range(value),
        "port-multi" => !value.is_empty() && value.split(',').all(port_range),
        "ip-protocol" => ip_protocol(value),
        "bgp-rd-rt" => bgp_rd_rt(&args, value),
        "bgp-extended-community" => rd_rt(value),
        "bgp-regular-community" => regular_community(value),
        "bgp-large-community" => large_community(value),
        "as-number-list" => {
            !value.trim().is_empty() && value.split_whitespace().all(|a| num_in(a, 1, 4294967295))
        }
        "vrf-name" => vrf_name(value),
        "file-path" => !value.is_empty() && !value.contains('\0'),
        "url" => url(&args, value),
        "timezone" => timezone(value),
        "sysctl" => sysctl(value),
        _ => return None,
    };
    Some(ok)
}

/// Whether [`check`] implements `name` (so it never answers `None`).
pub fn known(name: &str) -> bool {
    let base = name.strip_suffix("-exclude").unwrap_or(name);
    check(base, None, "x").is_some() || base == "numeric"
}

fn v4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}
fn v6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}
fn split_len(s: &str, max: u8) -> Option<(&str, u8)> {
    let (a, l) = s.split_once('/')?;
    if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let l: u8 = l.parse().ok()?;
    (l <= max).then_some((a, l))
}
fn v4net(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, l) = split_len(s, 32)?;
    Some((v4(a)?, l))
}
fn v6net(s: &str) -> Option<(Ipv6Addr, u8)> {
    let (a, l) = split_len(s, 128)?;
    Some((v6(a)?, l))
}
fn is_v4_network(a: Ipv4Addr, l: u8) -> bool {
    let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
    u32::from(a) & !mask == 0
}
fn is_v6_network(a: Ipv6Addr, l: u8) -> bool {
    let mask = if l == 0 { 0 } else { u128::MAX << (128 - l) };
    u128::from(a) & !mask == 0
}

/// `A-B` with A <= B (ipaddrcheck `--is-ipv4-range`).
fn range(value: &str, parse: impl Fn(&str) -> Option<u128>) -> bool {
    match value.split_once('-') {
        Some((a, b)) => matches!((parse(a), parse(b)), (Some(a), Some(b)) if a <= b),
        None => false,
    }
}

/// `A-B/len`: both ends inside the same /len network.
fn ipv4_range_mask(value: &str) -> bool {
    let Some((r, l)) = value.rsplit_once('/') else {
        return false;
    };
    let Some((a, b)) = r.split_once('-') else {
        return false;
    };
    let (Some(a), Some(b), Ok(l)) = (v4(a), v4(b), l.parse::<u8>()) else {
        return false;
    };
    if l > 32 || u32::from(a) > u32::from(b) {
        return false;
    }
    let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
    u32::from(a) & mask == u32::from(b) & mask
}

fn num_in(s: &str, lo: u64, hi: u64) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u64>().is_ok_and(|n| n >= lo && n <= hi)
}

/// `numeric`: `--range A-B` (repeatable, alternatives), `--allow-range`
/// (value may be `X-Y`, both ends checked, X <= Y), `--positive`,
/// `--non-negative`, `--float`, `--relative` (leading `+`/`-` allowed).
fn numeric(args: &[&str], value: &str) -> bool {
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    let (mut allow_range, mut positive, mut non_negative, mut float, mut relative) =
        (false, false, false, false, false);
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            "--range" => {
                if let Some(r) = args.get(i + 1) {
                    if let Some((a, b)) = r.split_once('-') {
                        if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                            ranges.push((a, b));
                        }
                    }
                    i += 1;
                }
            }
            "--allow-range" => allow_range = true,
            "--positive" => positive = true,
            "--non-negative" => non_negative = true,
            "--float" => float = true,
            "--relative" => relative = true,
            _ => {}
        }
        i += 1;
    }
    let parse = |s: &str| -> Option<f64> {
        let body = s.strip_prefix('-').unwrap_or(s);
        let ok = if float {
            let mut parts = body.splitn(2, '.');
            let int = parts.next().unwrap_or("");
            let frac = parts.next();
            !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        } else {
            !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit())
        };
        if ok {
            s.parse().ok()
        } else {
            None
        }
    };
    let in_bounds = |n: f64| {
        (!positive || n > 0.0)
            && (!non_negative || n >= 0.0)
            && (ranges.is_empty() || ranges.iter().any(|&(a, b)| n >= a && n <= b))
    };
    let single = |s: &str| parse(s).is_some_and(in_bounds);
    if relative {
        if let Some(rest) = value.strip_prefix('+').or_else(|| value.strip_prefix('-')) {
            return parse(rest).is_some();
        }
    }
    if single(value) {
        return true;
    }
    if allow_range {
        if let Some((a, b)) = value.split_once('-') {
            if let (Some(x), Some(y)) = (parse(a), parse(b)) {
                return in_bounds(x) && in_bounds(y) && x <= y;
            }
        }
    }
    false
}

fn mac(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Host or domain name: labels of 1-63 `[A-Za-z0-9_-]`, not starting or
/// ending with `-`, total <= 253, optional trailing dot.
fn fqdn(v: &str) -> bool {
    let v = v.strip_suffix('.').unwrap_or(v);
    !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Standard alphabet with correct padding (Python `b64decode(validate=True)`).
fn base64(v: &str) -> bool {
    let b = v.as_bytes();
    if b.is_empty() || b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// Port number, `A-B` with A <= B, or a service name (accepted by shape;
/// VyOS looks it up in /etc/services).
fn port_range(v: &str) -> bool {
    if num_in(v, 1, 65535) {
        return true;
    }
    if let Some((a, b)) = v.split_once('-') {
        if num_in(a, 1, 65535) && num_in(b, 1, 65535) {
            return a.parse::<u32>().ok() <= b.parse::<u32>().ok();
        }
    }
    let first = v.bytes().next();
    first.is_some_and(|c| c.is_ascii_alphabetic())
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
}

/// Protocol names as in Debian's /etc/protocols, plus VyOS's `all` and `tcp_udp`.
const PROTOCOLS: &[&str] = &[
    "all",
    "tcp_udp",
    "ip",
    "hopopt",
    "icmp",
    "igmp",
    "ggp",
    "ipencap",
    "st",
    "tcp",
    "egp",
    "igp",
    "pup",
    "udp",
    "hmp",
    "xns-idp",
    "rdp",
    "iso-tp4",
    "dccp",
    "xtp",
    "ddp",
    "idpr-cmtp",
    "ipv6",
    "ipv6-route",
    "ipv6-frag",
    "idrp",
    "rsvp",
    "gre",
    "esp",
    "ah",
    "skip",
    "ipv6-icmp",
    "icmpv6",
    "ipv6-nonxt",
    "ipv6-opts",
    "rspf",
    "vmtp",
    "eigrp",
    "ospf",
    "ax.25",
    "ipip",
    "etherip",
    "encap",
    "pim",
    "ipcomp",
    "vrrp",
    "l2tp",
    "isis",
    "sctp",
    "fc",
    "mobility-header",
    "udplite",
    "mpls-in-ip",
    "manet",
    "hip",
    "shim6",
    "wesp",
    "rohc",
    "ethernet",
];

fn ip_protocol(v: &str) -> bool {
    let v = v.strip_prefix('!').unwrap_or(v);
    num_in(v, 0, 255) || PROTOCOLS.contains(&v)
}

/// RFC 4360 RD/RT: `ASN:NN` (2-byte ASN with 4-byte NN, or 4-byte ASN with
/// 2-byte NN) or `IPv4:NN` (2-byte NN).
fn rd_rt(v: &str) -> bool {
    let Some((a, n)) = v.rsplit_once(':') else {
        return false;
    };
    if !num_in(n, 0, u32::MAX as u64) {
        return false;
    }
    let n: u64 = n.parse().unwrap_or(u64::MAX);
    if a.contains('.') {
        return v4(a).is_some() && n <= 65535;
    }
    if !num_in(a, 0, u32::MAX as u64) {
        return false;
    }
    let a: u64 = a.parse().unwrap_or(u64::MAX);
    (a <= 65535 && n <= u32::MAX as u64) || (a <= u32::MAX as u64 && n <= 65535)
}

fn bgp_rd_rt(args: &[&str], v: &str) -> bool {
    if args.contains(&"--route-target-multi") {
        !v.trim().is_empty() && v.split_whitespace().all(rd_rt)
    } else {
        rd_rt(v)
    }
}

fn regular_community(v: &str) -> bool {
    const WELL_KNOWN: &[&str] = &[
        "internet",
        "local-as",
        "no-advertise",
        "no-export",
        "graceful-shutdown",
        "accept-own",
        "accept-own-nexthop",
        "blackhole",
        "no-llgr",
        "llgr-stale",
        "no-peer",
        "route-filter-translated-v4",
        "route-filter-v4",
        "route-filter-translated-v6",
        "route-filter-v6",
    ];
    if WELL_KNOWN.contains(&v) {
        return true;
    }
    matches!(v.split_once(':'), Some((a, b)) if num_in(a, 0, 65535) && num_in(b, 0, 65535))
}

fn large_community(v: &str) -> bool {
    let p: Vec<&str> = v.split(':').collect();
    p.len() == 3 && p.iter().all(|x| num_in(x, 0, u32::MAX as u64))
}

/// Names VyOS refuses for VRFs (iproute2 keywords); also enforced at commit.
pub const VRF_RESERVED: &[&str] = &[
    "add",
    "all",
    "broadcast",
    "default",
    "delete",
    "dev",
    "get",
    "inet",
    "mtu",
    "link",
    "type",
    "vrf",
];
/// Interface-name prefixes a VRF may not look like (`eth0`, `br1`, `wg0.5` ...).
const IFACE_PREFIXES: &[&str] = &[
    "bond", "br", "dum", "eth", "lan", "eno", "ens", "enp", "enx", "gnv", "ipoe", "l2tp",
    "l2tpeth", "vtun", "ppp", "pppoe", "peth", "tun", "vti", "vxlan", "wg", "wlan", "wwan",
];

/// vyos-1x `vrf-name`: 1-15 chars, not `lo`, not shaped like an interface
/// name (`<prefix>N` / `<prefix>N.M`), not starting with a digit (the
/// constraint message says "must start from a letter"), no whitespace or `/`.
/// Reserved words (`default`, ...) are rejected only at commit time (vrf.py,
/// see `commit.rs`), as other leaves use this validator to name the default VRF.
pub fn vrf_name(v: &str) -> bool {
    if v.is_empty() || v.len() > 15 || v == "lo" {
        return false;
    }
    if v.starts_with(|c: char| c.is_ascii_digit())
        || v.contains(|c: char| c.is_whitespace() || c == '/')
    {
        return false;
    }
    for p in IFACE_PREFIXES {
        if let Some(rest) = v.strip_prefix(p) {
            let (num, sub) = match rest.split_once('.') {
                Some((n, s)) => (n, Some(s)),
                None => (rest, None),
            };
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if digits(num) && sub.is_none_or(|s| digits(s.split('v').next().unwrap_or(""))) {
                return false;
            }
        }
    }
    true
}

/// `scheme://rest`; `--scheme X` (repeatable) restricts the scheme,
/// `--file-transport` means the schemes VyOS can fetch files with.
fn url(args: &[&str], v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once("://") else {
        return false;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        return false;
    }
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return false;
    }
    let mut allowed: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--scheme")
        .map(|w| w[1])
        .collect();
    if args.contains(&"--file-transport") {
        allowed.extend([
            "file", "ftp", "ftps", "http", "https", "scp", "sftp", "tftp",
        ]);
    }
    allowed.is_empty() || allowed.contains(&scheme)
}

/// `UTC`, `GMT`, or Area/City[/Sub] as in the tz database (shape only).
fn timezone(v: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
    };
    let parts: Vec<&str> = v.split('/').collect();
    parts.len() <= 3
        && parts.iter().all(|p| ok(p))
        && v.starts_with(|c: char| c.is_ascii_uppercase())
}

/// A dotted sysctl key (`net.ipv4.ip_forward`); existence is not checked.
fn sysctl(v: &str) -> bool {
    v.contains('.')
        && v.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::check;

    fn ok(n: &str, a: Option<&str>, v: &str) -> bool {
        check(n, a, v).unwrap_or_else(|| panic!("validator {n} unknown"))
    }

    #[test]
    fn numeric_variants() {
        assert!(ok("numeric", Some("--range 100-65535"), "100"));
        assert!(!ok("numeric", Some("--range 100-65535"), "99"));
        assert!(!ok("numeric", Some("--range 100-65535"), "70000"));
        assert!(!ok("numeric", Some("--range 1-10"), "5.5"));
        assert!(ok("numeric", Some("--range 0-0 --range 50-1000"), "0"));
        assert!(!ok("numeric", Some("--range 0-0 --range 50-1000"), "10"));
        assert!(ok("numeric", Some("--allow-range --range 1-4094"), "10-20"));
        assert!(!ok(
            "numeric",
            Some("--allow-range --range 1-4094"),
            "20-10"
        ));
        assert!(!ok("numeric", Some("--range 1-4094"), "10-20"));
        assert!(ok("numeric", Some("--positive"), "7") && !ok("numeric", Some("--positive"), "0"));
        assert!(
            ok("numeric", Some("--non-negative"), "0")
                && !ok("numeric", Some("--non-negative"), "-1")
        );
        assert!(ok("numeric", Some("--range 0.001-1000 --float"), "0.5"));
        assert!(
            ok("numeric", Some("--relative --"), "+5")
                && ok("numeric", Some("--relative --"), "-5")
        );
        assert!(ok(
            "numeric",
            Some("--range 1024-26843545600000"),
            "26843545600000"
        ));
        assert!(!ok("numeric", None, "abc"));
        assert!(ok(
            "numeric-exclude",
            Some("--allow-range --range 0-2147483647"),
            "!5"
        ));
        assert!(!ok(
            "numeric-exclude",
            Some("--allow-range --range 0-2147483647"),
            "5"
        ));
    }

    #[test]
    fn ip_family() {
        assert!(ok("ipv4-address", None, "192.0.2.1") && !ok("ipv4-address", None, "192.0.2.1/24"));
        assert!(
            !ok("ipv4-address", None, "192.0.2.256") && !ok("ipv4-address", None, "2001:db8::1")
        );
        assert!(ok("ip-address", None, "2001:db8::1"));
        assert!(ok("ipv4-prefix", None, "10.0.0.0/8") && !ok("ipv4-prefix", None, "10.0.0.1/8"));
        assert!(ok("ip-prefix", None, "2001:db8::/32") && !ok("ip-prefix", None, "2001:db8::1/32"));
        assert!(ok("ipv4-host", None, "10.0.0.1/24") && !ok("ipv4-host", None, "10.0.0.0/24"));
        assert!(ok("ip-host", None, "10.0.0.0/31"));
        assert!(
            ok("ip-cidr", None, "10.0.0.0/24")
                && ok("ip-cidr", None, "10.0.0.9/24")
                && !ok("ip-cidr", None, "10.0.0.9")
        );
        assert!(
            ok("ipv4-range", None, "10.0.0.1-10.0.0.9")
                && !ok("ipv4-range", None, "10.0.0.9-10.0.0.1")
        );
        assert!(
            ok("ipv4-address-exclude", None, "!10.0.0.1")
                && !ok("ipv4-address-exclude", None, "10.0.0.1")
        );
        assert!(
            ok("ipv6-link-local", None, "fe80::1") && !ok("ipv6-link-local", None, "2001:db8::1")
        );
        assert!(ok("ipv4-multicast", None, "239.1.1.1") && !ok("ipv4-multicast", None, "10.1.1.1"));
    }

    #[test]
    fn misc_validators() {
        assert!(
            ok("mac-address", None, "00:53:00:aa:bb:cc")
                && !ok("mac-address", None, "00:53:00:aa:bb")
        );
        assert!(
            ok("fqdn", None, "vpn.example.com")
                && !ok("fqdn", None, "-bad.example.com")
                && !ok("fqdn", None, "a b")
        );
        assert!(
            ok("base64", None, "aGVsbG8=")
                && !ok("base64", None, "aGVsbG8")
                && !ok("base64", None, "a$==bbbb")
        );
        assert!(
            ok("port-range", None, "1000-2000")
                && ok("port-range", None, "http")
                && !ok("port-range", None, "70000")
        );
        assert!(ok("port-multi", None, "22,80,1000-2000") && !ok("port-multi", None, "22,,80"));
        assert!(
            ok("ip-protocol", None, "tcp")
                && ok("ip-protocol", None, "255")
                && !ok("ip-protocol", None, "256")
        );
        assert!(!ok("ip-protocol", None, "tpc"));
        let rt = Some("--route-target");
        assert!(ok("bgp-rd-rt", rt, "65000:100") && ok("bgp-rd-rt", rt, "192.0.2.1:100"));
        assert!(ok("bgp-rd-rt", rt, "4200000000:100") && !ok("bgp-rd-rt", rt, "4200000000:70000"));
        assert!(!ok("bgp-rd-rt", rt, "65000") && !ok("bgp-rd-rt", rt, "192.0.2.1:70000"));
        assert!(ok(
            "bgp-rd-rt",
            Some("--route-target-multi"),
            "65000:1 65000:2"
        ));
        assert!(
            ok("vrf-name", None, "blue")
                && !ok("vrf-name", None, "eth0")
                && !ok("vrf-name", None, "br10")
        );
        assert!(ok("vrf-name", None, "bravo") && !ok("vrf-name", None, "abcdefghijklmnop"));
        assert!(
            ok(
                "url",
                Some("--scheme http --scheme https"),
                "https://x.example"
            ) && !ok("url", Some("--scheme http"), "ftp://x")
        );
        assert!(
            ok("timezone", Some("--validate"), "Europe/Berlin")
                && !ok("timezone", None, "not a zone")
        );
        assert!(ok("sysctl", None, "net.ipv4.ip_forward") && !ok("sysctl", None, "foo"));
        assert!(
            ok("as-number-list", None, "65000 65001") && !ok("as-number-list", None, "65000 x")
        );
        assert!(
            ok("bgp-large-community", None, "1:2:3")
                && ok("bgp-regular-community", None, "65000:1")
        );
        assert!(check("script", None, "/x").is_none());
    }
}
