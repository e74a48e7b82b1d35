//! Identifier newtypes whose constructors refuse values VyOS, Linux or the
//! protocols would refuse, so that an invalid VNI or table id cannot exist
//! past the allocator.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! ranged {
    ($(#[$doc:meta])* $name:ident, $inner:ty, $min:expr, $max:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name($inner);

        impl $name {
            pub const MIN: $inner = $min;
            pub const MAX: $inner = $max;
            /// `None` when `v` is outside the range the protocol allows.
            pub fn new(v: $inner) -> Option<Self> {
                (Self::MIN..=Self::MAX).contains(&v).then_some(Self(v))
            }
            pub fn get(self) -> $inner {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <$inner>::deserialize(d)?;
                Self::new(v).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{} {} is outside {}-{}",
                        $what, v, $name::MIN, $name::MAX
                    ))
                })
            }
        }
    };
}

ranged!(
    /// A VXLAN network identifier (24 bits, 0 reserved).
    Vni, u32, 1, 16_777_215, "VNI"
);
ranged!(
    /// A VRF routing table: VyOS accepts 100-65535 only.
    VrfTable, u32, 100, 65_535, "VRF table"
);
ranged!(
    /// A VRRP virtual router id.
    Vrid, u8, 1, 255, "VRID"
);
ranged!(
    /// A BGP autonomous system number (4-byte, VyOS `system-as` range).
    Asn, u32, 1, 4_294_967_294, "AS number"
);
ranged!(
    /// A VyOS firewall rule number.
    RuleNumber, u32, 1, 999_999, "firewall rule number"
);

/// A lowercase DNS-label-like name used for sites, routers, tenants, networks,
/// services and clients: it ends up in interface descriptions, firewall group
/// names and file names, so it is kept to `[a-z0-9-]`, 1-32 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX_LEN: usize = 32;
    pub fn new(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(format!("`{s}` must be 1-{} characters long", Self::MAX_LEN));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "`{s}` may only hold lowercase letters, digits and `-`"
            ));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(format!("`{s}` may not start or end with `-`"));
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Name::new(&s).map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for Name {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Name".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
            "description": "lowercase letters, digits and '-', 1-32 characters"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_enforced() {
        assert!(VrfTable::new(99).is_none());
        assert!(VrfTable::new(100).is_some());
        assert!(VrfTable::new(65_536).is_none());
        assert!(Vni::new(0).is_none());
        assert!(Vni::new(16_777_216).is_none());
        assert!(Vrid::new(0).is_none());
        assert!(serde_json::from_str::<VrfTable>("70000").is_err());
    }

    #[test]
    fn names_are_restricted() {
        assert!(Name::new("dc1").is_ok());
        assert!(Name::new("Dc1").is_err());
        assert!(Name::new("-a").is_err());
        assert!(Name::new("").is_err());
        assert!(Name::new(&"a".repeat(33)).is_err());
    }
}
