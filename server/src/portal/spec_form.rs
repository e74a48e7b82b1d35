//! The platform editor's form, generated from the kind's JSON Schema (the
//! same schemas the OpenAPI document publishes): a field per property with
//! its description as help, enums as selects, string arrays one item per
//! line. The form's fields become the JSON body the API takes, and the
//! server's answer (JSON pointers) comes back as errors at the fields.

use crate::problem::Problem;
use app::platform::{Input, SchemaField};
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};
use vxguard_compiler::intent as i;
use vxguard_store::kind::Kind;
use vxguard_store::write::sentence;

/// The kind's schema, with its definitions under `$defs`.
fn schema(kind: Kind) -> Value {
    fn of<T: JsonSchema>() -> Value {
        let s = SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<T>();
        serde_json::to_value(s).unwrap_or_default()
    }
    match kind {
        Kind::Site => of::<i::Site>(),
        Kind::Router => of::<i::Router>(),
        Kind::Hypervisor => of::<i::Hypervisor>(),
        // Only the platform's kinds have an editor.
        _ => Value::Null,
    }
}

/// A property with its `$ref` (or `anyOf: [$ref, null]`) resolved: the
/// referenced definition under the property's own keys.
fn resolve(prop: &Value, defs: &Value) -> Value {
    let target = prop
        .get("$ref")
        .or_else(|| {
            prop.get("anyOf")?
                .as_array()?
                .iter()
                .find_map(|v| v.get("$ref"))
        })
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| defs.get(name));
    let mut out = target.cloned().unwrap_or_else(|| prop.clone());
    if let (Some(o), Some(p)) = (out.as_object_mut(), prop.as_object()) {
        for (k, v) in p {
            if k != "$ref" && k != "anyOf" {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// The form's fields for `kind`: required properties first in their
/// declared order, then the others by name, filled from `spec`.
pub fn fields(kind: Kind, spec: &Value, existing: bool) -> Vec<SchemaField> {
    let s = schema(kind);
    let defs = s.get("$defs").cloned().unwrap_or(Value::Null);
    let empty = Map::new();
    let props = s["properties"].as_object().unwrap_or(&empty);
    let required: Vec<&str> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&String> = props.keys().collect();
    names.sort_by_key(|n| {
        (
            required.iter().position(|r| r == n).unwrap_or(usize::MAX),
            n.to_string(),
        )
    });
    names
        .into_iter()
        .map(|name| {
            let p = resolve(&props[name], &defs);
            let input = if let Some(e) = p.get("enum").and_then(Value::as_array) {
                Input::Select(
                    e.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect(),
                )
            } else if p["type"] == "array" {
                Input::Lines
            } else {
                Input::Text
            };
            let mut help = p["description"]
                .as_str()
                .unwrap_or_default()
                .replace('\n', " ");
            if input == Input::Lines {
                help = join_sentence(&help, "One per line");
            }
            match &p["default"] {
                Value::String(d) if !d.is_empty() => {
                    help = join_sentence(&help, &format!("Default: {d}"))
                }
                Value::Null if !required.contains(&name.as_str()) => {
                    help = join_sentence(&help, "Optional")
                }
                _ => {}
            }
            SchemaField {
                name: name.clone(),
                help,
                readonly: existing && name == kind.name_field(),
                value: text_of(&spec[name]),
                required: required.contains(&name.as_str()),
                input,
                error: None,
            }
        })
        .collect()
}

fn join_sentence(a: &str, b: &str) -> String {
    let a = a.trim().trim_end_matches('.');
    if a.is_empty() {
        format!("{b}.")
    } else {
        format!("{a}. {b}.")
    }
}

/// A JSON value as a field shows it.
fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text_of).collect::<Vec<_>>().join("\n"),
        v => v.to_string(),
    }
}

/// Fills `fields` from the posted form (`f.<name>`) and builds the JSON
/// body: a list one item per non-empty line, an empty optional field left
/// out (the default applies). A required field left empty is an error at
/// the field, all of them at once, before anything is sent.
pub fn body(fields: &mut [SchemaField], form: &[(String, String)]) -> Option<Value> {
    let mut out = Map::new();
    let mut ok = true;
    for f in fields.iter_mut() {
        let key = format!("f.{}", f.name);
        let typed = form
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.replace("\r\n", "\n"))
            .unwrap_or_default();
        f.value = typed.clone();
        let typed = typed.trim();
        if f.input == Input::Lines {
            let items: Vec<Value> = typed
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Value::String(l.into()))
                .collect();
            out.insert(f.name.clone(), Value::Array(items));
        } else if typed.is_empty() {
            if f.required {
                f.error = Some(format!(
                    "{} is required: fill it in ({}).",
                    f.label(),
                    f.help.trim_end_matches('.').to_lowercase()
                ));
                ok = false;
            }
        } else {
            out.insert(f.name.clone(), Value::String(typed.into()));
        }
    }
    ok.then_some(Value::Object(out))
}

/// Puts the problem's errors at the fields their pointers name; returns
/// the sentences for those that name no field of the form.
pub fn place_errors(fields: &mut [SchemaField], p: &Problem) -> Vec<String> {
    let mut rest = Vec::new();
    for e in &p.errors {
        let mut segs = e
            .pointer
            .as_deref()
            .unwrap_or("")
            .trim_start_matches('/')
            .split('/');
        let head = segs.next().unwrap_or("");
        let item = segs.next().and_then(|s| s.parse::<usize>().ok());
        let detail = sentence(&e.detail);
        match fields
            .iter_mut()
            .find(|f| f.name == head && e.object.is_none())
        {
            Some(f) => {
                let text = match item {
                    Some(n) => format!("Line {}: {detail}", n + 1),
                    None => format!("{}: {detail}", f.label()),
                };
                f.error = Some(match f.error.take() {
                    Some(prev) => format!("{prev} {text}"),
                    None => text,
                });
            }
            None => rest.push(reason(e.pointer.as_deref(), e.object.as_deref(), &e.detail)),
        }
    }
    if p.errors.is_empty() {
        rest.push(sentence(&p.detail));
    }
    rest
}

/// A JSON pointer in words: `/sites/0/public_blocks/1` is "sites, item 1,
/// public blocks, item 2" (`None` for the whole document).
pub fn pointer_words(ptr: &str) -> Option<String> {
    let words: Vec<String> = ptr
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<usize>() {
            Ok(n) => format!("item {}", n + 1),
            Err(_) => s.replace("~1", "/").replace("~0", "~").replace('_', " "),
        })
        .collect();
    (!words.is_empty()).then(|| words.join(", "))
}

/// One of the server's reasons as a sentence for people: what it concerns
/// in words first (the field, with its pointer kept in brackets for those
/// who write the JSON or the API call), then the reason. A reason about
/// another object names it already (the store's words).
pub fn reason(pointer: Option<&str>, object: Option<&str>, detail: &str) -> String {
    // Backticks are Markdown, not text: quotes on a page.
    let detail = sentence(&detail.replace('`', "\""));
    match (
        object,
        pointer.and_then(|p| pointer_words(p).map(|w| (p, w))),
    ) {
        // The store's sentence names the other object in words.
        (Some(_), _) => detail,
        (None, Some((p, w))) => format!("{} ({p}): {detail}", sentence_case(&w)),
        (None, None) => detail,
    }
}

fn sentence_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn a_router_form_has_a_field_per_property_with_help_and_a_version_select() {
        let spec = serde_json::json!({"name": "r1", "site": "dc1", "version": "1.4",
            "underlay_address": "192.0.2.1", "api_endpoint": "https://192.0.2.1"});
        let f = fields(Kind::Router, &spec, true);
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "name",
                "site",
                "version",
                "underlay_address",
                "api_endpoint",
                "api_certificate_sha256",
                "underlay_interface"
            ]
        );
        assert!(f[0].readonly && f[0].required);
        assert!(f[0].help.contains("lowercase letters"), "{}", f[0].help);
        assert_eq!(f[2].input, Input::Select(vec!["1.4".into(), "1.5".into()]));
        assert_eq!(f[2].value, "1.4");
        assert!(f[6].help.contains("Default: eth0"), "{}", f[6].help);
        assert!(!f[5].required && f[5].help.contains("SHA-256"));
    }

    #[test]
    fn lists_are_lines_and_empty_required_fields_are_errors_at_the_field() {
        let spec = serde_json::json!({"name": "dc1", "public_blocks": ["192.0.2.0/28", "198.51.100.0/28"]});
        let mut f = fields(Kind::Site, &spec, false);
        assert_eq!(f[1].input, Input::Lines);
        assert_eq!(f[1].value, "192.0.2.0/28\n198.51.100.0/28");
        let form = vec![
            ("f.name".to_string(), "".to_string()),
            (
                "f.public_blocks".to_string(),
                "10.0.0.0/28\r\n\r\n10.0.1.0/28\n".to_string(),
            ),
        ];
        assert_eq!(body(&mut f, &form), None);
        assert!(f[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("Name is required"));
        let form = vec![
            ("f.name".to_string(), "dc9".to_string()),
            (
                "f.public_blocks".to_string(),
                "10.0.0.0/28\r\n\r\n10.0.1.0/28\n".to_string(),
            ),
        ];
        let mut f = fields(Kind::Site, &spec, false);
        assert_eq!(
            body(&mut f, &form).unwrap(),
            serde_json::json!({"name": "dc9", "public_blocks": ["10.0.0.0/28", "10.0.1.0/28"]})
        );
    }

    #[test]
    fn pointers_land_at_their_fields_and_the_rest_above() {
        let mut f = fields(Kind::Site, &Value::Null, false);
        let mut p = Problem::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/public_blocks/1",
            "overlaps 10.0.0.0/28",
        );
        let other = Problem::field(StatusCode::UNPROCESSABLE_ENTITY, "/nope", "is unknown");
        p.errors.extend(other.errors);
        let rest = place_errors(&mut f, &p);
        assert_eq!(f[1].error.as_deref(), Some("Line 2: Overlaps 10.0.0.0/28."));
        assert_eq!(rest, vec!["Nope (/nope): Is unknown.".to_string()]);
        assert_eq!(f[0].error, None);
    }

    #[test]
    fn reasons_name_the_field_in_words_and_keep_the_pointer() {
        assert_eq!(
            reason(Some("/sites/0/public_blocks/1"), None, "overlaps dc2"),
            "Sites, item 1, public blocks, item 2 (/sites/0/public_blocks/1): Overlaps dc2."
        );
        assert_eq!(
            reason(
                None,
                Some("tenants/finance/networks/web"),
                "Network “web”: router “r1” does not exist"
            ),
            "Network “web”: router “r1” does not exist."
        );
        assert_eq!(reason(Some("/"), None, "not an object"), "Not an object.");
        assert_eq!(reason(None, None, "gone."), "Gone.");
    }
}
