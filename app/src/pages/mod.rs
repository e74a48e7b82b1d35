//! The pages: one module per page (or group of pages), each rendering the
//! data the server loaded (`crate::data`) with the shared widgets
//! (`crate::widgets`). No page imports another; [`crate::shell`] picks the
//! page to show. Pages that need no hydration (all but the dashboard,
//! policy and clients, see `PageProps::hydrates`) are rendered by the
//! server alone and are not in the browser bundle.

#[cfg(feature = "ssr")]
pub mod account;
#[cfg(feature = "ssr")]
pub mod admin;
pub mod clients;
pub mod dashboard;
#[cfg(feature = "ssr")]
pub mod job;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod members;
pub mod policy;
