//! A small client of the VyOS HTTP API: one POST per call, the answer's
//! status and envelope kept whole (VyOS's error text is the most useful
//! thing a failed apply can show, so it is never dropped).
//!
//! Plain HTTP only, for now: the lab router listens on HTTP inside its
//! namespace. A real VyOS serves the API through nginx over HTTPS; talking
//! to one needs a TLS connector here (not done: see the crate docs).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::encoding::{encode, Encoding};
use crate::wire::{ApiVersion, Configure, Envelope, Retrieve, Show};

/// Why a call did not produce a VyOS answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad router URL {0:?}: expected http://HOST:PORT")]
    Url(String),
    #[error("cannot reach {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
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
    host: String,
    port: u16,
    key: String,
    pub version: ApiVersion,
    pub encoding: Encoding,
    pub timeout: Duration,
}

impl Client {
    /// `url` is `http://HOST:PORT` (a trailing `/` is fine).
    pub fn new(url: &str, key: &str, version: ApiVersion) -> Result<Client, ClientError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::Url(url.into()))?
            .trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
            .ok_or_else(|| ClientError::Url(url.into()))?;
        Ok(Client {
            host,
            port,
            key: key.into(),
            version,
            encoding: Encoding::Json,
            timeout: Duration::from_secs(30),
        })
    }

    fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// POSTs `body` (without the key) to `endpoint`.
    pub async fn post(&self, endpoint: &str, body: &Value) -> Result<Answer, ClientError> {
        let addr = self.addr();
        let fut = self.post_inner(endpoint, body, &addr);
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                addr,
                timeout: self.timeout,
            }),
        }
    }

    async fn post_inner(
        &self,
        endpoint: &str,
        body: &Value,
        addr: &str,
    ) -> Result<Answer, ClientError> {
        let enc = encode(self.encoding, &self.key, body);
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.into(),
                source,
            })?;
        let http = |source| ClientError::Http {
            addr: addr.into(),
            source,
        };
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(conn);
        let req = Request::post(endpoint)
            .header("host", addr)
            .header("content-type", enc.content_type)
            .body(Full::new(Bytes::from(enc.body)))
            .expect("valid request");
        let resp = send.send_request(req).await.map_err(http)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let c = Client::new("http://127.0.0.1:8443/", "k", ApiVersion::V1_4).unwrap();
        assert_eq!(c.addr(), "127.0.0.1:8443");
        assert!(matches!(
            Client::new("https://r1", "k", ApiVersion::V1_4),
            Err(ClientError::Url(_))
        ));
        assert!(Client::new("http://r1", "k", ApiVersion::V1_4).is_err());
    }
}
