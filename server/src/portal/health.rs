//! Network health on the portal's pages (issue 18, item 5): the tenant
//! dashboard's summary and topology picture, and the console's device
//! health page (`/admin/health`) with its filters and platform map. Both
//! read `api::network_health::report`, the API's own read: a tenant gets
//! its gateway groups and clients only (the store selects by its id and
//! kind) and never a device's error (`detail` is dropped there); platform
//! admins get every item. The pictures are laid out here, on the server,
//! as `app::health::Diagram`s the page draws as inline SVG.

use crate::api::network_health::{report, HealthItem, HealthQuery, HealthReport, MAX_LIMIT};
use crate::problem::ApiResult;
use crate::state::AppState;
use crate::tenancy::TenantScope;
use app::health::{
    AdminHealth, AlertRow, ClientHealthRow, Counts, DeviceHealth, Diagram, GroupRow, ItemRow,
    Shape, StatTable, TenantHealth,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use vxguard_store::health as store;

/// Rows a page of the console's table shows (the worst first).
const MAX_ROWS: usize = 500;

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago".
pub(super) fn ago(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s} s ago"),
        120..=7_199 => format!("{} min ago", s / 60),
        7_200..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

fn since(now: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (now - t).num_seconds().max(0)
}

/// Bytes in binary units: "512 B", "1.2 KiB", "3.4 MiB".
pub(super) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

fn counts(c: &crate::api::network_health::HealthCounts) -> Counts {
    Counts {
        ok: c.ok,
        degraded: c.degraded,
        down: c.down,
    }
}

fn severity(status: &str) -> u8 {
    match status {
        "ok" => 0,
        "degraded" => 1,
        _ => 2,
    }
}

/// The status word a label shows beside the colour.
fn word(status: &str) -> &'static str {
    match status {
        "ok" => "✓ ok",
        "degraded" => "! degraded",
        "down" => "✕ down",
        _ => "? unknown",
    }
}

/// A label no wider than `max` characters (the full text is the tip).
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn text(x: i32, y: i32, class: &str, anchor: &str, t: impl Into<String>) -> Shape {
    Shape::Text {
        x,
        y,
        class: class.into(),
        anchor: anchor.into(),
        text: t.into(),
    }
}

fn rect(x: i32, y: i32, w: i32, h: i32, class: impl Into<String>, tip: Option<String>) -> Shape {
    Shape::Rect {
        x,
        y,
        w,
        h,
        class: class.into(),
        tip,
    }
}

fn line(a: (i32, i32), b: (i32, i32), class: impl Into<String>, tip: Option<String>) -> Shape {
    Shape::Line {
        x1: a.0,
        y1: a.1,
        x2: b.0,
        y2: b.1,
        class: class.into(),
        tip,
    }
}

/// A node: a box with its name and a second line (the status word).
fn node(x: i32, y: i32, w: i32, class: &str, name: &str, second: &str, tip: String) -> Vec<Shape> {
    vec![
        rect(x, y, w, NODE_H, format!("node {class}"), Some(tip)),
        text(x + w / 2, y + 18, "name", "middle", short(name, 16)),
        text(x + w / 2, y + 35, "state", "middle", second),
    ]
}

const NODE_W: i32 = 128;
const NODE_H: i32 = 44;
const GAP: i32 = 16;
/// Nodes per row in a site's column.
const PER_ROW: usize = 3;
/// Nodes of one kind drawn per site (more: "+N more").
const MAX_NODES: usize = 12;

fn number(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_u64().map(|n| n as i64))
}

/// A client's last handshake, relative to now.
fn handshake(i: &HealthItem, now: DateTime<Utc>) -> String {
    match number(&i.facts["handshake_at"]) {
        Some(t) => ago(now.timestamp() - t),
        None if i.facts["connected"].is_null() => "unknown".into(),
        None => "never".into(),
    }
}

fn traffic(i: &HealthItem) -> String {
    let (rx, tx) = (i.facts["rx_bytes"].as_u64(), i.facts["tx_bytes"].as_u64());
    match (rx, tx) {
        (None, None) => String::new(),
        (rx, tx) => format!(
            "{} from it, {} to it",
            bytes(rx.unwrap_or(0)),
            bytes(tx.unwrap_or(0))
        ),
    }
}

/// The dashboard's health: the tenant's own items only (the API's read for
/// `GET /api/v1/tenants/{tenant}/health`). `site_of`: each router's site.
pub async fn tenant(
    st: &AppState,
    scope: &TenantScope,
    site_of: &BTreeMap<String, String>,
) -> ApiResult<TenantHealth> {
    let r = report(
        st,
        Some(scope.id()),
        &HealthQuery {
            limit: Some(MAX_LIMIT),
            ..Default::default()
        },
    )
    .await?;
    let now = Utc::now();
    let mut h = tenant_health(&scope.tenant.slug, r, site_of, now);
    let rows =
        vxguard_store::traffic::of_tenant(st.store.pool(), scope.id(), TRAFFIC_MINUTES as i32)
            .await?;
    let networks: Vec<String> = h.groups.iter().map(|g| g.network.clone()).collect();
    (h.traffic, h.traffic_none) = traffic_plots(&networks, &rows, now);
    Ok(h)
}

/// Minutes the dashboard's traffic plots cover.
const TRAFFIC_MINUTES: i64 = 60;

/// Each network's bytes per second through its gateways' bridges (summed
/// over its gateways), a point per minute: `into` the network (what the
/// bridge sent) and `out of` it (what it received). Rates come from the
/// differences of successive samples of one gateway; a counter that went
/// back (a router restarted) gives no point. A network without a point
/// gets no plot (an empty frame says nothing) but is named in the second
/// list, which the dashboard says in words.
pub fn traffic_plots(
    networks: &[String],
    rows: &[vxguard_store::traffic::Row],
    now: DateTime<Utc>,
) -> (Vec<Diagram>, Vec<String>) {
    let start = now.timestamp().div_euclid(60) * 60 - TRAFFIC_MINUTES * 60;
    let n = TRAFFIC_MINUTES as usize + 1;
    // network -> minute -> (into, out of) in bytes/s; every network with
    // gateways has a plot, one without figures says so.
    let mut by_net: BTreeMap<&str, Vec<Option<(f64, f64)>>> = networks
        .iter()
        .map(|n| (n.as_str(), vec![None; TRAFFIC_MINUTES as usize + 1]))
        .collect();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.network != b.network || a.router != b.router {
            continue;
        }
        let secs = (b.at - a.at).num_milliseconds() as f64 / 1000.0;
        let (din, dout) = (b.tx_bytes - a.tx_bytes, b.rx_bytes - a.rx_bytes);
        let series = by_net
            .entry(b.network.as_str())
            .or_insert_with(|| vec![None; n]);
        let m = (b.at.timestamp() - start).div_euclid(60);
        if secs <= 0.0 || din < 0 || dout < 0 || !(0..n as i64).contains(&m) {
            continue;
        }
        let slot = series[m as usize].get_or_insert((0.0, 0.0));
        slot.0 += din as f64 / secs;
        slot.1 += dout as f64 / secs;
    }
    let (measured, none): (Vec<_>, Vec<_>) = by_net
        .into_iter()
        .partition(|(_, pts)| pts.iter().any(Option::is_some));
    (
        measured
            .into_iter()
            .map(|(net, pts)| traffic_plot(net, &pts, start))
            .collect(),
        none.into_iter().map(|(net, _)| net.to_string()).collect(),
    )
}

/// Bytes per second in binary units: "0 B/s", "1.2 KiB/s".
fn rate(v: f64) -> String {
    format!("{}/s", bytes(v.round().max(0.0) as u64))
}

fn traffic_plot(network: &str, pts: &[Option<(f64, f64)>], start: i64) -> Diagram {
    const LEFT: i32 = 78;
    const W: i32 = 600;
    const TOP: i32 = 12;
    const H: i32 = 110;
    let peak = pts
        .iter()
        .flatten()
        .map(|(a, b)| a.max(*b))
        .fold(0.0f64, f64::max);
    // The scale's top: the peak rounded up to 1, 2 or 5 of its power of ten.
    let top = if peak <= 0.0 {
        1024.0
    } else {
        let p = 10f64.powf(peak.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|k| k * p)
            .find(|v| *v >= peak)
            .unwrap_or(peak)
    };
    let step = (W - LEFT) as f64 / (pts.len().max(2) - 1) as f64;
    let x = |i: usize| LEFT + (i as f64 * step).round() as i32;
    let y = |v: f64| TOP + H - ((v / top) * H as f64).round() as i32;
    let hhmm = |i: usize| {
        chrono::DateTime::from_timestamp(start + i as i64 * 60, 0)
            .map(|t| t.format("%H:%M UTC").to_string())
            .unwrap_or_default()
    };
    let mut shapes = vec![
        Shape::Line {
            x1: LEFT,
            y1: TOP,
            x2: LEFT,
            y2: TOP + H,
            class: "axis".into(),
            tip: None,
        },
        Shape::Line {
            x1: LEFT,
            y1: TOP + H,
            x2: W,
            y2: TOP + H,
            class: "axis".into(),
            tip: None,
        },
        Shape::Text {
            x: LEFT - 6,
            y: TOP + 4,
            class: "tick".into(),
            anchor: "end".into(),
            text: rate(top),
        },
        Shape::Text {
            x: LEFT - 6,
            y: TOP + H,
            class: "tick".into(),
            anchor: "end".into(),
            text: "0".into(),
        },
        Shape::Text {
            x: LEFT,
            y: TOP + H + 16,
            class: "tick".into(),
            anchor: "start".into(),
            text: format!("{TRAFFIC_MINUTES} min ago"),
        },
        Shape::Text {
            x: W,
            y: TOP + H + 16,
            class: "tick".into(),
            anchor: "end".into(),
            text: "now".into(),
        },
        // Which network, in words on the picture itself.
        Shape::Text {
            x: LEFT + 8,
            y: TOP + 10,
            class: "tick".into(),
            anchor: "start".into(),
            text: format!("network {network}"),
        },
    ];
    let mut seen = 0;
    for (k, class, word) in [(0usize, "traffic-in", "into"), (1, "traffic-out", "out of")] {
        for i in 1..pts.len() {
            let (Some(a), Some(b)) = (pts[i - 1], pts[i]) else {
                continue;
            };
            let (va, vb) = if k == 0 { (a.0, b.0) } else { (a.1, b.1) };
            seen += 1;
            shapes.push(Shape::Line {
                x1: x(i - 1),
                y1: y(va),
                x2: x(i),
                y2: y(vb),
                class: class.into(),
                tip: Some(format!("{}: {} {word} {network}", hhmm(i), rate(vb))),
            });
        }
        // A lone point (no neighbour to join) as a short tick.
        for i in 0..pts.len() {
            let lone = pts[i].is_some()
                && (i == 0 || pts[i - 1].is_none())
                && pts.get(i + 1).is_none_or(|p| p.is_none());
            if let (true, Some(p)) = (lone, pts[i]) {
                let v = if k == 0 { p.0 } else { p.1 };
                seen += 1;
                shapes.push(Shape::Line {
                    x1: x(i) - 3,
                    y1: y(v),
                    x2: x(i) + 3,
                    y2: y(v),
                    class: class.into(),
                    tip: Some(format!("{}: {} {word} {network}", hhmm(i), rate(v))),
                });
            }
        }
    }
    let last = pts.iter().rev().flatten().next();
    let desc = match last {
        Some((a, b)) if seen > 0 => format!(
            "Bytes per second into and out of network {network} through its gateways over the last {TRAFFIC_MINUTES} minutes; latest {} in, {} out; peak {}.",
            rate(*a),
            rate(*b),
            rate(peak)
        ),
        _ => format!(
            "No traffic figures for network {network} in the last {TRAFFIC_MINUTES} minutes yet (its gateways' counters are read each collection round)."
        ),
    };
    Diagram {
        id: format!("traffic-{network}"),
        title: format!("Traffic of network {network}, last hour"),
        desc,
        width: W as u32 + 4,
        height: (TOP + H + 22) as u32,
        shapes,
    }
}

pub fn tenant_health(
    slug: &str,
    r: HealthReport,
    site_of: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> TenantHealth {
    let Some(at) = r.collected_at else {
        return TenantHealth::default();
    };
    let mut groups = Vec::new();
    let mut clients = Vec::new();
    for i in &r.items {
        match i.kind.as_str() {
            "vrrp" => groups.push(GroupRow {
                network: i.network.clone().unwrap_or_default(),
                site: i.site.clone().unwrap_or_default(),
                status: i.status.clone(),
                reason: i.reason.clone(),
                gateways: i.facts["gateways"]
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .map(|g| {
                        (
                            g["router"].as_str().unwrap_or_default().to_string(),
                            g["state"].as_str().unwrap_or("unknown").to_string(),
                        )
                    })
                    .collect(),
                masters: super::data::strings(&i.facts["master"]),
            }),
            "client" => clients.push(ClientHealthRow {
                name: i
                    .key
                    .rsplit_once(':')
                    .map(|(_, n)| n.to_string())
                    .unwrap_or_default(),
                router: i.device.clone(),
                status: i.status.clone(),
                reason: i.reason.clone(),
                connected: i.facts["connected"].as_bool(),
                handshake: handshake(i, now),
                traffic: traffic(i),
            }),
            _ => {}
        }
    }
    groups.sort_by(|a, b| (&a.network, &a.site).cmp(&(&b.network, &b.site)));
    clients.sort_by(|a, b| a.name.cmp(&b.name));
    let map = (!groups.is_empty() || !clients.is_empty())
        .then(|| tenant_map(slug, &groups, &clients, site_of));
    TenantHealth {
        collected_at: Some(super::data::when(at)),
        collected_ago: Some(ago(since(now, at))),
        counts: counts(&r.counts),
        groups,
        clients,
        map,
        traffic: Vec::new(),
        traffic_none: Vec::new(),
    }
}

/// A gateway's state as the tenant's groups saw it: `ok` when it holds
/// its VRRP role, `down` when it did not answer, `degraded` otherwise.
fn gateway_status(states: &[&str]) -> &'static str {
    if states.iter().any(|s| s.contains("does not answer")) {
        "down"
    } else if states.iter().all(|s| *s == "MASTER" || *s == "BACKUP") {
        "ok"
    } else {
        "degraded"
    }
}

/// The tenant's picture: one column per site; in each, its networks (top,
/// coloured by their gateway group's status), its gateways (middle) and
/// the clients on them (bottom). A network's line to its master is solid,
/// to a backup thin, to a gateway in neither state dotted.
fn tenant_map(
    slug: &str,
    groups: &[GroupRow],
    clients: &[ClientHealthRow],
    site_of: &BTreeMap<String, String>,
) -> Diagram {
    // Per site: networks (groups), gateways and clients.
    let mut sites: BTreeMap<String, (Vec<&GroupRow>, BTreeSet<String>, Vec<&ClientHealthRow>)> =
        BTreeMap::new();
    let mut gw_states: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for g in groups {
        let e = sites.entry(g.site.clone()).or_default();
        e.0.push(g);
        for (r, s) in &g.gateways {
            e.1.insert(r.clone());
            gw_states.entry(r.clone()).or_default().push(s);
        }
    }
    for c in clients {
        let router = c.router.clone().unwrap_or_default();
        let site = site_of.get(&router).cloned().unwrap_or_else(|| "?".into());
        let e = sites.entry(site).or_default();
        e.1.insert(router);
        e.2.push(c);
    }
    let rows = |n: usize| n.min(MAX_NODES).div_ceil(PER_ROW).max(1) as i32;
    let slot = NODE_W + GAP;
    let band = |n: usize| rows(n) * (NODE_H + GAP) + if n > MAX_NODES { 16 } else { 0 };
    // Bands of the same height in every column, so rows line up.
    let (nets_h, gws_h, cls_h) = sites.values().fold((0, 0, 0), |m, (g, r, c)| {
        (
            m.0.max(band(g.len())),
            m.1.max(band(r.len())),
            m.2.max(band(c.len())),
        )
    });
    let has_clients = sites.values().any(|s| !s.2.is_empty());
    let top = 40;
    let nets_y = top;
    let gws_y = nets_y + nets_h + 36;
    let cls_y = gws_y + gws_h + 36;
    let height = if has_clients {
        cls_y + cls_h
    } else {
        gws_y + gws_h
    } + 12;
    // Drawn in order: the sites' backgrounds, the lines, the nodes.
    let mut backs = Vec::new();
    let mut shapes = Vec::new();
    let mut lines = Vec::new();
    let mut x0 = 12;
    let mut desc = Vec::new();
    for (site, (nets, gws, cls)) in &sites {
        let cols = nets.len().max(gws.len()).max(cls.len()).clamp(1, PER_ROW) as i32;
        let w = cols * slot - GAP + 24;
        backs.push(rect(x0, 8, w, height - 12, "site", None));
        backs.push(text(
            x0 + 12,
            28,
            "site-name",
            "start",
            format!("site {site}"),
        ));
        let at = |i: usize, y: i32| {
            let (r, c) = ((i / PER_ROW) as i32, (i % PER_ROW) as i32);
            (x0 + 12 + c * slot, y + r * (NODE_H + GAP))
        };
        let mut gw_pos: BTreeMap<&str, (i32, i32)> = BTreeMap::new();
        for (i, r) in gws.iter().take(MAX_NODES).enumerate() {
            let (x, y) = at(i, gws_y);
            gw_pos.insert(r, (x + NODE_W / 2, y));
            let states = gw_states.get(r).cloned().unwrap_or_default();
            let (class, second) = if states.is_empty() {
                ("st-unknown", "client gateway".to_string())
            } else {
                let st = gateway_status(&states);
                let masters = states.iter().filter(|s| **s == "MASTER").count();
                let role = if masters > 1 {
                    format!(
                        "{} master ×{masters}",
                        &word(st)[..word(st).find(' ').unwrap()]
                    )
                } else if masters == 1 {
                    format!("{} master", &word(st)[..word(st).find(' ').unwrap()])
                } else {
                    word(st).to_string()
                };
                (
                    match st {
                        "ok" => "st-ok",
                        "degraded" => "st-degraded",
                        _ => "st-down",
                    },
                    role,
                )
            };
            let tip = format!("gateway {r} at {site}: {}", states.join(", "));
            shapes.extend(node(x, y, NODE_W, class, r, &second, tip));
        }
        for (i, g) in nets.iter().take(MAX_NODES).enumerate() {
            let (x, y) = at(i, nets_y);
            let tip = format!(
                "network {} at {site}: {} ({})",
                g.network, g.status, g.reason
            );
            desc.push(format!("network {} at {site} {}", g.network, g.status));
            for (r, s) in &g.gateways {
                if let Some(&(gx, gy)) = gw_pos.get(r.as_str()) {
                    let class = match s.as_str() {
                        "MASTER" => "link master",
                        "BACKUP" => "link backup",
                        _ => "link st-down",
                    };
                    lines.push(line(
                        (x + NODE_W / 2, y + NODE_H),
                        (gx, gy),
                        class,
                        Some(format!("{} → {r}: {}", g.network, s.to_lowercase())),
                    ));
                }
            }
            shapes.extend(node(
                x,
                y,
                NODE_W,
                &format!("st-{}", g.status),
                &g.network,
                word(&g.status),
                tip,
            ));
        }
        for (i, c) in cls.iter().take(MAX_NODES).enumerate() {
            let (x, y) = at(i, cls_y);
            let (class, second) = match (c.status.as_str(), c.connected) {
                ("ok", Some(true)) => ("st-ok", "● connected"),
                ("ok", _) => ("st-idle", "○ not connected"),
                ("degraded", _) => ("st-degraded", "! degraded"),
                _ => ("st-down", "✕ down"),
            };
            desc.push(format!(
                "client {} {}",
                c.name,
                second.split_once(' ').map_or(second, |x| x.1)
            ));
            let router = c.router.as_deref().unwrap_or_default();
            if let Some(&(gx, gy)) = gw_pos.get(router) {
                lines.push(line(
                    (x + NODE_W / 2, y),
                    (gx, gy + NODE_H),
                    format!("link {class}"),
                    Some(format!("{} via {router}", c.name)),
                ));
            }
            let tip = format!("client {} via {router}: {}", c.name, c.reason);
            shapes.extend(node(x, y, NODE_W, class, &c.name, second, tip));
        }
        for (n, y) in [
            (nets.len(), nets_y + nets_h - 14),
            (gws.len(), gws_y + gws_h - 14),
            (cls.len(), cls_y + cls_h - 14),
        ] {
            if n > MAX_NODES {
                shapes.push(text(
                    x0 + 12,
                    y,
                    "more",
                    "start",
                    format!("+{} more (see the tables)", n - MAX_NODES),
                ));
            }
        }
        x0 += w + 16;
    }
    backs.extend(lines);
    backs.extend(shapes);
    Diagram {
        id: "topology".into(),
        title: format!("Topology of {slug}: sites, gateways, networks and clients"),
        desc: if desc.is_empty() {
            "Nothing to draw yet.".into()
        } else {
            desc.join("; ")
        },
        width: (x0 - 4).max(200) as u32,
        height: height as u32,
        shapes: backs,
    }
}

/// The console's filters (`?status=&kind=&site=&router=&after=`).
#[derive(Default)]
struct Filters {
    status: String,
    kind: String,
    site: String,
    router: String,
    after: String,
}

impl Filters {
    /// A value no item can have (an unknown status or kind) matches
    /// nothing rather than everything.
    fn impossible(&self) -> bool {
        (!self.status.is_empty() && vxguard_health::Status::parse(&self.status).is_none())
            || (!self.kind.is_empty() && vxguard_health::Kind::parse(&self.kind).is_none())
    }

    fn query(&self) -> HealthQuery {
        let some = |v: &String| (!v.is_empty()).then(|| v.clone());
        HealthQuery {
            status: some(&self.status),
            kind: some(&self.kind),
            site: some(&self.site),
            router: some(&self.router),
            after: some(&self.after),
            limit: Some(MAX_ROWS as u32),
            history_minutes: None,
        }
    }

    /// This page's address with another `after`.
    fn href(&self, after: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("kind", &self.kind),
            ("site", &self.site),
            ("router", &self.router),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if !after.is_empty() {
            q.append_pair("after", after);
        }
        let q = q.finish();
        if q.is_empty() {
            "/admin/health".into()
        } else {
            format!("/admin/health?{q}")
        }
    }
}

/// The console page of the device an item is seen on.
fn device_of(i: &HealthItem) -> Option<(String, String)> {
    let d = i.device.clone()?;
    Some(match i.kind.as_str() {
        "hypervisor" => ("hypervisor".into(), d),
        _ => ("router".into(), d),
    })
}

pub fn item_row(i: HealthItem, now: DateTime<Utc>) -> ItemRow {
    ItemRow {
        device: device_of(&i),
        since: ago(since(now, i.since)),
        key: i.key,
        kind: i.kind,
        peer: i.peer,
        tenant: i.tenant,
        network: i.network,
        site: i.site,
        status: i.status,
        reason: i.reason,
        detail: i.detail,
    }
}

/// The console's page: `page` the filtered items (already one page of
/// them, worst first), `devices` every router and hypervisor and `pairs`
/// the mesh between sites (the map).
fn admin_health(
    page: HealthReport,
    devices: &[HealthItem],
    pairs: &[store::MeshPair],
    f: Filters,
    now: DateTime<Utc>,
) -> AdminHealth {
    let kinds = ["router", "hypervisor", "bgp", "wireguard", "vrrp", "client"]
        .map(String::from)
        .to_vec();
    let sites: BTreeSet<String> = devices.iter().filter_map(|i| i.site.clone()).collect();
    let map = (!devices.is_empty()).then(|| platform_map(devices, pairs, now));
    let next = page.next.as_deref().map(|n| f.href(n));
    let first = (!f.after.is_empty()).then(|| f.href(""));
    AdminHealth {
        collected_at: page.collected_at.map(super::data::when),
        collected_ago: page.collected_at.map(|at| ago(since(now, at))),
        counts: counts(&page.counts),
        status: f.status,
        kind: f.kind,
        site: f.site,
        router: f.router,
        kinds,
        sites: sites.into_iter().collect(),
        items: page.items.into_iter().map(|i| item_row(i, now)).collect(),
        matched: page.total,
        next,
        first,
        map,
        device: None,
        alerts: Vec::new(),
    }
}

/// Instances of an alert the console names (the count says the rest).
const ALERT_EXAMPLES: i64 = 5;

/// The alerts firing now, from the collected items and the rule file's
/// default thresholds (`vxguard monitoring rules`), one row per alert.
async fn alerts(st: &AppState, now: DateTime<Utc>) -> ApiResult<Vec<AlertRow>> {
    let t = vxguard_monitoring::Thresholds::default();
    let rules = store::AlertRules {
        handshake_max_secs: t.handshake_max_secs as i64,
        memory_warning: t.memory_warning,
        memory_critical: t.memory_critical,
        api_key_max_age_secs: t.api_key_max_age_secs as i64,
    };
    let mut out: Vec<AlertRow> = Vec::new();
    for f in store::firing(st.store.pool(), rules, ALERT_EXAMPLES).await? {
        let mut what = match (f.tenant.as_deref(), f.network.as_deref()) {
            (Some(t), Some(n)) => format!("{t}/{n}"),
            (Some(t), None) => format!("{t}: {}", f.key.rsplit(':').next().unwrap_or("")),
            _ => f.device.clone().unwrap_or_else(|| f.key.clone()),
        };
        if let Some(p) = &f.peer {
            what.push_str(&format!(" → {p}"));
        }
        if let Some(site) = &f.site {
            what.push_str(&format!(" ({site})"));
        }
        if let Some(at) = f.since {
            what.push_str(&format!(", firing since {}", ago(since(now, at))));
        }
        match out.last_mut() {
            Some(a) if a.alert == f.alert => a.examples.push(what),
            _ => out.push(AlertRow {
                alert: f.alert,
                severity: f.severity,
                instances: f.instances as usize,
                examples: vec![what],
            }),
        }
    }
    Ok(out)
}

/// The mesh between two sites (or within one), as the store counted it.
struct Pair<'a>(&'a store::MeshPair, DateTime<Utc>);

impl Pair<'_> {
    fn class(&self) -> &'static str {
        ["st-ok", "st-degraded", "st-down"][self.0.worst.clamp(0, 2) as usize]
    }

    fn label(&self) -> String {
        let p = self.0;
        let ok = format!("{}/{} ok", p.links - p.bad, p.links);
        match p.oldest_handshake_at {
            Some(t) => format!("{ok} · oldest {} s", (self.1.timestamp() - t).max(0)),
            None => format!("{ok} · no handshake"),
        }
    }
}

/// The platform map: each site a box with its routers and hypervisors
/// (coloured by their own status, linking to their pages), sites on a
/// ring, and one line per pair of sites for the WireGuard mesh between
/// them, coloured by the worst of its links (a link is down when its
/// handshake is older than the limit) and labelled with how many are ok
/// and the oldest handshake: N² links would be unreadable at 200 routers.
fn platform_map(items: &[HealthItem], mesh: &[store::MeshPair], now: DateTime<Utc>) -> Diagram {
    let mut devices: BTreeMap<&str, Vec<&HealthItem>> = BTreeMap::new();
    for i in items {
        if let ("router" | "hypervisor", Some(s)) = (i.kind.as_str(), &i.site) {
            devices.entry(s).or_default().push(i);
        }
    }
    let pairs: BTreeMap<(&str, &str), Pair> = mesh
        .iter()
        .map(|p| ((p.a.as_str(), p.b.as_str()), Pair(p, now)))
        .collect();
    const CHIPS: usize = 8;
    const W: i32 = 276;
    let chip_rows = devices
        .values()
        .map(|d| d.len().min(CHIPS).div_ceil(2))
        .max()
        .unwrap_or(0) as i32;
    let h = 62 + chip_rows * 30 + 22;
    let n = devices.len().max(1);
    // Centres on a ring far enough apart for a label between neighbours.
    let step = std::f64::consts::TAU / n as f64;
    let r = if n == 1 {
        0.0
    } else {
        (W.max(h) + 190) as f64 / (2.0 * (step / 2.0).sin())
    };
    let centres: Vec<(f64, f64)> = (0..n)
        .map(|k| {
            let a = std::f64::consts::PI + step * k as f64;
            (r * a.cos(), r * a.sin())
        })
        .collect();
    let (minx, maxx) = centres
        .iter()
        .fold((f64::MAX, f64::MIN), |m, c| (m.0.min(c.0), m.1.max(c.0)));
    let (miny, maxy) = centres
        .iter()
        .fold((f64::MAX, f64::MIN), |m, c| (m.0.min(c.1), m.1.max(c.1)));
    let pad = 16;
    let ox = -minx as i32 + W / 2 + pad;
    let oy = -miny as i32 + h / 2 + pad;
    let width = (maxx - minx) as i32 + W + 2 * pad;
    let height = (maxy - miny) as i32 + h + 2 * pad;
    let centre: BTreeMap<&str, (i32, i32)> = devices
        .keys()
        .zip(&centres)
        .map(|(s, c)| (*s, (c.0 as i32 + ox, c.1 as i32 + oy)))
        .collect();
    let mut lines = Vec::new();
    let mut labels = Vec::new();
    let mut shapes = Vec::new();
    let mut desc = Vec::new();
    for ((a, b), p) in &pairs {
        if a == b {
            continue;
        }
        let (Some(&ca), Some(&cb)) = (centre.get(a), centre.get(b)) else {
            continue;
        };
        let tip = format!("mesh {a} ↔ {b}: {}", p.label());
        desc.push(tip.clone());
        lines.push(line(ca, cb, format!("link mesh {}", p.class()), Some(tip)));
        let (mx, my) = ((ca.0 + cb.0) / 2, (ca.1 + cb.1) / 2);
        labels.push(text(mx, my - 4, "pair halo", "middle", p.label()));
        if p.0.never > 0 {
            labels.push(text(
                mx,
                my + 12,
                "pair halo",
                "middle",
                format!("{} never shook hands", p.0.never),
            ));
        }
    }
    for (site, devs) in &devices {
        let (cx, cy) = centre[site];
        let (x, y) = (cx - W / 2, cy - h / 2);
        let worst = devs.iter().map(|d| severity(&d.status)).max().unwrap_or(0);
        let class = ["st-ok", "st-degraded", "st-down"][worst as usize];
        let bad = devs.iter().filter(|d| d.status != "ok").count();
        shapes.push(rect(
            x,
            y,
            W,
            h,
            format!("site-box {class}"),
            Some(format!(
                "site {site}: {bad} of {} devices not ok",
                devs.len()
            )),
        ));
        shapes.push(text(
            x + 10,
            y + 20,
            "site-name",
            "start",
            format!("site {site}"),
        ));
        let inner = pairs.get(&(*site, *site));
        shapes.push(text(
            x + 10,
            y + 38,
            "state",
            "start",
            match inner {
                Some(p) => format!("mesh within: {}", p.label()),
                None => format!("{} devices", devs.len()),
            },
        ));
        desc.push(format!(
            "site {site}: {} of {} devices ok",
            devs.len() - bad,
            devs.len()
        ));
        for (k, d) in devs.iter().take(CHIPS).enumerate() {
            let (col, row) = ((k % 2) as i32, (k / 2) as i32);
            let (chx, chy) = (x + 10 + col * 130, y + 50 + row * 30);
            let name = d.device.as_deref().unwrap_or_default();
            let mark = match d.status.as_str() {
                "ok" => "✓",
                "degraded" => "!",
                _ => "✕",
            };
            let tip = format!("{} {name}: {} ({})", d.kind, d.status, d.reason);
            shapes.push(Shape::Link {
                href: format!("/admin/devices/{}/{name}", d.kind),
                label: format!("{} {name}, {}", d.kind, d.status),
                shapes: vec![
                    rect(
                        chx,
                        chy,
                        124,
                        24,
                        format!("chip {} st-{}", d.kind, d.status),
                        Some(tip),
                    ),
                    text(
                        chx + 6,
                        chy + 16,
                        "chip-name",
                        "start",
                        format!("{mark} {}", short(name, 14)),
                    ),
                ],
            });
        }
        if devs.len() > CHIPS {
            shapes.push(text(
                x + 10,
                y + h - 8,
                "more",
                "start",
                format!("+{} more", devs.len() - CHIPS),
            ));
        }
    }
    lines.extend(shapes);
    lines.extend(labels);
    Diagram {
        id: "platform-map".into(),
        title: "Platform map: sites, routers, hypervisors and the mesh between sites".into(),
        desc: desc.join("; "),
        width: width.max(200) as u32,
        height: height as u32,
        shapes: lines,
    }
}

/// The console's health page: a page of the items filtered by `q`'s
/// `status`, `kind`, `site` and `router` (in SQL, worst first, `after`
/// the previous page), and the platform map (every router and hypervisor,
/// the mesh counted per pair of sites). Platform admins only: the caller
/// checks.
pub async fn admin(st: &AppState, q: &HashMap<String, String>) -> ApiResult<AdminHealth> {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let f = Filters {
        status: get("status"),
        kind: get("kind"),
        site: get("site"),
        router: get("router"),
        after: get("after"),
    };
    let page = if f.impossible() {
        let mut r = report(
            st,
            None,
            &HealthQuery {
                limit: Some(1),
                kind: Some("router".into()),
                ..Default::default()
            },
        )
        .await?;
        r.items.clear();
        r.total = 0;
        r.next = None;
        r
    } else {
        report(st, None, &f.query()).await?
    };
    let db = st.store.pool();
    let mut devices = Vec::new();
    for kind in ["router", "hypervisor"] {
        let r = report(
            st,
            None,
            &HealthQuery {
                kind: Some(kind.into()),
                limit: Some(MAX_LIMIT),
                ..Default::default()
            },
        )
        .await?;
        devices.extend(r.items);
    }
    // The store's order is worst first; the map lists devices by name.
    devices.sort_by(|a, b| a.key.cmp(&b.key));
    let pairs = store::mesh_pairs(db).await?;
    let now = Utc::now();
    let device = match devices
        .iter()
        .find(|d| !f.router.is_empty() && d.device.as_deref() == Some(f.router.as_str()))
    {
        Some(d) => Some(device_health(st, d, now).await?),
        None => None,
    };
    let mut h = admin_health(page, &devices, &pairs, f, now);
    h.device = device;
    h.alerts = alerts(st, now).await?;
    Ok(h)
}

/// Minutes a device's history plot covers.
const PLOT_MINUTES: i64 = 1440;

/// One device's section: its own item, and the last 24 hours of it, its
/// BGP sessions, its mesh peers and the other devices' links to it, each
/// row the worst status of each minute over its items (from
/// `health_history`: a point per change).
async fn device_health(
    st: &AppState,
    d: &HealthItem,
    now: DateTime<Utc>,
) -> ApiResult<DeviceHealth> {
    let name = d.device.clone().unwrap_or_default();
    let db = st.store.pool();
    let f = store::Filter {
        device: Some(name.clone()),
        ..Default::default()
    };
    let rows = store::page(db, &f, None, i64::MAX).await?;
    let (ok, degraded, down) = store::counts(db, &f).await?;
    let mut groups: Vec<(String, Vec<String>)> = vec![
        (format!("{} {name}", d.kind), vec![d.key.clone()]),
        ("its BGP sessions".into(), vec![]),
        ("its mesh peers".into(), vec![]),
        ("links to it".into(), vec![]),
    ];
    for r in &rows {
        let g = if r.key == d.key {
            continue;
        } else if r.device.as_deref() == Some(name.as_str()) {
            match r.kind.as_str() {
                "bgp" => 1,
                "wireguard" => 2,
                _ => continue,
            }
        } else if r.peer.as_deref() == Some(name.as_str()) {
            3
        } else {
            continue;
        };
        groups[g].1.push(r.key.clone());
    }
    groups.retain(|(_, keys)| !keys.is_empty());
    let keys: Vec<String> = groups.iter().flat_map(|(_, k)| k.iter().cloned()).collect();
    let mut points: HashMap<String, Vec<(i64, i16)>> = HashMap::new();
    for h in store::history(db, &keys, PLOT_MINUTES as i32).await? {
        points
            .entry(h.key)
            .or_default()
            .push((h.minute.timestamp(), h.severity));
    }
    let start = now.timestamp().div_euclid(60) * 60 - PLOT_MINUTES * 60;
    let series: Vec<(String, usize, Vec<i8>)> = groups
        .into_iter()
        .map(|(label, keys)| {
            let n = keys.len();
            let s = worst_per_minute(keys.iter().filter_map(|k| points.get(k)), start);
            (label, n, s)
        })
        .collect();
    let (stats, stats_note) = device_stats(&d.kind, &d.facts);
    Ok(DeviceHealth {
        kind: d.kind.clone(),
        site: d.site.clone(),
        status: d.status.clone(),
        reason: d.reason.clone(),
        detail: d.detail.clone(),
        since: format!("since {}", ago(since(now, d.since))),
        counts: Counts {
            ok: ok as usize,
            degraded: degraded as usize,
            down: down as usize,
        },
        history: history_plot(&name, &series, start),
        stats,
        stats_note,
        revisions: format!(
            "/admin/devices/{}/{}",
            d.kind,
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        ),
        name,
    })
}

/// A device's counters from its item's facts: a router's interfaces and
/// load (`vxguard_health::vitals`), a hypervisor's bridge
/// (`vxguard_health::ovs`: ports with their tenant and network, flow
/// tables, tenants' flows, meters).
fn device_stats(kind: &str, facts: &serde_json::Value) -> (Vec<StatTable>, Option<String>) {
    let n = |v: &serde_json::Value| v.as_u64().map_or("-".to_string(), |x| x.to_string());
    let b = |v: &serde_json::Value| v.as_u64().map_or("-".to_string(), bytes);
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let table = |id: &str, caption: &str, cols: &[&str], rows: Vec<Vec<String>>| StatTable {
        id: id.into(),
        caption: caption.into(),
        cols: cols.iter().map(|c| c.to_string()).collect(),
        rows,
    };
    let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    match kind {
        "router" => {
            let note = facts["cpu_load_percent"]
                .as_i64()
                .map(|p| format!("CPU load {p} % over 5 minutes (all cores)"));
            let rows: Vec<Vec<String>> = facts["interfaces"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(name, c)| {
                            vec![
                                name.clone(),
                                b(&c["rx_bytes"]),
                                b(&c["tx_bytes"]),
                                format!("{} / {}", n(&c["rx_dropped"]), n(&c["tx_dropped"])),
                                format!("{} / {}", n(&c["rx_errors"]), n(&c["tx_errors"])),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            let t = (!rows.is_empty()).then(|| {
                table(
                    "device-interfaces",
                    "Interfaces",
                    &[
                        "Interface",
                        "Received",
                        "Sent",
                        "Dropped in / out",
                        "Errors in / out",
                    ],
                    rows,
                )
            });
            (t.into_iter().collect(), note)
        }
        "hypervisor" => {
            let o = &facts["ovs"];
            if !o.is_object() {
                let why = facts["ovs_error"].as_str().map_or_else(
                    || "Its bridge's statistics have not been read yet.".to_string(),
                    |e| format!("Its bridge did not answer OpenFlow: {e}"),
                );
                return (vec![], Some(why));
            }
            let owner = |v: &serde_json::Value| match (v["tenant"].as_str(), v["network"].as_str())
            {
                (Some(t), Some(n)) => format!("{t} / {n}"),
                _ => "-".into(),
            };
            let ports = list(&o["ports"])
                .iter()
                .map(|p| {
                    vec![
                        s(&p["port"]),
                        owner(p),
                        format!("{} ({})", n(&p["rx_packets"]), b(&p["rx_bytes"])),
                        format!("{} ({})", n(&p["tx_packets"]), b(&p["tx_bytes"])),
                        format!("{} / {}", n(&p["rx_dropped"]), n(&p["tx_dropped"])),
                        format!("{} / {}", n(&p["rx_errors"]), n(&p["tx_errors"])),
                    ]
                })
                .collect();
            let tables = list(&o["tables"])
                .iter()
                .map(|t| {
                    vec![
                        n(&t["table"]),
                        n(&t["flows"]),
                        n(&t["packets"]),
                        b(&t["bytes"]),
                    ]
                })
                .collect();
            let tenants = list(&o["tenants"])
                .iter()
                .map(|t| {
                    vec![
                        s(&t["tenant"]),
                        n(&t["flows"]),
                        n(&t["packets"]),
                        b(&t["bytes"]),
                    ]
                })
                .collect();
            let meters: Vec<Vec<String>> = list(&o["meters"])
                .iter()
                .map(|m| {
                    vec![
                        n(&m["meter"]),
                        m["port"]
                            .as_str()
                            .map_or("-".into(), |p| format!("{p} ({})", owner(m))),
                        n(&m["packets"]),
                        n(&m["dropped"]),
                    ]
                })
                .collect();
            let mut v = vec![
                table(
                    "device-ovs-ports",
                    "Bridge ports",
                    &[
                        "Port",
                        "Tenant / network",
                        "Received (packets)",
                        "Sent (packets)",
                        "Dropped in / out",
                        "Errors in / out",
                    ],
                    ports,
                ),
                table(
                    "device-ovs-tables",
                    "Flow tables",
                    &["Table", "Flows", "Packets", "Bytes"],
                    tables,
                ),
                table(
                    "device-ovs-tenants",
                    "Flows by tenant",
                    &["Tenant", "Flows", "Packets", "Bytes"],
                    tenants,
                ),
            ];
            if !meters.is_empty() {
                v.push(table(
                    "device-ovs-meters",
                    "Meters (rate limits)",
                    &["Meter", "Port", "Packets in", "Dropped"],
                    meters,
                ));
            }
            (v, None)
        }
        _ => (vec![], None),
    }
}

/// The worst severity of each minute from `start` (Unix seconds) to now
/// (`PLOT_MINUTES + 1` of them; -1: no item known then) over items given
/// as their history points (Unix seconds, severity; oldest first, each
/// holding until the next).
fn worst_per_minute<'a>(items: impl Iterator<Item = &'a Vec<(i64, i16)>>, start: i64) -> Vec<i8> {
    let n = PLOT_MINUTES as usize + 1;
    let mut out = vec![-1i8; n];
    let idx = |t: i64| ((t - start).div_euclid(60)).clamp(0, PLOT_MINUTES) as usize;
    for pts in items {
        for (k, &(t, sev)) in pts.iter().enumerate() {
            let from = idx(t);
            let to = pts.get(k + 1).map_or(n, |&(t2, _)| idx(t2));
            for m in out.iter_mut().take(to.max(from + 1)).skip(from) {
                *m = (*m).max(sev as i8);
            }
        }
    }
    out
}

/// The device's last 24 hours as a picture: a band per row, a bar per run
/// of minutes with one status, its height saying the status too (ok low,
/// degraded half, down full) and its tip the times; an axis in hours.
fn history_plot(name: &str, series: &[(String, usize, Vec<i8>)], start: i64) -> Diagram {
    const LABEL_W: i32 = 190;
    const PLOT_W: i32 = 720;
    const ROW_H: i32 = 24;
    const GAP: i32 = 12;
    const TOP: i32 = 8;
    let x_of = |m: usize| LABEL_W + (m as i64 * PLOT_W as i64 / PLOT_MINUTES) as i32;
    let hhmm = |m: usize| {
        DateTime::<Utc>::from_timestamp(start + m as i64 * 60, 0)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default()
    };
    let names = ["ok", "degraded", "down"];
    let mut shapes = Vec::new();
    let mut desc = Vec::new();
    for (r, (label, n, sev)) in series.iter().enumerate() {
        let y = TOP + r as i32 * (ROW_H + GAP);
        let label = if *n > 1 {
            format!("{label} ({n})")
        } else {
            label.clone()
        };
        shapes.push(text(
            LABEL_W - 8,
            y + 16,
            "row-label",
            "end",
            short(&label, 28),
        ));
        shapes.push(Shape::Rect {
            x: LABEL_W,
            y,
            w: PLOT_W,
            h: ROW_H,
            class: "bar-bg".into(),
            tip: None,
        });
        let mut minutes = [0usize; 3];
        let mut m = 0;
        while m < sev.len() {
            let s = sev[m];
            let mut e = m + 1;
            while e < sev.len() && sev[e] == s {
                e += 1;
            }
            if s >= 0 {
                let s = s as usize;
                minutes[s] += e - m;
                let h = [ROW_H / 3, ROW_H * 2 / 3, ROW_H][s];
                let (x1, x2) = (x_of(m), x_of(e).max(x_of(m) + 1));
                shapes.push(Shape::Rect {
                    x: x1,
                    y: y + ROW_H - h,
                    w: x2 - x1,
                    h,
                    class: format!("bar st-{}", names[s]),
                    tip: Some(format!(
                        "{label}: {} from {} to {} UTC",
                        names[s],
                        hhmm(m),
                        if e >= sev.len() {
                            "now".into()
                        } else {
                            hhmm(e)
                        }
                    )),
                });
            }
            m = e;
        }
        let last = sev.last().copied().unwrap_or(-1);
        shapes.push(text(
            LABEL_W + PLOT_W + 8,
            y + 16,
            "state",
            "start",
            if last >= 0 {
                word(names[last as usize]).to_string()
            } else {
                "? unknown".into()
            },
        ));
        desc.push(format!(
            "{label}: down {} min, degraded {} min, ok {} min",
            minutes[2], minutes[1], minutes[0]
        ));
    }
    let axis_y = TOP + series.len() as i32 * (ROW_H + GAP) - GAP + 6;
    shapes.push(line(
        (LABEL_W, axis_y),
        (LABEL_W + PLOT_W, axis_y),
        "axis",
        None,
    ));
    for h in (0..=24).step_by(3) {
        let x = x_of(h * 60);
        shapes.push(line((x, axis_y), (x, axis_y + 4), "axis", None));
        let t = if h == 24 {
            "now".to_string()
        } else {
            format!("−{} h", 24 - h)
        };
        shapes.push(text(x, axis_y + 16, "tick", "middle", t));
    }
    Diagram {
        id: "device-history".into(),
        title: format!("{name}: the last 24 hours, the worst status of each minute"),
        desc: desc.join("; "),
        width: (LABEL_W + PLOT_W + 90) as u32,
        height: (axis_y + 22) as u32,
        shapes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points hold until the next; several items give the worst of each
    /// minute; before an item's first point nothing is known.
    #[test]
    fn worst_per_minute_holds_points_and_takes_the_worst() {
        let start = 1_000_000 * 60;
        let at = |m: i64| start + m * 60;
        let a = vec![(at(0), 0), (at(10), 2), (at(12), 0)];
        let b = vec![(at(5), 1)];
        let w = worst_per_minute([&a, &b].into_iter(), start);
        assert_eq!(w.len(), PLOT_MINUTES as usize + 1);
        assert_eq!(&w[..5], &[0; 5]);
        assert_eq!(&w[5..10], &[1; 5]);
        assert_eq!(&w[10..12], &[2; 2]);
        assert_eq!(w[12], 1);
        assert_eq!(w[PLOT_MINUTES as usize], 1);
        // An item first seen at minute 100: unknown before.
        let c = vec![(at(100), 2)];
        let w = worst_per_minute([&c].into_iter(), start);
        assert_eq!(w[99], -1);
        assert_eq!(w[100], 2);
        let d = history_plot("r1", &[("router r1".into(), 1, w)], start);
        assert!(d.desc.contains("down 1341 min"), "{}", d.desc);
    }
}
