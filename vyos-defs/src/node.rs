//! The merged definition tree: one `DefNode` per configuration word, as VyOS
//! sees it after all `interface-definitions/*.xml.in` files are merged.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::regex::LazyRegex;

/// What a definition node is; decides how the following path word is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    /// Fixed word with children (`<node>`).
    Node,
    /// Word followed by a user value, then children (`<tagNode>`).
    Tag,
    /// Word followed by its value (unless valueless) (`<leafNode>`).
    Leaf,
}

/// One entry of a `<constraint>` or `<constraintGroup>`.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// An anchored regex (`^(?:source)$`), shared between nodes with the
    /// same source so each pattern compiles once, when first used.
    Regex(Arc<LazyRegex>),
    /// A named external validator (`src/validators/<name>` in vyos-1x),
    /// re-implemented in `validators.rs`.
    Validator {
        name: String,
        argument: Option<String>,
    },
}

/// A `<constraint>` (entries are alternatives: any may accept) or a
/// `<constraintGroup>` (entries must all accept).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Constraint {
    pub checks: Vec<Check>,
}

/// A merged definition node.
#[derive(Clone, Debug, PartialEq)]
pub struct DefNode {
    pub name: String,
    pub kind: DefKind,
    /// Leaf may be set several times.
    pub multi: bool,
    /// Leaf takes no value.
    pub valueless: bool,
    pub hidden: bool,
    pub secret: bool,
    /// conf_mode script notified on change (`owner` attribute).
    pub owner: Option<String>,
    pub help: Option<String>,
    pub default_value: Option<String>,
    /// For a leaf: checks its value; for a tag node: checks the tag value.
    pub constraint: Option<Constraint>,
    pub constraint_groups: Vec<Constraint>,
    pub constraint_error: Option<String>,
    pub children: BTreeMap<String, DefNode>,
}

impl DefNode {
    pub(crate) fn new(name: &str, kind: DefKind) -> Self {
        DefNode {
            name: name.to_string(),
            kind,
            multi: false,
            valueless: false,
            hidden: false,
            secret: false,
            owner: None,
            help: None,
            default_value: None,
            constraint: None,
            constraint_groups: Vec::new(),
            constraint_error: None,
            children: BTreeMap::new(),
        }
    }

    /// Child by exact name.
    pub fn child(&self, name: &str) -> Option<&DefNode> {
        self.children.get(name)
    }

    /// True when a value word is checked at all (some leaves/tags accept anything).
    pub fn has_value_checks(&self) -> bool {
        self.constraint
            .as_ref()
            .is_some_and(|c| !c.checks.is_empty())
            || !self.constraint_groups.is_empty()
    }
}
