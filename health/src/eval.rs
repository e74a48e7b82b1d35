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
//!
//! Items hold no age: what a device says as "for 3 minutes" or "5 s ago"
//! is kept as a Unix time (`state_since`, `handshake_at`,
//! `api_key_since`) and reasons name thresholds, never a count of
//! seconds, so an item that did not change evaluates to the same item
//! round after round and the store rewrites only what changed. Readers
//! compute ages from the times. A time read from a device's text is
//! rounded by it (FRR's `Up/Down` to the minute after a day) and read a
//! little later each round: one within [`drift_tolerance`] of the
//! previous round's is the previous round's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::expect::{Expected, RouterExpect};
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
    /// When they were read (Unix seconds; `None`: the round's `now`):
    /// the ages in them count from it.
    pub at: Option<i64>,
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
    /// When the API key was made (Unix seconds; routers).
    pub api_key_since: Option<i64>,
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

/// What the previous round left of an item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Previous {
    /// Since when it has been not ok (Unix seconds).
    pub bad_since: Option<i64>,
    /// The time it observed: a session's `state_since`, a peer's
    /// `handshake_at` ([`observed_time`]).
    pub at: Option<i64>,
}

/// The previous round's items by key.
pub type PreviousOf<'a> = &'a (dyn Fn(&str) -> Option<Previous> + Sync);

/// The time an item's facts hold, for [`Previous::at`].
pub fn observed_time(facts: &serde_json::Value) -> Option<i64> {
    facts
        .get("state_since")
        .or_else(|| facts.get("handshake_at"))
        .and_then(serde_json::Value::as_i64)
}

/// Facts of links and clients that change without the item changing
/// (a peer's traffic counters): not a reason to store one of the ~85,000
/// links again, stored with it when something else changes. A live peer
/// shakes hands every two minutes (WireGuard's rekey), which changes its
/// `handshake_at`, so its bytes are at most that old; a peer that does
/// not carries no traffic. A router's own interface counters and CPU load
/// ([`crate::vitals`]) are not among them: one item per router, stored
/// whenever they move, so `/metrics` and the device page show the latest
/// round's.
pub const VOLATILE_FACTS: [&str; 2] = ["rx_bytes", "tx_bytes"];

/// How far apart two readings of one time may be and still be the same:
/// a few seconds (the text's second, the time to ask), and a hundredth
/// of the age (FRR prints minutes after a day, hours after a week).
pub fn drift_tolerance(age_secs: u64) -> i64 {
    (age_secs / 100).max(5) as i64
}

/// The inputs of one evaluation.
pub struct Round<'a> {
    pub expected: &'a Expected,
    /// By router name; a router absent was not asked (down).
    pub seen: &'a BTreeMap<String, Seen>,
    /// By device name (routers and hypervisors).
    pub records: &'a BTreeMap<String, Record>,
    /// The previous round's items, by key.
    pub previous: PreviousOf<'a>,
    /// Unix seconds.
    pub now: i64,
    pub rules: Rules,
}

/// Every expected item with its status.
pub fn evaluate(r: &Round<'_>) -> Vec<Item> {
    let mut out = Vec::new();
    for u in units(r.expected) {
        evaluate_unit(r, u, &mut |i| out.push(i));
    }
    out
}

/// A part of the expectations evaluated on its own: a router with its
/// sessions and mesh peers, a hypervisor, a gateway group, a client. The
/// collector evaluates one at a time and keeps only what changed, so a
/// round never holds every item at once.
#[derive(Clone, Copy, Debug)]
pub enum Unit<'a> {
    Router(&'a RouterExpect),
    Hypervisor(&'a crate::expect::HypervisorExpect),
    Group(&'a crate::expect::GroupExpect),
    Client(&'a crate::expect::ClientExpect),
}

/// The units of `e`, in [`evaluate`]'s order.
pub fn units(e: &Expected) -> impl Iterator<Item = Unit<'_>> {
    e.routers
        .iter()
        .map(Unit::Router)
        .chain(e.hypervisors.iter().map(Unit::Hypervisor))
        .chain(e.groups.iter().map(Unit::Group))
        .chain(e.clients.iter().map(Unit::Client))
}

/// The items of one unit, each handed to `emit`.
pub fn evaluate_unit(r: &Round<'_>, u: Unit<'_>, emit: &mut dyn FnMut(Item)) {
    match u {
        Unit::Router(rt) => {
            emit(router_item(r, rt));
            for (peer, addr) in &rt.bgp {
                emit(bgp_item(r, rt, peer, &addr.to_string()));
            }
            for p in &rt.mesh_peers {
                emit(mesh_item(r, rt, p));
            }
        }
        Unit::Hypervisor(h) => emit(hypervisor_item(r, &h.name, &h.site)),
        Unit::Group(g) => emit(group_item(r, g)),
        Unit::Client(c) => emit(client_item(r, c)),
    }
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
/// (when the device says since when it has been so) earlier.
fn bad_since(r: &Round<'_>, key: &str, since: Option<i64>) -> i64 {
    let mut t = (r.previous)(key).and_then(|p| p.bad_since).unwrap_or(r.now);
    if let Some(s) = since {
        t = t.min(s);
    }
    t
}

/// A time `age` seconds before the answers were read, or the previous
/// round's reading of it when that is within [`drift_tolerance`].
fn time_of(r: &Round<'_>, a: &Answers, key: &str, age: Option<u64>) -> Option<i64> {
    let age = age?;
    let t = a.at.unwrap_or(r.now) - age as i64;
    match (r.previous)(key).and_then(|p| p.at) {
        Some(p) if (p - t).abs() <= drift_tolerance(age) => Some(p),
        _ => Some(t),
    }
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
    if let Some(since) = rec.api_key_since {
        facts["api_key_since"] = json!(since);
        let age = r.now - since;
        if let Some(max) = r.rules.api_key_max_age_secs.filter(|m| age > *m) {
            findings.push((
                Status::Degraded,
                format!("its API key is over {max} s old (rotation interval plus grace)"),
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
            // Its bridge's statistics are facts ([`crate::ovs`]), never reasons.
            if rec.applied {
                "applied"
            } else {
                "no revision applied yet"
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
    let facts = |state: &str, p: Option<&BgpPeer>, since: Option<i64>| {
        json!({
            "neighbor": addr,
            "expected": expected,
            "state": state,
            "state_since": since,
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
                facts("unknown", None, None),
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
                facts("unknown", None, None),
                Some(since),
            );
        }
    };
    let seen = peers.iter().find(|p| p.neighbor == addr);
    let state = seen.map(|p| p.state.as_str()).unwrap_or("not configured");
    let state_since = time_of(r, a, &key, seen.and_then(|p| p.up_down_secs));
    if seen.is_some_and(BgpPeer::established) {
        return base.item(
            Status::Ok,
            "Established",
            None,
            facts(state, seen, state_since),
            None,
        );
    }
    if !expected {
        return base.item(
            Status::Ok,
            format!("{state}; not expected up before both routers have a revision applied"),
            None,
            facts(state, seen, state_since),
            None,
        );
    }
    let since = bad_since(r, &key, state_since);
    let limit = r.rules.bgp_down_after_secs;
    let (status, reason) = if r.now - since >= limit {
        (
            Status::Down,
            format!("not Established ({state}) for over {limit} s"),
        )
    } else {
        (Status::Degraded, format!("not Established ({state})"))
    };
    base.item(
        status,
        reason,
        None,
        facts(state, seen, state_since),
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

/// A peer's facts: `handshake_at` (Unix seconds, null: never or not
/// read) and its traffic counters.
fn peer_facts(p: Option<&WgPeerState>, handshake_at: Option<i64>) -> serde_json::Value {
    json!({
        "handshake_at": handshake_at,
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
    let facts_of = |p: Option<&WgPeerState>, at: Option<i64>, observed: bool| {
        let mut f = peer_facts(p, at);
        f["expected"] = json!(live);
        f["observed"] = json!(observed);
        f
    };
    let peer_facts = |p: Option<&WgPeerState>| facts_of(p, None, false);
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
    let mesh = rt.mesh_interface.as_str();
    let peers = match a.wireguard.get(mesh) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return base.item(
                Status::Degraded,
                format!("show interfaces wireguard {mesh} failed"),
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
    let age = seen.and_then(|p| p.handshake_age_secs);
    let facts = facts_of(seen, time_of(r, a, &key, age), true);
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
            format!("the peer is not on {mesh}"),
            None,
            facts,
            Some(since),
        );
    };
    let max = r.rules.handshake_max_secs;
    match seen.handshake_age_secs {
        None => base.item(Status::Down, "no handshake yet", None, facts, Some(since)),
        Some(age) if age > max => base.item(
            Status::Down,
            format!("latest handshake over {max} s ago"),
            None,
            facts,
            Some(since),
        ),
        Some(_) => base.item(
            Status::Ok,
            format!("latest handshake within {max} s"),
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
    let age = seen.and_then(|p| p.handshake_age_secs);
    let mut facts = peer_facts(seen, time_of(r, a, &key, age));
    let connected = age.is_some_and(|a| a <= r.rules.handshake_max_secs);
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
