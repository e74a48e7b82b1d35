firewall {
    group {
        interface-group VXG-acme {
            interface br9000001
            interface br10000
        }
        interface-group VXG-finance {
            interface br9000002
            interface br10002
        }
        interface-group VXG-globex {
            interface br9000003
            interface br10003
        }
        network-group VXG-acme-INT {
            network 100.64.0.0/24
            network 100.65.0.0/24
        }
        network-group VXG-acme-NET {
            network 100.65.0.0/24
        }
        network-group VXG-finance-INT {
            network 100.64.0.0/24
            network 100.64.1.0/28
            network 100.64.1.16/28
        }
        network-group VXG-finance-NET {
            network 100.64.1.0/28
            network 100.64.1.16/28
        }
        network-group VXG-finance-S-database-servers {
            network 100.64.1.20/32
            network 100.64.1.21/32
        }
        network-group VXG-finance-S-web-servers {
            network 100.64.1.10/32
            network 100.64.1.11/32
        }
        network-group VXG-globex-INT {
            network 100.65.0.0/24
        }
        network-group VXG-globex-N-app {
            network 100.65.0.0/24
        }
        network-group VXG-globex-NET {
            network 100.65.0.0/24
        }
    }
    ipv4 {
        forward {
            filter {
                default-action accept
                rule 1 {
                    action jump
                    description "vxguard tenant acme"
                    jump-target VXG-acme
                    outbound-interface {
                        group VXG-acme
                    }
                }
                rule 2 {
                    action jump
                    description "vxguard tenant finance"
                    jump-target VXG-finance
                    outbound-interface {
                        group VXG-finance
                    }
                }
                rule 3 {
                    action jump
                    description "vxguard tenant globex"
                    jump-target VXG-globex
                    outbound-interface {
                        group VXG-globex
                    }
                }
            }
        }
        name VXG-acme {
            default-action accept
            description "vxguard tenant policy"
            rule 1 {
                action accept
                state established
                state related
            }
            rule 2 {
                action accept
                description "tenant-internal: judged by the hypervisors"
                destination {
                    group {
                        network-group VXG-acme-NET
                    }
                }
                source {
                    group {
                        network-group VXG-acme-INT
                    }
                }
            }
            rule 3 {
                action accept
                description "tenant-internal: judged by the hypervisors"
                destination {
                    group {
                        network-group VXG-acme-INT
                    }
                }
                source {
                    group {
                        network-group VXG-acme-NET
                    }
                }
            }
            rule 4 {
                action drop
                state invalid
            }
            rule 100 {
                action reject
                description "policy rule 1: No telnet"
                destination {
                    port 23,2300-2399
                }
                protocol tcp
            }
        }
        name VXG-finance {
            default-action drop
            description "vxguard tenant policy"
            rule 1 {
                action accept
                state established
                state related
            }
            rule 2 {
                action accept
                description "tenant-internal: judged by the hypervisors"
                destination {
                    group {
                        network-group VXG-finance-NET
                    }
                }
                source {
                    group {
                        network-group VXG-finance-INT
                    }
                }
            }
            rule 3 {
                action accept
                description "tenant-internal: judged by the hypervisors"
                destination {
                    group {
                        network-group VXG-finance-INT
                    }
                }
                source {
                    group {
                        network-group VXG-finance-NET
                    }
                }
            }
            rule 4 {
                action drop
                state invalid
            }
            rule 100 {
                action accept
                description "policy rule 1: Allow Web Traffic"
                destination {
                    group {
                        network-group VXG-finance-S-web-servers
                    }
                    port 443
                }
                protocol tcp
            }
            rule 110 {
                action accept
                description "policy rule 2: Allow Database Access"
                destination {
                    group {
                        network-group VXG-finance-S-database-servers
                    }
                    port 5432
                }
                protocol tcp
                source {
                    group {
                        network-group VXG-finance-S-web-servers
                    }
                }
            }
            rule 120 {
                action drop
                description "policy rule 3: Block External SSH"
                destination {
                    port 22
                }
                protocol tcp
                source {
                    group {
                        network-group "!VXG-finance-INT"
                    }
                }
            }
        }
        name VXG-globex {
            default-action drop
            description "vxguard tenant policy"
            rule 1 {
                action accept
                state established
                state related
            }
            rule 2 {
                action accept
                description "tenant-internal: judged by the hypervisors"
                destination {
                    group {
                        network-group VXG-globex-NET
                    }
                }
                source {
                    group {
                        network-group VXG-globex-INT
                    }
                }
            }
            rule 3 {
                action accept
                description "tenant-internal: judged by the hypervisors"
                destination {
                    group {
                        network-group VXG-globex-INT
                    }
                }
                source {
                    group {
                        network-group VXG-globex-NET
                    }
                }
            }
            rule 4 {
                action drop
                state invalid
            }
            rule 100 {
                action accept
                description "policy rule 10: HTTP from anywhere"
                destination {
                    group {
                        network-group VXG-globex-N-app
                    }
                    port 80,443
                }
                protocol tcp
            }
            rule 110 {
                action accept
                description "policy rule 20: ICMP inside"
                protocol icmp
                source {
                    address 100.65.0.0/24
                }
            }
        }
    }
}
high-availability {
    vrrp {
        group acme-app {
            address 100.65.0.1/24 {
            }
            interface br10000
            preempt-delay 5
            priority 100
            track {
                interface eth0
            }
            vrid 1
        }
        group finance-web {
            address 100.64.1.1/28 {
            }
            interface br10002
            preempt-delay 5
            priority 100
            track {
                interface eth0
            }
            vrid 1
        }
        group globex-app {
            address 100.65.0.1/24 {
            }
            interface br10003
            preempt-delay 5
            priority 200
            track {
                interface eth0
            }
            vrid 1
        }
    }
}
interfaces {
    bridge br10000 {
        address 100.65.0.3/24
        description "vxguard tenant acme network app"
        member {
            interface vxlan10000 {
            }
        }
        mtu 1390
        vrf acme
    }
    bridge br10002 {
        address 100.64.1.3/28
        description "vxguard tenant finance network web"
        member {
            interface vxlan10002 {
            }
        }
        mtu 1390
        vrf finance
    }
    bridge br10003 {
        address 100.65.0.3/24
        description "vxguard tenant globex network app"
        member {
            interface vxlan10003 {
            }
        }
        mtu 1390
        vrf globex
    }
    bridge br9000001 {
        description "vxguard tenant acme L3"
        member {
            interface vxlan9000001 {
            }
        }
        mtu 1390
        vrf acme
    }
    bridge br9000002 {
        description "vxguard tenant finance L3"
        member {
            interface vxlan9000002 {
            }
        }
        mtu 1390
        vrf finance
    }
    bridge br9000003 {
        description "vxguard tenant globex L3"
        member {
            interface vxlan9000003 {
            }
        }
        mtu 1390
        vrf globex
    }
    dummy dum0 {
        address 172.27.0.2/32
        description "vxguard VTEP"
    }
    vxlan vxlan10000 {
        mtu 1390
        remote 172.27.0.1
        remote 172.27.0.3
        remote 172.27.0.4
        remote 172.27.0.5
        remote 172.27.0.6
        source-address 172.27.0.2
        vni 10000
    }
    vxlan vxlan10002 {
        mtu 1390
        remote 172.27.0.1
        remote 172.27.0.3
        remote 172.27.0.4
        remote 172.27.0.5
        remote 172.27.0.6
        source-address 172.27.0.2
        vni 10002
    }
    vxlan vxlan10003 {
        mtu 1390
        remote 172.27.0.1
        remote 172.27.0.3
        remote 172.27.0.4
        remote 172.27.0.5
        remote 172.27.0.6
        source-address 172.27.0.2
        vni 10003
    }
    vxlan vxlan9000001 {
        mtu 1390
        parameters {
            nolearning
        }
        source-address 172.27.0.2
        vni 9000001
    }
    vxlan vxlan9000002 {
        mtu 1390
        parameters {
            nolearning
        }
        source-address 172.27.0.2
        vni 9000002
    }
    vxlan vxlan9000003 {
        mtu 1390
        parameters {
            nolearning
        }
        source-address 172.27.0.2
        vni 9000003
    }
    wireguard wg0 {
        description "vxguard mesh"
        mtu 1440
        peer hv-dc1-01 {
            address 5.254.54.20
            allowed-ips 172.27.0.5/32
            persistent-keepalive 25
            port 51820
            public-key bHIpYGc1KTQ1BAQEBAQEBAQEBAQEBAQEBAQEBAQEBEA=
        }
        peer hv-dc2-01 {
            address 5.254.43.180
            allowed-ips 172.27.0.6/32
            persistent-keepalive 25
            port 51820
            public-key bHIpYGc2KTQ1BAQEBAQEBAQEBAQEBAQEBAQEBAQEBEA=
        }
        peer vyos-dc1-01 {
            address 5.254.54.10
            allowed-ips 172.27.0.1/32
            persistent-keepalive 25
            port 51820
            public-key dHttcS9mYTMvMjMCAgICAgICAgICAgICAgICAgICAkA=
        }
        peer vyos-dc2-01 {
            address 5.254.43.170
            allowed-ips 172.27.0.3/32
            persistent-keepalive 25
            port 51820
            public-key dHttcS9mYTAvMjMCAgICAgICAgICAgICAgICAgICAkA=
        }
        peer vyos-dc2-02 {
            address 5.254.43.171
            allowed-ips 172.27.0.4/32
            persistent-keepalive 25
            port 51820
            public-key dHttcS9mYTAvMjACAgICAgICAgICAgICAgICAgICAkA=
        }
        port 51820
        private-key d3hucixlYjAsMTMBAQEBAQEBAQEBAQEBAQEBAQEBAUA=
    }
    wireguard wg65536 {
        description "vxguard mesh"
        mtu 1440
        peer hv-dc1-01 {
            address 5.254.54.20
            allowed-ips 172.27.0.5/32
            persistent-keepalive 25
            port 51819
            public-key bHIpYGc1KTQ1BAQEBAQEBAQEBAQEBAQEBAQEBAQEBEA=
        }
        peer hv-dc2-01 {
            address 5.254.43.180
            allowed-ips 172.27.0.6/32
            persistent-keepalive 25
            port 51819
            public-key bHIpYGc2KTQ1BAQEBAQEBAQEBAQEBAQEBAQEBAQEBEA=
        }
        peer vyos-dc1-01 {
            address 5.254.54.10
            allowed-ips 172.27.0.1/32
            persistent-keepalive 25
            port 51819
            public-key dHttcS9mYTMvMjMCAgICAgICAgICAgICAgICAgICAkA=
        }
        peer vyos-dc2-01 {
            address 5.254.43.170
            allowed-ips 172.27.0.3/32
            persistent-keepalive 25
            port 51819
            public-key dHttcS9mYTAvMjMCAgICAgICAgICAgICAgICAgICAkA=
        }
        peer vyos-dc2-02 {
            address 5.254.43.171
            allowed-ips 172.27.0.4/32
            persistent-keepalive 25
            port 51819
            public-key dHttcS9mYTAvMjACAgICAgICAgICAgICAgICAgICAkA=
        }
        port 51819
        private-key d3hucixlYjAsMTMBAQEBAQEBAQEBAQEBAQEBAQEBAUA=
    }
}
protocols {
    bgp {
        address-family {
            l2vpn-evpn {
                advertise-all-vni
            }
        }
        neighbor 172.27.0.1 {
            address-family {
                l2vpn-evpn {
                }
            }
            bfd {
            }
            remote-as internal
            update-source 172.27.0.2
        }
        neighbor 172.27.0.3 {
            address-family {
                l2vpn-evpn {
                }
            }
            bfd {
            }
            remote-as internal
            update-source 172.27.0.2
        }
        neighbor 172.27.0.4 {
            address-family {
                l2vpn-evpn {
                }
            }
            bfd {
            }
            remote-as internal
            update-source 172.27.0.2
        }
        parameters {
            router-id 172.27.0.2
        }
        system-as 65000
    }
    static {
        route 172.27.0.0/20 {
            blackhole {
                distance 254
            }
            interface wg0 {
            }
        }
    }
}
service {
    https {
        api {
            keys {
                id vxguard {
                    key test-api-key-vyos-dc1-02
                }
            }
            rest {
            }
        }
    }
    monitoring {
        frr-exporter {
            listen-address 172.27.0.2
        }
        node-exporter {
            listen-address 172.27.0.2
        }
    }
}
system {
    host-name vyos-dc1-02
}
vrf {
    name acme {
        description "vxguard tenant acme"
        protocols {
            bgp {
                address-family {
                    ipv4-unicast {
                        redistribute {
                            connected {
                            }
                        }
                    }
                    l2vpn-evpn {
                        advertise {
                            ipv4 {
                                unicast {
                                }
                            }
                        }
                        rd 172.27.0.2:1
                        route-target {
                            export 65000:1
                            import 65000:1
                        }
                    }
                }
                system-as 65000
            }
        }
        table 101
        vni 9000001
    }
    name finance {
        description "vxguard tenant finance"
        protocols {
            bgp {
                address-family {
                    ipv4-unicast {
                        redistribute {
                            connected {
                            }
                        }
                    }
                    l2vpn-evpn {
                        advertise {
                            ipv4 {
                                unicast {
                                }
                            }
                        }
                        rd 172.27.0.2:2
                        route-target {
                            export 65000:2
                            import 65000:2
                        }
                    }
                }
                system-as 65000
            }
        }
        table 102
        vni 9000002
    }
    name globex {
        description "vxguard tenant globex"
        protocols {
            bgp {
                address-family {
                    ipv4-unicast {
                        redistribute {
                            connected {
                            }
                        }
                    }
                    l2vpn-evpn {
                        advertise {
                            ipv4 {
                                unicast {
                                }
                            }
                        }
                        rd 172.27.0.2:3
                        route-target {
                            export 65000:3
                            import 65000:3
                        }
                    }
                }
                system-as 65000
            }
        }
        table 103
        vni 9000003
    }
}
