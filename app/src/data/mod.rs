//! What the server hands each page, and how the browser fetches more of it:
//! plain data (DTOs, form models, the few fetch functions), apart from the
//! views. Data modules import no view and no widget, so every page (in
//! `crate::pages`) and widget (in `crate::widgets`) can use any of them
//! without an import cycle (`scripts/check-cycles`).
//!
//! The server names these types by their old paths (`app::admin::Console`,
//! `app::clients::ClientsPage`, ...): the crate root re-exports the modules.

pub mod account;
pub mod admin;
pub mod clients;
pub mod dashboard;
pub mod form;
pub mod health;
pub mod jobs;
pub mod lists;
pub mod members;
pub mod platform;
pub mod policy;
pub mod props;
