//! The schemas built into vxguard against vyos-1x's XML: the same tree,
//! the same verdicts and messages, and not stale. vyos-1x is the
//! generator's input, not a run-time need: where no copy is at hand
//! (../shared/vyos-1x or $VXGUARD_VYOS_1X) the comparisons skip, saying so.

use vyos_defs::builtin::{self, BUILTIN};
use vyos_defs::{DefKind, DefNode, Definitions};

fn xml(branch: &str) -> Option<Definitions> {
    match vyos_defs::vyos_1x_dir() {
        Some(d) => Some(Definitions::load(&d.join(branch)).expect("vyos-1x XML loads")),
        None => {
            eprintln!("SKIPPED: no vyos-1x folder (shared/vyos-1x or VXGUARD_VYOS_1X): built-in schema not compared with XML");
            None
        }
    }
}

#[test]
fn every_builtin_schema_parses_and_names_its_release() {
    for b in BUILTIN {
        let d = builtin::parse(b).unwrap_or_else(|e| panic!("VyOS {}: {e}", b.version));
        let o = d.origin().expect("a schema names its origin");
        assert_eq!(o.version, b.version);
        assert_eq!(o.branch, b.branch);
        assert_eq!(o.commit.len(), 40, "{}", o.commit);
        assert!(b
            .text
            .contains("GNU Lesser General Public License version 2.1"));
        assert!(d
            .node(&["interfaces", "wireguard", "peer", "allowed-ips"])
            .is_some());
    }
    assert!(builtin::definitions("1.3").is_none());
}

/// Every node, property, check and message: what the XML loader builds.
#[test]
fn builtin_tree_equals_the_xml_tree() {
    for b in BUILTIN {
        let Some(x) = xml(b.branch) else { return };
        let built = builtin::definitions(b.version).unwrap();
        if let Some(path) = first_difference(x.root(), built.root(), &mut Vec::new()) {
            panic!(
                "VyOS {}: built-in schema differs from vyos-1x at `{path}`",
                b.version
            );
        }
        assert_eq!(x.unchecked_validators(), built.unchecked_validators());
    }
}

fn first_difference(a: &DefNode, b: &DefNode, path: &mut Vec<String>) -> Option<String> {
    let same = a.kind == b.kind
        && a.multi == b.multi
        && a.valueless == b.valueless
        && a.hidden == b.hidden
        && a.secret == b.secret
        && a.owner == b.owner
        && a.help == b.help
        && a.default_value == b.default_value
        && a.constraint == b.constraint
        && a.constraint_groups == b.constraint_groups
        && a.constraint_error == b.constraint_error
        && a.children.keys().eq(b.children.keys());
    if !same {
        return Some(path.join(" "));
    }
    for (name, ca) in &a.children {
        path.push(name.clone());
        if let Some(p) = first_difference(ca, &b.children[name], path) {
            return Some(p);
        }
        path.pop();
    }
    None
}

/// The committed schema is what the generator makes of vyos-1x today.
#[test]
fn committed_schemas_are_not_stale() {
    for b in BUILTIN {
        let Some(x) = xml(b.branch) else { return };
        let committed = builtin::parse(b).unwrap();
        let again = x.to_schema(committed.origin().unwrap());
        assert!(
            again == b.text,
            "vyos-defs/schemas/vyos-{}.schema is stale against vyos-1x/{}: regenerate it (README: VyOS definitions)",
            b.version,
            b.branch
        );
    }
}

/// Verdicts and messages on values made from the definitions themselves:
/// for every leaf and tag with checks, its default, a word, a number,
/// addresses and junk, judged by both.
#[test]
fn same_verdicts_and_messages_on_every_checked_node() {
    for b in BUILTIN {
        let Some(x) = xml(b.branch) else { return };
        let built = builtin::definitions(b.version).unwrap();
        let mut paths = Vec::new();
        probes(x.root(), &mut Vec::new(), &mut paths);
        assert!(paths.len() > 5_000, "{} probes", paths.len());
        let mut rejected = 0;
        for p in &paths {
            let (a, c) = (x.validate(p), built.validate(p));
            assert_eq!(a, c, "VyOS {}: `{}`", b.version, p.join(" "));
            rejected += a.is_err() as usize;
        }
        eprintln!(
            "VyOS {}: {} probes, {rejected} rejected by both",
            b.version,
            paths.len()
        );
        assert!(rejected > 1_000 && rejected < paths.len());
    }
}

fn probes(n: &DefNode, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    const VALUES: &[&str] = &[
        "x",
        "eth0",
        "65000",
        "0",
        "10.0.0.1",
        "10.0.0.0/24",
        "2001:db8::1/64",
        "a b",
        "!x",
        "-1",
    ];
    for (name, c) in &n.children {
        path.push(name.clone());
        match c.kind {
            DefKind::Leaf if c.valueless => out.push(path.clone()),
            DefKind::Leaf => {
                for v in c
                    .default_value
                    .iter()
                    .map(String::as_str)
                    .chain(VALUES.iter().copied())
                {
                    let mut p = path.clone();
                    p.push(v.to_string());
                    out.push(p);
                }
            }
            DefKind::Tag => {
                for v in VALUES.iter().take(3) {
                    let mut p = path.clone();
                    p.push(v.to_string());
                    out.push(p);
                }
                // Below a tag: one value every check of it accepts is not
                // known, so the walk goes on with `x` (rejections then come
                // from the tag, the same ones for both).
                path.push("x".into());
                probes(c, path, out);
                path.pop();
            }
            DefKind::Node => probes(c, path, out),
        }
        path.pop();
    }
}
