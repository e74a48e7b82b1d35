//! YAML intent files with positions.
//!
//! The YAML is read into a `serde_json::Value` while recording where every
//! node starts, keyed by JSON pointer. Deserialisation errors and the
//! compiler's own diagnostics both name a JSON pointer, so every message can
//! be printed as `file:line:column`.

use super::Intent;
use crate::diag::{Diagnostic, Pointer};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where each JSON pointer of the document starts in the source.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    positions: BTreeMap<String, Position>,
}

impl SourceMap {
    /// Position of `pointer`, or of its nearest ancestor that has one.
    pub fn locate(&self, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position { line: 1, column: 1 },
            }
        }
    }
}

/// Parses an intent file; every problem is a diagnostic with a pointer and a position.
pub fn parse_intent(text: &str) -> Result<(Intent, SourceMap), Vec<(Position, Diagnostic)>> {
    let (value, map) = parse_value(text).map_err(|e| vec![e])?;
    let de = serde_path_to_error::deserialize::<_, Intent>(&value);
    match de {
        Ok(intent) => Ok((intent, map)),
        Err(err) => {
            let pointer = path_to_pointer(err.path());
            let pos = map.locate(&pointer);
            let msg = err.inner().to_string();
            Err(vec![(pos, Diagnostic::error(Pointer(pointer), msg))])
        }
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// YAML text to a JSON value plus positions.
pub fn parse_value(text: &str) -> Result<(Value, SourceMap), (Position, Diagnostic)> {
    // A byte order mark may start a YAML stream; yaml-rust2 would read it as
    // part of the first key. Editors do not count it as a column either.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // yaml-rust2 takes NUL for the end of the input and would silently drop
    // everything after it; YAML does not allow the character anyway.
    if let Some(i) = text.find('\0') {
        return Err((
            Lines::of(&text[..i]).end(),
            Diagnostic::error(
                Pointer(String::new()),
                "YAML syntax: the NUL character (U+0000) is not allowed",
            ),
        ));
    }
    let mut b = Builder {
        lines: Lines::of(text),
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| {
        (
            b.lines.position(e.marker()),
            Diagnostic::error(Pointer(String::new()), format!("YAML syntax: {}", e.info())),
        )
    })?;
    if let Some(err) = b.error {
        return Err(err);
    }
    let value = b.root.unwrap_or(Value::Null);
    Ok((
        value,
        SourceMap {
            positions: b.positions,
        },
    ))
}

/// The length in characters of each line of the text, split at YAML's line
/// breaks (LF, CRLF, CR); a text that ends in a line break has an empty last line.
#[derive(Default)]
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Self {
        let mut lines = vec![0];
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' | '\n' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    lines.push(0);
                }
                _ => *lines.last_mut().expect("never empty") += 1,
            }
        }
        Self(lines)
    }

    /// Just after the last character.
    fn end(&self) -> Position {
        Position {
            line: self.0.len(),
            column: self.0[self.0.len() - 1] + 1,
        }
    }

    /// Where `m` is, as a place in the text. yaml-rust2 puts the end of a
    /// text that does not end in a line break at the start of a line after
    /// the last one (it reads as if the break were there), and starts at
    /// line 0: such positions are moved to the end of the last line, or to
    /// the first line, so that an editor can go to every position reported.
    fn position(&self, m: &Marker) -> Position {
        if m.line() > self.0.len() {
            return self.end();
        }
        let line = m.line().max(1);
        Position {
            line,
            column: m.col() + 1,
        }
    }
}

enum Frame {
    Seq(Vec<Value>, String),
    Map(Map<String, Value>, String, Option<(String, Position)>),
}

#[derive(Default)]
struct Builder {
    lines: Lines,
    stack: Vec<Frame>,
    root: Option<Value>,
    positions: BTreeMap<String, Position>,
    error: Option<(Position, Diagnostic)>,
}

impl Builder {
    /// The pointer of the node about to be added.
    fn next_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq(items, p)) => format!("{p}/{}", items.len()),
            Some(Frame::Map(_, p, Some((k, _)))) => {
                format!("{p}/{}", k.replace('~', "~0").replace('/', "~1"))
            }
            Some(Frame::Map(_, p, None)) => p.clone(),
        }
    }

    fn fail(&mut self, pos: Position, pointer: String, msg: String) {
        if self.error.is_none() {
            self.error = Some((pos, Diagnostic::error(Pointer(pointer), msg)));
        }
    }

    fn push_value(&mut self, v: Value, pos: Position) {
        // A scalar in key position of a map becomes the pending key.
        if let Some(Frame::Map(map, p, pending @ None)) = self.stack.last_mut() {
            let key = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if map.contains_key(&key) {
                let pointer = format!("{p}/{key}");
                self.fail(pos, pointer, format!("duplicate key `{key}`"));
                return;
            }
            *pending = Some((key, pos));
            return;
        }
        let pointer = self.next_pointer();
        self.positions.entry(pointer).or_insert(pos);
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(map, _, pending)) => {
                let (k, _) = pending.take().expect("pending key");
                map.insert(k, v);
            }
        }
    }

    fn open(&mut self, frame_is_map: bool, pos: Position) {
        if let Some(Frame::Map(_, _, None)) = self.stack.last() {
            let p = self.next_pointer();
            self.fail(pos, p, "a mapping key must be a plain value".into());
        }
        let pointer = self.next_pointer();
        self.positions.entry(pointer.clone()).or_insert(pos);
        self.stack.push(if frame_is_map {
            Frame::Map(Map::new(), pointer, None)
        } else {
            Frame::Seq(Vec::new(), pointer)
        });
    }

    fn close(&mut self, pos: Position) {
        let v = match self.stack.pop() {
            Some(Frame::Seq(items, _)) => Value::Array(items),
            Some(Frame::Map(map, _, _)) => Value::Object(map),
            None => return,
        };
        // Re-insert without recording a new position (open() recorded it).
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                Some((k, _)) => {
                    map.insert(k, v);
                }
                None => self.fail(
                    pos,
                    String::new(),
                    "a mapping key must be a plain value".into(),
                ),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = self.lines.position(&mark);
        match ev {
            Event::Scalar(s, style, _, _) => {
                let v = if style == TScalarStyle::Plain {
                    plain_scalar(&s)
                } else {
                    Value::String(s)
                };
                self.push_value(v, pos);
            }
            Event::SequenceStart(..) => self.open(false, pos),
            Event::MappingStart(..) => self.open(true, pos),
            Event::SequenceEnd | Event::MappingEnd => self.close(pos),
            Event::Alias(_) => {
                let p = self.next_pointer();
                self.fail(
                    pos,
                    p,
                    "YAML aliases are not supported in intent files".into(),
                );
            }
            _ => {}
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn plain_scalar(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::Number(i.into());
    }
    if s.chars().any(|c| c.is_ascii_digit()) && !s.contains(':') {
        if let Ok(f) = s.parse::<f64>() {
            if f.is_finite() && !s.contains('/') {
                if let Some(n) = Number::from_f64(f) {
                    return Value::Number(n);
                }
            }
        }
    }
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_values() {
        let text = "a:\n  b: 1\n  c:\n    - x\n    - y: 2\n";
        let (v, map) = parse_value(text).unwrap();
        assert_eq!(v["a"]["c"][1]["y"], 2);
        assert_eq!(map.locate("/a/b"), Position { line: 2, column: 6 });
        assert_eq!(
            map.locate("/a/c/1/y"),
            Position {
                line: 5,
                column: 10
            }
        );
        assert_eq!(map.locate("/a/c/1/nope"), map.locate("/a/c/1"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_value("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.0.line, 2);
        assert!(err.1.message.contains("duplicate key"), "{}", err.1.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_value("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.1.message.starts_with("YAML syntax"));
        assert!(err.0.line >= 2);
    }

    #[test]
    fn positions_stay_inside_a_text_without_a_final_line_break() {
        // yaml-rust2 puts the end of such a text on a line after it (found by
        // fuzz/fuzz_targets/intent.rs): the null value of `sites` was at 3:1.
        let err = parse_intent("platform:\n  sites:").unwrap_err();
        assert_eq!(err[0].0, Position { line: 2, column: 9 }, "{err:?}");
        assert!(err[0].1.message.contains("expected a sequence"));
        let err = parse_value("a: [1").unwrap_err();
        assert_eq!(err.0, Position { line: 1, column: 6 }, "{err:?}");
        let err = parse_value("a: [1\r\n").unwrap_err();
        assert_eq!(err.0, Position { line: 2, column: 1 }, "{err:?}");
        let (_, map) = parse_value("a:\r  b:").unwrap();
        assert_eq!(map.locate("/a/b"), Position { line: 2, column: 5 });
    }

    #[test]
    fn nul_is_an_error_not_the_end_of_the_text() {
        // yaml-rust2 stopped at the NUL: this parsed as `{a: 1}`.
        let err = parse_value("a: 1\n\0\nb: [").unwrap_err();
        assert_eq!(err.0, Position { line: 2, column: 1 }, "{err:?}");
        assert!(err.1.message.contains("NUL"), "{}", err.1.message);
        let err = parse_value("a: 1\nb: x\0y\n").unwrap_err();
        assert_eq!(err.0, Position { line: 2, column: 5 }, "{err:?}");
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_key() {
        let (v, map) = parse_value("\u{feff}a: 1\nb: 2\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": 1, "b": 2}));
        assert_eq!(map.locate("/a"), Position { line: 1, column: 4 });
    }

    #[test]
    fn versions_stay_strings() {
        let (v, _) = parse_value("v: \"1.4\"\nw: 1.5\nc: 10.0.0.0/8\n").unwrap();
        assert_eq!(v["v"], "1.4");
        assert!(v["w"].is_number());
        assert_eq!(v["c"], "10.0.0.0/8");
    }
}
