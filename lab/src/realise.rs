//! Realising a committed configuration: the step after a successful commit
//! where a real VyOS runs its conf_mode scripts (FRR, WireGuard, nftables,
//! keepalived...). The lab router calls a [`Realiser`] and treats its
//! failure as a failed commit (nothing changes), as VyOS does when a
//! script's apply() fails.
//!
//! This round has only [`Unrealised`]: configuration is stored, nothing is
//! built. The next round plugs in a realiser that builds namespaces and
//! starts the daemons (see the crate docs).

use vyos_tree::ConfigTree;

/// One BGP session as op-mode `show bgp ...` would report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpSession {
    pub neighbor: String,
    /// FRR's state name (`Established`, `Active`, ...), or `Unrealised`
    /// when no daemon runs for it.
    pub state: String,
}

/// Turns committed configuration into running daemons and reports their state.
pub trait Realiser: Send + Sync {
    /// Called with the commit lock held, after validation: make the system
    /// match `new` (it was `old`). An error fails the commit.
    fn realise(&self, old: &ConfigTree, new: &ConfigTree) -> Result<(), String>;

    /// Per-session BGP state for `/show ["bgp", ...]`.
    fn bgp_sessions(&self, running: &ConfigTree) -> Vec<BgpSession>;

    /// An op-mode `show` answered from the running daemons, in VyOS's
    /// shape (`path` as the API's `/show` gives it), or `None` to let the
    /// router answer from the configuration alone ([`crate::opmode`]).
    /// `Some(Err(text))` is a command that failed.
    fn show(&self, _path: &[String], _running: &ConfigTree) -> Option<Result<String, String>> {
        None
    }

    /// Called about once a second between commits: repairs what the
    /// daemons are known to lose on their own (see the netns realiser).
    fn maintain(&self) {}
}

/// Realises nothing: commits only change the stored configuration, and
/// every configured BGP neighbor is reported as `Unrealised` (never as
/// `Established`: a health check must not mistake the stub for a session).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unrealised;

impl Realiser for Unrealised {
    fn realise(&self, _old: &ConfigTree, _new: &ConfigTree) -> Result<(), String> {
        Ok(())
    }

    fn bgp_sessions(&self, running: &ConfigTree) -> Vec<BgpSession> {
        running
            .root()
            .get(&["protocols", "bgp", "neighbor"])
            .map(|n| {
                n.children()
                    .map(|(name, _)| BgpSession {
                        neighbor: name.to_string(),
                        state: "Unrealised".into(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
