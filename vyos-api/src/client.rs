//! A small client of the VyOS HTTP API: one POST per call, the answer's
//! status and envelope kept whole (VyOS's error text is the most useful
//! thing a failed apply can show, so it is never dropped).
//!
//! HTTPS as a real VyOS serves it (nginx), with the trust of [`crate::tls`];
//! plain HTTP too, for tests that look at the protocol alone (the callers
//! decide which URLs they allow: vxguard's checks allow `http://` only to a
//! loopback address).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::encoding::{encode, Encoding};
use crate::tls::{client_config, Trust};
use crate::wire::{ApiVersion, Configure, Envelope, Retrieve, Show};

/// Why a call did not produce a VyOS answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "bad router URL {0:?}: expected https://HOST[:PORT] or http://HOST[:PORT], without a path"
    )]
    Url(String),
    #[error("router URL {0:?} is plain http://: there is no certificate to pin")]
    PinWithoutTls(String),
    #[error("cannot reach {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    /// The TLS handshake failed: most often the certificate is not the
    /// one trusted (the text says which it was).
    #[error("TLS with {addr} failed: {reason}")]
    Tls { addr: String, reason: String },
    #[error("HTTP exchange with {addr} failed: {source}")]
    Http { addr: String, source: hyper::Error },
    #[error("no answer from {addr} within {0:?}", .timeout)]
    Timeout { addr: String, timeout: Duration },
    /// The router answered, but not with VyOS's envelope (e.g. nginx's 503
    /// page when the API is not configured).
    #[error("HTTP {status} from {addr} without a VyOS answer: {body}")]
    NotVyos {
        addr: String,
        status: u16,
        body: String,
    },
}

/// A VyOS answer: HTTP status and the envelope (error text unescaped on 1.5).
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub envelope: Envelope,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status == 200 && self.envelope.success
    }
    /// VyOS's error text, as the router meant it.
    pub fn error(&self) -> Option<&str> {
        self.envelope.error.as_deref()
    }
}

/// Where a router's API is and how to talk to it.
#[derive(Clone, Debug)]
pub struct Client {
    url: String,
    host: String,
    port: u16,
    /// `None` for plain HTTP.
    tls: Option<Arc<rustls::ClientConfig>>,
    key: String,
    pub version: ApiVersion,
    pub encoding: Encoding,
    pub timeout: Duration,
}

impl Client {
    /// `url` is `https://HOST[:PORT]` (certificates checked against the
    /// public roots until [`Client::trusting`] says otherwise) or
    /// `http://HOST[:PORT]`; a trailing `/` is fine, a path is not.
    pub fn new(url: &str, key: &str, version: ApiVersion) -> Result<Client, ClientError> {
        let bad = || ClientError::Url(url.into());
        let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("https://") {
            (r, Some(client_config(Trust::PublicRoots)), 443)
        } else if let Some(r) = url.strip_prefix("http://") {
            (r, None, 80)
        } else {
            return Err(bad());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains('/') {
            return Err(bad());
        }
        let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad);
        // `[v6]:port`, `[v6]`, `host:port`, `host`.
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad());
            }
            match after {
                "" => (h, default_port),
                p => (h, port(p.strip_prefix(':').ok_or_else(bad)?)?),
            }
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, port(p)?),
                None => (rest, default_port),
            }
        };
        if host.is_empty() || ServerName::try_from(host).is_err() {
            return Err(bad());
        }
        Ok(Client {
            url: url.into(),
            host: host.into(),
            port,
            tls,
            key: key.into(),
            version,
            encoding: Encoding::Json,
            timeout: Duration::from_secs(30),
        })
    }

    /// The same client accepting the certificates `trust` allows.
    pub fn trusting(mut self, trust: Trust) -> Result<Client, ClientError> {
        if self.tls.is_none() {
            return Err(ClientError::PinWithoutTls(self.url));
        }
        self.tls = Some(client_config(trust));
        Ok(self)
    }

    fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// POSTs `body` (without the key) to `endpoint`.
    pub async fn post(&self, endpoint: &str, body: &Value) -> Result<Answer, ClientError> {
        let addr = self.addr();
        self.within_timeout(&addr, self.post_inner(endpoint, body, &addr))
            .await
    }

    /// `fut`, or [`ClientError::Timeout`] after the client's timeout.
    async fn within_timeout<T>(
        &self,
        addr: &str,
        fut: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                addr: addr.into(),
                timeout: self.timeout,
            }),
        }
    }

    async fn connect(&self, addr: &str) -> Result<tokio::net::TcpStream, ClientError> {
        tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.into(),
                source,
            })
    }

    /// The TLS handshake over `stream` with `config`'s trust.
    async fn handshake(
        &self,
        config: Arc<rustls::ClientConfig>,
        stream: tokio::net::TcpStream,
        addr: &str,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, ClientError> {
        let name = ServerName::try_from(self.host.clone()).expect("checked in new");
        tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| ClientError::Tls {
                addr: addr.into(),
                reason: crate::tls::handshake_failure(&e),
            })
    }

    async fn post_inner(
        &self,
        endpoint: &str,
        body: &Value,
        addr: &str,
    ) -> Result<Answer, ClientError> {
        let enc = encode(self.encoding, &self.key, body);
        let stream = self.connect(addr).await?;
        let req = Request::post(endpoint)
            .header("host", addr)
            .header("content-type", enc.content_type)
            .body(Full::new(Bytes::from(enc.body)))
            .expect("valid request");
        let http = |source| ClientError::Http {
            addr: addr.into(),
            source,
        };
        let resp = match &self.tls {
            None => exchange(stream, req).await.map_err(http)?,
            Some(config) => {
                let tls = self.handshake(config.clone(), stream, addr).await?;
                exchange(tls, req).await.map_err(http)?
            }
        };
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(http)?.to_bytes();
        match serde_json::from_slice::<Envelope>(&bytes) {
            Ok(mut envelope) => {
                if self.version == ApiVersion::V1_5 {
                    envelope.error = envelope.error.map(|e| crate::texts::unescape_html(&e));
                }
                Ok(Answer { status, envelope })
            }
            Err(_) => Err(ClientError::NotVyos {
                addr: addr.into(),
                status,
                body: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            }),
        }
    }

    /// The SHA-256 of the certificate the router shows, trusted or not:
    /// for an operator to compare with the router's own (`show pki` or
    /// `openssl x509 -fingerprint -sha256` on it) before pinning it. The
    /// handshake is completed and the connection closed; nothing is sent.
    pub async fn server_certificate(&self) -> Result<[u8; 32], ClientError> {
        if self.tls.is_none() {
            return Err(ClientError::PinWithoutTls(self.url.clone()));
        }
        let addr = self.addr();
        let seen = Arc::new(std::sync::Mutex::new(None));
        let config = crate::tls::recording_config(seen.clone());
        self.within_timeout(&addr, async {
            let stream = self.connect(&addr).await?;
            self.handshake(config, stream, &addr).await
        })
        .await?;
        let got = *seen.lock().expect("not poisoned");
        Ok(got.expect("a completed handshake saw a certificate"))
    }

    /// The URL the client was made for.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn retrieve(&self, r: &Retrieve) -> Result<Answer, ClientError> {
        self.post("/retrieve", &serde_json::to_value(r).expect("serialises"))
            .await
    }

    pub async fn configure(&self, c: &Configure) -> Result<Answer, ClientError> {
        self.post("/configure", &c.to_value()).await
    }

    pub async fn show(&self, s: &Show) -> Result<Answer, ClientError> {
        self.post("/show", &s.to_value()).await
    }
}

/// One HTTP/1.1 request over `io`.
async fn exchange<S>(io: S, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(conn);
    send.send_request(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let c = Client::new("http://127.0.0.1:8443/", "k", ApiVersion::V1_4).unwrap();
        assert_eq!(
            (c.addr(), c.tls.is_some()),
            ("127.0.0.1:8443".into(), false)
        );
        let c = Client::new("https://r1.example.net", "k", ApiVersion::V1_4).unwrap();
        assert_eq!(
            (c.addr(), c.tls.is_some()),
            ("r1.example.net:443".into(), true)
        );
        let c = Client::new("https://[2001:db8::1]:8443", "k", ApiVersion::V1_5).unwrap();
        assert_eq!(c.addr(), "[2001:db8::1]:8443");
        let c = Client::new("http://[::1]", "k", ApiVersion::V1_5).unwrap();
        assert_eq!(c.addr(), "[::1]:80");
        for bad in [
            "ftp://r1",
            "r1:443",
            "https://",
            "https://r1/retrieve",
            "https://r1:https",
            "https://r1:99999",
            "https://[::1",
            "https://2001:db8::1",
            "https://r1:0",
            "http://[r1]:80",
        ] {
            assert!(
                matches!(
                    Client::new(bad, "k", ApiVersion::V1_4),
                    Err(ClientError::Url(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_https_clients_take_a_pin() {
        let plain = Client::new("http://127.0.0.1:1", "k", ApiVersion::V1_4).unwrap();
        assert!(matches!(
            plain.trusting(Trust::Pinned([0; 32])),
            Err(ClientError::PinWithoutTls(_))
        ));
        let tls = Client::new("https://127.0.0.1:1", "k", ApiVersion::V1_4).unwrap();
        assert!(tls.trusting(Trust::Pinned([0; 32])).is_ok());
    }
}
