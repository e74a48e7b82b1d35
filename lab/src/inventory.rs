//! The inventory of a running lab: everything `vxguard-lab up` built,
//! written to `<state dir>/inventory.json` before the first namespace is
//! made and rewritten as parts come up, so that `lab check` knows where the
//! endpoints are and `lab down` can remove every namespace, process and
//! file even after a crash (it trusts this file, never a scan of the host).

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The file's name inside the lab's state directory.
pub const FILE: &str = "inventory.json";

/// A lab's prefix: 1-4 lowercase letters or digits, so that namespace and
/// interface names built from it stay within the kernel's 15 characters.
pub fn valid_prefix(prefix: &str) -> bool {
    (1..=4).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Prefix of every namespace and host-wide name the lab made.
    pub prefix: String,
    /// vxguard's API base URL (`http://127.0.0.1:3000`), for `lab check`.
    pub api: String,
    /// The WireGuard mesh port (captures allow it and the client ports).
    pub wg_port: u16,
    /// Every namespace made, in creation order (`down` deletes in reverse).
    pub namespaces: Vec<String>,
    /// Every daemon started, by pid (`down` kills them).
    pub processes: Vec<Process>,
    pub routers: Vec<RouterNode>,
    pub hypervisors: Vec<HypervisorNode>,
    /// Tenant "VMs": one namespace per port of the intent.
    pub vms: Vec<Vm>,
    /// The internet: a host on the underlay outside every site.
    pub outside: Host,
    /// Underlay links to capture on (check 4): each one end of a link.
    pub underlay_links: Vec<Link>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    /// What it is, for messages (`lab router vyos-dc1-01`).
    pub what: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterNode {
    pub name: String,
    pub site: String,
    /// The router's namespace (its VRFs are `<ns>-<vrf>`).
    pub ns: String,
    /// Host-unique id prefixed to its interface names.
    pub id: String,
    /// "1.4" or "1.5".
    pub version: String,
    /// Its API as registered in vxguard (`https://127.0.0.1:PORT`).
    pub api_url: String,
    /// The lab router's state directory (config.boot, run/).
    pub state_dir: PathBuf,
    /// Its underlay interface in `ns` (taking it down cuts the router off).
    pub underlay_if: String,
    pub underlay_address: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HypervisorNode {
    pub name: String,
    pub site: String,
    /// The host's namespace: underlay, WireGuard, routing.
    pub ns: String,
    /// The namespace ovs-vswitchd runs in (integration bridge, VM ports).
    pub ovs_ns: String,
    pub id: String,
    /// `ovs-ofctl` target of the integration bridge (`unix:.../br-int.mgmt`).
    pub openflow: String,
    pub run_dir: PathBuf,
    pub underlay_address: Ipv4Addr,
    pub vtep: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    pub tenant: String,
    pub network: String,
    /// The intent's port name (also the OVS port name).
    pub port: String,
    pub hypervisor: String,
    pub site: String,
    pub ns: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub ns: String,
    pub address: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub ns: String,
    pub ifname: String,
    /// Which link this is, for messages (`dc1 <-> vyos-dc1-01`).
    pub label: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a lab inventory: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl Default for Host {
    fn default() -> Self {
        Host {
            ns: String::new(),
            address: Ipv4Addr::UNSPECIFIED,
        }
    }
}

impl Inventory {
    /// Reads `<dir>/inventory.json`.
    pub fn load(dir: &Path) -> Result<Inventory, InventoryError> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| InventoryError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| InventoryError::Parse { path, source })
    }

    /// Writes `<dir>/inventory.json` atomically (a crash leaves the old or
    /// the new file, never half of one).
    pub fn save(&self, dir: &Path) -> Result<(), InventoryError> {
        let path = dir.join(FILE);
        let tmp = dir.join(format!("{FILE}.tmp"));
        let io = |source| InventoryError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let text = serde_json::to_string_pretty(self).expect("inventory serialises");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    pub fn vm(&self, port: &str) -> Option<&Vm> {
        self.vms.iter().find(|v| v.port == port)
    }

    pub fn router(&self, name: &str) -> Option<&RouterNode> {
        self.routers.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_the_same_inventory() {
        let dir = std::env::temp_dir().join(format!("vxg-inv-{}", std::process::id()));
        let inv = Inventory {
            prefix: "vxl".into(),
            api: "http://127.0.0.1:3000".into(),
            wg_port: 51820,
            namespaces: vec!["vxl-wan".into()],
            vms: vec![Vm {
                tenant: "acme".into(),
                network: "app".into(),
                port: "acme-app1".into(),
                hypervisor: "hv-dc1-01".into(),
                site: "dc1".into(),
                ns: "vxl-acme-app1".into(),
                address: Ipv4Addr::new(100, 65, 0, 10),
                prefix_len: 24,
                gateway: Ipv4Addr::new(100, 65, 0, 1),
            }],
            ..Default::default()
        };
        inv.save(&dir).unwrap();
        assert_eq!(Inventory::load(&dir).unwrap(), inv);
        assert!(inv.vm("acme-app1").is_some() && inv.vm("nope").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
