//! Key material kept out of what leaves the server: configuration text,
//! diffs and job events pass through [`redact`] first.

/// Hides key material in configuration text before it leaves the server:
/// VyOS commands and `wg setconf` text (`PrivateKey = ...`).
pub fn redact(config: &str) -> String {
    config
        .lines()
        .map(|l| {
            let mut out = l.to_string();
            // A line of a diff starts with its mark (`+`/`-`).
            let (mark, body) = match l.strip_prefix(['+', '-']) {
                Some(b) => (&l[..1], b),
                None => ("", l),
            };
            let key = body.split('=').next().unwrap_or("").trim();
            if body.contains('=') && ["PrivateKey", "PresharedKey"].contains(&key) {
                return format!("{mark}{key} = <secret>");
            }
            for k in ["private-key ", "preshared-key ", " key "] {
                if let Some(i) = out.find(k) {
                    let start = i + k.len();
                    let end = out[start..]
                        .find(char::is_whitespace)
                        .map(|e| start + e)
                        .unwrap_or(out.len());
                    out.replace_range(start..end, "'<secret>'");
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if config.ends_with('\n') { "\n" } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_keys() {
        let t = "set interfaces wireguard wg0 private-key 'abc='\nset service https api keys id vxg key 'k1'\nset system host-name 'r1'\n";
        let r = redact(t);
        assert!(!r.contains("abc=") && !r.contains("k1"), "{r}");
        assert!(r.contains("host-name 'r1'"));
        assert!(r.ends_with('\n'));
    }

    #[test]
    fn redact_hides_wireguard_private_keys() {
        let t = "## wireguard\n[Interface]\nPrivateKey = aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=\nListenPort = 51820\n\n[Peer]\nPublicKey = cHVi\nPresharedKey=c2VjcmV0\n";
        let r = redact(t);
        assert!(!r.contains("aGVsbG8") && !r.contains("c2VjcmV0"), "{r}");
        assert!(r.contains("PrivateKey = <secret>\n") && r.contains("PresharedKey = <secret>\n"));
        assert!(r.contains("PublicKey = cHVi\n") && r.contains("ListenPort = 51820"));
        let d = redact("-PrivateKey = b2xk\n+PrivateKey = bmV3\n");
        assert_eq!(d, "-PrivateKey = <secret>\n+PrivateKey = <secret>\n");
    }
}
