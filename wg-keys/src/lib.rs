//! WireGuard key pairs, for both sides of vxguard: the server makes the
//! routers' and hypervisors' keys (and the API's generated client keys)
//! with it, and the portal's browser build makes a client's key pair in the
//! page. A crate of its own, without leptos, so that the server does not
//! take its key generation from the UI crate, and so that both derive keys
//! with the very same code. It builds for wasm32-unknown-unknown: the
//! caller brings the randomness (`/dev/urandom`, WebCrypto).

use base64::Engine;

/// A WireGuard key pair (base64 private, base64 public) from 32 random
/// bytes: clamped as Curve25519 secret keys are, then multiplied by the
/// base point.
pub fn keypair(mut secret: [u8; 32]) -> (String, String) {
    secret[0] &= 248;
    secret[31] &= 127;
    secret[31] |= 64;
    let public = x25519_dalek::x25519(secret, x25519_dalek::X25519_BASEPOINT_BYTES);
    let e = base64::engine::general_purpose::STANDARD;
    (e.encode(secret), e.encode(public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypair_matches_rfc7748() {
        // RFC 7748 section 6.1: Alice's private key and public key.
        let hex = |s: &str| -> [u8; 32] {
            let v: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        };
        let alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let (private, public) = keypair(alice);
        let e = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            e.decode(public).unwrap(),
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        // The private key is stored clamped, as `wg genkey` prints it.
        let p = e.decode(private).unwrap();
        assert_eq!(p[0] & 7, 0);
        assert_eq!(p[31] & 0xc0, 0x40);
    }
}
