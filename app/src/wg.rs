//! A WireGuard remote-access client's `wg-quick` file, in one place for
//! both sides: the server fills a [`ClientConfig`] (everything but the
//! private key) and the browser, which generated the key pair, writes the
//! file with [`ClientConfig::wg_quick`]. The API's server-generated keys use
//! the same code, so the two files cannot differ. (The key pairs themselves
//! come from `vxguard_wg_keys`.)

use serde::{Deserialize, Serialize};

/// What a client's `wg-quick` file holds, except its private key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientConfig {
    pub tenant: String,
    pub client: String,
    /// The client's address inside the tenant (a single host).
    pub address: String,
    /// Resolvers for `DNS =`; empty when the tenant names none.
    #[serde(default)]
    pub dns: Vec<String>,
    /// The tenant's routers that terminate its clients.
    pub peers: Vec<ConfigPeer>,
}

/// One router the client connects to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigPeer {
    /// The router's base64 Curve25519 public key.
    pub public_key: String,
    /// `host:port` (IPv6 hosts in brackets).
    pub endpoint: String,
    /// The tenant networks the client may reach through this router.
    pub allowed_ips: Vec<String>,
    /// Seconds between keepalives, so NAT mappings stay open.
    pub persistent_keepalive: Option<u16>,
}

impl ClientConfig {
    /// The `wg-quick` file with the given (base64) private key.
    pub fn wg_quick(&self, private_key: &str) -> String {
        let mut s = format!(
            "# vxguard client {} of tenant {}\n[Interface]\nPrivateKey = {private_key}\nAddress = {}/32\n",
            self.client, self.tenant, self.address
        );
        if !self.dns.is_empty() {
            s.push_str(&format!("DNS = {}\n", self.dns.join(", ")));
        }
        for p in &self.peers {
            s.push_str(&format!(
                "\n[Peer]\nPublicKey = {}\nEndpoint = {}\nAllowedIPs = {}\n",
                p.public_key,
                p.endpoint,
                p.allowed_ips.join(", ")
            ));
            if let Some(k) = p.persistent_keepalive {
                s.push_str(&format!("PersistentKeepalive = {k}\n"));
            }
        }
        s
    }
}

/// The key derivation lives in `vxguard_wg_keys` (shared with the
/// server, no leptos); re-exported for the callers that named it here.
pub use vxguard_wg_keys::keypair;

/// Percent-encodes everything but unreserved characters (RFC 3986), for
/// form bodies and `data:` URLs.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wg_quick_file() {
        let c = ClientConfig {
            tenant: "acme".into(),
            client: "laptop".into(),
            address: "100.65.0.2".into(),
            dns: vec!["100.64.0.53".into()],
            peers: vec![ConfigPeer {
                public_key: "K".into(),
                endpoint: "[2001:db8::1]:51821".into(),
                allowed_ips: vec!["100.64.1.0/28".into(), "100.64.1.16/28".into()],
                persistent_keepalive: Some(25),
            }],
        };
        assert_eq!(
            c.wg_quick("P"),
            "# vxguard client laptop of tenant acme\n[Interface]\nPrivateKey = P\n\
             Address = 100.65.0.2/32\nDNS = 100.64.0.53\n\n[Peer]\nPublicKey = K\n\
             Endpoint = [2001:db8::1]:51821\nAllowedIPs = 100.64.1.0/28, 100.64.1.16/28\n\
             PersistentKeepalive = 25\n"
        );
        assert_eq!(percent_encode("a b/=\n"), "a%20b%2F%3D%0A");
    }
}
