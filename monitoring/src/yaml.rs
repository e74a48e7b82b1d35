/// `s` as a YAML double-quoted scalar (JSON's escaping is YAML's).
pub fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting_keeps_structure() {
        assert_eq!(super::quoted("a\"b\n- c: d"), r#""a\"b\n- c: d""#);
    }
}
