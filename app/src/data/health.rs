//! Network health as the pages show it (issue 18, item 5): a tenant's
//! gateway groups and clients (the dashboard), every device's items (the
//! console's health page), and the pictures of both. The server reads the
//! collector's items (`api::network_health::report`, the same scoping as
//! the API), turns times into text ("12 s ago", at render time) and lays
//! the pictures out as [`Diagram`]s: the browser only draws what it is
//! handed, so the layout code stays out of the bundle.
//!
//! Nothing on these views needs JavaScript, so the server alone renders
//! them ([`ServerOnly`]): the page's props carry `null` in their place and
//! the browser bundle holds neither their views nor their decoders
//! (hydration leaves an `inner_html` the server wrote alone).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Data only the server renders with: in the page's props it is `null`,
/// and the browser reads it as `T::default()`. Its view must be an
/// `inner_html` the server fills (hydration keeps the server's content).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerOnly<T>(pub T);

impl<T> Serialize for ServerOnly<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de, T: Default> Deserialize<'de> for ServerOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(ServerOnly(T::default()))
    }
}

/// Items by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub ok: usize,
    pub degraded: usize,
    pub down: usize,
}

/// A tenant's health: its gateway groups and clients, as the last
/// collection round left them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantHealth {
    /// When the last round finished; `None`: no round has run yet.
    pub collected_at: Option<String>,
    /// How long ago, e.g. "12 s ago".
    pub collected_ago: Option<String>,
    pub counts: Counts,
    pub groups: Vec<GroupRow>,
    pub clients: Vec<ClientHealthRow>,
    /// The tenant's sites, gateways, networks and clients.
    pub map: Option<Diagram>,
    /// Each network's traffic through its gateways over the last hour,
    /// for the networks with figures.
    pub traffic: Vec<Diagram>,
    /// The networks without a traffic figure in that hour: a sentence
    /// rather than an empty plot each.
    #[serde(default)]
    pub traffic_none: Vec<String>,
}

/// A network's gateway group at one site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub network: String,
    pub site: String,
    /// `ok`, `degraded` or `down`.
    pub status: String,
    pub reason: String,
    /// Each gateway and its VRRP state (`MASTER`, `BACKUP`, ...).
    pub gateways: Vec<(String, String)>,
    pub masters: Vec<String>,
}

/// A remote-access client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientHealthRow {
    pub name: String,
    /// Its gateway (client router).
    pub router: Option<String>,
    pub status: String,
    pub reason: String,
    /// `None`: unknown (its gateway did not say).
    pub connected: Option<bool>,
    /// "12 s ago", or "never".
    pub handshake: String,
    /// "1.2 MiB received, 340 KiB sent", or empty.
    pub traffic: String,
}

/// The console's device health page: a page of the items, filtered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminHealth {
    pub collected_at: Option<String>,
    pub collected_ago: Option<String>,
    /// Of every item (not only the shown ones).
    pub counts: Counts,
    /// The filters chosen (empty: any).
    pub status: String,
    pub kind: String,
    pub site: String,
    /// A router's or hypervisor's name: its items and the links to it.
    pub router: String,
    /// What each filter can choose.
    pub kinds: Vec<String>,
    pub sites: Vec<String>,
    /// This page of the items matching the filters, worst first.
    pub items: Vec<ItemRow>,
    /// Items matching the filters (on every page).
    pub matched: usize,
    /// The next page's address (`None`: the last page).
    pub next: Option<String>,
    /// The first page's address, on a later page.
    pub first: Option<String>,
    pub map: Option<Diagram>,
    /// With `router` naming a router or hypervisor: its health and history.
    pub device: Option<DeviceHealth>,
    /// The alerts firing now (computed from the collected items with the
    /// rule file's rules), critical first.
    pub alerts: Vec<AlertRow>,
}

/// One alert firing now, with its first few instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub alert: String,
    /// `critical` or `warning`.
    pub severity: String,
    /// Instances firing (`examples` are the first few).
    pub instances: usize,
    /// "router r1 (dc1) → r2, for 12 min".
    pub examples: Vec<String>,
}

/// One item, as platform admins see it (with the device's error).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemRow {
    pub key: String,
    pub kind: String,
    /// The console page of its router or hypervisor.
    pub device: Option<(String, String)>,
    pub peer: Option<String>,
    pub tenant: Option<String>,
    pub network: Option<String>,
    pub site: Option<String>,
    pub status: String,
    pub reason: String,
    pub detail: Option<String>,
    /// "since 3 min" (how long it has had this status).
    pub since: String,
}

/// One device's health in the console (`/admin/health?router=<name>`):
/// its own item, and its last 24 hours with its sessions and peers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceHealth {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    pub site: Option<String>,
    pub status: String,
    pub reason: String,
    pub detail: Option<String>,
    /// "since 3 min ago".
    pub since: String,
    /// Its items (its own, its sessions and peers, links to it) by status.
    pub counts: Counts,
    /// The last 24 hours: a band per row (the device, its BGP sessions,
    /// its mesh peers), the worst status of each minute.
    pub history: Diagram,
    /// Its revisions' page.
    pub revisions: String,
    /// Its counters as the collector last read them: a router's
    /// interfaces, a hypervisor's bridge (ports, flow tables, tenants'
    /// flows, meters).
    pub stats: Vec<StatTable>,
    /// Why there are none (a bridge that did not answer), or what else
    /// was read ("CPU load 25 % over 5 minutes").
    pub stats_note: Option<String>,
}

/// One table of counters; the first column heads each row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatTable {
    /// The table's `id` (tests find it by it).
    pub id: String,
    pub caption: String,
    pub cols: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A picture: shapes the server laid out, drawn as inline SVG (works
/// without JavaScript). `title` and `desc` are its accessible name and
/// description; every node has a text label and a status word, so colour
/// is never the only cue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagram {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub shapes: Vec<Shape>,
}

/// One shape; `class` styles it (`st-ok`, `st-degraded`, `st-down`...).
/// Boxes and lines may carry a `tip` (an SVG `<title>`: a tooltip and,
/// for screen readers, the element's name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    Rect {
        x: i32,
        y: i32,
        w: i32,
        h: i32,
        class: String,
        tip: Option<String>,
    },
    Line {
        x1: i32,
        y1: i32,
        x2: i32,
        y2: i32,
        class: String,
        tip: Option<String>,
    },
    /// `anchor`: `start`, `middle` or `end`.
    Text {
        x: i32,
        y: i32,
        class: String,
        anchor: String,
        text: String,
    },
    /// A link around a box (the console's device pages).
    Link {
        href: String,
        label: String,
        shapes: Vec<Shape>,
    },
}
