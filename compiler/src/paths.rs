//! Compact storage for `set` paths.
//!
//! A compile keeps every owner's commands (to rebuild a router after a
//! one-tenant change), millions of paths in all. Consecutive paths of one
//! owner share most leading words (`firewall ipv4 name VXG-x rule 10 ...`),
//! so a path is stored as the number of words it shares with the previous
//! path plus its own words, all in one string: no allocation per word.

use std::fmt::{self, Write};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathList {
    /// The stored words, back to back.
    text: String,
    /// End offset in `text` of each stored word.
    ends: Vec<u32>,
    /// Per path: words shared with the previous path, words stored.
    shape: Vec<(u8, u8)>,
    /// Builder state: the previous path's words as ranges of `text`, then
    /// the path being built.
    last: Vec<(u32, u32)>,
    building: usize,
}

impl PathList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of paths.
    pub fn len(&self) -> usize {
        self.shape.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shape.is_empty()
    }

    /// Appends one word to the path being built.
    pub fn word(&mut self, w: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(w);
        self.last.push((start, self.text.len() as u32));
        self.building += 1;
    }

    /// [`PathList::word`] for anything printable, without a temporary string.
    pub fn word_display(&mut self, w: &dyn fmt::Display) {
        let start = self.text.len() as u32;
        write!(self.text, "{w}").expect("writing to a String cannot fail");
        self.last.push((start, self.text.len() as u32));
        self.building += 1;
    }

    /// Ends the path being built (its words were given by `word`).
    pub fn end_path(&mut self) {
        let n = self.building;
        self.building = 0;
        let prev = self.last.len() - n;
        let (old, new) = self.last.split_at(prev);
        let word = |r: (u32, u32)| &self.text[r.0 as usize..r.1 as usize];
        let shared = old
            .iter()
            .zip(new)
            .take_while(|(a, b)| word(**a) == word(**b))
            .count()
            .min(u8::MAX as usize);
        let own = (n - shared).min(u8::MAX as usize);
        assert_eq!(shared + own, n, "a path has at most 510 words");
        // Drop the shared words' copies: they were appended last, so they
        // sit between the new path's first word and its first own word.
        let cut_from = new.first().map_or(self.text.len() as u32, |r| r.0);
        let cut_to = new.get(shared).map_or(self.text.len() as u32, |r| r.0);
        let removed = cut_to - cut_from;
        self.text
            .replace_range(cut_from as usize..cut_to as usize, "");
        // `last` becomes the old path's shared words, then the new path's own
        // (moved down by the removed text), in place: no allocation per path.
        self.last.drain(shared..prev + shared);
        for r in &mut self.last[shared..] {
            *r = (r.0 - removed, r.1 - removed);
        }
        self.ends.extend(self.last[shared..].iter().map(|r| r.1));
        self.shape.push((shared as u8, own as u8));
    }

    /// Adds a whole path.
    pub fn push<S: AsRef<str>>(&mut self, path: &[S]) {
        for w in path {
            self.word(w.as_ref());
        }
        self.end_path();
    }

    /// Calls `f` with each path's words, in order.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&[&'a str])) {
        self.for_each_sharing(|_, p| f(p))
    }

    /// [`PathList::for_each`], also saying how many leading words each path
    /// shares with the one before.
    pub fn for_each_sharing<'a>(&'a self, mut f: impl FnMut(usize, &[&'a str])) {
        let mut cur: Vec<&'a str> = Vec::new();
        let mut w = 0;
        for &(shared, own) in &self.shape {
            cur.truncate(shared as usize);
            for _ in 0..own {
                let start = if w == 0 { 0 } else { self.ends[w - 1] as usize };
                cur.push(&self.text[start..self.ends[w] as usize]);
                w += 1;
            }
            f(shared as usize, &cur);
        }
    }

    /// The paths as owned words (for tests and callers that keep them).
    pub fn to_vecs(&self) -> Vec<Vec<String>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|p| out.push(p.iter().map(|w| w.to_string()).collect()));
        out
    }

    /// Bytes held on the heap (for memory figures).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + 4 * self.ends.capacity()
            + 2 * self.shape.capacity()
            + 8 * self.last.capacity()
    }

    /// Releases spare capacity once the list is complete.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.shape.shrink_to_fit();
        self.last = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_shared_prefixes() {
        let paths: Vec<Vec<&str>> = vec![
            vec!["a", "b", "c"],
            vec!["a", "b", "d"],
            vec!["a", "b", "d"],
            vec!["a"],
            vec!["x", "", "y"],
            vec!["x", "", "y", "z"],
            vec!["q"],
        ];
        let mut l = PathList::new();
        for p in &paths {
            l.push(p);
        }
        let got: Vec<Vec<String>> = l.to_vecs();
        let want: Vec<Vec<String>> = paths
            .iter()
            .map(|p| p.iter().map(|w| w.to_string()).collect())
            .collect();
        assert_eq!(got, want);
        assert_eq!(l.len(), 7);
        let mut m = PathList::new();
        m.word("a");
        m.word_display(&"b");
        m.word_display(&3);
        m.end_path();
        assert_eq!(m.to_vecs(), vec![vec!["a", "b", "3"]]);
    }
}
