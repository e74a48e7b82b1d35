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

/// The script that turns `old` into `new`. The lines both texts share at
/// their start and end are found by comparing bytes (memcmp speed) and
/// kept with one operation each; only the lines between are diffed. A
/// change to a router of 900 KB or a hypervisor of 2.6 MB then splits and
/// diffs a few lines, not the whole text.
pub fn encode(old: &str, new: &str) -> String {
    let (head, tail) = shared_ends(old.as_bytes(), new.as_bytes());
    // Lines as `split_inclusive` counts them: an unterminated last one too.
    let lines = |t: &str| {
        t.bytes().filter(|b| *b == b'\n').count() + usize::from(!t.is_empty() && !t.ends_with('\n'))
    };
    let mut out = String::new();
    let kept = lines(&old[..head]);
    if kept > 0 {
        out.push_str(&format!("={kept}\n"));
    }
    encode_lines(
        &old[head..old.len() - tail],
        &new[head..new.len() - tail],
        &mut out,
    );
    // The shared tail is whole lines (it starts after a newline in both),
    // the last perhaps unterminated: the same in both texts.
    let kept = lines(&old[old.len() - tail..]);
    if kept > 0 {
        out.push_str(&format!("={kept}\n"));
    }
    out
}

/// The script from `old` to `new` when the caller knows where they differ:
/// `before[i]` of `old` became `after[i]` of `new`, in text order, and
/// every byte between is the same (a compile that spliced tenants'
/// subtrees into a router's text says so). Only the pieces are diffed.
/// `None` when the ranges are not whole lines or do not fit the texts, or
/// the bytes between differ in length (the caller then uses [`encode`]).
pub fn encode_pieces(
    old: &str,
    new: &str,
    before: &[std::ops::Range<usize>],
    after: &[std::ops::Range<usize>],
) -> Option<String> {
    let whole_lines = |t: &str, r: &std::ops::Range<usize>| {
        r.start <= r.end
            && r.end <= t.len()
            && (r.start == 0 || t.as_bytes()[r.start - 1] == b'\n')
            && (r.end == t.len() || t.as_bytes()[r.end - 1] == b'\n')
    };
    if before.len() != after.len()
        || !before.iter().all(|r| whole_lines(old, r))
        || !after.iter().all(|r| whole_lines(new, r))
    {
        return None;
    }
    let lines = |t: &str| {
        t.bytes().filter(|b| *b == b'\n').count() + usize::from(!t.is_empty() && !t.ends_with('\n'))
    };
    let mut out = String::new();
    let (mut at_old, mut at_new) = (0, 0);
    for (b, a) in before.iter().zip(after) {
        if b.start < at_old || a.start < at_new || b.start - at_old != a.start - at_new {
            return None;
        }
        let kept = lines(&old[at_old..b.start]);
        if kept > 0 {
            out.push_str(&format!("={kept}\n"));
        }
        encode_lines(&old[b.clone()], &new[a.clone()], &mut out);
        (at_old, at_new) = (b.end, a.end);
    }
    if old.len() - at_old != new.len() - at_new {
        return None;
    }
    let kept = lines(&old[at_old..]);
    if kept > 0 {
        out.push_str(&format!("={kept}\n"));
    }
    Some(out)
}

/// How many bytes `a` and `b` share at their start and at their end, each
/// cut back to whole lines (the head ends after a newline, the tail starts
/// after one), the two never overlapping in either text.
fn shared_ends(a: &[u8], b: &[u8]) -> (usize, usize) {
    // Compared in blocks: slice equality is a memcmp.
    const BLOCK: usize = 4096;
    let common = a.len().min(b.len());
    let mut head = 0;
    while head + BLOCK <= common && a[head..head + BLOCK] == b[head..head + BLOCK] {
        head += BLOCK;
    }
    while head < common && a[head] == b[head] {
        head += 1;
    }
    if head < a.len() || head < b.len() {
        // Back to the start of the line the texts differ in.
        head = a[..head]
            .iter()
            .rposition(|c| *c == b'\n')
            .map_or(0, |i| i + 1);
    }
    let room = common - head;
    let mut tail = 0;
    while tail + BLOCK <= room
        && a[a.len() - tail - BLOCK..a.len() - tail] == b[b.len() - tail - BLOCK..b.len() - tail]
    {
        tail += BLOCK;
    }
    while tail < room && a[a.len() - tail - 1] == b[b.len() - tail - 1] {
        tail += 1;
    }
    // On to the start of a line in both texts: the text's start or just
    // after a newline (inside the shared bytes the two agree; at their
    // first byte they may not).
    let line_start = |t: &[u8], at: usize| at == 0 || t[at - 1] == b'\n';
    while tail > 0 && !(line_start(a, a.len() - tail) && line_start(b, b.len() - tail)) {
        tail -= 1;
    }
    (head, tail)
}

/// The operations that turn the lines of `old` into those of `new`.
fn encode_lines(old: &str, new: &str, out: &mut String) {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
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
            } => insert(out, &b[new_index..new_index + new_len]),
            DiffOp::Replace {
                old_len,
                new_index,
                new_len,
                ..
            } => {
                out.push_str(&format!("-{old_len}\n"));
                insert(out, &b[new_index..new_index + new_len]);
            }
        }
    }
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

    /// Texts that share their ends in every way (whole lines, part of a
    /// line, an unterminated last line, one a prefix or suffix of the
    /// other): each script rebuilds the new text, and chained scripts keep
    /// the line structure the next script counts on.
    #[test]
    fn shared_ends_are_cut_at_whole_lines() {
        let parts = ["", "a", "a\n", "x\n", "ab\nc", "\n", "p\nq\n", "qx\n", "x"];
        let mut texts = Vec::new();
        for p in parts {
            for q in parts {
                for r in parts {
                    texts.push(format!("{p}{q}{r}"));
                }
            }
        }
        for old in &texts {
            for new in texts.iter().step_by(7) {
                round(old, new);
                let third = format!("{new}z\n{old}");
                let s1 = encode(old, new);
                let s2 = encode(new, &third);
                assert_eq!(
                    apply_all(old, [s1.as_str(), s2.as_str()]).unwrap(),
                    third,
                    "{old:?} -> {new:?} -> {third:?}"
                );
            }
        }
    }

    #[test]
    fn pieces_give_a_script_of_the_pieces_alone() {
        let old = "h\nA1\nm\nB1\nt\n";
        let new = "h\nA22\nm\nB\nt\n";
        let s = encode_pieces(old, new, &[2..5, 7..10], &[2..6, 8..10]).unwrap();
        assert_eq!(apply_all(old, [s.as_str()]).unwrap(), new);
        assert_eq!(s, "=1\n-1\n+A22\n=1\n-1\n+B\n=1\n");
        // Not whole lines, or not fitting the texts: no script.
        assert_eq!(encode_pieces(old, new, &[3..5], &[3..6]), None);
        assert_eq!(encode_pieces(old, new, &[2..5], &[2..5]), None);
        assert_eq!(encode_pieces(old, new, &[2..5, 7..10], &[2..6]), None);
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
