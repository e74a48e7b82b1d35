//! Line edit scripts between two revisions of a device's configuration, so
//! that a revision stores what changed rather than the whole device
//! (a router carries about 900 KB at 5,000 tenants; a one-rule change,
//! tens of lines). Pure: no SQL here.
//!
//! A script is text, one operation per line: `=N` keeps the next N lines
//! of the old text, `-N` drops them, `+LINE` inserts LINE and its newline,
//! `~LINE` inserts LINE without one (a text's unterminated last line).
//! Applying the script to the old text gives the new text byte for byte.

use similar::{capture_diff_slices, Algorithm, DiffOp};

/// The script that turns `old` into `new`.
pub fn encode(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut out = String::new();
    let insert = |out: &mut String, lines: &[&str]| {
        for l in lines {
            match l.strip_suffix('\n') {
                Some(body) => {
                    out.push('+');
                    out.push_str(body);
                }
                None => {
                    out.push('~');
                    out.push_str(l);
                }
            }
            out.push('\n');
        }
    };
    for op in capture_diff_slices(Algorithm::Myers, &a, &b) {
        match op {
            DiffOp::Equal { len, .. } => out.push_str(&format!("={len}\n")),
            DiffOp::Delete { old_len, .. } => out.push_str(&format!("-{old_len}\n")),
            DiffOp::Insert {
                new_index, new_len, ..
            } => insert(&mut out, &b[new_index..new_index + new_len]),
            DiffOp::Replace {
                old_len,
                new_index,
                new_len,
                ..
            } => {
                out.push_str(&format!("-{old_len}\n"));
                insert(&mut out, &b[new_index..new_index + new_len]);
            }
        }
    }
    out
}

/// A script that does not fit the text it is applied to.
#[derive(Debug, thiserror::Error)]
#[error("edit script line {line}: {reason}")]
pub struct BadScript {
    pub line: usize,
    pub reason: &'static str,
}

/// Applies scripts in order to `base`, as lines borrowed from the base and
/// the scripts (no text is copied until the end), and gives the result.
pub fn apply_all<'a>(
    base: &'a str,
    scripts: impl IntoIterator<Item = &'a str>,
) -> Result<String, BadScript> {
    // Inserted lines lack their newline in the script: lines are kept as
    // (body, newline?) pairs until joined.
    let mut text: Vec<(&'a str, bool)> = base
        .split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(b) => (b, true),
            None => (l, false),
        })
        .collect();
    for script in scripts {
        let mut next = Vec::with_capacity(text.len());
        let mut at = 0usize;
        for (i, op) in script.lines().enumerate() {
            let bad = |reason| BadScript {
                line: i + 1,
                reason,
            };
            match op.as_bytes().first() {
                Some(b'=') | Some(b'-') => {
                    let n: usize = op[1..].parse().map_err(|_| bad("not a count"))?;
                    let end = at.checked_add(n).filter(|e| *e <= text.len());
                    let end = end.ok_or_else(|| bad("past the end of the text"))?;
                    if op.starts_with('=') {
                        next.extend_from_slice(&text[at..end]);
                    }
                    at = end;
                }
                Some(b'+') => next.push((&op[1..], true)),
                Some(b'~') => next.push((&op[1..], false)),
                _ => return Err(bad("unknown operation")),
            }
        }
        if at != text.len() {
            return Err(BadScript {
                line: script.lines().count(),
                reason: "lines of the text left over",
            });
        }
        text = next;
    }
    let mut out = String::with_capacity(text.iter().map(|(l, _)| l.len() + 1).sum());
    for (l, nl) in text {
        out.push_str(l);
        if nl {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(old: &str, new: &str) {
        let s = encode(old, new);
        assert_eq!(apply_all(old, [s.as_str()]).unwrap(), new, "{s}");
    }

    #[test]
    fn scripts_rebuild_the_new_text_exactly() {
        round("", "");
        round("", "a\nb\n");
        round("a\nb\n", "");
        round("a\nb\nc\n", "a\nx\nc\n");
        round("a\nb\nc", "a\nb\nc\n");
        round("a\nb\nc\n", "a\nb\nc");
        round("a\n\nb\n", "\n\na\n");
        round("set a\nset b\nset c\n", "set 0\nset a\nset c\nset d\n");
        // Lines that look like operations are data.
        round("=1\n-2\n", "+3\n~4\n=1\n");
    }

    #[test]
    fn scripts_chain() {
        let v = ["a\nb\nc\n", "a\nc\nd\n", "x\na\nc\nd", "x\nd\n"];
        let scripts: Vec<String> = v.windows(2).map(|w| encode(w[0], w[1])).collect();
        let got = apply_all(v[0], scripts.iter().map(String::as_str)).unwrap();
        assert_eq!(got, v[3]);
    }

    #[test]
    fn a_script_for_another_text_is_refused() {
        let s = encode("a\nb\nc\n", "a\nc\n");
        assert!(apply_all("a\n", [s.as_str()]).is_err());
        assert!(apply_all("a\nb\nc\nd\n", [s.as_str()]).is_err());
        assert!(apply_all("a\n", ["?x"]).is_err());
    }

    #[test]
    fn a_small_change_to_a_large_text_is_a_small_script() {
        let old: String = (0..20_000).map(|i| format!("set line {i}\n")).collect();
        let new = old.replace("set line 12345\n", "set line 12345\nset extra\n");
        let s = encode(&old, &new);
        assert!(s.len() < 64, "{} bytes", s.len());
        assert_eq!(apply_all(&old, [s.as_str()]).unwrap(), new);
    }
}
