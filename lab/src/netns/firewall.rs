//! `firewall ipv4` as an nftables ruleset (pure), loaded into every
//! namespace of the router.
//!
//! Semantics kept from VyOS 1.4+ (vyos-1x `firewall.py`, `nftables.j2`,
//! `vyos/firewall.py` `parse_rule`): table `ip vyos_filter`; base chains
//! `VYOS_FORWARD_filter`/`VYOS_INPUT_filter`/`VYOS_OUTPUT_filter` at the
//! filter hooks with their `default-action` (default accept) as the last
//! rule; `firewall ipv4 name N` as chain `NAME_N` ending in its
//! `default-action` (default drop); rules in numeric order; network groups
//! as interval sets `N_<group>`, interface groups as sets `I_<group>` of
//! Linux interface names; `!` negates an address, group or port list;
//! ports as `tcp`/`udp dport`, or `th dport` for `tcp_udp`; `state` as
//! `ct state`; actions accept, drop, reject, return, continue, jump.
//!
//! Where it runs: a tenant VRF is a namespace here, with its own
//! netfilter, whereas VyOS has one netfilter for all VRFs. The whole
//! ruleset goes into every namespace (router and VRFs); a rule matching
//! interfaces (vxguard's rules match `outbound-interface group`) can only
//! match in the namespace holding those interfaces, so a packet meets the
//! same rules as on VyOS. Traffic bridged inside one network is not
//! routed and meets no rule, as on VyOS without a bridge firewall.
//! Not emulated: logging, counters' values, every option vxguard does not
//! generate (listed in `not_realised`), IPv6.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use vyos_tree::{ConfigTree, NodeRef};

use super::run::{in_ns, ApplyError, RunDir};
use super::types::PlanError;

/// The ruleset for `firewall ipv4`, or `None` without one. `dev` maps a
/// VyOS interface name to its Linux name.
pub fn ruleset(
    tree: &ConfigTree,
    dev: &dyn Fn(&str) -> String,
    not_realised: &mut Vec<String>,
) -> Result<Option<String>, PlanError> {
    let Some(fw) = tree.root().get(&["firewall"]) else {
        return Ok(None);
    };
    for (k, _) in fw.children() {
        if !matches!(k, "group" | "ipv4") {
            not_realised.push(format!("firewall {k}"));
        }
    }
    let mut s = String::from("table ip vyos_filter {\n");
    if let Some(g) = fw.child("group") {
        for (kind, groups) in g.children() {
            let (prefix, ty, leaf) = match kind {
                "network-group" => ("N", "ipv4_addr; flags interval; auto-merge", "network"),
                "address-group" => ("A", "ipv4_addr; flags interval; auto-merge", "address"),
                "interface-group" => ("I", "ifname", "interface"),
                other => {
                    not_realised.push(format!("firewall group {other}"));
                    continue;
                }
            };
            for (name, n) in groups.children() {
                let mut elems: Vec<String> = n
                    .child(leaf)
                    .map(|v| v.children().map(|(e, _)| e.to_string()).collect())
                    .unwrap_or_default();
                if kind == "interface-group" {
                    elems = elems.iter().map(|e| format!("\"{}\"", dev(e))).collect();
                }
                s.push_str(&format!("    set {prefix}_{name} {{\n        type {ty}\n"));
                if !elems.is_empty() {
                    s.push_str(&format!("        elements = {{ {} }}\n", elems.join(", ")));
                }
                s.push_str("    }\n");
            }
        }
    }
    let Some(v4) = fw.child("ipv4") else {
        s.push_str("}\n");
        return Ok(Some(s));
    };
    for (k, n) in v4.children() {
        match k {
            "forward" | "input" | "output" => {
                for (f, _) in n.children() {
                    if f != "filter" {
                        not_realised.push(format!("firewall ipv4 {k} {f}"));
                    }
                }
                if let Some(filter) = n.child("filter") {
                    let hook = k;
                    let chain = format!("VYOS_{}_filter", k.to_uppercase());
                    let head = format!(
                        "        type filter hook {hook} priority filter; policy accept;\n"
                    );
                    let path = format!("firewall ipv4 {k} filter");
                    s.push_str(&chain_text(
                        &chain,
                        &head,
                        filter,
                        &path,
                        "accept",
                        dev,
                        not_realised,
                    )?);
                }
            }
            "name" => {
                for (name, c) in n.children() {
                    let path = format!("firewall ipv4 name {name}");
                    s.push_str(&chain_text(
                        &format!("NAME_{name}"),
                        "",
                        c,
                        &path,
                        "drop",
                        dev,
                        not_realised,
                    )?);
                }
            }
            other => not_realised.push(format!("firewall ipv4 {other}")),
        }
    }
    s.push_str("}\n");
    Ok(Some(s))
}

fn first(n: NodeRef<'_>, k: &str) -> Option<String> {
    n.child(k)
        .and_then(|v| v.children().next().map(|(x, _)| x.to_string()))
}

fn chain_text(
    chain: &str,
    head: &str,
    n: NodeRef<'_>,
    path: &str,
    default: &str,
    dev: &dyn Fn(&str) -> String,
    not_realised: &mut Vec<String>,
) -> Result<String, PlanError> {
    for (k, _) in n.children() {
        if !matches!(
            k,
            "default-action" | "description" | "rule" | "default-jump-target"
        ) {
            not_realised.push(format!("{path} {k}"));
        }
    }
    let mut s = format!("    chain {chain} {{\n{head}");
    let mut rules: BTreeMap<u32, NodeRef<'_>> = BTreeMap::new();
    if let Some(rs) = n.child("rule") {
        for (num, r) in rs.children() {
            let k: u32 = num.parse().map_err(|_| PlanError::Invalid {
                path: format!("{path} rule {num}"),
                reason: "rule number is not a number".into(),
            })?;
            rules.insert(k, r);
        }
    }
    for (num, r) in rules {
        let rpath = format!("{path} rule {num}");
        s.push_str(&format!(
            "        {}\n",
            rule_text(r, &rpath, dev, not_realised)?
        ));
    }
    let da = first(n, "default-action").unwrap_or_else(|| default.into());
    let da = match da.as_str() {
        "jump" => {
            let t = first(n, "default-jump-target").ok_or_else(|| PlanError::Invalid {
                path: format!("{path} default-jump-target"),
                reason: "default-action jump needs a default-jump-target".into(),
            })?;
            format!("jump NAME_{t}")
        }
        other => other.to_string(),
    };
    s.push_str(&format!(
        "        counter {da} comment \"{chain} default-action {da}\"\n    }}\n"
    ));
    Ok(s)
}

/// `!x` -> ("!= ", "x").
fn neg(v: &str) -> (&'static str, &str) {
    match v.strip_prefix('!') {
        Some(rest) => ("!= ", rest),
        None => ("", v),
    }
}

fn rule_text(
    r: NodeRef<'_>,
    path: &str,
    dev: &dyn Fn(&str) -> String,
    not_realised: &mut Vec<String>,
) -> Result<String, PlanError> {
    for (k, _) in r.children() {
        if !matches!(
            k,
            "action"
                | "description"
                | "destination"
                | "inbound-interface"
                | "jump-target"
                | "outbound-interface"
                | "protocol"
                | "source"
                | "state"
        ) {
            not_realised.push(format!("{path} {k}"));
        }
    }
    let mut m: Vec<String> = Vec::new();
    for (side, dir) in [
        ("inbound-interface", "iifname"),
        ("outbound-interface", "oifname"),
    ] {
        if let Some(i) = r.child(side) {
            if let Some(name) = first(i, "name") {
                let (op, v) = neg(&name);
                m.push(format!("{dir} {op}\"{}\"", dev(v)));
            }
            if let Some(g) = first(i, "group") {
                let (op, v) = neg(&g);
                m.push(format!("{dir} {op}@I_{v}"));
            }
        }
    }
    let proto = first(r, "protocol");
    if let Some(p) = &proto {
        let (op, v) = neg(p);
        match v {
            "all" => {}
            "tcp_udp" => m.push(format!("meta l4proto {op}{{ tcp, udp }}")),
            _ => m.push(format!("meta l4proto {op}{v}")),
        }
    }
    for (side, addr) in [("source", "saddr"), ("destination", "daddr")] {
        let Some(sd) = r.child(side) else { continue };
        for (k, _) in sd.children() {
            if !matches!(k, "address" | "group" | "port") {
                not_realised.push(format!("{path} {side} {k}"));
            }
        }
        if let Some(a) = first(sd, "address") {
            let (op, v) = neg(&a);
            m.push(format!("ip {addr} {op}{v}"));
        }
        if let Some(g) = sd.child("group") {
            for (kind, v) in g.children() {
                let prefix = match kind {
                    "network-group" => "N",
                    "address-group" => "A",
                    other => {
                        not_realised.push(format!("{path} {side} group {other}"));
                        continue;
                    }
                };
                if let Some((name, _)) = v.children().next() {
                    let (op, name) = neg(name);
                    m.push(format!("ip {addr} {op}@{prefix}_{name}"));
                }
            }
        }
        if let Some(ports) = first(sd, "port") {
            let p = match proto.as_deref().map(|p| neg(p).1) {
                Some("tcp_udp") => "th",
                Some(p @ ("tcp" | "udp")) => p,
                _ => {
                    return Err(PlanError::Invalid {
                        path: format!("{path} {side} port"),
                        reason: "ports need protocol tcp, udp or tcp_udp".into(),
                    })
                }
            };
            let dir = if side == "source" { "sport" } else { "dport" };
            let (op, list) = neg(&ports);
            m.push(format!(
                "{p} {dir} {op}{{ {} }}",
                list.split(',').collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if let Some(st) = r.child("state") {
        let states: Vec<&str> = st.children().map(|(s, _)| s).collect();
        m.push(format!("ct state {{ {} }}", states.join(", ")));
    }
    let action = first(r, "action").ok_or_else(|| PlanError::Invalid {
        path: path.into(),
        reason: "action is required".into(),
    })?;
    let verdict = match action.as_str() {
        "accept" | "drop" | "reject" | "return" | "continue" => action.clone(),
        "jump" => {
            let t = first(r, "jump-target").ok_or_else(|| PlanError::Invalid {
                path: path.into(),
                reason: "action jump needs a jump-target".into(),
            })?;
            format!("jump NAME_{t}")
        }
        other => {
            not_realised.push(format!("{path} action {other}"));
            "continue".into()
        }
    };
    m.push("counter".into());
    m.push(verdict);
    Ok(m.join(" "))
}

fn nft(ns: &str, args: &[&str], stdin: Option<&str>) -> Result<(), ApplyError> {
    use std::io::Write;
    let mut a = vec!["netns", "exec", ns, "nft"];
    a.extend_from_slice(args);
    let cmd = format!("ip {}", a.join(" "));
    let mut child = Command::new("ip")
        .args(&a)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ApplyError::Spawn {
            cmd: cmd.clone(),
            source,
        })?;
    if let Some(text) = stdin {
        let _ = child.stdin.take().map(|mut i| i.write_all(text.as_bytes()));
    }
    drop(child.stdin.take());
    let out = child
        .wait_with_output()
        .map_err(|source| ApplyError::Spawn {
            cmd: cmd.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(ApplyError::Command {
            cmd,
            stderr: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(())
}

/// Replaces the ruleset of `ns` in one nft transaction (the table is
/// created, deleted and defined anew atomically), or removes it.
pub fn load(ns: &str, ruleset: Option<&str>, _rd: &RunDir) -> Result<(), ApplyError> {
    bridged_traffic_unfiltered(ns)?;
    let mut text = String::from("add table ip vyos_filter\ndelete table ip vyos_filter\n");
    if let Some(r) = ruleset {
        text.push_str(r);
    }
    nft(ns, &["-f", "-"], Some(&text))
}

/// VyOS filters bridged frames only with `firewall global-options
/// apply-to-bridged-traffic ipv4` (1.5; vxguard never sets it). A host with
/// `br_netfilter` loaded (Docker loads it) defaults every new namespace to
/// `bridge-nf-call-iptables=1`, which would send each frame a router's
/// bridges switch (VRRP adverts, ARP, tenant traffic inside a network)
/// through the tenant's forward chain: seen here as two VRRP masters per
/// finance group. `-e`: without `br_netfilter` the keys do not exist.
fn bridged_traffic_unfiltered(ns: &str) -> Result<(), ApplyError> {
    in_ns(
        ns,
        &[
            "sysctl",
            "-e",
            "-q",
            "-w",
            "net.bridge.bridge-nf-call-iptables=0",
            "net.bridge.bridge-nf-call-ip6tables=0",
            "net.bridge.bridge-nf-call-arptables=0",
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyos_tree::NoSchema;

    #[test]
    fn renders_the_compilers_firewall() {
        let t = ConfigTree::parse_set(include_str!("testdata/vyos-dc1-01.set"), &NoSchema).unwrap();
        let mut nr = Vec::new();
        let r = ruleset(&t, &|v| format!("a1{v}"), &mut nr)
            .unwrap()
            .unwrap();
        assert!(nr.is_empty(), "{nr:?}");
        for line in [
            "    set I_VXG-acme {\n        type ifname\n        elements = { \"a1br10000\", \"a1br9000001\", \"a1wg1\" }\n    }\n",
            "    set N_VXG-finance-S-web-servers {\n        type ipv4_addr; flags interval; auto-merge\n        elements = { 100.64.1.10/32, 100.64.1.11/32 }\n    }\n",
            "    chain VYOS_FORWARD_filter {\n        type filter hook forward priority filter; policy accept;\n        oifname @I_VXG-acme counter jump NAME_VXG-acme\n",
            "        counter accept comment \"VYOS_FORWARD_filter default-action accept\"\n",
            "        ct state { established, related } counter accept\n        ip saddr @N_VXG-finance-INT ip daddr @N_VXG-finance-NET counter accept\n        ip saddr @N_VXG-finance-NET ip daddr @N_VXG-finance-INT counter accept\n        ct state { invalid } counter drop\n",
            "        meta l4proto tcp tcp dport { 23, 2300-2399 } counter reject\n",
            "        meta l4proto tcp ip saddr != @N_VXG-finance-INT tcp dport { 22 } counter drop\n",
            "        meta l4proto tcp ip saddr @N_VXG-finance-S-web-servers ip daddr @N_VXG-finance-S-database-servers tcp dport { 5432 } counter accept\n",
            "        meta l4proto icmp ip saddr 100.65.0.0/24 counter accept\n",
            "        counter drop comment \"NAME_VXG-finance default-action drop\"\n",
        ] {
            assert!(r.contains(line), "missing {line:?} in\n{r}");
        }
    }

    #[test]
    fn no_firewall_no_ruleset_and_bad_rules_are_refused() {
        let mut nr = Vec::new();
        assert_eq!(
            ruleset(&ConfigTree::new(), &|v| v.into(), &mut nr).unwrap(),
            None
        );
        let t = ConfigTree::parse_set(
            "set firewall ipv4 name X rule 5 action 'accept'\n\
             set firewall ipv4 name X rule 5 destination port '80'\n",
            &NoSchema,
        )
        .unwrap();
        assert_eq!(
            ruleset(&t, &|v| v.into(), &mut nr).unwrap_err().to_string(),
            "firewall ipv4 name X rule 5 destination port: ports need protocol tcp, udp or tcp_udp"
        );
        let t = ConfigTree::parse_set(
            "set firewall ipv4 name X rule 5 action 'accept'\n\
             set firewall ipv4 name X rule 5 log\n",
            &NoSchema,
        )
        .unwrap();
        ruleset(&t, &|v| v.into(), &mut nr).unwrap();
        assert_eq!(nr, vec!["firewall ipv4 name X rule 5 log"]);
    }
}
