//! `lab check`'s API side against a running vxguard loaded with the demo
//! (`vxguard demo`, then `vxguard serve`): the tenants read back as the
//! intent file states them, the temporary rule goes first and away again,
//! a client's downloaded configuration becomes a `wg setconf` file.
//! Runs when VXGUARD_CHECK_API names the server (it changes its data:
//! use a throwaway database); skipped otherwise.

use serde_json::json;
use vxguard_lab::check::expect::{evaluate, Probe};
use vxguard_lab::check::{api::Api, change, client, tenants};

fn api() -> Option<Api> {
    let Ok(url) = std::env::var("VXGUARD_CHECK_API") else {
        eprintln!("skipped: VXGUARD_CHECK_API is not set");
        return None;
    };
    let mut a = Api::new(&url).unwrap();
    let pw = std::env::var("VXGUARD_DEMO_PASSWORD").unwrap_or("vxguard-demo-password".into());
    a.login("admin@example.com", &pw).unwrap();
    Some(a)
}

fn file() -> tenants::Tenants {
    tenants::from_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/two-dc.yaml"
    )))
    .unwrap()
}

#[test]
fn the_api_side_of_lab_check() {
    let Some(api) = api() else { return };
    change::remove_leftovers(&api).unwrap();
    let from_api = tenants::from_api(&api).unwrap();
    let from_file = file();
    assert_eq!(
        from_api.keys().collect::<Vec<_>>(),
        from_file.keys().collect::<Vec<_>>()
    );
    for (slug, t) in &from_file {
        let a = &from_api[slug];
        let by_name = |mut v: Vec<vxguard_compiler::intent::Network>| {
            v.sort_by(|x, y| x.name.as_str().cmp(y.name.as_str()));
            v
        };
        assert_eq!(
            by_name(a.networks.clone()),
            by_name(t.networks.clone()),
            "{slug}"
        );
        let mut sa = a.services.clone();
        let mut st = t.services.clone();
        sa.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
        st.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
        assert_eq!(sa, st, "{slug}");
        assert_eq!(
            tenants::compiled(a, None).rules.len(),
            tenants::compiled(t, None).rules.len(),
            "{slug}"
        );
        assert_eq!(a.policy.default_action, t.policy.default_action, "{slug}");
    }
    let web1 = "100.64.1.10".parse().unwrap();
    let db1 = "100.64.1.20".parse().unwrap();
    let fin = |api: &Api| tenants::compiled(&tenants::from_api(api).unwrap()["finance"], None);
    assert!(evaluate(&fin(&api), db1, web1, Probe::Tcp(443)).allowed());

    // Check 6's rule: first, blocking 443; then gone.
    let id = change::add_rule(&api).unwrap();
    let e = evaluate(&fin(&api), db1, web1, Probe::Tcp(443));
    assert_eq!((e.allowed(), e.rule), (false, Some(id as u32)));
    api.call(
        "DELETE",
        &format!("/api/v1/tenants/finance/rules/{id}"),
        None,
    )
    .unwrap();
    assert!(evaluate(&fin(&api), db1, web1, Probe::Tcp(443)).allowed());

    // With a rule 0 already there, the rule is put first by a reorder.
    api.call(
        "POST",
        "/api/v1/tenants/finance/rules",
        Some(&json!({"id": 0, "action": "accept", "protocol": "icmp", "description": "zero"})),
    )
    .unwrap();
    let id = change::add_rule(&api).unwrap();
    let p = fin(&api);
    assert_eq!(p.rules[0].id as u64, id);
    assert_eq!(p.rules[0].description.as_deref(), Some(change::DESCRIPTION));
    assert!(!evaluate(&p, db1, web1, Probe::Tcp(443)).allowed());
    change::remove_leftovers(&api).unwrap();
    let zero = fin(&api)
        .rules
        .iter()
        .find(|r| r.description.as_deref() == Some("zero"))
        .unwrap()
        .id;
    api.call(
        "DELETE",
        &format!("/api/v1/tenants/finance/rules/{zero}"),
        None,
    )
    .unwrap();
    let p = fin(&api);
    assert_eq!(p.rules.len(), 3);
    assert!(evaluate(&p, db1, web1, Probe::Tcp(443)).allowed());

    // Check 5's client: created with our key, configuration downloaded.
    let (private, public) = client::keypair().unwrap();
    assert_eq!((private.len(), public.len()), (44, 44));
    let name = "chk-api-test";
    let _ = api.raw(
        "DELETE",
        &format!("/api/v1/tenants/finance/clients/{name}"),
        None,
    );
    api.call(
        "POST",
        "/api/v1/tenants/finance/clients",
        Some(&json!({"name": name, "public_key": public})),
    )
    .unwrap();
    let config = api
        .call(
            "GET",
            &format!("/api/v1/tenants/finance/clients/{name}/config"),
            None,
        )
        .unwrap();
    eprintln!("config: {config}");
    let text = client::setconf_text(&config, &private).unwrap();
    assert!(text.contains(&format!("PrivateKey = {private}")) && text.contains("Endpoint = "));
    let (addr, routes) = client::address_and_routes(&config).unwrap();
    eprintln!("client {addr} routes {routes:?}\n{text}");
    assert!(!routes.is_empty());
    api.call(
        "DELETE",
        &format!("/api/v1/tenants/finance/clients/{name}"),
        None,
    )
    .unwrap();
    assert!(api
        .call(
            "GET",
            &format!("/api/v1/tenants/finance/clients/{name}/config"),
            None
        )
        .is_err());
}

/// Check 5's plumbing against the server with no lab behind it: the
/// client namespace, masquerade, wireguard-go and `wg setconf` are built,
/// the client never works (nothing terminates it), and everything is gone
/// afterwards: namespace, NAT table, forwarding setting, socket, client.
#[test]
fn the_client_check_builds_its_namespace_and_leaves_nothing() {
    let Some(api) = api() else { return };
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        eprintln!("skipped: not root");
        return;
    }
    let sh = |a: &[&str]| {
        let o = std::process::Command::new(a[0])
            .args(&a[1..])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{a:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let p = format!("vca{}", std::process::id() % 100_000);
    let outside = format!("{p}-outside");
    sh(&["ip", "netns", "add", &outside]);
    let _gone = vxguard_lab::check::probe::OnDrop(|| {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &outside])
            .status();
    });
    let inv = vxguard_lab::inventory::Inventory {
        prefix: p.clone(),
        outside: vxguard_lab::inventory::Host {
            ns: outside.clone(),
            address: "198.51.100.10".parse().unwrap(),
        },
        vms: vec![vxguard_lab::inventory::Vm {
            tenant: "finance".into(),
            network: "web".into(),
            port: "fin-web1".into(),
            hypervisor: "hv-dc1-01".into(),
            site: "dc1".into(),
            ns: format!("{p}-nonexistent"),
            address: "100.64.1.10".parse().unwrap(),
            prefix_len: 28,
            gateway: "100.64.1.1".parse().unwrap(),
        }],
        ..Default::default()
    };
    // The inventory on disk gets the client's namespace while it exists.
    let state = std::env::temp_dir().join(format!("{p}-state"));
    inv.save(&state).unwrap();
    let listeners = vxguard_lab::check::probe::Listeners::new();
    let out = client::check(
        &inv,
        &api,
        &tenants::from_api(&api).unwrap(),
        &listeners,
        "VXGMARK-test",
        std::time::Duration::from_millis(300),
        std::time::Duration::from_secs(2),
        Some(&state),
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.figures.len(), 2);
    assert!(!out.figures[0].ok, "nothing terminates the client here");
    assert!(out.rows.iter().all(|r| !r.reached));
    assert!(out.rows.iter().any(|r| r.check == "5 client revoked"));
    // Nothing left.
    assert!(!sh(&["ip", "netns", "list"]).contains(&format!("{p}-wgc")));
    assert_eq!(
        sh(&["ip", "netns", "exec", &outside, "nft", "list", "ruleset"]),
        ""
    );
    assert_eq!(
        sh(&[
            "ip",
            "netns",
            "exec",
            &outside,
            "sysctl",
            "-n",
            "net.ipv4.ip_forward"
        ]),
        "0"
    );
    assert!(!sh(&["ip", "-n", &outside, "link"]).contains(&format!("{p}c")));
    assert!(!std::fs::read_dir("/var/run/wireguard")
        .map(|d| d.flatten().any(|e| e
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{p}wgc"))))
        .unwrap_or(false));
    let after = vxguard_lab::inventory::Inventory::load(&state).unwrap();
    assert_eq!(after, inv, "the inventory is as before");
    std::fs::remove_dir_all(&state).unwrap();
    let clients = api.list("/api/v1/tenants/finance/clients").unwrap();
    assert!(
        !clients
            .iter()
            .any(|c| c["name"].as_str().unwrap_or("").starts_with("labcheck-")),
        "{clients:?}"
    );
}
