//! Diagnostics: every problem names the object (as a JSON pointer into the
//! intent) and the reason, and all of them are reported together.

use serde::Serialize;
use std::fmt;

/// A JSON pointer (RFC 6901) into the intent document, e.g. `/tenants/0/networks/1/cidr`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Pointer(pub String);

impl Pointer {
    pub fn root() -> Self {
        Self(String::new())
    }
    pub fn join(&self, seg: impl fmt::Display) -> Self {
        let s = seg.to_string().replace('~', "~0").replace('/', "~1");
        Self(format!("{}/{}", self.0, s))
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("/")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pointer: Pointer,
    pub message: String,
    /// The value is fine on its own but taken by another object (a name,
    /// a port): the API answers 409 rather than 422.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
}

impl Diagnostic {
    pub fn error(pointer: Pointer, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            pointer,
            message: message.into(),
            conflict: false,
        }
    }
    pub fn warning(pointer: Pointer, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            pointer,
            message: message.into(),
            conflict: false,
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}: {}", self.pointer, self.message)
    }
}

/// Collects diagnostics while a pass runs.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn error(&mut self, p: Pointer, msg: impl Into<String>) {
        self.0.push(Diagnostic::error(p, msg));
    }
    /// An error whose value another object already holds (see [`Diagnostic::conflict`]).
    pub fn conflict(&mut self, p: Pointer, msg: impl Into<String>) {
        let mut x = Diagnostic::error(p, msg);
        x.conflict = true;
        self.0.push(x);
    }
    pub fn warning(&mut self, p: Pointer, msg: impl Into<String>) {
        self.0.push(Diagnostic::warning(p, msg));
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
}
