//! What vxguard hands Prometheus and Alertmanager (issue 18, item 4): the
//! alert rules, the Alertmanager configuration and the scrape
//! configuration, as text. Pure: the command line (`vxguard monitoring`)
//! reads the configuration and prints; CI checks the output with
//! `promtool check rules`, `promtool test rules` (a unit test per alert,
//! `tests/alerts.test.yml`) and `amtool check-config`.
//!
//! Every string written into YAML goes through [`yaml::quoted`] (a JSON
//! string is a YAML double-quoted scalar), so no configured value can
//! change the document's structure.

pub mod alertmanager;
pub mod rules;
pub mod scrape;
mod yaml;

pub use alertmanager::{alertmanager, ConfigError, Receivers};
pub use rules::{rules, Thresholds, ALERTS};
pub use scrape::{scrape_config, RouterTarget, Scrape, FRR_JOB, NODE_JOB};
