//! `high-availability vrrp group`: keepalived.conf text (pure) per
//! namespace, and keepalived itself, one process per namespace that holds
//! a group's interface (a VRF's namespace for a bridge in a VRF: the
//! group runs on the bridge's layer-3 veth there).
//!
//! The text follows VyOS's `keepalived.conf.j2` for the nodes vxguard
//! generates (`interface`, `vrid`, `priority` default 100, `address`,
//! `advertise-interval` default 1, `preempt-delay`, `no-preempt`,
//! `description`, `track interface`): every instance starts as `state
//! BACKUP` and the
//! election decides. Not emitted: VyOS's notify FIFO and its transition
//! scripts (`/usr/libexec/vyos/...` does not exist here), and every group
//! option vxguard does not generate (listed in `not_realised`). A change
//! is a `SIGHUP` reload, as VyOS's `systemctl reload-or-restart`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vyos_tree::ConfigTree;

use super::run::{alive, ApplyError, RunDir};
pub use super::types::Keepalived;
use super::types::{Plan, PlanError};

/// Groups by namespace, in the order of the namespaces' first group.
/// `plan` must already hold the interfaces.
pub fn keepalived(
    tree: &ConfigTree,
    plan: &Plan,
    not_realised: &mut Vec<String>,
) -> Result<Vec<Keepalived>, PlanError> {
    let Some(vrrp) = tree.root().get(&["high-availability", "vrrp"]) else {
        return Ok(Vec::new());
    };
    if let Some(ha) = tree.root().get(&["high-availability"]) {
        for (k, _) in ha.children() {
            if k != "vrrp" {
                not_realised.push(format!("high-availability {k}"));
            }
        }
    }
    for (k, _) in vrrp.children() {
        if k != "group" {
            not_realised.push(format!("high-availability vrrp {k}"));
        }
    }
    let mut out: Vec<Keepalived> = Vec::new();
    let Some(groups) = vrrp.child("group") else {
        return Ok(out);
    };
    for (name, g) in groups.children() {
        let path = format!("high-availability vrrp group {name}");
        let val = |k: &str| {
            g.child(k)
                .and_then(|n| n.children().next().map(|(v, _)| v.to_string()))
        };
        for (k, _) in g.children() {
            if !matches!(
                k,
                "address"
                    | "advertise-interval"
                    | "description"
                    | "interface"
                    | "no-preempt"
                    | "preempt-delay"
                    | "priority"
                    | "track"
                    | "vrid"
            ) {
                not_realised.push(format!("{path} {k}"));
            }
        }
        if let Some(t) = g.child("track") {
            for (k, _) in t.children() {
                if k != "interface" {
                    not_realised.push(format!("{path} track {k}"));
                }
            }
        }
        let invalid = |reason: &str| PlanError::Invalid {
            path: path.clone(),
            reason: reason.into(),
        };
        let iface = val("interface").ok_or_else(|| invalid("interface is required"))?;
        let vrid = val("vrid").ok_or_else(|| invalid("vrid is required"))?;
        let (netns, dev) = locate(plan, &iface).ok_or_else(|| PlanError::Invalid {
            path: format!("{path} interface"),
            reason: format!("{iface:?} is not an interface this router has"),
        })?;
        let mut s = format!("vrrp_instance {name} {{\n");
        if let Some(d) = val("description") {
            s.push_str(&format!("    # {d}\n"));
        }
        s.push_str(&format!(
            "    state BACKUP\n    interface {dev}\n    virtual_router_id {vrid}\n    priority {}\n    advert_int {}\n",
            val("priority").unwrap_or_else(|| "100".into()),
            val("advertise-interval").unwrap_or_else(|| "1".into()),
        ));
        if g.child("no-preempt").is_some() {
            s.push_str("    nopreempt\n");
        } else if let Some(d) = val("preempt-delay") {
            s.push_str(&format!("    preempt_delay {d}\n"));
        }
        let tracked: Vec<String> = g
            .get(&["track", "interface"])
            .map(|t| t.children().map(|(i, _)| i.to_string()).collect())
            .unwrap_or_default();
        let (same_ns, other_ns): (Vec<_>, Vec<_>) = tracked
            .iter()
            .map(|i| locate(plan, i).unwrap_or_else(|| (plan.router_ns.clone(), i.clone())))
            .partition(|(ns, _)| *ns == netns);
        if !same_ns.is_empty() {
            s.push_str("    track_interface {\n");
            for (_, dev) in &same_ns {
                s.push_str(&format!("        {dev}\n"));
            }
            s.push_str("    }\n");
        }
        // keepalived sees only its own namespace's links: an interface of
        // another one (the underlay, in the router's namespace) is tracked
        // as a file its carrier is written to on each of its link events
        // (`super::carrier`): FAULT when the carrier goes, as VyOS's
        // `track_interface` (keepalived.conf.j2), and never because the
        // machine is busy (an exec'd check that times out would be).
        let mut defs = String::new();
        let mut carriers = Vec::new();
        if !other_ns.is_empty() {
            s.push_str("    track_file {\n");
            for (ns, dev) in &other_ns {
                let file = super::carrier::file_name(&netns, ns, dev);
                let track = format!("vxg_carrier_{ns}_{dev}");
                s.push_str(&format!("        {track} weight 0\n"));
                defs.push_str(&format!(
                    "track_file {track} {{\n    file \"{}/{file}\"\n    weight 0\n}}\n",
                    super::carrier::RUN_DIR
                ));
                carriers.push((file, ns.clone(), dev.clone()));
            }
            s.push_str("    }\n");
        }
        if let Some(addrs) = g.child("address") {
            s.push_str("    virtual_ipaddress {\n");
            for (a, _) in addrs.children() {
                s.push_str(&format!("        {a}\n"));
            }
            s.push_str("    }\n");
        }
        s.push_str("}\n");
        // A tracked file is defined once per keepalived, before its first
        // group.
        match out.iter_mut().find(|k| k.netns == netns) {
            Some(k) => {
                for ((file, ns, dev), def) in carriers.into_iter().zip(defs.split_inclusive("}\n"))
                {
                    if !k.carriers.iter().any(|c| c.0 == file) {
                        k.conf.push_str(def);
                        k.carriers.push((file, ns, dev));
                    }
                }
                k.conf.push_str(&s);
            }
            None => out.push(Keepalived {
                netns,
                conf: format!(
                    "global_defs {{\n    dynamic_interfaces\n    script_user root\n}}\n{defs}{s}"
                ),
                carriers,
            }),
        }
    }
    Ok(out)
}

/// The namespace and Linux name where a VyOS interface's layer 3 lives.
fn locate(plan: &Plan, vyos: &str) -> Option<(String, String)> {
    if let Some(b) = plan.bridges.iter().find(|b| b.vyos == vyos) {
        return Some(match &b.l3 {
            Some(l3) => (l3.netns.clone(), l3.dev.clone()),
            // In the router namespace, or an L3 VNI's bridge in its VRF's.
            None => (plan.netns_of(&b.place), b.dev.clone()),
        });
    }
    if let Some(w) = plan.wireguard.iter().find(|w| w.vyos == vyos) {
        return Some((plan.netns_of(&w.place), w.dev.clone()));
    }
    plan.vxlans
        .iter()
        .find(|v| v.vyos == vyos)
        .map(|v| (plan.netns_of(&v.place), v.dev.clone()))
}

/// keepalived's configuration, pid and VRRP child's pid files.
pub(crate) fn files(rd: &RunDir, netns: &str) -> [std::path::PathBuf; 3] {
    ["conf", "pid", "vrrp.pid"].map(|e| rd.0.join(format!("keepalived-{netns}.{e}")))
}

fn pid_of(file: &Path) -> Option<String> {
    let pid = std::fs::read_to_string(file).ok()?.trim().to_string();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "keepalived").then_some(pid)
}

fn run(args: &[&str]) -> Result<(), ApplyError> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ApplyError::Spawn {
            cmd: args.join(" "),
            source,
        })?;
    if !out.status.success() {
        return Err(ApplyError::Command {
            cmd: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(())
}

/// Stops the keepalived of `netns` (by its pid file, checked).
pub fn stop(rd: &RunDir, netns: &str) {
    let [conf, pid, vpid] = files(rd, netns);
    if let Some(p) = pid_of(&pid) {
        let _ = run(&["kill", &p]);
        let t = Instant::now();
        while alive(&p) && t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for f in [conf, pid, vpid] {
        let _ = std::fs::remove_file(f);
    }
    super::carrier::unwatch(rd, &carrier_prefix(netns), &[]);
}

/// The start of the carrier files' names of the keepalived of `netns`.
fn carrier_prefix(netns: &str) -> String {
    format!("keepalived-{netns}.carrier-")
}

/// Makes keepalived run `new`, where it ran `old`.
pub fn apply(old: &[Keepalived], new: &[Keepalived], rd: &RunDir) -> Result<(), ApplyError> {
    for k in old {
        if !new.iter().any(|n| n.netns == k.netns) {
            stop(rd, &k.netns);
        }
    }
    for k in new {
        let [conf, pid, vpid] = files(rd, &k.netns);
        // The tracked carriers' files, current before keepalived reads
        // them (and watched again by a lab router started anew).
        for (file, ns, dev) in &k.carriers {
            super::carrier::watch(rd, file, ns, dev)?;
        }
        let keep: Vec<String> = k.carriers.iter().map(|c| c.0.clone()).collect();
        super::carrier::unwatch(rd, &carrier_prefix(&k.netns), &keep);
        let running = pid_of(&pid);
        if running.is_some() && old.contains(k) {
            continue;
        }
        let text = k
            .conf
            .replace(super::carrier::RUN_DIR, &rd.0.to_string_lossy());
        std::fs::write(&conf, text).map_err(|source| ApplyError::Io {
            path: conf.clone(),
            source,
        })?;
        match running {
            Some(p) => run(&["kill", "-HUP", &p])?,
            None => {
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    &k.netns,
                    "keepalived",
                    "--vrrp",
                    "-f",
                    &conf.to_string_lossy(),
                    "-p",
                    &pid.to_string_lossy(),
                    "-r",
                    &vpid.to_string_lossy(),
                ])?;
                let t = Instant::now();
                while pid_of(&pid).is_none() {
                    if t.elapsed() > Duration::from_secs(5) {
                        return Err(ApplyError::Command {
                            cmd: format!("keepalived in {}", k.netns),
                            stderr: "did not start within 5 s".into(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyos_tree::NoSchema;

    #[test]
    fn groups_run_where_their_interface_has_layer_3() {
        let t = ConfigTree::parse_set(include_str!("testdata/vyos-dc1-01.set"), &NoSchema).unwrap();
        let p = super::super::plan::plan(&t, "lab1", "a1").unwrap();
        assert_eq!(
            p.keepalived
                .iter()
                .map(|k| k.netns.as_str())
                .collect::<Vec<_>>(),
            vec!["lab1-acme", "lab1-finance", "lab1-globex"]
        );
        assert_eq!(
            p.keepalived[0].carriers,
            vec![(
                "keepalived-lab1-acme.carrier-lab1-eth0".to_string(),
                "lab1".to_string(),
                "eth0".to_string()
            )]
        );
        assert_eq!(
            p.keepalived[0].conf,
            "global_defs {\n    dynamic_interfaces\n    script_user root\n}\n\
             track_file vxg_carrier_lab1_eth0 {\n    \
             file \"@RUN_DIR@/keepalived-lab1-acme.carrier-lab1-eth0\"\n    weight 0\n}\n\
             vrrp_instance acme-app {\n    state BACKUP\n    interface a1br10000\n    \
             virtual_router_id 1\n    priority 200\n    advert_int 1\n    \
             preempt_delay 5\n    track_file {\n        vxg_carrier_lab1_eth0 weight 0\n    }\n    \
             virtual_ipaddress {\n        100.65.0.1/24\n    }\n}\n"
        );
    }

    #[test]
    fn an_unknown_interface_is_refused_and_options_listed() {
        let cfg = |h: &str| {
            let text = format!(
                "set interfaces bridge br1 address '10.0.0.2/24'\n\
                 set high-availability vrrp group g interface 'br1'\n\
                 set high-availability vrrp group g vrid '7'\n\
                 set high-availability vrrp group g no-preempt\n\
                 set high-availability vrrp group g rfc3768-compatibility\n\
                 set high-availability vrrp group h interface '{h}'\n\
                 set high-availability vrrp group h vrid '8'\n"
            );
            ConfigTree::parse_set(&text, &NoSchema).unwrap()
        };
        let e = super::super::plan::plan(&cfg("eth9"), "n", "r1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "high-availability vrrp group h interface: \"eth9\" is not an interface this router has"
        );
        let ok = cfg("br1");
        let p = super::super::plan::plan(&ok, "n", "r1").unwrap();
        assert_eq!(p.keepalived.len(), 1, "one keepalived per namespace");
        assert!(p.keepalived[0].conf.contains("    nopreempt\n"));
        assert!(p.keepalived[0].conf.contains("virtual_router_id 8"));
        assert_eq!(
            p.not_realised,
            vec!["high-availability vrrp group g rfc3768-compatibility"]
        );
    }
}
