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
pub fn changes<'a>(old: &'a str, new: &'a str) -> Vec<Change<'a>> {
    let o: HashSet<&str> = old.lines().collect();
    let n: HashSet<&str> = new.lines().collect();
    let mut seen = HashSet::new();
    let removed = old
        .lines()
        .filter(|l| !n.contains(l) && seen.insert(("-", *l)))
        .map(Change::Removed);
    let removed: Vec<Change> = removed.collect();
    let added = new
        .lines()
        .filter(|l| !o.contains(l) && seen.insert(("+", *l)))
        .map(Change::Added);
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

    #[test]
    fn repeated_lines_are_reported_once() {
        assert_eq!(
            changes("a\na\nb\n", "b\nb\nc\nc\n"),
            vec![Change::Removed("a"), Change::Added("c")]
        );
    }
}
