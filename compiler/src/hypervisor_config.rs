//! A hypervisor's revision as one text: what the server stores per
//! revision, the OVS driver applies and the lab builds a hypervisor from.
//!
//! Four sections, each under a header line (`## flows`, `## groups`,
//! `## meters`, `## wireguard`), in that order; a section is the
//! compiler's text as is (one `ovs-ofctl` line each, `wg setconf` text).
//! The integration bridge and the VTEP are read back from the flows'
//! first comment line, which the compiler writes and the text keeps. Texts
//! stored before WireGuard was rendered have no `## wireguard`: they parse
//! with an empty one.

use crate::ovs::OvsConfig;
use std::net::Ipv4Addr;

/// One hypervisor's configuration: switch tables and WireGuard interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HypervisorConfig {
    /// Tunnel source address of `vxg-tun`, and the hypervisor's WireGuard address.
    pub vtep: Ipv4Addr,
    /// The integration bridge the flows are for.
    pub bridge: String,
    pub flows: String,
    pub groups: String,
    pub meters: String,
    /// `wg setconf` text (holds the private key).
    pub wireguard: String,
}

/// Why a revision text is not a hypervisor configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("hypervisor configuration, line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number in the whole text.
    pub line: usize,
    pub reason: String,
}

const SECTIONS: [&str; 4] = ["flows", "groups", "meters", "wireguard"];

impl From<&OvsConfig> for HypervisorConfig {
    fn from(c: &OvsConfig) -> Self {
        HypervisorConfig {
            vtep: c.vtep,
            bridge: c.bridge.clone(),
            flows: c.flows.clone(),
            groups: c.groups.clone(),
            meters: c.meters.clone(),
            wireguard: c.wireguard.clone(),
        }
    }
}

/// The revision text of a compiled hypervisor: what
/// `HypervisorConfig::from(c).render_text()` gives, without copying `c`'s
/// texts first.
pub fn text_of(c: &OvsConfig) -> String {
    render([&c.flows, &c.groups, &c.meters, &c.wireguard])
}

/// Where each section's body (flows, groups, meters, wireguard) starts in
/// [`text_of`]`(c)`: a range of one of `c`'s texts is that range moved by
/// its section's start.
pub fn body_starts(c: &OvsConfig) -> [usize; 4] {
    let mut at = 0;
    let mut starts = [0; 4];
    for (i, (name, body)) in SECTIONS
        .iter()
        .zip([&c.flows, &c.groups, &c.meters, &c.wireguard])
        .enumerate()
    {
        at += "## \n".len() + name.len();
        starts[i] = at;
        at += body.len();
    }
    starts
}

fn render(bodies: [&String; 4]) -> String {
    let mut s = String::with_capacity(bodies.iter().map(|b| b.len()).sum::<usize>() + 64);
    for (name, body) in SECTIONS.iter().zip(bodies) {
        s.push_str("## ");
        s.push_str(name);
        s.push('\n');
        s.push_str(body);
    }
    s
}

impl HypervisorConfig {
    /// The revision text; [`HypervisorConfig::parse_text`] gives back the same value.
    pub fn render_text(&self) -> String {
        render([&self.flows, &self.groups, &self.meters, &self.wireguard])
    }

    /// Reads a revision text; the error names the line and what is wrong.
    pub fn parse_text(text: &str) -> Result<Self, ParseError> {
        let err = |line: usize, reason: String| ParseError { line, reason };
        let mut bodies: [String; 4] = Default::default();
        let mut seen = 0; // sections started so far
        let mut flows_start = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let n = i + 1;
            if let Some(name) = line.strip_prefix("## ") {
                let name = name.trim_end();
                let Some(at) = SECTIONS.iter().position(|s| *s == name) else {
                    return Err(err(n, format!("unknown section `## {name}`")));
                };
                if at != seen {
                    let want = SECTIONS
                        .get(seen)
                        .map_or("nothing".into(), |s| format!("`## {s}`"));
                    return Err(err(
                        n,
                        format!("section `## {name}` out of order: expected {want}"),
                    ));
                }
                seen += 1;
                if at == 0 {
                    flows_start = n + 1;
                }
                continue;
            }
            if seen == 0 {
                return Err(err(n, "expected `## flows` first".into()));
            }
            bodies[seen - 1].push_str(line);
        }
        if seen < 3 {
            let line = text.split_inclusive('\n').count().max(1);
            return Err(err(
                line,
                format!("missing section `## {}`", SECTIONS[seen.min(3)]),
            ));
        }
        let (bridge, vtep) = identity(&bodies[0]).map_err(|e| err(flows_start, e))?;
        let [flows, groups, meters, wireguard] = bodies;
        Ok(HypervisorConfig {
            vtep,
            bridge,
            flows,
            groups,
            meters,
            wireguard,
        })
    }
}

/// Bridge and VTEP from the flows' header comment
/// `# vxguard flows for hypervisor NAME (site S), bridge BR, VTEP ADDR`.
fn identity(flows: &str) -> Result<(String, Ipv4Addr), String> {
    let first = flows.lines().next().unwrap_or("");
    let header = first
        .strip_prefix("# vxguard flows for hypervisor ")
        .ok_or_else(|| format!("the flows must start with the compiler's header comment (`# vxguard flows for hypervisor ...`), found {first:?}"))?;
    let field = |key: &str| -> Result<&str, String> {
        header
            .split(", ")
            .find_map(|part| part.strip_prefix(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the flows header has no `{}` value: {first:?}", key.trim()))
    };
    let bridge = field("bridge ")?;
    let vtep = field("VTEP ")?;
    let vtep = vtep
        .parse()
        .map_err(|_| format!("the flows header's VTEP {vtep:?} is not an IPv4 address"))?;
    Ok((bridge.to_string(), vtep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HypervisorConfig {
        HypervisorConfig {
            vtep: Ipv4Addr::new(172, 27, 0, 5),
            bridge: "br-int".into(),
            flows: "# vxguard flows for hypervisor hv1 (site dc1), bridge br-int, VTEP 172.27.0.5\ntable=0,priority=0,actions=drop\n".into(),
            groups: "group_id=1,type=all,bucket=actions=output:p1\n".into(),
            meters: String::new(),
            wireguard: "[Interface]\nPrivateKey = K=\nListenPort = 51820\n".into(),
        }
    }

    #[test]
    fn text_round_trips() {
        let c = sample();
        let t = c.render_text();
        assert!(t.starts_with("## flows\n# vxguard flows"));
        assert!(t.contains("## meters\n## wireguard\n[Interface]\n"), "{t}");
        assert_eq!(HypervisorConfig::parse_text(&t).unwrap(), c);
    }

    #[test]
    fn a_text_without_wireguard_still_parses() {
        let mut c = sample();
        let t = c.render_text();
        let old = &t[..t.find("## wireguard").unwrap()];
        c.wireguard.clear();
        assert_eq!(HypervisorConfig::parse_text(old).unwrap(), c);
    }

    #[test]
    fn errors_name_the_line() {
        let t = sample().render_text();
        let e = HypervisorConfig::parse_text(&t.replace("## groups", "## tables")).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("unknown section `## tables`"), "{e}");
        let e = HypervisorConfig::parse_text(&t.replace("## meters\n", "")).unwrap_err();
        assert!(e.reason.contains("out of order"), "{e}");
        let e = HypervisorConfig::parse_text(&format!("x\n{t}")).unwrap_err();
        assert_eq!(e.line, 1);
        let e = HypervisorConfig::parse_text(&t.replace("VTEP 172.27.0.5", "VTEP 172.27.0"))
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.to_string().contains("line 2") && e.reason.contains("172.27.0"),
            "{e}"
        );
        let e = HypervisorConfig::parse_text(&t.replace(", bridge br-int", "")).unwrap_err();
        assert!(e.reason.contains("no `bridge` value"), "{e}");
        let e = HypervisorConfig::parse_text("## flows\n").unwrap_err();
        assert!(e.reason.contains("missing section `## groups`"), "{e}");
    }
}
