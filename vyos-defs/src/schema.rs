//! The compact schema: a merged definition tree written as text, so the
//! product carries VyOS's configuration tree without carrying vyos-1x.
//!
//! `vxguard vyos defs build` derives it from an `interface-definitions`
//! tree ([`write`]); the binary embeds one per VyOS release it ships
//! ([`crate::builtin`]) and reads it back with [`read`], giving exactly the
//! tree the XML loader gives (a test compares the two node by node).
//!
//! Text rather than a binary encoding so that a regenerated schema reviews
//! as a diff. Layout, one item per line:
//! - `# ...`: comments (what it is, where from, the LGPL-2.1 notice);
//! - `vxguard-vyos-schema 1`: the format, first non-comment line;
//! - `vyos VERSION`, `vyos-1x BRANCH COMMIT`: what it was derived from;
//! - `re SOURCE`: the regex table, each distinct source once;
//! - `DEPTH KIND NAME [FIELD...]`: the nodes in pre-order, children sorted.
//!   KIND is `n`, `t` or `l` followed by flags (`m`ulti, `v`alueless,
//!   `h`idden, `s`ecret); fields are tab-separated `key=value`: `o` owner,
//!   `d` default, `h` help, `e` constraint error, `c` the constraint's
//!   checks, `g` one constraint group's checks (repeated per group).
//!   Checks are comma-separated: `rN` (regex N of the table) or
//!   `vNAME[ ARGUMENT]`. Values escape `\`, tab, newline, CR and `,`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::node::{Check, Constraint, DefKind, DefNode};
use crate::regex::LazyRegex;

/// The format this module writes and reads.
pub const FORMAT: u32 = 1;

/// Where a schema came from: its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// VyOS release, e.g. `1.4`.
    pub version: String,
    /// vyos-1x branch, e.g. `sagitta`.
    pub branch: String,
    /// vyos-1x commit id (40 hex digits).
    pub commit: String,
}

/// Why a schema text could not be read; names the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("schema line {line}: {reason}")]
pub struct SchemaError {
    pub line: usize,
    pub reason: String,
}

const NOTICE: &str = "\
# VyOS configuration definitions, compact form, derived by `vxguard vyos defs build`
# from the interface-definitions of vyos-1x (https://github.com/vyos/vyos-1x).
# vyos-1x is Copyright (C) VyOS maintainers and contributors, licensed under the
# GNU Lesser General Public License version 2.1 (see COPYING.LGPL-2.1 beside this
# file). This file is a derived work of those definitions and is distributed under
# the same licence. Do not edit: regenerate it (README: VyOS definitions).
";

/// Writes `root` as a schema. Deterministic: the same tree and origin give
/// the same bytes.
pub fn write(root: &DefNode, origin: &Origin) -> String {
    let mut regexes: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    collect_regexes(root, &mut regexes, &mut index);
    let mut out = String::with_capacity(4 << 20);
    out.push_str(NOTICE);
    let _ = writeln!(out, "vxguard-vyos-schema {FORMAT}");
    let _ = writeln!(out, "vyos {}", origin.version);
    let _ = writeln!(out, "vyos-1x {} {}", origin.branch, origin.commit);
    for r in &regexes {
        let _ = writeln!(out, "re {}", escape(r));
    }
    for c in root.children.values() {
        write_node(c, 0, &index, &mut out);
    }
    out
}

fn collect_regexes<'a>(
    n: &'a DefNode,
    list: &mut Vec<&'a str>,
    index: &mut HashMap<&'a str, usize>,
) {
    for c in n.constraint.iter().chain(&n.constraint_groups) {
        for ch in &c.checks {
            if let Check::Regex(re) = ch {
                index.entry(re.source()).or_insert_with(|| {
                    list.push(re.source());
                    list.len() - 1
                });
            }
        }
    }
    for c in n.children.values() {
        collect_regexes(c, list, index);
    }
}

fn write_node(n: &DefNode, depth: usize, index: &HashMap<&str, usize>, out: &mut String) {
    let kind = match n.kind {
        DefKind::Node => 'n',
        DefKind::Tag => 't',
        DefKind::Leaf => 'l',
    };
    let _ = write!(out, "{depth} {kind}");
    for (on, f) in [
        (n.multi, 'm'),
        (n.valueless, 'v'),
        (n.hidden, 'h'),
        (n.secret, 's'),
    ] {
        if on {
            out.push(f);
        }
    }
    out.push(' ');
    out.push_str(&escape(&n.name));
    let mut field = |k: &str, v: &str| {
        out.push('\t');
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    };
    if let Some(o) = &n.owner {
        field("o", &escape(o));
    }
    if let Some(d) = &n.default_value {
        field("d", &escape(d));
    }
    if let Some(c) = &n.constraint {
        field("c", &checks(c, index));
    }
    for g in &n.constraint_groups {
        field("g", &checks(g, index));
    }
    if let Some(e) = &n.constraint_error {
        field("e", &escape(e));
    }
    if let Some(h) = &n.help {
        field("h", &escape(h));
    }
    out.push('\n');
    for c in n.children.values() {
        write_node(c, depth + 1, index, out);
    }
}

fn checks(c: &Constraint, index: &HashMap<&str, usize>) -> String {
    let items: Vec<String> = c
        .checks
        .iter()
        .map(|ch| match ch {
            Check::Regex(re) => format!("r{}", index[re.source()]),
            Check::Validator { name, argument } => match argument {
                Some(a) => format!("v{} {}", escape(name), escape(a)),
                None => format!("v{}", escape(name)),
            },
        })
        .collect();
    items.join(",")
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => o.push_str("\\\\"),
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            ',' => o.push_str("\\,"),
            c => o.push(c),
        }
    }
    o
}

fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut o = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => o.push('\\'),
            Some('t') => o.push('\t'),
            Some('n') => o.push('\n'),
            Some('r') => o.push('\r'),
            Some(',') => o.push(','),
            other => {
                return Err(format!(
                    "bad escape `\\{}`",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(o)
}

/// Splits at unescaped commas.
fn split_list(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut esc) = (0, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if esc => esc = false,
            b'\\' => esc = true,
            b',' => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Reads a schema written by [`write`]: its origin and the tree.
pub fn read(text: &str) -> Result<(Origin, DefNode), SchemaError> {
    let mut format = None;
    let (mut version, mut source) = (None, None);
    let mut regexes: Vec<Arc<LazyRegex>> = Vec::new();
    // The open ancestors: stack[d] is the node at depth d-1 (0 = root).
    let mut stack: Vec<DefNode> = vec![DefNode::new("", DefKind::Node)];
    for (i, line) in text.lines().enumerate() {
        let at = i + 1;
        let err = |reason: String| SchemaError { line: at, reason };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if format.is_none() {
            let f = line.strip_prefix("vxguard-vyos-schema ").ok_or_else(|| {
                err("not a vxguard VyOS schema (no `vxguard-vyos-schema` line)".into())
            })?;
            if f != FORMAT.to_string() {
                return Err(err(format!(
                    "schema format {f}, this build reads format {FORMAT}"
                )));
            }
            format = Some(());
            continue;
        }
        if let Some(v) = line.strip_prefix("vyos ") {
            version = Some(v.to_string());
        } else if let Some(s) = line.strip_prefix("vyos-1x ") {
            let (b, c) = s
                .split_once(' ')
                .ok_or_else(|| err("expected `vyos-1x BRANCH COMMIT`".into()))?;
            source = Some((b.to_string(), c.to_string()));
        } else if let Some(r) = line.strip_prefix("re ") {
            regexes.push(Arc::new(LazyRegex::new(unescape(r).map_err(err)?)));
        } else {
            let node = read_node(line, &regexes).map_err(err)?;
            let depth = node.0;
            if depth + 1 > stack.len() {
                return Err(err(format!(
                    "depth {depth} below a node at depth {}",
                    stack.len() as isize - 2
                )));
            }
            while stack.len() > depth + 1 {
                close(&mut stack);
            }
            if stack.last().is_some_and(|p| p.kind == DefKind::Leaf) {
                return Err(err(format!("`{}` below a leaf", node.1.name)));
            }
            stack.push(node.1);
        }
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    let err = |reason: &str| SchemaError {
        line: 0,
        reason: reason.to_string(),
    };
    format.ok_or_else(|| err("empty schema"))?;
    let version = version.ok_or_else(|| err("no `vyos VERSION` line"))?;
    let (branch, commit) = source.ok_or_else(|| err("no `vyos-1x BRANCH COMMIT` line"))?;
    let root = stack.pop().expect("root");
    Ok((
        Origin {
            version,
            branch,
            commit,
        },
        root,
    ))
}

fn close(stack: &mut Vec<DefNode>) {
    let n = stack.pop().expect("non-root");
    let parent = stack.last_mut().expect("root");
    parent.children.insert(n.name.clone(), n);
}

fn read_node(line: &str, regexes: &[Arc<LazyRegex>]) -> Result<(usize, DefNode), String> {
    let mut fields = line.split('\t');
    let head = fields.next().unwrap_or("");
    let mut words = head.splitn(3, ' ');
    let depth: usize = words.next().and_then(|d| d.parse().ok()).ok_or_else(|| {
        format!(
            "unknown line `{}`",
            head.chars().take(40).collect::<String>()
        )
    })?;
    let kind = words.next().ok_or("no node kind")?;
    let name = unescape(words.next().ok_or("no node name")?)?;
    let mut flags = kind.chars();
    let k = match flags.next() {
        Some('n') => DefKind::Node,
        Some('t') => DefKind::Tag,
        Some('l') => DefKind::Leaf,
        _ => return Err(format!("unknown node kind `{kind}`")),
    };
    let mut node = DefNode::new(&name, k);
    for f in flags {
        match f {
            'm' => node.multi = true,
            'v' => node.valueless = true,
            'h' => node.hidden = true,
            's' => node.secret = true,
            _ => return Err(format!("unknown flag `{f}` on `{name}`")),
        }
    }
    for f in fields {
        let (key, value) = f
            .split_once('=')
            .ok_or_else(|| format!("field `{f}` has no `=`"))?;
        match key {
            "o" => node.owner = Some(unescape(value)?),
            "d" => node.default_value = Some(unescape(value)?),
            "h" => node.help = Some(unescape(value)?),
            "e" => node.constraint_error = Some(unescape(value)?),
            "c" => node.constraint = Some(read_checks(value, regexes)?),
            "g" => node.constraint_groups.push(read_checks(value, regexes)?),
            _ => return Err(format!("unknown field `{key}` on `{name}`")),
        }
    }
    Ok((depth, node))
}

fn read_checks(value: &str, regexes: &[Arc<LazyRegex>]) -> Result<Constraint, String> {
    let mut checks = Vec::new();
    if value.is_empty() {
        return Ok(Constraint { checks });
    }
    for item in split_list(value) {
        if let Some(n) = item.strip_prefix('r') {
            let re = n
                .parse::<usize>()
                .ok()
                .and_then(|n| regexes.get(n))
                .ok_or_else(|| format!("no regex `{item}` in the table"))?;
            checks.push(Check::Regex(re.clone()));
        } else if let Some(v) = item.strip_prefix('v') {
            let (name, argument) = match v.split_once(' ') {
                Some((n, a)) => (unescape(n)?, Some(unescape(a)?)),
                None => (unescape(v)?, None),
            };
            checks.push(Check::Validator { name, argument });
        } else {
            return Err(format!("unknown check `{item}`"));
        }
    }
    Ok(Constraint { checks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::build_tree;

    fn origin() -> Origin {
        Origin {
            version: "1.5".into(),
            branch: "current".into(),
            commit: "0".repeat(40),
        }
    }

    #[test]
    fn round_trip_keeps_every_property() {
        let xml = r#"<interfaceDefinition><node name="i" owner="x.py"><properties><help>I, with "comma"
and newline	tab \ slash</help></properties><children>
            <tagNode name="t"><properties><constraint><regex>[a-z]+,x</regex><validator name="numeric" argument="--range 1-9"/></constraint><constraintGroup><validator name="a"/></constraintGroup><constraintGroup/><constraintErrorMessage>bad, bad</constraintErrorMessage></properties><children>
              <leafNode name="m"><properties><multi/><hidden/><secret/><constraint></constraint></properties><defaultValue>1,2</defaultValue></leafNode>
              <leafNode name="v"><properties><valueless/></properties></leafNode>
            </children></tagNode></children></node></interfaceDefinition>"#;
        let root = build_tree(&[("a.xml.in".into(), xml.into())], &|_| None).unwrap();
        let text = write(&root, &origin());
        let (o, back) = read(&text).unwrap();
        assert_eq!(o, origin());
        assert_eq!(back, root);
        assert_eq!(write(&back, &o), text, "writing is deterministic");
        let t = back.child("i").unwrap().child("t").unwrap();
        assert_eq!(t.constraint_groups.len(), 2);
        assert!(t.constraint_groups[1].checks.is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let good = write(&DefNode::new("", DefKind::Node), &origin());
        assert!(read(&good).is_ok());
        let bad = format!("{good}0 x name\n");
        let e = read(&bad).unwrap_err();
        assert!(e.reason.contains("unknown node kind"), "{e}");
        assert_eq!(e.line, bad.lines().count());
        let deep = format!("{good}1 n orphan\n");
        assert!(read(&deep).unwrap_err().reason.contains("depth"));
        let under_leaf = format!("{good}0 l a\n1 n b\n");
        assert!(read(&under_leaf)
            .unwrap_err()
            .reason
            .contains("below a leaf"));
        assert!(read("# only a comment\n")
            .unwrap_err()
            .reason
            .contains("empty"));
        let future = good.replace("vxguard-vyos-schema 1", "vxguard-vyos-schema 9");
        assert!(read(&future).unwrap_err().reason.contains("format 9"));
        let bad_re = format!("{good}0 l a\tc=r7\n");
        assert!(read(&bad_re).unwrap_err().reason.contains("r7"));
    }
}
