//! Words and quoting shared by both text forms.
//!
//! `set` lines follow the VyOS (bash) shell: words split on blanks, `'...'` is literal,
//! `"..."` honours backslash escapes for `\ " $ \``, and a backslash outside quotes
//! escapes the next character. config.boot uses only double quotes, with `\\`, `\"`,
//! `\n`, `\t`, `\r` escapes. Renderers quote exactly what these readers need plus the
//! shell's special characters, so rendered text is both re-parsable and safe to paste.

use std::borrow::Cow;

/// Characters that make a word unsafe to print bare in either form.
const SPECIAL: &str = "\"'{}\\;#`$&|<>()!*?[]~^";

/// Whether `word` must be quoted to survive a round trip (and the VyOS shell).
pub(crate) fn needs_quoting(word: &str) -> bool {
    word.is_empty()
        || word.starts_with("//")
        || word.starts_with("/*")
        || if word.is_ascii() {
            // Hot path (every word of every rendered line): a table lookup per byte.
            word.bytes().any(|b| ASCII_UNSAFE[b as usize])
        } else {
            word.chars()
                .any(|c| c.is_whitespace() || c.is_control() || SPECIAL.contains(c))
        }
}

/// `needs_quoting`'s per-character test for ASCII, as a table.
const ASCII_UNSAFE: [bool; 128] = {
    let mut t = [false; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8 as char;
        t[i] = c.is_ascii_whitespace() || c == '\x0b' || c.is_ascii_control();
        i += 1;
    }
    let sp = SPECIAL.as_bytes();
    let mut j = 0;
    while j < sp.len() {
        t[sp[j] as usize] = true;
        j += 1;
    }
    t
};

/// Shell quoting: single quotes (literal) unless the text holds a single quote, then
/// double quotes with the shell's escapes, as VyOS prints such values.
pub(crate) fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    push_shell_quoted(&mut out, word);
    out
}

/// [`shell_quote`], appended to `out` (renderers call it once per line).
pub(crate) fn push_shell_quoted(out: &mut String, word: &str) {
    if !word.contains('\'') {
        out.push('\'');
        out.push_str(word);
        out.push('\'');
        return;
    }
    out.push('"');
    for c in word.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A node name or tag value in a `set` line: bare unless it must be quoted.
pub(crate) fn set_word(word: &str) -> Cow<'_, str> {
    if needs_quoting(word) {
        Cow::Owned(shell_quote(word))
    } else {
        Cow::Borrowed(word)
    }
}

/// A word in config.boot: bare unless it must be quoted, then double-quoted.
pub(crate) fn boot_word(word: &str) -> Cow<'_, str> {
    if !needs_quoting(word) {
        return Cow::Borrowed(word);
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// Blanks that separate words (newline is a terminator, handled separately).
pub(crate) fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r')
}

/// A character stream that knows its 1-based line and column.
pub(crate) struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    pub line: usize,
    pub column: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Cursor {
            chars: text.chars().peekable(),
            line: 1,
            column: 1,
        }
    }

    pub fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    /// Peeks two characters ahead without consuming.
    pub fn peek2(&self) -> Option<char> {
        let mut it = self.chars.clone();
        it.next();
        it.next()
    }

    pub fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::*;

    #[test]
    fn ascii_table_agrees_with_char_test() {
        for b in 0u8..128 {
            let c = b as char;
            let slow = c.is_whitespace() || c.is_control() || SPECIAL.contains(c);
            assert_eq!(ASCII_UNSAFE[b as usize], slow, "{b}");
        }
    }
}
