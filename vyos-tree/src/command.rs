//! Configuration commands, the unit that diff produces and VyOS consumes.

use std::fmt;

use crate::lex::{needs_quoting, set_word, shell_quote};
use crate::schema::Schema;
use crate::tree::{schema_roles, Role};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Set,
    Delete,
}

impl Op {
    pub fn keyword(self) -> &'static str {
        match self {
            Op::Set => "set",
            Op::Delete => "delete",
        }
    }
}

/// One `set`/`delete`; `path` includes the leaf value as its last word when there is
/// one (the same shape as VyOS's HTTP API `path`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Command {
    pub op: Op,
    pub path: Vec<String>,
}

impl Command {
    pub fn set<S: Into<String>>(path: impl IntoIterator<Item = S>) -> Self {
        Command {
            op: Op::Set,
            path: path.into_iter().map(Into::into).collect(),
        }
    }

    pub fn delete<S: Into<String>>(path: impl IntoIterator<Item = S>) -> Self {
        Command {
            op: Op::Delete,
            path: path.into_iter().map(Into::into).collect(),
        }
    }

    /// The CLI line exactly as VyOS prints it: the schema says which word is a value
    /// (single-quoted); names and tag values are quoted only when they must be.
    pub fn to_cli(&self, schema: &dyn Schema) -> String {
        let words: Vec<&str> = self.path.iter().map(String::as_str).collect();
        let roles = schema_roles(&words, schema);
        let value_at = (roles.last() == Some(&Role::Value)).then(|| self.path.len() - 1);
        self.line(|i| Some(i) == value_at)
    }

    fn line(&self, is_value: impl Fn(usize) -> bool) -> String {
        let mut out = String::from(self.op.keyword());
        for (i, word) in self.path.iter().enumerate() {
            out.push(' ');
            if is_value(i) {
                out.push_str(&shell_quote(word));
            } else {
                out.push_str(&set_word(word));
            }
        }
        out
    }
}

/// Without a schema the value cannot be known, so the last word is single-quoted when
/// it is not a plain identifier (addresses, keys, descriptions): VyOS accepts both.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.path.len().wrapping_sub(1);
        let line = self.line(|i| {
            i == last
                && (needs_quoting(&self.path[i])
                    || !self.path[i]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        });
        f.write_str(&line)
    }
}
