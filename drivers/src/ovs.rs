//! The OVS driver: brings one hypervisor's integration bridge to one stored
//! revision with `ovs-ofctl` (OpenFlow 1.3, bundles for atomic steps).
//! (Recording each attempt, device kind `hypervisor`, is the server's
//! `rollout::record`.)
//!
//! Order, so that no packet meets a flow whose group or meter is missing:
//! 1. the bridge answers and has the tunnel port `vxg-tun` and every port
//!    the revision names (else `failed`, nothing changed);
//! 2. the difference: `diff-flows` (revision file, port names turned into
//!    the switch's numbers, against the switch), groups and meters as the
//!    switch dumps them, compared in a canonical form; none → `unchanged`;
//! 3. new and changed groups in one bundle (`add_or_mod`), then new and
//!    changed meters (`add-meter`/`mod-meter`: meters have no bundles);
//! 4. `--bundle replace-flows`: one atomic swap of the flow table;
//! 5. groups (one bundle of `delete` lines) and meters no revision flow
//!    uses any more are deleted (deleting a group still in use would delete
//!    its flows too);
//! 6. the switch is read back and must hold exactly the revision.
//!
//! When step 4 fails, the groups of step 3 are put back as they were
//! (best effort; the error says so). The revision's `## wireguard` section
//! is not the switch's: the hypervisor's host applies it (`wg setconf`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_compiler::ovs::TUNNEL_PORT;

use crate::{Applied, Driver, DriverError, Outcome};

/// How long one `ovs-ofctl` call may take before the bridge counts as not answering.
const OFCTL_TIMEOUT: Duration = Duration::from_secs(20);

/// The hypervisor to apply to.
#[derive(Clone, Debug)]
pub struct OvsTarget {
    /// The hypervisor's name (as in revisions).
    pub name: String,
    /// `ovs-ofctl` target of its integration bridge (`unix:PATH.mgmt`, `tcp:HOST:PORT`).
    pub openflow: String,
}

/// The OVS [`Driver`]: one hypervisor's bridge.
#[derive(Clone, Debug)]
pub struct OvsDriver {
    pub target: OvsTarget,
}

impl Driver for OvsDriver {
    type Desired = HypervisorConfig;

    fn kind(&self) -> &'static str {
        "hypervisor"
    }

    fn name(&self) -> &str {
        &self.target.name
    }

    fn parse(&self, revision: &str) -> Result<HypervisorConfig, DriverError> {
        HypervisorConfig::parse_text(revision)
            .map_err(|e| DriverError::BadRevision(format!("{e:#}")))
    }

    /// The `commands` are how the switch differed from the revision before
    /// the apply: flow lines as `diff-flows` prints them (`-` only in the
    /// revision, `+` only on the switch), then `-group_id=...`/`+group_id=...`
    /// and `-meter=...`/`+meter=...` the same way. `attempts` counts the
    /// `ovs-ofctl` calls that changed the switch; `answers` every call.
    async fn apply(&self, desired: &HypervisorConfig) -> Applied {
        let mut run = Run::new(&self.target.openflow);
        let (outcome, commands) = match run.go(desired).await {
            Ok((o, c)) => (o, c),
            Err(e) => (
                Outcome::Failed {
                    error: format!("{e:#}"),
                },
                Vec::new(),
            ),
        };
        run.cleanup();
        Applied {
            outcome,
            commands,
            attempts: run.attempts,
            answers: run.answers,
        }
    }

    /// The switch's flows, groups and meters as it dumps them.
    async fn running(&self) -> Result<String, DriverError> {
        let mut run = Run::new(&self.target.openflow);
        let t = self.target.openflow.clone();
        let mut out = String::new();
        for what in ["dump-flows", "dump-groups", "dump-meters"] {
            let (code, text, err) = run
                .ofctl(&[what, &t])
                .await
                .map_err(|e| DriverError::Device(format!("{e:#}")))?;
            if code != 0 {
                return Err(DriverError::Device(format!("`{what}` of {t}: {err}")));
            }
            out.push_str(&text);
        }
        Ok(out)
    }

    /// The bridge answers OpenFlow 1.3 and has the tunnel port.
    async fn health(&self) -> Result<(), DriverError> {
        let mut run = Run::new(&self.target.openflow);
        let ports = run
            .ports()
            .await
            .map_err(|e| DriverError::Device(format!("{e:#}")))?;
        if ports.contains_key(TUNNEL_PORT) {
            Ok(())
        } else {
            Err(DriverError::Device(format!(
                "the bridge at {} has no port `{TUNNEL_PORT}`",
                self.target.openflow
            )))
        }
    }
}

/// The bridge's port, flow and meter statistics (OpenFlow 1.3 multipart
/// requests: `dump-ports`, `dump-flows`, `meter-stats`), asked side by
/// side, all within `timeout`; `Err` says which did not answer and why.
pub async fn stats(
    target: &OvsTarget,
    timeout: Duration,
) -> Result<vxguard_health::ovs::OvsStats, String> {
    let t = target.openflow.as_str();
    let secs = format!("--timeout={}", timeout.as_secs().max(1));
    let one = |what: &'static str, names: bool| {
        let secs = secs.clone();
        async move {
            let mut cmd = tokio::process::Command::new("ovs-ofctl");
            cmd.args(["-O", "OpenFlow13", &secs, what, t]);
            if names {
                cmd.arg("--names");
            }
            cmd.kill_on_drop(true);
            let out = cmd
                .output()
                .await
                .map_err(|e| format!("running ovs-ofctl (is Open vSwitch installed?): {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "`{what}` of {t}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }
    };
    let all = async {
        tokio::join!(
            one("dump-ports", true),
            one("dump-flows", true),
            one("meter-stats", false)
        )
    };
    let (ports, flows, meters) = tokio::time::timeout(timeout, all)
        .await
        .map_err(|_| format!("the bridge at {t} did not answer within {timeout:?}"))?;
    use vxguard_health::ovs as parse;
    Ok(parse::OvsStats {
        ports: parse::dump_ports(&ports?),
        flows: parse::dump_flows(&flows?),
        meters: parse::meter_stats(&meters?),
    })
}

/// How the switch differs from a revision text: the lines of
/// [`OvsDriver`]'s `apply` `commands`; empty when the switch holds exactly the revision.
pub async fn drift(target: &OvsTarget, revision_text: &str) -> Result<Vec<String>> {
    let desired = HypervisorConfig::parse_text(revision_text)?;
    let mut run = Run::new(&target.openflow);
    let out = async {
        let ports = run.ports().await?;
        Ok(run.compare(&desired, &ports).await?.lines())
    }
    .await;
    run.cleanup();
    out
}

/// The state of one apply or drift check.
struct Run {
    target: String,
    /// Every `ovs-ofctl` call: its arguments, exit status and stderr.
    answers: Vec<Value>,
    attempts: u32,
    scratch: PathBuf,
}

/// The switch against a revision.
#[derive(Debug, Default)]
struct Difference {
    flows: Vec<String>,
    /// Groups to add or change (revision text), and ids to delete.
    groups_put: Vec<String>,
    groups_gone: Vec<u32>,
    /// Meters to add / change (revision text), and ids to delete.
    meters_add: Vec<String>,
    meters_mod: Vec<String>,
    meters_gone: Vec<u32>,
    /// The switch's groups and meters before (canonical text by id).
    groups_before: BTreeMap<u32, String>,
    meters_before: BTreeMap<u32, String>,
}

impl Difference {
    fn is_empty(&self) -> bool {
        self.flows.is_empty()
            && self.groups_put.is_empty()
            && self.groups_gone.is_empty()
            && self.meters_add.is_empty()
            && self.meters_mod.is_empty()
            && self.meters_gone.is_empty()
    }

    fn lines(&self) -> Vec<String> {
        let mut v = self.flows.clone();
        for g in &self.groups_put {
            if let Some(old) = group_id(g).and_then(|id| self.groups_before.get(&id)) {
                v.push(format!("+{old}"));
            }
            v.push(format!("-{g}"));
        }
        v.extend(
            self.groups_gone
                .iter()
                .map(|id| format!("+{}", self.groups_before[id])),
        );
        v.extend(self.meters_add.iter().map(|m| format!("-{m}")));
        for m in &self.meters_mod {
            if let Some(old) = meter_id(m).and_then(|id| self.meters_before.get(&id)) {
                v.push(format!("+{old}"));
            }
            v.push(format!("-{m}"));
        }
        v.extend(
            self.meters_gone
                .iter()
                .map(|id| format!("+{}", self.meters_before[id])),
        );
        v
    }
}

impl Run {
    fn new(target: &str) -> Run {
        Run {
            target: target.into(),
            answers: Vec::new(),
            attempts: 0,
            scratch: std::env::temp_dir()
                .join(format!("vxguard-ovs-{}", uuid::Uuid::new_v4().simple())),
        }
    }

    fn cleanup(&self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }

    fn file(&self, name: &str, text: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.scratch)
            .with_context(|| format!("creating {}", self.scratch.display()))?;
        let p = self.scratch.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    }

    /// Runs `ovs-ofctl -O OpenFlow13 --timeout=N ARGS` (the target is
    /// among `args`); `Ok` is (exit code, stdout); a spawn failure or a
    /// timeout is `Err`.
    async fn ofctl(&mut self, args: &[&str]) -> Result<(i32, String, String)> {
        let timeout = format!("--timeout={}", OFCTL_TIMEOUT.as_secs());
        let mut cmd = tokio::process::Command::new("ovs-ofctl");
        cmd.args(["-O", "OpenFlow13", &timeout]).args(args);
        cmd.kill_on_drop(true);
        let out = tokio::time::timeout(OFCTL_TIMEOUT + Duration::from_secs(5), cmd.output())
            .await
            .with_context(|| format!("`ovs-ofctl {}` did not finish", args.join(" ")))?
            .with_context(|| "running ovs-ofctl (is Open vSwitch installed?)".to_string())?;
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        self.answers.push(json!({
            "command": format!("ovs-ofctl -O OpenFlow13 {}", args.join(" ")),
            "status": code,
            "stderr": stderr,
        }));
        Ok((
            code,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        ))
    }

    /// Like [`Run::ofctl`] for a call that changes the switch: a non-zero
    /// exit is an error with `what` and ovs-ofctl's message.
    async fn change(&mut self, what: &str, args: &[&str]) -> Result<()> {
        self.attempts += 1;
        let (code, _, err) = self.ofctl(args).await?;
        anyhow::ensure!(code == 0, "{what}: ovs-ofctl failed: {err}");
        Ok(())
    }

    /// The bridge's ports by name; an error when it does not answer.
    async fn ports(&mut self) -> Result<BTreeMap<String, u32>> {
        let t = self.target.clone();
        let (code, out, err) = self.ofctl(&["show", &t]).await?;
        anyhow::ensure!(
            code == 0,
            "the bridge at {t} does not answer OpenFlow 1.3: {err}"
        );
        Ok(parse_ports(&out))
    }

    async fn go(&mut self, desired: &HypervisorConfig) -> Result<(Outcome, Vec<String>)> {
        let t = self.target.clone();
        let ports = self.ports().await?;
        if !ports.contains_key(TUNNEL_PORT) {
            anyhow::bail!(
                "the bridge at {t} has no port `{TUNNEL_PORT}`: create it with `ovs-vsctl add-port {br} {TUNNEL_PORT} -- set interface {TUNNEL_PORT} type=vxlan options:remote_ip=flow options:key=flow options:local_ip={vtep}`; nothing was changed",
                br = desired.bridge,
                vtep = desired.vtep
            );
        }
        let missing: Vec<String> = port_names(&desired.flows)
            .into_iter()
            .chain(port_names(&desired.groups))
            .filter(|p| !ports.contains_key(p))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "the bridge at {t} has no port {}: the revision's flows use them; nothing was changed",
            missing.join(", ")
        );
        let diff = self.compare(desired, &ports).await?;
        let lines = diff.lines();
        if diff.is_empty() {
            return Ok((Outcome::Unchanged, lines));
        }
        if !diff.groups_put.is_empty() {
            let text: String = diff
                .groups_put
                .iter()
                .map(|g| format!("add_or_mod {g}\n"))
                .collect();
            let f = self.file("groups-put", &text)?;
            self.change(
                "adding groups",
                &["--bundle", "add-groups", &t, &f.to_string_lossy()],
            )
            .await?;
        }
        let swapped = self.meters_then_flows(&diff, desired).await;
        if let Err(e) = swapped {
            let restored = self.restore_groups(&diff).await;
            return Ok((
                Outcome::Failed {
                    error: match restored {
                        Ok(()) => format!("{e:#}; the flows are as before, groups restored"),
                        Err(r) => format!(
                            "{e:#}; the flows are as before, restoring groups failed: {r:#}"
                        ),
                    },
                },
                lines,
            ));
        }
        if !diff.groups_gone.is_empty() {
            let text: String = diff
                .groups_gone
                .iter()
                .map(|id| format!("delete group_id={id}\n"))
                .collect();
            let f = self.file("groups-gone", &text)?;
            self.change(
                "deleting unused groups",
                &["--bundle", "add-groups", &t, &f.to_string_lossy()],
            )
            .await?;
        }
        for id in &diff.meters_gone {
            self.change(
                "deleting an unused meter",
                &["del-meters", &t, &format!("meter={id}")],
            )
            .await?;
        }
        let after = self.compare(desired, &ports).await?;
        if !after.is_empty() {
            return Ok((
                Outcome::Failed {
                    error: format!(
                        "applied, but the switch differs from the revision: {}",
                        after.lines().join("; ")
                    ),
                },
                lines,
            ));
        }
        Ok((Outcome::Applied, lines))
    }

    /// Steps 3 (meters) and 4 (the flows' swap, when they differ).
    async fn meters_then_flows(
        &mut self,
        diff: &Difference,
        desired: &HypervisorConfig,
    ) -> Result<()> {
        let t = self.target.clone();
        for m in &diff.meters_add {
            self.change("adding a meter", &["add-meter", &t, m]).await?;
        }
        for m in &diff.meters_mod {
            self.change("changing a meter", &["mod-meter", &t, m])
                .await?;
        }
        if diff.flows.is_empty() {
            return Ok(());
        }
        let flows = self.file("flows", &desired.flows)?;
        self.change(
            "replacing the flows",
            &["--bundle", "replace-flows", &t, &flows.to_string_lossy()],
        )
        .await
    }

    /// Puts back the groups a failed apply added or changed.
    async fn restore_groups(&mut self, diff: &Difference) -> Result<()> {
        let t = self.target.clone();
        let mut put = String::new();
        let mut gone = String::new();
        for g in &diff.groups_put {
            let Some(id) = group_id(g) else { continue };
            match diff.groups_before.get(&id) {
                Some(old) => put.push_str(&format!("add_or_mod {old}\n")),
                None => gone.push_str(&format!("delete group_id={id}\n")),
            }
        }
        if !put.is_empty() {
            let f = self.file("groups-restore", &put)?;
            self.change(
                "restoring groups",
                &["--bundle", "add-groups", &t, &f.to_string_lossy()],
            )
            .await?;
        }
        if !gone.is_empty() {
            let f = self.file("groups-unadd", &gone)?;
            self.change(
                "removing added groups",
                &["--bundle", "add-groups", &t, &f.to_string_lossy()],
            )
            .await?;
        }
        Ok(())
    }

    /// Reads the switch and compares it with the revision.
    async fn compare(
        &mut self,
        desired: &HypervisorConfig,
        ports: &BTreeMap<String, u32>,
    ) -> Result<Difference> {
        let t = self.target.clone();
        // diff-flows reads a file offline: it needs port numbers, not names.
        let numbered = self.file("flows-numbered", &number_ports(&desired.flows, ports))?;
        let (code, out, err) = self
            .ofctl(&["diff-flows", &numbered.to_string_lossy(), &t])
            .await?;
        anyhow::ensure!(code == 0 || code == 2, "comparing flows with {t}: {err}");
        let flows: Vec<String> = out
            .lines()
            .filter(|l| l.starts_with(['-', '+']))
            .map(|l| l.trim_end().to_string())
            .collect();

        let (code, out, err) = self.ofctl(&["dump-groups", &t]).await?;
        anyhow::ensure!(code == 0, "reading groups of {t}: {err}");
        let have = parse_groups(&out);
        let want: BTreeMap<u32, String> = desired
            .groups
            .lines()
            .filter_map(|l| {
                let c = canonical_group(&number_ports(l, ports))?;
                Some((group_id(&c)?, l.trim().to_string()))
            })
            .collect();
        let mut d = Difference {
            flows,
            ..Difference::default()
        };
        for (id, line) in &want {
            let canon = canonical_group(&number_ports(line, ports));
            if have.get(id) != canon.as_ref() {
                d.groups_put.push(line.clone());
            }
        }
        d.groups_gone = have
            .keys()
            .filter(|id| !want.contains_key(id))
            .copied()
            .collect();
        d.groups_before = have;

        let (code, out, err) = self.ofctl(&["dump-meters", &t]).await?;
        anyhow::ensure!(code == 0, "reading meters of {t}: {err}");
        let have = parse_meters(&out);
        let want: BTreeMap<u32, String> = desired
            .meters
            .lines()
            .filter_map(|l| {
                let c = canonical_meter(l)?;
                Some((meter_id(&c)?, l.trim().to_string()))
            })
            .collect();
        for (id, line) in &want {
            match have.get(id) {
                None => d.meters_add.push(line.clone()),
                Some(h) if Some(h) != canonical_meter(line).as_ref() => {
                    d.meters_mod.push(line.clone())
                }
                Some(_) => {}
            }
        }
        d.meters_gone = have
            .keys()
            .filter(|id| !want.contains_key(id))
            .copied()
            .collect();
        d.meters_before = have;
        Ok(d)
    }
}

/// Port numbers by name from `ovs-ofctl show` (` 1(fin-web1): addr:...`).
fn parse_ports(show: &str) -> BTreeMap<String, u32> {
    show.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (num, rest) = l.split_once('(')?;
            let (name, tail) = rest.split_once("):")?;
            tail.trim_start().starts_with("addr:").then_some(())?;
            Some((name.to_string(), num.parse().ok()?))
        })
        .collect()
}

/// Where a port name can stand in flow and group text.
const PORT_KEYS: [&str; 2] = ["in_port=", "output:"];

/// Every port named by `in_port=` and `output:`. None is exempt: the
/// compiler names ports only (never a number or a reserved port such as
/// `LOCAL` or `NORMAL`), so each must be a port the switch has, and
/// anything else in a revision is refused before the switch is touched.
fn port_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for key in PORT_KEYS {
            for (i, _) in l.match_indices(key) {
                let v = token(&l[i + key.len()..]);
                if !v.is_empty() {
                    out.push(v.trim_matches('"').to_string());
                }
            }
        }
    }
    out
}

/// The value at the start of `s`: up to `,`, `)` or whitespace.
fn token(s: &str) -> &str {
    let end = s
        .find(|c: char| c == ',' || c == ')' || c.is_whitespace())
        .unwrap_or(s.len());
    &s[..end]
}

/// `text` with every port name after `in_port=`/`output:` replaced by its
/// number on the switch (names it does not have are left as they are).
fn number_ports(text: &str, ports: &BTreeMap<String, u32>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        'scan: loop {
            let next = PORT_KEYS
                .iter()
                .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
                .min();
            let Some((i, klen)) = next else {
                out.push_str(rest);
                break 'scan;
            };
            out.push_str(&rest[..i + klen]);
            rest = &rest[i + klen..];
            let v = token(rest);
            match ports.get(v.trim_matches('"')) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.push_str(v),
            }
            rest = &rest[v.len()..];
        }
    }
    out
}

fn group_id(line: &str) -> Option<u32> {
    line.trim()
        .strip_prefix("group_id=")
        .map(token)?
        .parse()
        .ok()
}

fn meter_id(line: &str) -> Option<u32> {
    line.trim().strip_prefix("meter=").map(token)?.parse().ok()
}

/// A group line in one form, whichever way it was written: the revision's
/// (decimal `set_field` values) or a dump's (hex, quoted names).
fn canonical_group(line: &str) -> Option<String> {
    let l = line.trim();
    let l = l.strip_prefix("add_or_mod ").unwrap_or(l);
    if !l.starts_with("group_id=") {
        return None;
    }
    let parts: Vec<String> = l
        .split(',')
        .map(|p| {
            let p = p.replace('"', "");
            // `set_field:V->F`, alone or after `bucket=actions=`.
            let Some(at) = p.find("set_field:") else {
                return p;
            };
            let (head, tail) = p.split_at(at + "set_field:".len());
            match tail.split_once("->") {
                Some((v, f)) => format!("{head}{}->{f}", number(v).unwrap_or(v.to_string())),
                None => p.clone(),
            }
        })
        .collect();
    Some(parts.join(","))
}

/// A decimal or `0x` hexadecimal number, in decimal.
fn number(v: &str) -> Option<String> {
    let n = match v.strip_prefix("0x") {
        Some(h) => u128::from_str_radix(h, 16).ok()?,
        None => v.parse::<u128>().ok()?,
    };
    Some(n.to_string())
}

/// Groups of a `dump-groups` answer, canonical, by id.
fn parse_groups(dump: &str) -> BTreeMap<u32, String> {
    dump.lines()
        .filter_map(|l| {
            let c = canonical_group(l)?;
            Some((group_id(&c)?, c))
        })
        .collect()
}

/// A meter in one form: `meter=1,pktps,burst,stats,bands=type=drop,rate=..,burst_size=..`
/// (the revision's commas and a dump's spaces and line breaks alike).
fn canonical_meter(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    words.first()?.starts_with("meter=").then_some(())?;
    Some(words.join(",").replace("bands=,", "bands="))
}

/// Meters of a `dump-meters` answer (a meter's bands are on the lines
/// after its `meter=` line), canonical, by id.
fn parse_meters(dump: &str) -> BTreeMap<u32, String> {
    let mut blocks: Vec<String> = Vec::new();
    for l in dump.lines() {
        let t = l.trim();
        if t.starts_with("meter=") {
            blocks.push(t.to_string());
        } else if let Some(b) = blocks.last_mut() {
            if !t.is_empty() && !t.starts_with("OFPST_") {
                b.push(' ');
                b.push_str(t);
            }
        }
    }
    blocks
        .iter()
        .filter_map(|b| {
            let c = canonical_meter(b)?;
            Some((meter_id(&c)?, c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = "OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:0000fa9a991846a4
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS
OFPST_PORT_DESC reply (OF1.3) (xid=0x3):
 1(fin-web1): addr:aa:55:aa:55:00:01
     config:     0
     state:      LIVE
     speed: 0 Mbps now, 0 Mbps max
 4(vxg-tun): addr:ee:6d:4e:7c:06:e2
     config:     0
 LOCAL(br-int): addr:fa:9a:99:18:46:a4
     config:     0
";

    #[test]
    fn ports_are_read_from_show() {
        let p = parse_ports(SHOW);
        assert_eq!(p.get("fin-web1"), Some(&1));
        assert_eq!(p.get("vxg-tun"), Some(&4));
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn port_names_become_numbers() {
        let p = parse_ports(SHOW);
        let f = "# port fin-web1\ntable=0,in_port=fin-web1,actions=drop\ngroup_id=1,type=all,bucket=actions=output:fin-web1,bucket=actions=set_field:5->tun_id,output:vxg-tun\n";
        assert_eq!(
            number_ports(f, &p),
            "# port fin-web1\ntable=0,in_port=1,actions=drop\ngroup_id=1,type=all,bucket=actions=output:1,bucket=actions=set_field:5->tun_id,output:4\n"
        );
        assert_eq!(port_names(f), vec!["fin-web1", "fin-web1", "vxg-tun"]);
        // Reserved ports and numbers are checked like any name: a switch
        // has no port called `LOCAL` or `3` by name, so they are refused.
        assert_eq!(
            port_names("table=0,in_port=LOCAL,actions=output:3,output:NORMAL"),
            vec!["LOCAL", "3", "NORMAL"]
        );
    }

    #[test]
    fn groups_compare_across_forms() {
        let dump = "OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):\n group_id=20001,type=all,bucket=actions=output:2,bucket=actions=set_field:0x2710->tun_id,set_field:172.27.0.1->tun_dst,output:4\n";
        let have = parse_groups(dump);
        let want = canonical_group("group_id=20001,type=all,bucket=actions=output:2,bucket=actions=set_field:10000->tun_id,set_field:172.27.0.1->tun_dst,output:4").unwrap();
        assert_eq!(have.get(&20001), Some(&want));
        let named =
            canonical_group(r#" group_id=20001,type=all,bucket=actions=output:"acme-app1""#)
                .unwrap();
        assert_eq!(
            named,
            "group_id=20001,type=all,bucket=actions=output:acme-app1"
        );
    }

    #[test]
    fn meters_compare_across_forms() {
        let dump = "OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\nmeter=1 pktps burst stats bands=\ntype=drop rate=20000 burst_size=2000\n\nmeter=2 pktps stats bands=\ntype=drop rate=5\n";
        let have = parse_meters(dump);
        assert_eq!(
            have.get(&1),
            canonical_meter("meter=1,pktps,burst,stats,bands=type=drop,rate=20000,burst_size=2000")
                .as_ref()
        );
        assert_eq!(have[&2], "meter=2,pktps,stats,bands=type=drop,rate=5");
        assert_eq!(have.len(), 2);
    }
}
