//! How the client trusts a router's HTTPS certificate.
//!
//! VyOS serves its API through nginx with the certificate of `service https
//! certificates`, or else a self-signed one made at install. A self-signed
//! certificate proves nothing by its chain, so the driver pins it: the
//! operator records the SHA-256 of the certificate (as `openssl x509
//! -fingerprint -sha256` prints it) and the client accepts that
//! certificate and no other, still checking that the server holds its key
//! (the handshake signature). Without a pin, the certificate must chain to
//! a public root (Mozilla's, from `webpki-roots`) and name the host.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

/// Which certificates a client accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Chains to a public root and names the host.
    PublicRoots,
    /// Exactly the certificate with this SHA-256 (of its DER encoding).
    Pinned([u8; 32]),
}

/// `AB:CD:...`, as openssl prints a fingerprint.
pub fn fingerprint_text(sha256: &[u8; 32]) -> String {
    sha256
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-256 of a certificate's DER encoding.
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The rustls configuration for `trust`.
pub fn client_config(trust: Trust) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    match trust {
        Trust::PublicRoots => {
            static PUBLIC: OnceLock<Arc<ClientConfig>> = OnceLock::new();
            PUBLIC
                .get_or_init(|| {
                    let roots = rustls::RootCertStore {
                        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                    };
                    Arc::new(builder.with_root_certificates(roots).with_no_client_auth())
                })
                .clone()
        }
        Trust::Pinned(sha256) => Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ByFingerprint {
                    check: Check::Pin(sha256),
                    provider: provider(),
                }))
                .with_no_client_auth(),
        ),
    }
}

/// The rustls configuration that accepts any certificate and records its
/// fingerprint: to read a router's certificate so an operator can check
/// it and pin it. Nothing is sent over such a connection.
pub fn recording_config(seen: Arc<std::sync::Mutex<Option<[u8; 32]>>>) -> Arc<ClientConfig> {
    let provider = provider();
    Arc::new(
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ByFingerprint {
                check: Check::Record(seen),
                provider,
            }))
            .with_no_client_auth(),
    )
}

/// The certificate the router showed is not the pinned one.
#[derive(Debug, thiserror::Error)]
#[error("the router's certificate has SHA-256 {got}, not the pinned {want}")]
pub struct PinMismatch {
    pub got: String,
    pub want: String,
}

/// Why a handshake failed, in words: a pin mismatch names both
/// fingerprints (rustls would print its debug form).
pub fn handshake_failure(e: &std::io::Error) -> String {
    let pin = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(o))) => {
                o.downcast_ref::<PinMismatch>().map(ToString::to_string)
            }
            _ => None,
        });
    pin.unwrap_or_else(|| e.to_string())
}

/// What a [`ByFingerprint`] verifier does with the router's certificate.
#[derive(Debug)]
enum Check {
    /// Accepts the certificate with this fingerprint and no other.
    Pin([u8; 32]),
    /// Accepts any, remembering its fingerprint (to show an operator).
    Record(Arc<std::sync::Mutex<Option<[u8; 32]>>>),
}

/// Judges the certificate by its fingerprint alone; the names in it do not
/// matter (VyOS's self-signed certificate names `vyos`, not the endpoint).
/// The handshake signature is still checked: the server holds the key.
#[derive(Debug)]
struct ByFingerprint {
    check: Check,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ByFingerprint {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity.as_ref());
        match &self.check {
            Check::Pin(want) if got == *want => Ok(ServerCertVerified::assertion()),
            Check::Pin(want) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    got: fingerprint_text(&got),
                    want: fingerprint_text(want),
                })),
            ))),
            Check::Record(seen) => {
                *seen.lock().expect("not poisoned") = Some(got);
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
