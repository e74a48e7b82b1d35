//! The pages: one module per page (or group of pages), each rendering the
//! data the server loaded (`crate::data`) with the shared widgets
//! (`crate::widgets`). No page imports another; [`crate::shell`] picks the
//! page to show.

pub mod account;
pub mod admin;
pub mod clients;
pub mod dashboard;
pub mod job;
pub mod jobs;
pub mod members;
pub mod policy;
