//! The pure part of applying a router revision: what to send.
//!
//! - [`plan`]: the running configuration against the desired one, as one
//!   ordered batch (deletes before sets, minimal: `vyos_tree::diff`).
//! - [`to_api`]: that batch as VyOS HTTP API commands, the leaf value in
//!   `value` when the definitions say the last word is one.
//! - [`inverse`]: the batch that undoes a batch (1.4 has no commit-confirm:
//!   a failed health check is rolled back by sending it).

use vyos_api::{ConfigureCommand, ConfigureOp};
use vyos_tree::{Command, ConfigTree, NodeKind, Op, Schema};

/// Commands turning `running` into `desired`, deletes first.
pub fn plan(running: &ConfigTree, desired: &ConfigTree, schema: &dyn Schema) -> Vec<Command> {
    vyos_tree::diff(running, desired, schema)
}

/// `tree` after `commands`, as the router computes it.
pub fn apply(tree: &ConfigTree, commands: &[Command], schema: &dyn Schema) -> ConfigTree {
    let mut t = tree.clone();
    for c in commands {
        match c.op {
            Op::Set => t.set(&c.path, schema),
            Op::Delete => {
                t.delete(&c.path);
            }
        }
    }
    t
}

/// The batch that takes the router back from `apply(before, commands)` to
/// `before`: exact by construction (`apply(after, inverse) == before`).
pub fn inverse(before: &ConfigTree, commands: &[Command], schema: &dyn Schema) -> Vec<Command> {
    let after = apply(before, commands, schema);
    plan(&after, before, schema)
}

/// One API command per tree command.
pub fn to_api(commands: &[Command], schema: &dyn Schema) -> Vec<ConfigureCommand> {
    commands
        .iter()
        .map(|c| {
            let words: Vec<&str> = c.path.iter().map(String::as_str).collect();
            let value_last = words.len() >= 2
                && matches!(
                    schema.kind(&words[..words.len() - 1]),
                    Some(NodeKind::Leaf {
                        valueless: false,
                        ..
                    })
                );
            let (path, value) = if value_last {
                let (v, p) = c.path.split_last().expect("non-empty");
                (p.to_vec(), Some(v.clone()))
            } else {
                (c.path.clone(), None)
            };
            ConfigureCommand {
                op: match c.op {
                    Op::Set => ConfigureOp::Set,
                    Op::Delete => ConfigureOp::Delete,
                },
                path,
                value,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vyos_tree::NoSchema;

    fn defs() -> vyos_defs::Definitions {
        vyos_defs::builtin::definitions("1.5")
            .expect("built in")
            .clone()
    }

    const RUNNING: &str = "\
set interfaces wireguard wg0 address '10.0.0.1/31'
set interfaces wireguard wg0 description 'old'
set interfaces wireguard wg0 peer r2 allowed-ips '10.0.0.0/31'
set system host-name 'r1'
";
    const DESIRED: &str = "\
set interfaces wireguard wg0 address '10.0.0.1/31'
set interfaces wireguard wg0 description 'new'
set protocols bgp system-as '65000'
set system host-name 'r1'
";

    #[test]
    fn deletes_come_first_and_the_batch_is_minimal() {
        let d = defs();
        let run = ConfigTree::parse_set(RUNNING, &d).unwrap();
        let want = ConfigTree::parse_set(DESIRED, &d).unwrap();
        let p = plan(&run, &want, &d);
        let lines: Vec<String> = p.iter().map(|c| c.to_cli(&d)).collect();
        assert_eq!(
            lines,
            [
                "delete interfaces wireguard wg0 peer",
                "set interfaces wireguard wg0 description 'new'",
                "set protocols bgp system-as '65000'",
            ]
        );
        assert_eq!(apply(&run, &p, &d), want);
        assert!(plan(&apply(&run, &p, &d), &want, &d).is_empty());
    }

    #[test]
    fn api_commands_carry_leaf_values_in_value() {
        let d = defs();
        let cmds = to_api(
            &[
                Command::set(["system", "host-name", "r1"]),
                Command::set(["service", "https", "api", "rest"]),
                Command::delete(["interfaces", "wireguard", "wg0"]),
            ],
            &d,
        );
        assert_eq!(cmds[0].path, ["system", "host-name"]);
        assert_eq!(cmds[0].value.as_deref(), Some("r1"));
        assert_eq!(cmds[1].value, None);
        assert_eq!(cmds[2].op, ConfigureOp::Delete);
        assert_eq!(cmds[2].path, ["interfaces", "wireguard", "wg0"]);
        assert_eq!(cmds[2].value, None);
    }

    #[test]
    fn inverse_restores_exactly() {
        let d = defs();
        let run = ConfigTree::parse_set(RUNNING, &d).unwrap();
        let want = ConfigTree::parse_set(DESIRED, &d).unwrap();
        let p = plan(&run, &want, &d);
        let back = inverse(&run, &p, &d);
        assert!(back.iter().take_while(|c| c.op == Op::Delete).count() >= 1);
        assert_eq!(apply(&apply(&run, &p, &d), &back, &d), run);
    }

    fn tree() -> impl Strategy<Value = ConfigTree> {
        proptest::collection::vec(proptest::collection::vec("[a-d]{1,2}", 1..5), 0..10).prop_map(
            |paths| {
                let mut t = ConfigTree::new();
                for p in &paths {
                    t.set(p, &NoSchema);
                }
                t
            },
        )
    }

    proptest! {
        /// Any two trees: the plan reaches the target, a second plan is
        /// empty, deletes precede sets, and the inverse comes back.
        #[test]
        fn plan_and_inverse(a in tree(), b in tree()) {
            let p = plan(&a, &b, &NoSchema);
            let after = apply(&a, &p, &NoSchema);
            prop_assert_eq!(&after, &b);
            prop_assert!(plan(&after, &b, &NoSchema).is_empty());
            let first_set = p.iter().position(|c| c.op == Op::Set).unwrap_or(p.len());
            prop_assert!(p[first_set..].iter().all(|c| c.op == Op::Set));
            let inv = inverse(&a, &p, &NoSchema);
            prop_assert_eq!(apply(&after, &inv, &NoSchema), a);
        }
    }
}
