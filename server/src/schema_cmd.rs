//! `vxguard schema`: the JSON Schema of intent files, for editors and
//! for checking intent files outside vxguard.

use anyhow::Result;

pub fn run() -> Result<bool> {
    let schema = schemars::schema_for!(vxguard_compiler::intent::Intent);
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("schema serialises")
    );
    Ok(true)
}
