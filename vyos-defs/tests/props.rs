//! Property checks of the re-implemented validators against independent logic.

use proptest::prelude::*;
use vyos_defs::validators::check;

proptest! {
    /// `numeric --range A-B` accepts exactly the integers in [A, B].
    #[test]
    fn numeric_range_matches_bounds(lo in 0u32..70000, len in 0u32..1000, v in 0u32..80000) {
        let hi = lo + len;
        let arg = format!("--range {lo}-{hi}");
        prop_assert_eq!(check("numeric", Some(&arg), &v.to_string()), Some(v >= lo && v <= hi));
    }

    /// `ipv4-prefix` accepts a/len iff the host bits are zero (ipnet agrees).
    #[test]
    fn ipv4_prefix_is_network(a in any::<u32>(), len in 0u8..=32) {
        let addr = std::net::Ipv4Addr::from(a);
        let s = format!("{addr}/{len}");
        let net: ipnet::Ipv4Net = s.parse().unwrap();
        prop_assert_eq!(check("ipv4-prefix", None, &s), Some(net.network() == addr));
        prop_assert_eq!(check("ip-cidr", None, &s), Some(true));
        prop_assert_eq!(check("ipv4-address", None, &s), Some(false));
    }

    /// Arbitrary text never panics any validator.
    #[test]
    fn validators_total(s in ".{0,40}") {
        for n in ["numeric", "ipv4-range", "bgp-rd-rt", "port-multi", "vrf-name", "url", "base64", "ipv4-range-mask"] {
            let _ = check(n, Some("--range 1-10 --allow-range"), &s);
        }
    }
}
