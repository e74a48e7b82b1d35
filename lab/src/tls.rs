//! The lab router's HTTPS, as a VyOS without `service https certificates`
//! serves it: a self-signed certificate, made once and kept in the
//! router's state directory so that a restarted router shows the same one
//! (the driver pins it by fingerprint, as an operator pins a real router's).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The certificate file in a router's state directory.
pub const CERT_FILE: &str = "api-cert.pem";
/// Its private key (mode 0600).
pub const KEY_FILE: &str = "api-key.pem";

/// Why the router has no certificate to serve.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("generating the API certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the API certificate and key do not make a TLS server: {0}")]
    Config(#[from] rustls::Error),
}

/// A router's certificate and key.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// SHA-256 of the certificate, what vxguard's router intent pins.
    pub fn fingerprint(&self) -> [u8; 32] {
        vyos_api::tls::fingerprint(self.cert.as_ref())
    }

    /// A rustls server configuration serving this certificate.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())?;
        Ok(Arc::new(config))
    }
}

/// The certificate in `dir`, made (self-signed, for `vyos`, `localhost` and
/// the loopback addresses) when there is none yet.
pub fn ensure_identity(dir: &Path) -> Result<Identity, TlsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io { path, source }
    };
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    if !cert_path.exists() || !key_path.exists() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let made = rcgen::generate_simple_self_signed(vec![
            "vyos".to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])?;
        write_private(&key_path, made.key_pair.serialize_pem().as_bytes())
            .map_err(io(&key_path))?;
        std::fs::write(&cert_path, made.cert.pem()).map_err(io(&cert_path))?;
    }
    let cert = CertificateDer::from_pem_file(&cert_path).map_err(|_| TlsError::Pem {
        path: cert_path.clone(),
        what: "certificate",
    })?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|_| TlsError::Pem {
        path: key_path.clone(),
        what: "private key",
    })?;
    Ok(Identity { cert, key })
}

/// Writes a file only its owner can read, created so from the start.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// How long a client may take over its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A TCP listener whose connections are TLS: handshakes run concurrently
/// (one slow client does not hold up the others) and failed ones are
/// dropped, as nginx drops them.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let acceptor = self.acceptor.clone();
                        self.handshakes.spawn(async move {
                            match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => Some((tls, peer)),
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    None
                                }
                                Err(_) => None,
                            }
                        });
                    }
                    // Out of descriptors and the like: wait, as axum does.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(conn)) = done {
                        return conn;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("vxguard-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = ensure_identity(&dir).unwrap();
        let again = ensure_identity(&dir).unwrap();
        assert_eq!(first.fingerprint(), again.fingerprint());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(first.server_config().is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
        let other = ensure_identity(&dir).unwrap();
        assert_ne!(
            first.fingerprint(),
            other.fingerprint(),
            "a new key, a new certificate"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
