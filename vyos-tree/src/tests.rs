//! Unit tests: each asserts exact text or structure that a plausible bug would change.

use crate::testutil::{p, Vyos, BOOT, COMMANDS, TRAILER};
use crate::*;

fn set(text: &str) -> ConfigTree {
    ConfigTree::parse_set(text, &NoSchema).unwrap()
}

// ---- config.boot ----

#[test]
fn realistic_boot_parses_with_trailer_and_renders_back_identically() {
    let text = format!("{BOOT}{TRAILER}");
    let tree = ConfigTree::parse_boot(&text).unwrap();
    // Without a schema, the roles remembered from the syntax reproduce VyOS's layout.
    assert_eq!(tree.render_boot(&NoSchema), BOOT);
    assert_eq!(tree.render_boot(&Vyos), BOOT);
    // And the command form is exactly what VyOS prints.
    assert_eq!(tree.render_set(&Vyos), COMMANDS);
    assert_eq!(tree.render_set(&NoSchema), COMMANDS);
    assert!(tree.contains(&p("interfaces ethernet eth0 hw-id 00:50:56:aa:bb:cc")));
    assert!(tree.contains(&p("service https api rest")));
    assert_eq!(tree.role(&p("interfaces ethernet")), Some(Role::Tag));
    assert_eq!(
        tree.role(&p("interfaces ethernet eth0")),
        Some(Role::TagValue)
    );
    assert_eq!(
        tree.role(&p("service https api rest")),
        Some(Role::ValuelessLeaf)
    );
    assert_eq!(
        tree.role(&p("interfaces loopback lo")),
        Some(Role::TagValue)
    );
    assert_eq!(
        tree.children(&p("interfaces ethernet eth0 address"))
            .unwrap(),
        vec!["192.0.2.10/24", "2001:db8::10/64"]
    );
}

#[test]
fn commands_from_vyos_build_the_same_tree_as_config_boot() {
    let from_boot = ConfigTree::parse_boot(BOOT).unwrap();
    let from_set = ConfigTree::parse_set(COMMANDS, &Vyos).unwrap();
    assert_eq!(from_boot, from_set);
    // With the schema, the set form also renders VyOS's config.boot layout.
    assert_eq!(from_set.render_boot(&Vyos), BOOT);
}

#[test]
fn boot_comments_are_ignored_anywhere() {
    let text = "/* top */ system {\n    /* node comment\n spanning */\n    host-name vyos // trailing\n}\n// end\n";
    let tree = ConfigTree::parse_boot(text).unwrap();
    assert_eq!(tree.render_set(&NoSchema), "set system host-name 'vyos'\n");
    // `//` inside a word is not a comment.
    let tree = ConfigTree::parse_boot("url http://example.com/x\n").unwrap();
    assert!(tree.contains(&p("url http://example.com/x")));
}

#[test]
fn boot_quoting_and_escapes() {
    let tree =
        set("set system description 'Secure Control Plane'\nset system motd 'say \"hi\" \\ bye'\n");
    let boot = tree.render_boot(&NoSchema);
    assert_eq!(
        boot,
        "system {\n    description \"Secure Control Plane\"\n    motd \"say \\\"hi\\\" \\\\ bye\"\n}\n"
    );
    assert_eq!(ConfigTree::parse_boot(&boot).unwrap(), tree);
    // `\n` in config.boot is a newline, and renders back escaped.
    let tree = ConfigTree::parse_boot("banner \"a\\nb\"\n").unwrap();
    assert!(tree.contains(&["banner".into(), "a\nb".into()]));
    assert_eq!(tree.render_boot(&NoSchema), "banner \"a\\nb\"\n");
}

#[test]
fn boot_errors_have_line_and_column() {
    let e = ConfigTree::parse_boot("a {\n    b c d\n}\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 9));
    assert_eq!(e.to_string(), format!("2:9: {}", e.message));
    let e = ConfigTree::parse_boot("a {\n  b {\n}\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 3), "{e}");
    let e = ConfigTree::parse_boot("a\n}\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 1));
    let e = ConfigTree::parse_boot("x {\n  y \"open\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 5));
    let e = ConfigTree::parse_boot("x /* never closed\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 3));
    let e = ConfigTree::parse_boot("  {\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 3));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = "a {".repeat(10_000);
    let e = ConfigTree::parse_boot(&text).unwrap_err();
    assert!(e.message.contains("deep"), "{e}");
    let text = format!("set {}", "a ".repeat(10_000));
    assert!(ConfigTree::parse_set(&text, &NoSchema).is_err());
}

// ---- set lines ----

#[test]
fn set_words_quotes_and_comments() {
    let tree = set(concat!(
        "# a comment\n",
        "\n",
        "   set  system   host-name   vyos  \n",
        "set system login banner \"it's a \\\"test\\\" \\x\"\n",
        "set a 'b c'd e # trailing comment\n",
        "set multi 'line\none'\n",
    ));
    assert!(tree.contains(&p("system host-name vyos")));
    assert!(tree.contains(&[
        "system".into(),
        "login".into(),
        "banner".into(),
        "it's a \"test\" \\x".into()
    ]));
    assert!(tree.contains(&["a".into(), "b cd".into(), "e".into()]));
    assert!(tree.contains(&["multi".into(), "line\none".into()]));
    assert_eq!(tree.commands().len(), 4);
}

#[test]
fn set_errors_have_line_and_column() {
    let e = ConfigTree::parse_set("set a b\nset x 'oops\n", &NoSchema).unwrap_err();
    assert_eq!((e.line, e.column), (2, 7));
    assert_eq!(e.to_string(), "2:7: unterminated single quote");
    let e = ConfigTree::parse_set("set a \"b", &NoSchema).unwrap_err();
    assert_eq!((e.line, e.column), (1, 7));
    let e = ConfigTree::parse_set("\n  show interfaces\n", &NoSchema).unwrap_err();
    assert_eq!((e.line, e.column), (2, 3));
    let e = ConfigTree::parse_set("set\n", &NoSchema).unwrap_err();
    assert_eq!((e.line, e.column), (1, 4));
}

#[test]
fn render_set_quotes_like_vyos() {
    let mut t = ConfigTree::new();
    t.set(&p("interfaces wireguard wg0 address 100.64.0.1/24"), &Vyos);
    t.set(&p("interfaces wireguard wg0 port 51820"), &Vyos);
    t.set(&p("service https api rest"), &Vyos);
    t.set(
        &[
            "interfaces".into(),
            "wireguard".into(),
            "wg0".into(),
            "description".into(),
            "it's".into(),
        ],
        &Vyos,
    );
    t.set(&["odd".into(), "name with space".into()], &Vyos);
    assert_eq!(
        t.render_set(&Vyos),
        "set interfaces wireguard wg0 address '100.64.0.1/24'\n\
         set interfaces wireguard wg0 description \"it's\"\n\
         set interfaces wireguard wg0 port '51820'\n\
         set odd 'name with space'\n\
         set service https api rest\n"
    );
    assert_eq!(
        ConfigTree::parse_set(&t.render_set(&Vyos), &Vyos).unwrap(),
        t
    );
    assert_eq!(
        t.render_boot(&Vyos),
        "interfaces {\n    wireguard wg0 {\n        address 100.64.0.1/24\n        description \"it's\"\n        port 51820\n    }\n}\n\
         odd \"name with space\"\n\
         service {\n    https {\n        api {\n            rest\n        }\n    }\n}\n"
    );
}

#[test]
fn quoted_last_word_is_a_value_without_schema() {
    let t = set("set system host-name 'vyos'\nset service ssh\n");
    assert_eq!(t.role(&p("system host-name vyos")), Some(Role::Value));
    assert_eq!(t.role(&p("system host-name")), Some(Role::Leaf));
    assert_eq!(t.role(&p("service ssh")), Some(Role::Unknown));
    // An unknown node whose children are all bare words is guessed to be a leaf.
    assert_eq!(
        t.render_boot(&NoSchema),
        "service ssh\nsystem {\n    host-name vyos\n}\n"
    );
    assert_eq!(
        t.render_set(&NoSchema),
        "set service ssh\nset system host-name 'vyos'\n"
    );
}

#[test]
fn command_display_and_cli() {
    let c = Command::set(p("interfaces wireguard wg0 address 100.64.0.1/24"));
    assert_eq!(
        c.to_string(),
        "set interfaces wireguard wg0 address '100.64.0.1/24'"
    );
    assert_eq!(
        Command::delete(p("interfaces wireguard wg0")).to_string(),
        "delete interfaces wireguard wg0"
    );
    let c = Command::set(p("interfaces wireguard wg0 port 51820"));
    assert_eq!(c.to_cli(&Vyos), "set interfaces wireguard wg0 port '51820'");
    assert_eq!(
        Command::set(p("service https api rest")).to_cli(&Vyos),
        "set service https api rest"
    );
}

// ---- tree semantics ----

#[test]
fn multi_values_keep_set_order_and_single_values_replace() {
    let mut t = ConfigTree::new();
    for a in ["10.0.0.9/24", "10.0.0.1/24", "10.0.0.5/24"] {
        t.set(&p(&format!("interfaces ethernet eth0 address {a}")), &Vyos);
    }
    t.set(&p("interfaces ethernet eth0 description one"), &Vyos);
    t.set(&p("interfaces ethernet eth0 description two"), &Vyos);
    assert_eq!(
        t.render_set(&Vyos),
        "set interfaces ethernet eth0 address '10.0.0.9/24'\n\
         set interfaces ethernet eth0 address '10.0.0.1/24'\n\
         set interfaces ethernet eth0 address '10.0.0.5/24'\n\
         set interfaces ethernet eth0 description 'two'\n"
    );
    // Without a schema nothing says the leaf is single-valued: both stay.
    let mut u = ConfigTree::new();
    u.set(&p("x description one"), &NoSchema);
    u.set(&p("x description two"), &NoSchema);
    assert_eq!(u.children(&p("x description")).unwrap(), vec!["one", "two"]);
}

#[test]
fn numeric_tag_values_sort_numerically_names_lexically() {
    let t = set("set fw rule 100 action 'drop'\nset fw rule 9 action 'accept'\nset fw rule 10 action 'drop'\n\
                 set fw zeta x\nset fw alpha x\n");
    let lines: Vec<String> = t
        .render_set(&NoSchema)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        vec![
            "set fw alpha x",
            "set fw rule 9 action 'accept'",
            "set fw rule 10 action 'drop'",
            "set fw rule 100 action 'drop'",
            "set fw zeta x",
        ]
    );
    // Construction order does not matter.
    let u = set("set fw zeta x\nset fw rule 10 action 'drop'\nset fw alpha x\nset fw rule 9 action 'accept'\nset fw rule 100 action 'drop'\n");
    assert_eq!(u.render_set(&NoSchema), t.render_set(&NoSchema));
    assert_eq!(u.render_boot(&NoSchema), t.render_boot(&NoSchema));
}

#[test]
fn valueless_leaves_and_empty_nodes() {
    let t = ConfigTree::parse_boot("service {\n    lldp {\n    }\n    https {\n        api {\n            rest\n        }\n    }\n}\n").unwrap();
    assert_eq!(
        t.render_set(&NoSchema),
        "set service https api rest\nset service lldp\n"
    );
    assert_eq!(
        t.render_boot(&NoSchema),
        "service {\n    https {\n        api {\n            rest\n        }\n    }\n    lldp {\n    }\n}\n"
    );
}

#[test]
fn delete_prunes_leaves_and_tags_but_not_nodes() {
    let mut t = ConfigTree::parse_set(COMMANDS, &Vyos).unwrap();
    // Last value of a leaf: the leaf goes; the tag value stays.
    assert!(t.delete(&p("interfaces ethernet eth0 hw-id 00:50:56:aa:bb:cc")));
    assert!(!t.contains(&p("interfaces ethernet eth0 hw-id")));
    assert!(t.contains(&p("interfaces ethernet eth0")));
    // One of two values: the leaf stays.
    assert!(t.delete(&p("interfaces ethernet eth0 address 192.0.2.10/24")));
    assert!(t.contains(&p("interfaces ethernet eth0 address 2001:db8::10/64")));
    // Last tag value: the tag node goes, its parent node stays.
    assert!(t.delete(&p("interfaces loopback lo")));
    assert!(!t.contains(&p("interfaces loopback")));
    assert!(t.contains(&p("interfaces ethernet")));
    // A plain node left empty stays (its presence is configuration).
    assert!(t.delete(&p("service https api keys")));
    assert!(t.delete(&p("service https api rest")));
    assert!(t.contains(&p("service https api")));
    assert!(!t.delete(&p("service nothing")));
    assert!(!t.delete(&[]));
}

#[test]
fn parse_detects_the_form() {
    let a = ConfigTree::parse(COMMANDS, &Vyos).unwrap();
    let b = ConfigTree::parse(&format!("{TRAILER}{BOOT}"), &Vyos).unwrap();
    assert_eq!(a, b);
    assert!(ConfigTree::parse("", &NoSchema).unwrap().is_empty());
    // A top-level node called `set` renders quoted so it is not taken for a command.
    let mut t = ConfigTree::new();
    t.set(&p("set x"), &NoSchema);
    let boot = t.render_boot(&NoSchema);
    assert!(boot.starts_with("\"set\""), "{boot}");
    assert_eq!(ConfigTree::parse(&boot, &NoSchema).unwrap(), t);
}

// ---- diff ----

fn check(old: &ConfigTree, new: &ConfigTree, schema: &dyn Schema) -> Vec<String> {
    let cmds = diff(old, new, schema);
    let mut applied = old.clone();
    applied.apply(&cmds, schema);
    assert_eq!(&applied, new, "{cmds:?}");
    cmds.iter().map(|c| c.to_cli(schema)).collect()
}

#[test]
fn diff_examples() {
    let old = ConfigTree::parse_set(COMMANDS, &Vyos).unwrap();
    assert!(diff(&old, &old, &Vyos).is_empty());
    let new = ConfigTree::parse_set(
        &(COMMANDS
            .replace("remote-as '64512'", "remote-as '65000'")
            .replace("set interfaces ethernet eth0 address '192.0.2.10/24'\n", "")
            .replace("set interfaces loopback lo\n", "")
            .replace("set firewall ipv4 name WAN-IN rule 20 log\n", "")
            .replace(
                "set firewall ipv4 name WAN-IN rule 20 state 'invalid'\n",
                "",
            )
            .replace("set firewall ipv4 name WAN-IN rule 20 action 'drop'\n", "")
            + "set interfaces ethernet eth0 address '198.51.100.1/24'\n"),
        &Vyos,
    )
    .unwrap();
    assert_eq!(
        check(&old, &new, &Vyos),
        vec![
            "delete firewall ipv4 name WAN-IN rule 20",
            "delete interfaces ethernet eth0 address '192.0.2.10/24'",
            "delete interfaces loopback",
            "set interfaces ethernet eth0 address '198.51.100.1/24'",
            "set protocols bgp neighbor 192.0.2.1 remote-as '65000'",
        ]
    );
    // Without the schema, a changed leaf is delete + set.
    let old_n = ConfigTree::parse_set(COMMANDS, &NoSchema).unwrap();
    let new_n = ConfigTree::parse_set(&COMMANDS.replace("'64512'", "'65000'"), &NoSchema).unwrap();
    assert_eq!(
        check(&old_n, &new_n, &NoSchema),
        vec![
            "delete protocols bgp neighbor 192.0.2.1 remote-as 64512",
            "set protocols bgp neighbor 192.0.2.1 remote-as 65000",
        ]
    );
}

#[test]
fn diff_resets_a_node_pruned_by_a_delete() {
    // `new` keeps the leaf `x` without values; deleting its last value prunes it.
    let old = set("set a x 'v'\n");
    let mut new = old.clone();
    new.delete(&p("a x v"));
    new.set(&p("a x"), &NoSchema);
    assert_eq!(
        check(&old, &new, &NoSchema),
        vec!["delete a x v", "set a x"]
    );
}
