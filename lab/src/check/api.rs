//! The few vxguard API calls the checks make, over a minimal blocking
//! HTTP/1.1 client (plain HTTP to the lab's local API; one connection per
//! request), so probes and API calls share one threading model.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("API URL {0:?}: only http://HOST:PORT is supported")]
    Url(String),
    #[error("{method} {path}: {source}")]
    Io {
        method: String,
        path: String,
        source: std::io::Error,
    },
    #[error("{method} {path}: status {status}: {body}")]
    Status {
        method: String,
        path: String,
        status: u16,
        body: String,
    },
    #[error("{method} {path}: unreadable answer: {reason}")]
    Answer {
        method: String,
        path: String,
        reason: String,
    },
}

/// A logged-in session against vxguard's API.
#[derive(Clone)]
pub struct Api {
    host: String,
    token: Option<String>,
}

/// One answer: status, headers (lowercased names) and the body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Api {
    pub fn new(base: &str) -> Result<Api, ApiError> {
        let host = base
            .strip_prefix("http://")
            .map(|h| h.trim_end_matches('/'))
            .filter(|h| !h.is_empty() && !h.contains('/'))
            .ok_or_else(|| ApiError::Url(base.to_string()))?;
        Ok(Api {
            host: host.to_string(),
            token: None,
        })
    }

    /// `POST /api/v1/auth/login`; later calls carry the access token.
    pub fn login(&mut self, email: &str, password: &str) -> Result<(), ApiError> {
        let v = self.call(
            "POST",
            "/api/v1/auth/login",
            Some(&json!({"email": email, "password": password})),
        )?;
        let token = v["access_token"].as_str().ok_or_else(|| ApiError::Answer {
            method: "POST".into(),
            path: "/api/v1/auth/login".into(),
            reason: "no access_token".into(),
        })?;
        self.token = Some(token.to_string());
        Ok(())
    }

    /// A JSON call; non-2xx is an error naming the status and body.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let r = self.raw(method, path, body)?;
        if !(200..300).contains(&r.status) {
            return Err(ApiError::Status {
                method: method.into(),
                path: path.into(),
                status: r.status,
                body: String::from_utf8_lossy(&r.body).chars().take(500).collect(),
            });
        }
        if r.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&r.body).map_err(|e| ApiError::Answer {
            method: method.into(),
            path: path.into(),
            reason: e.to_string(),
        })
    }

    /// `GET` of a paged list: every item of every page.
    pub fn list(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let p = match &cursor {
                Some(c) => format!("{path}{sep}limit=500&cursor={c}"),
                None => format!("{path}{sep}limit=500"),
            };
            let v = self.call("GET", &p, None)?;
            if let Some(a) = v["items"].as_array() {
                items.extend(a.iter().cloned());
            }
            match v["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return Ok(items),
            }
        }
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ApiError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Accept", "application/json")];
        if let Some(b) = &bearer {
            headers.push(("Authorization", b));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            headers.push(("Content-Type", "application/json"));
        }
        self.send(method, path, &headers, body.as_bytes())
    }

    /// One request with these headers and body (`Content-Length` added
    /// when there is a body or the method is `POST` or `PUT`).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, ApiError> {
        let io = |source| ApiError::Io {
            method: method.into(),
            path: path.into(),
            source,
        };
        let addr = self
            .host
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| ApiError::Url(self.host.clone()))?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(io)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(io)?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        for (name, value) in headers {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut req = req.into_bytes();
        req.extend_from_slice(body);
        s.write_all(&req).map_err(io)?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).map_err(io)?;
        parse_response(&buf).map_err(|reason| ApiError::Answer {
            method: method.into(),
            path: path.into(),
            reason,
        })
    }
}

/// The portal as a signed-in browser sees it: a session cookie from the
/// login form (its CSRF cookie and field, as a browser posts it), then
/// pages read with it. For the checks that look at what people see.
pub struct Portal {
    http: Api,
    cookie: String,
}

/// The value of the cookie `name` a response sets.
fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(h, _)| h == "set-cookie")
        .find_map(|(_, v)| {
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (n, value) = pair.split_once('=')?;
            (n.trim() == name && !value.is_empty()).then(|| value.to_string())
        })
}

/// Percent-encoding of one value, for a form body
/// (`application/x-www-form-urlencoded`) or a query parameter.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Portal {
    /// Logs in through `/login` as a browser does.
    pub fn login(base: &str, email: &str, password: &str) -> Result<Portal, ApiError> {
        let http = Api::new(base)?;
        let answer = |method: &str, reason: String| ApiError::Answer {
            method: method.into(),
            path: "/login".into(),
            reason,
        };
        let form = http.send("GET", "/login", &[("Accept", "text/html")], &[])?;
        let csrf = set_cookie(&form, "vxg_login_csrf")
            .ok_or_else(|| answer("GET", format!("status {}, no CSRF cookie", form.status)))?;
        let body = format!(
            "csrf={}&email={}&password={}&next=%2F",
            percent_encode(&csrf),
            percent_encode(email),
            percent_encode(password)
        );
        let cookie = format!("vxg_login_csrf={csrf}");
        let r = http.send(
            "POST",
            "/login",
            &[
                ("Accept", "text/html"),
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )?;
        let session = set_cookie(&r, "vxg_session")
            .ok_or_else(|| answer("POST", format!("status {}, no session cookie", r.status)))?;
        Ok(Portal {
            http,
            cookie: format!("vxg_session={session}"),
        })
    }

    /// A page's HTML; anything but 200 is an error.
    pub fn page(&self, path: &str) -> Result<String, ApiError> {
        let r = self.http.send(
            "GET",
            path,
            &[("Accept", "text/html"), ("Cookie", &self.cookie)],
            &[],
        )?;
        let body = String::from_utf8_lossy(&r.body).into_owned();
        if r.status != 200 {
            return Err(ApiError::Status {
                method: "GET".into(),
                path: path.into(),
                status: r.status,
                body: body.chars().take(500).collect(),
            });
        }
        Ok(body)
    }
}

/// Parses a whole HTTP/1.1 response (`Connection: close`), chunked or not.
pub fn parse_response(buf: &[u8]) -> Result<Response, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut p = rest;
        loop {
            let nl = p
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("chunk size line cut")?;
            let size_text = String::from_utf8_lossy(&p[..nl]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            p = &p[nl + 2..];
            if size == 0 {
                break;
            }
            if p.len() < size {
                return Err("chunk cut short".into());
            }
            out.extend_from_slice(&p[..size]);
            p = p.get(size + 2..).unwrap_or(&[]);
        }
        out
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_responses_parse() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nX-Job: 7\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (201, b"{\"a\":1}".as_slice())
        );
        assert_eq!(r.headers, vec![("x-job".to_string(), "7".to_string())]);
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(Api::new("https://x").is_err() && Api::new("http://127.0.0.1:3000/").is_ok());
    }

    #[test]
    fn the_login_forms_cookies_and_fields_are_read_and_encoded() {
        let r = parse_response(
            b"HTTP/1.1 303 See Other\r\nSet-Cookie: vxg_session=vxs_a1; Path=/; HttpOnly\r\n\
              Set-Cookie: vxg_login_csrf=; Path=/login; Max-Age=0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(set_cookie(&r, "vxg_session").as_deref(), Some("vxs_a1"));
        assert_eq!(set_cookie(&r, "vxg_login_csrf"), None, "cleared");
        assert_eq!(percent_encode("admin@example.com"), "admin%40example.com");
        assert_eq!(percent_encode("a b&c=d"), "a%20b%26c%3Dd");
    }
}
