//! A rotation of the tenants' client interfaces (issue 17, item 5;
//! `vxguard_compiler::model::ClientEpoch`): for the grace period each
//! rotated tenant has its current epoch's interface, with the clients whose
//! configuration names it, and the next epoch's, on its own port, with the
//! clients given the new configuration; a client is a peer of one of them
//! and its address is routed into that one only. Once released only the
//! next epoch's interface is left, and the clients that never took the new
//! configuration are no peers of it. Both VyOS versions are compiled and
//! validated (the example's client routers: `vyos-dc1-01` runs 1.4,
//! `vyos-dc1-02` 1.5).

mod common;
use common::*;
use std::collections::BTreeSet;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::{Client, Intent};
use vxguard_compiler::model::{
    client_router, ClientConfigState, ClientEpoch, ClientRotation, KeyPair, Secrets,
};
use vxguard_compiler::sealed::{placeholder, placeholder_secrets, SecretKind};
use vxguard_compiler::{compile, Output};

fn compiled(intent: &Intent, prev: &Allocation, s: &Secrets) -> Output {
    compile(intent, prev, s, &Defs::load().set()).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn pair(seed: u8) -> KeyPair {
    let (private_key, public_key) = vxguard_wg_keys::keypair([seed; 32]);
    KeyPair {
        private_key,
        public_key,
    }
}

fn client(name: &str, seed: u8) -> Client {
    Client {
        name: vxguard_compiler::ids::Name::new(name).unwrap(),
        public_key: pair(seed).public_key,
        allowed_networks: vec![],
        expires_at: None,
    }
}

/// The example with two clients for each of finance and acme (client
/// router `vyos-dc1-01`, VyOS 1.4) and globex (`vyos-dc1-02`, 1.5).
fn intent() -> Intent {
    let mut i = example();
    for t in &mut i.tenants {
        match t.slug.as_str() {
            "finance" => t.clients.push(client("cfo-phone", 11)),
            "acme" => t.clients.push(client("ops-phone", 12)),
            "globex" => {
                t.clients.push(client("lab", 13));
                t.clients.push(client("lab-phone", 14));
            }
            _ => {}
        }
    }
    i
}

/// Every tenant with clients: (slug, client router, tenant id).
fn client_tenants(i: &Intent, a: &Allocation) -> Vec<(String, String, u32)> {
    i.tenants
        .iter()
        .filter(|t| !t.clients.is_empty())
        .map(|t| {
            (
                t.slug.to_string(),
                client_router(t).unwrap(),
                a.tenants[t.slug.as_str()].id,
            )
        })
        .collect()
}

/// The rotation begun on every client router: each tenant's next epoch a
/// new key and interface number (`60000 + id`, free in the example), the
/// clients of now its stale set.
fn begun(i: &Intent, a: &Allocation, s: &Secrets) -> Secrets {
    let mut out = s.clone();
    for (seed, (slug, router, id)) in client_tenants(i, a).into_iter().enumerate() {
        let t = i.tenants.iter().find(|t| t.slug.as_str() == slug).unwrap();
        let r = out.routers.get_mut(&router).unwrap();
        let rot = r.client_rotation.get_or_insert(ClientRotation {
            begun_at: 1_700_000_000,
            grace_secs: 172_800,
            tenants: Default::default(),
        });
        rot.tenants.insert(
            slug.clone(),
            ClientEpoch {
                key: pair(100 + seed as u8),
                number: 60_000 + id,
                stale: t.clients.iter().map(|c| c.public_key.clone()).collect(),
            },
        );
    }
    out
}

/// The rotation released: each tenant's next epoch is its current one.
fn released(s: &Secrets) -> Secrets {
    let mut out = s.clone();
    for r in out.routers.values_mut() {
        if let Some(rot) = r.client_rotation.take() {
            r.client_epochs.extend(rot.tenants);
        }
    }
    out
}

/// `client` of `slug` takes the new configuration: a new key pair.
fn rekey(i: &mut Intent, slug: &str, client: &str, seed: u8) -> String {
    let t = i
        .tenants
        .iter_mut()
        .find(|t| t.slug.as_str() == slug)
        .unwrap();
    let c = t
        .clients
        .iter_mut()
        .find(|c| c.name.as_str() == client)
        .unwrap();
    c.public_key = pair(seed).public_key;
    c.public_key.clone()
}

/// The lines of `set` under `interfaces wireguard IF`.
fn interface(set: &str, ifname: &str) -> Vec<String> {
    let head = format!("set interfaces wireguard {ifname} ");
    set.lines()
        .filter_map(|l| l.strip_prefix(&head).map(str::to_string))
        .collect()
}

fn peers(set: &str, ifname: &str) -> BTreeSet<String> {
    interface(set, ifname)
        .iter()
        .filter_map(|l| l.strip_prefix("peer "))
        .filter_map(|l| l.split_once(' ').map(|(p, _)| p.to_string()))
        .collect()
}

/// Every WireGuard port of a router's configuration is distinct (VyOS:
/// "UDP port ... is busy" otherwise).
fn ports_distinct(set: &str) {
    let ports: Vec<&str> = set
        .lines()
        .filter(|l| l.starts_with("set interfaces wireguard ") && l.contains(" port "))
        .filter(|l| !l.contains(" peer "))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    let distinct: BTreeSet<&&str> = ports.iter().collect();
    assert_eq!(ports.len(), distinct.len(), "{ports:?}");
}

#[test]
fn client_interfaces_rotate_in_two_epochs_and_the_old_one_goes_at_release() {
    let mut i = intent();
    let s0 = secrets(&i);
    let prev = compiled(&i, &Allocation::default(), &s0).allocation;
    let tenants = client_tenants(&i, &prev);
    assert_eq!(tenants.len(), 3, "{tenants:?}");
    assert!(tenants.iter().any(|t| t.1 == "vyos-dc1-01"));
    assert!(tenants.iter().any(|t| t.1 == "vyos-dc1-02"));
    let id = |slug: &str| tenants.iter().find(|t| t.0 == slug).unwrap().2;
    let before = compiled(&i, &prev, &s0);

    // Begun: no client has the new configuration yet, so the next epoch's
    // interfaces have no peer and are not rendered (VyOS requires one):
    // nothing changes on the routers.
    let s1 = begun(&i, &prev, &s0);
    let out = compiled(&i, &prev, &s1);
    for (name, r) in &out.routers {
        assert_eq!(r.set, before.routers[name].set, "{name}");
    }
    let r1 = &s1.routers["vyos-dc1-01"];
    let (fin, acme, globex) = (id("finance"), id("acme"), id("globex"));
    let ep = r1.client_endpoint("finance", fin);
    assert_eq!(
        ep.number,
        60_000 + fin,
        "new configurations name the next epoch"
    );
    assert_eq!(
        ep.public_key,
        r1.client_next("finance").unwrap().key.public_key
    );
    let laptop = i.tenants[0].clients[0].public_key.clone();
    assert_eq!(
        r1.client_config_state("finance", fin, &laptop),
        ClientConfigState::Previous
    );

    // One client of each tenant takes the new configuration (a new key
    // pair): the two epochs' interfaces, a client on each.
    let moved = [
        ("finance", "cfo-laptop", "vyos-dc1-01"),
        ("acme", "ops", "vyos-dc1-01"),
        ("globex", "lab", "vyos-dc1-02"),
    ];
    let mut new_keys = Vec::new();
    for (n, (slug, c, _)) in moved.iter().enumerate() {
        new_keys.push(rekey(&mut i, slug, c, 200 + n as u8));
    }
    let out = compiled(&i, &prev, &s1);
    let stayed = [
        ("finance", "cfo-phone"),
        ("acme", "ops-phone"),
        ("globex", "lab-phone"),
    ];
    for ((slug, c, router), (_, old_client)) in moved.iter().zip(stayed) {
        let tid = id(slug);
        let set = &out.routers[*router].set;
        ports_distinct(set);
        let (old_if, new_if) = (format!("wg{tid}"), format!("wg{}", 60_000 + tid));
        let r = &s1.routers[*router];
        let next = r.client_next(slug).unwrap();
        let old_key = r.client_private_key();
        assert_eq!(
            peers(set, &old_if),
            BTreeSet::from([old_client.to_string()])
        );
        assert_eq!(peers(set, &new_if), BTreeSet::from([c.to_string()]));
        let old_lines = interface(set, &old_if);
        let new_lines = interface(set, &new_if);
        assert!(old_lines.contains(&format!("private-key '{old_key}'")));
        assert!(new_lines.contains(&format!("private-key '{}'", next.key.private_key)));
        assert!(new_lines.contains(&format!("port '{}'", 51820 + 60_000 + tid - 65_536)));
        // The subnet stays on the current epoch's interface, the moved
        // client's address is routed into the new one.
        assert!(old_lines.iter().any(|l| l.starts_with("address ")));
        assert!(
            !new_lines.iter().any(|l| l.starts_with("address ")),
            "{new_lines:?}"
        );
        let addr = prev.tenants[*slug].clients[*c];
        assert!(
            set.contains(&format!(
                " protocols static route '{addr}/32' interface '{new_if}'\n"
            )) || set.contains(&format!(
                " protocols static route {addr}/32 interface {new_if}\n"
            )),
            "{set}"
        );
        // Both interfaces are the tenant's, in its VRF and its firewall's
        // interface group.
        for l in [&old_lines, &new_lines] {
            assert!(l.iter().any(|l| l.starts_with("vrf ")), "{l:?}");
        }
        assert!(
            set.lines()
                .any(|l| l.contains("interface-group") && l.ends_with(&format!("'{new_if}'")))
                || set
                    .lines()
                    .any(|l| l.contains("interface-group") && l.ends_with(&new_if)),
            "{set}"
        );
    }
    let _ = (acme, globex);
    // No private key in clear in what the worker compiles (placeholders).
    let sealed = compiled(&i, &prev, &placeholder_secrets(&s1));
    for (name, r) in &sealed.routers {
        let s = &s1.routers[name];
        for k in s
            .client_rotation
            .iter()
            .flat_map(|c| c.tenants.values())
            .map(|e| &e.key)
        {
            assert!(!r.set.contains(&k.private_key), "{name}");
            if name == "vyos-dc1-01" || name == "vyos-dc1-02" {
                let p = placeholder(SecretKind::WireguardPrivateKey, &k.private_key);
                assert!(r.set.contains(&p), "{name}: sealed next key");
            }
        }
        assert!(!r.set.contains(s.client_private_key()), "{name}");
    }

    // Every client of finance moved: the current interface has no peer
    // left, so it goes and the next one holds the subnet.
    rekey(&mut i, "finance", "cfo-phone", 220);
    let out = compiled(&i, &prev, &s1);
    let set = &out.routers["vyos-dc1-01"].set;
    assert!(interface(set, &format!("wg{fin}")).is_empty(), "{set}");
    let new_lines = interface(set, &format!("wg{}", 60_000 + fin));
    assert!(new_lines.iter().any(|l| l.starts_with("address ")));
    let routed = |l: &&str| {
        l.contains(" protocols static route ") && l.contains(&format!("wg{}", 60_000 + fin))
    };
    assert!(
        !set.lines().any(|l| routed(&l)),
        "no /32 routes then: {set}"
    );

    // Released: only the next epoch's interface is left; acme's and
    // globex's clients that kept their configuration are no peers of it
    // and show as stale; the moved ones are current.
    let s2 = released(&s1);
    let out = compiled(&i, &prev, &s2);
    for ((slug, c, router), (_, old_client)) in moved.iter().zip(stayed) {
        let tid = id(slug);
        let set = &out.routers[*router].set;
        ports_distinct(set);
        assert!(
            interface(set, &format!("wg{tid}")).is_empty(),
            "{slug}: {set}"
        );
        let new_if = format!("wg{}", 60_000 + tid);
        let want: BTreeSet<String> = if *slug == "finance" {
            BTreeSet::from([c.to_string(), old_client.to_string()])
        } else {
            BTreeSet::from([c.to_string()])
        };
        assert_eq!(peers(set, &new_if), want, "{slug}");
        assert!(interface(set, &new_if)
            .iter()
            .any(|l| l.starts_with("address ")));
        let r = &s2.routers[*router];
        let t = i.tenants.iter().find(|t| t.slug.as_str() == *slug).unwrap();
        for cl in &t.clients {
            let state = r.client_config_state(slug, tid, &cl.public_key);
            let expected = if want.contains(cl.name.as_str()) {
                ClientConfigState::Current
            } else {
                ClientConfigState::Stale
            };
            assert_eq!(state, expected, "{slug}/{}", cl.name);
        }
        // The old key is on no client interface of the router (the mesh
        // slots hold the mesh key, the clients' key before a first
        // rotation).
        let old = s1.routers[*router].client_private_key();
        assert!(
            !set.lines().any(|l| l.contains(old)
                && !l.starts_with("set interfaces wireguard wg0 ")
                && !l.starts_with("set interfaces wireguard wg65536 ")),
            "{slug}"
        );
    }
    assert!(new_keys
        .iter()
        .all(|k| out.routers["vyos-dc1-01"].set.contains(k.as_str())
            || out.routers["vyos-dc1-02"].set.contains(k.as_str())));
}

#[test]
fn a_client_may_not_use_a_key_of_a_client_epoch() {
    let mut i = intent();
    let s0 = secrets(&i);
    let prev = compiled(&i, &Allocation::default(), &s0).allocation;
    let s1 = begun(&i, &prev, &s0);
    let next = s1.routers["vyos-dc1-01"]
        .client_next("finance")
        .unwrap()
        .key
        .public_key
        .clone();
    i.tenants[0].clients[0].public_key = next;
    let e = compile(&i, &prev, &s1, &Defs::load().set())
        .err()
        .expect("refused");
    assert!(
        e.iter().any(|d| d
            .to_string()
            .contains("key of one of the platform's own devices")),
        "{e:?}"
    );
}
