//! The VyOS driver as the server uses it: the device side is
//! `vxguard_drivers::vyos`; [`apply`] wraps it in the record-keeping of
//! `crate::rollout::record` (lock, `device_applies` row). Kept so that
//! `vxguard::driver::vyos::...` paths keep working.

pub use crate::rollout::record::{apply_router as apply, ApplyError as DriverError, Report};
pub use vxguard_drivers::vyos::*;
pub use vxguard_drivers::Outcome;
