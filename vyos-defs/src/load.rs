//! Reading a definitions directory: `#include` expansion, XML parsing and
//! merging of all files into one tree. All file I/O is in [`load_dir`]; the
//! rest works on strings so tests can feed in small documents.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::node::{Check, Constraint, DefKind, DefNode};
use crate::regex::LazyRegex;

/// Why a definitions set could not be loaded; always names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("no `*.xml.in` files in {0} (expected a vyos-1x checkout or its interface-definitions/ dir)")]
    NoFiles(PathBuf),
    /// `line` is the line in the original (pre-include-expansion) file.
    #[error("{file}:{line}: {reason}")]
    Xml {
        file: String,
        line: u32,
        reason: String,
    },
    #[error("{file}: {reason}")]
    Definition { file: String, reason: String },
}

/// Files + include resolver -> merged root. Also returns the list of regex
/// sources so callers can report compile counts.
pub(crate) fn build_tree(
    files: &[(String, String)],
    includes: &dyn Fn(&str) -> Option<String>,
) -> Result<DefNode, LoadError> {
    let mut root = DefNode::new("", DefKind::Node);
    let mut cache: HashMap<String, Arc<LazyRegex>> = HashMap::new();
    for (name, text) in files {
        let expanded = expand(name, text, includes, 0)?;
        let doc_text = expanded.text();
        let doc = roxmltree::Document::parse(&doc_text).map_err(|e| {
            let pos = e.pos();
            let (file, line) = expanded.origin(pos.row as usize);
            LoadError::Xml {
                file,
                line,
                reason: e.to_string(),
            }
        })?;
        let top = doc.root_element();
        if top.tag_name().name() != "interfaceDefinition" {
            return Err(LoadError::Definition {
                file: name.clone(),
                reason: format!(
                    "top element is <{}>, expected <interfaceDefinition>",
                    top.tag_name().name()
                ),
            });
        }
        let mut ctx = Ctx {
            doc: &doc,
            exp: &expanded,
            cache: &mut cache,
        };
        for el in top.children().filter(|n| n.is_element()) {
            if let Some(node) = ctx.parse_node(el)? {
                merge_child(&mut root, node);
            }
        }
    }
    Ok(root)
}

/// Reads `dir` (a vyos-1x checkout or its `interface-definitions/`), in
/// sorted file order so merges are deterministic.
pub(crate) fn load_dir(dir: &Path) -> Result<DefNode, LoadError> {
    let base = if dir.join("interface-definitions").is_dir() {
        dir.join("interface-definitions")
    } else {
        dir.to_path_buf()
    };
    let io = |p: &Path, e: std::io::Error| LoadError::Io {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&base).map_err(|e| io(&base, e))? {
        let entry = entry.map_err(|e| io(&base, e))?;
        let fname = entry.file_name().to_string_lossy().into_owned();
        if fname.ends_with(".xml.in") && entry.path().is_file() {
            names.push(fname);
        }
    }
    if names.is_empty() {
        return Err(LoadError::NoFiles(base));
    }
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for n in names {
        let p = base.join(&n);
        files.push((n, std::fs::read_to_string(&p).map_err(|e| io(&p, e))?));
    }
    let inc_cache: RefCell<HashMap<String, Option<String>>> = RefCell::new(HashMap::new());
    let includes = |rel: &str| -> Option<String> {
        if let Some(v) = inc_cache.borrow().get(rel) {
            return v.clone();
        }
        let v = std::fs::read_to_string(base.join(rel)).ok();
        inc_cache.borrow_mut().insert(rel.to_string(), v.clone());
        v
    };
    build_tree(&files, &includes)
}

/// Text after include expansion, with each line's origin for error messages.
struct Expanded {
    lines: Vec<(String, Arc<str>, u32)>,
}

impl Expanded {
    fn text(&self) -> String {
        let mut s = String::new();
        for (l, _, _) in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
    /// 1-based expanded row -> (file, 1-based line).
    fn origin(&self, row: usize) -> (String, u32) {
        match self.lines.get(row.saturating_sub(1)) {
            Some((_, f, l)) => (f.to_string(), *l),
            None => self
                .lines
                .last()
                .map(|(_, f, l)| (f.to_string(), *l))
                .unwrap_or_default(),
        }
    }
}

fn include_target(line: &str) -> Option<&str> {
    // VyOS pattern: ^ *#include <(.+)>$ (tabs tolerated too)
    let t = line.trim_start_matches([' ', '\t']).trim_end();
    let rest = t.strip_prefix("#include")?.trim_start();
    rest.strip_prefix('<')?.strip_suffix('>')
}

fn expand(
    name: &str,
    text: &str,
    includes: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<Expanded, LoadError> {
    if depth > 32 {
        return Err(LoadError::Definition {
            file: name.to_string(),
            reason: "#include nesting deeper than 32 (cycle?)".into(),
        });
    }
    let file: Arc<str> = Arc::from(name);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match include_target(line) {
            Some(target) => {
                let body = includes(target).ok_or_else(|| LoadError::Definition {
                    file: format!("{name}:{}", i + 1),
                    reason: format!("cannot read included file `{target}`"),
                })?;
                out.extend(expand(target, &body, includes, depth + 1)?.lines);
            }
            None => out.push((line.to_string(), file.clone(), (i + 1) as u32)),
        }
    }
    Ok(Expanded { lines: out })
}

struct Ctx<'a, 'd> {
    doc: &'a roxmltree::Document<'d>,
    exp: &'a Expanded,
    cache: &'a mut HashMap<String, Arc<LazyRegex>>,
}

impl Ctx<'_, '_> {
    fn err(&self, el: roxmltree::Node, reason: String) -> LoadError {
        let pos = self.doc.text_pos_at(el.range().start);
        let (file, line) = self.exp.origin(pos.row as usize);
        LoadError::Xml { file, line, reason }
    }

    /// Parses a `node`/`tagNode`/`leafNode` element; other elements
    /// (e.g. `syntaxVersion`) yield `None`.
    fn parse_node(&mut self, el: roxmltree::Node) -> Result<Option<DefNode>, LoadError> {
        let kind = match el.tag_name().name() {
            "node" => DefKind::Node,
            "tagNode" => DefKind::Tag,
            "leafNode" => DefKind::Leaf,
            _ => return Ok(None),
        };
        let name = el
            .attribute("name")
            .ok_or_else(|| self.err(el, format!("<{}> without a name", el.tag_name().name())))?;
        let mut node = DefNode::new(name, kind);
        node.owner = el.attribute("owner").map(str::to_string);
        for c in el.children().filter(|n| n.is_element()) {
            match c.tag_name().name() {
                "properties" => self.parse_properties(c, &mut node)?,
                "defaultValue" => node.default_value = Some(c.text().unwrap_or("").to_string()),
                "children" => {
                    if kind == DefKind::Leaf {
                        return Err(self.err(c, format!("leafNode `{name}` has <children>")));
                    }
                    for cc in c.children().filter(|n| n.is_element()) {
                        if let Some(child) = self.parse_node(cc)? {
                            merge_child(&mut node, child);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Some(node))
    }

    fn parse_properties(
        &mut self,
        el: roxmltree::Node,
        node: &mut DefNode,
    ) -> Result<(), LoadError> {
        for p in el.children().filter(|n| n.is_element()) {
            match p.tag_name().name() {
                "help" => node.help = p.text().map(|t| t.trim().to_string()),
                "multi" => node.multi = true,
                "valueless" => node.valueless = true,
                "hidden" => node.hidden = true,
                "secret" => node.secret = true,
                "constraintErrorMessage" => {
                    node.constraint_error = p
                        .text()
                        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                }
                "constraint" => {
                    let c = self.parse_constraint(p)?;
                    // Several <constraint> blocks in one properties: all alternatives.
                    match &mut node.constraint {
                        Some(existing) => existing.checks.extend(c.checks),
                        None => node.constraint = Some(c),
                    }
                }
                "constraintGroup" => {
                    let c = self.parse_constraint(p)?;
                    node.constraint_groups.push(c);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn parse_constraint(&mut self, el: roxmltree::Node) -> Result<Constraint, LoadError> {
        let mut checks = Vec::new();
        for e in el.children().filter(|n| n.is_element()) {
            match e.tag_name().name() {
                "regex" => {
                    let src = e.text().unwrap_or("").to_string();
                    let re = match self.cache.get(&src) {
                        Some(re) => re.clone(),
                        None => {
                            // Compiled now: a bad pattern is named with its file and line.
                            let re = Arc::new(LazyRegex::new(src.clone()));
                            re.compile().map_err(|err| {
                                self.err(e, format!("regex `{src}` does not compile: {err}"))
                            })?;
                            self.cache.insert(src, re.clone());
                            re
                        }
                    };
                    checks.push(Check::Regex(re));
                }
                "validator" => {
                    let full = e
                        .attribute("name")
                        .ok_or_else(|| self.err(e, "<validator> without a name".into()))?;
                    // Some files put arguments into the name ("url --file-transport").
                    let mut words = full.split_whitespace();
                    let name = words.next().unwrap_or("").to_string();
                    let mut args: Vec<&str> = words.collect();
                    if let Some(a) = e.attribute("argument") {
                        args.extend(a.split_whitespace());
                    }
                    let argument = if args.is_empty() {
                        None
                    } else {
                        Some(args.join(" "))
                    };
                    checks.push(Check::Validator { name, argument });
                }
                _ => {}
            }
        }
        Ok(Constraint { checks })
    }
}

/// Merges `new` into `parent.children`: same-named nodes are combined, what
/// the later declaration states wins, children merge recursively. This is how
/// a bare `<leafNode name="mtu"><defaultValue>1420</defaultValue></leafNode>`
/// only changes the default of an included leaf.
pub(crate) fn merge_child(parent: &mut DefNode, new: DefNode) {
    match parent.children.get_mut(&new.name) {
        None => {
            parent.children.insert(new.name.clone(), new);
        }
        Some(old) => merge_into(old, new),
    }
}

fn merge_into(old: &mut DefNode, new: DefNode) {
    old.multi |= new.multi;
    old.valueless |= new.valueless;
    old.hidden |= new.hidden;
    old.secret |= new.secret;
    if new.owner.is_some() {
        old.owner = new.owner;
    }
    if new.help.is_some() {
        old.help = new.help;
    }
    if new.default_value.is_some() {
        old.default_value = new.default_value;
    }
    if new.constraint.is_some() {
        old.constraint = new.constraint;
    }
    if !new.constraint_groups.is_empty() {
        old.constraint_groups = new.constraint_groups;
    }
    if new.constraint_error.is_some() {
        old.constraint_error = new.constraint_error;
    }
    for (_, c) in new.children {
        merge_child(old, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_inc(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn include_line_pattern() {
        assert_eq!(
            include_target("    #include <include/a.xml.i>"),
            Some("include/a.xml.i")
        );
        assert_eq!(include_target("<!-- #include <x> -->"), None);
    }

    #[test]
    fn merge_bare_default_override() {
        let a = r#"<interfaceDefinition><node name="i"><children>
            <leafNode name="mtu"><properties><constraint><regex>[0-9]+</regex></constraint></properties><defaultValue>1500</defaultValue></leafNode>
            <leafNode name="mtu"><defaultValue>1420</defaultValue></leafNode>
            </children></node></interfaceDefinition>"#;
        let b = r#"<interfaceDefinition><node name="i"><children><leafNode name="x"><properties><valueless/></properties></leafNode></children></node></interfaceDefinition>"#;
        let root = build_tree(
            &[("a.xml.in".into(), a.into()), ("b.xml.in".into(), b.into())],
            &no_inc,
        )
        .unwrap();
        let i = root.child("i").unwrap();
        let mtu = i.child("mtu").unwrap();
        assert_eq!(mtu.default_value.as_deref(), Some("1420"));
        assert!(
            mtu.has_value_checks(),
            "constraint must survive the bare redeclaration"
        );
        assert!(i.child("x").unwrap().valueless);
    }

    #[test]
    fn xml_error_names_original_file_and_line() {
        let main = "<interfaceDefinition>\n#include <inc/x.xml.i>\n</interfaceDefinition>\n";
        let inc = |p: &str| {
            (p == "inc/x.xml.i").then(|| "<node name=\"a\">\n<children>\n</node>\n".to_string())
        };
        let err = build_tree(&[("m.xml.in".into(), main.into())], &inc).unwrap_err();
        match err {
            LoadError::Xml { file, line, .. } => {
                assert_eq!(file, "inc/x.xml.i");
                assert!(line >= 2, "line {line}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let missing = build_tree(&[("m.xml.in".into(), main.into())], &no_inc).unwrap_err();
        assert!(missing.to_string().contains("inc/x.xml.i"), "{missing}");
    }
}
