//! Checking one `set` path against the merged tree: structure (node / tag
//! value / leaf value) and value constraints.

use crate::node::{Check, Constraint, DefKind, DefNode};
use crate::validators;

/// Why a `set` path is invalid. `word` indexes the offending word of the
/// path (for "needs a value" errors: the word that lacks one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PathError {
    pub word: usize,
    pub reason: String,
}

/// Most names listed in an "unknown node" message, to keep it readable.
const MAX_LISTED: usize = 8;

fn err(word: usize, reason: String) -> PathError {
    PathError { word, reason }
}

fn expected(node: &DefNode) -> String {
    let names: Vec<&str> = node.children.keys().map(String::as_str).collect();
    if names.is_empty() {
        return "it has no children".into();
    }
    let mut s = names
        .iter()
        .take(MAX_LISTED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX_LISTED {
        s.push_str(&format!(", ... ({} more)", names.len() - MAX_LISTED));
    }
    format!("expected one of: {s}")
}

fn join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Walks `path` (the words after `set`).
pub(crate) fn validate_path<S: AsRef<str>>(root: &DefNode, path: &[S]) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(err(0, "empty path".into()));
    }
    validate_from(root, path, 0, &mut Vec::new())
}

/// Validates many paths in a row with the same answers as [`validate_path`],
/// without checking again the prefix a path shares with the previous one
/// (a compile's paths share most of their words, tag values included, and
/// checking a tag value can mean running a regex).
pub struct PathChecker<'d, 'w> {
    root: &'d DefNode,
    prev: Vec<&'w str>,
    /// Where the walk of the previous path stood after each of its steps
    /// that passed: (words consumed, definition node).
    marks: Vec<(usize, &'d DefNode)>,
}

impl<'d, 'w> PathChecker<'d, 'w> {
    pub(crate) fn new(root: &'d DefNode) -> Self {
        PathChecker {
            root,
            prev: Vec::new(),
            marks: Vec::new(),
        }
    }

    pub fn check(&mut self, path: &[&'w str]) -> Result<(), PathError> {
        if path.is_empty() {
            return Err(err(0, "empty path".into()));
        }
        let same = |a: &&str, b: &&str| std::ptr::eq(*a, *b) || a == b;
        let shared = self
            .prev
            .iter()
            .zip(path)
            .take_while(|(a, b)| same(a, b))
            .count();
        let keep = self.marks.partition_point(|(i, _)| *i <= shared);
        self.marks.truncate(keep);
        let (start, node) = self.marks.last().copied().unwrap_or((0, self.root));
        self.prev.clear();
        self.prev.extend_from_slice(path);
        validate_from(node, path, start, &mut self.marks)
    }
}

/// The walk of [`validate_path`] from `node`, standing after `start` words of
/// `path`; every step that passes is recorded in `marks`.
fn validate_from<'d, S: AsRef<str>>(
    mut node: &'d DefNode,
    path: &[S],
    start: usize,
    marks: &mut Vec<(usize, &'d DefNode)>,
) -> Result<(), PathError> {
    let mut i = start;
    while i < path.len() {
        let word = path[i].as_ref();
        let Some(child) = node.child(word) else {
            let place = if i == 0 {
                "at top level".to_string()
            } else {
                format!("under `{}`", join(&path[..i]))
            };
            return Err(err(
                i,
                format!("unknown node `{word}` {place} ({})", expected(node)),
            ));
        };
        let here = || join(&path[..=i]);
        match child.kind {
            DefKind::Node => {
                node = child;
                i += 1;
                marks.push((i, node));
            }
            DefKind::Tag => {
                let Some(value) = path.get(i + 1).map(AsRef::as_ref) else {
                    return Err(err(
                        i,
                        format!("path ends at `{}` which needs a tag value", here()),
                    ));
                };
                check_value(child, value).map_err(|why| {
                    err(
                        i + 1,
                        format!("`{value}` is not a valid value for `{}`: {why}", here()),
                    )
                })?;
                node = child;
                i += 2;
                marks.push((i, node));
            }
            DefKind::Leaf => {
                if child.valueless {
                    if i + 1 < path.len() {
                        return Err(err(
                            i + 1,
                            format!("`{word}` takes no value (got `{}`)", path[i + 1].as_ref()),
                        ));
                    }
                    return Ok(());
                }
                let Some(value) = path.get(i + 1).map(AsRef::as_ref) else {
                    return Err(err(i, format!("`{word}` needs a value")));
                };
                check_value(child, value).map_err(|why| {
                    err(
                        i + 1,
                        format!("`{value}` is not a valid value for `{}`: {why}", here()),
                    )
                })?;
                if let Some(extra) = path.get(i + 2).map(AsRef::as_ref) {
                    return Err(err(
                        i + 2,
                        format!("unexpected `{extra}` after the value of leaf `{}` (a leaf takes one value)", here()),
                    ));
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Checks a leaf value or tag value: any entry of `<constraint>` may accept,
/// every `<constraintGroup>` must accept fully. The error is the node's
/// `constraintErrorMessage` (if it has one) followed by the checks that failed.
pub(crate) fn check_value(node: &DefNode, value: &str) -> Result<(), String> {
    let mut failed: Vec<String> = Vec::new();
    if let Some(c) = &node.constraint {
        if !c.checks.is_empty() && !c.checks.iter().any(|ch| passes(ch, value)) {
            failed.push(describe_any(c));
        }
    }
    for g in &node.constraint_groups {
        for ch in &g.checks {
            if !passes(ch, value) {
                failed.push(describe(ch));
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(match &node.constraint_error {
        Some(msg) => {
            let msg = msg
                .replace("\\n", " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("{msg} ({})", failed.join("; "))
        }
        None => failed.join("; "),
    })
}

/// An unknown validator accepts: we must not reject input VyOS may accept.
fn passes(check: &Check, value: &str) -> bool {
    match check {
        Check::Regex(re) => re.is_match(value),
        Check::Validator { name, argument } => {
            validators::check(name, argument.as_deref(), value).unwrap_or(true)
        }
    }
}

fn describe(check: &Check) -> String {
    match check {
        Check::Regex(re) => format!("does not match regex `{}`", re.source()),
        Check::Validator {
            name,
            argument: Some(a),
        } => format!("fails validator `{name} {a}`"),
        Check::Validator {
            name,
            argument: None,
        } => format!("fails validator `{name}`"),
    }
}

fn describe_any(c: &Constraint) -> String {
    c.checks
        .iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join(" and ")
}
