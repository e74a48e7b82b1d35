//! The texts VyOS puts in `error` (and a few in `data`), so that a driver
//! can recognise them and a stand-in can send them.
//!
//! Exact, from vyos-1x `src/services/api/rest/routers.py` (1.5) and
//! `src/services/vyos-http-api-server` (1.4): [`VALID_KEY_REQUIRED`],
//! [`NON_EMPTY_DATA_REQUIRED`], [`not_valid_operation`],
//! [`not_valid_config_format`], [`malformed_command`], [`failed_to_parse_json`],
//! [`SELF_REF`], [`INTERNAL_ERROR`]; from `python/vyos/config_mgmt.py`:
//! [`ANOTHER_CONFIRM_PENDING`], [`NO_CONFIRM_PENDING`], [`commit_confirm_started`].
//!
//! From VyOS's commit machinery (the vyatta-cfg backend's output, which the
//! API passes through as the error text): [`COMMIT_LOCKED`] is exact (it is
//! what scripts and API clients match on); the set/delete/commit failure
//! shapes ([`set_failed`], [`delete_failed`], [`commit_failed`]) follow that
//! backend's wording but their exact whitespace is not verified against a
//! router, so a driver should match on [`COMMIT_LOCKED`] only and show the
//! rest verbatim.

/// 401 for a missing or unknown key.
pub const VALID_KEY_REQUIRED: &str = "Valid API key is required";

/// 422 for a form request without a `data` field.
pub const NON_EMPTY_DATA_REQUIRED: &str = "Non-empty data field is required";

/// 400 when another session holds the configuration system's commit lock:
/// retry later.
pub const COMMIT_LOCKED: &str =
    "Configuration system temporarily locked due to another commit in progress";

/// The 200 `data` when a change touches `service https` itself: VyOS
/// commits it in the background and cannot report its errors.
pub const SELF_REF: &str =
    "Requested HTTP API server configuration change; commit will be called in the background";

/// 500: VyOS hides the details.
pub const INTERNAL_ERROR: &str = "An internal error occured. Check the logs for details.";

/// 400 from `commit_confirm` while a previous one waits for `confirm`.
pub const ANOTHER_CONFIRM_PENDING: &str = "Another confirm is pending";

/// 200 `data` of `{"op":"confirm"}` when no timer runs.
pub const NO_CONFIRM_PENDING: &str = "No confirm pending";

/// 200 `data` of `{"op":"confirm"}` that stopped the revert timer.
pub const CONFIRMED: &str = "Reload timer stopped";

/// 200 `data` of a commit with `confirm_time` (1.5, action `reload`).
pub fn commit_confirm_started(minutes: u32) -> String {
    format!("Initialized commit-confirm; {minutes} minutes to confirm before reload")
}

pub fn not_valid_operation(op: &str) -> String {
    format!("'{op}' is not a valid operation")
}

pub fn not_valid_config_format(format: &str) -> String {
    format!("'{format}' is not a valid config format")
}

pub fn failed_to_parse_json(why: &str) -> String {
    format!("Failed to parse JSON: {why}")
}

/// A form request whose command is not shaped as VyOS wants (`what` is
/// e.g. `missing 'op' field`); `command` is the command as Python prints it.
pub fn malformed_command(command: &str, what: &str) -> String {
    format!("Malformed command '{command}': {what}")
}

/// A `set` that the definitions refuse: the path (words joined by spaces,
/// the value included) and why.
pub fn set_failed(path: &str, reason: &str) -> String {
    format!("Configuration path: [{path}] is not valid\n{reason}\nSet failed\n")
}

/// A `delete` of something that is not there.
pub fn delete_failed(path: &str) -> String {
    format!("Configuration path: [{path}] is not valid\nNothing to delete (the specified node does not exist)\nDelete failed\n")
}

/// A commit that a conf_mode script's verify() refused; `reasons` are
/// its messages (each starting with `[script.py]` in this project's rules).
pub fn commit_failed(reasons: &[String]) -> String {
    let mut s = String::new();
    for r in reasons {
        s.push_str(r);
        s.push_str("\n\n");
    }
    s.push_str("Commit failed\n");
    s
}

/// The 200 `data` of a commit that changed nothing.
pub const NO_CHANGES: &str = "No configuration changes to commit\n";

/// Whether an error text says "another commit holds the lock, retry".
pub fn is_commit_locked(error: &str) -> bool {
    error.contains(COMMIT_LOCKED)
}

/// `html.escape(msg, quote=False)`: what VyOS 1.5 does to every error text
/// (1.4 sends it raw).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The inverse of [`escape_html`], for showing a 1.5 error as the router meant it.
pub fn unescape_html(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trips_and_leaves_quotes() {
        let s = "a <b> & 'c' \"d\"";
        assert_eq!(escape_html(s), "a &lt;b&gt; &amp; 'c' \"d\"");
        assert_eq!(unescape_html(&escape_html(s)), s);
        assert_eq!(unescape_html(&escape_html("&lt;")), "&lt;");
    }

    #[test]
    fn lock_text_is_recognised_inside_backend_output() {
        assert!(is_commit_locked(&format!("\n{COMMIT_LOCKED}\n")));
        assert!(!is_commit_locked("Commit failed"));
    }

    #[test]
    fn operation_texts_quote_like_python() {
        assert_eq!(
            not_valid_operation("frob"),
            "'frob' is not a valid operation"
        );
        assert_eq!(
            not_valid_config_format("xml"),
            "'xml' is not a valid config format"
        );
    }
}
