//! Property tests: round trips through both text forms and `diff`/`apply`, with and
//! without a schema, on random trees built from VyOS-like and arbitrary paths.

use proptest::prelude::*;
use proptest::sample::select;
use vyos_tree::{diff, Command, ConfigTree, NoSchema, NodeKind, Op, Schema, SetBatch};

/// A slice of VyOS's definitions: tags with numeric values, multi, single and valueless leaves.
struct TestSchema;

impl Schema for TestSchema {
    fn kind(&self, path: &[&str]) -> Option<NodeKind> {
        const MULTI: NodeKind = NodeKind::Leaf {
            multi: true,
            valueless: false,
        };
        const SINGLE: NodeKind = NodeKind::Leaf {
            multi: false,
            valueless: false,
        };
        const VALUELESS: NodeKind = NodeKind::Leaf {
            multi: false,
            valueless: true,
        };
        Some(match path {
            ["interfaces"]
            | ["firewall"]
            | ["firewall", "ipv4"]
            | ["protocols"]
            | ["protocols", "bgp"] => NodeKind::Node,
            ["interfaces", "ethernet"] | ["firewall", "ipv4", "name"] => NodeKind::Tag,
            ["interfaces", "ethernet", _] | ["firewall", "ipv4", "name", _] => NodeKind::Node,
            ["interfaces", "ethernet", _, "address"] => MULTI,
            ["interfaces", "ethernet", _, "description"] => SINGLE,
            ["interfaces", "ethernet", _, "disable"] => VALUELESS,
            ["firewall", "ipv4", "name", _, "rule"] => NodeKind::Tag,
            ["firewall", "ipv4", "name", _, "rule", _] => NodeKind::Node,
            ["firewall", "ipv4", "name", _, "rule", _, "action"] => SINGLE,
            ["firewall", "ipv4", "name", _, "rule", _, "state"] => MULTI,
            ["firewall", "ipv4", "name", _, "rule", _, "log"] => VALUELESS,
            ["protocols", "bgp", "system-as"] => SINGLE,
            _ => return None,
        })
    }
}

const WORDS: &[&str] = &[
    "a", "b", "c", "1", "2", "9", "10", "x y", "it's", "", "{", "#h", "set", "q\"z", "\\", "a/b",
    "//c", "é",
];

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

fn with(mut base: Vec<String>, last: &str) -> Vec<String> {
    base.push(last.to_string());
    base
}

fn path() -> impl Strategy<Value = Vec<String>> {
    let eth = || select(vec!["eth0", "eth1", "eth10"]);
    let rule = || {
        (
            select(vec!["WAN", "LAN"]),
            select(vec!["1", "2", "9", "10", "100"]),
        )
    };
    let fw = |(n, r): (&str, &str)| words(&format!("firewall ipv4 name {n} rule {r}"));
    prop_oneof![
        (
            eth(),
            select(vec!["192.0.2.1/24", "10.0.0.1/8", "2001:db8::1/64"])
        )
            .prop_map(|(e, a)| words(&format!("interfaces ethernet {e} address {a}"))),
        (
            eth(),
            select(vec!["uplink", "Secure Control Plane", "it's", "say \"hi\""])
        )
            .prop_map(|(e, d)| with(words(&format!("interfaces ethernet {e} description")), d)),
        eth().prop_map(|e| words(&format!("interfaces ethernet {e} disable"))),
        (rule(), select(vec!["accept", "drop"]))
            .prop_map(move |(r, a)| with(with(fw(r), "action"), a)),
        (rule(), select(vec!["established", "related", "invalid"]))
            .prop_map(move |(r, s)| with(with(fw(r), "state"), s)),
        rule().prop_map(move |r| with(fw(r), "log")),
        select(vec!["64512", "65000"]).prop_map(|a| with(words("protocols bgp system-as"), a)),
        prop::collection::vec(select(WORDS.to_vec()).prop_map(String::from), 1..5),
        prop::collection::vec(select(WORDS.to_vec()).prop_map(String::from), 1..4).prop_map(|w| {
            let mut v = vec!["misc".to_string()];
            v.extend(w);
            v
        }),
    ]
}

/// Mostly sets, some deletes (of whole paths or their prefixes).
fn commands() -> impl Strategy<Value = Vec<Command>> {
    prop::collection::vec(
        (0u8..10, path(), any::<prop::sample::Index>()).prop_map(|(k, p, i)| {
            if k < 8 {
                Command {
                    op: Op::Set,
                    path: p,
                }
            } else {
                let n = 1 + i.index(p.len());
                Command {
                    op: Op::Delete,
                    path: p[..n].to_vec(),
                }
            }
        }),
        0..25,
    )
}

fn build(cmds: &[Command], schema: &dyn Schema) -> ConfigTree {
    let mut t = ConfigTree::new();
    t.apply(cmds, schema);
    t
}

const SCHEMAS: [&dyn Schema; 2] = [&NoSchema, &TestSchema];

/// Round trips under each schema `t` is consistent with (a tree built without the schema
/// may hold two values in a single-value leaf, which re-parsing with it would replace).
fn check_round_trips(t: &ConfigTree, schemas: &[&dyn Schema]) -> Result<(), TestCaseError> {
    for &s in schemas {
        let set = t.render_set(s);
        let back = ConfigTree::parse_set(&set, s)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{set}")))?;
        prop_assert_eq!(&back, t, "set form:\n{}", set);
        prop_assert_eq!(&ConfigTree::parse(&set, s).unwrap(), t);
        // Rendering settles after one trip (a quoted bare name may be re-read as a value,
        // which only changes its quoting once).
        let again = back.render_set(s);
        prop_assert_eq!(
            ConfigTree::parse_set(&again, s).unwrap().render_set(s),
            again
        );
        prop_assert!(set.is_empty() || set.ends_with('\n'));

        let boot = t.render_boot(s);
        let back = ConfigTree::parse_boot(&boot)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{boot}")))?;
        prop_assert_eq!(&back, t, "boot form:\n{}", boot);
        prop_assert_eq!(&ConfigTree::parse(&boot, &NoSchema).unwrap(), t);
        let again = back.render_boot(s);
        prop_assert_eq!(
            ConfigTree::parse_boot(&again).unwrap().render_boot(s),
            again
        );

        let mut rebuilt = ConfigTree::new();
        rebuilt.apply(&t.commands(), s);
        prop_assert_eq!(&rebuilt, t);
    }
    Ok(())
}

fn check_diff(old: &ConfigTree, new: &ConfigTree, s: &dyn Schema) -> Result<(), TestCaseError> {
    let cmds = diff(old, new, s);
    let mut applied = old.clone();
    applied.apply(&cmds, s);
    prop_assert_eq!(&applied, new, "diff: {:?}", cmds);
    // Deletes first.
    let first_set = cmds
        .iter()
        .position(|c| c.op == Op::Set)
        .unwrap_or(cmds.len());
    prop_assert!(
        cmds[first_set..].iter().all(|c| c.op == Op::Set),
        "{:?}",
        cmds
    );
    // Minimal: dropping any one command changes the outcome.
    for i in 0..cmds.len() {
        let mut fewer = cmds.clone();
        fewer.remove(i);
        let mut t = old.clone();
        t.apply(&fewer, s);
        prop_assert_ne!(
            &t,
            new,
            "command {} is redundant in {:?}",
            cmds[i].to_cli(s),
            cmds
        );
    }
    prop_assert!(diff(new, new, s).is_empty());
    prop_assert!(diff(old, old, s).is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn render_parse_round_trips(cmds in commands(), with_schema in any::<bool>()) {
        let s = SCHEMAS[with_schema as usize];
        let t = build(&cmds, s);
        let consistent: &[&dyn Schema] = if with_schema { &SCHEMAS } else { &SCHEMAS[..1] };
        check_round_trips(&t, consistent)?;
        // Trees that remember config.boot syntax (tags, valueless leaves) too.
        for schema in SCHEMAS {
            let from_boot = ConfigTree::parse_boot(&t.render_boot(schema)).unwrap();
            check_round_trips(&from_boot, consistent)?;
        }
    }

    #[test]
    fn order_does_not_depend_on_construction_order(cmds in commands(), with_schema in any::<bool>()) {
        let s = SCHEMAS[with_schema as usize];
        let sets: Vec<Command> = cmds.into_iter().filter(|c| c.op == Op::Set).collect();
        let t = build(&sets, s);
        // Reverse the order of the commands, except within one leaf (values keep set order).
        let mut rev = sets.clone();
        rev.reverse();
        let u = build(&rev, s);
        if t == u {
            let canon = |x: &ConfigTree| {
                let mut l: Vec<String> = x.render_set(s).lines().map(str::to_string).collect();
                l.sort();
                l
            };
            prop_assert_eq!(canon(&t), canon(&u));
            // Lines of different leaves appear in the same relative order.
            let keyed = |x: &ConfigTree| -> Vec<Vec<String>> {
                let mut v: Vec<Vec<String>> = x.commands().into_iter().map(|c| c.path[..c.path.len() - 1].to_vec()).collect();
                v.dedup();
                v
            };
            prop_assert_eq!(keyed(&t), keyed(&u));
        }
    }

    #[test]
    fn diff_apply_yields_new(a in commands(), b in commands(), with_schema in any::<bool>()) {
        let s = SCHEMAS[with_schema as usize];
        let old = build(&a, s);
        // `new` shares much of `old`: start from it, then change things.
        let new = {
            let mut t = old.clone();
            t.apply(&b, s);
            t
        };
        check_diff(&old, &new, s)?;
        check_diff(&new, &old, s)?;
        let unrelated = build(&b, s);
        check_diff(&old, &unrelated, s)?;
        // An old tree parsed from config.boot (roles from syntax) diffs the same way.
        let old_boot = ConfigTree::parse_boot(&old.render_boot(s)).unwrap();
        let mut applied = old_boot.clone();
        applied.apply(&diff(&old_boot, &new, s), s);
        prop_assert_eq!(&applied, &new);
    }
}

/// The fuzz target's property (fuzz/fuzz_targets/config_tree.rs) on text made of the
/// characters that matter to both grammars, so plain `cargo test` exercises it too.
fn check_text(text: &str) -> Result<(), TestCaseError> {
    let Ok(tree) = ConfigTree::parse(text, &NoSchema) else {
        return Ok(());
    };
    let set = tree.render_set(&NoSchema);
    prop_assert_eq!(
        &ConfigTree::parse(&set, &NoSchema).unwrap(),
        &tree,
        "set form:\n{}",
        set
    );
    let boot = tree.render_boot(&NoSchema);
    prop_assert_eq!(
        &ConfigTree::parse(&boot, &NoSchema).unwrap(),
        &tree,
        "boot form:\n{}",
        boot
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_boot_like_text(text in "([a-c1 ]|\\{|\\}|\"|'|\\\\|/|\\*|#|\n|\t|\r|n){0,80}") {
        check_text(&text)?;
    }

    #[test]
    fn arbitrary_set_like_text(lines in prop::collection::vec(
        "(set|delete|#) ([a-c1 ]|\"|'|\\\\|/|\\*|#|\t|\r|n|\\{){0,30}", 0..6)) {
        check_text(&lines.join("\n"))?;
    }
}

/// [`TestSchema`] answering walks ([`Schema::step`]), as the real definitions do,
/// so that both ways a renderer or [`SetBatch`] asks for kinds are exercised.
struct WalkingSchema(std::cell::RefCell<Vec<(Vec<String>, bool)>>);

impl WalkingSchema {
    fn new() -> Self {
        WalkingSchema(std::cell::RefCell::new(vec![(Vec::new(), false)]))
    }
}

impl Schema for WalkingSchema {
    fn kind(&self, path: &[&str]) -> Option<NodeKind> {
        TestSchema.kind(path)
    }
    fn walk_root(&self) -> Option<vyos_tree::SchemaPos> {
        Some(vyos_tree::SchemaPos(0))
    }
    fn step(
        &self,
        at: vyos_tree::SchemaPos,
        word: &str,
    ) -> Option<(NodeKind, vyos_tree::SchemaPos)> {
        let (mut path, is_tag) = self.0.borrow()[at.0 as usize].clone();
        if is_tag {
            path.push("any-tag-value".into()); // a tag's position stands for its values
        }
        path.push(word.to_string());
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let kind = TestSchema.kind(&refs)?;
        let mut positions = self.0.borrow_mut();
        positions.push((path, kind == NodeKind::Tag));
        Some((kind, vyos_tree::SchemaPos(positions.len() as u32 - 1)))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// `SetBatch` is only faster: tree, roles and value order all equal `set` one by one.
    #[test]
    fn set_batch_equals_set_one_by_one(cmds in commands(), schema in 0usize..3) {
        let walking = WalkingSchema::new();
        let s: &dyn Schema = match schema {
            0 => &NoSchema,
            1 => &TestSchema,
            _ => &walking,
        };
        let paths: Vec<Vec<&str>> = cmds
            .iter()
            .filter(|c| c.op == Op::Set)
            .map(|c| c.path.iter().map(String::as_str).collect())
            .collect();
        // Runs of shared prefixes, as a compile produces them, plus the random order.
        let mut sorted = paths.clone();
        sorted.sort();
        for order in [&paths, &sorted] {
            let mut one = ConfigTree::new();
            for p in order.iter() {
                one.set_words(p, s);
            }
            let mut batched = ConfigTree::new();
            let mut b = SetBatch::new(&mut batched, s);
            for p in order.iter() {
                b.set(p);
            }
            drop(b);
            // Told how many words each path shares with the one before.
            let mut told = ConfigTree::new();
            let mut b = SetBatch::new(&mut told, s);
            let mut prev: &[&str] = &[];
            for p in order.iter() {
                let shared = prev.iter().zip(p).take_while(|(a, b)| a == b).count();
                b.set_sharing(p, shared);
                prev = p;
            }
            drop(b);
            prop_assert_eq!(&told, &one);
            for r in SCHEMAS {
                prop_assert_eq!(batched.render_set(r), one.render_set(r));
                prop_assert_eq!(batched.render_boot(r), one.render_boot(r));
                prop_assert_eq!(told.render_boot(r), one.render_boot(r));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Owners' subtrees are found where the full renderings put them, and a
    /// subtree rendered alone prints exactly the same text.
    #[test]
    fn segments_match_subtree_renders(
        cmds in commands(),
        owners in prop::collection::vec(1u32..4, 64),
        schema in 0usize..3,
    ) {
        let walking = WalkingSchema::new();
        let s: &dyn Schema = match schema {
            0 => &NoSchema,
            1 => &TestSchema,
            _ => &walking,
        };
        let mut tree = ConfigTree::new();
        let mut b = SetBatch::new(&mut tree, s);
        for (i, c) in cmds.iter().filter(|c| c.op == Op::Set).enumerate() {
            b.set_owner(owners[i % owners.len()]);
            let p: Vec<&str> = c.path.iter().map(String::as_str).collect();
            b.set(&p);
        }
        drop(b);
        let (set, segments) = tree.render_segments(s);
        prop_assert_eq!(&set, &tree.render_set(s));
        let mut last_end = 0;
        for seg in &segments {
            prop_assert!(seg.owner != 0);
            prop_assert!(seg.set.start >= last_end, "in order");
            last_end = seg.set.end;
            let root: Vec<&str> = seg.root.iter().map(|w| &**w).collect();
            if let Some(sub_set) = tree.render_subtree(&root, s) {
                prop_assert_eq!(&set[seg.set.clone()], sub_set.as_str());
            }
        }
    }
}

/// Owners' subtrees on a VyOS-like tree: which nodes are an owner's, and the
/// texts of each rendered alone, spliced back, give the full texts.
#[test]
fn segments_of_a_two_owner_tree() {
    let s = TestSchema;
    let mut tree = ConfigTree::new();
    let mut b = SetBatch::new(&mut tree, &s);
    b.set_owner(1);
    for p in [
        "protocols bgp system-as 65000",
        "firewall ipv4 name A rule 10 action accept",
        "interfaces ethernet eth0 address 10.0.0.1/24",
    ] {
        b.set(&p.split(' ').collect::<Vec<_>>());
    }
    b.set_owner(2);
    for p in [
        "firewall ipv4 name B rule 10 action drop",
        "firewall ipv4 name B rule 9 state established",
        "interfaces ethernet eth0 address 10.0.0.2/24",
        "interfaces ethernet eth1 description x",
    ] {
        b.set(&p.split(' ').collect::<Vec<_>>());
    }
    drop(b);
    let (set, segments) = tree.render_segments(&s);
    let roots: Vec<(u32, String)> = segments
        .iter()
        .map(|g| (g.owner, g.root.join(" ")))
        .collect();
    assert_eq!(
        roots,
        vec![
            (1, "firewall ipv4 name A".to_string()),
            (2, "firewall ipv4 name B".to_string()),
            (
                1,
                "interfaces ethernet eth0 address 10.0.0.1/24".to_string()
            ),
            (
                2,
                "interfaces ethernet eth0 address 10.0.0.2/24".to_string()
            ),
            (2, "interfaces ethernet eth1".to_string()),
            (1, "protocols".to_string()),
        ]
    );
    for g in &segments {
        let root: Vec<&str> = g.root.iter().map(|w| &**w).collect();
        let sub_set = tree
            .render_subtree(&root, &s)
            .expect("the schema knows every node");
        assert_eq!(&set[g.set.clone()], sub_set);
    }
    assert_eq!(
        &set[segments[3].set.clone()],
        "set interfaces ethernet eth0 address '10.0.0.2/24'\n"
    );
    assert!(set[segments[1].set.clone()].starts_with("set firewall ipv4 name B rule 9 "));
}
