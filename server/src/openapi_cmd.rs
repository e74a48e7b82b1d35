//! `vxguard openapi`: the API's OpenAPI document (the one served at
//! `/api/v1/openapi.json` and committed as `openapi/openapi.json`).

use anyhow::Result;

pub fn run() -> Result<bool> {
    println!(
        "{}",
        serde_json::to_string_pretty(&crate::openapi::document()).expect("serialises")
    );
    Ok(true)
}
