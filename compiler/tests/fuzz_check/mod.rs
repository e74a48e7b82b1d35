//! The assertions of the `intent` fuzz target (`fuzz/fuzz_targets/intent.rs`
//! includes this file), replayed on the committed corpus by `tests/fuzz_corpus.rs`.
//!
//! Arbitrary text into `yaml::parse_intent`: it must never panic, every
//! position it reports must be inside the text, and a text with NUL in it
//! must not parse (yaml-rust2 would stop there). Whatever parses is compiled
//! (no VyOS definitions, so nothing is validated against them; fake key
//! material for every device) and must not panic either; every diagnostic of
//! the compile must locate inside the text too.

use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::compile;
use vxguard_compiler::intent::yaml::{parse_intent, Position};
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};
use vxguard_compiler::DefinitionSet;

pub fn check(text: &str) {
    let parsed = parse_intent(text);
    // yaml-rust2 takes NUL for the end of the text: nothing after one may be dropped.
    assert!(
        !(text.contains('\0') && parsed.is_ok()),
        "a text with NUL parsed"
    );
    let (intent, map) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => {
            assert!(!errors.is_empty(), "an error without a diagnostic");
            for (pos, d) in &errors {
                assert_inside(text, *pos, &d.to_string());
            }
            return;
        }
    };
    let diagnostics = match compile(
        &intent,
        &Allocation::default(),
        &secrets(&intent),
        &DefinitionSet::default(),
    ) {
        Ok(out) => out.warnings,
        Err(errors) => {
            assert!(errors.iter().any(|d| d.is_error()), "{errors:?}");
            errors
        }
    };
    for d in &diagnostics {
        assert_inside(text, map.locate(&d.pointer.0), &d.to_string());
    }
}

/// Key material for every router and hypervisor: well-formed WireGuard keys
/// (32 bytes of base64), a different one for each device, since VyOS refuses
/// peers that share a key.
fn secrets(intent: &Intent) -> Secrets {
    let mut n = 0;
    let mut key = || {
        n += 1;
        wg_key(n)
    };
    let mut s = Secrets::default();
    for r in &intent.platform.routers {
        s.routers.insert(
            r.name.to_string(),
            RouterSecrets {
                wireguard_private_key: key(),
                wireguard_public_key: key(),
                api_key: format!("fuzz-{}", r.name),
                api_key_next: None,
                api_key_retired: None,
                api_key_since: None,
                wireguard_previous: None,
                wireguard_since: None,
                client_key: None,
                client_epochs: Default::default(),
                client_rotation: None,
            },
        );
    }
    for h in &intent.platform.hypervisors {
        s.hypervisors.insert(
            h.name.to_string(),
            HypervisorSecrets {
                wireguard_private_key: key(),
                wireguard_public_key: key(),
                wireguard_previous: None,
                wireguard_since: None,
            },
        );
    }
    s
}

/// The base64 text of a 32-byte key whose first bytes are `n`.
fn wg_key(mut n: usize) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(44);
    for _ in 0..42 {
        out.push(B64[n % 64] as char);
        n /= 64;
    }
    out.push_str("A=");
    out
}

/// `pos` is a place in `text`: on one of its lines (YAML's line breaks: LF,
/// CRLF or CR), at one of its characters or just after the line's last one.
fn assert_inside(text: &str, pos: Position, what: &str) {
    let lines = line_lengths(text);
    let ok = pos.line >= 1
        && pos.line <= lines.len()
        && pos.column >= 1
        && pos.column <= lines[pos.line - 1] + 1;
    assert!(
        ok,
        "{}:{} is outside the text (line lengths {lines:?}): {what}",
        pos.line, pos.column
    );
}

/// Characters on each line; a text ending in a line break has an empty last line.
fn line_lengths(text: &str) -> Vec<usize> {
    let mut lines = vec![0];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(0);
            }
            _ => *lines.last_mut().expect("never empty") += 1,
        }
    }
    lines
}
