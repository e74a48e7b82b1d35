//! Widgets several pages share: form pieces (fields, submit buttons, error
//! lists), the table, the tenant navigation, the audit list and the error
//! page. A widget imports data (`crate::data`) but never a page, so that
//! pages import widgets and no page imports another (`scripts/check-cycles`).

pub mod audit;
// Server-rendered only (`data::health::ServerOnly`).
#[cfg(feature = "ssr")]
pub mod diagram;
pub mod error;
pub mod form;
pub mod job;
pub mod lists;
pub mod nav;
pub mod reset;
pub mod table;
