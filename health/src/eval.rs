//! Expected versus observed: every expected item gets a status and a
//! reason. The rules (issue 18, item 2):
//!
//! - a router that does not answer is down; one whose last apply failed,
//!   whose running configuration drifted, whose API key is older than its
//!   rotation interval plus grace, or whose memory is nearly full is
//!   degraded;
//! - a BGP session not Established is degraded, and down once it has not
//!   been Established for [`Rules::bgp_down_after_secs`] (30 s);
//! - a mesh peer whose latest handshake is older than
//!   [`Rules::handshake_max_secs`] (180 s), or that never shook hands, is
//!   down;
//! - a gateway group with no master, or with two, is down; one with a
//!   master but a gateway not backing it up is degraded;
//! - a client is ok while its gateway knows it (connected or not: a client
//!   that is off is not a fault), down when the gateway lacks its peer.
//!
//! Links and groups are only expected up once the devices at both ends
//! have a revision applied: before that they are ok, saying so.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::expect::{Expected, RouterExpect, MESH_INTERFACE};
use crate::parse::{BgpPeer, Memory, Vrrp, WgPeerState};
use crate::{Item, Kind, Status};

/// What one router answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// It did not answer (or could not be asked: no key, no endpoint):
    /// why, for operators.
    Unreachable(String),
    Answered(Answers),
}

/// The router's op-mode answers, each parsed or why it failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub bgp: Result<Vec<BgpPeer>, String>,
    pub vrrp: Result<Vrrp, String>,
    /// By interface (`wg0` and the client interfaces).
    pub wireguard: BTreeMap<String, Result<Vec<WgPeerState>, String>>,
    pub memory: Result<Memory, String>,
}

/// What the store knows of a device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// A revision has been applied successfully (at some point).
    pub applied: bool,
    /// The last finished apply failed: its error.
    pub apply_failed: Option<String>,
    /// The drift the last check found against the applied revision.
    pub drift: Option<String>,
    /// The API key's age in seconds (routers).
    pub api_key_age_secs: Option<i64>,
}

/// The thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub bgp_down_after_secs: i64,
    pub handshake_max_secs: u64,
    /// Rotation interval plus grace; `None`: keys never rotate on schedule.
    pub api_key_max_age_secs: Option<i64>,
    pub memory_degraded_percent: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            bgp_down_after_secs: 30,
            handshake_max_secs: 180,
            api_key_max_age_secs: Some(9 * 86_400),
            memory_degraded_percent: 90,
        }
    }
}

/// The inputs of one evaluation.
pub struct Round<'a> {
    pub expected: &'a Expected,
    /// By router name; a router absent was not asked (down).
    pub seen: &'a BTreeMap<String, Seen>,
    /// By device name (routers and hypervisors).
    pub records: &'a BTreeMap<String, Record>,
    /// `bad_since` of the previous round's items, by key.
    pub previous: &'a BTreeMap<String, i64>,
    /// Unix seconds.
    pub now: i64,
    pub rules: Rules,
}

/// Every expected item with its status.
pub fn evaluate(r: &Round<'_>) -> Vec<Item> {
    let mut out = Vec::new();
    for rt in &r.expected.routers {
        out.push(router_item(r, rt));
        for (peer, addr) in &rt.bgp {
            out.push(bgp_item(r, rt, peer, &addr.to_string()));
        }
        for p in &rt.mesh_peers {
            out.push(mesh_item(r, rt, p));
        }
    }
    for h in &r.expected.hypervisors {
        out.push(hypervisor_item(r, &h.name, &h.site));
    }
    for g in &r.expected.groups {
        out.push(group_item(r, g));
    }
    for c in &r.expected.clients {
        out.push(client_item(r, c));
    }
    out
}

fn applied(r: &Round<'_>, device: &str) -> bool {
    r.records.get(device).is_some_and(|d| d.applied)
}

fn answers<'a>(r: &'a Round<'_>, router: &str) -> Result<&'a Answers, String> {
    match r.seen.get(router) {
        Some(Seen::Answered(a)) => Ok(a),
        Some(Seen::Unreachable(e)) => Err(e.clone()),
        None => Err("not collected".into()),
    }
}

/// The item's `bad_since`: kept from the previous round, else now, else
/// (when the device says how long it has been so) earlier.
fn bad_since(r: &Round<'_>, key: &str, for_secs: Option<u64>) -> i64 {
    let mut t = r.previous.get(key).copied().unwrap_or(r.now);
    if let Some(s) = for_secs {
        t = t.min(r.now - s as i64);
    }
    t
}

struct Base {
    kind: Kind,
    key: String,
    device: Option<String>,
    peer: Option<String>,
    tenant: Option<String>,
    network: Option<String>,
    site: Option<String>,
}

impl Base {
    fn item(
        self,
        status: Status,
        reason: impl Into<String>,
        detail: Option<String>,
        facts: serde_json::Value,
        bad_since: Option<i64>,
    ) -> Item {
        Item {
            kind: self.kind,
            key: self.key,
            device: self.device,
            peer: self.peer,
            tenant: self.tenant,
            network: self.network,
            site: self.site,
            status,
            reason: reason.into(),
            detail,
            facts,
            bad_since: if status == Status::Ok {
                None
            } else {
                bad_since
            },
        }
    }
}

fn router_item(r: &Round<'_>, rt: &RouterExpect) -> Item {
    let key = format!("router:{}", rt.name);
    let base = Base {
        kind: Kind::Router,
        key: key.clone(),
        device: Some(rt.name.clone()),
        peer: None,
        tenant: None,
        network: None,
        site: Some(rt.site.clone()),
    };
    let rec = r.records.get(&rt.name).cloned().unwrap_or_default();
    let mut findings: Vec<(Status, String)> = Vec::new();
    let mut details: Vec<String> = Vec::new();
    let mut facts = json!({ "applied": rec.applied, "answered": false });
    match answers(r, &rt.name) {
        Err(e) => {
            findings.push((Status::Down, "does not answer".into()));
            details.push(e);
        }
        Ok(a) => match &a.memory {
            Ok(m) => {
                facts["answered"] = json!(true);
                facts["memory_total_bytes"] = json!(m.total_bytes);
                facts["memory_used_bytes"] = json!(m.used_bytes);
                let pct = m.used_percent();
                if pct >= r.rules.memory_degraded_percent {
                    findings.push((Status::Degraded, format!("memory {pct} % used")));
                }
            }
            Err(e) => {
                facts["answered"] = json!(true);
                details.push(format!("show system memory: {e}"))
            }
        },
    }
    if let Some(e) = &rec.apply_failed {
        findings.push((Status::Degraded, "the last apply failed".into()));
        details.push(format!("apply: {e}"));
    }
    if let Some(d) = rec.drift.as_deref().filter(|d| !d.is_empty()) {
        findings.push((
            Status::Degraded,
            format!(
                "the running configuration drifted from its revision ({} lines)",
                d.lines().count()
            ),
        ));
    }
    if let Some(age) = rec.api_key_age_secs {
        facts["api_key_age_secs"] = json!(age);
        if let Some(max) = r.rules.api_key_max_age_secs.filter(|m| age > *m) {
            findings.push((
                Status::Degraded,
                format!("its API key is {age} s old (over {max} s: rotation interval plus grace)"),
            ));
        }
    }
    if !rec.applied {
        details.push("no revision applied yet".into());
    }
    let status = findings.iter().map(|(s, _)| *s).max().unwrap_or(Status::Ok);
    let reason = if findings.is_empty() {
        if rec.applied {
            "ok".to_string()
        } else {
            "answers; no revision applied yet".to_string()
        }
    } else {
        findings
            .into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let detail = (!details.is_empty()).then(|| details.join("; "));
    let since = bad_since(r, &key, None);
    base.item(status, reason, detail, facts, Some(since))
}

fn hypervisor_item(r: &Round<'_>, name: &str, site: &str) -> Item {
    let key = format!("hypervisor:{name}");
    let base = Base {
        kind: Kind::Hypervisor,
        key: key.clone(),
        device: Some(name.to_string()),
        peer: None,
        tenant: None,
        network: None,
        site: Some(site.to_string()),
    };
    let rec = r.records.get(name).cloned().unwrap_or_default();
    let facts = json!({ "applied": rec.applied, "ovs_collected": false });
    let since = bad_since(r, &key, None);
    match &rec.apply_failed {
        Some(e) => base.item(
            Status::Degraded,
            "the last apply failed",
            Some(format!("apply: {e}")),
            facts,
            Some(since),
        ),
        None => base.item(
            Status::Ok,
            if rec.applied {
                "applied (OVS state not collected)"
            } else {
                "no revision applied yet (OVS state not collected)"
            },
            None,
            facts,
            None,
        ),
    }
}

fn bgp_item(r: &Round<'_>, rt: &RouterExpect, peer: &str, addr: &str) -> Item {
    let key = format!("bgp:{}:{peer}", rt.name);
    let base = Base {
        kind: Kind::Bgp,
        key: key.clone(),
        device: Some(rt.name.clone()),
        peer: Some(peer.to_string()),
        tenant: None,
        network: None,
        site: Some(rt.site.clone()),
    };
    // Expected Established: both routers have a revision applied.
    let expected = applied(r, &rt.name) && applied(r, peer);
    let facts = |state: &str, p: Option<&BgpPeer>| {
        json!({
            "neighbor": addr,
            "expected": expected,
            "state": state,
            "up_down_secs": p.and_then(|p| p.up_down_secs),
            "prefixes": p.and_then(|p| p.prefixes),
        })
    };
    let a = match answers(r, &rt.name) {
        Ok(a) => a,
        Err(e) => {
            let since = bad_since(r, &key, None);
            return base.item(
                Status::Down,
                format!("{} does not answer", rt.name),
                Some(e),
                facts("unknown", None),
                Some(since),
            );
        }
    };
    let peers = match &a.bgp {
        Ok(p) => p,
        Err(e) => {
            let since = bad_since(r, &key, None);
            return base.item(
                Status::Degraded,
                "show bgp summary failed",
                Some(e.clone()),
                facts("unknown", None),
                Some(since),
            );
        }
    };
    let seen = peers.iter().find(|p| p.neighbor == addr);
    let state = seen.map(|p| p.state.as_str()).unwrap_or("not configured");
    if seen.is_some_and(BgpPeer::established) {
        return base.item(Status::Ok, "Established", None, facts(state, seen), None);
    }
    if !expected {
        return base.item(
            Status::Ok,
            format!("{state}; not expected up before both routers have a revision applied"),
            None,
            facts(state, seen),
            None,
        );
    }
    let since = bad_since(r, &key, seen.and_then(|p| p.up_down_secs));
    let down_for = r.now - since;
    let status = if down_for >= r.rules.bgp_down_after_secs {
        Status::Down
    } else {
        Status::Degraded
    };
    base.item(
        status,
        format!("not Established ({state}) for {down_for} s"),
        None,
        facts(state, seen),
        Some(since),
    )
}

fn find_peer<'a>(
    peers: &'a [WgPeerState],
    name: &str,
    public_key: &str,
) -> Option<&'a WgPeerState> {
    if !public_key.is_empty() {
        if let Some(p) = peers.iter().find(|p| p.public_key == public_key) {
            return Some(p);
        }
    }
    peers.iter().find(|p| p.name.as_deref() == Some(name))
}

fn peer_facts(p: Option<&WgPeerState>) -> serde_json::Value {
    json!({
        "handshake_age_secs": p.and_then(|p| p.handshake_age_secs),
        "rx_bytes": p.and_then(|p| p.rx_bytes),
        "tx_bytes": p.and_then(|p| p.tx_bytes),
    })
}

fn mesh_item(r: &Round<'_>, rt: &RouterExpect, p: &crate::expect::PeerExpect) -> Item {
    let key = format!("wireguard:{}:{}", rt.name, p.name);
    let base = Base {
        kind: Kind::Wireguard,
        key: key.clone(),
        device: Some(rt.name.clone()),
        peer: Some(p.name.clone()),
        tenant: None,
        network: None,
        site: Some(rt.site.clone()),
    };
    let since = bad_since(r, &key, None);
    // A hypervisor's flows may be loaded by another agent: its peer is
    // expected live once the router's side is applied.
    let live = applied(r, &rt.name) && (p.kind == "hypervisor" || applied(r, &p.name));
    // `observed`: the router's peer list was read (else the handshake is
    // unknown, not missing).
    let facts_of = |p: Option<&WgPeerState>, observed: bool| {
        let mut f = peer_facts(p);
        f["expected"] = json!(live);
        f["observed"] = json!(observed);
        f
    };
    let peer_facts = |p: Option<&WgPeerState>| facts_of(p, false);
    let a = match answers(r, &rt.name) {
        Ok(a) => a,
        Err(e) => {
            return base.item(
                Status::Down,
                format!("{} does not answer", rt.name),
                Some(e),
                peer_facts(None),
                Some(since),
            )
        }
    };
    let peers = match a.wireguard.get(MESH_INTERFACE) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return base.item(
                Status::Degraded,
                format!("show interfaces wireguard {MESH_INTERFACE} failed"),
                Some(e.clone()),
                peer_facts(None),
                Some(since),
            )
        }
        None => {
            return base.item(
                Status::Degraded,
                "not collected",
                None,
                peer_facts(None),
                Some(since),
            )
        }
    };
    let seen = find_peer(peers, &p.name, &p.public_key);
    let facts = facts_of(seen, true);
    if !live {
        return base.item(
            Status::Ok,
            "not expected up before both ends have a revision applied",
            None,
            facts,
            None,
        );
    }
    let Some(seen) = seen else {
        return base.item(
            Status::Down,
            format!("the peer is not on {MESH_INTERFACE}"),
            None,
            facts,
            Some(since),
        );
    };
    match seen.handshake_age_secs {
        None => base.item(Status::Down, "no handshake yet", None, facts, Some(since)),
        Some(age) if age > r.rules.handshake_max_secs => base.item(
            Status::Down,
            format!(
                "latest handshake {age} s ago (over {} s)",
                r.rules.handshake_max_secs
            ),
            None,
            facts,
            Some(since),
        ),
        Some(age) => base.item(
            Status::Ok,
            format!("latest handshake {age} s ago"),
            None,
            facts,
            None,
        ),
    }
}

fn group_item(r: &Round<'_>, g: &crate::expect::GroupExpect) -> Item {
    let key = format!("vrrp:{}:{}:{}", g.tenant, g.network, g.site);
    let base = Base {
        kind: Kind::Vrrp,
        key: key.clone(),
        device: None,
        peer: None,
        tenant: Some(g.tenant.clone()),
        network: Some(g.network.clone()),
        site: Some(g.site.clone()),
    };
    let since = bad_since(r, &key, None);
    let mut states: Vec<(String, String)> = Vec::new();
    let mut details: Vec<String> = Vec::new();
    for gw in &g.gateways {
        let state = match answers(r, gw) {
            Err(e) => {
                details.push(format!("{gw}: {e}"));
                "unknown (does not answer)".to_string()
            }
            Ok(a) => match &a.vrrp {
                Err(e) => {
                    details.push(format!("{gw}: show vrrp: {e}"));
                    "unknown".to_string()
                }
                Ok(Vrrp::NotRunning) => "not running".into(),
                Ok(Vrrp::NotConfigured) => "not configured".into(),
                Ok(Vrrp::Groups(gs)) => gs
                    .iter()
                    .find(|x| x.name == g.group)
                    .map(|x| x.state.clone())
                    .unwrap_or_else(|| "not configured".into()),
            },
        };
        states.push((gw.clone(), state));
    }
    let live: BTreeSet<&str> = g
        .gateways
        .iter()
        .filter(|gw| applied(r, gw))
        .map(String::as_str)
        .collect();
    let masters: Vec<&str> = states
        .iter()
        .filter(|(_, s)| s == "MASTER")
        .map(|(gw, _)| gw.as_str())
        .collect();
    let facts = json!({
        "gateways": states.iter().map(|(gw, s)| json!({"router": gw, "state": s})).collect::<Vec<_>>(),
        "master": masters,
        // Expected to have a master: a gateway is applied (or one is master).
        "expected": !(live.is_empty() && masters.is_empty()),
    });
    let detail = (!details.is_empty()).then(|| details.join("; "));
    let list = states
        .iter()
        .map(|(gw, s)| format!("{gw} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    if live.is_empty() && masters.is_empty() {
        return base.item(
            Status::Ok,
            "not expected up before its gateways have a revision applied",
            detail,
            facts,
            None,
        );
    }
    match masters.len() {
        0 => base.item(
            Status::Down,
            format!("no master ({list})"),
            detail,
            facts,
            Some(since),
        ),
        1 => {
            let others_ok = states
                .iter()
                .all(|(gw, s)| gw == masters[0] || s == "BACKUP" || !live.contains(gw.as_str()));
            if others_ok {
                base.item(
                    Status::Ok,
                    format!("master {}", masters[0]),
                    detail,
                    facts,
                    None,
                )
            } else {
                base.item(
                    Status::Degraded,
                    format!("master {}, but no backup ready ({list})", masters[0]),
                    detail,
                    facts,
                    Some(since),
                )
            }
        }
        n => base.item(
            Status::Down,
            format!("{n} masters (split brain): {}", masters.join(", ")),
            detail,
            facts,
            Some(since),
        ),
    }
}

fn client_item(r: &Round<'_>, c: &crate::expect::ClientExpect) -> Item {
    let key = format!("client:{}:{}", c.tenant, c.name);
    let base = Base {
        kind: Kind::Client,
        key: key.clone(),
        device: Some(c.router.clone()),
        peer: None,
        tenant: Some(c.tenant.clone()),
        network: None,
        site: None,
    };
    let since = bad_since(r, &key, None);
    let a = match answers(r, &c.router) {
        Ok(a) => a,
        Err(e) => {
            return base.item(
                Status::Down,
                format!("its gateway {} does not answer", c.router),
                Some(e),
                json!({"connected": null}),
                Some(since),
            )
        }
    };
    let peers = match a.wireguard.get(&c.interface) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return base.item(
                Status::Degraded,
                format!("its gateway {} did not say", c.router),
                Some(format!("show interfaces wireguard {}: {e}", c.interface)),
                json!({"connected": null}),
                Some(since),
            )
        }
        None => {
            return base.item(
                Status::Degraded,
                "not collected",
                None,
                json!({"connected": null}),
                Some(since),
            )
        }
    };
    let seen = find_peer(peers, &c.name, &c.public_key);
    let mut facts = peer_facts(seen);
    let connected = seen
        .and_then(|p| p.handshake_age_secs)
        .is_some_and(|a| a <= r.rules.handshake_max_secs);
    facts["connected"] = json!(connected);
    if !applied(r, &c.router) {
        return base.item(
            Status::Ok,
            "not expected before its gateway has a revision applied",
            None,
            facts,
            None,
        );
    }
    if seen.is_none() {
        return base.item(
            Status::Down,
            format!("not configured on its gateway {}", c.router),
            None,
            facts,
            Some(since),
        );
    }
    let reason = if connected {
        "connected".to_string()
    } else {
        format!(
            "not connected (no handshake in {} s)",
            r.rules.handshake_max_secs
        )
    };
    base.item(Status::Ok, reason, None, facts, None)
}

#[cfg(test)]
mod tests;
