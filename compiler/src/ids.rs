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
            return Err(format!(
                "“{s}” is not a name: a name is 1-{} characters long",
                Self::MAX_LEN
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "“{s}” is not a name: use only lowercase letters, digits and “-”"
            ));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(format!(
                "“{s}” is not a name: it may not start or end with “-”"
            ));
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

/// The SHA-256 fingerprint of a router's TLS certificate (of its DER
/// encoding, as `openssl x509 -noout -fingerprint -sha256` prints it):
/// VyOS serves its API with a self-signed certificate unless given one,
/// and pinning it is how the driver knows it talks to that router.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertSha256([u8; 32]);

impl CertSha256 {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }
    /// 64 hex digits, either case, optionally in `:`-separated pairs.
    pub fn parse(s: &str) -> Result<Self, String> {
        let hex: String = s.chars().filter(|c| *c != ':').collect();
        let pairs_ok = !s.contains(':') || s.split(':').all(|p| p.len() == 2);
        if hex.len() != 64 || !pairs_ok || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "“{s}” is not a SHA-256 fingerprint: give 64 hex digits, optionally as AB:CD:... pairs"
            ));
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex");
        }
        Ok(Self(out))
    }
    pub fn bytes(&self) -> [u8; 32] {
        self.0
    }
}
impl fmt::Display for CertSha256 {
    /// `AB:CD:...`, as openssl prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}
impl fmt::Debug for CertSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertSha256({self})")
    }
}
impl Serialize for CertSha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for CertSha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CertSha256::parse(&s).map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for CertSha256 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CertSha256".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$",
            "description": "SHA-256 of the certificate's DER encoding: 64 hex digits, optionally as AB:CD:... pairs"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_both_spellings_and_print_as_openssl_does() {
        let colons = "AB:".repeat(31) + "0f";
        let plain = "ab".repeat(31) + "0F";
        let a = CertSha256::parse(&colons).unwrap();
        assert_eq!(a, CertSha256::parse(&plain).unwrap());
        assert_eq!(a.to_string(), "AB:".repeat(31) + "0F");
        assert_eq!(a.bytes()[31], 0x0f);
        for bad in [
            "",
            "AB",
            &"ab".repeat(33),
            &("A:BA".repeat(16)),
            &"zz".repeat(32),
        ] {
            assert!(CertSha256::parse(bad).is_err(), "{bad}");
        }
    }

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
