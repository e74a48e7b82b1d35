//! The two request encodings VyOS accepts, both ways.
//!
//! - JSON: `Content-Type: application/json`, the key inside the object.
//! - Form: `application/x-www-form-urlencoded` or `multipart/form-data` with
//!   fields `data` (a JSON string) and `key`; a `data` that is a JSON list
//!   means `{"commands": [...]}`.
//!
//! [`decode_request`] mirrors `MultipartRequest.body()` of vyos-1x's
//! routers: the same checks in the same order with the same texts. The
//! multipart parser here reads text fields only (what API clients send);
//! file parts and transfer encodings of parts are not emulated.

use serde_json::{Map, Value};

use crate::texts;
use crate::wire::Refusal;

/// How a client sends its requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// A JSON body with the key inside (what this project's driver uses).
    #[default]
    Json,
    /// `data=<json>&key=<key>`, as `curl --data-urlencode` sends.
    Form,
}

/// A request body ready to send: its content type and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Encodes `body` (an object without the key) with `key`.
pub fn encode(encoding: Encoding, key: &str, body: &Value) -> Encoded {
    match encoding {
        Encoding::Json => {
            let mut m = match body {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            m.insert("key".into(), key.into());
            Encoded {
                content_type: "application/json",
                body: serde_json::to_vec(&Value::Object(m)).expect("serialises"),
            }
        }
        Encoding::Form => {
            let data = serde_json::to_string(body).expect("serialises");
            let s = form_urlencoded::Serializer::new(String::new())
                .append_pair("data", &data)
                .append_pair("key", key)
                .finish();
            Encoded {
                content_type: "application/x-www-form-urlencoded",
                body: s.into_bytes(),
            }
        }
    }
}

/// `repr()` of a JSON value as Python prints the decoded object in
/// "Malformed command" texts (approximate: strings in single quotes).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{s}'"),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Text fields of a form body, or `None` when the content type is not a form.
fn form_fields(content_type: &str, body: &[u8]) -> Result<Option<Vec<(String, String)>>, Refusal> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => Ok(Some(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )),
        "multipart/form-data" => {
            let boundary = content_type
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("boundary="))
                .next()
                .map(|b| b.trim_matches('"').to_string())
                .ok_or_else(|| Refusal::new(400, "Missing boundary in multipart."))?;
            Ok(Some(multipart_fields(&boundary, body)?))
        }
        _ => Ok(None),
    }
}

fn multipart_fields(boundary: &str, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let text = String::from_utf8_lossy(body);
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    for part in text.split(delim.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            return Err(Refusal::new(400, "Malformed multipart part."));
        };
        let name = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .flat_map(|l| l.split(';'))
            .filter_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_string())
            .next()
            .ok_or_else(|| Refusal::new(400, "Malformed multipart part."))?;
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        out.push((name, value.to_string()));
    }
    Ok(out)
}

/// The request as the route sees it (a JSON object, key included), or the
/// refusal VyOS sends. `endpoint` is the URL path (`/configure`, ...).
pub fn decode_request(
    content_type: Option<&str>,
    body: &[u8],
    endpoint: &str,
) -> Result<Map<String, Value>, Refusal> {
    let fields = form_fields(content_type.unwrap_or(""), body)?;
    let Some(fields) = fields.filter(|f| !f.is_empty()) else {
        // Not a form (or an empty one): the body itself is JSON.
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(crate::wire::validation_error(
                "__root__",
                "value is not a valid dict",
                "type_error.dict",
            )),
            Err(e) => Err(crate::wire::validation_error(
                "__root__",
                &format!("JSON decode error: {e}"),
                "value_error.jsondecode",
            )),
        };
    };
    // Later fields win, as in `for k, v in form_data.multi_items(): forms[k] = v`.
    let mut data = None;
    let mut key = None;
    for (k, v) in fields {
        match k.as_str() {
            "data" => data = Some(v),
            "key" => key = Some(v),
            _ => {}
        }
    }
    let Some(data) = data else {
        return Err(Refusal::new(422, texts::NON_EMPTY_DATA_REQUIRED));
    };
    let tmp: Value = serde_json::from_str(&data)
        .map_err(|e| Refusal::new(400, texts::failed_to_parse_json(&e.to_string())))?;
    let mut merge = match tmp {
        Value::Array(_) => {
            let mut m = Map::new();
            m.insert("commands".into(), tmp);
            m
        }
        Value::Object(m) => m,
        other => {
            return Err(Refusal::new(
                400,
                texts::malformed_command(&py_repr(&other), "any command must be JSON of dict"),
            ))
        }
    };
    // The first problem found is the one reported (`form_err` keeps the first).
    let mut first: Option<Refusal> = None;
    let mut note = |r: Refusal| {
        if first.is_none() {
            first = Some(r);
        }
    };
    let cmds: Vec<Value> = match merge.get("commands") {
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
        None => vec![Value::Object(merge.clone())],
    };
    let path_free = [
        "/config-file",
        "/container-image",
        "/image",
        "/configure-section",
        "/traceroute",
    ];
    for c in &cmds {
        let Value::Object(m) = c else {
            return Err(Refusal::new(
                400,
                texts::malformed_command(&py_repr(c), "any command must be JSON of dict"),
            ));
        };
        let shown = py_repr(c);
        if !m.contains_key("op") {
            note(Refusal::new(
                400,
                texts::malformed_command(&shown, "missing 'op' field"),
            ));
        }
        if !path_free.contains(&endpoint) {
            match m.get("path") {
                None => note(Refusal::new(
                    400,
                    texts::malformed_command(&shown, "missing 'path' field"),
                )),
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
                Some(Value::Array(_)) => note(Refusal::new(
                    400,
                    // VyOS formats `{0}` here, not the command: kept as it is.
                    texts::malformed_command("0", "'path' field must be a list of strings"),
                )),
                Some(_) => note(Refusal::new(
                    400,
                    texts::malformed_command(&shown, "'path' field must be a list"),
                )),
            }
        }
        if endpoint == "/configure" {
            if matches!(m.get("path"), Some(Value::Array(a)) if a.is_empty()) {
                note(Refusal::new(
                    400,
                    texts::malformed_command(&shown, "'path' list must be non-empty"),
                ));
            }
            if matches!(m.get("value"), Some(v) if !v.is_string()) {
                note(Refusal::new(
                    400,
                    texts::malformed_command(&shown, "'value' field must be a string"),
                ));
            }
        }
    }
    if key.is_none() && !merge.contains_key("key") {
        note(Refusal::new(401, texts::VALID_KEY_REQUIRED));
    }
    if let Some(r) = first {
        return Err(r);
    }
    if let (Some(k), false) = (key, merge.contains_key("key")) {
        merge.insert("key".into(), k.into());
    }
    Ok(merge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_form_decode_to_the_same_request() {
        let body = json!({"op": "set", "path": ["system", "host-name"], "value": "r1"});
        let j = encode(Encoding::Json, "k1", &body);
        let f = encode(Encoding::Form, "k1", &body);
        assert_eq!(f.content_type, "application/x-www-form-urlencoded");
        let a = decode_request(Some(j.content_type), &j.body, "/configure").unwrap();
        let b = decode_request(Some(f.content_type), &f.body, "/configure").unwrap();
        assert_eq!(a, b);
        assert_eq!(a["key"], "k1");
    }

    #[test]
    fn form_list_is_a_batch_and_key_inside_data_wins() {
        let data = r#"[{"op":"set","path":["a"]}]"#;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("data", data)
            .append_pair("key", "outer")
            .finish();
        let m = decode_request(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            "/configure",
        )
        .unwrap();
        assert_eq!(m["commands"], json!([{"op": "set", "path": ["a"]}]));
        assert_eq!(m["key"], "outer");
        let inner = r#"{"op":"set","path":["a"],"key":"inner"}"#;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("data", inner)
            .append_pair("key", "outer")
            .finish();
        let m = decode_request(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            "/configure",
        )
        .unwrap();
        assert_eq!(m["key"], "inner");
    }

    #[test]
    fn form_refusals_have_vyos_status_and_text() {
        let r = decode_request(
            Some("application/x-www-form-urlencoded"),
            b"key=k",
            "/configure",
        )
        .unwrap_err();
        assert_eq!(
            (r.status, r.message.as_str()),
            (422, texts::NON_EMPTY_DATA_REQUIRED)
        );
        let r = decode_request(
            Some("application/x-www-form-urlencoded"),
            b"data=%7Bnope&key=k",
            "/configure",
        )
        .unwrap_err();
        assert_eq!(r.status, 400);
        assert!(r.message.starts_with("Failed to parse JSON: "), "{r}");
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("data", r#"{"op":"set","path":["a"]}"#)
            .finish();
        let r = decode_request(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            "/configure",
        )
        .unwrap_err();
        assert_eq!(
            (r.status, r.message.as_str()),
            (401, texts::VALID_KEY_REQUIRED)
        );
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("data", r#"{"path":["a"]}"#)
            .append_pair("key", "k")
            .finish();
        let r = decode_request(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            "/configure",
        )
        .unwrap_err();
        assert_eq!(
            r.message,
            "Malformed command '{'path': ['a']}': missing 'op' field"
        );
    }

    #[test]
    fn multipart_text_fields_are_read() {
        let b = "XyZ";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{{\"op\":\"showConfig\",\"path\":[]}}\r\n--{b}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk9\r\n--{b}--\r\n"
        );
        let m = decode_request(
            Some(&format!("multipart/form-data; boundary={b}")),
            body.as_bytes(),
            "/retrieve",
        )
        .unwrap();
        assert_eq!(m["op"], "showConfig");
        assert_eq!(m["key"], "k9");
    }

    #[test]
    fn bad_json_body_is_a_400() {
        let r = decode_request(Some("application/json"), b"{", "/configure").unwrap_err();
        assert_eq!(r.status, 400);
    }
}
