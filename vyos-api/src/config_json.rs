//! `showConfig` with `configFormat: json` ↔ [`ConfigTree`].
//!
//! VyOS builds that JSON with `ConfigTree(text).to_json()` from the raw
//! config text, which does not know which leaves are `multi`: a leaf with
//! one value is a string, with several a list (in the order they were
//! set); a valueless leaf and an empty node are `{}`; a tag node is an
//! object of its tag values. (`get_config_dict` later turns multi leaves
//! into lists using the definitions; the API does not.) Both directions
//! take a [`Schema`], which says what a leaf is where the shape cannot.

use serde_json::{Map, Value};
use vyos_tree::{ConfigTree, NodeKind, Schema};

/// Why a JSON value is not a VyOS configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonConfigError {
    #[error("at [{path}]: expected an object, a string or a list of strings, found {found}")]
    Shape { path: String, found: &'static str },
    #[error("at [{path}]: a list may hold only strings")]
    ListItem { path: String },
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The tree a `showConfig` JSON answer describes. `base` is the request's
/// `path` (VyOS answers with the subtree below it).
pub fn tree_from_json(
    json: &Value,
    base: &[String],
    schema: &dyn Schema,
) -> Result<ConfigTree, JsonConfigError> {
    let mut tree = ConfigTree::new();
    let mut path = base.to_vec();
    walk_json(json, &mut path, schema, &mut tree, base.len())?;
    Ok(tree)
}

fn walk_json(
    v: &Value,
    path: &mut Vec<String>,
    schema: &dyn Schema,
    tree: &mut ConfigTree,
    base: usize,
) -> Result<(), JsonConfigError> {
    match v {
        Value::Object(m) if m.is_empty() => {
            if path.len() > base {
                tree.set(path, schema);
            }
        }
        Value::Object(m) => {
            for (k, c) in m {
                path.push(k.clone());
                walk_json(c, path, schema, tree, base)?;
                path.pop();
            }
        }
        Value::String(s) => {
            path.push(s.clone());
            tree.set(path, schema);
            path.pop();
        }
        Value::Array(items) => {
            for it in items {
                let Value::String(s) = it else {
                    return Err(JsonConfigError::ListItem {
                        path: path.join(" "),
                    });
                };
                path.push(s.clone());
                tree.set(path, schema);
                path.pop();
            }
        }
        other => {
            return Err(JsonConfigError::Shape {
                path: path.join(" "),
                found: kind_name(other),
            })
        }
    }
    Ok(())
}

/// The JSON VyOS would answer for the subtree of `tree` at `base` (`{}` for
/// an empty one). Leaves are known from the schema, else from the tree's
/// remembered roles, else guessed as VyOS's text parser does (a node whose
/// children are all childless holds values).
pub fn tree_to_json(tree: &ConfigTree, base: &[String], schema: &dyn Schema) -> Value {
    let mut path = base.to_vec();
    node_json(tree, &mut path, schema)
}

fn is_leaf(tree: &ConfigTree, path: &[String], schema: &dyn Schema) -> bool {
    if path.is_empty() {
        return false;
    }
    let words: Vec<&str> = path.iter().map(String::as_str).collect();
    // The schema's kind of a tag value's path is its node: only trust it
    // when the parent is not a tag.
    let parent_tag =
        path.len() >= 2 && matches!(schema.kind(&words[..words.len() - 1]), Some(NodeKind::Tag));
    if !parent_tag {
        match schema.kind(&words) {
            Some(NodeKind::Leaf { valueless, .. }) => return !valueless,
            Some(_) => return false,
            None => {}
        }
    }
    match tree.role(path) {
        Some(vyos_tree::Role::Leaf) => true,
        Some(
            vyos_tree::Role::Node
            | vyos_tree::Role::Tag
            | vyos_tree::Role::TagValue
            | vyos_tree::Role::ValuelessLeaf,
        ) => false,
        _ => {
            let kids = tree.children(path).unwrap_or_default();
            !kids.is_empty()
                && kids.iter().all(|k| {
                    let mut p = path.to_vec();
                    p.push(k.to_string());
                    tree.children(&p).is_some_and(|c| c.is_empty())
                })
        }
    }
}

fn node_json(tree: &ConfigTree, path: &mut Vec<String>, schema: &dyn Schema) -> Value {
    let kids: Vec<String> = tree
        .children(path)
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect();
    if is_leaf(tree, path, schema) {
        return match kids.len() {
            1 => Value::String(kids[0].clone()),
            _ => Value::Array(kids.into_iter().map(Value::String).collect()),
        };
    }
    let mut m = Map::new();
    for k in kids {
        path.push(k.clone());
        let v = node_json(tree, path, schema);
        path.pop();
        m.insert(k, v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vyos_tree::NoSchema;

    fn defs() -> vyos_defs::Definitions {
        vyos_defs::builtin::definitions("1.5")
            .expect("built in")
            .clone()
    }

    const CONFIG: &str = "\
set interfaces wireguard wg0 address '10.0.0.1/31'
set interfaces wireguard wg0 address '10.0.0.3/31'
set interfaces wireguard wg0 description 'mesh'
set interfaces wireguard wg0 peer r2 allowed-ips '10.0.0.0/31'
set interfaces ethernet eth0 disable
set service https api keys id vxg key 'k1'
set service https api rest
set system host-name 'r1'
";

    #[test]
    fn json_has_vyos_shape() {
        let d = defs();
        let t = ConfigTree::parse_set(CONFIG, &d).unwrap();
        let j = tree_to_json(&t, &[], &d);
        assert_eq!(
            j,
            json!({
                "interfaces": {
                    "ethernet": {"eth0": {"disable": {}}},
                    "wireguard": {"wg0": {
                        "address": ["10.0.0.1/31", "10.0.0.3/31"],
                        "description": "mesh",
                        "peer": {"r2": {"allowed-ips": "10.0.0.0/31"}}
                    }}
                },
                "service": {"https": {"api": {"keys": {"id": {"vxg": {"key": "k1"}}}, "rest": {}}}},
                "system": {"host-name": "r1"}
            })
        );
        assert_eq!(tree_from_json(&j, &[], &d).unwrap(), t);
        // Without a schema the shape alone gives the same tree back.
        assert_eq!(tree_from_json(&j, &[], &NoSchema).unwrap(), t);
    }

    #[test]
    fn subtree_answers_round_trip_under_their_path() {
        let d = defs();
        let t = ConfigTree::parse_set(CONFIG, &d).unwrap();
        let base: Vec<String> = vec!["interfaces".into(), "wireguard".into()];
        let j = tree_to_json(&t, &base, &d);
        assert_eq!(j["wg0"]["description"], "mesh");
        let back = tree_from_json(&j, &base, &d).unwrap();
        assert!(back.contains(
            &["interfaces", "wireguard", "wg0", "description", "mesh"].map(String::from)
        ));
        assert!(!back.contains(&["system".to_string()]));
    }

    #[test]
    fn non_config_json_is_refused_with_its_place() {
        let e = tree_from_json(&json!({"system": {"host-name": 5}}), &[], &NoSchema).unwrap_err();
        assert_eq!(e.to_string(), "at [system host-name]: expected an object, a string or a list of strings, found a number");
        assert!(tree_from_json(&json!({"a": [1]}), &[], &NoSchema).is_err());
    }

    proptest::proptest! {
        /// Any tree of set paths survives JSON and back (with the schema
        /// saying nothing, the shape decides).
        #[test]
        fn json_round_trip(paths in proptest::collection::vec(
            proptest::collection::vec("[a-c]{1,2}", 1..5), 0..12)) {
            let mut t = ConfigTree::new();
            for p in &paths {
                t.set(p, &NoSchema);
            }
            let j = tree_to_json(&t, &[], &NoSchema);
            let back = tree_from_json(&j, &[], &NoSchema).unwrap();
            proptest::prop_assert_eq!(back, t);
        }
    }
}
