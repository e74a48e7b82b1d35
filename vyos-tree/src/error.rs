//! The one error type: every failure in this crate is a syntax error in input text.

/// A syntax error at a 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Nesting deeper than this is rejected: real VyOS configs are < 20 deep, and the
/// tree's recursive algorithms must not overflow the stack on hostile input.
pub(crate) const MAX_DEPTH: usize = 128;
