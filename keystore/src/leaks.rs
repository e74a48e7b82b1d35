//! Looking for secrets where they must not be (a database dump, a log):
//! every encoding a secret could have been stored or printed in.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

/// The byte strings that would betray `secret` (a text: a base64 WireGuard
/// key, a hex API key or token): the text itself; its bytes in lower and
/// upper hex and in standard and URL-safe base64, padded or not; and, when
/// the text is itself base64 or hex of at least 16 bytes, those bytes raw
/// and in every one of these encodings. Each comes with its encoding's name.
pub fn encodings(secret: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: String, v: Vec<u8>| {
        if !v.is_empty() && !out.iter().any(|(_, x)| *x == v) {
            out.push((name, v));
        }
    };
    let of_bytes = |what: &str, b: &[u8], add: &mut dyn FnMut(String, Vec<u8>)| {
        add(format!("{what} raw"), b.to_vec());
        add(format!("{what} hex"), hex::encode(b).into_bytes());
        add(format!("{what} HEX"), hex::encode_upper(b).into_bytes());
        add(format!("{what} base64"), STANDARD.encode(b).into_bytes());
        add(
            format!("{what} base64 unpadded"),
            STANDARD_NO_PAD.encode(b).into_bytes(),
        );
        add(format!("{what} base64url"), URL_SAFE.encode(b).into_bytes());
        add(
            format!("{what} base64url unpadded"),
            URL_SAFE_NO_PAD.encode(b).into_bytes(),
        );
    };
    of_bytes("text", secret.as_bytes(), &mut add);
    let t = secret.trim();
    let decoded = [STANDARD, URL_SAFE]
        .iter()
        .find_map(|e| e.decode(t).ok())
        .or_else(|| STANDARD_NO_PAD.decode(t).ok())
        .or_else(|| URL_SAFE_NO_PAD.decode(t).ok());
    if let Some(b) = decoded.filter(|b| b.len() >= 16) {
        of_bytes("base64-decoded", &b, &mut add);
    }
    if t.len() % 2 == 0 {
        if let Some(b) = hex::decode(t).ok().filter(|b| b.len() >= 16) {
            of_bytes("hex-decoded", &b, &mut add);
        }
    }
    out
}

/// Where `haystack` betrays any of `secrets` (each with a name for the
/// report, which never shows the secret): `"NAME as ENCODING"` per find.
pub fn find(haystack: &[u8], secrets: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, s) in secrets {
        for (enc, needle) in encodings(s) {
            if memchr::memmem::find(haystack, &needle).is_some() {
                found.push(format!("{name} as {enc}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_is_looked_for() {
        let raw = [0xfbu8; 32];
        let wg = STANDARD.encode(raw);
        let names: Vec<String> = encodings(&wg).into_iter().map(|(n, _)| n).collect();
        for n in [
            "text raw",
            "text hex",
            "base64-decoded raw",
            "base64-decoded HEX",
            "base64-decoded base64url unpadded",
        ] {
            assert!(names.iter().any(|x| x == n), "{n}: {names:?}");
        }
        let api = hex::encode(raw);
        let secrets = vec![
            ("wg".to_string(), wg.clone()),
            ("api".to_string(), api.clone()),
        ];
        assert!(find(b"nothing here", &secrets).is_empty());
        let hay = format!("x '\\x{}' y", hex::encode_upper(raw));
        let f = find(hay.as_bytes(), &secrets);
        assert!(f.contains(&"wg as base64-decoded HEX".to_string()), "{f:?}");
        assert!(
            f.contains(&"api as text HEX".to_string())
                || f.contains(&"api as hex-decoded HEX".to_string()),
            "{f:?}"
        );
        let hay = [b"..".as_slice(), &raw, b".."].concat();
        assert!(!find(&hay, &secrets).is_empty());
        let hay = URL_SAFE_NO_PAD.encode(api.as_bytes());
        assert_eq!(find(hay.as_bytes(), &secrets).len(), 1);
        // The report never shows the secret.
        assert!(f.iter().all(|x| !x.contains(&wg) && !x.contains(&api)));
    }
}
