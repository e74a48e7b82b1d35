//! A definition's `<regex>`, compiled on first use: a schema holds about a
//! thousand distinct patterns and a process checks values against a few
//! dozen, so loading a schema compiles none of them.

use std::sync::OnceLock;

/// An anchored VyOS regex (`^(?:SOURCE)$`), shared by every node that
/// uses the same source.
#[derive(Debug)]
pub struct LazyRegex {
    source: String,
    compiled: OnceLock<Result<fancy_regex::Regex, String>>,
}

impl LazyRegex {
    pub fn new(source: String) -> LazyRegex {
        LazyRegex {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as the definitions write it (unanchored).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Compiles now (the XML loader does, to name the file of a bad pattern).
    pub fn compile(&self) -> Result<&fancy_regex::Regex, String> {
        self.compiled
            .get_or_init(|| {
                fancy_regex::Regex::new(&format!("^(?:{})$", self.source))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether `value` matches; a pattern that does not compile matches
    /// nothing (the generator refuses such patterns, so a built-in schema
    /// holds none).
    pub fn is_match(&self, value: &str) -> bool {
        self.compile()
            .ok()
            .and_then(|re| re.is_match(value).ok())
            .unwrap_or(false)
    }
}

impl PartialEq for LazyRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
