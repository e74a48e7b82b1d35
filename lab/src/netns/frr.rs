//! FRR for `protocols bgp`: the configuration text (pure), the daemons
//! (zebra, bgpd, bfdd) in the router's namespace with a path space per
//! router (`-N <router ns>`), and the sessions as `vtysh` reports them.
//!
//! The text follows what VyOS's `bgpd.frr.j2` template renders for the
//! nodes vxguard generates (`system-as`, `parameters router-id`,
//! `neighbor X remote-as/update-source/bfd/address-family l2vpn-evpn`,
//! `address-family l2vpn-evpn advertise-all-vni`): VyOS turns off
//! `bgp default ipv4-unicast` and `ebgp-requires-policy`, and activates a
//! neighbor only in the address families configured for it.
//!
//! `vrf name T vni N` becomes zebra's `vrf T` / ` vni N` block and `vrf
//! name T protocols bgp` a `router bgp ASN vrf T` block with `address-family
//! ipv4 unicast` (`redistribute connected`) and `address-family l2vpn evpn`
//! (`rd`, `advertise ipv4 unicast`, `route-target export/import`), in the
//! order of `bgpd.frr.j2` (read from vyos-1x's sources). Not checked
//! against a VyOS router: `vrf.frr.j2`'s exact zebra text (written from
//! memory of vyos-1x as `vrf T` / ` vni N` / `exit-vrf`), and where VyOS's
//! generated file places the `vrf` blocks relative to `router bgp`.
//!
//! VRFs: zebra runs with the netns VRF backend (`-n`) in a mount
//! namespace of its own (`unshare --mount --propagation private` inside
//! the router's network namespace), whose `/run/netns` is a tmpfs holding
//! the router's VRF namespaces bound under their VyOS names; bgpd and bfdd
//! join that mount namespace (`nsenter`). A VRF namespace made or removed
//! later is bound or unbound there ([`map_vrfs`]); the file on disk also
//! carries each VRF's `netns /run/netns/T` line, which zebra's running
//! configuration shows, so `frr-reload.py` does not remove it.
//!
//! A change of the text is applied with FRR's own `frr-reload.py` (as
//! VyOS applies its FRR changes incrementally), so unchanged sessions
//! stay up. Not realised: every BGP option vxguard does not generate
//! (listed in the plan's `not_realised`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vyos_tree::{ConfigTree, NodeRef};

use super::run::{alive, ApplyError};
use super::types::VrfNs;
use crate::realise::BgpSession;

/// The daemons started per router, in start order.
/// staticd carries `protocols static` (VyOS runs it too).
pub const DAEMONS: [&str; 4] = ["zebra", "bgpd", "bfdd", "staticd"];

/// frr.conf for the router's `protocols bgp`, or `None` without one.
/// Unhandled nodes are pushed to `not_realised`.
pub fn frr_conf(
    tree: &ConfigTree,
    dev: &dyn Fn(&str) -> String,
    not_realised: &mut Vec<String>,
) -> Option<String> {
    let vrfs = vrf_parts(tree, dev, not_realised);
    let Some(bgp) = tree.root().get(&["protocols", "bgp"]) else {
        if vrfs.bgp.is_empty() && !vrfs.zebra.contains(" ip route ") {
            return None;
        }
        return Some(format!("{}{}{}", header(tree), vrfs.zebra, vrfs.bgp));
    };
    for (k, _) in bgp.children() {
        if !matches!(
            k,
            "address-family" | "neighbor" | "parameters" | "system-as"
        ) {
            not_realised.push(format!("protocols bgp {k}"));
        }
    }
    if let Some(af) = bgp.child("address-family") {
        for (k, n) in af.children() {
            if k != "l2vpn-evpn" {
                not_realised.push(format!("protocols bgp address-family {k}"));
                continue;
            }
            for (o, _) in n.children() {
                if o != "advertise-all-vni" {
                    not_realised.push(format!("protocols bgp address-family l2vpn-evpn {o}"));
                }
            }
        }
    }
    if let Some(p) = bgp.child("parameters") {
        for (k, _) in p.children() {
            if k != "router-id" {
                not_realised.push(format!("protocols bgp parameters {k}"));
            }
        }
    }
    let asn = val(bgp, &["system-as"])?;
    let mut s = header(tree);
    s.push_str(&vrfs.zebra);
    s.push_str(&format!("router bgp {asn}\n"));
    s.push_str(BGP_DEFAULTS);
    if let Some(id) = val(bgp, &["parameters", "router-id"]) {
        s.push_str(&format!(" bgp router-id {id}\n"));
    }
    let mut evpn_peers = Vec::new();
    if let Some(ns) = bgp.child("neighbor") {
        for (peer, n) in ns.children() {
            for (k, _) in n.children() {
                if !matches!(k, "address-family" | "bfd" | "remote-as" | "update-source") {
                    not_realised.push(format!("protocols bgp neighbor {peer} {k}"));
                }
            }
            if let Some(ras) = val(n, &["remote-as"]) {
                s.push_str(&format!(" neighbor {peer} remote-as {ras}\n"));
            }
            if let Some(src) = val(n, &["update-source"]) {
                s.push_str(&format!(" neighbor {peer} update-source {src}\n"));
            }
            if n.child("bfd").is_some() {
                s.push_str(&format!(" neighbor {peer} bfd\n"));
            }
            if let Some(af) = n.child("address-family") {
                for (k, _) in af.children() {
                    if k == "l2vpn-evpn" {
                        evpn_peers.push(peer.to_string());
                    } else {
                        not_realised
                            .push(format!("protocols bgp neighbor {peer} address-family {k}"));
                    }
                }
            }
        }
    }
    let all_vni = bgp
        .get(&["address-family", "l2vpn-evpn", "advertise-all-vni"])
        .is_some();
    if all_vni || !evpn_peers.is_empty() {
        s.push_str(" !\n address-family l2vpn evpn\n");
        for p in &evpn_peers {
            s.push_str(&format!("  neighbor {p} activate\n"));
        }
        if all_vni {
            s.push_str("  advertise-all-vni\n");
        }
        s.push_str(" exit-address-family\n");
    }
    s.push_str("exit\n!\n");
    s.push_str(&vrfs.bgp);
    Some(s)
}

/// `conf` with staticd's `ip route` lines before the first `router bgp`
/// block (where VyOS's integrated frr.conf has them), or at the end.
pub fn with_statics(conf: &str, statics: &[String]) -> String {
    let mut block = String::new();
    for l in statics {
        block.push_str(l);
        block.push('\n');
    }
    block.push_str("!\n");
    let mut out = conf.to_string();
    let at = out.find("\nrouter bgp ").map_or(out.len(), |i| i + 1);
    out.insert_str(at, &block);
    out
}

/// What VyOS's template puts first in every `router bgp` block.
const BGP_DEFAULTS: &str =
    " no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n no bgp network import-check\n";

/// The ` ip route P DEV` lines of a VRF's `protocols static` (the
/// interface form only: the one vxguard generates).
fn vrf_static_routes(
    st: NodeRef<'_>,
    path: &str,
    dev: &dyn Fn(&str) -> String,
    not_realised: &mut Vec<String>,
) -> String {
    let mut out = String::new();
    for (k, n) in st.children() {
        if k != "route" {
            not_realised.push(format!("{path} protocols static {k}"));
            continue;
        }
        for (prefix, rn) in n.children() {
            for (what, wn) in rn.children() {
                if what != "interface" {
                    not_realised.push(format!("{path} protocols static route {prefix} {what}"));
                    continue;
                }
                for (ifname, inode) in wn.children() {
                    if inode.children().next().is_some() {
                        not_realised.push(format!(
                            "{path} protocols static route {prefix} interface {ifname} (options)"
                        ));
                    }
                    out.push_str(&format!(" ip route {prefix} {}\n", dev(ifname)));
                }
            }
        }
    }
    out
}

fn val(n: NodeRef<'_>, path: &[&str]) -> Option<String> {
    n.get(path)
        .and_then(|x| x.children().next().map(|(v, _)| v.to_string()))
}

pub(super) fn header(tree: &ConfigTree) -> String {
    let mut s = String::from("frr defaults traditional\n");
    if let Some(h) = tree
        .root()
        .get(&["system", "host-name"])
        .and_then(|n| n.children().next())
    {
        s.push_str(&format!("hostname {}\n", h.0));
    }
    s.push_str("service integrated-vtysh-config\n!\n");
    s
}

/// The per-VRF parts of frr.conf.
struct VrfParts {
    /// `vrf T` / `vni N` (zebra's L3 VNI of the VRF).
    zebra: String,
    /// `router bgp ASN vrf T` blocks.
    bgp: String,
}

/// `vrf name T vni N` and `vrf name T protocols bgp` as VyOS's
/// `vrf.frr.j2` (zebra's `vrf T` / `vni N`) and `bgpd.frr.j2` (`router
/// bgp ASN vrf T`) render the nodes vxguard generates: `system-as`,
/// `address-family ipv4-unicast redistribute connected`, `address-family
/// l2vpn-evpn` `rd`, `advertise ipv4 unicast`, `route-target
/// export/import`. FRR's VRF names are the VyOS names: FRR sees each VRF
/// namespace under that name (see [`apply`]).
fn vrf_parts(
    tree: &ConfigTree,
    dev: &dyn Fn(&str) -> String,
    not_realised: &mut Vec<String>,
) -> VrfParts {
    let mut out = VrfParts {
        zebra: String::new(),
        bgp: String::new(),
    };
    let Some(vrfs) = tree.root().get(&["vrf", "name"]) else {
        return out;
    };
    for (name, v) in vrfs.children() {
        let path = format!("vrf name {name}");
        let mut zebra = String::new();
        if let Some(vni) = val(v, &["vni"]) {
            zebra.push_str(&format!(" vni {vni}\n"));
        }
        // `vrf name V protocols static route P interface I`, as VyOS's
        // `staticd.frr.j2` renders it inside the VRF (a tenant's next
        // client key epoch routes its clients' /32s so: issue 17, item 5).
        if let Some(st) = v.get(&["protocols", "static"]) {
            zebra.push_str(&vrf_static_routes(st, &path, dev, not_realised));
        }
        if !zebra.is_empty() {
            out.zebra
                .push_str(&format!("vrf {name}\n{zebra}exit-vrf\n!\n"));
        }
        let Some(protocols) = v.child("protocols") else {
            continue;
        };
        for (proto, _) in protocols.children() {
            if !matches!(proto, "bgp" | "static") {
                not_realised.push(format!("{path} protocols {proto}"));
            }
        }
        let Some(bgp) = protocols.child("bgp") else {
            continue;
        };
        let path = format!("{path} protocols bgp");
        for (k, _) in bgp.children() {
            if !matches!(k, "address-family" | "system-as") {
                not_realised.push(format!("{path} {k}"));
            }
        }
        let Some(asn) = val(bgp, &["system-as"]) else {
            not_realised.push(path);
            continue;
        };
        let s = &mut out.bgp;
        s.push_str(&format!("router bgp {asn} vrf {name}\n"));
        s.push_str(BGP_DEFAULTS);
        let af = bgp.child("address-family");
        for (k, n) in af.iter().flat_map(|a| a.children()) {
            match k {
                "ipv4-unicast" => {
                    s.push_str(" !\n address-family ipv4 unicast\n");
                    for (o, on) in n.children() {
                        if o != "redistribute" {
                            not_realised.push(format!("{path} address-family {k} {o}"));
                            continue;
                        }
                        for (proto, pn) in on.children() {
                            if proto == "connected" && pn.children().next().is_none() {
                                s.push_str("  redistribute connected\n");
                            } else {
                                not_realised.push(format!(
                                    "{path} address-family {k} redistribute {proto}"
                                ));
                            }
                        }
                    }
                    s.push_str(" exit-address-family\n");
                }
                "l2vpn-evpn" => {
                    s.push_str(" !\n address-family l2vpn evpn\n");
                    if let Some(rd) = val(n, &["rd"]) {
                        s.push_str(&format!("  rd {rd}\n"));
                    }
                    for (o, on) in n.children() {
                        match o {
                            "rd" => {}
                            "advertise" => {
                                for (afi, an) in on.children() {
                                    let plain = an
                                        .children()
                                        .map(|(c, cn)| (c, cn.children().next().is_none()));
                                    if afi == "ipv4" && plain.eq([("unicast", true)]) {
                                        s.push_str("  advertise ipv4 unicast\n");
                                    } else {
                                        not_realised.push(format!(
                                            "{path} address-family {k} advertise {afi}"
                                        ));
                                    }
                                }
                            }
                            "route-target" => {
                                for dir in ["export", "import"] {
                                    for (rt, _) in on.get(&[dir]).iter().flat_map(|d| d.children())
                                    {
                                        s.push_str(&format!("  route-target {dir} {rt}\n"));
                                    }
                                }
                                for (d, _) in on.children() {
                                    if !matches!(d, "export" | "import") {
                                        not_realised.push(format!(
                                            "{path} address-family {k} route-target {d}"
                                        ));
                                    }
                                }
                            }
                            _ => not_realised.push(format!("{path} address-family {k} {o}")),
                        }
                    }
                    s.push_str(" exit-address-family\n");
                }
                _ => not_realised.push(format!("{path} address-family {k}")),
            }
        }
        s.push_str("exit\n!\n");
    }
    out
}

/// Sessions from `show bgp summary json` (all address families; a peer
/// in several counts once, with the first state seen).
pub fn parse_summary(json: &Value) -> Vec<BgpSession> {
    let mut out: Vec<BgpSession> = Vec::new();
    if let Some(afs) = json.as_object() {
        for af in afs.values() {
            if let Some(peers) = af.get("peers").and_then(Value::as_object) {
                for (peer, p) in peers {
                    if out.iter().any(|s| &s.neighbor == peer) {
                        continue;
                    }
                    let state = p.get("state").and_then(Value::as_str).unwrap_or("Unknown");
                    out.push(BgpSession {
                        neighbor: peer.clone(),
                        state: state.into(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.neighbor.cmp(&b.neighbor));
    out
}

/// The path space directory of a router's FRR: sockets, pid files and
/// its frr.conf (owned by `frr`).
pub fn frr_dir(ns: &str) -> PathBuf {
    Path::new("/var/run/frr").join(ns)
}

fn run(cmd: &mut Command) -> Result<String, ApplyError> {
    let text = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ApplyError::Spawn {
            cmd: text.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(ApplyError::Command {
            cmd: text,
            stderr: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn running(dir: &Path, daemon: &str) -> Option<String> {
    let pid = std::fs::read_to_string(dir.join(format!("{daemon}.pid"))).ok()?;
    let pid = pid.trim().to_string();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == daemon).then_some(pid)
}

/// Makes FRR in `ns` run `conf` (or stop, for `None`), seeing the
/// router's VRF namespaces `vrfs` as its VRFs.
pub fn apply(
    ns: &str,
    old: Option<&str>,
    new: Option<&str>,
    vrfs: &[VrfNs],
) -> Result<(), ApplyError> {
    let dir = frr_dir(ns);
    let Some(conf) = new else {
        return stop(ns);
    };
    let all_up = DAEMONS.iter().all(|d| running(&dir, d).is_some());
    if all_up {
        map_vrfs(ns, vrfs)?;
        wait_vrfs(ns, vrfs)?;
    }
    if all_up && old == Some(conf) {
        return Ok(());
    }
    let file = dir.join("frr.conf");
    if all_up {
        write_conf(&dir, &with_netns(conf, vrfs))?;
        run(Command::new("python3").args([
            "/usr/lib/frr/frr-reload.py",
            "--reload",
            "--pathspace",
            ns,
            "--confdir",
            &dir.to_string_lossy(),
            "--rundir",
            &dir.to_string_lossy(),
            &file.to_string_lossy(),
        ]))?;
        return Ok(());
    }
    stop(ns)?;
    std::fs::create_dir_all(&dir).map_err(|source| ApplyError::Io {
        path: dir.clone(),
        source,
    })?;
    run(Command::new("chown").args(["frr:frr", &dir.to_string_lossy()]))?;
    write_conf(&dir, &with_netns(conf, vrfs))?;
    for d in DAEMONS {
        let pid = dir.join(format!("{d}.pid"));
        let args = [
            "-d",
            "-N",
            ns,
            "-u",
            "frr",
            "-g",
            "frr",
            "-i",
            &pid.to_string_lossy(),
            "-f",
            &file.to_string_lossy(),
        ];
        let bin = format!("/usr/lib/frr/{d}");
        if d == "zebra" {
            // zebra makes the mount namespace: a private /run/netns
            // holding only this router's VRFs, under their VyOS names.
            let mut script = String::from("mount -t tmpfs -o mode=755 vxguard-vrfs /run/netns");
            for v in vrfs {
                script.push_str(&format!(" && {}", bind_script(v)));
            }
            script.push_str(" && exec \"$@\"");
            run(Command::new("ip")
                .args(["netns", "exec", ns, "unshare", "--mount", "--propagation"])
                .args(["private", "sh", "-c", &script, "sh", &bin, "-n"])
                .args(args))?;
        } else {
            let zebra = running(&dir, "zebra").ok_or_else(|| ApplyError::Command {
                cmd: format!("/usr/lib/frr/zebra -N {ns}"),
                stderr: "zebra is not running after its start".into(),
            })?;
            run(Command::new("nsenter")
                .arg(format!("--mount=/proc/{zebra}/ns/mnt"))
                .arg(format!("--net=/run/netns/{ns}"))
                .arg(&bin)
                .args(args))?;
        }
    }
    // The daemons answer vtysh once their vty sockets are up.
    let t = Instant::now();
    while run(Command::new("ip").args([
        "netns",
        "exec",
        ns,
        "vtysh",
        "-N",
        ns,
        "-c",
        "show version",
    ]))
    .is_err()
    {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(ApplyError::Command {
                cmd: format!("vtysh -N {ns}"),
                stderr: "FRR did not answer within 10 s".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// `conf` with each VRF's `netns /run/netns/<vrf>` line, as zebra's
/// running configuration shows a VRF it found in `/run/netns`: without
/// it `frr-reload.py` would issue `no netns` and take the VRF down.
/// (Lab only: VyOS uses VRF devices, its frr.conf has no such line.)
pub fn with_netns(conf: &str, vrfs: &[VrfNs]) -> String {
    let mut out = conf.to_string();
    for v in vrfs {
        let line = format!(" netns /run/netns/{}\n", v.vrf);
        let head = format!("vrf {}\n", v.vrf);
        if let Some(i) = out.find(&format!("\n{head}")) {
            out.insert_str(i + 1 + head.len(), &line);
        } else {
            let at = out.find("\nrouter bgp ").map_or(out.len(), |i| i + 1);
            out.insert_str(at, &format!("{head}{line}exit-vrf\n!\n"));
        }
    }
    out
}

/// The shell commands (run in FRR's mount namespace) that make VRF
/// `v`'s namespace appear as `/run/netns/<vyos name>`: a new file, so
/// zebra's watch of the directory sees the VRF come.
fn bind_script(v: &VrfNs) -> String {
    format!(
        "touch /run/netns/{vrf} && mount --bind /proc/{me}/root/run/netns/{ns} /run/netns/{vrf}",
        vrf = v.vrf,
        me = std::process::id(),
        ns = v.netns,
    )
}

/// Waits (at most 5 s) until zebra has taken every VRF namespace bound
/// for it: until then its running configuration lacks the VRF's `netns`
/// line, and `frr-reload.py` would try to add it, which zebra refuses.
fn wait_vrfs(ns: &str, vrfs: &[VrfNs]) -> Result<(), ApplyError> {
    let t = Instant::now();
    loop {
        let out = run(Command::new("ip")
            .args(["netns", "exec", ns, "vtysh", "-N", ns])
            .args(["-c", "show vrf"]))?;
        let active = |v: &VrfNs| {
            out.lines().any(|l| {
                l.starts_with(&format!("vrf {} id ", v.vrf))
                    && l.contains(&format!("netns /run/netns/{}", v.vrf))
            })
        };
        if vrfs.iter().all(active) {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(5) {
            return Err(ApplyError::Command {
                cmd: format!("vtysh -N {ns} -c 'show vrf'"),
                stderr: format!("zebra did not take the VRF namespaces within 5 s: {out}"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The router MAC BGP holds for `prefix` in VRF `vrf` via next hop
/// `next_hop`: the `Rmac:` among that path's extended communities.
pub fn route_rmac(
    ns: &str,
    vrf: &str,
    prefix: &str,
    next_hop: &str,
) -> Result<Option<String>, ApplyError> {
    let out = run(Command::new("ip")
        .args(["netns", "exec", ns, "vtysh", "-N", ns])
        .args([
            "-c",
            &format!("show bgp vrf {vrf} ipv4 unicast {prefix} json"),
        ]))?;
    Ok(parse_rmac(&out, next_hop))
}

fn parse_rmac(json: &str, next_hop: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v["paths"].as_array()?.iter().find_map(|p| {
        let via = p["nexthops"]
            .as_array()?
            .iter()
            .any(|n| n["ip"].as_str() == Some(next_hop));
        if !via {
            return None;
        }
        p["extendedCommunity"]["string"]
            .as_str()?
            .split_whitespace()
            .find_map(|c| c.strip_prefix("Rmac:"))
            .map(str::to_string)
    })
}

/// zebra's L3 VNIs: (VRF, SVI, up) from `show vrf vni`.
pub fn l3vni_states(ns: &str) -> Result<Vec<(String, String, bool)>, ApplyError> {
    let out = run(Command::new("ip")
        .args(["netns", "exec", ns, "vtysh", "-N", ns])
        .args(["-c", "show vrf vni"]))?;
    Ok(parse_vrf_vni(&out))
}

fn parse_vrf_vni(out: &str) -> Vec<(String, String, bool)> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5).then(|| (f[0].to_string(), f[3].to_string(), f[4] == "Up"))
        })
        .collect()
}

/// The namespace identity (nsfs inode) of a namespace file.
fn ns_inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.ino())
}

/// Makes the running FRR's private `/run/netns` hold exactly `vrfs`,
/// each bound to the namespace that exists now (a VRF namespace made
/// again gets a new binding). A VRF going away is unbound first: the
/// binding would keep its namespace, and the VXLAN in it, alive.
pub fn map_vrfs(ns: &str, vrfs: &[VrfNs]) -> Result<(), ApplyError> {
    let Some(zebra) = running(&frr_dir(ns), "zebra") else {
        return Ok(());
    };
    let inside = PathBuf::from(format!("/proc/{zebra}/root/run/netns"));
    let have: Vec<String> = std::fs::read_dir(&inside)
        .map_err(|source| ApplyError::Io {
            path: inside.clone(),
            source,
        })?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let mut script = Vec::new();
    for h in &have {
        let want = vrfs.iter().find(|v| &v.vrf == h);
        let current = want.is_some_and(|v| {
            let host = Path::new("/run/netns").join(&v.netns);
            ns_inode(&host).is_some() && ns_inode(&host) == ns_inode(&inside.join(h))
        });
        if !current {
            script.push(format!(
                "{{ umount -l /run/netns/{h} 2>/dev/null; rm -f /run/netns/{h}; }}"
            ));
        }
    }
    for v in vrfs {
        let host = Path::new("/run/netns").join(&v.netns);
        let bound = ns_inode(&host).is_some() && ns_inode(&host) == ns_inode(&inside.join(&v.vrf));
        if !bound && host.exists() {
            script.push(bind_script(v));
        }
    }
    if script.is_empty() {
        return Ok(());
    }
    run(Command::new("nsenter")
        .arg(format!("--mount=/proc/{zebra}/ns/mnt"))
        .args(["sh", "-c", &script.join(" && ")]))?;
    Ok(())
}

fn write_conf(dir: &Path, conf: &str) -> Result<(), ApplyError> {
    let file = dir.join("frr.conf");
    std::fs::write(&file, conf).map_err(|source| ApplyError::Io {
        path: file.clone(),
        source,
    })?;
    run(Command::new("chown").args(["frr:frr", &file.to_string_lossy()]))?;
    Ok(())
}

/// Stops the daemons by their pid files (checking each pid is still that
/// daemon) and removes the path space directory.
pub fn stop(ns: &str) -> Result<(), ApplyError> {
    let dir = frr_dir(ns);
    let pids: Vec<String> = DAEMONS.iter().filter_map(|d| running(&dir, d)).collect();
    for pid in &pids {
        let _ = run(Command::new("kill").arg(pid));
    }
    let t = Instant::now();
    while pids.iter().any(|p| alive(p)) {
        if t.elapsed() > Duration::from_secs(3) {
            for pid in pids.iter().filter(|p| alive(p)) {
                tracing::warn!(pid, "FRR daemon ignored SIGTERM for 3 s: killing it");
                let _ = run(Command::new("kill").args(["-KILL", pid]));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| ApplyError::Io { path: dir, source })?;
    }
    Ok(())
}

/// The sessions FRR in `ns` reports now.
pub fn sessions(ns: &str) -> Result<Vec<BgpSession>, ApplyError> {
    let out = run(Command::new("ip").args([
        "netns",
        "exec",
        ns,
        "vtysh",
        "-N",
        ns,
        "-c",
        "show bgp summary json",
    ]))?;
    let json: Value = serde_json::from_str(&out).map_err(|e| ApplyError::Command {
        cmd: "show bgp summary json".into(),
        stderr: format!("not JSON: {e}"),
    })?;
    Ok(parse_summary(&json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyos_tree::NoSchema;

    #[test]
    fn the_router_mac_is_read_from_the_path_via_the_next_hop() {
        let json = r#"{"prefix":"100.64.1.16/28","paths":[
            {"extendedCommunity":{"string":"RT:65000:2 ET:8 Rmac:02:40:72:23:dd:f8"},
             "nexthops":[{"ip":"172.27.0.4"}]},
            {"extendedCommunity":{"string":"RT:65000:2 ET:8 Rmac:02:dd:37:87:06:69"},
             "nexthops":[{"ip":"172.27.0.3"}]}]}"#;
        assert_eq!(
            parse_rmac(json, "172.27.0.3").as_deref(),
            Some("02:dd:37:87:06:69")
        );
        assert_eq!(
            parse_rmac(json, "172.27.0.4").as_deref(),
            Some("02:40:72:23:dd:f8")
        );
        assert_eq!(parse_rmac(json, "172.27.0.9"), None);
        assert_eq!(parse_rmac("% no such route", "172.27.0.3"), None);
    }

    /// Issue 17, item 5: a tenant's next client key epoch routes its
    /// clients' /32s into its interface inside the tenant's VRF.
    #[test]
    fn renders_a_vrfs_static_routes_inside_it() {
        let t = ConfigTree::parse_set(
            "set vrf name acme table '101'\n\
             set vrf name acme vni '9000001'\n\
             set vrf name acme protocols static route 100.64.0.3/32 interface wg60001\n\
             set vrf name acme protocols bgp system-as '65000'\n",
            &NoSchema,
        )
        .unwrap();
        let mut nr = Vec::new();
        let conf = frr_conf(&t, &|d: &str| format!("l1{d}"), &mut nr).unwrap();
        assert!(nr.is_empty(), "{nr:?}");
        assert!(
            conf.contains("vrf acme\n vni 9000001\n ip route 100.64.0.3/32 l1wg60001\nexit-vrf\n"),
            "{conf}"
        );
        // Any other form is listed as not realised.
        let t = ConfigTree::parse_set(
            "set vrf name acme protocols static route 10.0.0.0/8 blackhole\n",
            &NoSchema,
        )
        .unwrap();
        let mut nr = Vec::new();
        frr_conf(&t, &|d: &str| d.to_string(), &mut nr);
        assert_eq!(
            nr,
            ["vrf name acme protocols static route 10.0.0.0/8 blackhole"]
        );
    }

    #[test]
    fn renders_vyos_bgp_evpn_as_frr_text() {
        let t = ConfigTree::parse_set(include_str!("testdata/vyos-dc1-01.set"), &NoSchema).unwrap();
        let mut nr = Vec::new();
        let conf = frr_conf(&t, &|d: &str| d.to_string(), &mut nr).unwrap();
        assert!(nr.is_empty(), "{nr:?}");
        let (zebra, rest) = conf.split_at(conf.find("router bgp 65000\n").unwrap());
        assert_eq!(
            zebra,
            "frr defaults traditional\nhostname vyos-dc1-01\nservice integrated-vtysh-config\n!\n\
             vrf acme\n vni 9000001\nexit-vrf\n!\nvrf finance\n vni 9000002\nexit-vrf\n!\n\
             vrf globex\n vni 9000003\nexit-vrf\n!\n"
        );
        let (global, vrfs) = rest.split_at(rest.find("router bgp 65000 vrf").unwrap());
        assert_eq!(
            vrfs.matches("router bgp 65000 vrf ").count(),
            3,
            "acme, finance, globex"
        );
        assert!(vrfs.contains(
            "router bgp 65000 vrf finance\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n \
             no bgp network import-check\n !\n address-family ipv4 unicast\n  redistribute connected\n \
             exit-address-family\n !\n address-family l2vpn evpn\n  rd 172.27.0.1:2\n  \
             advertise ipv4 unicast\n  route-target export 65000:2\n  route-target import 65000:2\n \
             exit-address-family\nexit\n!\n"
        ));
        assert_eq!(
            global,
            "router bgp 65000\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n \
             no bgp network import-check\n bgp router-id 172.27.0.1\n\
             \x20neighbor 172.27.0.2 remote-as internal\n neighbor 172.27.0.2 update-source 172.27.0.1\n neighbor 172.27.0.2 bfd\n\
             \x20neighbor 172.27.0.3 remote-as internal\n neighbor 172.27.0.3 update-source 172.27.0.1\n neighbor 172.27.0.3 bfd\n\
             \x20neighbor 172.27.0.4 remote-as internal\n neighbor 172.27.0.4 update-source 172.27.0.1\n neighbor 172.27.0.4 bfd\n\
             \x20!\n address-family l2vpn evpn\n  neighbor 172.27.0.2 activate\n  neighbor 172.27.0.3 activate\n  \
             neighbor 172.27.0.4 activate\n  advertise-all-vni\n exit-address-family\nexit\n!\n"
        );
    }

    #[test]
    fn vrf_bgp_options_not_generated_are_listed_and_netns_lines_added() {
        let t = ConfigTree::parse_set(
            "set vrf name blue vni '9'\n\
             set vrf name blue protocols bgp system-as '65000'\n\
             set vrf name blue protocols bgp address-family ipv4-unicast redistribute static\n\
             set vrf name blue protocols bgp address-family l2vpn-evpn advertise ipv6 unicast\n\
             set vrf name blue protocols ospf area 0\n\
             set vrf name red table '7'\n",
            &NoSchema,
        )
        .unwrap();
        let mut nr = Vec::new();
        let conf = frr_conf(&t, &|d: &str| d.to_string(), &mut nr).unwrap();
        assert!(conf.contains("vrf blue\n vni 9\nexit-vrf\n"));
        assert!(conf.contains("router bgp 65000 vrf blue\n"));
        assert!(!conf.contains("redistribute") && !conf.contains("advertise"));
        assert_eq!(
            nr,
            vec![
                "vrf name blue protocols ospf",
                "vrf name blue protocols bgp address-family ipv4-unicast redistribute static",
                "vrf name blue protocols bgp address-family l2vpn-evpn advertise ipv6",
            ]
        );
        let vrf = |n: &str| VrfNs {
            vrf: n.into(),
            netns: format!("r-{n}"),
            table: None,
            vni: None,
        };
        let disk = with_netns(&conf, &[vrf("blue"), vrf("red")]);
        assert!(disk.contains("vrf blue\n netns /run/netns/blue\n vni 9\nexit-vrf\n"));
        assert!(
            disk.contains("vrf red\n netns /run/netns/red\nexit-vrf\n!\nrouter bgp 65000 vrf blue")
        );
    }

    #[test]
    fn no_bgp_no_frr_and_unknown_options_are_listed() {
        let mut nr = Vec::new();
        assert_eq!(
            frr_conf(&ConfigTree::new(), &|d: &str| d.to_string(), &mut nr),
            None
        );
        let t = ConfigTree::parse_set(
            "set protocols bgp system-as '65000'\n\
             set protocols bgp neighbor 10.0.0.1 remote-as '65001'\n\
             set protocols bgp neighbor 10.0.0.1 password 'x'\n\
             set protocols bgp address-family ipv4-unicast network '10.0.0.0/8'\n",
            &NoSchema,
        )
        .unwrap();
        let conf = frr_conf(&t, &|d: &str| d.to_string(), &mut nr).unwrap();
        assert!(conf.contains(" neighbor 10.0.0.1 remote-as 65001\n"));
        assert!(!conf.contains("l2vpn"));
        assert_eq!(
            nr,
            vec![
                "protocols bgp address-family ipv4-unicast",
                "protocols bgp neighbor 10.0.0.1 password",
            ]
        );
    }

    #[test]
    fn parses_l3vni_states() {
        let out = "VRF                                   VNI        VxLAN IF             L3-SVI               State Rmac              \n\
                   blue                                  9000101    q1vxlan9000101       q1br9000101          Up    26:98:f9:ad:2a:05 \n\
                   red                                   9000102    q1vxlan9000102       None                 Down  None              \n";
        assert_eq!(
            parse_vrf_vni(out),
            vec![
                ("blue".into(), "q1br9000101".into(), true),
                ("red".into(), "None".into(), false)
            ]
        );
    }

    #[test]
    fn parses_sessions_from_the_summary() {
        let j: Value = serde_json::from_str(
            r#"{"l2VpnEvpn":{"routerId":"172.27.0.1","peers":{
                 "172.27.0.3":{"state":"Active","pfxRcd":0},
                 "172.27.0.2":{"state":"Established","pfxRcd":4}}},
               "ipv4Unicast":{"peers":{"172.27.0.2":{"state":"Established"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            parse_summary(&j),
            vec![
                BgpSession {
                    neighbor: "172.27.0.2".into(),
                    state: "Established".into()
                },
                BgpSession {
                    neighbor: "172.27.0.3".into(),
                    state: "Active".into()
                },
            ]
        );
        assert!(parse_summary(&serde_json::json!({})).is_empty());
    }
}
