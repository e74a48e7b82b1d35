//! Request bodies and the response envelope, with VyOS's field names
//! (the pydantic models of vyos-1x `src/services/api/rest/models.py`, 1.5,
//! and `src/services/vyos-http-api-server`, 1.4).
//!
//! The typed requests are what a client builds; [`parse_configure`],
//! [`parse_retrieve`] and [`parse_show`] are the server side, which must
//! accept and refuse exactly what VyOS does, so they read JSON values by
//! hand instead of deriving: pydantic takes `op` as any string and the
//! route refuses an unknown one later with [`texts::not_valid_operation`],
//! and it ignores unknown fields (so 1.4, whose models have no
//! `confirm_time`, silently commits without a timer when sent one).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::texts;

/// The VyOS release line, which decides the models (1.5 has `confirm_time`
/// and `{"op":"confirm"}`) and whether error texts are HTML-escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiVersion {
    /// 1.4 sagitta
    V1_4,
    /// 1.5 circinus / rolling
    V1_5,
}

impl ApiVersion {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "1.4" => Some(Self::V1_4),
            "1.5" => Some(Self::V1_5),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_4 => "1.4",
            Self::V1_5 => "1.5",
        }
    }
    /// Whether `/configure` knows `confirm_time` and `{"op":"confirm"}`.
    pub fn has_commit_confirm(self) -> bool {
        self == Self::V1_5
    }
}

/// `op` of one `/configure` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigureOp {
    Set,
    Delete,
    Comment,
}

impl ConfigureOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Delete => "delete",
            Self::Comment => "comment",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "set" => Some(Self::Set),
            "delete" => Some(Self::Delete),
            "comment" => Some(Self::Comment),
            _ => None,
        }
    }
}

/// `BaseConfigureModel`: one command. `path` may hold the value as its last
/// word instead of `value` (VyOS joins them either way).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigureCommand {
    pub op: ConfigureOp,
    pub path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl ConfigureCommand {
    /// The words VyOS acts on: `path` then `value` when it is non-empty
    /// (`if c.value: ... else: value = ''`).
    pub fn words(&self) -> Vec<String> {
        let mut w = self.path.clone();
        if let Some(v) = self.value.as_deref().filter(|v| !v.is_empty()) {
            w.push(v.to_string());
        }
        w
    }
}

/// A `/configure` request (without the key). One request is one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Configure {
    /// `ConfigureModel`: one command at the top level.
    One {
        command: ConfigureCommand,
        /// Minutes; 0 = plain commit. Only 1.5 reads it.
        confirm_time: u32,
    },
    /// `ConfigureListModel`: `{"commands": [...]}`.
    Batch {
        commands: Vec<ConfigureCommand>,
        confirm_time: u32,
    },
    /// `ConfirmModel` (1.5): `{"op": "confirm"}` stops the revert timer.
    Confirm,
}

impl Configure {
    /// The JSON body without `key` (`confirm_time` only when non-zero).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self {
            Configure::One {
                command,
                confirm_time,
            } => {
                if let Value::Object(c) = serde_json::to_value(command).expect("serialises") {
                    m = c;
                }
                if *confirm_time > 0 {
                    m.insert("confirm_time".into(), (*confirm_time).into());
                }
            }
            Configure::Batch {
                commands,
                confirm_time,
            } => {
                m.insert(
                    "commands".into(),
                    serde_json::to_value(commands).expect("serialises"),
                );
                if *confirm_time > 0 {
                    m.insert("confirm_time".into(), (*confirm_time).into());
                }
            }
            Configure::Confirm => {
                m.insert("op".into(), "confirm".into());
            }
        }
        Value::Object(m)
    }
}

/// `op` of `/retrieve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetrieveOp {
    #[serde(rename = "showConfig")]
    ShowConfig,
    #[serde(rename = "returnValue")]
    ReturnValue,
    #[serde(rename = "returnValues")]
    ReturnValues,
    #[serde(rename = "exists")]
    Exists,
}

/// `configFormat` of `showConfig`; VyOS's default is `json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigFormat {
    #[default]
    Json,
    JsonAst,
    Raw,
}

/// `RetrieveModel` (without the key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retrieve {
    pub op: RetrieveOp,
    pub path: Vec<String>,
    #[serde(
        rename = "configFormat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub config_format: Option<ConfigFormat>,
}

/// `ShowModel` (without the key): op-mode `show <path>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Show {
    pub path: Vec<String>,
}

impl Show {
    pub fn to_value(&self) -> Value {
        serde_json::json!({"op": "show", "path": self.path})
    }
}

/// The response body: `{"success": .., "data": .., "error": ..}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub success: bool,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub error: Option<String>,
}

impl Envelope {
    pub fn ok(data: Value) -> Self {
        Envelope {
            success: true,
            data,
            error: None,
        }
    }
    pub fn err(error: impl Into<String>) -> Self {
        Envelope {
            success: false,
            data: Value::Null,
            error: Some(error.into()),
        }
    }

    /// The body bytes exactly as VyOS's `success()`/`error()` make them:
    /// Python's `json.dumps` (`", "` and `": "` separators, non-ASCII as
    /// `\uXXXX`), keys in the order those functions insert them
    /// (`success, data, error` / `success, error, data`), and on 1.5 the
    /// error text HTML-escaped.
    pub fn to_vyos_body(&self, version: ApiVersion) -> String {
        if self.success {
            format!(
                "{{\"success\": true, \"data\": {}, \"error\": null}}",
                python_dumps(&self.data)
            )
        } else {
            let e = self.error.clone().unwrap_or_default();
            let e = match version {
                ApiVersion::V1_4 => e,
                ApiVersion::V1_5 => texts::escape_html(&e),
            };
            let mut s = String::from("{\"success\": false, \"error\": ");
            write_py_str(&e, &mut s);
            s.push_str(", \"data\": ");
            write_py(&self.data, &mut s);
            s.push('}');
            s
        }
    }
}

/// `json.dumps(v)` with Python's defaults (separators and `ensure_ascii`);
/// object keys come in [`Map`]'s order, which is not necessarily the order
/// VyOS would print them in (JSON objects carry no order).
pub fn python_dumps(v: &Value) -> String {
    let mut out = String::new();
    write_py(v, &mut out);
    out
}

fn write_py(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_py_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_str(k, out);
                out.push_str(": ");
                write_py(x, out);
            }
            out.push('}');
        }
    }
}

fn write_py_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A request VyOS refuses before or while reading it: the status and the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// What FastAPI's validation handler sends for a body that does not fit a
/// model: `str(exc.errors()[0])`. The shape is pydantic's error dict; its
/// exact wording differs between pydantic versions and is approximated.
pub fn validation_error(field: &str, msg: &str, kind: &str) -> Refusal {
    Refusal::new(
        400,
        format!("{{'loc': ('body', '{field}'), 'msg': '{msg}', 'type': '{kind}'}}"),
    )
}

fn missing(field: &str) -> Refusal {
    validation_error(field, "field required", "value_error.missing")
}

fn strict_str(v: &Value, field: &str) -> Result<String, Refusal> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(validation_error(
            field,
            "str type expected",
            "type_error.str",
        )),
    }
}

fn str_list(v: &Value, field: &str) -> Result<Vec<String>, Refusal> {
    match v {
        Value::Array(a) => a.iter().map(|x| strict_str(x, field)).collect(),
        _ => Err(validation_error(
            field,
            "value is not a valid list",
            "type_error.list",
        )),
    }
}

/// A command as the server reads it: `op` still a string (refused later,
/// inside the commit, as VyOS does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCommand {
    pub op: String,
    pub path: Vec<String>,
    pub value: Option<String>,
}

impl RawCommand {
    /// `path` then a non-empty `value`.
    pub fn words(&self) -> Vec<String> {
        let mut w = self.path.clone();
        if let Some(v) = self.value.as_deref().filter(|v| !v.is_empty()) {
            w.push(v.to_string());
        }
        w
    }
}

/// What the server makes of a `/configure` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedConfigure {
    Commands {
        commands: Vec<RawCommand>,
        confirm_time: u32,
    },
    Confirm {
        op: String,
    },
}

fn base_command(m: &Map<String, Value>) -> Result<RawCommand, Refusal> {
    let op = strict_str(m.get("op").ok_or_else(|| missing("op"))?, "op")?;
    let path = str_list(m.get("path").ok_or_else(|| missing("path"))?, "path")?;
    if path.is_empty() {
        return Err(validation_error(
            "path",
            "path must be non-empty",
            "value_error",
        ));
    }
    let value = match m.get("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(strict_str(v, "value")?),
    };
    Ok(RawCommand { op, path, value })
}

fn confirm_time(m: &Map<String, Value>, version: ApiVersion) -> Result<u32, Refusal> {
    if !version.has_commit_confirm() {
        // 1.4's models have no such field; pydantic ignores unknown ones.
        return Ok(0);
    }
    match m.get("confirm_time") {
        None => Ok(0),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64().unwrap().min(u32::MAX as u64) as u32),
        Some(_) => Err(validation_error(
            "confirm_time",
            "Input should be a valid integer",
            "int_type",
        )),
    }
}

/// The server side of `/configure`: the models of `Union[ConfigureModel,
/// ConfigureListModel, ConfirmModel]` tried in that order (1.4 has no
/// `ConfirmModel` and no `confirm_time`). `body` has been through
/// [`crate::encoding::decode_request`] and the key check.
pub fn parse_configure(
    body: &Map<String, Value>,
    version: ApiVersion,
) -> Result<ParsedConfigure, Refusal> {
    let first = match base_command(body) {
        Ok(c) => {
            return Ok(ParsedConfigure::Commands {
                confirm_time: confirm_time(body, version)?,
                commands: vec![c],
            })
        }
        Err(e) => e,
    };
    if let Some(cmds) = body.get("commands") {
        let Value::Array(list) = cmds else {
            return Err(validation_error(
                "commands",
                "value is not a valid list",
                "type_error.list",
            ));
        };
        let mut commands = Vec::with_capacity(list.len());
        for c in list {
            let Value::Object(m) = c else {
                return Err(validation_error(
                    "commands",
                    "value is not a valid dict",
                    "type_error.dict",
                ));
            };
            commands.push(base_command(m)?);
        }
        return Ok(ParsedConfigure::Commands {
            commands,
            confirm_time: confirm_time(body, version)?,
        });
    }
    if version.has_commit_confirm() {
        if let Some(op) = body.get("op") {
            return Ok(ParsedConfigure::Confirm {
                op: strict_str(op, "op")?,
            });
        }
    }
    Err(first)
}

/// The server side of `/retrieve`: `op` and `configFormat` stay strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRetrieve {
    pub op: String,
    pub path: Vec<String>,
    pub config_format: Option<String>,
}

pub fn parse_retrieve(body: &Map<String, Value>) -> Result<ParsedRetrieve, Refusal> {
    let op = strict_str(body.get("op").ok_or_else(|| missing("op"))?, "op")?;
    let path = str_list(body.get("path").ok_or_else(|| missing("path"))?, "path")?;
    let config_format = match body.get("configFormat") {
        None | Some(Value::Null) => None,
        Some(v) => Some(strict_str(v, "configFormat")?),
    };
    Ok(ParsedRetrieve {
        op,
        path,
        config_format,
    })
}

/// The server side of `/show`: `(op, path)`.
pub fn parse_show(body: &Map<String, Value>) -> Result<(String, Vec<String>), Refusal> {
    let op = strict_str(body.get("op").ok_or_else(|| missing("op"))?, "op")?;
    let path = str_list(body.get("path").ok_or_else(|| missing("path"))?, "path")?;
    Ok((op, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn envelope_bytes_match_python_json_dumps() {
        let ok = Envelope::ok(json!({"system": {"host-name": "r1"}}));
        assert_eq!(
            ok.to_vyos_body(ApiVersion::V1_4),
            r#"{"success": true, "data": {"system": {"host-name": "r1"}}, "error": null}"#
        );
        let err = Envelope::err("a <b> é");
        assert_eq!(
            err.to_vyos_body(ApiVersion::V1_4),
            r#"{"success": false, "error": "a <b> \u00e9", "data": null}"#
        );
        assert_eq!(
            err.to_vyos_body(ApiVersion::V1_5),
            r#"{"success": false, "error": "a &lt;b&gt; \u00e9", "data": null}"#
        );
        // Astral characters become surrogate pairs, as in Python.
        assert_eq!(python_dumps(&json!("😀")), r#""\ud83d\ude00""#);
        // What a client reads back is the same envelope.
        let back: Envelope = serde_json::from_str(&ok.to_vyos_body(ApiVersion::V1_5)).unwrap();
        assert_eq!(back, ok);
    }

    #[test]
    fn configure_bodies_use_vyos_field_names() {
        let c = Configure::Batch {
            commands: vec![ConfigureCommand {
                op: ConfigureOp::Set,
                path: vec!["system".into(), "host-name".into()],
                value: Some("r1".into()),
            }],
            confirm_time: 2,
        };
        assert_eq!(
            c.to_value(),
            json!({"commands": [{"op": "set", "path": ["system", "host-name"], "value": "r1"}], "confirm_time": 2})
        );
        assert_eq!(Configure::Confirm.to_value(), json!({"op": "confirm"}));
        let r = Retrieve {
            op: RetrieveOp::ShowConfig,
            path: vec![],
            config_format: Some(ConfigFormat::Raw),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"op": "showConfig", "path": [], "configFormat": "raw"})
        );
    }

    #[test]
    fn v1_4_ignores_confirm_time_and_has_no_confirm_model() {
        let body = obj(json!({"commands": [{"op": "set", "path": ["a"]}], "confirm_time": 3}));
        assert_eq!(
            parse_configure(&body, ApiVersion::V1_4).unwrap(),
            ParsedConfigure::Commands {
                commands: vec![RawCommand {
                    op: "set".into(),
                    path: vec!["a".into()],
                    value: None
                }],
                confirm_time: 0
            }
        );
        match parse_configure(&body, ApiVersion::V1_5).unwrap() {
            ParsedConfigure::Commands { confirm_time, .. } => assert_eq!(confirm_time, 3),
            other => panic!("{other:?}"),
        }
        let confirm = obj(json!({"op": "confirm"}));
        assert_eq!(
            parse_configure(&confirm, ApiVersion::V1_5).unwrap(),
            ParsedConfigure::Confirm {
                op: "confirm".into()
            }
        );
        let e = parse_configure(&confirm, ApiVersion::V1_4).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("'path'"), "{e}");
    }

    #[test]
    fn configure_refuses_bad_shapes() {
        let empty = obj(json!({"op": "set", "path": []}));
        assert!(parse_configure(&empty, ApiVersion::V1_4)
            .unwrap_err()
            .message
            .contains("path must be non-empty"));
        // 1.5's union falls through to ConfirmModel (unknown fields
        // ignored), whose route then refuses the op.
        assert_eq!(
            parse_configure(&empty, ApiVersion::V1_5).unwrap(),
            ParsedConfigure::Confirm { op: "set".into() }
        );
        let not_str = obj(json!({"op": "set", "path": ["a", 1]}));
        assert_eq!(
            parse_configure(&not_str, ApiVersion::V1_4)
                .unwrap_err()
                .status,
            400
        );
        let bad_ct = obj(json!({"op": "set", "path": ["a"], "confirm_time": "2"}));
        assert!(parse_configure(&bad_ct, ApiVersion::V1_5).is_err());
        // An unknown op is accepted here and refused by the commit.
        let frob = obj(json!({"op": "frob", "path": ["a"]}));
        assert!(parse_configure(&frob, ApiVersion::V1_5).is_ok());
    }

    #[test]
    fn value_joins_the_path_only_when_non_empty() {
        let c = RawCommand {
            op: "set".into(),
            path: vec!["a".into()],
            value: Some(String::new()),
        };
        assert_eq!(c.words(), vec!["a".to_string()]);
    }
}
