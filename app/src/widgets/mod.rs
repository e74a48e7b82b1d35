//! Widgets several pages share: form pieces (fields, submit buttons, error
//! lists), the table, the tenant navigation, the audit list and the error
//! page. A widget imports data (`crate::data`) but never a page, so that
//! pages import widgets and no page imports another (`scripts/check-cycles`).
//! Those only the server-rendered pages use are not in the browser bundle.

#[cfg(feature = "ssr")]
pub mod audit;
// Server-rendered only (`data::health::ServerOnly`).
#[cfg(feature = "ssr")]
pub mod diagram;
#[cfg(feature = "ssr")]
pub mod error;
pub mod form;
#[cfg(feature = "ssr")]
pub mod job;
pub mod lists;
pub mod nav;
#[cfg(feature = "ssr")]
pub mod reset;
#[cfg(feature = "ssr")]
pub mod table;
