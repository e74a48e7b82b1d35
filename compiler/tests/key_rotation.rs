//! A mesh key rotation on the two slots (issue 17, item 4;
//! `vxguard_compiler::mesh`): while it is staged, the slot carrying
//! traffic keeps the rotated device's old key on both ends and the standby
//! takes the new one; once released both slots run the new key. Tenants'
//! client interfaces keep the key their clients were given throughout.

mod common;
use common::*;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::mesh::{Slot, Step};
use vxguard_compiler::model::{KeyPair, Secrets};
use vxguard_compiler::sealed::{placeholder, placeholder_secrets, SecretKind};
use vxguard_compiler::{compile, plan_mesh, Output};

const ROTATED: &str = "vyos-dc1-01";

fn compiled(intent: &vxguard_compiler::intent::Intent, prev: &Allocation, s: &Secrets) -> Output {
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

/// `ROTATED`'s secrets after its rotation began: a new mesh key, the old
/// one kept as the previous key and as the client key.
fn rotated(s: &Secrets) -> (Secrets, KeyPair, KeyPair) {
    let mut after = s.clone();
    let r = after.routers.get_mut(ROTATED).unwrap();
    let old = KeyPair {
        private_key: r.wireguard_private_key.clone(),
        public_key: r.wireguard_public_key.clone(),
    };
    let (private_key, public_key) = vxguard_wg_keys::keypair([9; 32]);
    let new = KeyPair {
        private_key,
        public_key,
    };
    r.wireguard_private_key = new.private_key.clone();
    r.wireguard_public_key = new.public_key.clone();
    r.wireguard_previous = Some(old.clone());
    r.client_key = Some(old.clone());
    (after, old, new)
}

fn private_key_line(ifname: &str, key: &str) -> String {
    format!("set interfaces wireguard {ifname} private-key '{key}'\n")
}

fn peer_key_line(ifname: &str, peer: &str, key: &str) -> String {
    format!("set interfaces wireguard {ifname} peer {peer} public-key '{key}'\n")
}

/// Every tenant client interface (`wg<tenant id>`) of `set` holds `key`.
fn client_interfaces_hold(set: &str, key: &str) -> usize {
    let mut n = 0;
    for l in set.lines() {
        let Some(rest) = l.strip_prefix("set interfaces wireguard ") else {
            continue;
        };
        let (ifname, what) = rest.split_once(' ').unwrap();
        if ifname == "wg0" || ifname == "wg65536" || !what.starts_with("private-key ") {
            continue;
        }
        assert_eq!(what, format!("private-key '{key}'"), "{l}");
        n += 1;
    }
    n
}

#[test]
fn a_rotation_keeps_the_active_slot_on_the_old_key_until_released() {
    let intent = example();
    let s0 = secrets(&intent);
    // The platform as it runs: compiled, its mesh recorded as `last`.
    let mut prev = compiled(&intent, &Allocation::default(), &s0).allocation;
    prev.mesh = plan_mesh(&intent, &prev, &s0);
    assert_eq!(prev.mesh.step(), Step::Steady);

    let (s1, old, new) = rotated(&s0);
    let staged = plan_mesh(&intent, &prev, &s1);
    assert_eq!(staged.step(), Step::Staged, "a new key is a mesh change");
    assert_eq!(staged.active, Slot::A);
    prev.mesh = staged;
    let out = compiled(&intent, &prev, &s1);

    let me = &out.routers[ROTATED].set;
    assert!(
        me.contains(&private_key_line("wg0", &old.private_key)),
        "{me}"
    );
    assert!(me.contains(&private_key_line("wg65536", &new.private_key)));
    assert!(
        client_interfaces_hold(me, &old.private_key) > 0,
        "clients keep the key they were given"
    );
    for (name, r) in &out.routers {
        if name == ROTATED {
            continue;
        }
        assert!(
            r.set
                .contains(&peer_key_line("wg0", ROTATED, &old.public_key)),
            "{name}"
        );
        assert!(
            r.set
                .contains(&peer_key_line("wg65536", ROTATED, &new.public_key)),
            "{name}"
        );
    }
    for (name, h) in &out.hypervisors {
        let slots = vxguard_compiler::wireguard::slots(&h.wireguard);
        assert_eq!(slots[0].0, "wg0");
        assert!(
            slots[0]
                .1
                .contains(&format!("PublicKey = {}\n", old.public_key)),
            "{name}"
        );
        assert!(!slots[0].1.contains(&new.public_key), "{name}");
        assert!(
            slots[1]
                .1
                .contains(&format!("PublicKey = {}\n", new.public_key)),
            "{name}"
        );
        assert!(!slots[1].1.contains(&old.public_key), "{name}");
    }

    // What the worker compiles with names each slot's key by placeholder
    // (the apply path's vault holds both): the held slot the old key's,
    // the standby the new one's.
    let sealed = compiled(&intent, &prev, &placeholder_secrets(&s1));
    let me = &sealed.routers[ROTATED].set;
    let sealed_key = |k: &KeyPair| placeholder(SecretKind::WireguardPrivateKey, &k.private_key);
    assert!(me.contains(&private_key_line("wg0", &sealed_key(&old))));
    assert!(me.contains(&private_key_line("wg65536", &sealed_key(&new))));
    assert!(!me.contains(&old.private_key) && !me.contains(&new.private_key));

    // Switched, then released: both slots run the new key everywhere,
    // and the old key is nowhere (the previous key can go).
    prev.mesh = prev.mesh.switched();
    let switched = compiled(&intent, &prev, &s1);
    assert!(switched.routers[ROTATED]
        .set
        .contains("interface wg65536\n"));
    prev.mesh = prev.mesh.released();
    assert_eq!(prev.mesh.step(), Step::Steady);
    let mut s2 = s1.clone();
    s2.routers.get_mut(ROTATED).unwrap().wireguard_previous = None;
    let out = compiled(&intent, &prev, &s2);
    let me = &out.routers[ROTATED].set;
    assert!(me.contains(&private_key_line("wg0", &new.private_key)));
    assert!(me.contains(&private_key_line("wg65536", &new.private_key)));
    assert!(client_interfaces_hold(me, &old.private_key) > 0);
    for (name, r) in &out.routers {
        assert!(
            !r.set.contains(&format!("public-key '{}'", old.public_key)) || name == ROTATED,
            "{name} still names the old key"
        );
    }
    for (name, h) in &out.hypervisors {
        assert!(!h.wireguard.contains(&old.public_key), "{name}");
    }
}

#[test]
fn a_client_may_not_use_a_key_a_router_holds_for_its_clients() {
    let mut intent = example();
    let (s1, old, _) = rotated(&secrets(&intent));
    let t = &mut intent.tenants[0];
    t.clients[0].public_key = old.public_key.clone();
    let e = compile(&intent, &Allocation::default(), &s1, &Defs::load().set())
        .err()
        .expect("refused");
    assert!(
        e.iter().any(|d| d
            .to_string()
            .contains("key of one of the platform's own devices")),
        "{e:?}"
    );
}
