//! Network health on the portal (issue 18, item 5), in-process against a
//! real PostgreSQL (playwright/tests/health.test.mjs drives a browser): a
//! tenant's dashboard shows its own gateway groups and clients and their
//! picture, never another tenant's names nor a device's error; before any
//! collection round it says so; the console's `/admin/health` shows every
//! item with the devices' errors, filters by status, kind and site as a
//! plain GET, draws the platform map, and is nobody else's page. The
//! pictures are inline SVG that must be well-formed XML.

mod harness;

use axum::http::StatusCode;
use harness::browser::Browser;
use harness::Env;
use serde_json::json;
use vxguard_health::{Item, Kind, Status};
use vxguard_store::health::{begin_round, RoundStats};

#[allow(clippy::too_many_arguments)]
fn item(
    kind: Kind,
    key: &str,
    device: Option<&str>,
    peer: Option<&str>,
    tenant: Option<&str>,
    network: Option<&str>,
    site: Option<&str>,
    status: Status,
    reason: &str,
    detail: Option<&str>,
    facts: serde_json::Value,
) -> Item {
    Item {
        kind,
        key: key.into(),
        device: device.map(Into::into),
        peer: peer.map(Into::into),
        tenant: tenant.map(Into::into),
        network: network.map(Into::into),
        site: site.map(Into::into),
        status,
        reason: reason.into(),
        detail: detail.map(Into::into),
        facts,
        bad_since: (status != Status::Ok).then_some(0),
    }
}

fn group(tenant: &str, net: &str, site: &str, states: &[(&str, &str)], status: Status) -> Item {
    let masters: Vec<&str> = states
        .iter()
        .filter(|(_, s)| *s == "MASTER")
        .map(|(r, _)| *r)
        .collect();
    let reason = match masters.first() {
        Some(m) if status == Status::Ok => format!("master {m}"),
        _ => "no master".to_string(),
    };
    item(
        Kind::Vrrp,
        &format!("vrrp:{tenant}:{net}:{site}"),
        None,
        None,
        Some(tenant),
        Some(net),
        Some(site),
        status,
        &reason,
        None,
        json!({
            "gateways": states.iter().map(|(r, s)| json!({"router": r, "state": s})).collect::<Vec<_>>(),
            "master": masters,
            "expected": true,
        }),
    )
}

/// One collection round's results, written as the collector writes them.
async fn collected(env: &Env) {
    // Facts hold times, not ages: a handshake `age` seconds ago.
    let now = vxguard_store::api_keys::unix_now();
    let ago = |age: i64| now - age;
    let items = vec![
        item(
            Kind::Router,
            "router:vyos-dc1-01",
            Some("vyos-dc1-01"),
            None,
            None,
            None,
            Some("dc1"),
            Status::Ok,
            "ok",
            None,
            json!({"applied": true}),
        ),
        item(
            Kind::Router,
            "router:vyos-dc2-01",
            Some("vyos-dc2-01"),
            None,
            None,
            None,
            Some("dc2"),
            Status::Down,
            "does not answer",
            Some("connect: refused by 5.254.43.170 (acme-secret-vrf)"),
            json!({"applied": true, "answered": false}),
        ),
        item(
            Kind::Hypervisor,
            "hypervisor:hv-dc1-01",
            Some("hv-dc1-01"),
            None,
            None,
            None,
            Some("dc1"),
            Status::Ok,
            "applied (OVS state not collected)",
            None,
            json!({"applied": true}),
        ),
        item(
            Kind::Wireguard,
            "wireguard:vyos-dc1-01:vyos-dc2-01",
            Some("vyos-dc1-01"),
            Some("vyos-dc2-01"),
            None,
            None,
            Some("dc1"),
            Status::Down,
            "latest handshake over 180 s ago",
            None,
            json!({"handshake_at": ago(400), "rx_bytes": 1, "tx_bytes": 2, "expected": true, "observed": true}),
        ),
        item(
            Kind::Wireguard,
            "wireguard:vyos-dc1-01:hv-dc1-01",
            Some("vyos-dc1-01"),
            Some("hv-dc1-01"),
            None,
            None,
            Some("dc1"),
            Status::Ok,
            "latest handshake within 180 s",
            None,
            json!({"handshake_at": ago(20), "rx_bytes": 1, "tx_bytes": 2, "expected": true, "observed": true}),
        ),
        group(
            "finance",
            "web",
            "dc1",
            &[("vyos-dc1-01", "MASTER"), ("vyos-dc1-02", "BACKUP")],
            Status::Ok,
        ),
        group(
            "finance",
            "web",
            "dc2",
            &[
                ("vyos-dc2-01", "unknown (does not answer)"),
                ("vyos-dc2-02", "BACKUP"),
            ],
            Status::Down,
        ),
        group(
            "finance",
            "db",
            "dc2",
            &[("vyos-dc2-02", "MASTER"), ("vyos-dc2-01", "FAULT")],
            Status::Degraded,
        ),
        item(
            Kind::Client,
            "client:finance:cfo-laptop",
            Some("vyos-dc1-01"),
            None,
            Some("finance"),
            None,
            None,
            Status::Ok,
            "connected",
            None,
            json!({"connected": true, "handshake_at": ago(12), "rx_bytes": 123_456, "tx_bytes": 7_890}),
        ),
        group(
            "acme",
            "acme-hidden-net",
            "dc1",
            &[("vyos-dc1-01", "MASTER"), ("vyos-dc1-02", "BACKUP")],
            Status::Ok,
        ),
        item(
            Kind::Client,
            "client:acme:acme-roadwarrior",
            Some("vyos-dc1-01"),
            None,
            Some("acme"),
            None,
            None,
            Status::Ok,
            "not connected (no handshake in 180 s)",
            None,
            json!({"connected": false, "handshake_at": null, "rx_bytes": null, "tx_bytes": null}),
        ),
    ];
    let round = begin_round(&env.db, 0.0).await.unwrap().expect("the lock");
    round
        .finish(
            &items,
            RoundStats {
                took_ms: 5,
                routers: 4,
                answered: 3,
            },
        )
        .await
        .unwrap();
}

/// The inline `<svg id="{id}" ...>...</svg>` of a page, checked to be
/// well-formed: every tag closed in order, attributes quoted, no stray
/// `<` or `&` in text. Comments (hydration markers) are skipped.
fn svg(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no svg #{id} in {html}"));
    let end = start + html[start..].find("</svg>").expect("a closed svg") + 6;
    let s = &html[start..end];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        for (i, _) in text.match_indices('&') {
            let ent = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "a bare & in {text}"
            );
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->").expect("a closed comment") + 3..];
            continue;
        }
        // Leptos' hydration marker (an empty comment to an HTML parser).
        if let Some(after) = rest.strip_prefix("<!>") {
            rest = after;
            continue;
        }
        let gt = rest.find('>').expect("a closed tag");
        let tag = &rest[1..gt];
        assert!(!tag.contains('<'), "a < inside tag {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "close {name} in {s}");
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            // Every attribute has a quoted value.
            let attrs = tag[name.len()..].trim_end_matches('/');
            assert_eq!(
                attrs.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            assert_eq!(
                attrs.matches("=\"").count(),
                attrs.matches('=').count(),
                "an unquoted attribute in <{tag}>"
            );
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[gt + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert!(s.contains("role=\"img\""), "{s}");
    assert!(s.contains(&format!("<title id=\"{id}-title\">")), "{s}");
    assert!(s.contains(&format!("<desc id=\"{id}-desc\">")), "{s}");
    s.to_string()
}

#[tokio::test]
async fn before_any_round_the_dashboard_and_console_say_not_collected_yet() {
    let env = Env::demo().await;
    let mut f = Browser::new(&env);
    f.login("finance-member@example.com").await;
    let d = f.get("/t/finance").await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(d.text.contains("id=\"health-none\""), "{}", d.text);
    assert!(d.text.contains("Not collected yet"), "{}", d.text);
    assert!(!d.text.contains("<svg"), "no picture of nothing");

    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let p = a.get("/admin/health").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("id=\"health-none\""), "{}", p.text);
    assert!(p.text.contains("id=\"health-empty\""), "{}", p.text);
}

#[tokio::test]
async fn a_tenant_dashboard_shows_its_own_groups_and_clients_and_nothing_else() {
    let env = Env::demo().await;
    collected(&env).await;
    let mut f = Browser::new(&env);
    f.login("finance-member@example.com").await;
    let d = f.get("/t/finance").await;
    assert_eq!(d.status, StatusCode::OK);
    let t = &d.text;
    assert!(t.contains("id=\"health-when\""), "{t}");
    // Rendered by the server alone: the props the browser hydrates with
    // carry none of it.
    assert!(t.contains("\"health\":null"), "{t}");
    // Its groups per network and site, with the master and the states.
    for key in ["web/dc1", "web/dc2", "db/dc2"] {
        assert!(t.contains(&format!("data-key=\"{key}\"")), "{key}: {t}");
    }
    assert!(
        t.contains("vyos-dc1-01: master, vyos-dc1-02: backup"),
        "{t}"
    );
    assert!(t.contains("badge health down"), "{t}");
    assert!(t.contains("badge health degraded"), "{t}");
    // 1 ok (web/dc1) + the client; 1 degraded; 1 down: its own items only.
    assert!(plain(t).contains("2 ok, 1 degraded, 1 down"), "{t}");
    // Its client: connected, the handshake relative to now, bytes.
    assert!(t.contains("data-key=\"cfo-laptop\""), "{t}");
    assert!(t.contains(">connected<"), "{t}");
    let hs = regex_like_seconds(t);
    assert!((12..=20).contains(&hs), "handshake {hs} s ago");
    assert!(t.contains("120.6 KiB from it, 7.7 KiB to it"), "{t}");
    // The picture: well-formed, named, with text labels and status words.
    let s = svg(t, "topology");
    for label in [
        "site dc1",
        "site dc2",
        "web",
        "db",
        "cfo-laptop",
        "vyos-dc2-02",
    ] {
        assert!(s.contains(&format!(">{label}<")), "{label}: {s}");
    }
    assert!(s.contains("● connected"), "{s}");
    assert!(s.contains("✕ down"), "{s}");
    assert!(s.contains("class=\"link master\""), "{s}");
    // Nothing of another tenant, nothing of the platform's devices and
    // links, no device error.
    for other in [
        "acme-hidden-net",
        "acme-roadwarrior",
        "acme-secret-vrf",
        "connect: refused",
        "router:vyos",
        "wireguard:",
        "hv-dc1-01",
    ] {
        assert!(
            !t.contains(other),
            "{other} leaked into finance's dashboard"
        );
    }

    // And acme sees its own, not finance's.
    let mut a = Browser::new(&env);
    a.login("acme-member@example.com").await;
    let t = a.get("/t/acme").await.text;
    assert!(t.contains("data-key=\"acme-roadwarrior\""), "{t}");
    assert!(t.contains("not connected"), "{t}");
    assert!(t.contains(">never<"), "{t}");
    assert!(t.contains("data-key=\"acme-hidden-net/dc1\""), "{t}");
    svg(&t, "topology");
    for other in ["cfo-laptop", "data-key=\"web/dc1\"", "data-key=\"db/dc2\""] {
        assert!(!t.contains(other), "{other} leaked into acme's dashboard");
    }
}

/// The page's text, without its tags (and Leptos' hydration markers).
fn plain(t: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in t.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The number of seconds in the page's "N s ago" of a handshake.
fn regex_like_seconds(t: &str) -> i64 {
    let row = &t[t.find("data-key=\"cfo-laptop\"").unwrap()..];
    let at = row.find(" s ago").expect("N s ago");
    let digits: String = row[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

/// The `data-key`s of the console's item table.
fn rows(t: &str) -> Vec<String> {
    let Some(at) = t.find("id=\"health-items\"") else {
        return Vec::new();
    };
    t[at..]
        .split("<tr data-key=\"")
        .skip(1)
        .map(|r| r[..r.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn the_console_health_page_filters_and_draws_the_platform_map() {
    let env = Env::demo().await;
    collected(&env).await;
    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let p = a.get("/admin").await;
    assert!(
        p.text.contains("href=\"/admin/health\""),
        "linked from the nav"
    );

    let p = a.get("/admin/health").await;
    assert_eq!(p.status, StatusCode::OK);
    let all = rows(&p.text);
    assert_eq!(all.len(), 11, "{all:?}");
    // Worst first.
    assert!(
        all[..3].contains(&"router:vyos-dc2-01".to_string()),
        "{all:?}"
    );
    // Operators read the device's error.
    assert!(
        p.text.contains("connect: refused by 5.254.43.170"),
        "{}",
        p.text
    );
    assert!(p
        .text
        .contains("href=\"/admin/devices/router/vyos-dc2-01\""));

    let down = rows(&a.get("/admin/health?status=down").await.text);
    assert_eq!(
        down,
        [
            "router:vyos-dc2-01",
            "wireguard:vyos-dc1-01:vyos-dc2-01",
            "vrrp:finance:web:dc2"
        ],
        "{down:?}"
    );
    let wg = rows(&a.get("/admin/health?kind=wireguard").await.text);
    assert_eq!(
        wg,
        [
            "wireguard:vyos-dc1-01:vyos-dc2-01",
            "wireguard:vyos-dc1-01:hv-dc1-01"
        ]
    );
    let p = a.get("/admin/health?kind=router&site=dc2").await;
    assert_eq!(rows(&p.text), ["router:vyos-dc2-01"]);
    // The form shows the chosen filters.
    assert!(
        p.text.contains("<option value=\"router\" selected"),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("<option value=\"dc2\" selected"),
        "{}",
        p.text
    );
    // An unknown value matches nothing (not everything).
    let p = a.get("/admin/health?status=purple").await;
    assert!(rows(&p.text).is_empty());
    assert!(p.text.contains("id=\"health-empty\""));

    // The map: sites with their devices (linking to their pages), the
    // mesh between sites as one line, labelled.
    let s = svg(&a.get("/admin/health").await.text, "platform-map");
    assert!(s.contains(">site dc1<") && s.contains(">site dc2<"), "{s}");
    assert!(
        s.contains("href=\"/admin/devices/router/vyos-dc1-01\""),
        "{s}"
    );
    assert!(
        s.contains("href=\"/admin/devices/hypervisor/hv-dc1-01\""),
        "{s}"
    );
    // Ages from the stored handshake times, at render time (a second or
    // two after the fixture's).
    let oldest = |prefix: &str| -> i64 {
        let at = s.find(prefix).unwrap_or_else(|| panic!("{prefix} in {s}")) + prefix.len();
        s[at..].split(' ').next().unwrap().parse().unwrap()
    };
    assert!((400..=410).contains(&oldest("0/1 ok · oldest ")), "{s}");
    assert!(
        (20..=30).contains(&oldest("mesh within: 1/1 ok · oldest ")),
        "{s}"
    );
    assert!(s.contains("class=\"link mesh st-down\""), "{s}");
    assert!(s.contains("✕ vyos-dc2-01"), "{s}");

    // A device's health: linked from the table, its status and its last
    // 24 hours (a band for it, one for its mesh peers), its revisions.
    let p = a.get("/admin/health").await;
    assert!(
        p.text.contains("href=\"/admin/health?router=vyos-dc1-01\""),
        "{}",
        p.text
    );
    let p = a.get("/admin/health?router=vyos-dc1-01").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("id=\"device-health-card\""), "{}", p.text);
    assert!(
        p.text
            .contains("href=\"/admin/devices/router/vyos-dc1-01\""),
        "{}",
        p.text
    );
    let s = svg(&p.text, "device-history");
    assert!(s.contains(">router vyos-dc1-01<"), "{s}");
    assert!(s.contains(">its mesh peers (2)<"), "{s}");
    assert!(s.contains("class=\"bar st-down\""), "{s}");
    assert!(s.contains(">now<") && s.contains(">−24 h<"), "{s}");
    // The table holds only its items (a client: on its gateway) and the
    // links to it.
    let keys = rows(&p.text);
    assert!(keys.contains(&"router:vyos-dc1-01".to_string()), "{keys:?}");
    for key in keys {
        assert!(
            key.contains("vyos-dc1-01") || key.starts_with("client:"),
            "{key}"
        );
    }
    // No such device: the filter, no device section.
    let p = a.get("/admin/health?router=nowhere").await;
    assert!(!p.text.contains("id=\"device-health-card\""));
    assert!(rows(&p.text).is_empty());

    // The alerts firing now, from the same rules as the rule file: the
    // dead router (down for long), the stale handshake to it (400 s, over
    // 180 s for over a minute), the group with no master, and (a warning,
    // after the critical ones) the group whose other gateway is FAULT; not
    // the fresh handshake, nor a BGP alert (no session is collected here).
    let p = a.get("/admin/health").await;
    assert!(p.text.contains("id=\"alerts-card\""), "{}", p.text);
    let at = p
        .text
        .find("id=\"alerts-firing\"")
        .expect("the alerts table");
    let alerts: Vec<String> = p.text[at..]
        .split("<tr data-key=\"")
        .skip(1)
        .map(|r| r[..r.find('"').unwrap()].to_string())
        .take_while(|k| k.starts_with("Vxguard"))
        .collect();
    assert_eq!(
        alerts,
        [
            "VxguardRouterDown",
            "VxguardVrrpNoMaster",
            "VxguardWireguardHandshakeStale",
            "VxguardVrrpNoBackup"
        ],
        "{}",
        &p.text[at..]
    );
    let table = &p.text[at..p.text[at..].find("</table>").unwrap() + at];
    assert!(table.contains("vyos-dc2-01 (dc2)"), "{table}");
    assert!(table.contains("vyos-dc1-01 → vyos-dc2-01 (dc1)"), "{table}");
    assert!(table.contains("finance/web (dc2)"), "{table}");
    assert!(table.contains("finance/db (dc2)"), "{table}");
    assert!(!table.contains("hv-dc1-01"), "{table}");

    // Nobody else's page: the same 404 as any path not theirs.
    let mut f = Browser::new(&env);
    f.login("finance-admin@example.com").await;
    assert_eq!(f.get("/admin/health").await.status, StatusCode::NOT_FOUND);
}

/// A tenant's traffic through `network`'s bridge on `router`, read `ago`
/// seconds before now, as the collector keeps it (`store::traffic`).
async fn traffic_at(
    env: &Env,
    tenant: &str,
    network: &str,
    router: &str,
    ago: i64,
    rx: i64,
    tx: i64,
) {
    sqlx::query(
        "INSERT INTO network_traffic (tenant_id, network, router, minute, at, rx_bytes, tx_bytes)
         SELECT id, $2, $3, date_trunc('minute', now() - make_interval(secs => $4)),
                now() - make_interval(secs => $4), $5, $6
         FROM tenants WHERE slug = $1",
    )
    .bind(tenant)
    .bind(network)
    .bind(router)
    .bind(ago as f64)
    .bind(rx)
    .bind(tx)
    .execute(&env.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn each_network_has_a_traffic_plot_of_the_last_hour_for_its_own_tenant_only() {
    let env = Env::demo().await;
    collected(&env).await;
    // finance's web through two gateways: 500 B/s out of the network and
    // 800 B/s into it on vyos-dc1-01, then its counters go back (a
    // restart: no point), and the collector's own write at this minute.
    traffic_at(&env, "finance", "web", "vyos-dc1-01", 240, 0, 0).await;
    traffic_at(&env, "finance", "web", "vyos-dc1-01", 180, 30_000, 48_000).await;
    traffic_at(&env, "finance", "web", "vyos-dc1-01", 120, 10, 10).await;
    traffic_at(&env, "finance", "web", "vyos-dc1-02", 240, 0, 0).await;
    traffic_at(&env, "finance", "web", "vyos-dc1-02", 180, 6_000, 6_000).await;
    // Older than the hour: not drawn.
    traffic_at(&env, "finance", "db", "vyos-dc2-01", 7_000, 0, 0).await;
    // acme's network, with numbers finance must never see.
    traffic_at(&env, "acme", "acme-hidden-net", "vyos-dc1-01", 240, 0, 0).await;
    traffic_at(
        &env,
        "acme",
        "acme-hidden-net",
        "vyos-dc1-01",
        180,
        9_999_000,
        9_999_000,
    )
    .await;
    vxguard_store::traffic::record(
        &env.db,
        &[vxguard_store::traffic::Sample {
            tenant: "finance".into(),
            network: "web".into(),
            router: "vyos-dc1-01".into(),
            rx_bytes: 70,
            tx_bytes: 70,
        }],
    )
    .await
    .unwrap();
    // The hour-old row is pruned after two hours, not before.
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM network_traffic WHERE network = 'db'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(kept, 1);

    let mut f = Browser::new(&env);
    f.login("finance-member@example.com").await;
    let t = f.get("/t/finance").await.text;
    assert!(t.contains("id=\"traffic-h\""), "{t}");
    let s = svg(&t, "traffic-web");
    // Summed over both gateways: (30000 + 6000) / 60 s out, (48000 + 6000) / 60 s into.
    assert!(s.contains(">network web<"), "{s}");
    assert!(s.contains(": 600 B/s out of web"), "{s}");
    assert!(s.contains(": 900 B/s into web"), "{s}");
    // The counters that went back give no point (no huge or negative rate).
    assert!(!s.contains("KiB/s") && !s.contains(" -"), "{s}");
    assert!(
        s.contains("class=\"traffic-in\"") && s.contains("class=\"traffic-out\""),
        "{s}"
    );
    // db has only a sample older than the hour: no empty plot, a
    // sentence that names it and says why.
    assert!(!t.contains("id=\"traffic-db\""), "{t}");
    let at = t
        .find("id=\"traffic-none\"")
        .expect("the networks without figures");
    let none = &t[at..at + t[at..].find("</p>").unwrap()];
    assert!(
        none.contains("No traffic measured yet for network db</strong>:")
            && none.contains("two readings"),
        "{none}"
    );
    for other in ["acme-hidden-net", "162.7 KiB"] {
        assert!(
            !t.contains(other),
            "{other} leaked into finance's dashboard"
        );
    }

    let mut a = Browser::new(&env);
    a.login("acme-member@example.com").await;
    let t = a.get("/t/acme").await.text;
    let s = svg(&t, "traffic-acme-hidden-net");
    assert!(s.contains("out of acme-hidden-net"), "{s}");
    assert!(
        !t.contains("traffic-web") && !t.contains("out of web"),
        "{t}"
    );
}

#[tokio::test]
async fn a_device_page_shows_its_counters_a_bridge_without_answer_says_why() {
    let env = Env::demo().await;
    let ovs = json!({
        "ports": [
            {"port": "fin-web1", "tenant": "finance", "network": "web",
             "rx_packets": 20, "tx_packets": 3, "rx_bytes": 1960, "tx_bytes": 300,
             "rx_dropped": 0, "tx_dropped": 1, "rx_errors": 0, "tx_errors": 0},
            {"port": "vxg-tun", "rx_packets": 5, "tx_packets": 6, "rx_bytes": 500, "tx_bytes": 600,
             "rx_dropped": null, "tx_dropped": null, "rx_errors": null, "tx_errors": null}
        ],
        "tables": [{"table": 0, "flows": 22, "packets": 21, "bytes": 2058}],
        "tenants": [{"tenant": "finance", "flows": 40, "packets": 19, "bytes": 1862}],
        "meters": [{"meter": 1, "packets": 20, "bytes": 1960, "dropped": 18,
                    "port": "fin-web1", "tenant": "finance", "network": "web"}]
    });
    let items = vec![
        item(
            Kind::Router,
            "router:vyos-dc1-01",
            Some("vyos-dc1-01"),
            None,
            None,
            None,
            Some("dc1"),
            Status::Ok,
            "ok",
            None,
            json!({"applied": true, "answered": true, "cpu_load_percent": 25,
                   "interfaces": {"wg0": {"rx_bytes": 5120, "tx_bytes": 7000, "rx_dropped": 3,
                                          "tx_dropped": 0, "rx_errors": 1, "tx_errors": 0}}}),
        ),
        item(
            Kind::Hypervisor,
            "hypervisor:hv-dc1-01",
            Some("hv-dc1-01"),
            None,
            None,
            None,
            Some("dc1"),
            Status::Ok,
            "ok",
            None,
            json!({"applied": true, "ovs": ovs}),
        ),
        item(
            Kind::Hypervisor,
            "hypervisor:hv-dc2-01",
            Some("hv-dc2-01"),
            None,
            None,
            None,
            Some("dc2"),
            Status::Ok,
            "ok",
            None,
            json!({"applied": true,
                   "ovs_error": "`dump-ports` of tcp:192.0.2.9:6653: Connection refused"}),
        ),
    ];
    begin_round(&env.db, 0.0)
        .await
        .unwrap()
        .expect("the lock")
        .finish(
            &items,
            RoundStats {
                took_ms: 5,
                routers: 1,
                answered: 1,
            },
        )
        .await
        .unwrap();
    let mut a = Browser::new(&env);
    a.login("admin@example.com").await;
    let t = a.get("/admin/health?router=hv-dc1-01").await.text;
    assert!(t.contains(">hypervisor hv-dc1-01<"), "{t}");
    for id in [
        "device-ovs-ports",
        "device-ovs-tables",
        "device-ovs-tenants",
        "device-ovs-meters",
    ] {
        assert!(t.contains(&format!("id=\"{id}\"")), "{id}: {t}");
    }
    let p = plain(&t);
    assert!(
        p.contains("fin-web1finance / web20 (1.9 KiB)3 (300 B)0 / 1"),
        "{p}"
    );
    // The tunnel counts no drops: a dash, not a made-up 0.
    assert!(p.contains("vxg-tun-5 (500 B)6 (600 B)- / -"), "{p}");
    assert!(p.contains("finance4019"), "{p}");
    assert!(p.contains("1fin-web1 (finance / web)2018"), "{p}");
    // A bridge that did not answer: why, and no tables.
    let t = a.get("/admin/health?router=hv-dc2-01").await.text;
    assert!(t.contains("id=\"device-stats-note\""), "{t}");
    assert!(t.contains("Its bridge did not answer OpenFlow: `dump-ports` of tcp:192.0.2.9:6653: Connection refused"), "{t}");
    assert!(!t.contains("id=\"device-ovs-ports\""), "{t}");
    // A router: its load and interfaces.
    let t = a.get("/admin/health?router=vyos-dc1-01").await.text;
    assert!(
        plain(&t).contains("CPU load 25 % over 5 minutes (all cores)"),
        "{t}"
    );
    assert!(plain(&t).contains("wg05.0 KiB6.8 KiB3 / 01 / 0"), "{t}");
    // A tenant never reaches the console.
    let mut f = Browser::new(&env);
    f.login("finance-admin@example.com").await;
    assert_eq!(
        f.get("/admin/health?router=hv-dc1-01").await.status,
        StatusCode::NOT_FOUND
    );
}
