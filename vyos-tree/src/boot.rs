//! config.boot: the curly-brace form VyOS stores on disk.
//!
//! Statements are line-oriented: `name {` opens a node, `name value {` a tag value,
//! `name value` is a leaf value (repeated lines = several values), `name` alone is a
//! valueless leaf, `}` closes. `//` line comments and `/* */` comments (VyOS's node
//! comments and the version trailer) are skipped. Rendering uses 4-space indentation.

use crate::error::{ParseError, MAX_DEPTH};
use crate::lex::{boot_word, is_blank, Cursor};
use crate::schema::Schema;
use crate::set_lines::LineWriter;
use crate::tree::{ordered, reach, resolve, ConfigTree, Here, Node, Role};
use crate::Segment;

enum Tok {
    Word(String),
    Open,
    Close,
    Newline,
}

struct Token {
    tok: Tok,
    line: usize,
    column: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut cur = Cursor::new(text);
    let mut out = Vec::new();
    while let Some(c) = cur.peek() {
        let (line, column) = (cur.line, cur.column);
        let tok = match c {
            '\n' => {
                cur.bump();
                Tok::Newline
            }
            c if is_blank(c) => {
                cur.bump();
                continue;
            }
            '{' => {
                cur.bump();
                Tok::Open
            }
            '}' => {
                cur.bump();
                Tok::Close
            }
            '/' if cur.peek2() == Some('/') => {
                cur.skip_line();
                continue;
            }
            '/' if cur.peek2() == Some('*') => {
                cur.bump();
                cur.bump();
                loop {
                    match cur.bump() {
                        None => return Err(ParseError::new(line, column, "unterminated comment")),
                        Some('*') if cur.peek() == Some('/') => {
                            cur.bump();
                            break;
                        }
                        Some(_) => {}
                    }
                }
                continue;
            }
            '"' => {
                cur.bump();
                let mut s = String::new();
                loop {
                    match cur.bump() {
                        None => {
                            return Err(ParseError::new(line, column, "unterminated double quote"))
                        }
                        Some('"') => break,
                        Some('\\') => match cur.peek() {
                            Some('\\') | Some('"') => s.push(cur.bump().expect("peeked")),
                            Some('n') => {
                                cur.bump();
                                s.push('\n');
                            }
                            Some('t') => {
                                cur.bump();
                                s.push('\t');
                            }
                            Some('r') => {
                                cur.bump();
                                s.push('\r');
                            }
                            _ => s.push('\\'),
                        },
                        Some(c) => s.push(c),
                    }
                }
                Tok::Word(s)
            }
            _ => {
                let mut s = String::new();
                while let Some(c) = cur.peek() {
                    if is_blank(c) || matches!(c, '\n' | '{' | '}' | '"') {
                        break;
                    }
                    s.push(c);
                    cur.bump();
                }
                Tok::Word(s)
            }
        };
        out.push(Token { tok, line, column });
    }
    Ok(out)
}

pub(crate) fn parse_boot(text: &str) -> Result<ConfigTree, ParseError> {
    let tokens = tokenize(text)?;
    let mut tree = ConfigTree::new();
    let mut path: Vec<String> = Vec::new();
    // For each open block: how many path words it added and where it opened.
    let mut open: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.tok {
            Tok::Newline => i += 1,
            Tok::Close => {
                let Some((added, _, _)) = open.pop() else {
                    return Err(ParseError::new(t.line, t.column, "unexpected `}`"));
                };
                path.truncate(path.len() - added);
                i += 1;
            }
            Tok::Open => return Err(ParseError::new(t.line, t.column, "`{` without a node name")),
            Tok::Word(_) => {
                let mut words: Vec<String> = Vec::new();
                while let Some(Token {
                    tok: Tok::Word(w),
                    line,
                    column,
                }) = tokens.get(i)
                {
                    if words.len() == 2 {
                        return Err(ParseError::new(
                            *line,
                            *column,
                            "too many words: expected `name`, `name value` or `name [value] {`",
                        ));
                    }
                    words.push(w.clone());
                    i += 1;
                }
                let opens = matches!(tokens.get(i), Some(Token { tok: Tok::Open, .. }));
                let roles: &[Role] = match (words.len(), opens) {
                    (1, true) => &[Role::Node],
                    (_, true) => &[Role::Tag, Role::TagValue],
                    (1, false) => &[Role::ValuelessLeaf],
                    (_, false) => &[Role::Leaf, Role::Value],
                };
                let base = path.len();
                path.extend(words.iter().cloned());
                let mut all_roles = vec![Role::Unknown; base];
                all_roles.extend_from_slice(roles);
                tree.insert(&path, &all_roles, false);
                if opens {
                    if path.len() > MAX_DEPTH {
                        return Err(ParseError::new(t.line, t.column, "nesting is too deep"));
                    }
                    open.push((words.len(), tokens[i].line, tokens[i].column));
                    i += 1;
                } else {
                    path.truncate(base);
                }
            }
        }
    }
    if let Some((_, line, column)) = open.pop() {
        return Err(ParseError::new(line, column, "`{` is never closed"));
    }
    Ok(tree)
}

struct Writer<'a> {
    schema: &'a dyn Schema,
    /// The config.boot text, when `boot` (else left empty: the `set` lines
    /// alone are wanted).
    out: String,
    boot: bool,
    path: Vec<&'a str>,
    /// With `Some`, the `set` lines too, written in the same walk (one walk
    /// costs half the schema lookups of two).
    lines: Option<LineWriter<'a>>,
    /// With `Some`, owners' subtrees (a node of one owner under a shared
    /// one) in render order, with their byte ranges in the `set` text.
    owned: Option<Vec<Segment>>,
}

impl<'a> Writer<'a> {
    fn put(&mut self, s: &str) {
        if self.boot {
            self.out.push_str(s);
        }
    }

    fn put_char(&mut self, c: char) {
        if self.boot {
            self.out.push(c);
        }
    }

    fn put_word(&mut self, w: &str) {
        if self.boot {
            self.out.push_str(&boot_word(w));
        }
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.put("    ");
        }
    }

    /// A name as printed at `depth`; at the top level `set`/`delete` are quoted so the
    /// text cannot be mistaken for command form by `ConfigTree::parse`.
    fn push_name(&mut self, depth: usize, name: &str) {
        if depth == 0 && (name == "set" || name == "delete") {
            self.put_char('"');
            self.put(name);
            self.put_char('"');
        } else {
            self.put_word(name);
        }
    }

    fn children(&mut self, node: &'a Node, role: Role, known: bool, here: Here, depth: usize) {
        for (name, child) in ordered(node, role) {
            self.path.push(name);
            let (kind, chere) = here.child(self.schema, role, &self.path);
            let (crole, cknown) = resolve(|| kind, role, known, child);
            let start = self.starts();
            self.entry(name, child, crole, cknown, chere, depth);
            self.record(node, child, start, None);
            self.path.pop();
        }
    }

    /// Where the next text goes: in `out`, and in the `set` lines.
    fn starts(&self) -> (usize, usize) {
        (
            self.out.len(),
            self.lines.as_ref().map_or(0, |l| l.out.len()),
        )
    }

    /// Notes `child`'s texts (from `start`) if it starts an owner's subtree;
    /// `value` is its word when it is a tag's or leaf's value (not in `path`).
    fn record(&mut self, parent: &Node, child: &Node, start: (usize, usize), value: Option<&str>) {
        if child.meta.owner == 0 || parent.meta.owner != 0 {
            return;
        }
        let (_, set) = self.starts();
        if let Some(owned) = &mut self.owned {
            owned.push(Segment {
                owner: child.meta.owner,
                root: self
                    .path
                    .iter()
                    .copied()
                    .chain(value)
                    .map(compact_str::CompactString::from)
                    .collect(),
                set: start.1..set,
            });
        }
    }

    /// The `set` line of the path walked so far, if lines are written.
    fn line(&mut self, last_is_value: bool) {
        if let Some(lines) = &mut self.lines {
            lines.line(&self.path, last_is_value);
        }
    }

    /// A leaf's value: `name value` (or, for a value with children, which
    /// cannot come from VyOS, a block that stays parsable).
    fn leaf_value(
        &mut self,
        name: &'a str,
        known: bool,
        value: &'a str,
        vnode: &'a Node,
        depth: usize,
    ) {
        self.indent(depth);
        self.push_name(depth, name);
        if vnode.is_terminal() {
            self.put_char(' ');
            self.put_word(value);
            self.put_char('\n');
            self.path.push(value);
            self.line(known || vnode.meta.role == Role::Value);
            self.path.pop();
        } else {
            self.put(" {\n");
            self.path.push(value);
            self.entry(value, vnode, Role::Node, false, Here::Unknown, depth + 1);
            self.path.pop();
            self.indent(depth);
            self.put("}\n");
        }
    }

    /// A tag's value: `name value { ... }`; `here` is the tag's position.
    fn tag_value(
        &mut self,
        name: &'a str,
        value: &'a str,
        vnode: &'a Node,
        here: Here,
        depth: usize,
    ) {
        self.indent(depth);
        self.push_name(depth, name);
        self.put_char(' ');
        self.put_word(value);
        self.put(" {\n");
        self.path.push(value);
        if vnode.is_terminal() {
            self.line(false);
        }
        self.children(vnode, Role::TagValue, true, here, depth + 1);
        self.path.pop();
        self.indent(depth);
        self.put("}\n");
    }

    fn entry(
        &mut self,
        name: &'a str,
        node: &'a Node,
        role: Role,
        known: bool,
        here: Here,
        depth: usize,
    ) {
        match role {
            Role::Leaf if !node.is_terminal() => {
                for (value, vnode) in ordered(node, Role::Leaf) {
                    let start = self.starts();
                    self.leaf_value(name, known, value, vnode, depth);
                    self.record(node, vnode, start, Some(value));
                }
            }
            Role::Tag if !node.is_terminal() => {
                for (value, vnode) in ordered(node, Role::Tag) {
                    let start = self.starts();
                    self.tag_value(name, value, vnode, here, depth);
                    self.record(node, vnode, start, Some(value));
                }
            }
            Role::Leaf | Role::ValuelessLeaf | Role::Value if node.is_terminal() => {
                self.indent(depth);
                self.push_name(depth, name);
                self.put_char('\n');
                self.line(role == Role::Value && known);
            }
            _ => {
                if node.is_terminal() {
                    self.line(false);
                }
                self.indent(depth);
                self.push_name(depth, name);
                self.put(" {\n");
                self.children(node, role, known, here, depth + 1);
                self.indent(depth);
                self.put("}\n");
            }
        }
    }
}

pub(crate) fn render_boot(tree: &ConfigTree, schema: &dyn Schema) -> String {
    let mut w = Writer {
        schema,
        out: String::new(),
        boot: true,
        path: Vec::new(),
        lines: None,
        owned: None,
    };
    w.children(&tree.root, Role::Node, true, Here::root(schema), 0);
    w.out
}

/// The `set` text, with where each owner's subtree went: per subtree (in
/// render order) its owner, path and byte range. The walk is config.boot's
/// (which orders and groups the lines as VyOS does), its text not kept.
pub(crate) fn render_set_owned(tree: &ConfigTree, schema: &dyn Schema) -> (String, Vec<Segment>) {
    let mut w = Writer {
        schema,
        out: String::new(),
        boot: false,
        path: Vec::new(),
        lines: Some(LineWriter::default()),
        owned: Some(Vec::new()),
    };
    w.children(&tree.root, Role::Node, true, Here::root(schema), 0);
    let set = w.lines.take().map(|l| l.out).unwrap_or_default();
    (set, w.owned.unwrap_or_default())
}

/// The `set` text of the subtree at `root` (a tag value with its tag's
/// name), exactly as the full render prints it within any tree that holds
/// this subtree and the same path to it (`None` where [`reach`] says that
/// is not certain).
pub(crate) fn render_set_subtree(
    tree: &ConfigTree,
    root: &[&str],
    schema: &dyn Schema,
) -> Option<String> {
    let (name, parent_path) = root.split_last()?;
    let at = reach(tree, root, schema)?;
    let mut w = Writer {
        schema,
        out: String::new(),
        boot: false,
        path: root.to_vec(),
        lines: Some(LineWriter::default()),
        owned: None,
    };
    w.path.pop();
    let parent = parent_path.last().copied().unwrap_or_default();
    match at.parent {
        Role::Tag => w.tag_value(parent, name, at.node, at.here, at.depth),
        Role::Leaf => w.leaf_value(parent, at.parent_known, name, at.node, at.depth),
        _ => {
            w.path.push(name);
            w.entry(name, at.node, at.role, at.known, at.here, at.depth);
        }
    }
    Some(w.lines.map(|l| l.out).unwrap_or_default())
}
