//! What changed between two revisions of a device's configuration, line by
//! line. Both VyOS set commands and OVS flow tables are sets of lines (their
//! order carries no meaning), so a line is removed when the new text lacks
//! it and added when the old one lacks it; no edit script is needed.

use std::collections::HashSet;

/// One changed line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Removed(&'a str),
    Added(&'a str),
}

/// The removed lines (in the old text's order), then the added ones (in the
/// new text's order). A line present in both, however often, is unchanged;
/// a repeated changed line is reported once.
///
/// A revision's texts are mostly the same (one tenant's lines changed in a
/// device of megabytes): the lines before the first difference and after
/// the last are shared, and only a line from between them can be changed.
/// It still is not if a shared line repeats it, so the shared lines are
/// looked through, hashing only those as long as a candidate.
pub fn changes<'a>(old: &'a str, new: &'a str) -> Vec<Change<'a>> {
    let o: Vec<&str> = old.lines().collect();
    let n: Vec<&str> = new.lines().collect();
    let head = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    let tail = o[head..]
        .iter()
        .rev()
        .zip(n[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let shared = o[..head].iter().chain(&o[o.len() - tail..]).copied();
    between(&o[head..o.len() - tail], &n[head..n.len() - tail], shared)
}

/// [`changes`] when the caller knows where the texts differ: `old`'s
/// pieces `s.before` became `new`'s `s.after` (whole lines), and every
/// byte between is the same. Only the pieces are compared; the rest is
/// looked through for the candidates alone, as [`changes`] does.
pub fn changes_spliced<'a>(
    old: &'a str,
    new: &'a str,
    s: &vxguard_compiler::Spliced,
) -> Vec<Change<'a>> {
    let lines = |text: &'a str, ranges: &[std::ops::Range<usize>]| -> Vec<&'a str> {
        ranges
            .iter()
            .flat_map(|r| text[r.clone()].lines())
            .collect()
    };
    let (mid_old, mid_new) = (lines(old, &s.before), lines(new, &s.after));
    let mut gaps = Vec::with_capacity(s.after.len() + 1);
    let mut at = 0;
    for r in &s.after {
        gaps.push(&new[at..r.start]);
        at = r.end;
    }
    gaps.push(&new[at..]);
    between(&mid_old, &mid_new, gaps.into_iter().flat_map(str::lines))
}

/// The changed lines of `mid_old` and `mid_new` (the lines that may
/// differ), given the lines both texts share besides (`shared`).
fn between<'a>(
    mid_old: &[&'a str],
    mid_new: &[&'a str],
    shared: impl Iterator<Item = &'a str>,
) -> Vec<Change<'a>> {
    let in_old: HashSet<&str> = mid_old.iter().copied().collect();
    let in_new: HashSet<&str> = mid_new.iter().copied().collect();
    let candidates: HashSet<&str> = in_old.symmetric_difference(&in_new).copied().collect();
    let mut length = vec![false; candidates.iter().map(|l| l.len() + 1).max().unwrap_or(0)];
    for l in &candidates {
        length[l.len()] = true;
    }
    let shared: HashSet<&str> = shared
        .filter(|l| length.get(l.len()).copied().unwrap_or(false) && candidates.contains(*l))
        .collect();
    let mut seen = HashSet::new();
    let removed = mid_old
        .iter()
        .filter(|l| !in_new.contains(*l) && !shared.contains(*l) && seen.insert(("-", **l)))
        .map(|l| Change::Removed(l));
    let removed: Vec<Change> = removed.collect();
    let added = mid_new
        .iter()
        .filter(|l| !in_old.contains(*l) && !shared.contains(*l) && seen.insert(("+", **l)))
        .map(|l| Change::Added(l));
    removed.into_iter().chain(added).collect()
}

/// The changes as text: `-line` and `+line`, one per line.
pub fn render(changes: &[Change]) -> String {
    let mut s = String::new();
    for c in changes {
        let (mark, l) = match c {
            Change::Removed(l) => ('-', l),
            Change::Added(l) => ('+', l),
        };
        s.push(mark);
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Removed lines as `-`, added lines as `+`, in the new file's order
/// (flow tables are sets: order carries no meaning).
pub fn line_diff(old: &str, new: &str) -> String {
    render(&changes(old, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_marks_removed_and_added() {
        assert_eq!(line_diff("a\nb\n", "b\nc\n"), "-a\n+c\n");
    }

    #[test]
    fn removed_then_added_in_file_order() {
        let c = changes("a\nb\nc\n", "c\nd\nb\ne\n");
        assert_eq!(
            c,
            vec![Change::Removed("a"), Change::Added("d"), Change::Added("e")]
        );
        assert_eq!(render(&c), "-a\n+d\n+e\n");
    }

    #[test]
    fn no_change_and_from_nothing() {
        assert!(changes("x\ny\n", "y\nx\n").is_empty());
        assert_eq!(
            changes("", "set a\nset b"),
            vec![Change::Added("set a"), Change::Added("set b")]
        );
        assert_eq!(changes("set a\n", ""), vec![Change::Removed("set a")]);
    }

    /// The definition: every line of one text against every line of the
    /// other.
    fn by_sets<'a>(old: &'a str, new: &'a str) -> Vec<Change<'a>> {
        let o: HashSet<&str> = old.lines().collect();
        let n: HashSet<&str> = new.lines().collect();
        let mut seen = HashSet::new();
        let removed: Vec<Change> = old
            .lines()
            .filter(|l| !n.contains(l) && seen.insert(("-", *l)))
            .map(Change::Removed)
            .collect();
        let added = new
            .lines()
            .filter(|l| !o.contains(l) && seen.insert(("+", *l)))
            .map(Change::Added);
        removed.into_iter().chain(added).collect()
    }

    proptest::proptest! {
        /// Texts over few distinct lines (so that lines repeat, inside and
        /// outside the changed middle) and edits of a few lines.
        #[test]
        fn same_as_comparing_whole_sets(
            old in proptest::collection::vec(0u8..6, 0..40),
            edits in proptest::collection::vec((0usize..40, proptest::option::of(0u8..8)), 0..4),
        ) {
            let mut new = old.clone();
            for (at, line) in edits {
                let at = at.min(new.len());
                match line {
                    Some(l) => new.insert(at, l),
                    None if at < new.len() => { new.remove(at); }
                    None => {}
                }
            }
            let text = |v: &[u8]| v.iter().map(|x| format!("line {x}\n")).collect::<String>();
            let (a, b) = (text(&old), text(&new));
            proptest::prop_assert_eq!(changes(&a, &b), by_sets(&a, &b));
        }
    }

    proptest::proptest! {
        /// Spliced texts (runs of lines replaced, the rest kept): the
        /// pieces alone give what the whole texts give.
        #[test]
        fn spliced_same_as_whole(
            runs in proptest::collection::vec(
                (proptest::collection::vec(0u8..6, 0..5), proptest::option::of(proptest::collection::vec(0u8..8, 0..5))),
                0..8,
            ),
        ) {
            let text = |v: &[u8]| v.iter().map(|x| format!("line {x}\n")).collect::<String>();
            let (mut old, mut new) = (String::new(), String::new());
            let mut s = vxguard_compiler::Spliced::default();
            for (kept, replaced) in &runs {
                match replaced {
                    None => {
                        old.push_str(&text(kept));
                        new.push_str(&text(kept));
                    }
                    Some(by) => {
                        let (a, b) = (text(kept), text(by));
                        s.before.push(old.len()..old.len() + a.len());
                        s.after.push(new.len()..new.len() + b.len());
                        old.push_str(&a);
                        new.push_str(&b);
                    }
                }
            }
            proptest::prop_assert_eq!(changes_spliced(&old, &new, &s), changes(&old, &new));
        }
    }

    #[test]
    fn a_changed_line_that_a_shared_line_repeats_is_unchanged() {
        // "x" leaves the middle of the old text, but the shared head has it.
        assert_eq!(
            changes(
                "x
a
x
b
", "x
a
b
"
            ),
            vec![]
        );
        assert_eq!(
            changes(
                "x
a
b
",
                "x
a
x
c
b
"
            ),
            vec![Change::Added("c")]
        );
    }

    #[test]
    fn repeated_lines_are_reported_once() {
        assert_eq!(
            changes("a\na\nb\n", "b\nb\nc\nc\n"),
            vec![Change::Removed("a"), Change::Added("c")]
        );
    }
}
