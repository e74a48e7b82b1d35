//! The VyOS releases built into the binary: one compact schema each
//! (`vyos-defs/schemas/`, made by `vxguard vyos defs build` from vyos-1x;
//! the README says how to regenerate them), parsed when first asked for.

use std::sync::OnceLock;

use crate::{Definitions, SchemaError};

/// A built-in schema: the VyOS release and the text.
pub struct Builtin {
    /// VyOS release, as router intents name it (`1.4`, `1.5`).
    pub version: &'static str,
    /// The vyos-1x branch it was derived from (the folder name in a
    /// checkout of `shared/vyos-1x`).
    pub branch: &'static str,
    pub text: &'static str,
}

/// Every built-in schema, oldest release first.
pub const BUILTIN: &[Builtin] = &[
    Builtin {
        version: "1.4",
        branch: "sagitta",
        text: include_str!("../schemas/vyos-1.4.schema"),
    },
    Builtin {
        version: "1.5",
        branch: "current",
        text: include_str!("../schemas/vyos-1.5.schema"),
    },
];

/// The releases with a built-in schema.
pub fn versions() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|b| b.version)
}

/// The built-in definitions of `version`, parsed once per process and
/// shared; `None` when no schema of that release is built in.
pub fn definitions(version: &str) -> Option<&'static Definitions> {
    static PARSED: [OnceLock<Definitions>; BUILTIN.len()] =
        [const { OnceLock::new() }; BUILTIN.len()];
    let i = BUILTIN.iter().position(|b| b.version == version)?;
    Some(PARSED[i].get_or_init(|| {
        parse(&BUILTIN[i]).unwrap_or_else(|e| panic!("built-in VyOS {version} schema: {e}"))
    }))
}

/// Parses one built-in schema (tests check each parses and names its
/// release; [`definitions`] relies on that).
pub fn parse(b: &Builtin) -> Result<Definitions, SchemaError> {
    Definitions::from_schema(b.text)
}
