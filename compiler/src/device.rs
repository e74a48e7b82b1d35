//! What kinds of device the compiler configures: one definition for the
//! compiler's output and previews, the worker's revisions and rollouts, and
//! the API.

use serde::{Deserialize, Serialize};

/// A VyOS router (configured with `set` commands) or an Open vSwitch
/// hypervisor (configured with OpenFlow flows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Router,
    Hypervisor,
}

impl DeviceKind {
    /// Its name in the database and the API: `router`, `hypervisor`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Router => "router",
            DeviceKind::Hypervisor => "hypervisor",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        match s {
            "router" => Some(DeviceKind::Router),
            "hypervisor" => Some(DeviceKind::Hypervisor),
            _ => None,
        }
    }
}
