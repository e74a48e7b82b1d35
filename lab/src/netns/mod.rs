//! A [`crate::realise::Realiser`] that builds a lab router's committed
//! configuration in network namespaces with the daemons VyOS uses.
//!
//! Design (this kernel has no VRF devices and no kernel WireGuard; see
//! `shared/LAB-NOTES.md`):
//! - The router runs in a namespace the lab made (its underlay links and
//!   addresses are the lab's, not the configuration's: vxguard's
//!   configuration has no `interfaces ethernet`).
//! - Each tenant VRF `T` is its own namespace `<router ns>-T`. Layer 2
//!   stays in the router namespace: VXLAN interfaces and bridges live
//!   there, so FRR's `advertise-all-vni` in the router namespace sees
//!   them. A bridge in a VRF gets its layer-3 side through a veth pair:
//!   one end (`<dev>p`) is a port of the bridge, the other, named as the
//!   bridge (`<id><vyos name>`), is moved into the VRF namespace and
//!   carries the bridge's addresses (and later VRRP). WireGuard
//!   interfaces with `vrf T` live in the VRF namespace.
//! - Interface names are `<id><vyos name>` with a 1-3 character router
//!   id, host-unique because wireguard-go's control socket path
//!   (`/var/run/wireguard/<dev>.sock`) is shared by all namespaces.
//! - WireGuard runs as wireguard-go (user space), configured with `wg`.
//!
//! What this does not prove: kernel VRF behaviour (route leaking, `ip
//! vrf exec`, the VRF's table number: a namespace has its own main
//! table), kernel WireGuard, and that VyOS's scripts issue exactly these
//! commands (they were written from vyos-1x's sources, not observed).
//! Not realised yet: FRR (BGP EVPN, BFD), VRRP, the firewall; the plan
//! lists such configuration in [`plan::Plan::not_realised`].

pub mod plan;
