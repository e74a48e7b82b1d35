//! A hand-written slice of VyOS 1.4's definitions, for unit tests.

use crate::{NodeKind, Schema};

pub(crate) struct Vyos;

const MULTI: NodeKind = NodeKind::Leaf {
    multi: true,
    valueless: false,
};
const SINGLE: NodeKind = NodeKind::Leaf {
    multi: false,
    valueless: false,
};
const VALUELESS: NodeKind = NodeKind::Leaf {
    multi: false,
    valueless: true,
};

impl Schema for Vyos {
    fn kind(&self, path: &[&str]) -> Option<NodeKind> {
        use NodeKind::{Node, Tag};
        Some(match path {
            ["interfaces"]
            | ["firewall"]
            | ["firewall", "ipv4"]
            | ["protocols"]
            | ["protocols", "bgp"] => Node,
            ["service"] | ["service", "https"] | ["service", "https", "api"] => Node,
            ["service", "https", "api", "keys"] => Node,
            ["service", "https", "api", "keys", "id"] => Tag,
            ["service", "https", "api", "keys", "id", _] => Node,
            ["service", "https", "api", "keys", "id", _, "key"] => SINGLE,
            ["service", "https", "api", "rest"] => VALUELESS,
            ["interfaces", "ethernet" | "wireguard" | "loopback"] => Tag,
            ["interfaces", "ethernet" | "wireguard" | "loopback", _] => Node,
            ["interfaces", _, _, "address"] => MULTI,
            ["interfaces", _, _, "description" | "hw-id" | "port" | "private-key"] => SINGLE,
            ["interfaces", _, _, "disable"] => VALUELESS,
            ["firewall", "ipv4", "name"] => Tag,
            ["firewall", "ipv4", "name", _] => Node,
            ["firewall", "ipv4", "name", _, "default-action"] => SINGLE,
            ["firewall", "ipv4", "name", _, "rule"] => Tag,
            ["firewall", "ipv4", "name", _, "rule", _] => Node,
            ["firewall", "ipv4", "name", _, "rule", _, "action"] => SINGLE,
            ["firewall", "ipv4", "name", _, "rule", _, "state"] => MULTI,
            ["firewall", "ipv4", "name", _, "rule", _, "log"] => VALUELESS,
            ["protocols", "bgp", "system-as"] => SINGLE,
            ["protocols", "bgp", "neighbor"] => Tag,
            ["protocols", "bgp", "neighbor", _] => Node,
            ["protocols", "bgp", "neighbor", _, "remote-as"] => SINGLE,
            ["protocols", "bgp", "neighbor", _, "address-family"] => Node,
            ["protocols", "bgp", "neighbor", _, "address-family", _] => Node,
            _ => return None,
        })
    }
}

pub(crate) fn p(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

/// A VyOS 1.4 config.boot as the router writes it.
pub(crate) const BOOT: &str = r#"firewall {
    ipv4 {
        name WAN-IN {
            default-action drop
            rule 10 {
                action accept
                state established
                state related
            }
            rule 20 {
                action drop
                log
                state invalid
            }
        }
    }
}
interfaces {
    ethernet eth0 {
        address 192.0.2.10/24
        address 2001:db8::10/64
        description "Uplink to ISP"
        hw-id 00:50:56:aa:bb:cc
    }
    loopback lo {
    }
}
protocols {
    bgp {
        neighbor 192.0.2.1 {
            address-family {
                ipv4-unicast {
                }
            }
            remote-as 64512
        }
        system-as 64513
    }
}
service {
    https {
        api {
            keys {
                id vxguard {
                    key "s3cr3t key"
                }
            }
            rest
        }
    }
}
"#;

pub(crate) const TRAILER: &str = r#"// Warning: Do not remove the following line.
// vyos-config-version: "bgp@5:broadcast-relay@1:cluster@2:config-management@1:conntrack@5:dhcp-server@8:firewall@15:https@6:interfaces@32:system@27:wanloadbalance@3"
// Release version: 1.4.0
"#;

/// What `show configuration commands` prints for [`BOOT`].
pub(crate) const COMMANDS: &str = "\
set firewall ipv4 name WAN-IN default-action 'drop'
set firewall ipv4 name WAN-IN rule 10 action 'accept'
set firewall ipv4 name WAN-IN rule 10 state 'established'
set firewall ipv4 name WAN-IN rule 10 state 'related'
set firewall ipv4 name WAN-IN rule 20 action 'drop'
set firewall ipv4 name WAN-IN rule 20 log
set firewall ipv4 name WAN-IN rule 20 state 'invalid'
set interfaces ethernet eth0 address '192.0.2.10/24'
set interfaces ethernet eth0 address '2001:db8::10/64'
set interfaces ethernet eth0 description 'Uplink to ISP'
set interfaces ethernet eth0 hw-id '00:50:56:aa:bb:cc'
set interfaces loopback lo
set protocols bgp neighbor 192.0.2.1 address-family ipv4-unicast
set protocols bgp neighbor 192.0.2.1 remote-as '64512'
set protocols bgp system-as '64513'
set service https api keys id vxguard key 's3cr3t key'
set service https api rest
";
