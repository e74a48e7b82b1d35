//! The MTU budget: what the underlay's MTU leaves for tenants once
//! WireGuard and VXLAN have taken their headers.

use crate::intent::{Intent, IpVersion};

/// WireGuard's overhead with an IPv4 / IPv6 outer header, and VXLAN's.
pub const WG_OVERHEAD_V4: u16 = 60;
pub const WG_OVERHEAD_V6: u16 = 80;
pub const VXLAN_OVERHEAD: u16 = 50;
/// The smallest tenant MTU we accept (IPv6's minimum link MTU).
pub const MIN_TENANT_MTU: u16 = 1280;

/// (WireGuard interface MTU, tenant MTU).
pub fn mtu_budget(intent: &Intent) -> (u16, u16) {
    let u = &intent.platform.underlay;
    let wg = u.mtu.saturating_sub(match u.ip_version {
        IpVersion::V4 => WG_OVERHEAD_V4,
        IpVersion::V6 => WG_OVERHEAD_V6,
    });
    (wg, wg.saturating_sub(VXLAN_OVERHEAD))
}
