//! A lab hypervisor: Open vSwitch with the userspace datapath, its VMs and
//! its WireGuard interface, built in network namespaces from a compiled
//! [`HypervisorConfig`] (its VTEP and `## wireguard` section; the flows
//! are loaded afterwards, by the OVS driver or `ovs-ofctl`).
//!
//! Design (no kernel OVS datapath and no kernel WireGuard here; see
//! `shared/LAB-NOTES.md`), in OVS's "userspace tunneling" shape:
//! - the host namespace `ns` (the lab's, with its underlay) runs one
//!   wireguard-go per mesh slot (`<id>wg0`, `<id>wg65536`: see
//!   `vxguard_compiler::mesh`), each configured with `wg setconf` from its
//!   part of the wireguard section, with a route into the active slot for
//!   every one of its peers' AllowedIPs, and forwards between them and a
//!   veth `<id>vt` to the OVS namespace, where it routes the VTEP /32;
//! - `ovs_ns` runs ovsdb-server and ovs-vswitchd (run directory and
//!   management sockets in `run_dir`: `unix:<run_dir>/<bridge>.mgmt`), with
//!   two netdev bridges: the integration bridge (VM ports are veth ends,
//!   the tunnel port `vxg-tun` is flow-based VXLAN with `local_ip` = VTEP)
//!   and `br-ul`, whose internal port holds the VTEP address and a link
//!   address, and whose other port is the veth from the host namespace.
//!   OVS encapsulates in its datapath, finds the next hop from the
//!   kernel's routes in `ovs_ns` (only the AllowedIPs prefixes, via the
//!   host end of the veth: nothing else has a route) and terminates
//!   arriving VXLAN on `br-ul` (`tnl_pop`) before the kernel sees it;
//! - `net.ipv4.conf.all.arp_ignore=1` in `ovs_ns`: otherwise the kernel
//!   answers ARP on the veth port with the veth's own MAC, the host sends
//!   VXLAN there, and the kernel (not OVS) receives it ("port
//!   unreachable"), found while building this;
//! - each VM is a namespace with `eth0` (MTU, address, default route to
//!   the gateway, TX checksum offload off: OVS's userspace datapath does
//!   not complete offloaded checksums), its veth peer in `ovs_ns` named as
//!   the intent's port.
//!
//! So a tenant frame leaves OVS only VXLAN-encapsulated, and the VXLAN
//! packet leaves the machine only inside WireGuard. What was made is
//! recorded in `<run_dir>/hypervisor.json` before it is made, so
//! [`teardown`] works from the record alone, after a crash too.
//!
//! Later revisions' `## wireguard` sections are applied by
//! [`apply_wireguard`], as a hypervisor host's agent would (the model of
//! one: vxguard does not provision hosts yet): `wg setconf` on each slot
//! whose text changed and on no other (the interface stays, so the slot
//! carrying traffic, which a staged mesh change holds, is never touched),
//! a slot started or removed only when the section adds or drops one, and
//! the mesh routes moved into the new active slot by `ip route replace`
//! (atomic: no packet finds no route) once every slot holds its text.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_compiler::ovs::TUNNEL_PORT;

use crate::netns::apply::{self, ip, run, run_env, ApplyError, RunDir};

/// The record's file name in the run directory.
pub const RECORD: &str = "hypervisor.json";
/// The underlay bridge in the OVS namespace (its internal port holds the VTEP).
pub const UNDERLAY_BRIDGE: &str = "br-ul";
/// The link between the host namespace (`.1`) and `br-ul` (`.2`).
const LINK_HOST: &str = "169.254.0.1";
const LINK_OVS: &str = "169.254.0.2";
const LINK_LEN: u8 = 30;
/// The veth end in the OVS namespace (a port of `br-ul`).
const OVS_UPLINK: &str = "ul0";
/// VXLAN over IPv4: what the tunnel adds to a tenant frame.
const VXLAN_OVERHEAD: u16 = 50;

pub struct HypervisorSpec {
    pub name: String,
    /// 1-3 lowercase letters or digits, unique on the host: prefixes the
    /// interface names made in the host namespace (wireguard-go's control
    /// socket `/var/run/wireguard/<id>wg0.sock` is host-wide).
    pub id: String,
    /// The host namespace: exists (the lab made it), underlay configured.
    pub ns: String,
    /// The namespace for ovs-vswitchd: made here.
    pub ovs_ns: String,
    /// Daemons' files, OVS sockets, the record (root-only).
    pub run_dir: PathBuf,
    /// The integration bridge (the intent's `bridge`).
    pub bridge: String,
    /// The compiled configuration: VTEP and WireGuard are used here.
    pub config: HypervisorConfig,
    /// The tenant MTU (VMs' `eth0`); WireGuard gets this plus VXLAN's 50.
    pub mtu: u16,
    pub vms: Vec<VmSpec>,
}

pub struct VmSpec {
    /// The OVS port name: the intent's port name.
    pub port: String,
    /// The VM's namespace: made here.
    pub ns: String,
    pub address: Ipv4Net,
    pub gateway: Ipv4Addr,
}

/// What [`build`] made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Built {
    /// `ovs-ofctl` target of the integration bridge.
    pub openflow: String,
    /// The WireGuard interface in the host namespace.
    pub wg_dev: String,
    /// ovsdb-server, ovs-vswitchd, wireguard-go.
    pub pids: Vec<u32>,
    /// Namespaces made (OVS, then VMs).
    pub namespaces: Vec<String>,
}

/// Why a hypervisor could not be built or removed.
#[derive(Debug, thiserror::Error)]
pub enum HypervisorError {
    #[error("host namespace {0:?} does not exist (the lab creates it)")]
    NoHostNs(String),
    #[error("namespace {0:?} already exists: another hypervisor or a leftover (teardown its run directory)")]
    NsExists(String),
    #[error("id {0:?}: must be 1-3 lowercase letters or digits")]
    BadId(String),
    #[error("{what} {name:?}: an interface name is at most 15 characters")]
    LongName { what: &'static str, name: String },
    #[error("the wireguard section has no peer AllowedIPs: nothing could reach the VTEP")]
    NoAllowedIps,
    #[error("ovs-vswitchd did not open {path} within 10 s (log: {log})")]
    OvsStart { path: PathBuf, log: PathBuf },
    #[error("the record {path}: {reason}")]
    Record { path: PathBuf, reason: String },
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// The record on disk: what exists (or may, after a crash) and must go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Record {
    host_ns: String,
    /// Links made in the host namespace (the veth to OVS).
    host_links: Vec<String>,
    /// The wireguard-go interface in the host namespace (records from
    /// before the mesh slots).
    #[serde(default)]
    wg_dev: Option<String>,
    /// The wireguard-go interfaces in the host namespace, one per slot.
    #[serde(default)]
    wg_devs: Vec<String>,
    /// Namespaces made, in order (deleted in reverse).
    namespaces: Vec<String>,
    /// OVS pid files (vswitchd first: stopped before the database).
    pidfiles: Vec<PathBuf>,
    /// What [`apply_wireguard`] needs (records from before it lack them).
    #[serde(default)]
    wg: Option<WgRecord>,
}

/// The WireGuard side as last applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct WgRecord {
    /// The interface names' prefix (the spec's `id`).
    id: String,
    ovs_ns: String,
    vtep: Ipv4Addr,
    mtu: u16,
    /// The slot the mesh is routed into (`wg0`, `wg65536`).
    active: String,
    /// The mesh routes (the active slot's AllowedIPs).
    routes: Vec<Ipv4Net>,
    /// Each slot's SHA-256 of the text applied (not the text: it holds
    /// the private key), to set only the slots that change.
    digests: BTreeMap<String, String>,
}

fn digest(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Record {
    fn load(run_dir: &Path) -> Result<Option<Record>, HypervisorError> {
        let path = run_dir.join(RECORD);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(HypervisorError::Record {
                    path,
                    reason: e.to_string(),
                })
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| HypervisorError::Record {
                path,
                reason: e.to_string(),
            })
    }

    fn save(&self, run_dir: &Path) -> Result<(), HypervisorError> {
        let path = run_dir.join(RECORD);
        let text = serde_json::to_string_pretty(self).expect("serialisable");
        apply::write_private(&path, &text)?;
        Ok(())
    }
}

fn sysctl(ns: &str, setting: &str) -> Result<String, ApplyError> {
    run(&["ip", "netns", "exec", ns, "sysctl", "-qw", setting])
}

fn check_name(what: &'static str, name: &str) -> Result<(), HypervisorError> {
    if name.len() > 15 {
        return Err(HypervisorError::LongName {
            what,
            name: name.into(),
        });
    }
    Ok(())
}

/// Builds the hypervisor; on failure removes what it made and returns the error.
pub fn build(spec: &HypervisorSpec) -> Result<Built, HypervisorError> {
    if spec.id.is_empty()
        || spec.id.len() > 3
        || !spec
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(HypervisorError::BadId(spec.id.clone()));
    }
    if !apply::netns_exists(&spec.ns) {
        return Err(HypervisorError::NoHostNs(spec.ns.clone()));
    }
    for ns in std::iter::once(&spec.ovs_ns).chain(spec.vms.iter().map(|v| &v.ns)) {
        if apply::netns_exists(ns) {
            return Err(HypervisorError::NsExists(ns.clone()));
        }
    }
    check_name("bridge", &spec.bridge)?;
    for v in &spec.vms {
        check_name("VM port", &v.port)?;
    }
    let slots = vxguard_compiler::wireguard::slots(&spec.config.wireguard);
    let active = vxguard_compiler::wireguard::active(&spec.config.wireguard);
    let routes = slots
        .iter()
        .find(|(n, _)| *n == active)
        .map(|(_, t)| vxguard_compiler::wireguard::allowed_ips(t))
        .unwrap_or_default();
    if routes.is_empty() {
        return Err(HypervisorError::NoAllowedIps);
    }
    let rd = RunDir::create(&spec.run_dir)?;
    let mut rec = Record {
        host_ns: spec.ns.clone(),
        ..Record::default()
    };
    match build_in(spec, &rd, &slots, &active, &routes, &mut rec) {
        Ok(b) => Ok(b),
        Err(e) => {
            if let Err(t) = teardown(&spec.run_dir) {
                tracing::error!(error = %t, "removing a half-built hypervisor");
            }
            Err(e)
        }
    }
}

fn build_in(
    spec: &HypervisorSpec,
    rd: &RunDir,
    slots: &[(String, String)],
    active: &str,
    routes: &[Ipv4Net],
    rec: &mut Record,
) -> Result<Built, HypervisorError> {
    let dir = spec.run_dir.display().to_string();
    let vtep = spec.config.vtep.to_string();
    let wg_devs: Vec<String> = slots
        .iter()
        .map(|(n, _)| format!("{}{n}", spec.id))
        .collect();
    for d in &wg_devs {
        check_name("WireGuard interface", d)?;
    }
    let wg_dev = format!("{}{active}", spec.id);
    let host_link = format!("{}vt", spec.id);
    // Recorded before they exist: a crash in between leaves nothing unknown.
    rec.namespaces.push(spec.ovs_ns.clone());
    rec.namespaces.extend(spec.vms.iter().map(|v| v.ns.clone()));
    rec.host_links.push(host_link.clone());
    rec.wg_devs = wg_devs.clone();
    rec.pidfiles = vec![
        spec.run_dir.join("ovs-vswitchd.pid"),
        spec.run_dir.join("ovsdb-server.pid"),
    ];
    rec.save(&spec.run_dir)?;

    for ns in &rec.namespaces {
        run(&["ip", "netns", "add", ns])?;
        ip(ns, &["link", "set", "lo", "up"])?;
    }
    let o = &spec.ovs_ns;
    sysctl(o, "net.ipv4.conf.all.arp_ignore=1")?;

    // Open vSwitch, everything under run_dir (LAB-NOTES).
    let env = [
        ("OVS_RUNDIR", dir.as_str()),
        ("OVS_DBDIR", dir.as_str()),
        ("OVS_LOGDIR", dir.as_str()),
    ];
    let db = format!("{dir}/conf.db");
    let _ = std::fs::remove_file(&db);
    run_env(
        &[
            "ovsdb-tool",
            "create",
            &db,
            "/usr/share/openvswitch/vswitch.ovsschema",
        ],
        &env,
    )?;
    run_env(
        &[
            "ip",
            "netns",
            "exec",
            o,
            "ovsdb-server",
            &db,
            &format!("--remote=punix:{dir}/db.sock"),
            &format!("--pidfile={dir}/ovsdb-server.pid"),
            &format!("--unixctl={dir}/ovsdb-server.ctl"),
            &format!("--log-file={dir}/ovsdb-server.log"),
            "-vconsole:off",
            "--detach",
        ],
        &env,
    )?;
    let vsctl_db = format!("--db=unix:{dir}/db.sock");
    let vsctl = |args: &[&str]| -> Result<String, ApplyError> {
        let mut a = vec!["ovs-vsctl", vsctl_db.as_str(), "--timeout=10"];
        a.extend_from_slice(args);
        run_env(&a, &env)
    };
    vsctl(&["--no-wait", "init"])?;
    run_env(
        &[
            "ip",
            "netns",
            "exec",
            o,
            "ovs-vswitchd",
            &format!("unix:{dir}/db.sock"),
            &format!("--pidfile={dir}/ovs-vswitchd.pid"),
            &format!("--unixctl={dir}/ovs-vswitchd.ctl"),
            &format!("--log-file={dir}/ovs-vswitchd.log"),
            "-vconsole:off",
            "--detach",
        ],
        &env,
    )?;
    vsctl(&[
        "add-br",
        &spec.bridge,
        "--",
        "set",
        "bridge",
        &spec.bridge,
        "datapath_type=netdev",
        // No flows, no forwarding (standalone would be a learning switch).
        "fail_mode=secure",
        "--",
        "add-br",
        UNDERLAY_BRIDGE,
        "--",
        "set",
        "bridge",
        UNDERLAY_BRIDGE,
        "datapath_type=netdev",
    ])?;
    let mgmt = spec.run_dir.join(format!("{}.mgmt", spec.bridge));
    let t = Instant::now();
    while !mgmt.exists() {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(HypervisorError::OvsStart {
                path: mgmt,
                log: spec.run_dir.join("ovs-vswitchd.log"),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // The underlay side: host veth <-> br-ul, VTEP on br-ul's internal port.
    let h = &spec.ns;
    let _ = ip(h, &["link", "del", &host_link]);
    ip(
        h,
        &[
            "link", "add", &host_link, "type", "veth", "peer", "name", OVS_UPLINK, "netns", o,
        ],
    )?;
    ip(
        h,
        &[
            "addr",
            "add",
            &format!("{LINK_HOST}/{LINK_LEN}"),
            "dev",
            &host_link,
        ],
    )?;
    ip(h, &["link", "set", &host_link, "up"])?;
    ip(o, &["link", "set", OVS_UPLINK, "up"])?;
    vsctl(&["add-port", UNDERLAY_BRIDGE, OVS_UPLINK])?;
    ip(
        o,
        &["addr", "add", &format!("{vtep}/32"), "dev", UNDERLAY_BRIDGE],
    )?;
    ip(
        o,
        &[
            "addr",
            "add",
            &format!("{LINK_OVS}/{LINK_LEN}"),
            "dev",
            UNDERLAY_BRIDGE,
        ],
    )?;
    ip(o, &["link", "set", UNDERLAY_BRIDGE, "up"])?;
    for r in routes {
        ip(
            o,
            &[
                "route",
                "replace",
                &r.to_string(),
                "via",
                LINK_HOST,
                "dev",
                UNDERLAY_BRIDGE,
                "src",
                &vtep,
            ],
        )?;
    }
    vsctl(&[
        "add-port",
        &spec.bridge,
        TUNNEL_PORT,
        "--",
        "set",
        "interface",
        TUNNEL_PORT,
        "type=vxlan",
        "options:remote_ip=flow",
        "options:key=flow",
        &format!("options:local_ip={vtep}"),
    ])?;

    // VMs.
    let mtu = spec.mtu.to_string();
    for v in &spec.vms {
        ip(
            o,
            &[
                "link", "add", &v.port, "type", "veth", "peer", "name", "eth0", "netns", &v.ns,
            ],
        )?;
        ip(o, &["link", "set", &v.port, "mtu", &mtu, "up"])?;
        vsctl(&["add-port", &spec.bridge, &v.port])?;
        ip(
            &v.ns,
            &["addr", "add", &v.address.to_string(), "dev", "eth0"],
        )?;
        ip(&v.ns, &["link", "set", "eth0", "mtu", &mtu, "up"])?;
        ip(
            &v.ns,
            &["route", "add", "default", "via", &v.gateway.to_string()],
        )?;
        // A veth hands TCP and UDP over with the checksum left to the
        // hardware; OVS's userspace datapath never fills it in, so the
        // receiver would drop every segment (ICMP, checksummed by the
        // kernel, still passes). A VM's virtio NIC does this right.
        run(&[
            "ip", "netns", "exec", &v.ns, "ethtool", "-K", "eth0", "tx", "off",
        ])?;
    }

    // WireGuard in the host namespace: both mesh slots, the mesh routed
    // into the active one.
    let wg_mtu = spec.mtu + VXLAN_OVERHEAD;
    for (dev, (_, text)) in wg_devs.iter().zip(slots) {
        start_slot(h, dev, text, wg_mtu, rd)?;
    }
    for r in routes {
        ip(h, &["route", "replace", &r.to_string(), "dev", &wg_dev])?;
    }
    ip(
        h,
        &[
            "route",
            "replace",
            &format!("{vtep}/32"),
            "via",
            LINK_OVS,
            "dev",
            &host_link,
        ],
    )?;
    sysctl(h, "net.ipv4.ip_forward=1")?;
    rec.wg = Some(WgRecord {
        id: spec.id.clone(),
        ovs_ns: spec.ovs_ns.clone(),
        vtep: spec.config.vtep,
        mtu: wg_mtu,
        active: active.to_string(),
        routes: routes.to_vec(),
        digests: slots.iter().map(|(n, t)| (n.clone(), digest(t))).collect(),
    });
    rec.save(&spec.run_dir)?;

    let pid = |f: &str| -> Option<u32> {
        std::fs::read_to_string(spec.run_dir.join(f))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Ok(Built {
        openflow: format!("unix:{}", mgmt.display()),
        wg_dev: wg_dev.clone(),
        pids: ["ovsdb-server.pid".to_string(), "ovs-vswitchd.pid".into()]
            .into_iter()
            .chain(wg_devs.iter().map(|d| format!("{d}.pid")))
            .filter_map(|f| pid(&f))
            .collect(),
        namespaces: rec.namespaces.clone(),
    })
}

/// `wg setconf DEV` with `text` (written 0600 in the run directory for
/// the call, then removed: it holds the private key).
fn setconf(ns: &str, dev: &str, text: &str, rd: &RunDir) -> Result<(), ApplyError> {
    let conf = rd.file(dev, "conf");
    apply::write_private(&conf, text)?;
    let set = run(&[
        "ip",
        "netns",
        "exec",
        ns,
        "wg",
        "setconf",
        dev,
        &conf.to_string_lossy(),
    ]);
    let _ = std::fs::remove_file(&conf);
    set.map(|_| ())
}

/// Starts a slot's wireguard-go, gives it its text and brings it up.
fn start_slot(ns: &str, dev: &str, text: &str, mtu: u16, rd: &RunDir) -> Result<(), ApplyError> {
    apply::start_wireguard_go(ns, dev, rd)?;
    setconf(ns, dev, text, rd)?;
    ip(ns, &["link", "set", dev, "mtu", &mtu.to_string(), "up"])?;
    Ok(())
}

/// What [`apply_wireguard`] changed (slot names: `wg0`, `wg65536`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WgApplied {
    /// Slots whose text changed, set in place with `wg setconf`.
    pub set: Vec<String>,
    /// Slots the section added (an interface started) or dropped.
    pub started: Vec<String>,
    pub removed: Vec<String>,
    /// The active slot before and after, when it moved.
    pub switched: Option<(String, String)>,
}

impl WgApplied {
    pub fn is_empty(&self) -> bool {
        *self == WgApplied::default()
    }
}

/// Applies a later revision's `## wireguard` section (real keys, as
/// [`build`] takes it) to the hypervisor built in `run_dir`, as its host
/// would: each changed slot `wg setconf` in place, a slot started or
/// removed only when the section adds or drops it, then the mesh routed
/// into the (new) active slot. The same section again changes nothing.
pub fn apply_wireguard(run_dir: &Path, section: &str) -> Result<WgApplied, HypervisorError> {
    let record_err = |reason: &str| HypervisorError::Record {
        path: run_dir.join(RECORD),
        reason: reason.into(),
    };
    let mut rec = Record::load(run_dir)?.ok_or_else(|| record_err("no hypervisor built here"))?;
    let mut wg = rec
        .wg
        .clone()
        .ok_or_else(|| record_err("built before its WireGuard was recorded: build it again"))?;
    let slots = vxguard_compiler::wireguard::slots(section);
    let active = vxguard_compiler::wireguard::active(section);
    let routes: Vec<Ipv4Net> = slots
        .iter()
        .find(|(n, _)| *n == active)
        .map(|(_, t)| vxguard_compiler::wireguard::allowed_ips(t))
        .unwrap_or_default();
    if routes.is_empty() {
        return Err(HypervisorError::NoAllowedIps);
    }
    let h = rec.host_ns.clone();
    let rd = RunDir(run_dir.into());
    let dev = |slot: &str| format!("{}{slot}", wg.id);
    let mut done = WgApplied::default();
    // Every slot first holds its text: the one to become active is ready
    // before any route moves into it.
    for (slot, text) in &slots {
        let d = dev(slot);
        check_name("WireGuard interface", &d)?;
        let sum = digest(text);
        match wg.digests.get(slot) {
            Some(old) if *old == sum => continue,
            Some(_) => {
                setconf(&h, &d, text, &rd)?;
                done.set.push(slot.clone());
            }
            None => {
                // Recorded before it exists, as in `build`.
                if !rec.wg_devs.contains(&d) {
                    rec.wg_devs.push(d.clone());
                    rec.save(run_dir)?;
                }
                start_slot(&h, &d, text, wg.mtu, &rd)?;
                done.started.push(slot.clone());
            }
        }
        wg.digests.insert(slot.clone(), sum);
        rec.wg = Some(wg.clone());
        rec.save(run_dir)?;
    }
    let vtep = wg.vtep.to_string();
    let active_dev = dev(&active);
    for r in &routes {
        let known = wg.routes.contains(r);
        let r = r.to_string();
        // Only a new prefix in the OVS namespace: OVS's userspace datapath
        // re-reads the kernel's routes on every route message there, and
        // a tunnel packet meeting the re-read may find no route. With the
        // unchanged routes replaced at every step, `netns_hv_mesh` lost
        // 1-5 pings in 3 runs of 9; without, none in 6.
        if !known {
            ip(
                &wg.ovs_ns,
                &[
                    "route",
                    "replace",
                    &r,
                    "via",
                    LINK_HOST,
                    "dev",
                    UNDERLAY_BRIDGE,
                    "src",
                    &vtep,
                ],
            )?;
        }
        if !known || wg.active != active {
            ip(&h, &["route", "replace", &r, "dev", &active_dev])?;
        }
    }
    for gone in wg.routes.iter().filter(|r| !routes.contains(r)) {
        let gone = gone.to_string();
        let _ = ip(&h, &["route", "del", &gone]);
        let _ = ip(&wg.ovs_ns, &["route", "del", &gone]);
    }
    if wg.active != active {
        done.switched = Some((wg.active.clone(), active.clone()));
    }
    wg.active = active;
    wg.routes = routes;
    let kept: Vec<String> = slots.iter().map(|(n, _)| n.clone()).collect();
    let dropped: Vec<String> = wg
        .digests
        .keys()
        .filter(|s| !kept.contains(s))
        .cloned()
        .collect();
    for slot in dropped {
        apply::remove_wg(&h, &dev(&slot), &rd)?;
        wg.digests.remove(&slot);
        rec.wg_devs.retain(|d| *d != dev(&slot));
        done.removed.push(slot);
    }
    rec.wg = Some(wg);
    rec.save(run_dir)?;
    Ok(done)
}

/// Whether the hypervisor built in `run_dir` is gone: no record, or its
/// host namespace deleted. Its agent then stops: `lab down --prefix`
/// removes a lost lab's namespaces but cannot tell its agents (host
/// processes, outside every namespace) from another lab's.
pub fn gone(run_dir: &Path) -> bool {
    match Record::load(run_dir) {
        Ok(Some(rec)) => !apply::netns_exists(&rec.host_ns),
        Ok(None) => true,
        // Unreadable: kept (the agent reports its errors and tries again).
        Err(_) => false,
    }
}

/// Stops a process by its pid file when it still is `program`.
fn stop(pidfile: &Path, program: &str) {
    let Ok(pid) = std::fs::read_to_string(pidfile) else {
        return;
    };
    let pid = pid.trim();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if program.starts_with(comm.trim()) && !comm.trim().is_empty() {
        let _ = run(&["kill", pid]);
        let t = Instant::now();
        while apply::alive(pid) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = std::fs::remove_file(pidfile);
}

/// Removes everything the record in `run_dir` names: OVS daemons,
/// wireguard-go, the host namespace's links, the namespaces made. Works
/// after a crash (the record is written before anything is made); no
/// record means nothing to remove.
pub fn teardown(run_dir: &Path) -> Result<(), HypervisorError> {
    let path = run_dir.join(RECORD);
    let Some(rec) = Record::load(run_dir)? else {
        return Ok(());
    };
    for p in &rec.pidfiles {
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        stop(p, name);
    }
    for dev in rec.wg_dev.iter().chain(&rec.wg_devs) {
        if apply::netns_exists(&rec.host_ns) {
            apply::remove_wg(&rec.host_ns, dev, &RunDir(run_dir.into()))?;
        } else {
            stop(&run_dir.join(format!("{dev}.pid")), "wireguard-go");
            let _ =
                std::fs::remove_file(Path::new(apply::WG_SOCKET_DIR).join(format!("{dev}.sock")));
        }
    }
    for l in &rec.host_links {
        if apply::netns_exists(&rec.host_ns) {
            let _ = ip(&rec.host_ns, &["link", "del", l]);
        }
    }
    for ns in rec.namespaces.iter().rev() {
        if apply::netns_exists(ns) {
            run(&["ip", "netns", "del", ns])?;
        }
    }
    for f in ["conf.db", "db.sock", "ovsdb-server.ctl", "ovs-vswitchd.ctl"] {
        let _ = std::fs::remove_file(run_dir.join(f));
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An agent stops once its hypervisor's record or host namespace is
    /// gone (`lab down --prefix` of a lab whose state directory is lost).
    #[test]
    fn a_hypervisor_without_record_or_namespace_is_gone() {
        let dir = std::env::temp_dir().join(format!("vxguard-hv-gone-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(gone(&dir), "no record");
        let rec = Record {
            host_ns: format!("vxguard-no-such-ns-{}", std::process::id()),
            ..Record::default()
        };
        rec.save(&dir).unwrap();
        assert!(Record::load(&dir).unwrap().is_some());
        assert!(gone(&dir), "a record whose host namespace does not exist");
        std::fs::write(dir.join(RECORD), "not json").unwrap();
        assert!(!gone(&dir), "an unreadable record is not taken for gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
