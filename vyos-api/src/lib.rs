//! The VyOS HTTP API, spoken exactly: the wire protocol as types, shared by
//! this project's apply driver (a client) and the lab router (a stand-in
//! server), so that both are held to the same bytes.
//!
//! - [`wire`]: request bodies with VyOS's pydantic field names (`key`, `op`,
//!   `path`, `value`, `commands`, `confirm_time`, `configFormat`), the
//!   response envelope `{success, data, error}` rendered as Python's
//!   `json.dumps` renders it, and the server-side readers that accept and
//!   refuse what VyOS 1.4 and 1.5 do.
//! - [`encoding`]: JSON bodies with the key inside, and form bodies
//!   (`data` + `key`), both ways.
//! - [`texts`]: the error texts (and which of them are verified).
//! - [`config_json`]: `showConfig` JSON ↔ `vyos_tree::ConfigTree`.
//! - [`client`]: a minimal HTTP/1.1 client, over HTTPS or plain HTTP.
//! - [`tls`]: which certificates the client trusts (a pinned fingerprint,
//!   or the public roots).
//!
//! Sources: vyos-1x `src/services/api/rest/{models,routers}.py` (1.5),
//! `src/services/vyos-http-api-server` (1.4), `python/vyos/configsession.py`
//! and `python/vyos/config_mgmt.py`; see `../shared/vyos-1x/HTTP-API.md`.
//!
//! Not covered: `/configure-section`, `/config-file`, `/image`, `/generate`, `/reset`,
//! `json_ast`, and GraphQL.

pub mod client;
pub mod config_json;
pub mod encoding;
pub mod texts;
pub mod tls;
pub mod wire;

pub use client::{Answer, Client, ClientError};
pub use encoding::{decode_request, encode, Encoding};
pub use tls::Trust;
pub use wire::{
    ApiVersion, ConfigFormat, Configure, ConfigureCommand, ConfigureOp, Envelope, Refusal,
    Retrieve, RetrieveOp, Show,
};
