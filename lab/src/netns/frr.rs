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
//! A change of the text is applied with FRR's own `frr-reload.py` (as
//! VyOS applies its FRR changes incrementally), so unchanged sessions
//! stay up. Not realised: `vrf name T protocols bgp` (type-5 routes and
//! the L3 VNI need FRR to see the VRF; with VRFs as namespaces that is
//! FRR's netns VRF backend, not done yet), and every BGP option vxguard
//! does not generate (listed in the plan's `not_realised`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vyos_tree::{ConfigTree, NodeRef};

use super::apply::ApplyError;
use crate::realise::BgpSession;

/// The daemons started per router, in start order.
pub const DAEMONS: [&str; 3] = ["zebra", "bgpd", "bfdd"];

/// frr.conf for the router's `protocols bgp`, or `None` without one.
/// Unhandled nodes are pushed to `not_realised`.
pub fn frr_conf(tree: &ConfigTree, not_realised: &mut Vec<String>) -> Option<String> {
    let bgp = tree.root().get(&["protocols", "bgp"])?;
    let val = |n: NodeRef<'_>, path: &[&str]| -> Option<String> {
        n.get(path)
            .and_then(|x| x.children().next().map(|(v, _)| v.to_string()))
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
    let mut s = String::from("frr defaults traditional\n");
    if let Some(h) = tree
        .root()
        .get(&["system", "host-name"])
        .and_then(|n| n.children().next())
    {
        s.push_str(&format!("hostname {}\n", h.0));
    }
    s.push_str("service integrated-vtysh-config\n!\n");
    s.push_str(&format!("router bgp {asn}\n"));
    s.push_str(" no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n no bgp network import-check\n");
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
    Some(s)
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

/// Makes FRR in `ns` run `conf` (or stop, for `None`).
pub fn apply(ns: &str, old: Option<&str>, new: Option<&str>) -> Result<(), ApplyError> {
    let dir = frr_dir(ns);
    let Some(conf) = new else {
        return stop(ns);
    };
    let all_up = DAEMONS.iter().all(|d| running(&dir, d).is_some());
    if all_up && old == Some(conf) {
        return Ok(());
    }
    let file = dir.join("frr.conf");
    if all_up {
        write_conf(&dir, conf)?;
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
    write_conf(&dir, conf)?;
    for d in DAEMONS {
        let pid = dir.join(format!("{d}.pid"));
        run(Command::new("ip").args([
            "netns",
            "exec",
            ns,
            &format!("/usr/lib/frr/{d}"),
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
        ]))?;
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
    while pids.iter().any(|p| super::apply::alive(p)) {
        if t.elapsed() > Duration::from_secs(3) {
            for pid in pids.iter().filter(|p| super::apply::alive(p)) {
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
    fn renders_vyos_bgp_evpn_as_frr_text() {
        let t = ConfigTree::parse_set(include_str!("testdata/vyos-dc1-01.set"), &NoSchema).unwrap();
        let mut nr = Vec::new();
        let conf = frr_conf(&t, &mut nr).unwrap();
        assert!(nr.is_empty(), "{nr:?}");
        assert_eq!(
            conf,
            "frr defaults traditional\nhostname vyos-dc1-01\nservice integrated-vtysh-config\n!\n\
             router bgp 65000\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n \
             no bgp network import-check\n bgp router-id 172.27.0.1\n\
             \x20neighbor 172.27.0.2 remote-as internal\n neighbor 172.27.0.2 update-source 172.27.0.1\n neighbor 172.27.0.2 bfd\n\
             \x20neighbor 172.27.0.3 remote-as internal\n neighbor 172.27.0.3 update-source 172.27.0.1\n neighbor 172.27.0.3 bfd\n\
             \x20neighbor 172.27.0.4 remote-as internal\n neighbor 172.27.0.4 update-source 172.27.0.1\n neighbor 172.27.0.4 bfd\n\
             \x20!\n address-family l2vpn evpn\n  neighbor 172.27.0.2 activate\n  neighbor 172.27.0.3 activate\n  \
             neighbor 172.27.0.4 activate\n  advertise-all-vni\n exit-address-family\nexit\n!\n"
        );
    }

    #[test]
    fn no_bgp_no_frr_and_unknown_options_are_listed() {
        let mut nr = Vec::new();
        assert_eq!(frr_conf(&ConfigTree::new(), &mut nr), None);
        let t = ConfigTree::parse_set(
            "set protocols bgp system-as '65000'\n\
             set protocols bgp neighbor 10.0.0.1 remote-as '65001'\n\
             set protocols bgp neighbor 10.0.0.1 password 'x'\n\
             set protocols bgp address-family ipv4-unicast network '10.0.0.0/8'\n",
            &NoSchema,
        )
        .unwrap();
        let conf = frr_conf(&t, &mut nr).unwrap();
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
