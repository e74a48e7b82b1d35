//! Secrets out of revisions (issue 17, item 8): a stored revision holds a
//! *placeholder* where a device's configuration carries a secret, and the
//! apply path puts the real value back right before it reaches the device.
//!
//! Three places carry a secret, found by configuration path, never by a
//! blind string search: `interfaces wireguard IF private-key` and
//! `service https api keys id ID key` in a router's `set` text, and the
//! `PrivateKey =` line of a hypervisor's `wg setconf` text.
//!
//! The compiler stays pure: the worker hands it [`placeholder_secrets`]
//! (public keys real, private and API keys replaced) rather than
//! substituting after compiling, so every text it makes, diffs included,
//! is free of secrets from the start and nothing downstream has to
//! remember to clean it.
//!
//! A placeholder is a function of the secret's non-secret identity, so a
//! new key gives a new placeholder (a rotation still makes a revision and
//! an apply), and the same key always the same one (an upgraded database
//! compiles to what it stores):
//! - WireGuard private key: `vxguardSealedKey` then 20 bytes of
//!   SHA-256 of the key's *public* key, as 44 characters of base64 of 32
//!   bytes (VyOS's `private-key` validator takes it).
//! - API key: `vxguard-sealed-` then 32 hex digits of SHA-256 of the key.
//!   The key has no public half; hashing it is safe because it is 32
//!   random bytes (`store::device_keys`): a digest of 256 random bits lets
//!   no one test guesses, so it is a fingerprint, as an SSH key's is.
//!   A value the store never made (read from a router, typed by hand) is
//!   mapped the same way: only its placeholder ever leaves memory.
//!
//! [`Vault`] maps placeholders back to real values, in memory only: the
//! apply path fills it from the sealed store (and from what it reads off
//! the device), and resolves every placeholder it sends through it.

use crate::model::{
    ClientEpoch, ClientRotation, HypervisorSecrets, KeyPair, RouterSecrets, Secrets,
};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use vyos_tree::{ConfigTree, Schema};

/// How a WireGuard key placeholder starts: 16 base64 characters (12
/// bytes), so the rest of the text is base64 of the digest.
pub const WIREGUARD_MARK: &str = "vxguardSealedKey";
/// How an API key placeholder starts.
pub const API_KEY_MARK: &str = "vxguard-sealed-";

/// What a secret is, which says how its placeholder is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    WireguardPrivateKey,
    ApiKey,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The placeholder of the WireGuard private key whose public key is
/// `public` (base64).
pub fn wireguard_placeholder(public: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"vxguard sealed wireguard key v1\0")
        .chain_update(public.as_bytes())
        .finalize();
    let mut bytes = b64()
        .decode(WIREGUARD_MARK)
        .expect("the mark is base64 of 12 bytes");
    bytes.extend_from_slice(&digest[..20]);
    b64().encode(bytes)
}

/// Whether `v` is a placeholder of `kind` (a real key starts with the
/// mark with probability 2^-96 for WireGuard, never for API keys, which
/// are hex).
pub fn is_placeholder(kind: SecretKind, v: &str) -> bool {
    match kind {
        SecretKind::WireguardPrivateKey => v.len() == 44 && v.starts_with(WIREGUARD_MARK),
        SecretKind::ApiKey => v.starts_with(API_KEY_MARK),
    }
}

/// The placeholder of secret `real`; a placeholder maps to itself.
pub fn placeholder(kind: SecretKind, real: &str) -> String {
    if is_placeholder(kind, real) {
        return real.to_string();
    }
    match kind {
        SecretKind::WireguardPrivateKey => {
            let bytes: Option<[u8; 32]> = b64().decode(real).ok().and_then(|v| v.try_into().ok());
            match bytes {
                Some(b) => wireguard_placeholder(&vxguard_wg_keys::keypair(b).1),
                // Not a key at all (a hand-made value): no public key to
                // name it by, so a digest of the text (see the module doc).
                None => wireguard_placeholder(&format!("not a key: {}", hex(real))),
            }
        }
        SecretKind::ApiKey => {
            let digest = Sha256::new()
                .chain_update(b"vxguard sealed api key v1\0")
                .chain_update(real.as_bytes())
                .finalize();
            format!("{API_KEY_MARK}{}", hex_bytes(&digest[..16]))
        }
    }
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    hex_bytes(&digest)
}

/// `s` with every private and API key replaced by its placeholder (public
/// keys kept): what the worker compiles with.
pub fn placeholder_secrets(s: &Secrets) -> Secrets {
    // From the private key (through its public one), as the apply path's
    // [`Vault`] names it: the two agree even if a stored public key did not.
    let wg = |private: &str| placeholder(SecretKind::WireguardPrivateKey, private);
    let pair = |k: &KeyPair| KeyPair {
        private_key: wg(&k.private_key),
        public_key: k.public_key.clone(),
    };
    Secrets {
        routers: s
            .routers
            .iter()
            .map(|(n, r)| {
                let r = RouterSecrets {
                    wireguard_private_key: wg(&r.wireguard_private_key),
                    wireguard_public_key: r.wireguard_public_key.clone(),
                    api_key: placeholder(SecretKind::ApiKey, &r.api_key),
                    api_key_next: r
                        .api_key_next
                        .as_deref()
                        .map(|k| placeholder(SecretKind::ApiKey, k)),
                    // Rendered nowhere: only checked to be refused.
                    api_key_retired: None,
                    api_key_since: None,
                    wireguard_previous: r.wireguard_previous.as_ref().map(pair),
                    wireguard_since: None,
                    client_key: r.client_key.as_ref().map(pair),
                    client_epochs: r
                        .client_epochs
                        .iter()
                        .map(|(t, e)| {
                            (
                                t.clone(),
                                ClientEpoch {
                                    key: pair(&e.key),
                                    ..e.clone()
                                },
                            )
                        })
                        .collect(),
                    client_rotation: r.client_rotation.as_ref().map(|c| ClientRotation {
                        tenants: c
                            .tenants
                            .iter()
                            .map(|(t, e)| {
                                (
                                    t.clone(),
                                    ClientEpoch {
                                        key: pair(&e.key),
                                        ..e.clone()
                                    },
                                )
                            })
                            .collect(),
                        ..c.clone()
                    }),
                };
                (n.clone(), r)
            })
            .collect(),
        hypervisors: s
            .hypervisors
            .iter()
            .map(|(n, h)| {
                let h = HypervisorSecrets {
                    wireguard_private_key: wg(&h.wireguard_private_key),
                    wireguard_public_key: h.wireguard_public_key.clone(),
                    wireguard_previous: h.wireguard_previous.as_ref().map(pair),
                    wireguard_since: None,
                };
                (n.clone(), h)
            })
            .collect(),
    }
}

/// A placeholder the apply path holds no value for (the key was rotated
/// since the revision, or it names another device's key).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the revision refers to sealed key {placeholder} ({path}), which vxguard does not hold for this device: compile again")]
pub struct Unresolved {
    pub placeholder: String,
    pub path: String,
}

/// Real values by placeholder, for one apply, in memory only. `Debug`
/// shows the placeholders alone.
#[derive(Clone, Default)]
pub struct Vault {
    real: BTreeMap<String, String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.real.keys()).finish()
    }
}

impl Vault {
    /// A router's keys, as its revisions name them.
    pub fn router(s: &RouterSecrets) -> Vault {
        let mut v = Vault::default();
        v.learn(SecretKind::WireguardPrivateKey, &s.wireguard_private_key);
        let epochs = s.client_epochs.values();
        let next = s.client_rotation.iter().flat_map(|c| c.tenants.values());
        for k in s
            .wireguard_previous
            .iter()
            .chain(&s.client_key)
            .chain(epochs.chain(next).map(|e| &e.key))
        {
            v.learn(SecretKind::WireguardPrivateKey, &k.private_key);
        }
        v.learn(SecretKind::ApiKey, &s.api_key);
        if let Some(next) = &s.api_key_next {
            v.learn(SecretKind::ApiKey, next);
        }
        v
    }

    /// A hypervisor's key, as its revisions name it.
    pub fn hypervisor(s: &HypervisorSecrets) -> Vault {
        let mut v = Vault::default();
        v.learn(SecretKind::WireguardPrivateKey, &s.wireguard_private_key);
        if let Some(k) = &s.wireguard_previous {
            v.learn(SecretKind::WireguardPrivateKey, &k.private_key);
        }
        v
    }

    /// Keeps `real` and returns its placeholder (a placeholder is returned
    /// as is and kept as nothing).
    pub fn learn(&mut self, kind: SecretKind, real: &str) -> String {
        let p = placeholder(kind, real);
        if p != real {
            self.real.insert(p.clone(), real.to_string());
        }
        p
    }

    /// The real value of `placeholder`.
    pub fn resolve(&self, placeholder: &str) -> Option<&str> {
        self.real.get(placeholder).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.real.is_empty()
    }

    /// `text` with every real value this vault holds replaced by its
    /// placeholder, wherever it appears: for what a device sends back (an
    /// error that quotes the command it refused, key and all), which
    /// follows no configuration syntax the line-wise sealing knows.
    pub fn hide(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (placeholder, real) in &self.real {
            if !real.is_empty() && out.contains(real.as_str()) {
                out = out.replace(real.as_str(), placeholder);
            }
        }
        out
    }
}

/// The secret whose value is the last word of `path`, if any.
pub fn secret_at<S: AsRef<str>>(path: &[S]) -> Option<SecretKind> {
    let w: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
    match w.as_slice() {
        ["interfaces", "wireguard", _, "private-key", _] => Some(SecretKind::WireguardPrivateKey),
        ["service", "https", "api", "keys", "id", _, "key", _] => Some(SecretKind::ApiKey),
        _ => None,
    }
}

/// The paths of every secret value in `tree`.
fn secret_paths(tree: &ConfigTree) -> Vec<(SecretKind, Vec<String>)> {
    let root = tree.root();
    let mut out = Vec::new();
    let mut under = |base: &[&str], leaf: &str, kind: SecretKind| {
        let Some(tag) = root.get(base) else { return };
        for (name, node) in tag.children() {
            let Some(l) = node.child(leaf) else { continue };
            for (value, _) in l.children() {
                let mut p: Vec<String> = base.iter().map(|s| s.to_string()).collect();
                p.extend([name.to_string(), leaf.to_string(), value.to_string()]);
                out.push((kind, p));
            }
        }
    };
    under(
        &["interfaces", "wireguard"],
        "private-key",
        SecretKind::WireguardPrivateKey,
    );
    under(
        &["service", "https", "api", "keys", "id"],
        "key",
        SecretKind::ApiKey,
    );
    out
}

/// Replaces every secret value of `tree` by its placeholder, keeping the
/// real ones in `vault`: a router's running configuration goes through
/// this before it is compared or kept anywhere.
pub fn seal_tree(tree: &mut ConfigTree, schema: &dyn Schema, vault: &mut Vault) {
    for (kind, mut path) in secret_paths(tree) {
        let value = path.last().expect("a value").clone();
        let p = vault.learn(kind, &value);
        if p != value {
            tree.delete(&path);
            *path.last_mut().expect("a value") = p;
            tree.set(&path, schema);
        }
    }
}

/// Puts the real value in place of the placeholder in a command's `path`
/// (value last). Real values are left as they are.
pub fn fill_path(path: &mut [String], vault: &Vault) -> Result<(), Unresolved> {
    let Some(kind) = secret_at(path) else {
        return Ok(());
    };
    let last = path.last_mut().expect("secret paths have a value");
    if !is_placeholder(kind, last) {
        return Ok(());
    }
    match vault.resolve(last) {
        Some(real) => {
            *last = real.to_string();
            Ok(())
        }
        None => {
            let placeholder = std::mem::take(last);
            let n = path.len();
            Err(Unresolved {
                placeholder,
                path: path[..n - 1].join(" "),
            })
        }
    }
}

/// One word of a `set` line: its text (quotes removed) and where its
/// text is in the line.
fn words(line: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let (start, end, next) = if b[i] == b'\'' || b[i] == b'"' {
            let q = b[i];
            let end = line[i + 1..].find(q as char).map_or(b.len(), |e| i + 1 + e);
            (i + 1, end, end + 1)
        } else {
            let end = line[i..].find(' ').map_or(b.len(), |e| i + e);
            (i, end, end)
        };
        out.push((&line[start..end], start..end));
        i = next;
    }
    out
}

/// One line of a `set`/`delete` text or diff (a `+`/`-` mark allowed)
/// with its secret value sealed, or `None` when it carries none.
fn seal_set_line(line: &str, vault: &mut Vault) -> Option<String> {
    let body_at = usize::from(line.starts_with(['+', '-']));
    let ws = words(&line[body_at..]);
    let (first, path) = ws.split_first()?;
    if !matches!(first.0, "set" | "delete") {
        return None;
    }
    let texts: Vec<&str> = path.iter().map(|w| w.0).collect();
    let kind = secret_at(&texts)?;
    let (value, range) = path.last()?;
    let p = vault.learn(kind, value);
    if p == *value {
        return None;
    }
    let (s, e) = (body_at + range.start, body_at + range.end);
    Some(format!("{}{p}{}", &line[..s], &line[e..]))
}

/// The `PrivateKey` value of one line of `wg setconf` text or its diff:
/// where it is in the line.
fn wg_private_value(line: &str) -> Option<std::ops::Range<usize>> {
    let body_at = usize::from(line.starts_with(['+', '-']));
    let (k, v) = line[body_at..].split_once('=')?;
    if !k.trim().eq_ignore_ascii_case("PrivateKey") {
        return None;
    }
    let v_at = body_at + k.len() + 1;
    let lead = v.len() - v.trim_start().len();
    let value = v.trim();
    (!value.is_empty()).then(|| v_at + lead..v_at + lead + value.len())
}

/// Every secret of a revision's text (a router's `set` text, a
/// hypervisor's text, or a diff of either) replaced by its placeholder:
/// what rewrites revisions stored before placeholders, line by line so
/// the rest of the text keeps its bytes.
pub fn seal_text(text: &str, vault: &mut Vault) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if let Some(sealed) = seal_set_line(body, vault) {
            out.push_str(&sealed);
        } else if let Some(r) = wg_private_value(body) {
            let p = vault.learn(SecretKind::WireguardPrivateKey, &body[r.clone()]);
            out.push_str(&body[..r.start]);
            out.push_str(&p);
            out.push_str(&body[r.end..]);
        } else {
            out.push_str(body);
        }
        out.push_str(nl);
    }
    out
}

/// A hypervisor's `wg setconf` text with the real private key in place of
/// its placeholder: what the host is given.
pub fn fill_wireguard(text: &str, vault: &Vault) -> Result<String, Unresolved> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match wg_private_value(line.trim_end_matches('\n')) {
            Some(r) if is_placeholder(SecretKind::WireguardPrivateKey, &line[r.clone()]) => {
                let p = &line[r.clone()];
                let real = vault.resolve(p).ok_or_else(|| Unresolved {
                    placeholder: p.to_string(),
                    path: "PrivateKey".into(),
                })?;
                out.push_str(&line[..r.start]);
                out.push_str(real);
                out.push_str(&line[r.end..]);
            }
            _ => out.push_str(line),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyos_tree::NoSchema;

    fn router() -> RouterSecrets {
        let (private, public) = vxguard_wg_keys::keypair([7; 32]);
        RouterSecrets {
            wireguard_private_key: private,
            wireguard_public_key: public,
            api_key: "ab".repeat(32),
            api_key_next: None,
            api_key_retired: None,
            api_key_since: None,
            wireguard_previous: None,
            wireguard_since: None,
            client_key: None,
            client_epochs: Default::default(),
            client_rotation: None,
        }
    }

    #[test]
    fn a_devices_answer_keeps_no_key_it_quotes() {
        let r = router();
        let v = Vault::router(&r);
        let answer = format!(
            "Invalid value \"{}\" for private-key; key {}",
            r.wireguard_private_key, r.api_key
        );
        let hidden = v.hide(&answer);
        assert!(!hidden.contains(&r.wireguard_private_key), "{hidden}");
        assert!(!hidden.contains(&r.api_key), "{hidden}");
        assert!(hidden.contains(&placeholder(
            SecretKind::WireguardPrivateKey,
            &r.wireguard_private_key
        )));
        assert_eq!(v.hide("nothing secret"), "nothing secret");
    }

    #[test]
    fn placeholders_are_valid_keys_named_by_the_public_key() {
        let r = router();
        let p = placeholder(SecretKind::WireguardPrivateKey, &r.wireguard_private_key);
        assert_eq!(p, wireguard_placeholder(&r.wireguard_public_key));
        assert!(p.starts_with(WIREGUARD_MARK) && p.len() == 44, "{p}");
        assert_eq!(b64().decode(&p).unwrap().len(), 32);
        assert!(is_placeholder(SecretKind::WireguardPrivateKey, &p));
        assert!(!is_placeholder(
            SecretKind::WireguardPrivateKey,
            &r.wireguard_private_key
        ));
        // Another key, another placeholder; a placeholder maps to itself.
        let other = vxguard_wg_keys::keypair([8; 32]).0;
        assert_ne!(placeholder(SecretKind::WireguardPrivateKey, &other), p);
        assert_eq!(placeholder(SecretKind::WireguardPrivateKey, &p), p);
        let a = placeholder(SecretKind::ApiKey, &r.api_key);
        assert!(
            a.starts_with(API_KEY_MARK) && !a.contains(&r.api_key),
            "{a}"
        );
        assert_ne!(a, placeholder(SecretKind::ApiKey, &"cd".repeat(32)));
        assert_eq!(placeholder(SecretKind::ApiKey, &a), a);
    }

    #[test]
    fn placeholder_secrets_keep_public_keys_only() {
        let mut s = Secrets::default();
        s.routers.insert("r1".into(), router());
        let p = placeholder_secrets(&s);
        let (real, sealed) = (&s.routers["r1"], &p.routers["r1"]);
        assert_eq!(sealed.wireguard_public_key, real.wireguard_public_key);
        assert_eq!(
            Vault::router(real).resolve(&sealed.wireguard_private_key),
            Some(real.wireguard_private_key.as_str())
        );
        assert_eq!(
            Vault::router(real).resolve(&sealed.api_key),
            Some(real.api_key.as_str())
        );
        assert!(!format!("{:?}", Vault::router(real)).contains(&real.api_key));
    }

    #[test]
    fn texts_are_sealed_by_path_and_filled_back() {
        let r = router();
        let (k, a) = (&r.wireguard_private_key, &r.api_key);
        let text = format!(
            "set interfaces wireguard wg0 private-key '{k}'\n\
             set interfaces wireguard wg0 description '{k}'\n\
             set service https api keys id vxguard key '{a}'\n\
             -delete service https api keys id vxguard key {a}\n\
             ## wireguard\n[Interface]\nPrivateKey = {k}\n+PrivateKey={k}\nPublicKey = {k}\n"
        );
        let mut vault = Vault::default();
        let sealed = seal_text(&text, &mut vault);
        let pk = wireguard_placeholder(&r.wireguard_public_key);
        let pa = placeholder(SecretKind::ApiKey, a);
        assert_eq!(
            sealed,
            format!(
                "set interfaces wireguard wg0 private-key '{pk}'\n\
                 set interfaces wireguard wg0 description '{k}'\n\
                 set service https api keys id vxguard key '{pa}'\n\
                 -delete service https api keys id vxguard key {pa}\n\
                 ## wireguard\n[Interface]\nPrivateKey = {pk}\n+PrivateKey={pk}\nPublicKey = {k}\n"
            )
        );
        assert_eq!(seal_text(&sealed, &mut Vault::default()), sealed);
        let wg = "[Interface]\nPrivateKey = X\n".replace('X', &pk);
        assert_eq!(
            fill_wireguard(&wg, &vault).unwrap(),
            format!("[Interface]\nPrivateKey = {k}\n")
        );
        let e = fill_wireguard(&wg, &Vault::default()).unwrap_err();
        assert!(e.to_string().contains(&pk) && !e.to_string().contains(k));
    }

    #[test]
    fn trees_are_sealed_and_commands_filled() {
        let r = router();
        let text = format!(
            "set interfaces wireguard wg0 private-key '{}'\nset interfaces wireguard wg1 private-key '{}'\nset service https api keys id vxguard key '{}'\nset system host-name 'r1'\n",
            r.wireguard_private_key, r.wireguard_private_key, r.api_key
        );
        let mut tree = ConfigTree::parse_set(&text, &NoSchema).unwrap();
        let mut vault = Vault::default();
        seal_tree(&mut tree, &NoSchema, &mut vault);
        let shown = tree.render_set(&NoSchema);
        assert!(
            !shown.contains(&r.wireguard_private_key) && !shown.contains(&r.api_key),
            "{shown}"
        );
        let sealed = seal_text(&text, &mut Vault::default());
        assert_eq!(tree, ConfigTree::parse_set(&sealed, &NoSchema).unwrap());
        for mut c in tree.commands() {
            let before = c.path.clone();
            fill_path(&mut c.path, &vault).unwrap();
            let real = ConfigTree::parse_set(&text, &NoSchema).unwrap();
            assert!(real.contains(&c.path), "{before:?} -> {:?}", c.path);
        }
        let mut p: Vec<String> = ["interfaces", "wireguard", "wg0", "private-key"]
            .iter()
            .map(|s| s.to_string())
            .chain([wireguard_placeholder("other")])
            .collect();
        let e = fill_path(&mut p, &vault).unwrap_err();
        assert_eq!(e.path, "interfaces wireguard wg0 private-key");
    }
}
