//! Logging in, changing one's password, and the error pages.

use serde::{Deserialize, Serialize};

use super::form::FieldErrors;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub email: String,
    /// Where to go after logging in (a local path).
    pub next: String,
    /// What went wrong that names no field (wrong email or password, too
    /// many attempts, an expired form).
    pub error: Option<String>,
    /// Fields left empty, each asked for at its field.
    #[serde(default)]
    pub fields: FieldErrors,
    /// The login form's own CSRF token (double-submitted in a cookie).
    pub csrf: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorPage {
    pub status: u16,
    pub title: String,
    pub detail: String,
}

/// The change-password form. Passwords are never sent back: after an
/// error the fields are empty and the errors sit next to them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordPage {
    pub errors: FieldErrors,
    /// Set after a successful change.
    pub changed: bool,
    /// An admin set the password: the user must choose their own before
    /// anything else.
    pub required: bool,
}
