//! The OVS driver as the server uses it: the device side is
//! `vxguard_drivers::ovs`; [`apply`] wraps it in the record-keeping of
//! `crate::rollout::record` (lock, `device_applies` row). Kept so that
//! `vxguard::driver::ovs::...` paths keep working.

pub use crate::rollout::record::{apply_hypervisor as apply, OvsRecord as Record};
pub use vxguard_drivers::ovs::*;
pub use vxguard_drivers::Outcome;
