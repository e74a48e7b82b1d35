//! Fixtures of commands a router accepts or rejects, against the built-in
//! definitions of 1.4 (sagitta) and 1.5 (current); the tests of the XML
//! loader itself read vyos-1x's files where they are at hand
//! (../shared/vyos-1x or $VXGUARD_VYOS_1X) and skip, saying so, elsewhere.

use std::path::PathBuf;

use vyos_defs::{commit_check_paths, Definitions};

/// A vyos-1x version folder, or `None` (and a note) on a machine without one.
fn dir(v: &str) -> Option<PathBuf> {
    let d = vyos_defs::vyos_1x_dir().map(|d| d.join(v));
    if d.is_none() {
        eprintln!(
            "SKIPPED: no vyos-1x folder (shared/vyos-1x or VXGUARD_VYOS_1X): XML loader test"
        );
    }
    d
}

fn current() -> &'static Definitions {
    vyos_defs::builtin::definitions("1.5").expect("built in")
}

fn sagitta() -> &'static Definitions {
    vyos_defs::builtin::definitions("1.4").expect("built in")
}

/// Splits a `set` line like the VyOS shell: whitespace-separated words,
/// single quotes group words.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

const KEY: &str = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";

/// Valid on both 1.4 and 1.5.
fn valid_both() -> Vec<String> {
    let lines = [
        "interfaces wireguard wg0 address 10.255.0.1/24",
        "interfaces wireguard wg0 port 51820",
        "interfaces wireguard wg0 private-key KEY",
        "interfaces wireguard wg0 description 'tenant a uplink'",
        "interfaces wireguard wg0 vrf red",
        "interfaces wireguard wg0 peer site-b public-key KEY",
        "interfaces wireguard wg0 peer site-b allowed-ips 10.20.0.0/16",
        "interfaces wireguard wg0 peer site-b allowed-ips 2001:db8:20::/48",
        "interfaces wireguard wg0 peer site-b address 203.0.113.7",
        "interfaces wireguard wg0 peer site-b port 51820",
        "interfaces wireguard wg0 peer site-b persistent-keepalive 25",
        "interfaces vxlan vxlan100 vni 100",
        "interfaces vxlan vxlan100 source-address 192.0.2.1",
        "interfaces vxlan vxlan100 mtu 1450",
        "interfaces vxlan vxlan100 parameters nolearning",
        "interfaces vxlan vxlan100 port 4789",
        "interfaces vxlan vxlan100 vrf red",
        "interfaces bridge br100 member interface vxlan100",
        "interfaces bridge br100 address 10.1.0.1/24",
        "interfaces bridge br100 vrf red",
        "vrf name red table 1000",
        "vrf name red vni 5000",
        "vrf name red protocols bgp system-as 65000",
        "vrf name red protocols bgp address-family ipv4-unicast route-target vpn export 65000:100",
        "vrf name red protocols bgp address-family ipv4-unicast route-target vpn import '65000:100 65000:200'",
        "vrf name red protocols bgp address-family ipv4-unicast rd vpn export 65000:100",
        "vrf name red protocols bgp address-family ipv4-unicast export vpn",
        "vrf name red protocols bgp address-family ipv4-unicast import vpn",
        "vrf name red protocols bgp address-family l2vpn-evpn advertise ipv4 unicast",
        "vrf name red protocols bgp address-family l2vpn-evpn rd 192.0.2.1:100",
        "vrf name red protocols bgp address-family l2vpn-evpn route-target import 65000:5000",
        "vrf name red protocols bgp address-family l2vpn-evpn route-target export 65000:5000",
        "protocols bgp system-as 65000",
        "protocols bgp parameters router-id 192.0.2.1",
        "protocols bgp neighbor 192.0.2.2 remote-as 65001",
        "protocols bgp neighbor 192.0.2.2 update-source 192.0.2.1",
        "protocols bgp neighbor 192.0.2.2 address-family l2vpn-evpn",
        "protocols bgp neighbor 192.0.2.2 bfd",
        "protocols bgp address-family l2vpn-evpn",
        "protocols bgp address-family l2vpn-evpn advertise-all-vni",
        "protocols bgp address-family l2vpn-evpn advertise ipv4 unicast",
        "protocols bfd peer 192.0.2.2",
        "high-availability vrrp group G1 address 10.1.0.254/24",
        "high-availability vrrp group G1 interface br100",
        "high-availability vrrp group G1 vrid 10",
        "high-availability vrrp group G1 priority 200",
        "high-availability vrrp group G1 health-check ping 10.1.0.10",
        "high-availability vrrp group G1 health-check interval 5",
        "high-availability vrrp group G1 track interface eth0",
        "firewall ipv4 name TENANT-IN default-action drop",
        "firewall ipv4 name TENANT-IN rule 10 action accept",
        "firewall ipv4 name TENANT-IN rule 10 state established",
        "firewall ipv4 name TENANT-IN rule 10 state related",
        "firewall ipv4 name TENANT-IN rule 20 action accept",
        "firewall ipv4 name TENANT-IN rule 20 protocol tcp",
        "firewall ipv4 name TENANT-IN rule 20 destination port 22,443,8000-8080",
        "firewall ipv4 name TENANT-IN rule 20 source group address-group MGMT",
        "firewall ipv4 forward filter rule 100 action jump",
        "firewall ipv4 forward filter rule 100 jump-target TENANT-IN",
        "firewall ipv4 forward filter rule 100 inbound-interface name br100",
        "firewall group address-group MGMT address 192.0.2.10",
        "firewall group address-group MGMT address 192.0.2.20-192.0.2.30",
        "service https api keys id vxguard key s3cr3t",
        "service https listen-address 192.0.2.1",
    ];
    lines.iter().map(|l| l.replace("KEY", KEY)).collect()
}

/// Invalid on both, with a fragment of the expected reason and the index of the offending word.
const INVALID_BOTH: &[(&str, &str, usize)] = &[
    ("interfaces wireguard wireguard0 port 51820", "`wireguard0` is not a valid value for `interfaces wireguard`: WireGuard interface must be named wgN", 2),
    ("interfaces wireguard wg0 foo bar", "unknown node `foo` under `interfaces wireguard wg0` (expected one of: address,", 3),
    ("interfaces wireguard wg0 peer site-b endpoint 203.0.113.7:51820", "unknown node `endpoint`", 5),
    ("interfaces wireguard wg0 peer site-b allowed-ips 10.20.0.1/16", "fails validator `ip-prefix`", 6),
    ("interfaces wireguard wg0 private-key not-base64!", "Key is not base64-encoded", 4),
    ("interfaces wireguard wg0 port 70000", "fails validator `numeric --range 1-65535`", 4),
    ("interfaces wireguard wg0 port", "`port` needs a value", 3),
    ("interfaces wireguard", "path ends at `interfaces wireguard` which needs a tag value", 1),
    ("interfaces wireguard wg0 address 10.0.0.1/24 extra", "unexpected `extra` after the value", 5),
    ("interfaces wireguard wg0 peer site-b address 203.0.113.300", "is not a valid value for `interfaces wireguard wg0 peer site-b address`", 6),
    ("interfaces vxlan vx100 vni 100", "`vx100` is not a valid value for `interfaces vxlan`", 2),
    ("interfaces vxlan vxlan100 vni 16777215", "numeric --range 0-16777214", 4),
    ("interfaces vxlan vxlan100 parameters nolearning yes", "`nolearning` takes no value", 5),
    ("interfaces bridge bridge0 member interface eth1", "`bridge0` is not a valid value for `interfaces bridge`", 2),
    ("vrf name red table 99", "numeric --range 100-65535", 4),
    ("vrf name red table 70000", "numeric --range 100-65535", 4),
    ("vrf name eth0 table 100", "VRF instance name must be 15 characters or less", 2),
    ("vrf name averyveryverylongname table 100", "VRF instance name must be 15 characters or less", 2),
    ("vrf name red protocols bgp address-family ipv4-unicast rd vpn export 65000", "bgp-rd-rt --route-distinguisher", 10),
    ("vrf name red protocols bgp address-family ipv4-unicast route-target vpn export 65000:x", "bgp-rd-rt --route-target-multi", 10),
    ("protocols bgp 65000 neighbor 192.0.2.2 remote-as 65001", "unknown node `65000` under `protocols bgp`", 2),
    ("protocols bgp system-as 0", "numeric --range 1-4294967294", 3),
    ("protocols bgp neighbor 192.0.2.2 remote-as extern", "`extern` is not a valid value", 5),
    ("protocols bgp parameters router-id 2001:db8::1", "fails validator `ipv4-address`", 4),
    ("protocols bgp address-family l2vpn-evpn advertise-all-vni yes", "`advertise-all-vni` takes no value", 5),
    ("protocols bfd peer not-an-ip", "`not-an-ip` is not a valid value for `protocols bfd peer`", 3),
    ("high-availability vrrp group G1 virtual-address 10.1.0.254/24", "unknown node `virtual-address` under `high-availability vrrp group G1`", 4),
    ("high-availability vrrp group G1 track bfd", "unknown node `bfd` under `high-availability vrrp group G1 track`", 5),
    ("high-availability vrrp group G1 vrid 256", "numeric --range 1-255", 5),
    ("high-availability vrrp group G1 address 10.1.0.0/24", "fails validator", 5),
    ("firewall ipv4 name TENANT-IN rule 10 action allow", "`allow` is not a valid value", 7),
    ("firewall ipv4 name TENANT-IN rule 10 state established enable", "unexpected `enable` after the value", 8),
    ("firewall ipv4 name TENANT-IN rule 10 state", "`state` needs a value", 6),
    ("firewall ipv4 name TENANT-IN rule 10 protocol tcpp", "fails validator `ip-protocol`", 7),
    ("firewall ipv4 name TENANT-IN rule 10 destination port 99999", "fails validator `port-multi`", 8),
    ("firewall group address-group MGMT address 192.0.2.0/24", "`192.0.2.0/24` is not a valid value", 5),
    ("firewall name TENANT-IN rule 10 action accept", "unknown node `name` under `firewall`", 1),
    ("frobnicate on", "unknown node `frobnicate` at top level", 0),
];

#[test]
fn both_versions_load_and_leave_few_validators_unchecked() {
    for (v, d) in [("current", current()), ("sagitta", sagitta())] {
        eprintln!("{v}: unchecked validators: {:?}", d.unchecked_validators());
        assert!(d.root().children.len() > 15, "{v}: too few top-level nodes");
        // only validators we cannot check faithfully without a router remain unchecked
        for u in d.unchecked_validators() {
            assert!(
                [
                    "script",
                    "wireless-phy",
                    "ddclient-protocol",
                    "psk-secret",
                    "bgp-large-community-list"
                ]
                .contains(&u.as_str()),
                "{u}"
            );
        }
    }
}

#[test]
fn load_accepts_interface_definitions_dir_itself() {
    let (Some(current), Some(missing)) = (dir("current"), dir("does-not-exist")) else {
        return;
    };
    let d = Definitions::load(&current.join("interface-definitions")).unwrap();
    assert!(d.node(&["interfaces", "wireguard"]).is_some());
    let err = Definitions::load(&missing).unwrap_err();
    assert!(err.to_string().contains("does-not-exist"), "{err}");
}

#[test]
fn merge_keeps_defaults_and_constraints() {
    let d = current();
    let mtu = d.node(&["interfaces", "wireguard", "mtu"]).unwrap();
    assert_eq!(
        mtu.default_value.as_deref(),
        Some("1420"),
        "wireguard overrides the included mtu default"
    );
    assert!(mtu.has_value_checks());
    // interfaces is declared in many files; all children end up in one node
    let ifs = d.node(&["interfaces"]).unwrap();
    for t in ["wireguard", "vxlan", "bridge", "ethernet", "dummy"] {
        assert!(ifs.child(t).is_some(), "interfaces {t}");
    }
    assert!(d
        .node(&["interfaces", "wireguard", "private-key"])
        .unwrap()
        .constraint_error
        .is_some());
}

#[test]
fn valid_fixture_accepted_by_both() {
    for (v, d) in [("1.5", current()), ("1.4", sagitta())] {
        for line in valid_both() {
            let w = words(&line);
            if let Err(e) = d.validate(&w) {
                panic!(
                    "{v}: `set {line}` rejected at word {}: {}",
                    e.word, e.reason
                );
            }
        }
    }
}

#[test]
fn valid_fixture_passes_commit_checks() {
    let paths: Vec<Vec<String>> = valid_both().iter().map(|l| words(l)).collect();
    let errs = commit_check_paths(&paths);
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn invalid_fixture_rejected_with_reason() {
    for (v, d) in [("1.5", current()), ("1.4", sagitta())] {
        for (line, reason, word) in INVALID_BOTH {
            let w = words(line);
            match d.validate(&w) {
                Ok(()) => panic!("{v}: `set {line}` accepted"),
                Err(e) => {
                    assert!(
                        e.reason.contains(reason),
                        "{v}: `set {line}`: got `{}`, want `{reason}`",
                        e.reason
                    );
                    assert_eq!(e.word, *word, "{v}: `set {line}`: {}", e.reason);
                }
            }
        }
    }
}

#[test]
fn unknown_node_lists_at_most_eight_names() {
    let e = current()
        .validate(&words("interfaces wireguard wg0 foo"))
        .unwrap_err();
    let list = e.reason.split("expected one of: ").nth(1).unwrap();
    assert!(list.split(", ").count() <= 9, "{list}");
    assert!(list.contains("more)"), "{list}");
}

#[test]
fn https_api_rest_only_in_1_5() {
    let rest = words("service https api rest");
    assert!(current().validate(&rest).is_ok());
    let e = sagitta().validate(&rest).unwrap_err();
    assert!(
        e.reason
            .contains("unknown node `rest` under `service https api`"),
        "{}",
        e.reason
    );
    // 1.4 has `api strict`/`api debug` directly; 1.5 moved them under `rest`
    assert!(sagitta()
        .validate(&words("service https api strict"))
        .is_ok());
    assert!(current()
        .validate(&words("service https api strict"))
        .is_err());
    assert!(current()
        .validate(&words("service https api rest strict"))
        .is_ok());
}

#[test]
fn firewall_ipsec_match_differs() {
    let l = words("firewall ipv4 name X rule 1 ipsec match-ipsec");
    assert!(sagitta().validate(&l).is_ok());
    assert!(current().validate(&l).is_err());
    assert!(current()
        .validate(&words("firewall ipv4 name X rule 1 ipsec match-ipsec-in"))
        .is_ok());
}

#[test]
fn schema_kinds_for_vyos_tree() {
    use vyos_tree::{NodeKind, Schema};
    let d = current();
    assert_eq!(d.kind(&["interfaces"]), Some(NodeKind::Node));
    assert_eq!(d.kind(&["interfaces", "wireguard"]), Some(NodeKind::Tag));
    assert_eq!(
        d.kind(&["interfaces", "wireguard", "wg0"]),
        Some(NodeKind::Node)
    );
    assert_eq!(
        d.kind(&["interfaces", "wireguard", "wg0", "address"]),
        Some(NodeKind::Leaf {
            multi: true,
            valueless: false
        })
    );
    assert_eq!(
        d.kind(&["interfaces", "wireguard", "wg0", "disable"]),
        Some(NodeKind::Leaf {
            multi: false,
            valueless: true
        })
    );
    assert_eq!(
        d.kind(&["firewall", "ipv4", "name", "X", "rule", "10", "state"]),
        Some(NodeKind::Leaf {
            multi: true,
            valueless: false
        })
    );
    assert_eq!(
        d.kind(&["interfaces", "wireguard", "wg0", "address", "10.0.0.1/24"]),
        None
    );
    assert_eq!(d.kind(&["interfaces", "nonsense"]), None);
}

#[test]
fn validating_many_commands_in_a_row() {
    let d = current();
    let lines: Vec<Vec<String>> = valid_both().iter().map(|l| words(l)).collect();
    let t = std::time::Instant::now();
    let mut n = 0;
    while n < 20_000 {
        for l in &lines {
            assert!(d.validate(l).is_ok());
            n += 1;
        }
    }
    eprintln!("validated {n} commands in {} ms", t.elapsed().as_millis());
}

#[test]
fn from_files_is_pure() {
    let files = vec![(
        "x.xml.in".to_string(),
        "<interfaceDefinition><node name=\"a\"><children>\n#include <include/b.xml.i>\n</children></node></interfaceDefinition>".to_string(),
    )];
    let inc = |p: &str| {
        (p == "include/b.xml.i").then(|| {
            "<tagNode name=\"t\"><properties><constraint><regex>t[0-9]+</regex><validator name=\"ipv4-address\"/></constraint></properties><children><leafNode name=\"v\"><properties><valueless/></properties></leafNode></children></tagNode>".to_string()
        })
    };
    let d = Definitions::from_files(&files, &inc).unwrap();
    assert!(d.validate_words(&["a", "t", "t1", "v"]).is_ok());
    assert!(
        d.validate_words(&["a", "t", "192.0.2.1"]).is_ok(),
        "alternatives within one constraint"
    );
    assert!(d.validate_words(&["a", "t", "x1"]).is_err());
    assert!(d.validate_words(&["a", "t", "t1", "v", "x"]).is_err());
}
