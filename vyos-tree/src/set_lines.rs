//! `set`/`delete` command text, as printed by `show configuration commands`.
//!
//! The whole text is tokenised at once (not line by line) so that a quoted word may
//! span lines as in the shell; an unquoted newline ends a command. A `#` at the start
//! of a word starts a comment, as in the shell.

use crate::error::{ParseError, MAX_DEPTH};
use crate::lex::{is_blank, push_shell_quoted, set_word, Cursor};
use crate::schema::Schema;
use crate::tree::{for_each_terminal, ConfigTree};

struct Word {
    text: String,
    quoted: bool,
    line: usize,
    column: usize,
}

/// Reads one word starting at a non-blank, non-newline character.
fn read_word(cur: &mut Cursor) -> Result<Word, ParseError> {
    let (line, column) = (cur.line, cur.column);
    let mut text = String::new();
    let mut quoted = false;
    while let Some(c) = cur.peek() {
        if is_blank(c) || c == '\n' {
            break;
        }
        let (ql, qc) = (cur.line, cur.column);
        cur.bump();
        match c {
            '\'' => {
                quoted = true;
                loop {
                    match cur.bump() {
                        None => return Err(ParseError::new(ql, qc, "unterminated single quote")),
                        Some('\'') => break,
                        Some(c) => text.push(c),
                    }
                }
            }
            '"' => {
                quoted = true;
                loop {
                    match cur.bump() {
                        None => return Err(ParseError::new(ql, qc, "unterminated double quote")),
                        Some('"') => break,
                        Some('\\') => match cur.peek() {
                            Some(e @ ('\\' | '"' | '$' | '`')) => {
                                cur.bump();
                                text.push(e);
                            }
                            Some('\n') => {
                                cur.bump();
                            }
                            _ => text.push('\\'),
                        },
                        Some(c) => text.push(c),
                    }
                }
            }
            '\\' => match cur.peek() {
                Some('\n') => {
                    cur.bump();
                }
                Some(e) => {
                    cur.bump();
                    text.push(e);
                }
                None => text.push('\\'),
            },
            c => text.push(c),
        }
    }
    Ok(Word {
        text,
        quoted,
        line,
        column,
    })
}

/// Parses command text and applies each command to a new tree.
pub(crate) fn parse_set(text: &str, schema: &dyn Schema) -> Result<ConfigTree, ParseError> {
    let mut tree = ConfigTree::new();
    let mut cur = Cursor::new(text);
    loop {
        // Skip blanks and empty lines; stop at EOF.
        while matches!(cur.peek(), Some(c) if is_blank(c) || c == '\n') {
            cur.bump();
        }
        if cur.peek().is_none() {
            break;
        }
        let mut words = Vec::new();
        while let Some(c) = cur.peek() {
            if c == '\n' {
                break;
            }
            if is_blank(c) {
                cur.bump();
                continue;
            }
            if c == '#' {
                cur.skip_line();
                break;
            }
            words.push(read_word(&mut cur)?);
        }
        let Some((keyword, path)) = words.split_first() else {
            continue;
        };
        let op = match (keyword.quoted, keyword.text.as_str()) {
            (false, "set") => crate::Op::Set,
            (false, "delete") => crate::Op::Delete,
            _ => {
                return Err(ParseError::new(
                    keyword.line,
                    keyword.column,
                    format!("expected `set` or `delete`, found {:?}", keyword.text),
                ))
            }
        };
        if path.is_empty() {
            return Err(ParseError::new(
                keyword.line,
                keyword.column + keyword.text.chars().count(),
                format!("`{}` needs a path", keyword.text),
            ));
        }
        if path.len() > MAX_DEPTH {
            let w = &path[MAX_DEPTH];
            return Err(ParseError::new(w.line, w.column, "path is too long"));
        }
        let quoted_last = path.last().is_some_and(|w| w.quoted);
        match op {
            crate::Op::Set => {
                let words: Vec<&str> = path.iter().map(|w| w.text.as_str()).collect();
                tree.set_inner(&words, schema, quoted_last)
            }
            crate::Op::Delete => {
                let path: Vec<String> = path.iter().map(|w| w.text.clone()).collect();
                tree.delete(&path);
            }
        }
    }
    Ok(tree)
}

/// One `set` line per terminal path; leaf values single-quoted as VyOS prints them.
pub(crate) fn render_set(tree: &ConfigTree, schema: &dyn Schema) -> String {
    let mut w = LineWriter::default();
    for_each_terminal(tree, schema, |path, last_is_value| {
        w.line(path, last_is_value)
    });
    w.out
}

/// Writes `set` lines. Consecutive lines repeat most of their words (`set
/// firewall ipv4 name X rule 10 ...`), so the quoted prefix of the previous
/// line is kept and only the words after the shared part are quoted again.
#[derive(Default)]
pub(crate) struct LineWriter<'a> {
    pub out: String,
    /// `set` and the previous line's words but the last, as printed.
    prefix: String,
    /// The words in `prefix`, and where each ends in it.
    words: Vec<(&'a str, usize)>,
}

impl<'a> LineWriter<'a> {
    pub fn line(&mut self, path: &[&'a str], last_is_value: bool) {
        let (last, inner) = path.split_last().expect("a terminal path has words");
        // Words from the tree are the same slices line after line.
        let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
        let keep = self
            .words
            .iter()
            .zip(inner)
            .take_while(|((a, _), b)| same(a, b))
            .count();
        self.words.truncate(keep);
        if self.prefix.is_empty() {
            self.prefix.push_str("set");
        }
        self.prefix.truncate(self.words.last().map_or(3, |w| w.1));
        for word in &inner[keep..] {
            self.prefix.push(' ');
            self.prefix.push_str(&set_word(word));
            self.words.push((word, self.prefix.len()));
        }
        self.out.push_str(&self.prefix);
        self.out.push(' ');
        if last_is_value {
            push_shell_quoted(&mut self.out, last);
        } else {
            self.out.push_str(&set_word(last));
        }
        self.out.push('\n');
    }
}
