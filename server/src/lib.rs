//! vxguard's server: the API, the portal, the worker and the command-line
//! tools around the compiler and the store (`vxguard-store`). A library so that integration tests can drive
//! the API in-process; `main.rs` is the command line.

pub mod api;
pub mod audit;
pub mod audit_cmd;
pub mod auth;
pub mod compile_cmd;
pub mod config_diff;
pub mod db;
pub mod definitions;
pub mod demo;
pub mod driver;
pub mod fairness;
pub mod health;
pub mod health_vitals;
pub mod job_feed;
pub mod jobs;
pub mod keys;
pub mod keys_cmd;
pub mod master_key;
pub mod metrics;
pub mod monitoring_cmd;
pub mod moved_cmd;
pub mod openapi_cmd;
/// The OpenAPI document (it lives with the API it describes).
pub use api::openapi;
pub mod portal;
pub mod problem;
pub mod redact;
pub mod rollout;
pub mod schema_cmd;
pub mod serve;
pub mod state;
pub mod tenancy;
pub mod vyos_cmd;
pub mod worker;
